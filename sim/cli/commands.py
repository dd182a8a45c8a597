"""The subcommands: each turns parsed arguments into work and files.

Everything that can be checked is checked before any work: the output folder (not a file, not
someone else's non-empty folder, writable), the results store, the limits on the work asked for
(`sim.experiment.limits`) and the number of workers. A write that still fails (a full disk)
says so in one message; finished replications are in the results store, so running the same
command again recomputes nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

from sim.cli.console import (
    WIDTH,
    format_backtest,
    format_calibration,
    format_changes,
    format_comparison,
    format_readings,
    format_summary,
    format_sweep_changes,
    wrap,
)
from sim.cli.staffing import format_sizing
from sim.experiment import limits
from sim.experiment.backtest import backtest_table, readings_table
from sim.experiment.calibrate import TRIAL_SCENARIO, calibrate
from sim.experiment.executors import default_workers, set_dask_timeout
from sim.experiment.runner import assemble, run
from sim.experiment.sizing import (
    parse_targets,
    recommended_toml,
    shortfalls,
    size,
    target_record,
)
from sim.experiment.store import MEMORY_ENTRIES, ResultStore
from sim.experiment.sweep import (
    PrecisionWarning,
    known_metric,
    load_experiment,
    paired_comparison,
    run_to_precision,
    sweep,
)
from sim.report.assumptions import register_for
from sim.report.run_folder import (
    OutputError,
    check_output_dir,
    default_run_dir,
    manifest,
    probe_writable,
    provenance,
    run_tables,
    write_outputs,
    write_table,
)
from sim.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    load_whatif,
    override_text,
    read_scenario,
    read_toml,
    scenario_path,
    scenario_to_dict,
    whatif_name,
)

log = logging.getLogger("techbar")
RUN_KEYS = ("horizon_weeks", "warmup_weeks")  # overrides the base of a what-if shares
PERIOD_KEYS = ("start_date", "horizon_weeks", "warmup_weeks")  # a file's base runs its period


def quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def _compare(args: argparse.Namespace, argv: list[str] | None) -> int:
    from sim.report.compare import compare_folders

    if args.csv is not None:
        probe_writable(args.csv.parent, "--csv")
    table, a, b = compare_folders(args.run_a, args.run_b)
    if args.csv is not None:
        write_table(args.csv, table)
    if not quiet(args):
        print(wrap(f"{b.name} ({args.run_b}) compared with {a.name} ({args.run_a})"))
        print()
        more_in = str(args.csv) if args.csv is not None else "the table --csv FILE writes"
        print(format_changes(table, a.replications, a.name, limit=args.rows, more_in=more_in))
    if args.csv is not None:
        print(f"comparison in {args.csv}")
    return 0


def _report(args: argparse.Namespace, argv: list[str] | None) -> int:
    from sim.report import write_report  # plotting libraries load only when reporting

    if args.run_dir.is_dir():
        probe_writable(args.run_dir, "RUN_DIR")
    xlsx, html = write_report(args.run_dir, pdf=args.pdf)
    pdf = f" and {html.with_suffix('.pdf')}" if args.pdf else ""
    print(f"wrote {xlsx}, {html}{pdf}" if pdf else f"wrote {xlsx} and {html}")
    return 0


def _store(args: argparse.Namespace) -> ResultStore | None:
    """The results store, checked before any work: one that is a file or cannot be written
    is warned about once and the run goes on without it (nothing is lost but the caching)."""
    if args.no_cache:
        return None
    store = ResultStore(args.cache, memory=MEMORY_ENTRIES)  # a what-if reads its base's again
    root = Path(store.root)
    try:
        if root.exists() and not root.is_dir():
            raise OutputError(f"--cache '{root}' is a file, not a folder")
        probe_writable(root, "--cache")
    except OutputError as exc:
        log.warning("%s; running without the results store (give another --cache to keep it)", exc)
        return None
    store.clean_temporary()
    return store


def _check_workers(args: argparse.Namespace) -> None:
    limits.check_workers(args.workers)
    cores = default_workers()
    if args.workers is not None and args.workers > cores and args.dask is None:
        log.warning(
            "--workers %d is more than the %d cores here: replications will compete for them",
            args.workers,
            cores,
        )


def _prepare(args: argparse.Namespace, name: str, kind: str) -> tuple[Path, dict]:
    """The output folder and run options, once everything about them has been checked."""
    out_dir = args.out or default_run_dir(name, kind)
    check_output_dir(out_dir, args.command, args.force)
    _check_workers(args)
    set_dask_timeout(args.dask_timeout)
    options = {
        "workers": args.workers,
        "dask": args.dask,
        "store": _store(args),
        "progress": not quiet(args),
    }
    return out_dir, options


def _check_work(args, scenarios: list[Scenario], reps, trace: bool = False) -> None:
    """Refuse work beyond the limits; say what is about to be done."""
    if reps == "auto":
        reps, option = args.max_reps, "--max-reps"
    else:
        option = "--reps"
    estimates = limits.check_work(scenarios, reps, args.workers, trace, reps_option=option)
    walkins = sum(e.walkins for e in estimates) * reps
    log.info(
        "%s; %d replication(s) of %d scenario(s): about %s walk-ins in all",
        estimates[0].describe(),
        reps,
        len(scenarios),
        f"{walkins:,.0f}",
    )


def _write(out_dir: Path, tables, meta, store, texts: dict[str, str] | None = None) -> None:
    try:
        write_outputs(out_dir, tables, meta, texts)
    except OutputError as exc:
        hint = (
            f"; the finished replications are kept in the results store ({store.root}): "
            "once the folder can be written, the same command recomputes nothing"
            if store is not None
            else ""
        )
        raise OutputError(f"{exc}{hint}") from None


def _where(out_dir: Path) -> None:
    print(f"results in {out_dir}")


def _load(args: argparse.Namespace) -> tuple[Scenario, dict]:
    """The scenario with its overrides, and the manifest's record of the what-if (if it is one:
    its name, the scenario it changes, each override and the keys it set)."""
    scenario, whatif = load_whatif(args.scenario, args.overrides, args.name)
    return scenario, ({"whatif": whatif.as_dict()} if whatif is not None else {})


def _heading(scenario: Scenario, record: dict) -> str:
    """What was run, for the terminal: the what-if's name, what it changes and of what."""
    whatif = record.get("whatif")
    if whatif is None:
        return f"Scenario {scenario.name}"
    pairs = [(o["key"], o["value"]) for o in whatif["overrides"]]
    sets = ", ".join(override_text(k, v) for k, v in pairs)
    if whatif.get("scenario_file"):
        both = f", both with {sets}" if sets else ""
        return wrap(
            f"What-if '{whatif['name']}': {whatif['base']} as its scenario file changes it{both}"
        )
    if not sets:
        return f"What-if '{whatif['name']}' (the scenario {whatif['base']} as it is)"
    named = whatif["name"] != whatif_name(pairs)
    text = f"What-if '{whatif['name']}': " if named else "What-if: "
    text += f"{whatif['base']} with {sets}"
    if len(text) > 2 * WIDTH:
        text = text[: 2 * WIDTH - 1] + "…"
    return wrap(text)


