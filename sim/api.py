"""The public Python API: what a notebook or script uses, exported from ``sim``.

Each function returns a result with ``.summary()`` (a tidy DataFrame: one row per scenario,
site and metric with mean, std, 95 % CI and n) and ``.write(dir)`` (the same files the
``techbar`` command writes, so ``techbar report DIR`` works on them). Overrides are data:
a mapping ``{"sites.0.engineers": 3}`` or ``(key, value)`` pairs; nothing is parsed from text
except the command line's ``KEY=VALUE`` strings, which are accepted too. Keys reach many places
with ``*`` (``{"sites.*.open": "08:00"}``) or a filter (``{'sites[bcu="EA"].engineers': 3}``),
as on the command line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment import limits
from sim.experiment.backtest import backtest_table, readings_table
from sim.experiment.calibrate import TRIAL_SCENARIO, CalibrationResult
from sim.experiment.calibrate import calibrate as _calibrate
from sim.experiment.runner import ProgressFn, RunOutput
from sim.experiment.runner import run as _run
from sim.experiment.sensitivity import (
    OneAtATime,
    Probabilistic,
    one_at_a_time,
    probabilistic,
    switching_values,
    with_units,
)
from sim.experiment.sensitivity import tables as sensitivity_tables
from sim.experiment.sizing import (
    SizingOutput,
    Target,
    parse_targets,
    recommended_toml,
    target_record,
)
from sim.experiment.sizing import size as _size
from sim.experiment.store import MEMORY_ENTRIES, ResultStore, default_store_root
from sim.experiment.sweep import (
    SweepOutput,
    _empty_comparison,
    load_experiment,
    paired_comparison,
)
from sim.experiment.sweep import sweep as _sweep
from sim.report.assumptions import register_for, unit_of
from sim.report.run_folder import (
    check_output_dir,
    provenance,
    run_tables,
    write_outputs,
    write_run,
    write_table,
)
from sim.scenario import (
    Overrides,
    Scenario,
    ScenarioError,
    WhatIf,
    check_name,
    load_whatif,
    override_pairs,
    scenario_to_dict,
)
from sim.scenario.uncertainty import (
    Range,
    check_ranges,
    default_ranges_path,
    load_ranges,
    resolved_data,
)

API = {"made_with": "the Python API (sim)"}


def _output_dir(out_dir: Path | str, command: str, force: bool) -> Path:
    """The checks the command makes on --out: never overwrite a folder of something else."""
    out = Path(out_dir)
    check_output_dir(out, command, force)
    return out


def _check_counts(reps: int, seed: int, workers: int) -> None:
    for name, value, low in (("reps", reps, 1), ("seed", seed, 0), ("workers", workers, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ScenarioError(f"{name}: {value!r} is not allowed; give a whole number ≥ {low}")


@dataclass
class RunResult:
    """Replications of one scenario: KPIs per replication and their summaries."""

    output: RunOutput
    source: Path | None = None
    overrides: list[tuple[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0
    whatif: WhatIf | None = None  # the what-if's name and overrides, when it is one

    @property
    def scenario(self) -> Scenario:
        return self.output.scenario

    def summary(self) -> pd.DataFrame:
        """scenario, site, metric, mean, std, ci_low, ci_high, n."""
        return self.output.summary()

    def replications(self) -> pd.DataFrame:
        """replication, site, metric, value: the KPIs of each replication."""
        return self.output.kpis.copy()

    def queue_profile(self) -> pd.DataFrame:
        return self.output.queue_profile()

    def weekly_series(self) -> pd.DataFrame:
        return self.output.weekly_series()

    def wait_distribution(self) -> pd.DataFrame:
        return self.output.wait_distribution()

    def stock_on_hand(self) -> pd.DataFrame:
        return self.output.stock_on_hand()

    command = "run"

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        """Write the run folder (summary.csv, replications.csv, manifest.json, ...). A folder
        that is not empty and not an earlier output of the same kind is refused unless
        `force` (then its contents are replaced)."""
        out = _output_dir(out_dir, self.command, force)
        assumptions = register_for(self.source, self.scenario, self.overrides)
        extra = {**API, **({"whatif": self.whatif.as_dict()} if self.whatif else {})}
        write_run(out, self.output, self.wall_time_s, [self.command], extra, assumptions)
        return out


@dataclass
class BacktestResult(RunResult):
    """A run of the scenario with the published outcomes beside the simulated ones."""

    trial: RunOutput | None = None  # the trial the calibrated inputs were fitted on

    def table(self) -> pd.DataFrame:
        """Two tables in one: "fitted to (trial)" and "predicted (live, not fitted)", each
        figure with its published value, derived tolerance, simulated mean, CI and agreement."""
        return backtest_table(self.output, self.trial)

    def readings(self, workers: int = 1) -> pd.DataFrame:
        """Under each reading of the published figures: the calibrated inputs refitted on the
        trial and the live figures predicted with them (runs a fit per reading)."""
        if self.trial is None:
            raise ValueError("readings: the backtest was run without a trial scenario")
        out = self.output
        return readings_table(
            out.scenario, self.trial.scenario, out.seed, out.replications, workers=workers
        )

    command = "backtest"

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        out = super().write(out_dir, force)
        write_table(out / "backtest.csv", self.table())
        return out


@dataclass
class SweepResult:
    """Every scenario of an experiment at the same seed, and their paired differences."""

    output: SweepOutput
    wall_time_s: float = 0.0

    def summary(self) -> pd.DataFrame:
        return self.output.summary()

    def comparison(self) -> pd.DataFrame:
        """Each scenario minus the base, replication by replication, with 95 % CIs."""
        return self.output.comparison()

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        out = _output_dir(out_dir, "sweep", force)
        plan = self.output.plan
        exp = plan.experiment
        sets: list[str | tuple[str, Any]] = [*exp.set, *((a.key, a.value) for a in plan.base_set)]
        tables = {
            "summary.csv": self.summary(),
            "assumptions.csv": register_for(None, plan.scenarios[0], sets),
            "comparison.csv": self.comparison(),
            "replications.csv": self.output.replications(),
            "scenarios.csv": self.output.scenario_table(),
        }
        meta = {
            "experiment": exp.model_dump(mode="json"),
            **({"base_overrides": [a.as_dict() for a in plan.base_set]} if plan.base_set else {}),
            "seed": self.output.seed,
            "replications": self.output.runs[0].replications,
            **API,
            **provenance(self.wall_time_s, ["sweep"]),
            "scenarios": {s.name: scenario_to_dict(s) for s in plan.scenarios},
        }
        write_outputs(out, tables, meta)
        return out


@dataclass
class SizingResult:
    """The cheapest weekday roster per desk meeting the targets with confidence, the evidence,
    and the scenario with the roster applied (``recommended_toml()``, ``scenario``)."""

    output: SizingOutput
    targets: list[Target]
    seed: int
    reps: int
    wall_time_s: float = 0.0
    source: Path | None = None  # the scenario file, when it was run as it is
    rewritten: bool = True  # loaded with overrides or given as a Scenario: no file to edit

    @property
    def scenario(self) -> Scenario:
        """The input scenario with the recommended roster applied."""
        return self.output.scenario

    @property
    def cost(self) -> dict[str, float]:
        return self.output.cost

    def recommended_toml(self) -> str:
        return recommended_toml(self.output.scenario, self.source, self.rewritten)

    @property
    def recommendation(self) -> pd.DataFrame:
        return self.output.recommendation

    @property
    def tradeoff(self) -> pd.DataFrame:
        """Per desk: service level and utilisation against engineer-days a week, with CIs."""
        return self.output.tradeoff

    def summary(self) -> pd.DataFrame:
        """The evidence: every KPI with its CI at every staffing level tried."""
        return self.output.evidence

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        out = _output_dir(out_dir, "size", force)
        tables = {
            "recommendation.csv": self.output.recommendation,
            "sizing.csv": self.output.detail,
            "evidence.csv": self.output.evidence,
            "tradeoff.csv": self.output.tradeoff,
            "plan_summary.csv": self.output.plan_summary(),
        }
        meta = {
            "seed": self.seed,
            "replications": self.reps,
            **target_record(self.targets),
            "targets_met": self.output.feasible,
            "cost": self.output.cost,
            **API,
            **provenance(self.wall_time_s, ["size"]),
        }
        write_outputs(out, tables, meta, {"recommended.toml": self.recommended_toml()})
        return out


_stores: dict[Path, ResultStore] = {}


def _cache(cache: bool | Path | str) -> ResultStore | None:
    """The results store for `cache` (one per folder per process, so results read or made by
    one call are in memory for the next)."""
    if cache is False:
        return None
    root = default_store_root() if cache is True else Path(cache).expanduser()
    if root not in _stores:
        _stores[root] = ResultStore(root, memory=MEMORY_ENTRIES)
    return _stores[root]


def _scenario(
    scenario: Scenario | Path | str | None, overrides: Overrides, name: str | None = None
) -> tuple[Scenario, WhatIf | None]:
    """The scenario to run and, for a what-if loaded here, its record."""
    if isinstance(scenario, Scenario):
        if overrides:
            raise TypeError("give overrides to load_scenario, not with a loaded Scenario")
        if name is not None:
            scenario = scenario.model_copy(update={"name": check_name(name, "name")})
        return scenario, None
    return load_whatif(scenario, overrides, name)


def run(
    scenario: Scenario | Path | str | None = None,
    reps: int = 10,
    seed: int = 1,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    name: str | None = None,
    trace: bool = False,
    progress: bool = False,
    dask: str | None = None,
    cache: bool | Path | str = False,
    on_progress: ProgressFn | None = None,
) -> RunResult:
    """Run `reps` replications of a scenario (a loaded Scenario, a TOML path, or None for the
    embedded default), changed by `overrides` (as for :func:`load_scenario`: ``*`` and
    ``[field=value]`` filters allowed) and named `name` (default: made from the overrides).
    Results do not depend on `workers`, the executor or the cache.

    `cache`: keep and reuse results in the results store (True: its default folder, as for the
    command line; or a folder), per component, so a change at one desk re-simulates only that
    desk's component; within one process the most recent results are also kept in memory.
    `on_progress(done, total)` is called as component simulations finish (or are served)."""
    _check_counts(reps, seed, workers)
    s, whatif = _scenario(scenario, overrides, name)
    limits.check_work([s], reps, workers, trace)  # refuse what would exceed the limits
    t0 = time.perf_counter()
    out = _run(
        s,
        seed,
        reps,
        workers=workers,
        trace=trace,
        progress=progress,
        dask=dask,
        store=_cache(cache),
        on_progress=on_progress,
    )
    source = None if isinstance(scenario, Scenario) or scenario is None else Path(scenario)
    elapsed = time.perf_counter() - t0
    return RunResult(out, source, override_pairs(overrides), elapsed, whatif)


def compare(base: RunResult | Path | str, *others: RunResult | Path | str) -> pd.DataFrame:
    """Paired differences (other − base) per scenario, site (every desk, pop-up, ALL_DESKS,
    ALL_POPUPS and ALL) and metric with 95 % CIs, the relative change, the KPI's direction and
    a verdict (better, worse, changed, no change) — the columns of comparison.csv. Give runs,
    or run folders as ``techbar compare`` takes them. The runs must share seed and replications
    (common random numbers): runs that do not raise ValueError; folders that cannot be paired
    raise ScenarioError with the reason, as the command exits 2."""
    if isinstance(base, Path | str):
        from sim.report.compare import compare_folders

        tables = []
        for o in others:
            if not isinstance(o, Path | str):
                raise TypeError("compare: give run folders with a run folder, runs with a run")
            tables.append(compare_folders(base, o)[0])
        return pd.concat(tables, ignore_index=True) if tables else _empty_comparison()
    runs: list[RunOutput] = []
    for o in others:
        if not isinstance(o, RunResult):
            raise TypeError("compare: give runs with a run, run folders with a run folder")
        if (o.output.seed, o.output.replications) != (base.output.seed, base.output.replications):
            raise ValueError("compare: runs must have the same seed and replications")
        runs.append(o.output)
    return paired_comparison(base.output, runs)


def sweep(
    experiment: Path | str,
    reps: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    progress: bool = False,
    dask: str | None = None,
    cache: bool | Path | str = False,
    on_progress: ProgressFn | None = None,
) -> SweepResult:
    """Every scenario of an experiment file at the same seed, compared with its base;
    `overrides` change the base of every scenario (as ``techbar sweep --set``). `cache` and
    `on_progress` as for :func:`run`."""
    plan = load_experiment(experiment, overrides)
    n = plan.experiment.reps if reps is None else reps
    _check_counts(n, plan.experiment.seed if seed is None else seed, workers)
    limits.check_work(plan.scenarios, n, workers)
    t0 = time.perf_counter()
    out = _sweep(
        plan,
        plan.experiment.seed if seed is None else seed,
        n,
        store=_cache(cache),
        workers=workers,
        progress=progress,
        dask=dask,
        on_progress=on_progress,
    )
    return SweepResult(out, time.perf_counter() - t0)


def size(
    scenario: Scenario | Path | str | None = None,
    targets: Iterable[str | Target] = ("service_level>=0.8",),
    reps: int = 10,
    seed: int = 1,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    name: str | None = None,
    max_engineers: int = 12,
    progress: bool = False,
    every_hour: Iterable[str] = (),
    size_popups: bool = False,
    cache: bool | Path | str = False,
) -> SizingResult:
    """The cheapest weekday roster at each desk meeting every target (e.g.
    ``"service_level>=0.8"``, a band ``"0.5<=utilisation<=0.85"``) on its one-sided 95 %
    confidence bound, per desk and weekday; `every_hour` targets (e.g. ``"service_level>=0.7"``)
    hold in every opening hour; `size_popups` sizes the pop-ups' engineers too. `cache`: as for
    :func:`run` (each desk's rosters are kept per component and reused by later sizings and
    runs); the answer does not depend on it."""
    s, _ = _scenario(scenario, overrides, name)
    ts = parse_targets(targets, every_hour)
    _check_counts(reps, seed, workers)
    limits.check_work([s], reps, workers)
    t0 = time.perf_counter()
    out = _size(
        s,
        ts,
        seed,
        reps,
        max_engineers=max_engineers,
        workers=workers,
        progress=progress,
        size_popups=size_popups,
        store=_cache(cache),
    )
    source = None if isinstance(scenario, Scenario) or scenario is None else Path(scenario)
    rewritten = isinstance(scenario, Scenario) or bool(overrides) or name is not None
    return SizingResult(out, ts, seed, reps, time.perf_counter() - t0, source, rewritten)


def backtest(
    scenario: Scenario | Path | str | None = None,
    reps: int = 20,
    seed: int = 1,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    name: str | None = None,
    progress: bool = False,
    trial: Scenario | Path | str | None = TRIAL_SCENARIO,
) -> BacktestResult:
    """The published outcomes beside the simulated ones, with 95 % CIs: the trial's figures on
    the `trial` scenario (fitted to; None to leave them out), the live service's on `scenario`
    (predicted, not fitted)."""
    r = run(scenario, reps, seed, workers, overrides=overrides, name=name, progress=progress)
    t = None if trial is None else run(trial, reps, seed, workers).output
    return BacktestResult(r.output, r.source, r.overrides, r.wall_time_s, r.whatif, t)


@dataclass
class CalibrationRun:
    """The calibrated inputs fitted on the trial: ``.fit`` (values, standard errors, residuals,
    the fitted scenario), ``.write(dir)`` the files ``techbar calibrate`` writes."""

    fit: CalibrationResult
    wall_time_s: float = 0.0

    command = "calibrate"

    def parameters(self) -> pd.DataFrame:
        return self.fit.parameters()

    def residuals(self) -> pd.DataFrame:
        return self.fit.residuals()

    def fragment(self) -> str:
        return self.fit.fragment()

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        out = _output_dir(out_dir, self.command, force)
        meta = {**API, **self.fit.manifest(), **provenance(self.wall_time_s, [self.command])}
        record = meta["calibration"]
        tables = {
            "calibration.csv": self.parameters(),
            "calibration_residuals.csv": self.residuals(),
        }
        texts = {
            "calibration.json": json.dumps(record, indent=2, default=str) + "\n",
            "calibrated.toml": self.fragment(),
        }
        write_outputs(out, tables, meta, texts)  # every file at once
        return out


def calibrate(
    scenario: Scenario | Path | str | None = TRIAL_SCENARIO,
    reps: int = 40,
    seed: int = 1,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    ftf_reading: str = "points",
) -> CalibrationRun:
    """Fit the calibrated inputs on the trial scenario (default ``met_trial_2018``) to the trial
    figures: 1.9 / 2.3 / 3.41 days quicker per ticket and first-time fixes up 10 on the service
    desk's rate, read as points or ``"relative"`` (see :mod:`sim.experiment.calibrate`)."""
    _check_counts(reps, seed, workers)
    s, _ = _scenario(TRIAL_SCENARIO if scenario is None else scenario, overrides)
    limits.check_work([s], reps, workers)
    t0 = time.perf_counter()
    fit = _calibrate(s, seed, reps, reading=ftf_reading, workers=workers)
    return CalibrationRun(fit, time.perf_counter() - t0)


