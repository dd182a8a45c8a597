"""Replications: run them (here, on a process pool or a Dask cluster, with results kept in a
store) and summarise with 95 % t-intervals.

Each replication is a pure function of (scenario, seed, replication index), so results are the
same whichever worker ran which replication; they are put back in replication order before
anything is summarised.

Jobs are (scenario, seed, replication); the work is (component × scenario × replication): each
scenario is split into its components, which are simulated alone (once, however many jobs share
one) or read from the store, and each replication's tables are assembled from its components'
(`sim.experiment.components`), identical to simulating the scenario whole. So a what-if that
changes one desk re-simulates that desk's component only when its base is in the store.

The results store is an optimisation, never a point of failure: an entry that cannot be read
back exactly is recomputed, and a store that cannot be written is reported in one warning line
(`ResultStore.save`, `ResultStore.filed`) and the run goes on without it. On a local process
pool each worker files the entries of what it simulated (entries are written to a temporary
file and renamed, so concurrent writers are safe) and tells the parent whether it could, so the
parent, which shares the cores with the workers, spends no time encoding entries; on a Dask
cluster, whose workers may be on other machines, the parent files them. Each job is assembled
from its components as soon as they are all in, while the workers go on with the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, fields
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from sim.experiment import components
from sim.experiment.executors import default_workers, open_executor
from sim.experiment.store import JobId, ResultStore, Store
from sim.kpis import queue_by_hour, replication_kpis, stock_levels, wait_histogram, weekly
from sim.model import ReplicationRecord, run_replication
from sim.scenario import Scenario
from sim.trace import event_log

CONFIDENCE = 0.95


@dataclass
class ReplicationOutput:
    replication: int
    kpis: pd.DataFrame
    queue_by_hour: pd.DataFrame
    weekly: pd.DataFrame
    waits: pd.DataFrame
    stock: pd.DataFrame
    trace: pd.DataFrame | None
    measured: dict[str, pd.DataFrame] = field(default_factory=dict)  # `SiteMeasures` tables


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
    f.name for f in fields(ReplicationOutput) if f.name not in ("replication", "trace", "measured")
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


@dataclass(frozen=True)
class _Wanted:
    """A component replication a run needs: what to simulate, and the store entries it is
    filed under (its own tables under `jid`; with `measures`, theirs under `mid`)."""

    jid: JobId
    mid: JobId | None
    component: Scenario
    seed: int
    replication: int
    measures: components.SiteMeasures | None

    @property
    def args(self) -> tuple:
        """What `simulate_component` is called with."""
        base = (self.component, self.seed, self.replication)
        return base if self.measures is None else (*base, self.measures)

    def entries(self, out: dict[str, pd.DataFrame]) -> list[tuple[JobId, dict[str, pd.DataFrame]]]:
        """The store entries of the simulated tables `out`."""
        filed = [(self.jid, {n: out[n] for n in components.COMPONENT_TABLES})]
        if self.mid is not None and self.measures is not None:
            filed.append((self.mid, {n: out[n] for n in self.measures.tables}))
        return filed


ProgressFn = Callable[[int, int], None]  # (simulations done or served, of how many)


def run_jobs(
    jobs: list[Job],
    workers: int | None = None,
    dask: str | None = None,
    store: Store | None = None,
    trace: bool = False,
    progress: bool = False,
    desc: str = "replications",
    on_progress: ProgressFn | None = None,
    measures: components.SiteMeasures | None = None,
) -> list[ReplicationOutput]:
    """Run jobs, returned in the order given. Each job's scenario is split into its components
    (`sim.experiment.components`); each (component, seed, replication) is simulated once —
    however many jobs share it — unless the store has it, and every job's tables are assembled
    from its components'. With `measures`, each job's output also has those tables
    (`ReplicationOutput.measured`), kept in the store beside the component's own. With `trace`,
    whole replications are simulated (and never stored)."""
    if trace:
        if measures is not None:
            raise ValueError("measures are taken of components, not of traced replications")
        return _run_whole(jobs, workers, dask, progress, desc)
    splits: dict[int, list[tuple[Scenario, components.ComponentKey]]] = {}
    wanted: dict[str, _Wanted] = {}  # entry key → what to simulate and where to file it
    needs: list[list[str]] = []  # each job's components' entry keys, in component order
    first: dict[str, tuple[int, int]] = {}  # entry key → (first job needing it, − its sites)
    for n, j in enumerate(jobs):
        if id(j.scenario) not in splits:
            splits[id(j.scenario)] = [
                (c, components.component_key(c)) for c in components.split(j.scenario)
            ]
        keys = []
        for c, ckey in splits[id(j.scenario)]:
            jid = ckey.job(j.seed, j.replication)
            if jid.key not in wanted:
                mine = None if measures is None else measures.of(c)
                mid = None if mine is None else ckey.measures_job(mine, j.seed, j.replication)
                wanted[jid.key] = _Wanted(jid, mid, c, j.seed, j.replication, mine)
                first[jid.key] = (n, -len(components.site_order(c)))
            keys.append(jid.key)
        needs.append(keys)
    tables = {}
    for key, e in wanted.items():
        if store is None:
            break
        got = store.get(e.jid)
        if got is None or not components.is_component_tables(got, e.replication):
            continue
        if e.mid is not None and e.measures is not None:
            extra = store.get(e.mid)
            if extra is None or not components.is_component_tables(
                extra, e.replication, e.measures.tables
            ):
                continue
            got = got | extra
        tables[key] = got
    # job by job, so that each job is assembled while the workers go on with the next; each
    # job's largest components first, so that those finishing last, when a worker may have
    # nothing left to do, are small
    todo = sorted((k for k in wanted if k not in tables), key=first.__getitem__)
    total = len(wanted)
    bar = tqdm(total=total, initial=total - len(todo), desc=desc, unit="sim", disable=not progress)
    if on_progress is not None:
        on_progress(total - len(todo), total)

    outs: list[ReplicationOutput | None] = [None] * len(jobs)
    waiting = [len(set(keys)) for keys in needs]  # each job's components not yet in `tables`
    users: dict[str, list[int]] = {}
    for i, keys in enumerate(needs):
        for k in set(keys):
            users.setdefault(k, []).append(i)

    def ready(key: str) -> None:
        """The entry `key` is in `tables`: assemble each job it completes (while the workers
        go on with the rest)."""
        for i in users[key]:
            waiting[i] -= 1
            if waiting[i] == 0:
                outs[i] = _assembled(jobs[i], [tables[k] for k in needs[i]], measures)

    def done(
        key: str, out: dict[str, pd.DataFrame], by_worker: bool = False, error: str | None = None
    ) -> None:
        """`out` simulated for the entry `key`: filed in the store here, or, `by_worker`, filed
        by the worker that simulated it (`error`: why it could not be, for the warning)."""
        if isinstance(store, ResultStore) and by_worker:
            for job, t in wanted[key].entries(out):
                store.filed(job, t, error)
        elif store is not None:
            for job, t in wanted[key].entries(out):
                store.save(job, t)
        tables[key] = out
        ready(key)
        bar.update()
        if on_progress is not None:
            on_progress(len(tables), total)

    for i, w in enumerate(waiting):
        if w == 0:  # a job of no components (a scenario with no sites)
            outs[i] = _assembled(jobs[i], [], measures)
    for key in [k for k in wanted if k in tables]:
        ready(key)
    with bar:
        if todo:
            n_workers = min(workers or default_workers(), len(todo)) if dask is None else None
            with open_executor(n_workers, dask) as pool:
                if pool is None:
                    for k in todo:
                        done(k, components.simulate_component(*wanted[k].args))
                elif workers_file(pool, store):
                    # local workers file their own entries: the parent only collects them
                    root = str(cast(ResultStore, store).root)
                    filing = {pool.submit(_simulate_and_file, root, wanted[k]): k for k in todo}
                    for g in as_completed(filing):
                        out, error = g.result()
                        done(filing[g], out, by_worker=True, error=error)
                else:
                    futures = {
                        pool.submit(components.simulate_component, *wanted[k].args): k for k in todo
                    }
                    for f in as_completed(futures):
                        done(futures[f], f.result())
    assert all(o is not None for o in outs)  # every job assembled
    return cast(list[ReplicationOutput], outs)


def _assembled(
    job: Job, parts: list[dict[str, pd.DataFrame]], measures: components.SiteMeasures | None
) -> ReplicationOutput:
    """A job's output from its components' tables (in component order)."""
    return ReplicationOutput(
        replication=job.replication,
        trace=None,
        **components.assemble(job.scenario, job.replication, parts),
        measured={}
        if measures is None
        else components.assemble_measures(job.scenario, measures, parts),
    )


def workers_file(pool: Executor, store: Store | None) -> bool:
    """Whether the pool's workers file their results in the store themselves: processes on
    this machine (not a Dask cluster's, which may be elsewhere) writing a results store that
    can still be written. Entries are written to a temporary file and renamed, so concurrent
    writers are safe; the parent then spends no time encoding entries while workers simulate."""
    return (
        isinstance(pool, ProcessPoolExecutor)
        and isinstance(store, ResultStore)
        and store.unwritable is None
    )


def _simulate_and_file(root: str, wanted: _Wanted) -> tuple[dict[str, pd.DataFrame], str | None]:
    """In a pool worker: simulate `wanted` and file its tables in the results store at `root`;
    the tables and None, or why they could not be filed (the parent reports it)."""
    out = components.simulate_component(*wanted.args)
    return out, ResultStore(root).put_or_error(wanted.entries(out))


def _run_whole(
    jobs: list[Job], workers: int | None, dask: str | None, progress: bool, desc: str
) -> list[ReplicationOutput]:
    """Whole replications (with their event logs), in the order given."""
    results: list[ReplicationOutput | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc=desc, unit="rep", disable=not progress)
    with bar:
        n_workers = min(workers or default_workers(), len(jobs)) if dask is None else None
        with open_executor(n_workers, dask) as pool:
            if pool is None:
                for i, j in enumerate(jobs):
                    results[i] = one_replication(j.scenario, j.seed, j.replication, True)
                    bar.update()
            else:
                futures = {
                    pool.submit(one_replication, j.scenario, j.seed, j.replication, True): i
                    for i, j in enumerate(jobs)
                }
                for f in as_completed(futures):
                    results[futures[f]] = f.result()
                    bar.update()
    assert all(r is not None for r in results)  # every job done
    return cast(list[ReplicationOutput], results)


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
    progress: bool = False,
    dask: str | None = None,
    store: ResultStore | None = None,
    on_progress: ProgressFn | None = None,
) -> RunOutput:
    """Run `replications` replications; results do not depend on `workers` or the executor."""
    jobs = [Job(scenario, seed, r) for r in range(replications)]
    outs = run_jobs(
        jobs, workers, dask, store, trace, progress, desc=scenario.name, on_progress=on_progress
    )
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
