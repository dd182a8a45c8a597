"""`techbar report RUN_DIR`: an Excel workbook and a self-contained HTML page from a run's files
(and with --pdf, the page printed to report.pdf).

Works on a run, backtest, sweep, sizing or calibration folder, using whichever tables it holds
(`RunFolder.kind` tells them apart; each kind's sections are views shared by the page and the
workbook, e.g. `sim.report.calibration`); nothing is recomputed, so the report shows exactly what
the run wrote. The folder is checked first
(`RunFolder.load`); if it is incomplete nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from sim.report.excel import write_excel
from sim.report.figures import figures
from sim.report.folder import RunFolder
from sim.report.html import render_html, write_text_atomically
from sim.report.pdf import chromium, write_pdf


def write_report(run_dir: Path | str, pdf: bool = False) -> tuple[Path, Path]:
    """Write report.xlsx and report.html (and with `pdf`, report.pdf printed from the page by
    headless Chromium, looked for before anything is written); return the first two paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, whatever the machine has
    browser = chromium() if pdf else None
    run = RunFolder.load(run_dir)
    figs = figures(run)
    page = render_html(run, figs)  # before writing anything, so a failure leaves no half report
    xlsx, html = run.path / "report.xlsx", run.path / "report.html"
    write_excel(run, xlsx, figs)
    write_text_atomically(html, page)
    if browser is not None:
        write_pdf(html, run.path / "report.pdf", browser)
    return xlsx, html