@dataclass
class SensitivityResult:
    """One at a time (a tornado per output), switching values and, with `psa`, the
    probabilistic analysis of the ranged inputs."""

    scenario: Scenario
    ranges: list[Range]
    oat: OneAtATime
    switching: pd.DataFrame
    psa: Probabilistic | None = None
    wall_time_s: float = 0.0

    def summary(self) -> pd.DataFrame:
        """The tornado: output, input, rank, means at low/base/high, swings with 95 % CIs."""
        return self.oat.tornado()

    def tables(self) -> dict[str, pd.DataFrame]:
        return sensitivity_tables(self.ranges, self.oat, self.switching, self.psa)

    def write(self, out_dir: Path | str, force: bool = False) -> Path:
        out = _output_dir(out_dir, "sensitivity", force)
        meta = {
            "scenario_name": self.scenario.name,
            "seed": self.oat.seed,
            "replications": self.oat.reps,
            **(
                {"psa_samples": len(self.psa.design), "psa_replications": self.psa.reps}
                if self.psa is not None
                else {}
            ),
            **API,
            **provenance(self.wall_time_s, ["sensitivity"]),
            "scenario": scenario_to_dict(self.scenario),
        }
        tables = self.tables()
        if self.oat.base_run is not None:
            tables.update(run_tables(self.oat.base_run))
        write_outputs(out, tables, meta)
        return out


