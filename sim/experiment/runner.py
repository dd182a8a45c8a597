"""Replications: run them (here, on a process pool or a Dask cluster, with results kept in a
store) and summarise with 95 % t-intervals.

Each replication is a pure function of (scenario, seed, replication index), so results are the
same whichever worker ran which replication; they are put back in replication order before
anything is summarised.

The results store is an optimisation, never a point of failure: an entry that cannot be read
back exactly is recomputed, and a store that cannot be written is reported in one warning line
(`ResultStore.save`) and the run goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, fields
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from sim.experiment.executors import default_workers, open_executor
from sim.experiment.store import JobId, ResultStore, job_id
from sim.kpis import queue_by_hour, replication_kpis, stock_levels, wait_histogram, weekly
from sim.model import ReplicationRecord, run_replication
from sim.scenario import Scenario
from sim.trace import event_log

CONFIDENCE = 0.95
Progress = bool | Callable[[int, int], None]  # a terminal bar, or a (done, total) callback


@dataclass
class ReplicationOutput:
    replication: int
    kpis: pd.DataFrame
    queue_by_hour: pd.DataFrame
    weekly: pd.DataFrame
    waits: pd.DataFrame
    stock: pd.DataFrame
    trace: pd.DataFrame | None


@dataclass
class RunOutput:
    scenario: Scenario
    seed: int
    replications: int
    kpis: pd.DataFrame  # replication, site, metric, value
    queue_by_hour: pd.DataFrame  # replication, site, hour, queue_len_mean
    weekly: pd.DataFrame  # replication, site, week, metric, value
    waits: pd.DataFrame  # replication, site, wait_from_min, wait_to_min, share
    stock: pd.DataFrame  # replication, site, device, week, on_hand
    trace: pd.DataFrame | None

    def summary(self) -> pd.DataFrame:
        s = summarise(self.kpis, ["site", "metric"], "value")
        s.insert(0, "scenario", self.scenario.name)
        return s

    def weekly_series(self) -> pd.DataFrame:
        s = summarise(self.weekly, ["site", "week", "metric"], "value")
        start = pd.Timestamp(self.scenario.start_date)
        s.insert(3, "week_start", (start + pd.to_timedelta((s["week"] - 1) * 7, "D")).dt.date)
        s.insert(0, "scenario", self.scenario.name)
        return s

    def wait_distribution(self) -> pd.DataFrame:
        s = summarise(self.waits, ["site", "wait_from_min", "wait_to_min"], "share")
        s.insert(0, "scenario", self.scenario.name)
        return s

    def stock_on_hand(self) -> pd.DataFrame:
        s = summarise(self.stock, ["site", "device", "week"], "on_hand")
        s.insert(0, "scenario", self.scenario.name)
        return s

    def queue_profile(self) -> pd.DataFrame:
        s = summarise(self.queue_by_hour, ["site", "hour"], "queue_len_mean")
        s.insert(0, "scenario", self.scenario.name)
        return s


def one_replication(
    scenario: Scenario, seed: int, replication: int, trace: bool = False
) -> ReplicationOutput:
    return measured(scenario, run_replication(scenario, seed, replication), trace)


def measured(scenario: Scenario, rec: ReplicationRecord, trace: bool = False) -> ReplicationOutput:
    """A replication's records as its output tables, with `scenario`'s KPI formulas and inputs."""
    return ReplicationOutput(
        replication=rec.replication,
        kpis=replication_kpis(scenario, rec),
        queue_by_hour=queue_by_hour(rec),
        weekly=weekly(scenario, rec),
        waits=wait_histogram(rec),
        stock=stock_levels(rec),
        trace=event_log(rec) if trace else None,
    )


STORED_TABLES = tuple(
    f.name for f in fields(ReplicationOutput) if f.name not in ("replication", "trace")
)


def stored_tables(out: ReplicationOutput) -> dict[str, pd.DataFrame]:
    """What the store keeps of a replication: its tables (never the trace)."""
    return {name: getattr(out, name) for name in STORED_TABLES}


def from_stored(job: JobId, tables: dict[str, pd.DataFrame]) -> ReplicationOutput | None:
    """The replication back from its stored tables, or None unless they are exactly the tables
    of `job`'s replication."""
    if set(tables) != set(STORED_TABLES):
        return None
    for df in tables.values():
        if "replication" in df.columns and not (df["replication"] == job.replication).all():
            return None
    return ReplicationOutput(replication=job.replication, trace=None, **tables)


