"""The ``techbar`` command."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from sim.assumptions import register_for
from sim.backtest import backtest_table
from sim.executors import ExecutorError, default_workers
from sim.experiments import (
    DEFAULT_PRECISION_KPIS,
    PrecisionWarning,
    known_metric,
    load_experiment,
    run_to_precision,
    sweep,
)
from sim.output import default_run_dir, provenance, write_outputs, write_run, write_table
from sim.runner import assemble, run
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_to_dict
from sim.sizing import Target, size
from sim.store import ResultStore

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


COMPARE_KPIS = (
    "wait_mean_min",
    "service_level",
    "utilisation",
    "reneged",
    "fill_rate",
    "downtime_saved_days_per_ticket",
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


def _reps(text: str) -> int | str:
    return "auto" if text == "auto" else _whole_number(1)(text)


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
        "--workers",
        type=_whole_number(1),
        default=None,
        help=f"worker processes (default: number of cores, here {default_workers()})",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run replications on a Dask cluster, e.g. tcp://scheduler:8786 (extra [dask])",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path("results") / "cache",
        help="results store: finished replications are reused (default results/cache)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the store")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary table")


def _add_scenario_options(p: argparse.ArgumentParser) -> None:
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
            help="with --reps auto: the budget of replications (default 100)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="techbar",
        description="Discrete-event simulation of walk-in IT support (Tech Bars).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run replications of one scenario and write the results")
    _add_scenario_options(p)
    _add_reps_options(p, 10)
    _add_execution_options(p)
    p.add_argument("--trace", action="store_true", help="also write the event log trace.csv")
    b = sub.add_parser(
        "backtest", help="the published outcomes beside the simulated ones, with 95%% CIs"
    )
    _add_scenario_options(b)
    _add_reps_options(b, 20, auto=False)
    _add_execution_options(b)
    w = sub.add_parser("sweep", help="scenarios of an experiment file, compared with its base")
    w.add_argument("experiment", type=Path, help="experiment TOML file (see experiments/)")
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
        "--max-engineers",
        type=_whole_number(1),
        default=12,
        help="give up above this many engineers at a desk (default 12)",
    )
    _add_reps_options(z, 10, auto=False)
    _add_execution_options(z)
    r = sub.add_parser("report", help="write report.xlsx and report.html into a run folder")
    r.add_argument("run_dir", type=Path, help="a folder written by run, backtest, sweep or size")
    r.add_argument("--quiet", action="store_true")
    return parser


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


def _report(args: argparse.Namespace, argv: list[str] | None) -> int:
    from sim.report import write_report  # plotting libraries load only when reporting

    xlsx, html = write_report(args.run_dir)
    if not args.quiet:
        print(f"wrote {xlsx} and {html}")
    return 0


def _run_options(args: argparse.Namespace) -> dict:
    store = None if args.no_cache else ResultStore(args.cache)
    if store is not None:
        store.clean_temporary()
    return {
        "workers": args.workers,
        "dask": args.dask,
        "store": store,
        "progress": not args.quiet,
    }


def _out_dir(args: argparse.Namespace, name: str, kind: str) -> Path:
    out_dir = args.out or default_run_dir(name, kind)
    if out_dir.exists() and not out_dir.is_dir():
        raise ScenarioError(f"--out '{out_dir}' is a file; give a folder")
    return out_dir


def _simulate(args, argv, kind: str = "runs", default_reps: int = 10):
    scenario = load_scenario(args.scenario, args.overrides)
    seed = 1 if args.seed is None else args.seed
    out_dir = _out_dir(args, scenario.name, kind)
    options = _run_options(args)
    trace = getattr(args, "trace", False)
    t0 = time.perf_counter()
    extra = {}
    if args.reps == "auto":
        found, extra = _to_precision(args, scenario, seed, trace=trace, **options)
        result = assemble(scenario, seed, found.outputs)
    else:
        reps = args.reps or default_reps
        result = run(scenario, seed, reps, trace=trace, **options)
    assumptions = register_for(args.scenario, scenario, args.overrides)
    write_run(out_dir, result, time.perf_counter() - t0, argv, extra, assumptions)
    return scenario, result, out_dir


def _to_precision(args, scenario: Scenario, seed: int, **options):
    """--reps auto: replications until --precision, with the rule recorded for the manifest."""
    metrics = tuple(known_metric(m.strip()) for m in args.precision_kpis.split(","))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrecisionWarning)
        found = run_to_precision(
            scenario, seed, args.precision, metrics, max_reps=args.max_reps, **options
        )
    for w in caught:
        print(f"techbar: warning: {w.message}", file=sys.stderr)
    rule = {
        "method": "Hoad, Robinson & Davies (2010), k_limit 5",
        "precision": args.precision,
        "kpis": list(metrics),
        "max_reps": args.max_reps,
        "n_star": found.needed,
        "reached": found.needed is not None,
        "relative_half_widths": found.achieved,
    }
    return found, {"replications_rule": rule}


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, result, out_dir = _simulate(args, argv)
    if not args.quiet:
        print(format_summary(result.summary(), scenario))
        print(f"\nresults in {out_dir}")
    return 0


def _backtest(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, result, out_dir = _simulate(args, argv, kind="backtests", default_reps=20)
    table = backtest_table(result)
    write_table(out_dir / "backtest.csv", table)
    if not args.quiet:
        print(format_backtest(table, result.replications))
        print(f"\nresults in {out_dir}")
    return 0 if table["within_tolerance"].all() else 1


def _sweep(args: argparse.Namespace, argv: list[str] | None) -> int:
    plan = load_experiment(args.experiment)
    exp = plan.experiment
    seed = exp.seed if args.seed is None else args.seed
    out_dir = _out_dir(args, exp.name, "sweeps")
    options = _run_options(args)
    t0 = time.perf_counter()
    reps = args.reps or exp.reps
    extra: dict = {}
    if reps == "auto":
        found, extra = _to_precision(args, plan.scenarios[0], seed, **options)
        extra["replications_rule"]["chosen_on"] = "base scenario"
        reps = found.replications
    result = sweep(plan, seed, reps, **options)
    comparison = result.comparison()
    base_file = (args.experiment.parent / exp.base) if exp.base else None
    tables = {
        "summary.csv": result.summary(),
        "assumptions.csv": register_for(base_file, plan.scenarios[0], list(exp.set)),
        "comparison.csv": comparison,
        "replications.csv": result.replications(),
        "scenarios.csv": result.scenario_table(),
    }
    meta = {
        "experiment": exp.model_dump(mode="json"),
        "seed": seed,
        "replications": reps,
        **extra,
        **provenance(time.perf_counter() - t0, argv),
        "scenarios": {s.name: scenario_to_dict(s) for s in plan.scenarios},
    }
    write_outputs(out_dir, tables, meta)
    if not args.quiet:
        print(format_comparison(comparison, reps))
        print(f"\nresults in {out_dir}")
    return 0


def _size(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario = load_scenario(args.scenario, args.overrides)
    targets = [Target.parse(t) for t in args.target]
    seed = 1 if args.seed is None else args.seed
    out_dir = _out_dir(args, scenario.name, "sizings")
    reps = args.reps or 10
    t0 = time.perf_counter()
    result = size(scenario, targets, seed, reps, args.max_engineers, **_run_options(args))
    tables = {
        "assumptions.csv": register_for(args.scenario, scenario, args.overrides),
        "recommendation.csv": result.recommendation,
        "sizing.csv": result.detail,
        "evidence.csv": result.evidence,
    }
    meta = {
        "scenario_name": scenario.name,
        "targets": [str(t) for t in targets],
        "seed": seed,
        "replications": reps,
        "rounds": len(result.runs),
        **provenance(time.perf_counter() - t0, argv),
        "scenario": scenario_to_dict(scenario),
    }
    write_outputs(out_dir, tables, meta)
    if not args.quiet:
        print(format_sizing(result, targets, reps))
        print(f"\nresults in {out_dir}")
    return 0


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


def format_comparison(comparison: pd.DataFrame, reps: int) -> str:
    """Each scenario's change from the base in the main KPIs (site ALL), with 95 % CIs."""
    c = comparison[(comparison["site"] == "ALL") & comparison["metric"].isin(COMPARE_KPIS)]
    if c.empty:
        return "only the base scenario: nothing to compare"
    c = c.assign(
        cell=[
            f"{_num(d)} [{_num(lo)}, {_num(hi)}]{'*' if sig else ''}"
            for d, lo, hi, sig in zip(
                c["diff_mean"], c["diff_ci_low"], c["diff_ci_high"], c["significant"], strict=True
            )
        ]
    )
    table = c.pivot(index="scenario", columns="metric", values="cell")
    table = table.reindex(index=list(dict.fromkeys(c["scenario"])), columns=list(COMPARE_KPIS))
    return (
        f"Change from the base, all sites (paired over {reps} replications; "
        f"* = 95% CI excludes 0)\n" + table.to_string()
    )


def format_sizing(result, targets, reps: int) -> str:
    d = result.detail
    lines = [
        f"Fewest engineers at each desk meeting {', '.join(map(str, targets))} "
        f"(means over {reps} replications; engineers away on pop-up visits come on top)"
    ]
    table = d[
        [
            "site",
            "engineers",
            "erlang_c_estimate",
            "sipp_estimate",
            "arrivals_per_open_hour",
            "mean_service_min",
        ]
    ].copy()
    table["arrivals_per_open_hour"] = table["arrivals_per_open_hour"].round(2)
    table["mean_service_min"] = table["mean_service_min"].round(1)
    lines.append(table.to_string(index=False))
    if not d["targets_met"].all():
        missing = ", ".join(d.loc[~d["targets_met"], "site"])
        lines.append(f"not met within --max-engineers at: {missing}")
    return "\n".join(lines)


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
    if pd.isna(x):
        return "–"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.3f}"


def _fmt(mean: float, half: float) -> str:
    if pd.isna(mean):
        return "–"
    digits = 0 if abs(mean) >= 100 else 1 if abs(mean) >= 10 else 3 if abs(mean) < 1 else 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
