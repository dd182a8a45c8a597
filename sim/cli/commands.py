"""The subcommands: each turns parsed arguments into work and files."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from sim.cli.console import (
    format_backtest,
    format_comparison,
    format_sizing,
    format_summary,
)
from sim.experiment.backtest import backtest_table
from sim.experiment.runner import assemble, run
from sim.experiment.sizing import Target, size
from sim.experiment.store import ResultStore
from sim.experiment.sweep import (
    PrecisionWarning,
    known_metric,
    load_experiment,
    run_to_precision,
    sweep,
)
from sim.report.assumptions import register_for
from sim.report.run_folder import default_run_dir, provenance, write_outputs, write_run, write_table
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_to_dict


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
