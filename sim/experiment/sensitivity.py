"""Sensitivity of the headline results to the ranged inputs (`sim.scenario.uncertainty`).

- **One at a time** (:func:`one_at_a_time`): each ranged input at its low and at its high value,
  the others at the scenario's values. Every point runs the same seed and replications as the
  base, so it sees the same incidents and draws (common random numbers): each swing is a paired
  difference, replication by replication, with its 95 % t-interval.
- **Switching values** (:func:`switching_values`): for each input, the value at which the mean
  net benefit per year reaches a target (zero: the break-even), searched between the low and
  high by regula falsi with bisection's guarantee (the Illinois method), every trial point at the
  same seed and replications; "none within the range" when the net benefit does not cross the
  target there. Where the net benefit is linear in the input (£ per officer hour, hours lost per
  day of downtime) the first step lands on the exact root: the closed form.
- **Probabilistic** (:func:`probabilistic`): the ranged inputs sampled jointly (a Latin
  hypercube, ``scipy.stats.qmc``, from the seed), a few replications of its own at each sample
  (independent draws, so that the spread splits cleanly into input and noise). It gives
  the distribution of the mean net benefit, P(net benefit > 0), the share of the spread that is
  input uncertainty rather than simulation noise (from the replicated design), and each input's
  global importance (first-order Sobol indices estimated by RBD-FAST, SALib, which works on a
  Latin hypercube).

Every point is a scenario whose replications are kept in the results store under their own jobs,
exactly as :func:`sim.experiment.runner.run_jobs` keeps them (an interrupted analysis redoes only
what it had not finished; a point run before, by any command, is read back), on the same
executors, so results do not depend on the executor or the number of workers. Points that
differ only in money inputs (``costs``, ``value``: the simulation never reads them) share one
simulation per replication and are measured once each (:func:`run_points`).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc
from tqdm import tqdm

from sim.experiment.executors import default_workers, open_executor
from sim.experiment.runner import (
    CONFIDENCE,
    ReplicationOutput,
    RunOutput,
    assemble,
    from_stored,
    measured,
    stored_tables,
    workers_file,
)
from sim.experiment.store import JobId, ResultStore, job_id
from sim.kpis import ALL, replication_kpis
from sim.model import run_replication
from sim.scenario import Scenario
from sim.scenario.uncertainty import Range, scenario_at

NET_BENEFIT = "net_benefit_gbp_per_year"
OUTPUTS = (
    NET_BENEFIT,
    "downtime_saved_days_per_ticket",
    "service_level",
    "sd_share_taken",
    "npv_gbp",
)
BASE = "base"
MAX_SEARCH_STEPS = 12
PSA_INTERVAL = 0.90  # the percentile interval of the net benefit's distribution
MIN_PSA_SAMPLES_FOR_IMPORTANCE = 8
PSA_STRIDE = 1_000_000  # sample i runs replications i × PSA_STRIDE + 0, 1, …: its own draws


def _t_half(std: float, n: int) -> float:
    if n < 2 or not np.isfinite(std):
        return math.nan
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n))


def _headline(outs: Sequence[ReplicationOutput], outputs: Sequence[str]) -> pd.DataFrame:
    """Replication × output (site ALL) of one point's replications."""
    frames = [o.kpis[(o.kpis["site"] == ALL) & o.kpis["metric"].isin(outputs)] for o in outs]
    df = pd.concat(frames, ignore_index=True)
    wide = df.pivot_table(index="replication", columns="metric", values="value", aggfunc="first")
    return wide.reindex(columns=list(outputs))


MONEY_ONLY = ("costs", "value")  # inputs the simulation never reads: only the KPIs use them


