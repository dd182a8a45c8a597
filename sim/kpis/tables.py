"""Per-replication tables: KPIs per site and pooled groups, queue by hour, weekly series, wait
histogram and stock levels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, MIN_PER_WEEK, WEEKDAYS
from sim.kpis.measure import (
    calls_taken_by_catchment,
    force_scale,
    ingredients,
    measured_visits,
    measured_windows,
    on_weekday,
    on_weekday_hour,
    opening_hours,
    pool,
    queue_step,
    taken,
)
from sim.kpis.money import programme_costs
from sim.kpis.registry import (
    ALL,
    ALL_DESKS,
    ALL_POPUPS,
    KPIS,
)
from sim.model import DESK, POPUP, ReplicationRecord
from sim.scenario import DEVICES, Scenario
from sim.stepfn import StepFn


def replication_kpis(scenario: Scenario, rec: ReplicationRecord) -> pd.DataFrame:
    """Long table: replication, site, metric, value — one row per desk and pop-up location,
    then ALL; with pop-ups, also ALL_DESKS and ALL_POPUPS (the same KPIs pooled by kind)."""
    taken_from = calls_taken_by_catchment(rec, scenario)  # once: every site's share reads it
    parts = {s.name: ingredients(s, rec, scenario, taken_from) for s in rec.sites}
    groups = {ALL: list(parts.values())}
    kinds = {s.name: s.kind for s in rec.sites}
    if POPUP in kinds.values():
        groups[ALL_DESKS] = [g for n, g in parts.items() if kinds[n] == DESK]
        groups[ALL_POPUPS] = [g for n, g in parts.items() if kinds[n] == POPUP]
    for name, members in groups.items():
        parts[name] = pool(members)
    parts[ALL]["sd_calls"] *= force_scale(scenario, parts[ALL]["population"])
    parts[ALL] = programme_costs(parts[ALL], scenario)
    rows = [
        (rec.replication, site, name, float(kpi.formula(g)))
        for site, g in parts.items()
        for name, kpi in KPIS.items()
    ]
    return pd.DataFrame(rows, columns=["replication", "site", "metric", "value"])


def weekday_kpis(
    scenario: Scenario, rec: ReplicationRecord, metrics: list[str] | None = None
) -> pd.DataFrame:
    """Long table: replication, site, day, metric, value — each permanent desk's KPIs (all, or
    `metrics`) on each weekday it opens, from the visitors who walked in that weekday and its
    opening windows that began on it. The formulas are the KPIs' own."""
    names = list(KPIS) if metrics is None else metrics
    taken_from = calls_taken_by_catchment(rec, scenario)  # once, not per desk and weekday
    rows = []
    for s in rec.sites:
        if s.kind != DESK:
            continue
        site = next(x for x in scenario.sites if x.name == s.name)
        for d in site.day_indices:
            g = ingredients(on_weekday(s, d), rec, scenario, taken_from)
            rows += [
                (rec.replication, s.name, WEEKDAYS[d], m, float(KPIS[m].formula(g))) for m in names
            ]
    return pd.DataFrame(rows, columns=["replication", "site", "day", "metric", "value"])


def hourly_kpis(
    scenario: Scenario, rec: ReplicationRecord, metrics: list[str], sites: set[str]
) -> pd.DataFrame:
    """Long table: replication, site, day, hour, metric, value — the KPIs `metrics` of each of
    `sites` (desks or pop-ups) in each clock hour it is open on each weekday, from the visitors
    who walked in during that hour. The formulas are the KPIs' own."""
    rows = []
    for s in rec.sites:
        if s.name not in sites:
            continue
        for d in range(7):
            for h in opening_hours(s, d):
                g = ingredients(on_weekday_hour(s, d, h), rec, scenario)
                rows += [
                    (rec.replication, s.name, WEEKDAYS[d], h, m, float(KPIS[m].formula(g)))
                    for m in metrics
                ]
    return pd.DataFrame(rows, columns=["replication", "site", "day", "hour", "metric", "value"])