def _base_of(args: argparse.Namespace, record: dict, scenario: Scenario) -> Scenario | None:
    """The scenario a what-if changes, to compare it with: the scenario file (or the embedded
    default) without the overrides — except those of how long to run (`RUN_KEYS`), which the
    base takes too. Without other overrides, a scenario file that names a `base` is compared
    with that base, over the file's own period (`PERIOD_KEYS`). None: nothing to compare."""
    whatif = record.get("whatif")
    overrides = whatif["overrides"] if whatif is not None else []
    run_keys = [(o["key"], o["value"]) for o in overrides if o["key"] in RUN_KEYS]
    if len(run_keys) < len(overrides):
        base = load_scenario(args.scenario, run_keys)
        return base.model_copy(update={"name": whatif["base"]})  # type: ignore[index]
    named = file_base(args.scenario)
    if named is None:
        return None
    base = load_scenario(named, [(k, getattr(scenario, k)) for k in PERIOD_KEYS])
    own = read_scenario(named).get("name")  # named as itself, not after the period it runs
    return base.model_copy(update={"name": own}) if isinstance(own, str) else base


def _as_compared(
    args: argparse.Namespace, scenario: Scenario, record: dict, base: Scenario
) -> tuple[Scenario, dict]:
    """The what-if as it is compared with `base`: its overrides that the base takes too (how
    long to run) marked `base_too`; a scenario file compared with the base it names, when only
    such overrides were given, keeps the file's own name (or --name), as the what-if of that
    base."""
    whatif = record.get("whatif")
    if whatif is None:
        whatif = {"name": scenario.name, "base": base.name, "overrides": []}
    overrides = [{**o, "base_too": o["key"] in RUN_KEYS} for o in whatif["overrides"]]
    whatif = {**whatif, "overrides": overrides}
    if all(o["base_too"] for o in overrides):  # the file is the what-if, its base the base
        own = read_scenario(args.scenario).get("name")
        name = args.name or (own if isinstance(own, str) else scenario.name)
        scenario = scenario.model_copy(update={"name": name})
        whatif |= {"name": name, "base": base.name, "scenario_file": True}
    return scenario, {**record, "whatif": whatif}


