"""Experiments over scenarios: sweeps compared with a base, and how many replications to run.

Every scenario of an experiment runs at the same seed, so it sees the same incidents and draws as
the base (common random numbers) and is compared with it replication by replication (paired
differences), which needs far fewer replications than comparing two independent means.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
)

from sim.experiment.runner import Job, RunOutput, assemble, run_jobs, summarise
from sim.experiment.store import ResultStore
from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS
from sim.scenario import (
    Applied,
    Override,
    Overrides,
    Scenario,
    ScenarioError,
    apply_overrides,
    default_scenario_path,
    first_problem,
    name_key,
    override_pairs,
    read_scenario,
    read_toml,
    resolve_overrides,
    toml_text,
    validate,
)

BASE = "base"
MAX_SWEEP_SCENARIOS = 1000  # named scenarios and grid combinations together
DEFAULT_PRECISION_KPIS = ("wait_mean_min", "utilisation", "downtime_saved_days_per_ticket")


# --------------------------------------------------------------------------- how many replications


class PrecisionWarning(UserWarning):
    """The replication budget ran out before the requested precision was reached."""


@dataclass
class PrecisionResult:
    replications: int  # replications run (and used)
    needed: int | None  # n* of Hoad, Robinson & Davies (2010), None if not reached
    achieved: dict[str, float]  # relative 95 % half-width of each KPI at `replications`
    outputs: list = field(default_factory=list)


def relative_half_widths(kpis: pd.DataFrame, metrics: tuple[str, ...], n: int) -> dict[str, float]:
    """95 % CI half-width ÷ |mean| of each metric (site ALL) over replications 0..n−1."""
    sub = kpis[(kpis["site"] == ALL) & kpis["metric"].isin(metrics) & (kpis["replication"] < n)]
    s = summarise(sub, ["metric"], "value").set_index("metric")
    out = {}
    for m in metrics:
        if m not in s.index or s.loc[m, "n"] == 0:
            continue  # not defined in this scenario (e.g. no service-desk baseline): no target
        mean, half = s.loc[m, "mean"], s.loc[m, "ci_high"] - s.loc[m, "mean"]
        if mean == 0 and s.loc[m, "std"] == 0:
            out[m] = 0.0  # identically zero (e.g. nobody balks): nothing to estimate
        else:
            out[m] = np.inf if np.isnan(half) or mean == 0 else abs(half / mean)
    return out


def run_to_precision(
    scenario: Scenario,
    seed: int,
    precision: float,
    metrics: tuple[str, ...] = DEFAULT_PRECISION_KPIS,
    min_reps: int = 5,
    max_reps: int = 100,
    k_limit: int = 5,
    batch: int = 5,
    **run_options: Any,
) -> PrecisionResult:
    """Add replications, `batch` at a time, until the relative 95 % half-width of every metric
    is at most `precision` at some n* and stays so for the next `k_limit` replications (the
    replication algorithm of Hoad, Robinson & Davies 2010), or until `max_reps`.

    Batches are fixed in size, so the answer does not depend on the number of workers."""
    outs: list = []
    while True:
        start = len(outs)
        stop = min(max(start + batch, min_reps + k_limit), max_reps)
        jobs = [Job(scenario, seed, r) for r in range(start, stop)]
        outs += run_jobs(jobs, desc=f"{scenario.name} (to ±{precision:.0%})", **run_options)
        n = len(outs)
        kpis = pd.concat([o.kpis for o in outs], ignore_index=True)
        ok = [
            max(relative_half_widths(kpis, metrics, m).values(), default=0.0) <= precision
            for m in range(1, n + 1)
        ]
        needed = next(
            (m for m in range(max(min_reps, 2), n - k_limit + 1) if all(ok[m - 1 : m + k_limit])),
            None,
        )
        if needed is not None or n >= max_reps:
            achieved = relative_half_widths(kpis, metrics, n)
            if needed is None:
                worst = max(achieved, key=lambda k: achieved[k])
                warnings.warn(
                    f"precision ±{precision:.0%} not reached in {n} replications (the budget): "
                    f"{worst} is at ±{achieved[worst]:.1%}; raise --max-reps or accept wider "
                    "intervals",
                    PrecisionWarning,
                    stacklevel=2,
                )
            return PrecisionResult(n, needed, achieved, outs)


# --------------------------------------------------------------------------- sweeps


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NamedScenario(_Frozen):
    name: str = Field(min_length=1)
    set: list[str] = Field(min_length=1, description="overrides of the base, as for --set")

    @field_validator("name")
    @classmethod
    def _not_base(cls, v):
        if not v.strip():
            raise ValueError("a name must not be empty or only spaces")
        if name_key(v) == BASE:
            raise ValueError(f"'{v}' is reserved for the base scenario; choose another name")
        return v


class Experiment(_Frozen):
    name: str = Field(min_length=1)
    description: str = ""
    base: str | None = Field(
        None, description="base scenario file, relative to the experiment file (absent: default)"
    )
    set: list[str] = Field([], description="overrides applied to the base and every scenario")
    reps: PositiveInt = 10
    seed: NonNegativeInt = 1
    scenarios: list[NamedScenario] = []
    grid: dict[str, list[Any]] = Field(
        {}, description="dotted key → values; every combination becomes a scenario"
    )

    @field_validator("grid")
    @classmethod
    def _grid_values(cls, v):
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key '{key}' has no values; give at least one")
        return v


@dataclass
class SweepPlan:
    experiment: Experiment
    scenarios: list[Scenario]  # the base first
    overrides: dict[str, list[str]]  # scenario name → its overrides of the base, as text
    pairs: dict[str, list[Override]] = field(default_factory=dict)  # … as (key, value) data
    base_set: list[Applied] = field(default_factory=list)  # given with the command, on the base


def load_experiment(path: Path | str, overrides: Overrides = None) -> SweepPlan:
    """An experiment file as a plan: the base and every named and grid scenario, validated.

    `overrides` (``techbar sweep --set``) change the base of every scenario, after the file's
    own ``set`` and before each scenario's; like ``--set`` on ``run``, they may use ``*`` and
    ``[field=value]`` filters.

    Overrides are applied as data: a grid value is set as it was read, never re-parsed from
    text; the text form (``overrides``) is only for names and the scenarios table."""
    path = Path(path)
    raw = read_toml(path)
    try:
        exp = Experiment.model_validate(raw)
    except ValidationError as exc:
        raise first_problem(exc, f"experiment ({path})") from None
    base_path = (path.parent / exp.base) if exp.base else default_scenario_path()
    if exp.base and not base_path.exists():
        raise ScenarioError(f"experiment '{path}': base scenario '{base_path}' not found")
    base_raw = apply_overrides(read_scenario(base_path), exp.set)
    base_raw, base_set = resolve_overrides(base_raw, overrides)
    n_grid = math.prod(len(v) for v in exp.grid.values()) if exp.grid else 0
    if len(exp.scenarios) + n_grid > MAX_SWEEP_SCENARIOS:
        raise ScenarioError(
            f"invalid experiment ({path}): key 'grid': {len(exp.scenarios) + n_grid:,} scenarios "
            f"(named and grid combinations); at most {MAX_SWEEP_SCENARIOS:,} are allowed"
        )
    texts: dict[str, list[str]] = {BASE: []}
    pairs: dict[str, list[Override]] = {BASE: []}
    for i, s in enumerate(exp.scenarios):
        _new_name(s.name, texts, f"scenarios.{i}.name", path)
        texts[s.name], pairs[s.name] = list(s.set), override_pairs(s.set)
    if exp.grid:
        keys = list(exp.grid)
        for values in itertools.product(*(exp.grid[k] for k in keys)):
            point = list(zip(keys, values, strict=True))
            sets = [f"{k}={toml_text(v)}" for k, v in point]
            name = ", ".join(sets)
            _new_name(name, texts, "grid", path)
            texts[name], pairs[name] = sets, override_pairs(point)
    if len(pairs) == 1:
        raise ScenarioError(
            f"invalid experiment ({path}): it has no scenarios to compare with the base; add "
            "[[scenarios]] or a [grid] with values"
        )
    scenarios = []
    for name, point_pairs in pairs.items():
        data = apply_overrides(base_raw, point_pairs)
        data = {**data, "name": name if name != BASE else data.get("name", BASE)}
        source = f"experiment '{path.name}', scenario '{name}'"
        scenarios.append(validate(data, source))
    base_name = scenarios[0].name
    if name_key(base_name) in {name_key(n) for n in texts if n != BASE}:
        raise ScenarioError(
            f"invalid experiment ({path}): a scenario is named '{base_name}' like the base "
            "scenario; choose another name"
        )
    return SweepPlan(exp, scenarios, texts, pairs, base_set)


def _new_name(name: str, seen: dict[str, list[str]], key: str, path: Path) -> None:
    clash = next((n for n in seen if n != BASE and name_key(n) == name_key(name)), None)
    if clash is not None:
        raise ScenarioError(
            f"invalid experiment ({path}): key '{key}': scenario name '{name}' repeats "
            f"'{clash}' (names must be unique, ignoring case and spacing)"
        )


@dataclass
class SweepOutput:
    plan: SweepPlan
    seed: int
    runs: list[RunOutput]  # in plan order, the base first

    def summary(self) -> pd.DataFrame:
        return pd.concat([r.summary() for r in self.runs], ignore_index=True)

    def replications(self) -> pd.DataFrame:
        frames = []
        for r in self.runs:
            df = r.kpis.copy()
            df.insert(0, "scenario", r.scenario.name)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def comparison(self) -> pd.DataFrame:
        return paired_comparison(self.runs[0], self.runs[1:])

    def scenario_table(self) -> pd.DataFrame:
        names = [r.scenario.name for r in self.runs]
        sets = ["; ".join(v) for v in self.plan.overrides.values()]
        return pd.DataFrame({"scenario": names, "overrides": sets})


COMPARISON_COLUMNS = [
    "scenario",
    "site",
    "metric",
    "base_mean",
    "scenario_mean",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "n",
    "significant",
    "site_kind",
    "relative_change",
    "direction",
    "verdict",
]
SITE_KINDS = ("desk", "pooled", "popup")  # the order changes are shown in
POOLED_SITES = (ALL_DESKS, ALL_POPUPS, ALL)


def paired_comparison(base: RunOutput, others: list[RunOutput]) -> pd.DataFrame:
    """Each scenario minus the base, replication by replication: mean difference and its 95 %
    t-interval per site (every desk, pop-up and pooled group) and metric (common random numbers
    make the pairs comparable). See `paired_differences` for the columns."""
    frames = [
        paired_differences(
            base.kpis,
            other.kpis,
            other.scenario.name,
            desks=[s.name for s in (*base.scenario.sites, *other.scenario.sites)],
            popups=[p.name for p in (*base.scenario.popups, *other.scenario.popups)],
        )
        for other in others
    ]
    return pd.concat(frames, ignore_index=True) if frames else _empty_comparison()


def _empty_comparison() -> pd.DataFrame:
    return pd.DataFrame(columns=COMPARISON_COLUMNS)


def paired_differences(
    base: pd.DataFrame,
    other: pd.DataFrame,
    scenario: str,
    desks: list[str] | tuple[str, ...] = (),
    popups: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """`other` minus `base` (KPI tables: replication, site, metric, value), paired by
    replication: per site and metric the two means, the mean difference with its 95 %
    t-interval and n (pairs), whether the interval excludes 0, the kind of site (desk,
    pooled, popup), the change as a share of the base mean (blank when that is 0), the KPI's
    direction (+1 higher is better, −1 worse, 0 neither) and the verdict: better or worse for a
    significant change of a KPI with a direction, changed for one without, else no change."""
    keys = ["site", "metric", "replication"]
    b = base.set_index(keys)["value"]
    o = other.set_index(keys)["value"]
    # every site of the scenario, then those only the base has (removed: no difference)
    index = o.index.append(b.index[~b.index.isin(o.index)])
    diff = (o.reindex(index) - b.reindex(index)).rename("value").reset_index()
    d = summarise(diff, ["site", "metric"], "value")
    at = pd.MultiIndex.from_frame(d[["site", "metric"]])

    def means(kpis: pd.DataFrame) -> np.ndarray:
        s = summarise(kpis, ["site", "metric"], "value").set_index(["site", "metric"])
        return s["mean"].reindex(at).to_numpy()

    out = pd.DataFrame(
        {
            "scenario": scenario,
            "site": d["site"],
            "metric": d["metric"],
            "base_mean": means(base),
            "scenario_mean": means(other),
            "diff_mean": d["mean"],
            "diff_ci_low": d["ci_low"],
            "diff_ci_high": d["ci_high"],
            "n": d["n"],
        }
    )
    out["significant"] = (out["diff_ci_low"] > 0) | (out["diff_ci_high"] < 0)
    desk_set, popup_set = set(desks), set(popups)
    out["site_kind"] = [
        "pooled"
        if s in POOLED_SITES
        else "popup"
        if s in popup_set and s not in desk_set
        else "desk"
        for s in out["site"]
    ]
    base_abs = out["base_mean"].abs()
    out["relative_change"] = (out["diff_mean"] / base_abs).where(base_abs > 0)
    out["direction"] = [KPIS[m].direction if m in KPIS else 0 for m in out["metric"]]
    sign = np.sign(out["diff_mean"].fillna(0)) * out["direction"]
    out["verdict"] = np.select(
        [~out["significant"], out["direction"] == 0, sign > 0, sign < 0],
        ["no change", "changed", "better", "worse"],
        "no change",
    )
    return out[COMPARISON_COLUMNS]


def sites_added_removed(comparison: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The sites a scenario adds to its base (no base values) and removes from it (no values
    of its own), in the comparison's order."""
    has = comparison.groupby("site", sort=False)[["base_mean", "scenario_mean"]].agg(
        lambda x: bool(x.notna().any())
    )
    added = has.index[~has["base_mean"] & has["scenario_mean"]]
    removed = has.index[has["base_mean"] & ~has["scenario_mean"]]
    return [str(x) for x in added], [str(x) for x in removed]