def sensitivity(
    scenario: Scenario | Path | str | None = None,
    ranges: Path | str | dict[str, dict[str, Any]] | None = None,
    reps: int = 10,
    seed: int = 1,
    workers: int = 1,
    *,
    overrides: Overrides = None,
    psa: int | None = None,
    psa_reps: int = 2,
    target: float = 0.0,
    progress: bool = False,
    dask: str | None = None,
) -> SensitivityResult:
    """Each ranged input at its low and high (paired with the base by common random numbers),
    the switching value of the net benefit per year at `target`, and with `psa` a Latin
    hypercube of that many samples, `psa_reps` replications each. `ranges` is a ranges file,
    a mapping ``{"value.gbp_per_officer_hour": {"low": 30, "high": 50, "reason": "…"}}``, or
    None for the file beside the scenario (the embedded default has one)."""
    _check_counts(reps, seed, workers)
    s, _ = _scenario(scenario, overrides)
    base = resolved_data(s)
    if isinstance(ranges, dict):
        checked = check_ranges(list(ranges.items()), base)
    else:
        source = None if isinstance(scenario, Scenario) else scenario
        path = ranges if ranges is not None else default_ranges_path(source)
        if path is None:
            raise ScenarioError("no ranges for this scenario: give ranges (a file or a mapping)")
        checked = load_ranges(path, base)
    limits.check_work([s], reps, workers)
    options: dict[str, Any] = {"workers": workers, "progress": progress, "dask": dask}
    t0 = time.perf_counter()
    oat = one_at_a_time(base, checked, seed, reps, **options)
    switching = with_units(switching_values(base, oat, target=target, **options), unit_of)
    sampled = probabilistic(base, checked, psa, seed, psa_reps, **options) if psa else None
    return SensitivityResult(s, checked, oat, switching, sampled, time.perf_counter() - t0)
