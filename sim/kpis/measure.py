"""One site's records reduced to additive ingredients (counts, areas under step functions,
waits), and ingredients pooled over sites."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR
from sim.kpis.ingredients import Ingredients, ShareIngredients, ValueIngredients
from sim.kpis.money import money_ingredients
from sim.kpis.registry import (
    RESOLVED,
)
from sim.model import ReplicationRecord, SiteRecord
from sim.scenario import DEVICES, Scenario
from sim.service import (
    BALKED,
    ESCALATED,
    FIXED,
    NO_DEVICE,
    QUEUEING,
    RENEGED,
    SERVED_OUTCOMES,
    SWAPPED,
    TURNED_AWAY,
)
from sim.stepfn import StepFn


def queue_step(site: SiteRecord, end_min: float) -> StepFn:
    """Number of visitors waiting (walked in, not yet seen, not given up) over time; those
    still waiting when the run stopped (`end_min`) are counted until then."""
    v = site.visits
    arrive = v.arrive_min
    start = np.asarray(v.start_min)
    left = np.asarray(v.left_queue_min)
    outcome = np.asarray(v.outcome)
    leave = np.where(~np.isnan(start), start, np.where(~np.isnan(left), left, end_min))
    queued = (outcome != BALKED) & (leave > arrive)
    return StepFn.from_changes(
        np.r_[arrive[queued], leave[queued]],
        np.r_[np.ones(queued.sum()), -np.ones(queued.sum())],
    )


def busy_step(site: SiteRecord, end_min: float) -> StepFn:
    """Number of engineers serving a visitor over time; a service still going on when the run
    stopped (`end_min`) is counted until then."""
    start = np.asarray(site.visits.start_min)
    end = np.asarray(site.visits.end_min)
    seen = ~np.isnan(start)
    end = np.where(np.isnan(end), end_min, end)[seen]
    return StepFn.from_changes(
        np.r_[start[seen], end], np.r_[np.ones(len(end)), -np.ones(len(end))]
    )


def on_duty_step(site: SiteRecord) -> StepFn:
    """Engineers on duty at the site over time, as it happened: the plan's roster less breaks
    and pop-up duty (an engineer leaves only once the visitor in hand is finished, and is back
    from a pop-up only after its last visitor and the journey)."""
    return StepFn.from_changes(site.duty_times, site.duty_deltas)


def measured_visits(site: SiteRecord, rec: ReplicationRecord) -> np.ndarray:
    """The visits the walk-in KPIs count: those who walked in after the warm-up and before the
    horizon. (Visits made in the run-out after it count only in the share of service-desk
    calls, which goes by when the incident arose.)"""
    arrive = site.visits.arrive_min
    return (arrive >= rec.warmup_min) & (arrive < rec.horizon_min)


def measured_windows(site: SiteRecord, t0: float, t1: float) -> np.ndarray:
    w = site.windows
    w = np.clip(w, t0, t1)
    return w[w[:, 1] > w[:, 0]]


def ingredients(
    site: SiteRecord,
    rec: ReplicationRecord,
    scenario: Scenario,
    taken_from: np.ndarray | None = None,
) -> Ingredients:
    """`taken_from`: `calls_taken_by_catchment(rec, scenario)`, when the caller has it already
    (it is the same for every site of the replication)."""
    t0, t1 = rec.warmup_min, rec.horizon_min
    sl_target_min = scenario.service.sl_target_min
    v = site.visits
    counted = measured_visits(site, rec)
    outcome = np.asarray(v.outcome)[counted]
    waits = (np.asarray(v.start_min) - v.arrive_min)[counted]
    served = np.isin(outcome, SERVED_OUTCOMES)
    left_queue = (np.asarray(v.left_queue_min) - v.arrive_min)[counted]
    gave_up = (outcome == RENEGED) | (outcome == TURNED_AWAY)
    wait_all = np.where(served, waits, np.where(gave_up, left_queue, 0.0))
    decided = outcome != QUEUEING  # still queueing when the run stopped: wait not known
    waits = waits[served]

    windows = measured_windows(site, t0, t1)
    open_fn = StepFn.indicator(windows)
    queue = queue_step(site, rec.end_min)
    qw = queue * open_fn
    busy_w = busy_step(site, rec.end_min) * open_fn
    on_duty_w = on_duty_step(site) * open_fn

    first = np.column_stack(
        [windows[:, 0], np.minimum(windows[:, 0] + MIN_PER_HOUR, windows[:, 1])]
    )
    first_fn = StepFn.indicator(first)
    overtime_sum, open_days = _overtime(site, windows, t1)
    value = _value_ingredients(site, counted, scenario)
    if taken_from is None:
        taken_from = calls_taken_by_catchment(rec, scenario)
    share = _share_ingredients(site, rec, counted, scenario, taken_from)
    escalated_devices = (outcome == ESCALATED) & (np.asarray(v.device)[counted] != NO_DEVICE)
    money = money_ingredients(
        site,
        rec,
        scenario,
        int(escalated_devices.sum()),
        value["value_saved_gbp"],
        share["resolved_here"],
    )
    return {
        "walkins": int(counted.sum()),
        "served": int(served.sum()),
        "balked": int((outcome == BALKED).sum()),
        "reneged": int((outcome == RENEGED).sum()),
        "turned_away": int((outcome == TURNED_AWAY).sum()),
        "queueing_end": int((outcome == QUEUEING).sum()),
        "within_target": int((waits <= sl_target_min).sum()),
        "wait_all_sum": float(wait_all[decided].sum()),
        "wait_all_n": int(decided.sum()),
        "fixed": int((outcome == FIXED).sum()),
        "swapped": int((outcome == SWAPPED).sum()),
        "escalated": int((outcome == ESCALATED).sum()),
        "completed": int(np.isin(outcome, (FIXED, SWAPPED, ESCALATED)).sum()),
        "waits": waits,
        "queue_area": float(qw.integral(t0, t1)),
        "open_time": float(open_fn.integral(t0, t1)),
        "queue_max": qw.max_on(t0, t1),  # while open, as the definition says
        "busy_area": float(busy_w.integral(t0, t1)),
        "on_duty_area": float(on_duty_w.integral(t0, t1)),
        "first_hour_area": float((queue * first_fn).integral(t0, t1)),
        "first_hour_time": float(first_fn.integral(t0, t1)),
        "overtime_sum": overtime_sum,
        "open_days": open_days,
        "stockouts": int(np.asarray(v.stockout, dtype=bool)[counted].sum()),
        **value,
        **share,
        **money,
    }


def downtime_saved_days(site: SiteRecord, from_logged: bool = False) -> np.ndarray:
    """Per visitor: service-desk resolution time minus downtime with Tech Bars, in days.

    Resolved at the desk: downtime is fault → end of visit. Escalated, balked, reneged or turned
    away: the service-desk route still follows, so the time spent on the Tech Bar is lost.
    With `from_logged` (``readings.downtime_from = "logged"``) downtime is counted from when the
    ticket is logged — the walk-in — instead of from the fault.
    NaN while the visit is unfinished at the horizon or the category has no baseline.
    """
    v = site.visits
    outcome = np.asarray(v.outcome)
    end = np.asarray(v.end_min)
    left = np.asarray(v.left_queue_min)
    spent_min = np.select(
        [
            np.isin(outcome, RESOLVED + (ESCALATED,)),
            outcome == BALKED,
            np.isin(outcome, (RENEGED, TURNED_AWAY)),
        ],
        [end, v.arrive_min, left],
        np.nan,
    ) - (v.arrive_min if from_logged else v.incident_min)
    spent_days = spent_min / MIN_PER_DAY
    saved = np.where(np.isin(outcome, RESOLVED), v.baseline_days - spent_days, -spent_days)
    return np.where(np.isnan(v.baseline_days), np.nan, saved)


def _value_ingredients(
    site: SiteRecord, counted: np.ndarray, scenario: Scenario
) -> ValueIngredients:
    v = site.visits
    readings = scenario.readings
    saved = downtime_saved_days(site, from_logged=readings.downtime_from == "logged")
    ticket = counted & ~v.induced & ~np.isnan(saved)
    if readings.tickets == "resolved":
        ticket &= np.isin(np.asarray(v.outcome), RESOLVED)
    out: dict[str, float] = {"saved_days": float(saved[ticket].sum()), "tickets": int(ticket.sum())}
    for k, d in enumerate(DEVICES):
        mine = ticket & (v.device == k)
        out[f"saved_days_{d}"] = float(saved[mine].sum())
        out[f"tickets_{d}"] = int(mine.sum())
    if readings.tickets != "walkins" or readings.downtime_from != "fault":  # money: every ticket
        full = downtime_saved_days(site)
        total = float(full[counted & ~v.induced & ~np.isnan(full)].sum())
    else:
        total = out["saved_days"]
    hours = total * scenario.value.hours_lost_per_downtime_day
    out["officer_hours_saved"] = hours
    out["value_saved_gbp"] = hours * scenario.value.gbp_per_officer_hour
    return cast(ValueIngredients, out)  # per-device keys are made from DEVICES


def taken(scenario: Scenario, outcome: Any) -> np.ndarray:
    """Visits that count as service calls taken (``readings.share_calls``): resolved at the
    desk, or every visit handled (resolved or escalated)."""
    kinds = RESOLVED if scenario.readings.share_calls == "resolved" else RESOLVED + (ESCALATED,)
    return np.isin(np.asarray(outcome), kinds)


def calls_taken_by_catchment(rec: ReplicationRecord, scenario: Scenario) -> np.ndarray:
    """Service-desk calls taken (see `taken`) of incidents that arose after the warm-up, by
    the site where they were seen (rows, in `rec.sites` order) and the catchment whose users
    they were (columns, the same order)."""
    n = len(rec.sites)
    out = np.zeros((n, n), dtype=int)
    for i, r in enumerate(rec.sites):
        v = r.visits
        mine = _arose(v, rec) & taken(scenario, v.outcome)
        out[i] = np.bincount(v.catchment[mine], minlength=n)
    return out


def _share_ingredients(
    site: SiteRecord,
    rec: ReplicationRecord,
    counted: np.ndarray,
    scenario: Scenario,
    taken_from: np.ndarray,
) -> ShareIngredients:
    """Numerator and denominator of sd_share_taken for one catchment: its users' incidents
    taken by a Tech Bar (here, or at a desk they travelled to; resolved, or handled, as
    ``readings.share_calls`` says) over its users' incidents the
    service desk would have had, both by when the incident arose. Also the incidents resolved
    here (whoever's users) and the walk-ins who travelled here from another catchment.
    `taken_from` is `calls_taken_by_catchment` of the replication."""
    index = next(i for i, r in enumerate(rec.sites) if r.name == site.name)
    # its users may be seen here or at the desk they can reach
    resolved_sd = int(taken_from[:, index].sum())
    v = site.visits
    if site is not rec.sites[index]:  # a part of the site's record (one weekday): its own
        theirs = (v.catchment == index) & _arose(v, rec) & taken(scenario, v.outcome)
        resolved_sd += int(theirs.sum()) - int(taken_from[index, index])  # visits as cut
    out: ShareIngredients = {
        "resolved_sd": resolved_sd,
        "resolved_here": int((_arose(v, rec) & np.isin(np.asarray(v.outcome), RESOLVED)).sum()),
        "walkins_travelled": int((counted & (v.catchment != index)).sum()),
        "sd_calls": 0,
        "population": 0,
    }
    tally = site.incidents
    if tally is not None:  # None: walk-ins given as a rate, no catchment and no share
        in_period = tally.incident_min >= rec.warmup_min
        out["sd_calls"] = int((in_period & tally.would_call_service_desk).sum())
        out["population"] = site.population
    return out


def _arose(v, rec: ReplicationRecord) -> np.ndarray:
    """Visits of incidents that arose after the warm-up and would have been service-desk calls
    (not induced)."""
    return (v.incident_min >= rec.warmup_min) & ~v.induced


def _overtime(site: SiteRecord, windows: np.ndarray, t1: float) -> tuple[float, int]:
    """Σ over opening windows (within the horizon `t1`) of (last service end of that window's
    walk-ins − closing time)⁺, the service ends taken up to the horizon."""
    if len(windows) == 0:
        return 0.0, 0
    v = site.visits
    end = np.minimum(np.asarray(v.end_min), t1)
    done = ~np.isnan(end) & (v.arrive_min < t1)
    w = np.searchsorted(windows[:, 0], v.arrive_min[done], side="right") - 1
    ok = w >= 0
    last = np.full(len(windows), -np.inf)
    np.maximum.at(last, w[ok], end[done][ok])
    return float(np.maximum(last - windows[:, 1], 0).sum()), len(windows)


def pool(parts: list[Ingredients]) -> Ingredients:
    """Ingredients of several sites as one: waits are concatenated, the largest queue kept,
    and every other (additive) ingredient summed."""
    special: dict[str, Callable[[list[Any]], Any]] = {
        "waits": np.concatenate,
        "queue_max": max,
    }
    pooled = {k: special.get(k, sum)([p[k] for p in parts]) for k in parts[0]}  # type: ignore[literal-required]
    return cast(Ingredients, pooled)


def force_scale(scenario: Scenario, modelled_population: int) -> float:
    """Factor from the modelled catchments' service-desk calls to the whole force's."""
    users = scenario.demand.force_users
    if scenario.readings.share_of == "served":
        return 1.0
    if users is None or modelled_population <= 0 or users <= modelled_population:
        return 1.0
    return users / modelled_population


def on_weekday(site: SiteRecord, weekday: int) -> SiteRecord:
    """The site's record cut to one weekday (0 = Monday): its opening windows that begin on that
    weekday and the visitors who walked in on it, so that `ingredients` of the cut gives the
    KPIs of that weekday alone (for rosters that differ by weekday)."""
    windows = _by_day(site.windows)
    windows = windows[(windows[:, 0] // MIN_PER_DAY).astype(int) % 7 == weekday]
    v = site.visits
    keep = (v.arrive_min // MIN_PER_DAY).astype(int) % 7 == weekday
    return _cut(site, keep, windows)


def on_weekday_hour(site: SiteRecord, weekday: int, hour: int) -> SiteRecord:
    """The site's record cut to one clock hour of one weekday: the visitors who walked in then
    and its opening windows clipped to that hour (for targets held in every opening hour)."""
    windows = _by_day(site.windows)
    windows = windows[(windows[:, 0] // MIN_PER_DAY).astype(int) % 7 == weekday]
    day0 = windows[:, 0] // MIN_PER_DAY * MIN_PER_DAY
    lo = np.maximum(windows[:, 0], day0 + hour * MIN_PER_HOUR)
    hi = np.minimum(windows[:, 1], day0 + (hour + 1) * MIN_PER_HOUR)
    windows = np.column_stack([lo, hi])[lo < hi].reshape(-1, 2)
    v = site.visits
    keep = ((v.arrive_min // MIN_PER_DAY).astype(int) % 7 == weekday) & (
        (v.arrive_min % MIN_PER_DAY) // MIN_PER_HOUR == hour
    )
    return _cut(site, keep, windows)


def opening_hours(site: SiteRecord, weekday: int) -> list[int]:
    """Clock hours in which the site's opening windows beginning on `weekday` are open."""
    windows = _by_day(site.windows)
    windows = windows[(windows[:, 0] // MIN_PER_DAY).astype(int) % 7 == weekday]
    hours: set[int] = set()
    for a, b in windows:
        day0 = a // MIN_PER_DAY * MIN_PER_DAY
        first, last = int((a - day0) // MIN_PER_HOUR), int(np.ceil((b - day0) / MIN_PER_HOUR))
        hours.update(range(first, min(last, 24)))
    return sorted(hours)


def _cut(site: SiteRecord, keep: np.ndarray, windows: np.ndarray) -> SiteRecord:
    """The site's record with the visitors in `keep` and opening `windows` alone."""
    v = site.visits
    visits = copy.copy(v)
    for f in dataclasses.fields(v):
        x = getattr(v, f.name)
        if x is None:
            continue
        setattr(
            visits,
            f.name,
            np.asarray(x)[keep]
            if isinstance(x, np.ndarray)
            else [y for y, k in zip(x, keep, strict=True) if k],
        )
    return dataclasses.replace(site, visits=visits, windows=windows)


def _by_day(windows: np.ndarray) -> np.ndarray:
    """Windows cut at midnight (a desk open around the clock has one window a week)."""
    out = []
    for a, b in np.asarray(windows, float).reshape(-1, 2):
        while a < b:
            cut = min(b, (a // MIN_PER_DAY + 1) * MIN_PER_DAY)
            out.append((a, cut))
            a = cut
    return np.asarray(out, float).reshape(-1, 2)
