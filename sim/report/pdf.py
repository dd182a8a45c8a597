"""report.pdf: the HTML report printed by headless Chromium (``--print-to-pdf``).

The page's print style sheet does the layout (A4, a page break before each section, table rows
and figures never cut, table headers repeated). Chromium is looked for at ``TECHBAR_CHROMIUM``,
then /usr/bin/chromium, then ``chromium`` or ``chromium-browser`` on the PATH; without it the
report stops with a message saying so (exit 2). The PDF is written beside report.html under a
temporary name and renamed into place only once Chromium has written a whole one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sim.report.run_folder import OutputError, write_file_atomically

ENV = "TECHBAR_CHROMIUM"
DEFAULT = "/usr/bin/chromium"
NAMES = ("chromium", "chromium-browser")
TIMEOUT_S = 180  # a long report (a sweep's pop-up tables) prints in well under a minute
HEADLESS = (  # a headless Chromium that reaches nothing outside the page it is given
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
FLAGS = (
    *HEADLESS,
    "--no-pdf-header-footer",
    "--generate-pdf-document-outline",  # bookmarks from the headings
    "--run-all-compositor-stages-before-draw",
)


def chromium() -> str:
    """The Chromium to print with, or OutputError saying where it was looked for."""
    given = os.environ.get(ENV)
    if given:
        if Path(given).is_file() and os.access(given, os.X_OK):
            return given
        raise OutputError(f"{ENV}='{given}' is not an executable file; --pdf needs Chromium")
    if Path(DEFAULT).is_file() and os.access(DEFAULT, os.X_OK):
        return DEFAULT
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise OutputError(
        f"--pdf needs headless Chromium, found neither {DEFAULT} nor {' nor '.join(NAMES)} on "
        f"the PATH; install it (e.g. apt-get install chromium) or set {ENV} to its path"
    )


def write_pdf(html: Path, pdf: Path, browser: str | None = None) -> Path:
    """Print `html` to `pdf` (atomically); return `pdf`."""
    browser = browser or chromium()

    def build(target: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="techbar-chromium-") as profile:
            try:
                done = subprocess.run(
                    [
                        browser,
                        *FLAGS,
                        f"--user-data-dir={profile}",
                        f"--print-to-pdf={target}",
                        html.resolve().as_uri(),
                    ],
                    capture_output=True,
                    timeout=TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise OutputError(
                    f"Chromium did not finish printing {html} within {TIMEOUT_S} s"
                ) from None
        head = target.read_bytes()[:5] if target.exists() else b""
        if done.returncode != 0 or head != b"%PDF-":
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = said[-1] if said else f"exit code {done.returncode}"
            raise OutputError(f"Chromium could not print {html} to PDF: {why}")

    write_file_atomically(pdf, build)
    return pdf