def queue_by_hour(rec: ReplicationRecord) -> pd.DataFrame:
    """Time-weighted mean number waiting in each clock hour while the desk is open."""
    t0, t1 = rec.warmup_min, rec.horizon_min
    edges = np.arange(t0, t1 + MIN_PER_HOUR, MIN_PER_HOUR)
    hour = ((edges[:-1] % MIN_PER_DAY) // MIN_PER_HOUR).astype(int)
    rows = []
    for s in rec.sites:
        open_fn = StepFn.indicator(measured_windows(s, t0, t1))
        qw = queue_step(s, rec.end_min) * open_fn
        q_area = np.bincount(hour, np.diff(qw.cumulative(edges)), minlength=24)
        o_area = np.bincount(hour, np.diff(open_fn.cumulative(edges)), minlength=24)
        for h in np.flatnonzero(o_area > 0):
            rows.append((rec.replication, s.name, int(h), q_area[h] / o_area[h]))
    return pd.DataFrame(rows, columns=["replication", "site", "hour", "queue_len_mean"])


def weekly(scenario: Scenario, rec: ReplicationRecord) -> pd.DataFrame:
    """Week by week, per desk and ALL: walk-ins (by week of visit) and sd_share_taken (by week
    the incidents arose, of the catchment's users wherever seen) with its numerator
    (sd_resolved) and denominator (sd_calls, force-wide for ALL), so the adoption ramp is
    visible."""
    n_weeks = scenario.horizon_weeks
    first = scenario.warmup_weeks
    rows = []
    totals: dict[str, Any] = {"walkins": 0, "resolved": 0, "calls": 0}
    population = 0
    # calls taken, by the catchment whose users they were (wherever seen) and week of incident
    by_catchment = np.zeros((len(rec.sites), n_weeks + 1), dtype=int)
    for s in rec.sites:
        v = s.visits
        mask = ~v.induced & taken(scenario, v.outcome)
        week = np.minimum((v.incident_min[mask] // MIN_PER_WEEK).astype(int), n_weeks)
        np.add.at(by_catchment, (v.catchment[mask], week), 1)
    for i, s in enumerate(rec.sites):
        v = s.visits
        walkins = np.bincount((v.arrive_min // MIN_PER_WEEK).astype(int), minlength=n_weeks)
        resolved = by_catchment[i]
        if s.incidents is not None:
            calls = s.incidents.sd_calls_by_week(n_weeks)
            population += s.population
        else:
            calls = np.zeros(n_weeks, dtype=int)
        rows += _weekly_rows(rec.replication, s.name, walkins, resolved, calls, first, n_weeks)
        totals["walkins"] = totals["walkins"] + walkins[:n_weeks]
        totals["resolved"] = totals["resolved"] + resolved[:n_weeks]
        totals["calls"] = totals["calls"] + calls
    scaled_calls = totals["calls"] * force_scale(scenario, population)
    rows += _weekly_rows(
        rec.replication, ALL, totals["walkins"], totals["resolved"], scaled_calls, first, n_weeks
    )
    return pd.DataFrame(rows, columns=["replication", "site", "week", "metric", "value"])


def _weekly_rows(rep, site, walkins, resolved, calls, first, n_weeks):
    rows = []
    for w in range(first, n_weeks):
        share = resolved[w] / calls[w] if calls[w] > 0 else float("nan")
        rows += [
            (rep, site, w + 1, "walkins", float(walkins[w])),
            (rep, site, w + 1, "sd_resolved", float(resolved[w])),
            (rep, site, w + 1, "sd_calls", float(calls[w])),
            (rep, site, w + 1, "sd_share_taken", float(share)),
        ]
    return rows


WAIT_BINS_MIN = (0, 1, 5, 10, 15, 20, 30, 45, 60, 90, 120, np.inf)


def wait_histogram(rec: ReplicationRecord) -> pd.DataFrame:
    """Share of visitors seen (after the warm-up) whose wait fell in each band, per site and for
    ALL: the wait distribution, comparable across replications."""
    rows = []
    pooled: list[np.ndarray] = []
    edges = np.asarray(WAIT_BINS_MIN, float)
    for s in [*rec.sites, None]:
        if s is None:
            waits, name = np.concatenate(pooled) if pooled else np.empty(0), ALL
        else:
            v = s.visits
            counted = measured_visits(s, rec)
            start = np.asarray(v.start_min)[counted]
            waits, name = (start - v.arrive_min[counted])[~np.isnan(start)], s.name
            pooled.append(waits)
        counts, _ = np.histogram(waits, bins=edges)
        share = counts / counts.sum() if counts.sum() else np.full(len(counts), np.nan)
        for lo, hi, x in zip(edges[:-1], edges[1:], share, strict=True):
            rows.append((rec.replication, name, float(lo), float(hi), float(x)))
    return pd.DataFrame(
        rows, columns=["replication", "site", "wait_from_min", "wait_to_min", "share"]
    )


def stock_levels(rec: ReplicationRecord) -> pd.DataFrame:
    """Time-weighted mean swap units on hand per week, per desk and device type."""
    weeks = np.arange(0, rec.horizon_min + 1, MIN_PER_WEEK)
    rows = []
    for s in rec.sites:
        if s.kind != DESK:
            continue  # pop-ups draw on their home desk's pools
        for device, stock_pool in zip(DEVICES, s.stock, strict=True):
            if stock_pool.base_stock == 0:
                continue
            level = StepFn.from_changes(
                np.asarray(stock_pool.log_time), np.diff(np.r_[0, stock_pool.log_on_hand])
            )
            weekly_mean = np.diff(level.cumulative(weeks)) / MIN_PER_WEEK
            for w, x in enumerate(weekly_mean):
                rows.append((rec.replication, s.name, device, w + 1, float(x)))
    return pd.DataFrame(rows, columns=["replication", "site", "device", "week", "on_hand"])