def simulation_key(scenario: Scenario) -> str:
    """What determines a replication's simulated events: the scenario less its name, description
    and money inputs. Points with the same key are simulated once and evaluated for each."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    for k in ("name", "description", *MONEY_ONLY):
        data.pop(k, None)
    return json.dumps(data, sort_keys=True, default=str)


def replicate_variants(
    scenarios: tuple[Scenario, ...], seed: int, replication: int, kpis_only: bool = False
) -> list[ReplicationOutput]:
    """One replication simulated once (with the first scenario) and measured with each of
    `scenarios`, which differ only in money inputs: the same outputs as
    :func:`~sim.experiment.runner.one_replication` of each, for the cost of one simulation.
    With `kpis_only`, only the KPI table (the rest left empty): what an analysis that reads
    only KPIs needs, without the hourly, weekly, waiting-time and stock tables."""
    rec = run_replication(scenarios[0], seed, replication)
    if kpis_only:
        return [kpis_output(s, rec) for s in scenarios]
    return [measured(s, rec) for s in scenarios]


KPIS_ONLY = "+kpis only"  # marks the store entries of replications measured for their KPIs only


def kpis_output(scenario: Scenario, rec: Any) -> ReplicationOutput:
    """A replication's KPI table alone (the other tables empty)."""
    return ReplicationOutput(
        replication=rec.replication,
        kpis=replication_kpis(scenario, rec),
        queue_by_hour=_EMPTY,
        weekly=_EMPTY,
        waits=_EMPTY,
        stock=_EMPTY,
        trace=None,
    )


def _job(scenario: Scenario, seed: int, replication: int, kpis_only: bool) -> JobId:
    """The store entry of a replication; one measured for its KPIs only is kept apart (under
    its own key), so that a run reading the full tables never gets it."""
    job = job_id(scenario, seed, replication)
    return replace(job, model=job.model + KPIS_ONLY) if kpis_only else job


def _from_store(job: JobId, tables: dict[str, pd.DataFrame], kpis_only: bool) -> Any:
    if not kpis_only:
        return from_stored(job, tables)
    if set(tables) != {"kpis"} or not (tables["kpis"]["replication"] == job.replication).all():
        return None
    return ReplicationOutput(
        job.replication, tables["kpis"], _EMPTY, _EMPTY, _EMPTY, _EMPTY, trace=None
    )


def run_points(
    points: Sequence[Scenario],
    seed: int,
    reps: int,
    workers: int | None = None,
    dask: str | None = None,
    store: ResultStore | None = None,
    progress: bool = False,
    desc: str = "points",
    keep: Callable[[int, ReplicationOutput], ReplicationOutput] | None = None,
    first: Sequence[int] | None = None,
    kpis_only: bool = False,
) -> list[list[ReplicationOutput]]:
    """Every point's replications 0..reps−1 at `seed`, as :func:`run_jobs` would give them
    (each kept in and served from the results store under its own job), but points that differ
    only in money inputs share one simulation per replication. Results do not depend on the
    executor or the number of workers. Point i runs replications first[i] .. first[i] + reps − 1
    (default 0 .. reps − 1 for every point: common random numbers).

    `keep(point index, output)` says what of each finished replication to hold in memory (after
    it is stored): a replication's tables are about 2 MB, so an analysis of hundreds of points
    keeps only the rows it reads (:func:`slim`). With `kpis_only` each replication is measured
    for its KPIs alone (:func:`replicate_variants`) and kept so in the store."""
    keep = keep or (lambda _, out: out)
    results: list[list[ReplicationOutput | None]] = [[None] * reps for _ in points]
    start = list(first) if first is not None else [0] * len(points)
    ids = (
        [
            [_job(s, seed, start[i] + r, kpis_only) for r in range(reps)]
            for i, s in enumerate(points)
        ]
        if store is not None
        else []
    )
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(points):
        groups.setdefault(f"{start[i]}:{simulation_key(s)}", []).append(i)
    tasks: list[tuple[list[int], int]] = []  # (points still to do, replication)
    for members in groups.values():
        for r in range(reps):
            todo = []
            for i in members:
                cached = None
                if store is not None:
                    tables = store.get(ids[i][r])
                    cached = None if tables is None else _from_store(ids[i][r], tables, kpis_only)
                if cached is None:
                    todo.append(i)
                else:
                    results[i][r] = keep(i, cached)
            if todo:
                tasks.append((todo, r))
    total = len(points) * reps
    left = sum(len(t) for t, _ in tasks)
    bar = tqdm(total=total, initial=total - left, desc=desc, unit="rep", disable=not progress)

    def done(
        task: tuple[list[int], int],
        outs: list[ReplicationOutput],
        by_worker: bool = False,
        error: str | None = None,
    ) -> None:
        """`outs` simulated for `task`: filed in the store here, or, `by_worker`, filed by the
        worker that simulated them (`error`: why they could not be, for the warning)."""
        todo, r = task
        for i, out in zip(todo, outs, strict=True):
            if store is not None:
                tables = _stored(out, kpis_only)
                if by_worker:
                    store.filed(ids[i][r], tables, error)
                else:
                    store.save(ids[i][r], tables)
            results[i][r] = keep(i, out)
        bar.update(len(todo))

    def call(t: tuple[list[int], int]) -> tuple:
        """What `replicate_variants` is called with for the task `t`."""
        return tuple(points[i] for i in t[0]), seed, start[t[0][0]] + t[1], kpis_only

    with bar:
        if tasks:
            n_workers = min(workers or default_workers(), len(tasks)) if dask is None else None
            with open_executor(n_workers, dask) as pool:
                if pool is None:
                    for t in tasks:
                        done(t, replicate_variants(*call(t)))
                elif store is not None and workers_file(pool, store):
                    # local workers file their own entries: the parent only collects them
                    root = str(store.root)
                    filing = {
                        pool.submit(
                            _replicate_and_file, root, [ids[i][t[1]] for i in t[0]], *call(t)
                        ): t
                        for t in tasks
                    }
                    for g in as_completed(filing):
                        outs, error = g.result()
                        done(filing[g], outs, by_worker=True, error=error)
                else:
                    futures = {pool.submit(replicate_variants, *call(t)): t for t in tasks}
                    for f in as_completed(futures):
                        done(futures[f], f.result())
    assert all(o is not None for row in results for o in row)
    return cast(list[list[ReplicationOutput]], results)


