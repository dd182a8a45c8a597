"""Records → KPIs. Each KPI is defined here once, with its unit and meaning.

A replication's records are first reduced, per desk, to additive *ingredients* (counts, areas
under step functions, lists of waits). Each KPI is a formula on ingredients, so the force-wide
``ALL`` row applies the same formula to the ingredients of all desks pooled.

Only visitors who walk in after the warm-up count, and time-weighted KPIs cover
[warm-up end, horizon).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, MIN_PER_WEEK
from sim.model import DESK, POPUP, ReplicationRecord, SiteRecord
from sim.scenario import DEVICES, Scenario
from sim.service import (
    BALKED,
    ESCALATED,
    FIXED,
    QUEUEING,
    RENEGED,
    SERVED_OUTCOMES,
    SWAPPED,
    TURNED_AWAY,
)
from sim.stepfn import StepFn

ALL = "ALL"
ALL_DESKS, ALL_POPUPS = "ALL_DESKS", "ALL_POPUPS"
HOURS_PER_DAY = 24
RESOLVED = (FIXED, SWAPPED)


@dataclass(frozen=True)
class KPI:
    name: str
    unit: str
    meaning: str
    formula: Callable[[dict], float]


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _get(key: str) -> Callable[[dict], float]:
    return lambda g: g[key]


def _quantile(waits: np.ndarray, q: float) -> float:
    return float(np.quantile(waits, q)) if len(waits) else float("nan")


KPIS: dict[str, KPI] = {
    k.name: k
    for k in [
        KPI("walkins", "visitors", "visitors who walked in to the desk", lambda g: g["walkins"]),
        KPI("served", "visitors", "visitors seen by an engineer", lambda g: g["served"]),
        KPI(
            "balked",
            "visitors",
            "visitors who left at once on seeing the queue",
            lambda g: g["balked"],
        ),
        KPI("reneged", "visitors", "visitors who gave up waiting", lambda g: g["reneged"]),
        KPI(
            "turned_away",
            "visitors",
            "visitors still queueing at closing time who were sent away",
            lambda g: g["turned_away"],
        ),
        KPI(
            "wait_mean_min",
            "min",
            "mean wait from walking in to being seen, of those seen",
            lambda g: float(np.mean(g["waits"])) if len(g["waits"]) else float("nan"),
        ),
        KPI(
            "wait_p90_min",
            "min",
            "90th percentile of wait, of those seen",
            lambda g: _quantile(g["waits"], 0.90),
        ),
        KPI(
            "wait_p95_min",
            "min",
            "95th percentile of wait, of those seen",
            lambda g: _quantile(g["waits"], 0.95),
        ),
        KPI(
            "service_level",
            "share",
            "share of visitors seen within the service-level target wait; those who balked, "
            "reneged or were turned away count as not seen in time",
            lambda g: _ratio(g["within_target"], g["walkins"] - g["queueing_end"]),
        ),
        KPI(
            "queue_len_mean",
            "visitors",
            "time-weighted mean number waiting (not yet seen) while the desk is open",
            lambda g: _ratio(g["queue_area"], g["open_time"]),
        ),
        KPI(
            "queue_len_first_hour",
            "visitors",
            "time-weighted mean number waiting in the first hour after each opening (the "
            "overnight, or week-long for a pop-up, build-up)",
            lambda g: _ratio(g["first_hour_area"], g["first_hour_time"]),
        ),
        KPI(
            "queue_len_max",
            "visitors",
            "largest number waiting at any moment",
            lambda g: g["queue_max"],
        ),
        KPI(
            "utilisation",
            "share",
            "engineer time spent serving while open ÷ engineer time on duty while open (the "
            "roster less breaks and pop-up duty)",
            lambda g: _ratio(g["busy_area"], g["on_duty_area"]),
        ),
        KPI(
            "overtime_min",
            "min per open day",
            "mean time past closing until the last visitor of the day is seen to",
            lambda g: _ratio(g["overtime_sum"], g["open_days"]),
        ),
        KPI(
            "ftf_rate",
            "share",
            "first-time fix: visits ending fixed on site or with a swap, of visits completed",
            lambda g: _ratio(g["fixed"] + g["swapped"], g["completed"]),
        ),
        KPI(
            "escalated",
            "visitors",
            "visits ending on the return-to-base route: not fixed and not swapped",
            lambda g: g["escalated"],
        ),
        KPI("swaps", "visitors", "visits ending with a device swapped from stock", _get("swapped")),
        KPI(
            "stockouts",
            "visitors",
            "visits needing a swap when no unit of that device was on hand (sent return-to-base)",
            _get("stockouts"),
        ),
        KPI(
            "fill_rate",
            "share",
            "swaps ÷ visits needing a swap (swaps + stock-outs)",
            lambda g: _ratio(g["swapped"], g["swapped"] + g["stockouts"]),
        ),
        KPI(
            "downtime_saved_h",
            "h",
            "total time walk-in tickets were resolved sooner than by the service desk: per "
            "ticket, its service-desk resolution time minus (fault → walk-in + wait + service, "
            "plus the service-desk time when escalated, balked or reneged)",
            lambda g: g["saved_days"] * HOURS_PER_DAY,
        ),
        KPI(
            "downtime_saved_days_per_ticket",
            "days",
            "mean downtime saved per walk-in ticket (induced demand excluded)",
            lambda g: _ratio(g["saved_days"], g["tickets"]),
        ),
        *[
            KPI(
                f"downtime_saved_days_per_ticket_{d}",
                "days",
                f"mean downtime saved per walk-in ticket about a {d}",
                lambda g, d=d: _ratio(g[f"saved_days_{d}"], g[f"tickets_{d}"]),
            )
            for d in DEVICES
        ],
        KPI(
            "officer_hours_saved",
            "h",
            "productive officer-hours saved: days of downtime saved × value.hours_lost_per_"
            "downtime_day (an assumption)",
            _get("officer_hours_saved"),
        ),
        KPI(
            "value_saved_gbp",
            "£",
            "officer_hours_saved × value.gbp_per_officer_hour (an assumption)",
            _get("value_saved_gbp"),
        ),
        KPI(
            "sd_share_taken",
            "share",
            "incidents resolved at a Tech Bar (fixed or swapped; induced demand excluded) ÷ all "
            "incidents the service desk would have had without Tech Bars; for ALL, force-wide",
            lambda g: _ratio(g["resolved_sd"], g["sd_calls"]),
        ),
    ]
}


def queue_step(site: SiteRecord, horizon_min: float) -> StepFn:
    """Number of visitors waiting (walked in, not yet seen, not given up) over time."""
    v = site.visits
    arrive = v.arrive_min
    start = np.asarray(v.start_min)
    left = np.asarray(v.left_queue_min)
    outcome = np.asarray(v.outcome)
    leave = np.where(~np.isnan(start), start, np.where(~np.isnan(left), left, horizon_min))
    queued = (outcome != BALKED) & (leave > arrive)
    return StepFn.from_changes(
        np.r_[arrive[queued], leave[queued]],
        np.r_[np.ones(queued.sum()), -np.ones(queued.sum())],
    )


def busy_step(site: SiteRecord, horizon_min: float) -> StepFn:
    """Number of engineers serving a visitor over time."""
    start = np.asarray(site.visits.start_min)
    end = np.asarray(site.visits.end_min)
    seen = ~np.isnan(start)
    end = np.where(np.isnan(end), horizon_min, end)[seen]
    return StepFn.from_changes(
        np.r_[start[seen], end], np.r_[np.ones(len(end)), -np.ones(len(end))]
    )


def on_duty_step(site: SiteRecord) -> StepFn:
    """Engineers on duty at the desk over time: the roster less breaks and pop-up duty, as
    actually taken (an engineer leaves only once the visitor in hand is finished)."""
    off = StepFn.from_changes(site.off_duty_times, site.off_duty_deltas)
    return StepFn(off.times, site.capacity - off.values, before=float(site.capacity))


def measured_windows(site: SiteRecord, t0: float, t1: float) -> np.ndarray:
    w = site.windows
    w = np.clip(w, t0, t1)
    return w[w[:, 1] > w[:, 0]]


def ingredients(site: SiteRecord, rec: ReplicationRecord, scenario: Scenario) -> dict:
    t0, t1 = rec.warmup_min, rec.horizon_min
    sl_target_min = scenario.service.sl_target_min
    v = site.visits
    counted = v.arrive_min >= t0
    outcome = np.asarray(v.outcome)[counted]
    waits = (np.asarray(v.start_min) - v.arrive_min)[counted]
    served = np.isin(outcome, SERVED_OUTCOMES)
    waits = waits[served]

    windows = measured_windows(site, t0, t1)
    open_fn = StepFn.indicator(windows)
    queue = queue_step(site, t1)
    qw = queue * open_fn
    busy_w = busy_step(site, t1) * open_fn
    on_duty_w = on_duty_step(site) * open_fn

    first = np.column_stack(
        [windows[:, 0], np.minimum(windows[:, 0] + MIN_PER_HOUR, windows[:, 1])]
    )
    first_fn = StepFn.indicator(first)
    overtime_sum, open_days = _overtime(site, windows)
    return {
        "walkins": int(counted.sum()),
        "served": int(served.sum()),
        "balked": int((outcome == BALKED).sum()),
        "reneged": int((outcome == RENEGED).sum()),
        "turned_away": int((outcome == TURNED_AWAY).sum()),
        "queueing_end": int((outcome == QUEUEING).sum()),
        "within_target": int((waits <= sl_target_min).sum()),
        "fixed": int((outcome == FIXED).sum()),
        "swapped": int((outcome == SWAPPED).sum()),
        "escalated": int((outcome == ESCALATED).sum()),
        "completed": int(np.isin(outcome, (FIXED, SWAPPED, ESCALATED)).sum()),
        "waits": waits,
        "queue_area": float(qw.integral(t0, t1)),
        "open_time": float(open_fn.integral(t0, t1)),
        "queue_max": queue.max_on(t0, t1),
        "busy_area": float(busy_w.integral(t0, t1)),
        "on_duty_area": float(on_duty_w.integral(t0, t1)),
        "first_hour_area": float((queue * first_fn).integral(t0, t1)),
        "first_hour_time": float(first_fn.integral(t0, t1)),
        "overtime_sum": overtime_sum,
        "open_days": open_days,
        "stockouts": int(np.asarray(v.stockout, dtype=bool)[counted].sum()),
        **_value_ingredients(site, counted, scenario),
        **_share_ingredients(site, rec, counted),
    }


def downtime_saved_days(site: SiteRecord) -> np.ndarray:
    """Per visitor: service-desk resolution time minus downtime with Tech Bars, in days.

    Resolved at the desk: downtime is fault → end of visit. Escalated, balked, reneged or turned
    away: the service-desk route still follows, so the time spent on the Tech Bar is lost.
    NaN while the visit is unfinished at the horizon or the category has no baseline.
    """
    v = site.visits
    outcome = np.asarray(v.outcome)
    end = np.asarray(v.end_min)
    left = np.asarray(v.left_queue_min)
    spent_min = (
        np.select(
            [
                np.isin(outcome, RESOLVED + (ESCALATED,)),
                outcome == BALKED,
                np.isin(outcome, (RENEGED, TURNED_AWAY)),
            ],
            [end, v.arrive_min, left],
            np.nan,
        )
        - v.incident_min
    )
    spent_days = spent_min / MIN_PER_DAY
    saved = np.where(np.isin(outcome, RESOLVED), v.baseline_days - spent_days, -spent_days)
    return np.where(np.isnan(v.baseline_days), np.nan, saved)


def _value_ingredients(site: SiteRecord, counted: np.ndarray, scenario: Scenario) -> dict:
    v = site.visits
    saved = downtime_saved_days(site)
    ticket = counted & ~v.induced & ~np.isnan(saved)
    out = {"saved_days": float(saved[ticket].sum()), "tickets": int(ticket.sum())}
    for k, d in enumerate(DEVICES):
        mine = ticket & (v.device == k)
        out[f"saved_days_{d}"] = float(saved[mine].sum())
        out[f"tickets_{d}"] = int(mine.sum())
    hours = out["saved_days"] * scenario.value.hours_lost_per_downtime_day
    out["officer_hours_saved"] = hours
    out["value_saved_gbp"] = hours * scenario.value.gbp_per_officer_hour
    return out


def _share_ingredients(site: SiteRecord, rec: ReplicationRecord, counted: np.ndarray) -> dict:
    """Numerator and denominator of sd_share_taken for one catchment."""
    v = site.visits
    resolved = counted & ~v.induced & np.isin(np.asarray(v.outcome), RESOLVED)
    tally, population = site.incidents, site.population
    if tally is None:  # walk-ins given as a rate: no catchment, no share
        return {"resolved_sd": int(resolved.sum()), "sd_calls": 0, "population": 0}
    in_period = tally.incident_min >= rec.warmup_min
    sd_calls = in_period & tally.would_call_service_desk
    return {
        "resolved_sd": int(resolved.sum()),
        "sd_calls": int(sd_calls.sum()),
        "population": population,
    }


def _overtime(site: SiteRecord, windows: np.ndarray) -> tuple[float, int]:
    """Σ over opening windows of (last service end of that window's walk-ins − closing time)⁺."""
    if len(windows) == 0:
        return 0.0, 0
    v = site.visits
    end = np.asarray(v.end_min)
    done = ~np.isnan(end)
    w = np.searchsorted(windows[:, 0], v.arrive_min[done], side="right") - 1
    ok = w >= 0
    last = np.full(len(windows), -np.inf)
    np.maximum.at(last, w[ok], end[done][ok])
    return float(np.maximum(last - windows[:, 1], 0).sum()), len(windows)


def pool(parts: list[dict]) -> dict:
    """Ingredients of several sites as one: waits are concatenated, the largest queue kept,
    and every other (additive) ingredient summed."""
    special = {
        "waits": lambda xs: np.concatenate(xs),
        "queue_max": max,
    }
    return {k: special.get(k, sum)([p[k] for p in parts]) for k in parts[0]}


def force_scale(scenario: Scenario, modelled_population: int) -> float:
    """Factor from the modelled catchments' service-desk calls to the whole force's."""
    users = scenario.demand.force_users
    if users is None or modelled_population <= 0 or users <= modelled_population:
        return 1.0
    return users / modelled_population


def replication_kpis(scenario: Scenario, rec: ReplicationRecord) -> pd.DataFrame:
    """Long table: replication, site, metric, value — one row per desk and pop-up location,
    then ALL; with pop-ups, also ALL_DESKS and ALL_POPUPS (the same KPIs pooled by kind)."""
    parts = {s.name: ingredients(s, rec, scenario) for s in rec.sites}
    groups = {ALL: list(parts.values())}
    kinds = {s.name: s.kind for s in rec.sites}
    if POPUP in kinds.values():
        groups[ALL_DESKS] = [g for n, g in parts.items() if kinds[n] == DESK]
        groups[ALL_POPUPS] = [g for n, g in parts.items() if kinds[n] == POPUP]
    for name, members in groups.items():
        parts[name] = pool(members)
    parts[ALL]["sd_calls"] *= force_scale(scenario, parts[ALL]["population"])
    rows = [
        (rec.replication, site, name, float(kpi.formula(g)))
        for site, g in parts.items()
        for name, kpi in KPIS.items()
    ]
    return pd.DataFrame(rows, columns=["replication", "site", "metric", "value"])


def queue_by_hour(rec: ReplicationRecord) -> pd.DataFrame:
    """Time-weighted mean number waiting in each clock hour while the desk is open."""
    t0, t1 = rec.warmup_min, rec.horizon_min
    edges = np.arange(t0, t1 + MIN_PER_HOUR, MIN_PER_HOUR)
    hour = ((edges[:-1] % MIN_PER_DAY) // MIN_PER_HOUR).astype(int)
    rows = []
    for s in rec.sites:
        open_fn = StepFn.indicator(measured_windows(s, t0, t1))
        qw = queue_step(s, t1) * open_fn
        q_area = np.bincount(hour, np.diff(qw.cumulative(edges)), minlength=24)
        o_area = np.bincount(hour, np.diff(open_fn.cumulative(edges)), minlength=24)
        for h in np.flatnonzero(o_area > 0):
            rows.append((rec.replication, s.name, int(h), q_area[h] / o_area[h]))
    return pd.DataFrame(rows, columns=["replication", "site", "hour", "queue_len_mean"])


def kpi_table() -> pd.DataFrame:
    """Every KPI's name, unit and meaning (for the README, reports and the terminal)."""
    return pd.DataFrame(
        [(k.name, k.unit, k.meaning) for k in KPIS.values()], columns=["metric", "unit", "meaning"]
    )


def weekly(scenario: Scenario, rec: ReplicationRecord) -> pd.DataFrame:
    """Week by week, per desk and ALL: walk-ins (by week of visit) and sd_share_taken (by week
    the incidents arose) with its numerator (sd_resolved) and denominator (sd_calls, force-wide
    for ALL), so the adoption ramp is visible."""
    n_weeks = scenario.horizon_weeks
    first = scenario.warmup_weeks
    rows = []
    totals = {"walkins": 0, "resolved": 0, "calls": 0}
    population = 0
    for s in rec.sites:
        v = s.visits
        walkins = np.bincount((v.arrive_min // MIN_PER_WEEK).astype(int), minlength=n_weeks)
        resolved_mask = ~v.induced & np.isin(np.asarray(v.outcome), RESOLVED)
        resolved = np.bincount(
            (v.incident_min[resolved_mask] // MIN_PER_WEEK).astype(int), minlength=n_weeks
        )
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
    pooled = []
    edges = np.asarray(WAIT_BINS_MIN, float)
    for s in [*rec.sites, None]:
        if s is None:
            waits, name = np.concatenate(pooled) if pooled else np.empty(0), ALL
        else:
            v = s.visits
            counted = v.arrive_min >= rec.warmup_min
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
        for device, pool in zip(DEVICES, s.stock, strict=True):
            if pool.base_stock == 0:
                continue
            level = StepFn.from_changes(
                np.asarray(pool.log_time), np.diff(np.r_[0, pool.log_on_hand])
            )
            weekly_mean = np.diff(level.cumulative(weeks)) / MIN_PER_WEEK
            for w, x in enumerate(weekly_mean):
                rows.append((rec.replication, s.name, device, w + 1, float(x)))
    return pd.DataFrame(rows, columns=["replication", "site", "device", "week", "on_hand"])
