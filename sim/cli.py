"""The ``techbar`` command."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from sim.backtest import backtest_table
from sim.output import default_run_dir, write_run, write_table
from sim.runner import RunOutput, default_workers, run
from sim.scenario import Scenario, ScenarioError, load_scenario

EXIT_BAD_INPUT = 2
QUEUE_KPIS = (
    "walkins",
    "wait_mean_min",
    "wait_p95_min",
    "service_level",
    "queue_len_mean",
    "reneged",
    "utilisation",
    "overtime_min",
)
VALUE_KPIS = (
    "ftf_rate",
    "swaps",
    "fill_rate",
    "downtime_saved_days_per_ticket",
    "officer_hours_saved",
    "value_saved_gbp",
    "sd_share_taken",
)


POPUP_KPIS = (
    "walkins",
    "wait_mean_min",
    "queue_len_first_hour",
    "reneged",
    "utilisation",
    "ftf_rate",
    "downtime_saved_days_per_ticket",
)


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


def _add_run_options(p: argparse.ArgumentParser, default_reps: int) -> None:
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
    p.add_argument(
        "--reps",
        type=_whole_number(1),
        default=default_reps,
        help=f"replications (default {default_reps})",
    )
    p.add_argument("--seed", type=_whole_number(0), default=1, help="experiment seed (default 1)")
    p.add_argument("--out", type=Path, help="output folder (default results/runs/<name>-<time>)")
    p.add_argument(
        "--workers",
        type=_whole_number(1),
        default=None,
        help=f"worker processes (default: number of cores, here {default_workers()})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techbar",
        description="Discrete-event simulation of walk-in IT support (Tech Bars).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run replications of one scenario and write the results")
    _add_run_options(p, default_reps=10)
    p.add_argument("--trace", action="store_true", help="also write the event log trace.csv")
    b = sub.add_parser(
        "backtest", help="the published outcomes beside the simulated ones, with 95%% CIs"
    )
    _add_run_options(b, default_reps=20)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args, argv)
        if args.command == "backtest":
            return _backtest(args, argv)
    except ScenarioError as exc:
        print(f"techbar: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _simulate(args, argv, suffix: str = "") -> tuple[Scenario, RunOutput, Path]:
    scenario = load_scenario(args.scenario, args.overrides)
    out_dir = args.out or default_run_dir(scenario.name + suffix)
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out '{out_dir}' is a file; give a folder")
    t0 = time.perf_counter()
    trace = getattr(args, "trace", False)
    result = run(scenario, args.seed, args.reps, args.workers, trace, progress=not args.quiet)
    write_run(out_dir, result, time.perf_counter() - t0, argv)
    return scenario, result, out_dir


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, result, out_dir = _simulate(args, argv)
    if not args.quiet:
        print(format_summary(result.summary(), scenario))
        print(f"\nresults in {out_dir}")
    return 0


def _backtest(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, result, out_dir = _simulate(args, argv, suffix="-backtest")
    table = backtest_table(result)
    write_table(out_dir / "backtest.csv", table)
    if not args.quiet:
        print(format_backtest(table, args.reps))
        print(f"\nresults in {out_dir}")
    return 0 if table["within_tolerance"].all() else 1


def format_summary(summary: pd.DataFrame, scenario: Scenario | None = None) -> str:
    """Sites × KPIs as 'mean ± 95 % half-width': permanent desks and totals (queues, then value),
    then pop-up locations."""
    n = int(summary["n"].max()) if len(summary) else 0
    popups = {p.name for p in scenario.popups} if scenario is not None else set()
    main = summary[~summary["site"].isin(popups)]
    blocks = [f"mean ± 95% CI half-width over {n} replications"]
    for title, kpis in (("Queues and engineers", QUEUE_KPIS), ("Fixes and value", VALUE_KPIS)):
        blocks.append(f"\n{title}\n{_kpi_table(main, kpis)}")
    if popups:
        table = _kpi_table(summary[summary["site"].isin(popups)], POPUP_KPIS)
        blocks.append(f"\nPop-up locations\n{table}")
    if scenario is not None:
        v = scenario.value
        blocks.append(
            "\nAssumptions behind officer_hours_saved and value_saved_gbp: "
            f"{v.hours_lost_per_downtime_day:g} productive hour lost per day of downtime [A], "
            f"£{v.gbp_per_officer_hour:.2f} per officer-hour."
        )
    return "\n".join(blocks)


def _kpi_table(summary: pd.DataFrame, kpis) -> str:
    s = summary[summary["metric"].isin(kpis)].copy()
    half = (s["ci_high"] - s["mean"]).fillna(0)
    s["cell"] = [_fmt(m, h) for m, h in zip(s["mean"], half, strict=True)]
    table = s.pivot(index="site", columns="metric", values="cell")
    table = table.reindex(index=list(dict.fromkeys(s["site"])), columns=list(kpis))
    return table.to_string()


def format_backtest(table: pd.DataFrame, reps: int) -> str:
    rows = []
    for r in table.itertuples():
        ci = f"[{_num(r.ci_low)}, {_num(r.ci_high)}]"
        ok = "yes" if r.within_tolerance else "NO"
        rows.append((r.outcome, r.published, _num(r.simulated_mean), ci, r.tolerance, ok))
    df = pd.DataFrame(
        rows, columns=["outcome", "published", "simulated", "95% CI", "tolerance", "within"]
    )
    return f"Backtest against the published outcomes ({reps} replications)\n" + df.to_string(
        index=False
    )


def _num(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.3f}"


def _fmt(mean: float, half: float) -> str:
    if pd.isna(mean):
        return "–"
    digits = 0 if abs(mean) >= 100 else 1 if abs(mean) >= 10 else 3 if abs(mean) < 1 else 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
