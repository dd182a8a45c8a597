"""The output layer: run folders, the assumptions register, figures, the workbook and the HTML
report. It only reads results; plotting libraries load only when a report is written.

``sim.report`` is this package and, called as ``sim.report(run_dir)``, writes the run folder's
``report.xlsx`` and ``report.html`` (the public API's ``report``).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path


def write_report(run_dir: Path | str, pdf: bool = False) -> tuple[Path, Path]:
    """Write report.xlsx and report.html (and with `pdf`, report.pdf) into a run folder; return
    the paths of the first two."""
    from sim.report.document import write_report as write  # plotting loads only here

    return write(run_dir, pdf=pdf)


class _ReportPackage(types.ModuleType):
    def __call__(self, run_dir: Path | str) -> tuple[Path, Path]:
        return write_report(run_dir)


sys.modules[__name__].__class__ = _ReportPackage
