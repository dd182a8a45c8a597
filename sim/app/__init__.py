"""The web page (Streamlit) on the public API: ``techbar app`` serves it; see `serve`."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

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


STOP_TIMEOUT_S = 10.0  # how long the server has to stop before it is killed


def _stop(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def serve(scenario: Path | str | None = None, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Serve the page until interrupted; the exit code of the server. However this process is
    stopped (Ctrl-C, or SIGTERM from a service manager or `kill`), the server stops with it,
    rather than being left serving the port."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _stop)
    try:
        with subprocess.Popen(command(scenario, port, host)) as server:
            try:
                return server.wait()
            except BaseException:
                server.terminate()
                try:
                    server.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    server.kill()
                raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