def file_base(path: Path | None) -> Path | str | None:
    """The base a scenario file names (``base = "met_2019"`` or a path relative to the file),
    as load_scenario takes it; None when it names none."""
    if path is None:
        return None
    path = scenario_path(path)  # an embedded scenario may be named without its folder
    base = read_toml(path).get("base")
    if not isinstance(base, str) or not base.strip():
        return None
    beside = path.parent / base
    return beside if beside.exists() else base


def _simulate(
    args,
    argv,
    kind: str = "runs",
    default_reps: int = 10,
    extra_tables=None,
    compare: bool = False,
):
    scenario, extra = _load(args)
    seed = 1 if args.seed is None else args.seed
    trace = getattr(args, "trace", False)
    reps = args.reps or default_reps
    base = _base_of(args, extra, scenario) if compare else None
    if base is not None:
        scenario, extra = _as_compared(args, scenario, extra, base)
    _check_work(args, [scenario] if base is None else [scenario, base], reps, trace)
    out_dir, options = _prepare(args, scenario.name, kind)
    t0 = time.perf_counter()
    if reps == "auto":
        found, rule = _to_precision(args, scenario, seed, trace=trace, **options)
        extra = {**extra, **rule}
        result = assemble(scenario, seed, found.outputs)
    else:
        result = run(scenario, seed, reps, trace=trace, **options)
    tables = run_tables(result)
    tables["assumptions.csv"] = register_for(args.scenario, scenario, args.overrides)
    if base is not None:  # the base at the same seed and replications: mostly from the store
        base_run = run(base, seed, result.replications, **{**options, "progress": False})
        tables["comparison.csv"] = paired_comparison(base_run, [result])
        extra = {
            **extra,
            "compared_with": {
                "scenario": base.name,
                "seed": seed,
                "replications": result.replications,
            },
        }
    if extra_tables is not None:
        tables.update(extra_tables(result))
    meta = manifest(result, time.perf_counter() - t0, argv, extra)
    _write(out_dir, tables, meta, options["store"])
    return scenario, result, out_dir, tables, extra


def _to_precision(args, scenario: Scenario, seed: int, **options):
    """--reps auto: replications until --precision, with the rule recorded for the manifest."""
    metrics = tuple(known_metric(m.strip()) for m in args.precision_kpis.split(","))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PrecisionWarning)
        found = run_to_precision(
            scenario, seed, args.precision, metrics, max_reps=args.max_reps, **options
        )
    for w in caught:
        log.warning("%s", w.message)
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
    scenario, result, out_dir, tables, record = _simulate(args, argv, compare=True)
    if not quiet(args):
        print(_heading(scenario, record))
        if "comparison.csv" in tables:
            base = record["compared_with"]["scenario"]
            print()
            print(format_changes(tables["comparison.csv"], result.replications, base))
            print()
            print("The what-if's own results:")
        print(format_summary(result.summary(), scenario, all_sites=args.all_sites))
        print()
    _where(out_dir)
    return 0


def _backtest(args: argparse.Namespace, argv: list[str] | None) -> int:
    trial = load_whatif(args.trial or TRIAL_SCENARIO)[0]

    def tables(result):
        options = {"workers": args.workers, "dask": args.dask, "store": _store(args)}
        fitted_on = run(trial, result.seed, result.replications, **options)
        out = {"backtest.csv": backtest_table(result, fitted_on)}
        if args.readings:
            out["readings.csv"] = readings_table(
                result.scenario, trial, result.seed, result.replications, **options
            )
        return out

    scenario, result, out_dir, tables_, record = _simulate(
        args, argv, kind="backtests", default_reps=20, extra_tables=tables
    )
    table = tables_["backtest.csv"]
    if not quiet(args):
        print(_heading(scenario, record))
        print(format_backtest(table, result.replications))
        if "readings.csv" in tables_:
            print()
            print(format_readings(tables_["readings.csv"]))
        print()
    _where(out_dir)
    return 0 if table["within_tolerance"].all() else 1