_EMPTY = pd.DataFrame()


def _stored(out: ReplicationOutput, kpis_only: bool) -> dict[str, pd.DataFrame]:
    """What the store keeps of a replication (of its KPIs only, with `kpis_only`)."""
    return {"kpis": out.kpis} if kpis_only else stored_tables(out)


def _replicate_and_file(
    root: str,
    jobs: list[JobId],
    scenarios: tuple[Scenario, ...],
    seed: int,
    replication: int,
    kpis_only: bool,
) -> tuple[list[ReplicationOutput], str | None]:
    """In a pool worker: `replicate_variants` and file each scenario's replication in the
    results store at `root` under its job; the outputs and None, or why they could not be
    filed (the parent reports it)."""
    outs = replicate_variants(scenarios, seed, replication, kpis_only)
    entries = [(job, _stored(out, kpis_only)) for job, out in zip(jobs, outs, strict=True)]
    return outs, ResultStore(root).put_or_error(entries)


def slim(out: ReplicationOutput, outputs: Sequence[str]) -> ReplicationOutput:
    """A replication with only its all-sites rows of `outputs` (what an analysis reads)."""
    k = out.kpis
    rows = k[(k["site"] == ALL) & k["metric"].isin(outputs)]
    return replace(out, kpis=rows, queue_by_hour=_EMPTY, weekly=_EMPTY, waits=_EMPTY, stock=_EMPTY)


def _run_points(
    points: Sequence[Scenario],
    seed: int,
    reps: int,
    outputs: Sequence[str],
    desc: str,
    run_options: dict[str, Any],
    first: Sequence[int] | None = None,
    kpis_only: bool = False,
) -> list[pd.DataFrame]:
    """Each point's headline outputs per replication, all points in one pool of jobs."""
    keep = lambda _, o: slim(o, outputs)  # noqa: E731
    outs = run_points(
        points, seed, reps, desc=desc, keep=keep, first=first, kpis_only=kpis_only, **run_options
    )
    return [_headline(o, outputs) for o in outs]


def _point_name(settings: Sequence[tuple[Range, float]]) -> str:
    return ", ".join(f"{r.label}={x:g}" for r, x in settings) or BASE


# --------------------------------------------------------------------------- one at a time


