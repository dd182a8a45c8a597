"""The command line's grammar: subcommands, options and their checks."""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

from sim.cli.app import add_parser as add_app_parser
from sim.experiment import limits
from sim.experiment.executors import DASK_TIMEOUT_S, default_workers
from sim.experiment.sweep import (
    DEFAULT_PRECISION_KPIS,
)

try:  # the one place the store's default location is decided
    from sim.experiment.store import default_store_root
except ImportError:  # pragma: no cover - an older store module
    default_store_root = None  # type: ignore[assignment]


def package_version() -> str:
    """The installed package's version (its metadata: the one source of truth)."""
    try:
        return metadata.version("techbar-sim")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _whole_number(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of {minimum} or more, got {text!r}"
            )
        return value

    return parse


def _reps(text: str) -> int | str:
    return "auto" if text == "auto" else _whole_number(1)(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be seconds between 0 and 3600, got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {text!r}")
    return value


def _add_execution_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=_whole_number(0), default=None, help="experiment seed (default 1)"
    )
    p.add_argument("--out", type=Path, help="output folder (default under results/)")
    p.add_argument(
        "--force",
        action="store_true",
        help="write into --out even when it is a non-empty folder that is not an earlier "
        "output of this command (its contents are replaced)",
    )
    p.add_argument(
        "--workers",
        type=_whole_number(1),
        default=None,
        help=f"worker processes (default: number of cores, here {default_workers()}; more "
        f"only with a warning, at most {limits.WORKERS.default:,.0f}: {limits.WORKERS.env})",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run replications on a Dask cluster, e.g. tcp://scheduler:8786 (extra [dask])",
    )
    p.add_argument(
        "--dask-timeout",
        type=_seconds,
        default=DASK_TIMEOUT_S,
        metavar="SECONDS",
        help=f"give up connecting to the Dask scheduler after this long (default "
        f"{DASK_TIMEOUT_S:g})",
    )
    where = default_store_root() if default_store_root is not None else Path("results/cache")
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help=f"results store: finished replications are reused (default {where}; "
        "or set TECHBAR_CACHE_DIR)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the store")
    _add_output_options(p)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """-v/-q, accepted before or after the subcommand (SUPPRESS: one does not reset the other)."""
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="say more (-vv: debugging detail)",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bar or summary table, only warnings, errors and where results went",
    )


SET_HELP = (
    "override a scenario key, e.g. sites.0.engineers=3; * reaches every entry "
    '(sites.*.open=08:00) and [field=value] those that match (sites[bcu="East Area (EA)"]'
    ".engineers=3) (repeatable)"
)


def _add_set_option(p: argparse.ArgumentParser, help_text: str = SET_HELP) -> None:
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenario",
        nargs="?",
        type=Path,
        help="scenario TOML file (default: the embedded met_2019 scenario)",
    )
    _add_set_option(p)
    p.add_argument(
        "--name",
        help="name of the what-if, for the output folder, the report and the terminal "
        '(default: made from the overrides, e.g. "sites.0.engineers=3")',
    )