def _calibrate(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Fit the calibrated inputs on the trial; write calibration.csv (fitted values and standard
    errors), calibration_residuals.csv, calibration.json and calibrated.toml (a fragment)."""
    scenario, whatif = load_whatif(args.scenario or TRIAL_SCENARIO, args.overrides, args.name)
    seed = 1 if args.seed is None else args.seed
    reps = args.reps or 40
    _check_work(args, [scenario], reps)
    out_dir, options = _prepare(args, f"calibrate-{scenario.name}", "calibrations")
    options["progress"] = False  # many short evaluations: no bar for each
    t0 = time.perf_counter()
    fit = calibrate(scenario, seed, reps, reading=args.ftf_reading, **options)
    meta = fit.manifest()
    record = meta["calibration"]
    meta = {
        **meta,
        **({"whatif": whatif.as_dict()} if whatif is not None else {}),
        **provenance(time.perf_counter() - t0, argv),
    }
    tables = {"calibration.csv": fit.parameters(), "calibration_residuals.csv": fit.residuals()}
    texts = {
        "calibration.json": json.dumps(record, indent=2, default=str) + "\n",
        "calibrated.toml": fit.fragment(),
    }
    _write(out_dir, tables, meta, options["store"], texts)  # every file at once
    if not quiet(args):
        print(f"Calibration on {scenario.name}: {record['method']}")
        print(format_calibration(fit.parameters(), fit.residuals(), fit))
        print()
    _where(out_dir)
    return 0 if fit.converged else 1


def _sweep(args: argparse.Namespace, argv: list[str] | None) -> int:
    plan = load_experiment(args.experiment, args.overrides)
    exp = plan.experiment
    seed = exp.seed if args.seed is None else args.seed
    reps = args.reps or exp.reps
    _check_work(args, list(plan.scenarios), reps)
    out_dir, options = _prepare(args, exp.name, "sweeps")
    t0 = time.perf_counter()
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
        "assumptions.csv": register_for(
            base_file, plan.scenarios[0], [*exp.set, *((a.key, a.value) for a in plan.base_set)]
        ),
        "comparison.csv": comparison,
        "replications.csv": result.replications(),
        "scenarios.csv": result.scenario_table(),
    }
    meta = {
        "experiment": exp.model_dump(mode="json"),
        **({"base_overrides": [a.as_dict() for a in plan.base_set]} if plan.base_set else {}),
        "seed": seed,
        "replications": reps,
        **extra,
        **provenance(time.perf_counter() - t0, argv),
        "scenarios": {s.name: scenario_to_dict(s) for s in plan.scenarios},
    }
    _write(out_dir, tables, meta, options["store"])
    if not quiet(args):
        if plan.base_set:
            sets = ", ".join(override_text(a.key, a.value) for a in plan.base_set)
            print(wrap(f"Every scenario's base changed by --set {sets}"))
        print(format_comparison(comparison, reps))
        if len(plan.scenarios[0].sites) > 1 or plan.scenarios[0].popups:
            print()
            print(format_sweep_changes(comparison, reps))
        print()
    _where(out_dir)
    return 0


def _size(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, record = _load(args)
    targets = parse_targets(args.target, args.every_hour)
    seed = 1 if args.seed is None else args.seed
    reps = args.reps or 10
    if reps < 2:
        raise ScenarioError("--reps: sizing with confidence needs at least 2 replications")
    _check_work(args, [scenario], reps)
    out_dir, options = _prepare(args, scenario.name, "sizings")
    t0 = time.perf_counter()
    result = size(
        scenario, targets, seed, reps, args.max_engineers, size_popups=args.size_popups, **options
    )
    toml = recommended_toml(result.scenario, args.scenario, bool(args.overrides or args.name))
    tables = {
        "assumptions.csv": register_for(args.scenario, scenario, args.overrides),
        "recommendation.csv": result.recommendation,
        "sizing.csv": result.detail,
        "evidence.csv": result.evidence,
        "tradeoff.csv": result.tradeoff,
        "plan_summary.csv": result.plan_summary(),
    }
    meta = {
        "scenario_name": scenario.name,
        **record,
        **target_record(targets),
        "confidence": "one-sided 95% bound per desk and weekday",
        "seed": seed,
        "replications": reps,
        "max_engineers": args.max_engineers,
        "popups_sized": args.size_popups,
        "rounds": result.rounds,
        "targets_met": result.feasible,
        "cost": result.cost,
        **provenance(time.perf_counter() - t0, argv),
        "scenario": scenario_to_dict(scenario),
    }
    _write(out_dir, tables, meta, options["store"], {"recommended.toml": toml})
    if not quiet(args):
        print(format_sizing(result, targets, reps))
        print()
    _where(out_dir)
    unmet = shortfalls(result, targets)
    for sentence in unmet:
        log.error("%s", sentence)
    return 1 if unmet else 0