@dataclass
class OneAtATime:
    """The base and each input at its low and high: per-replication outputs and the tornado."""

    ranges: list[Range]
    seed: int
    reps: int
    outputs: tuple[str, ...]
    base: pd.DataFrame  # replication × output
    low: dict[str, pd.DataFrame]  # input key → replication × output
    high: dict[str, pd.DataFrame]
    base_run: RunOutput | None = None  # the base scenario's replications in full

    def tornado(self) -> pd.DataFrame:
        """One row per output and input, ordered by |swing| within each output: the means at
        low, base and high, each end's paired difference from the base and the swing (high −
        low), each with its 95 % t-interval over replications."""
        rows = []
        for out in self.outputs:
            b = self.base[out]
            for r in self.ranges:
                lo, hi = self.low[r.key][out], self.high[r.key][out]
                row: dict[str, Any] = {
                    "output": out,
                    "input": r.key,
                    "scale": r.scale,
                    "base_value": r.base,
                    "low_value": r.low,
                    "high_value": r.high,
                    "base_mean": b.mean(),
                    "low_mean": lo.mean(),
                    "high_mean": hi.mean(),
                }
                for name, d in (("low_diff", lo - b), ("high_diff", hi - b), ("swing", hi - lo)):
                    half = _t_half(d.std(), int(d.count()))
                    row[f"{name}_mean"] = d.mean()
                    row[f"{name}_ci_low"] = d.mean() - half
                    row[f"{name}_ci_high"] = d.mean() + half
                row["n"] = int((hi - lo).count())
                row["reason"] = r.reason
                rows.append(row)
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        df["_abs"] = df["swing_mean"].abs()
        df["_order"] = df["output"].map({o: i for i, o in enumerate(self.outputs)})
        df = df.sort_values(["_order", "_abs"], ascending=[True, False], kind="stable")
        df.insert(2, "rank", df.groupby("output").cumcount() + 1)
        return df.drop(columns=["_abs", "_order"]).reset_index(drop=True)

    def points(self) -> pd.DataFrame:
        """Every point's outputs per replication (long: point, input, level, value_of_input,
        replication, output, value)."""
        frames = [_long(self.base, BASE, "", "base", math.nan)]
        for r in self.ranges:
            frames.append(_long(self.low[r.key], _point_name([(r, r.low)]), r.key, "low", r.low))
            frames.append(
                _long(self.high[r.key], _point_name([(r, r.high)]), r.key, "high", r.high)
            )
        return pd.concat(frames, ignore_index=True)


def _long(wide: pd.DataFrame, point: str, key: str, level: str, x: float) -> pd.DataFrame:
    df = wide.reset_index().melt(id_vars="replication", var_name="output", value_name="value")
    df.insert(0, "point", point)
    df.insert(1, "input", key)
    df.insert(2, "level", level)
    df.insert(3, "input_value", x)
    return df


def one_at_a_time(
    base: dict[str, Any],
    ranges: Sequence[Range],
    seed: int,
    reps: int,
    outputs: Sequence[str] = OUTPUTS,
    **run_options: Any,
) -> OneAtATime:
    """The base scenario (resolved data, `sim.scenario.uncertainty.resolved_data`) and each
    ranged input at its low and high, all at the same seed and replications."""
    name = str(base.get("name", BASE))
    points = [scenario_at(base, [], name)]
    for r in ranges:
        points += [scenario_at(base, [(r, x)], _point_name([(r, x)])) for x in (r.low, r.high)]
    outs = run_points(
        points,
        seed,
        reps,
        desc="sensitivity: one at a time",
        keep=lambda i, o: o if i == 0 else slim(o, outputs),  # the base in full
        **run_options,
    )
    results = [_headline(o, outputs) for o in outs]
    return OneAtATime(
        ranges=list(ranges),
        seed=seed,
        reps=reps,
        outputs=tuple(outputs),
        base=results[0],
        low={r.key: results[1 + 2 * i] for i, r in enumerate(ranges)},
        high={r.key: results[2 + 2 * i] for i, r in enumerate(ranges)},
        base_run=assemble(points[0], seed, outs[0]),
    )


# --------------------------------------------------------------------------- switching values


@dataclass
class _Search:
    r: Range
    lo: float
    f_lo: float
    hi: float
    f_hi: float
    steps: int = 0
    side: int = 0  # which end was kept last (Illinois: halve the value kept twice)
    found: float | None = None
    f_found: float = math.nan

    def next_x(self) -> float:
        x = self.lo - self.f_lo * (self.hi - self.lo) / (self.f_hi - self.f_lo)
        if not self.lo < x < self.hi or not np.isfinite(x):
            x = (self.lo + self.hi) / 2
        if self.r.integer:  # a whole number strictly inside the bracket (wider than 1)
            return float(min(max(round(x), self.lo + 1), self.hi - 1))
        return self.r.snap(x)

    def narrow(self, x: float, fx: float, xtol: float, ftol: float) -> None:
        self.steps += 1
        if abs(fx) <= ftol:
            self.found, self.f_found = x, fx
            return
        if (fx > 0) == (self.f_lo > 0):
            self.lo, self.f_lo = x, fx
            if self.side == -1:
                self.f_hi /= 2
            self.side = -1
        else:
            self.hi, self.f_hi = x, fx
            if self.side == 1:
                self.f_lo /= 2
            self.side = 1
        width = self.hi - self.lo
        if width <= xtol or (self.r.integer and width <= 1):
            self.found = x
            self.f_found = fx


