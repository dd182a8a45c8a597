"""Per-replication tables: KPIs per site and pooled groups, queue by hour, weekly series, wait
histogram and stock levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, MIN_PER_WEEK, WEEKDAYS
from sim.kpis.ingredients import Ingredients
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
    parts = site_ingredients(scenario, rec)
    kinds = {s.name: s.kind for s in rec.sites}
    return kpi_rows(rec.replication, {**parts, **pooled_ingredients(scenario, parts, kinds)})


def site_ingredients(scenario: Scenario, rec: ReplicationRecord) -> dict[str, Ingredients]:
    """Each site's ingredients, in the record's site order."""
    taken_from = calls_taken_by_catchment(rec, scenario)  # once: every site's share reads it
    return {s.name: ingredients(s, rec, scenario, taken_from) for s in rec.sites}


def pooled_ingredients(
    scenario: Scenario, parts: dict[str, Ingredients], kinds: dict[str, str]
) -> dict[str, Ingredients]:
    """ALL (and, with pop-ups, ALL_DESKS and ALL_POPUPS): the sites' ingredients `parts` (in
    site order: pooling follows it) pooled, the force-wide service-desk calls and programme
    costs applied to ALL."""
    groups = {ALL: list(parts.values())}
    if POPUP in kinds.values():
        groups[ALL_DESKS] = [g for n, g in parts.items() if kinds[n] == DESK]
        groups[ALL_POPUPS] = [g for n, g in parts.items() if kinds[n] == POPUP]
    out = {name: pool(members) for name, members in groups.items()}
    out[ALL]["sd_calls"] *= force_scale(scenario, out[ALL]["population"])
    out[ALL] = programme_costs(out[ALL], scenario)
    return out


def kpi_rows(replication: int, parts: dict[str, Ingredients]) -> pd.DataFrame:
    """Long table: replication, site, metric, value — every KPI of each of `parts`."""
    rows = [
        (replication, site, name, float(kpi.formula(g)))
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
    sites = weekly_sites(scenario, rec)
    population = sum(s.population for s in rec.sites if s.incidents is not None)
    return pd.concat(
        [sites, weekly_all(scenario, rec.replication, sites, population)], ignore_index=True
    )


def weekly_sites(scenario: Scenario, rec: ReplicationRecord) -> pd.DataFrame:
    """The rows of `weekly` for each site."""
    n_weeks = scenario.horizon_weeks
    first = scenario.warmup_weeks
    rows = []
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
        else:
            calls = np.zeros(n_weeks, dtype=int)
        rows += _weekly_rows(rec.replication, s.name, walkins, resolved, calls, first, n_weeks)
    return pd.DataFrame(rows, columns=WEEKLY_COLUMNS)


def weekly_all(
    scenario: Scenario, replication: int, sites: pd.DataFrame, population: int
) -> pd.DataFrame:
    """The ALL rows of `weekly` from its site rows `sites` (every site's, in site order) and
    the population of the catchments modelled."""
    n_weeks = scenario.horizon_weeks
    first = scenario.warmup_weeks
    totals = {}
    for metric in ("walkins", "sd_resolved", "sd_calls"):
        mine = sites[sites["metric"] == metric]
        by_week = mine.groupby("week", sort=True)["value"].sum()  # whole numbers: exact
        totals[metric] = np.zeros(n_weeks)
        totals[metric][by_week.index.to_numpy() - 1] = by_week.to_numpy()
    scaled_calls = totals["sd_calls"] * force_scale(scenario, population)
    rows = _weekly_rows(
        replication, ALL, totals["walkins"], totals["sd_resolved"], scaled_calls, first, n_weeks
    )
    return pd.DataFrame(rows, columns=WEEKLY_COLUMNS)


WEEKLY_COLUMNS = ["replication", "site", "week", "metric", "value"]


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
    return wait_rows(rec.replication, wait_counts(rec))


def wait_counts(rec: ReplicationRecord) -> dict[str, np.ndarray]:
    """Per site, how many visitors seen after the warm-up waited in each band of WAIT_BINS_MIN
    (counts add over sites)."""
    out = {}
    for s in rec.sites:
        v = s.visits
        counted = measured_visits(s, rec)
        start = np.asarray(v.start_min)[counted]
        waits = (start - v.arrive_min[counted])[~np.isnan(start)]
        out[s.name] = np.histogram(waits, bins=np.asarray(WAIT_BINS_MIN, float))[0]
    return out


def wait_rows(replication: int, counts: dict[str, np.ndarray]) -> pd.DataFrame:
    """The rows of `wait_histogram` from each site's band `counts` (in their order), then ALL:
    the counts pooled."""
    names = [*counts, ALL]
    c = np.vstack([*counts.values(), np.sum(list(counts.values()), axis=0)])
    total = c.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, c / np.where(total > 0, total, 1), np.nan)
    edges = np.asarray(WAIT_BINS_MIN, float)
    bands = len(edges) - 1
    return pd.DataFrame(
        {
            "replication": [replication] * (bands * len(names)),
            "site": [n for n in names for _ in range(bands)],
            "wait_from_min": np.tile(edges[:-1], len(names)),
            "wait_to_min": np.tile(edges[1:], len(names)),
            "share": share.ravel(),
        }
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