@dataclass(frozen=True)
class Job:
    scenario: Scenario
    seed: int
    replication: int


def run_jobs(
    jobs: list[Job],
    workers: int | None = None,
    dask: str | None = None,
    store: ResultStore | None = None,
    trace: bool = False,
    progress: Progress = False,
    desc: str = "replications",
) -> list[ReplicationOutput]:
    """Run jobs (results from the store where it has them), returned in the order given.
    `progress`: True for a bar on the terminal, or a function called with (done, total) after
    each job (served from the store or run); an exception it raises stops the run."""
    results: list[ReplicationOutput | None] = [None] * len(jobs)
    live_store = store if not trace else None  # traces are never stored
    ids = (
        [job_id(j.scenario, j.seed, j.replication) for j in jobs] if live_store is not None else []
    )
    todo = []
    for i in range(len(jobs)):
        cached = _read(live_store, ids[i]) if live_store is not None else None
        if cached is None:
            todo.append(i)
        else:
            results[i] = cached
    bar = tqdm(
        total=len(jobs),
        initial=len(jobs) - len(todo),
        desc=desc,
        unit="rep",
        disable=progress is not True,
    )
    report = progress if callable(progress) else None
    if report is not None:
        report(len(jobs) - len(todo), len(jobs))

    def done(i: int, out: ReplicationOutput) -> None:
        if live_store is not None:
            live_store.save(ids[i], stored_tables(out))
        results[i] = out
        bar.update()
        if report is not None:
            report(sum(r is not None for r in results), len(jobs))

    with bar:
        if todo:
            n_workers = min(workers or default_workers(), len(todo)) if dask is None else None
            with open_executor(n_workers, dask) as pool:
                if pool is None:
                    for i in todo:
                        j = jobs[i]
                        done(i, one_replication(j.scenario, j.seed, j.replication, trace))
                else:
                    futures = {
                        pool.submit(
                            one_replication,
                            jobs[i].scenario,
                            jobs[i].seed,
                            jobs[i].replication,
                            trace,
                        ): i
                        for i in todo
                    }
                    for f in as_completed(futures):
                        done(futures[f], f.result())
    assert all(r is not None for r in results)  # every job done or served
    return cast(list[ReplicationOutput], results)


def _read(store: ResultStore, job: JobId) -> ReplicationOutput | None:
    tables = store.get(job)
    return None if tables is None else from_stored(job, tables)


def assemble(scenario: Scenario, seed: int, outs: list[ReplicationOutput]) -> RunOutput:
    outs = sorted(outs, key=lambda o: o.replication)
    has_trace = all(o.trace is not None for o in outs)
    return RunOutput(
        scenario=scenario,
        seed=seed,
        replications=len(outs),
        kpis=pd.concat([o.kpis for o in outs], ignore_index=True),
        queue_by_hour=pd.concat([o.queue_by_hour for o in outs], ignore_index=True),
        weekly=pd.concat([o.weekly for o in outs], ignore_index=True),
        waits=pd.concat([o.waits for o in outs], ignore_index=True),
        stock=pd.concat([o.stock for o in outs], ignore_index=True),
        trace=pd.concat([o.trace for o in outs], ignore_index=True) if has_trace else None,
    )


def run(
    scenario: Scenario,
    seed: int,
    replications: int,
    workers: int | None = None,
    trace: bool = False,
    progress: Progress = False,
    dask: str | None = None,
    store: ResultStore | None = None,
) -> RunOutput:
    """Run `replications` replications; results do not depend on `workers` or the executor."""
    jobs = [Job(scenario, seed, r) for r in range(replications)]
    outs = run_jobs(jobs, workers, dask, store, trace, progress, desc=scenario.name)
    return assemble(scenario, seed, outs)


def summarise(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, sample std, 95 % t-interval and n (non-missing replications) per group."""
    order = df[keys].drop_duplicates()
    g = df.groupby(keys, sort=False)[value]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    half = (
        stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(out["n"] - 1, 1))
        * out["std"]
        / np.sqrt(out["n"])
    )
    half = half.where(out["n"] > 1)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out = order.merge(out, on=keys, how="left")
    return out[[*keys, "mean", "std", "ci_low", "ci_high", "n"]]