def switching_values(
    base: dict[str, Any],
    oat: OneAtATime,
    target: float = 0.0,
    output: str = NET_BENEFIT,
    rtol: float = 1e-3,
    max_steps: int = MAX_SEARCH_STEPS,
    **run_options: Any,
) -> pd.DataFrame:
    """For each ranged input, the value at which the mean of `output` (over the same seed and
    replications as `oat`) reaches `target`, or none within the range.

    The search is the Illinois method between the low and high: each round runs one trial point
    for every input still searching, in one pool of jobs. It stops when the output is within
    1e-9 of its swing from the target, the bracket is narrower than `rtol` of the range (1 for a
    whole-number input), or after `max_steps` rounds."""
    searches: list[_Search] = []
    rows: dict[str, dict[str, Any]] = {}
    base_mean = float(oat.base[output].mean())
    for r in oat.ranges:
        f_lo = float(oat.low[r.key][output].mean()) - target
        f_hi = float(oat.high[r.key][output].mean()) - target
        row: dict[str, Any] = {
            "input": r.key,
            "scale": r.scale,
            "logit": r.logit,
            "output": output,
            "target": target,
            "base_value": r.base,
            "low_value": r.low,
            "high_value": r.high,
            "base_mean": base_mean,
            "low_mean": f_lo + target,
            "high_mean": f_hi + target,
        }
        rows[r.key] = row
        if f_lo == 0 or f_hi == 0:
            row.update(switching_value=r.low if f_lo == 0 else r.high, steps=0)
        elif (f_lo > 0) != (f_hi > 0):
            searches.append(_Search(r, r.low, f_lo, r.high, f_hi))
        else:
            row.update(switching_value=math.nan, steps=0)
    for _ in range(max_steps):
        live = [s for s in searches if s.found is None]
        if not live:
            break
        xs = [s.next_x() for s in live]
        points = [
            scenario_at(base, [(s.r, x)], _point_name([(s.r, x)]))
            for s, x in zip(live, xs, strict=True)
        ]
        results = _run_points(
            points, oat.seed, oat.reps, [output], "sensitivity: switching values", run_options
        )
        for s, x, res in zip(live, xs, results, strict=True):
            fx = float(res[output].mean()) - target
            ftol = 1e-9 * max(abs(s.f_lo), abs(s.f_hi))
            s.narrow(x, fx, rtol * (s.r.high - s.r.low), ftol)
    for s in searches:
        if s.found is None:  # out of steps: the best estimate within the last bracket
            s.found = s.next_x()
        rows[s.r.key].update(switching_value=s.found, steps=s.steps)
    df = pd.DataFrame(list(rows.values()))
    df["within_range"] = df["switching_value"].notna()
    df["sentence"] = [switching_sentence(row) for row in df.to_dict("records")]
    return df


def switching_sentence(row: dict[str, Any]) -> str:
    """The switching value in words, with the input's unit (``row["unit"]``, from the scenario
    model: :func:`sim.report.assumptions.unit_of`) when known, e.g. "net_benefit_gbp_per_year
    stays above 0 unless value.hours_lost_per_downtime_day is below 0.31 hours per day (19
    minutes; it is 1 hours per day; range 0.25 to 4)"."""
    key, x, target = row["input"], row["switching_value"], row["target"]
    unit = str(row.get("unit") or "")
    if row.get("scale"):
        what, unit = f"{key} (a factor on its values)", ""
    elif row.get("logit"):
        what, unit = f"{key} (a shift of its values on the logit scale)", ""
    else:
        what = key
    good_high = row["high_mean"] > row["low_mean"]
    base_ok = row["base_mean"] >= target
    rng = f"range {row['low_value']:g} to {row['high_value']:g}" + (f" {unit}" if unit else "")
    if x is None or (isinstance(x, float) and math.isnan(x)):
        side = "above" if row["low_mean"] >= target else "below"
        return (
            f"{row['output']} stays {side} {target:g} across the whole {rng} of {what}: "
            "no switching value within the range"
        )
    word = "below" if good_high else "above"
    verb = "stays above" if base_ok else "stays below"
    at = f"{x:.4g} {unit}".rstrip()
    if unit.startswith("hours") and x < 1:  # "0.31 hours per day (19 minutes)"
        at += f" ({x * 60:.0f} minutes)"
    now = f"{row['base_value']:g} {unit}".rstrip()
    return f"{row['output']} {verb} {target:g} unless {what} is {word} {at} (it is {now}; {rng})"


