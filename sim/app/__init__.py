"""The web page (Streamlit) on the public API: ``techbar app`` serves it; see `serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAIN = Path(__file__).with_name("main.py")
MAX_UPLOAD_MB = 1


def command(
    scenario: Path | str | None = None, port: int = 8501, host: str = "127.0.0.1"
) -> list[str]:
    """The Streamlit command that serves the page on `host`:`port`."""
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(MAIN),
        "--server.port", str(port),
        "--server.address", host,
        "--server.headless", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    if scenario is not None:
        cmd += ["--", "--scenario", str(Path(scenario).resolve())]
    return cmd


def serve(scenario: Path | str | None = None, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Serve the page until interrupted; the exit code of the server."""
    return subprocess.call(command(scenario, port, host))