def _add_reps_options(p: argparse.ArgumentParser, default_reps: int, auto: bool = True) -> None:
    p.add_argument(
        "--reps",
        type=_reps if auto else _whole_number(1),
        default=None,
        help=f"replications (default {default_reps})"
        + ("; 'auto' adds them until --precision is reached" if auto else ""),
    )
    if auto:
        p.add_argument(
            "--precision",
            type=_fraction,
            default=0.05,
            help="with --reps auto: 95%% CI half-width as a share of the mean (default 0.05)",
        )
        p.add_argument(
            "--precision-kpis",
            default=",".join(DEFAULT_PRECISION_KPIS),
            help="with --reps auto: KPIs (site ALL) that must reach the precision",
        )
        p.add_argument(
            "--max-reps",
            type=_whole_number(2),
            default=100,
            help="with --reps auto: the budget of replications (default 100; at most "
            f"{limits.REPS.default:,.0f}: {limits.REPS.env})",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techbar",
        description="Discrete-event simulation of walk-in IT support (Tech Bars).",
        epilog="Limits (refused before any work, exit 2): horizon over "
        f"{limits.HORIZON.default:g} years ({limits.HORIZON.env}), over "
        f"{limits.REPS.default:,.0f} replications ({limits.REPS.env}), over "
        f"{limits.WORKERS.default:,.0f} workers ({limits.WORKERS.env}), over "
        f"{limits.MEMORY.default:g} GB estimated per replication ({limits.MEMORY.env}).",
    )
    parser.add_argument("--version", action="version", version=f"techbar {package_version()}")
    _add_output_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run replications of one scenario and write the results")
    _add_scenario_options(p)
    _add_reps_options(p, 10)
    _add_execution_options(p)
    p.add_argument("--trace", action="store_true", help="also write the event log trace.csv")
    p.add_argument(
        "--all-sites",
        action="store_true",
        help="list every pop-up location in the summary (default: one line for them all)",
    )
    b = sub.add_parser(
        "backtest", help="the published outcomes beside the simulated ones, with 95%% CIs"
    )
    _add_scenario_options(b)
    b.add_argument(
        "--trial",
        type=Path,
        default=None,
        help="the trial scenario the calibrated inputs were fitted on, run for the 'fitted to' "
        "table (default: the embedded met_trial_2018)",
    )
    b.add_argument(
        "--readings",
        action="store_true",
        help="also refit the calibrated inputs and predict the live figures under each other "
        "reading of the published figures (readings.csv; a few minutes)",
    )
    _add_reps_options(b, 20, auto=False)
    _add_execution_options(b)
    c = sub.add_parser(
        "calibrate",
        help="fit the calibrated inputs on the trial scenario to the trial figures",
    )
    c.add_argument(
        "scenario",
        nargs="?",
        type=Path,
        help="scenario to fit on (default: the embedded trial scenario met_trial_2018)",
    )
    _add_set_option(c)
    c.add_argument("--name", help="name of the what-if fitted on (default: made from --set)")
    c.add_argument(
        "--reps",
        type=_whole_number(2),
        default=None,
        help="replications per evaluation (default 40)",
    )
    c.add_argument(
        "--ftf-reading",
        choices=("points", "relative"),
        default="points",
        help="read 'first time fixes have increased by 10%%' as +10 percentage points "
        "(default) or +10 %% relative, over service_desk.ftf_rate",
    )
    _add_execution_options(c)
    w = sub.add_parser("sweep", help="scenarios of an experiment file, compared with its base")
    w.add_argument("experiment", type=Path, help="experiment TOML file (see experiments/)")
    _add_set_option(
        w,
        "override a key of the base of every scenario, after the file's own set, e.g. "
        "sites.*.open=08:00 (repeatable)",
    )
    _add_reps_options(w, 10)
    _add_execution_options(w)
    z = sub.add_parser("size", help="the fewest engineers per desk meeting the targets")
    _add_scenario_options(z)
    z.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="KPI>=VALUE",
        help='a target every desk must meet, e.g. "service_level>=0.8" (repeatable)',
    )
    z.add_argument(
        "--every-hour",
        action="append",
        default=[],
        metavar="KPI>=VALUE",
        help="a target held in every opening hour of every desk and day, e.g. "
        '"service_level>=0.7" (repeatable)',
    )
    z.add_argument(
        "--size-popups",
        action="store_true",
        help="also size each pop-up's engineers per visit (from its home desk or its mobile "
        "team), as decisions beside the desks' rosters",
    )
    z.add_argument(
        "--max-engineers",
        type=_whole_number(1),
        default=12,
        help="give up above this many engineers at a desk (default 12)",
    )
    _add_reps_options(z, 10, auto=False)
    _add_execution_options(z)
    c = sub.add_parser(
        "compare",
        help="paired differences of two run folders of the same seed and replications",
        description="RUN_B minus RUN_A, replication by replication, per desk, pop-up and "
        "pooled group, with 95%% CIs; refused (exit 2) unless both are run folders with the "
        "same seed, replications, start date, horizon and warm-up.",
    )
    c.add_argument("run_a", type=Path, help="the base: a folder written by techbar run")
    c.add_argument("run_b", type=Path, help="the folder compared with it")
    c.add_argument(
        "--csv", type=Path, metavar="FILE", help="also write the comparison table to FILE"
    )
    c.add_argument(
        "--rows",
        type=_whole_number(1),
        default=20,
        help="significant changes listed in the terminal (default 20)",
    )
    _add_output_options(c)
    v = sub.add_parser(
        "sensitivity",
        help="the headline results with each ranged input at its low and high, switching "
        "values, and (--psa) a probabilistic analysis",
    )
    _add_scenario_options(v)
    v.add_argument(
        "--ranges",
        type=Path,
        default=None,
        help="the inputs' ranges, an [uncertainty] table (default: NAME.uncertainty.toml beside "
        "the scenario; the embedded default has its own)",
    )
    v.add_argument(
        "--switch",
        default="net_benefit_gbp_per_year=0",
        metavar="KPI=VALUE",
        help="switching values: where each input brings this KPI (site ALL, mean) to the value "
        "(default net_benefit_gbp_per_year=0, the break-even; e.g. service_level=0.8)",
    )
    v.add_argument(
        "--psa",
        type=_whole_number(2),
        default=None,
        metavar="N",
        help="also sample the ranged inputs jointly: N points of a Latin hypercube",
    )
    v.add_argument(
        "--psa-reps",
        type=_whole_number(1),
        default=2,
        help="replications at each --psa sample (default 2; 2 or more split the spread into "
        "input uncertainty and simulation noise)",
    )
    v.add_argument(
        "--trial",
        type=Path,
        default=None,
        help="the trial scenario the calibrated inputs were fitted on: run at every point to "
        "report its drift from the published trial figures (default: the embedded met_trial_2018)",
    )
    _add_reps_options(v, 10, auto=False)
    _add_execution_options(v)
    r = sub.add_parser("report", help="write report.xlsx and report.html into a run folder")
    r.add_argument(
        "run_dir", type=Path, help="a folder written by run, backtest, sweep, size or calibrate"
    )
    r.add_argument(
        "--pdf",
        action="store_true",
        help="also print the page to report.pdf with headless Chromium (/usr/bin/chromium, or "
        "TECHBAR_CHROMIUM)",
    )
    _add_output_options(r)
    add_app_parser(sub)
    return parser
