"""Replications: run them (in this process or a process pool) and summarise with 95 % t-intervals.

Each replication is a pure function of (scenario, seed, replication index), so results are the
same whichever worker ran which replication; they are put back in replication order before
anything is summarised.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from tqdm import tqdm

from sim.kpis import queue_by_hour, replication_kpis, weekly
from sim.model import run_replication
from sim.scenario import Scenario
from sim.trace import event_log

CONFIDENCE = 0.95


@dataclass
class ReplicationOutput:
    replication: int
    kpis: pd.DataFrame
    queue_by_hour: pd.DataFrame
    weekly: pd.DataFrame
    trace: pd.DataFrame | None


@dataclass
class RunOutput:
    scenario: Scenario
    seed: int
    replications: int
    kpis: pd.DataFrame  # replication, site, metric, value
    queue_by_hour: pd.DataFrame  # replication, site, hour, queue_len_mean
    weekly: pd.DataFrame  # replication, site, week, metric, value
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

    def queue_profile(self) -> pd.DataFrame:
        s = summarise(self.queue_by_hour, ["site", "hour"], "queue_len_mean")
        s.insert(0, "scenario", self.scenario.name)
        return s


def one_replication(
    scenario: Scenario, seed: int, replication: int, trace: bool = False
) -> ReplicationOutput:
    rec = run_replication(scenario, seed, replication)
    return ReplicationOutput(
        replication=replication,
        kpis=replication_kpis(scenario, rec),
        queue_by_hour=queue_by_hour(rec),
        weekly=weekly(scenario, rec),
        trace=event_log(rec) if trace else None,
    )


def default_workers() -> int:
    return os.cpu_count() or 1


def run(
    scenario: Scenario,
    seed: int,
    replications: int,
    workers: int | None = None,
    trace: bool = False,
    progress: bool = False,
) -> RunOutput:
    """Run `replications` replications; results do not depend on `workers`."""
    workers = min(workers or default_workers(), replications)
    bar = tqdm(total=replications, desc=f"{scenario.name}", unit="rep", disable=not progress)
    with bar:
        if workers <= 1:
            outs = []
            for r in range(replications):
                outs.append(one_replication(scenario, seed, r, trace))
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                outs = list(_gather(pool, scenario, seed, range(replications), trace, bar))
    outs.sort(key=lambda o: o.replication)
    return RunOutput(
        scenario=scenario,
        seed=seed,
        replications=replications,
        kpis=pd.concat([o.kpis for o in outs], ignore_index=True),
        queue_by_hour=pd.concat([o.queue_by_hour for o in outs], ignore_index=True),
        weekly=pd.concat([o.weekly for o in outs], ignore_index=True),
        trace=pd.concat([o.trace for o in outs], ignore_index=True) if trace else None,
    )


def _gather(
    pool: Executor, scenario: Scenario, seed: int, reps: Iterable[int], trace: bool, bar: tqdm
):
    futures = [pool.submit(one_replication, scenario, seed, r, trace) for r in reps]
    for f in as_completed(futures):
        bar.update()
        yield f.result()


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