def changes_first(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison in the order a reader wants it: significant changes first, then desks
    before pooled groups before pop-ups, then the largest relative change first (a change from
    a base of 0 counts as the largest). Ties keep the table's order."""
    c = comparison.copy()
    kind = c["site_kind"] if "site_kind" in c else pd.Series("desk", index=c.index)
    rel = c["relative_change"].abs() if "relative_change" in c else pd.Series(np.nan, c.index)
    moved = c["diff_mean"].fillna(0) != 0
    c["_sig"] = ~c["significant"].astype(bool)
    c["_kind"] = kind.map({k: i for i, k in enumerate(SITE_KINDS)}).fillna(0)
    c["_rel"] = -rel.where(rel.notna(), np.where(moved, np.inf, 0.0))
    c = c.sort_values(["_sig", "_kind", "_rel"], kind="stable")
    return c.drop(columns=["_sig", "_kind", "_rel"]).reset_index(drop=True)


def sweep(
    plan: SweepPlan,
    seed: int,
    reps: int,
    store: ResultStore | None = None,
    **run_options: Any,
) -> SweepOutput:
    """Every scenario at the same seed and replications, in one pool of jobs."""
    jobs = [Job(s, seed, r) for s in plan.scenarios for r in range(reps)]
    outs = run_jobs(jobs, store=store, desc=f"sweep {plan.experiment.name}", **run_options)
    runs = [
        assemble(s, seed, outs[i * reps : (i + 1) * reps]) for i, s in enumerate(plan.scenarios)
    ]
    return SweepOutput(plan, seed, runs)


def known_metric(name: str) -> str:
    if name not in KPIS:
        raise ScenarioError(f"unknown KPI '{name}'; allowed: {', '.join(KPIS)}")
    return name
