"""The ``techbar`` command."""

from __future__ import annotations

import sys

from sim.cli.commands import _backtest, _report, _run, _size, _sweep
from sim.cli.parser import build_parser
from sim.experiment.executors import ExecutorError
from sim.scenario import ScenarioError

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "run": _run,
        "backtest": _backtest,
        "sweep": _sweep,
        "size": _size,
        "report": _report,
    }
    try:
        return commands[args.command](args, argv)
    except (ScenarioError, ExecutorError) as exc:
        print(f"techbar: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
