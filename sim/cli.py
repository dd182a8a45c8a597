"""The ``techbar`` command."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sim.output import default_run_dir, write_run
from sim.runner import default_workers, run
from sim.scenario import ScenarioError, load_scenario

EXIT_BAD_INPUT = 2
TERMINAL_KPIS = (
    "walkins",
    "served",
    "wait_mean_min",
    "wait_p95_min",
    "service_level",
    "queue_len_mean",
    "utilisation",
    "overtime_min",
    "ftf_rate",
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of 1 or more, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of 0 or more, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techbar",
        description="Discrete-event simulation of walk-in IT support (Tech Bars).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run replications of one scenario and write the results")
    p.add_argument(
        "scenario",
        nargs="?",
        type=Path,
        help="scenario TOML file (default: the embedded met_2019 scenario)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. sites.0.engineers=3 (repeatable)",
    )
    p.add_argument("--reps", type=_positive_int, default=10, help="replications (default 10)")
    p.add_argument("--seed", type=_seed, default=1, help="experiment seed (default 1)")
    p.add_argument("--out", type=Path, help="output folder (default results/runs/<name>-<time>)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help=f"worker processes (default: number of cores, here {default_workers()})",
    )
    p.add_argument("--trace", action="store_true", help="also write the event log trace.csv")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary table")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args, argv)
    except ScenarioError as exc:
        print(f"techbar: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    out_dir = args.out or default_run_dir(scenario.name)
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out '{out_dir}' is a file; give a folder")
    t0 = time.perf_counter()
    result = run(scenario, args.seed, args.reps, args.workers, args.trace, progress=not args.quiet)
    paths = write_run(out_dir, result, time.perf_counter() - t0, argv)
    if not args.quiet:
        print(format_summary(result.summary()))
        print(f"\nwrote {', '.join(p.name for p in paths)} to {out_dir}")
    return 0


def format_summary(summary: pd.DataFrame, kpis=TERMINAL_KPIS) -> str:
    """Sites × KPIs as 'mean ± 95 % half-width'."""
    s = summary[summary["metric"].isin(kpis)].copy()
    half = (s["ci_high"] - s["mean"]).fillna(0)
    s["cell"] = [_fmt(m, h) for m, h in zip(s["mean"], half, strict=True)]
    table = s.pivot(index="site", columns="metric", values="cell")
    table = table.reindex(index=list(dict.fromkeys(s["site"])), columns=[k for k in kpis])
    n = int(summary["n"].max()) if len(summary) else 0
    return f"mean ± 95% CI half-width over {n} replications\n" + table.to_string()


def _fmt(mean: float, half: float) -> str:
    if pd.isna(mean):
        return "–"
    digits = 0 if abs(mean) >= 100 else 1 if abs(mean) >= 10 else 3 if abs(mean) < 1 else 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
