"""The output layer: run folders, the assumptions register, figures, the workbook and the HTML
report. It only reads results; plotting libraries load only when a report is written."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from sim.report.document import write_report

        return write_report
    raise AttributeError(name)