def with_units(switching: pd.DataFrame, unit_of: Callable[[str], str]) -> pd.DataFrame:
    """The switching values with each input's unit (`unit_of` a key, or of the key less its
    last part for a distribution's parameter such as ``service.patience_min.mean``) and their
    sentences in those units."""
    df = switching.copy()
    df["unit"] = [unit_of(k) or unit_of(k.rsplit(".", 1)[0]) for k in df["input"]]
    df["sentence"] = [switching_sentence(row) for row in df.to_dict("records")]
    return df


# --------------------------------------------------------------------------- probabilistic


@dataclass
class Probabilistic:
    ranges: list[Range]
    seed: int
    reps: int
    design: pd.DataFrame  # sample × input value
    results: pd.DataFrame  # sample, replication, output columns

    def sample_means(self, output: str = NET_BENEFIT) -> pd.Series:
        return self.results.groupby("sample")[output].mean()

    def summary(self, output: str = NET_BENEFIT, target: float = 0.0) -> pd.DataFrame:
        """The distribution of the output's mean over the samples: mean, percentile interval,
        P(> target), and how much of its spread is input uncertainty vs simulation noise.

        With r replications at each sample, the variance of the sample means is the input
        variance plus the noise variance ÷ r; the noise variance is the pooled variance within
        samples. So input variance = var(sample means) − pooled within-sample variance ÷ r."""
        means = self.sample_means(output)
        within = self.results.groupby("sample")[output].var(ddof=1)
        noise = float(within.mean()) if self.reps > 1 else math.nan
        between = float(means.var(ddof=1)) if len(means) > 1 else math.nan
        input_var = max(between - noise / self.reps, 0.0) if self.reps > 1 else math.nan
        total = input_var + noise
        tail = (1 - PSA_INTERVAL) / 2
        p = float((means > target).mean())
        n = len(means)
        return pd.DataFrame(
            [
                {
                    "output": output,
                    "samples": n,
                    "replications_per_sample": self.reps,
                    "mean": float(means.mean()),
                    "std": float(means.std(ddof=1)) if n > 1 else math.nan,
                    "interval": PSA_INTERVAL,
                    "p_low": float(means.quantile(tail)),
                    "p_high": float(means.quantile(1 - tail)),
                    "target": target,
                    "p_above_target": p,
                    "p_above_target_se": math.sqrt(p * (1 - p) / n) if n else math.nan,
                    "input_variance": input_var,
                    "noise_variance": noise,
                    "input_share": input_var / total if total > 0 else math.nan,
                    "noise_share": noise / total if total > 0 else math.nan,
                }
            ]
        )

    def importance(self, output: str = NET_BENEFIT) -> pd.DataFrame:
        """Each input's first-order Sobol index for the output's sample means, estimated by
        RBD-FAST (SALib) on the Latin hypercube, with its bootstrap 95 % interval, and its
        Spearman rank correlation with the output; ordered by the index."""
        x = self.design[[r.key for r in self.ranges]].to_numpy(dtype=float)
        y = self.sample_means(output).reindex(self.design.index).to_numpy(dtype=float)
        n = len(y)
        s1 = np.full(len(self.ranges), math.nan)
        conf = np.full(len(self.ranges), math.nan)
        if n >= MIN_PSA_SAMPLES_FOR_IMPORTANCE and np.nanstd(y) > 0:
            from SALib.analyze import rbd_fast  # a heavy import, only when needed

            problem = {
                "num_vars": len(self.ranges),
                "names": [r.key for r in self.ranges],
                "bounds": [
                    [r.low, r.high] if r.high > r.low else [r.low, r.low + 1] for r in self.ranges
                ],
            }
            m = max(1, min(10, (n - 1) // 4))
            with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # bootstraps of few samples
                res = rbd_fast.analyze(problem, x, y, M=m, seed=self.seed)
            s1, conf = np.asarray(res["S1"], float), np.asarray(res["S1_conf"], float)
        rho = [
            float(stats.spearmanr(x[:, i], y).statistic) if np.ptp(x[:, i]) > 0 else math.nan
            for i in range(len(self.ranges))
        ]
        df = pd.DataFrame(
            {
                "output": output,
                "input": [r.key for r in self.ranges],
                "sobol_first_order": s1,
                "sobol_first_order_ci": conf,
                "spearman_rho": rho,
            }
        )
        df["_key"] = df["sobol_first_order"].fillna(-1)
        df = df.sort_values("_key", ascending=False, kind="stable").drop(columns="_key")
        df.insert(2, "rank", range(1, len(df) + 1))
        return df.reset_index(drop=True)


def latin_hypercube(ranges: Sequence[Range], samples: int, seed: int) -> pd.DataFrame:
    """The design: `samples` rows, one column per input, from a Latin hypercube on [0, 1)^d
    (seeded, so the same (seed, samples) gives the same design) mapped through each input's
    distribution between its low and high."""
    u = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng([seed, 14])).random(samples)
    data = {r.key: [r.value_at(float(v)) for v in u[:, j]] for j, r in enumerate(ranges)}
    df = pd.DataFrame(data)
    df.index.name = "sample"
    return df


def probabilistic(
    base: dict[str, Any],
    ranges: Sequence[Range],
    samples: int,
    seed: int,
    reps: int,
    outputs: Sequence[str] = OUTPUTS,
    kpis_only: bool = True,
    **run_options: Any,
) -> Probabilistic:
    """Every sample of the Latin hypercube with `reps` replications of its own: sample i runs
    replications i × PSA_STRIDE + 0 .. reps − 1 at `seed`, so it is reproducible from (seed,
    sample index) and its simulation noise is independent of the other samples' (which the
    split of the spread into input uncertainty and noise assumes). Each sample is a scenario of
    its own that no other command runs, so its replications are measured for their KPIs only
    (`kpis_only`; the same KPI values, about a fifth less work a replication)."""
    design = latin_hypercube(ranges, samples, seed)
    points = [
        scenario_at(base, list(zip(ranges, row, strict=True)), f"psa sample {i}")
        for i, row in enumerate(design.itertuples(index=False, name=None))
    ]
    if reps > PSA_STRIDE:
        raise ValueError(f"at most {PSA_STRIDE:,} replications a sample")
    first = [i * PSA_STRIDE for i in range(len(points))]
    results = _run_points(
        points, seed, reps, outputs, "sensitivity: probabilistic", run_options, first, kpis_only
    )
    frames = []
    for i, wide in enumerate(results):
        df = wide.reset_index()
        df.insert(0, "sample", i)
        frames.append(df)
    return Probabilistic(list(ranges), seed, reps, design, pd.concat(frames, ignore_index=True))


# --------------------------------------------------------------------------- output tables


def ranges_table(ranges: list[Range]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "input": r.key,
                "scale": r.scale,
                "base_value": r.base,
                "low": r.low,
                "high": r.high,
                "dist": r.dist,
                "logit": r.logit,
                "se": r.se,
                "places": len(r.places),
                "reason": r.reason,
            }
            for r in ranges
        ]
    )


def tables(
    ranges: list[Range], oat: OneAtATime, switching: pd.DataFrame, psa: Probabilistic | None
) -> dict[str, pd.DataFrame]:
    out = {
        "ranges.csv": ranges_table(ranges),
        "tornado.csv": oat.tornado(),
        "switching.csv": switching,
        "points.csv": oat.points(),
    }
    if psa is not None:
        design = psa.design.reset_index()
        out["psa_samples.csv"] = design.merge(psa.results, on="sample")
        out["psa_summary.csv"] = pd.concat([psa.summary(o) for o in oat.outputs], ignore_index=True)
        out["psa_importance.csv"] = psa.importance(NET_BENEFIT)
    return out
