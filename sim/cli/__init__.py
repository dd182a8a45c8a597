"""The ``techbar`` command.

Exit codes: 0 done; 1 done, but the result misses its mark (a backtest outside tolerance, a
sizing target no staffing within the bounds meets); 2 bad input or an output that cannot be
written (one message naming the option or key, nothing written); 130 interrupted (Ctrl-C).
Messages go through `logging` (``-v`` says more, ``-q`` only warnings, errors and where the
results went), and Python warnings with them; no traceback is shown unless ``-vv``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from sim.cli.app import _app
from sim.cli.commands import _backtest, _calibrate, _compare, _report, _run, _size, _sweep
from sim.cli.parser import build_parser
from sim.cli.sensitivity import _sensitivity
from sim.experiment.executors import ExecutorError
from sim.report.run_folder import OutputError
from sim.scenario import ScenarioError

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

log = logging.getLogger("techbar")


class _Formatter(logging.Formatter):
    """'techbar: warning: …' (messages that already name the command are left as they are)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno <= logging.DEBUG:
            message += "\n" + self.formatException(record.exc_info)
        if message.startswith("techbar:") or record.levelno < logging.WARNING:
            return message
        return f"techbar: {record.levelname.lower()}: {message}"


def _short_warning(message, category, filename, lineno, line=None) -> str:
    return f"{category.__name__}: {message}"


def configure_logging(verbose: int = 0, quiet: bool = False) -> None:
    """One stderr handler on the root logger for this command; warnings through it."""
    level = (
        logging.DEBUG if verbose > 1 else logging.INFO if verbose and not quiet else logging.WARNING
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    handler.set_name("techbar")
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == "techbar":
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    if verbose < 2:  # libraries' own chatter (matplotlib, distributed) only when debugging
        for name in ("matplotlib", "distributed", "asyncio", "PIL", "fontTools"):
            logging.getLogger(name).setLevel(max(level, logging.WARNING))
    warnings.formatwarning = _short_warning
    logging.captureWarnings(False)  # (re)install: main may run more than once in a process
    logging.captureWarnings(True)


def _quiet_unraisable(unraisable) -> None:
    """Errors in finalisers (e.g. a Dask client that never connected) are not the user's
    business: logged when debugging, never printed as a traceback."""
    log.debug("ignored in %r: %s", unraisable.object, unraisable.exc_value)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "verbose", 0) or 0, getattr(args, "quiet", False))
    sys.unraisablehook = _quiet_unraisable
    commands = {
        "run": _run,
        "backtest": _backtest,
        "calibrate": _calibrate,
        "sweep": _sweep,
        "size": _size,
        "report": _report,
        "compare": _compare,
        "sensitivity": _sensitivity,
        "app": _app,
    }
    try:
        return commands[args.command](args, argv)
    except KeyboardInterrupt:
        print("techbar: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ScenarioError, ExecutorError, OutputError) as exc:
        log.debug("details", exc_info=True)
        print(f"techbar: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        log.debug("details", exc_info=True)
        print(
            "techbar: error: out of memory; use fewer --workers, fewer replications or a "
            "shorter horizon",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # the output was piped into a command that stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:  # the file system failed under us: say what, not where in the code
        log.debug("details", exc_info=True)
        where = f": '{exc.filename}'" if exc.filename else ""
        print(f"techbar: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_BAD_INPUT
