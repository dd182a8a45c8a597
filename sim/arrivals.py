"""Incidents per catchment and the walk-ins they become.

Incidents arise around the clock from a Poisson process whose rate varies by hour of day and
weekday. They are generated in bulk with numpy (one Poisson count per hour of the horizon), and
channel choice and deferral are decided in bulk too: only the incidents that reach a desk ever
cost SimPy events.

Everything random about an incident — its category, its channel draw, the time of day of a
deferred visit, and, should it walk in, its tier, service time, patience, fix draw and swap
handover, and its service-desk baseline — is drawn when the incident is generated, from streams
keyed to its catchment, in incident order. The same incident therefore has the same draws whatever
the staffing, propensity, pop-up schedule or opening hours: every comparison between scenarios is
paired incident by incident (common random numbers).

Channels:
- walk-in: the user goes to the place they can reach soonest — one open now, else the one opening
  first — among those opening within their deferral limits (``demand.max_defer_h``,
  ``demand.popup_max_defer_h``); a deferred visit falls at a time of day drawn from the hour
  profile within opening hours, or soon after opening (``demand.deferred_visit``);
- service desk: the user never walks in (propensity, adoption, or a desk too long closed);
- induced incidents that do not walk in are never raised at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, MIN_PER_WEEK
from sim.plan import desk_windows, first_day, popup_windows, run_out_min
from sim.scenario import Popup, Scenario, Site
from sim.streams import Streams

WEEKS_PER_YEAR = 365.25 / 7
HOURS_PER_WEEK = 168

# incident channels, as counted in IncidentTally
CH_WALKIN, CH_SERVICE_DESK, CH_NOT_RAISED = 0, 1, 2


@dataclass(frozen=True)
class Walkins:
    """The walk-ins at one desk, sorted by arrival time (clock minutes)."""

    time_min: np.ndarray
    incident_min: np.ndarray  # when the fault arose (≤ time_min)
    catchment: np.ndarray  # whose users they are: the catchment's index (scenario order)
    category: np.ndarray  # index into scenario.categories
    induced: np.ndarray  # bool
    baseline_days: np.ndarray  # service-desk resolution time the incident would have had
    tier: np.ndarray  # index into scenario.tiers
    service_min: np.ndarray  # engineer time to see the visitor (before any swap)
    patience_min: np.ndarray  # time they wait before giving up (inf: no reneging)
    swap_min: np.ndarray  # extra engineer time if their device is swapped
    fix_draw: np.ndarray  # uniform, compared with the fix probability

    def __len__(self) -> int:
        return len(self.time_min)


DRAWN = ("baseline_days", "tier", "service_min", "patience_min", "swap_min", "fix_draw")
"""The incident's own draws a walk-in carries (fields of both IncidentDraws and Walkins)."""


@dataclass(frozen=True)
class IncidentDraws:
    """Every random attribute of each incident of a catchment, in incident order."""

    channel_u: np.ndarray  # uniform, compared with propensity × adoption
    visit_u: np.ndarray  # uniform, the time of day of a deferred visit (by inverse CDF)
    baseline_days: np.ndarray
    tier: np.ndarray
    service_min: np.ndarray
    patience_min: np.ndarray
    swap_min: np.ndarray
    fix_draw: np.ndarray


def draw_incidents(
    scenario: Scenario, name: str, category: np.ndarray, streams: Streams
) -> IncidentDraws:
    """Draw each incident's attributes from streams keyed to the catchment `name`.

    Each attribute has a stream of its own with one draw per incident (service times: one stream
    per tier, one draw per incident of that tier), so no attribute shifts another, and a change
    that only alters which incidents walk in, or where, leaves every incident's draws alone.
    Tiers are chosen by inverse CDF, so a change of tier shares moves as few incidents as it can.
    """
    n = len(category)
    tiers = list(scenario.tiers.items())
    share = np.cumsum([t.share for _, t in tiers])
    u_tier = streams(f"tier/{name}").uniform(0, 1, n)
    tier = np.minimum(np.searchsorted(share / share[-1], u_tier, side="right"), len(tiers) - 1)
    service = np.empty(n)
    for k, (tier_name, t) in enumerate(tiers):
        mine = tier == k
        service[mine] = t.service_min.sample(streams(f"service/{name}/{tier_name}"), mine.sum())
    spec = scenario.service.patience_min
    patience = np.full(n, np.inf) if spec is None else spec.sample(streams(f"patience/{name}"), n)
    return IncidentDraws(
        channel_u=streams(f"channel/{name}").uniform(0, 1, n),
        visit_u=streams(f"visit_time/{name}").uniform(0, 1, n),
        baseline_days=baseline_days(scenario, category, streams(f"baseline/{name}")),
        tier=tier,
        service_min=service,
        patience_min=patience,
        swap_min=scenario.service.swap_min.sample(streams(f"swap/{name}"), n),
        fix_draw=streams(f"outcome/{name}").uniform(0, 1, n),
    )


@dataclass(frozen=True)
class IncidentTally:
    """Incidents arising in a catchment over the horizon, by category × channel (counts)."""

    counts: np.ndarray  # shape (n_categories, 3): walk-in, service desk, not raised
    incident_min: np.ndarray  # every incident's time, for weekly series
    category: np.ndarray
    channel: np.ndarray
    would_call_service_desk: np.ndarray  # bool: not induced demand, and not censored
    censored: np.ndarray  # bool: its user would visit after the run-out (outcome unknown)

    def sd_calls_by_week(self, n_weeks: int) -> np.ndarray:
        """Incidents that would have been service-desk calls, by week of the incident."""
        week = (self.incident_min[self.would_call_service_desk] // MIN_PER_WEEK).astype(int)
        return np.bincount(week, minlength=n_weeks)[:n_weeks]


def hour_of_week_weights(scenario: Scenario) -> np.ndarray:
    """Share of a week's incidents arising in each of its 168 hours (sums to 1)."""
    d = scenario.demand
    w = np.outer(np.asarray(d.weekday_weights, float), np.asarray(d.hour_weights, float)).ravel()
    return w / w.sum()


class Catchment(Protocol):
    """Users attached to a desk or a pop-up location."""

    @property
    def name(self) -> str: ...
    @property
    def population(self) -> int: ...
    @property
    def fleet(self) -> Mapping[Any, int]: ...
    @property
    def opened(self) -> dt.date | None: ...


def annual_incidents(scenario: Scenario, site: Catchment) -> np.ndarray:
    """Expected incidents per year in a catchment, by category."""
    out = []
    for cat in scenario.categories.values():
        if cat.rate_per_user_year is not None:
            out.append(site.population * cat.rate_per_user_year)
        else:
            assert cat.device is not None and cat.rate_per_device_year is not None  # schema
            out.append(site.fleet.get(cat.device, 0) * cat.rate_per_device_year)
    return np.asarray(out, float)


def adoption(scenario: Scenario, site: Catchment, t_min: np.ndarray) -> np.ndarray:
    """Share of full walk-in propensity reached at clock times `t_min` (adoption ramp)."""
    a = scenario.demand.adoption
    if a.full_after_weeks == 0 or a.start >= 1:
        return np.ones_like(t_min)
    opened = site.opened or scenario.start_date
    weeks_before = (scenario.start_date - opened).days / 7
    age_weeks = np.maximum(t_min / MIN_PER_WEEK + weeks_before, 0)
    return a.start + (1 - a.start) * np.minimum(age_weeks / a.full_after_weeks, 1)


def poisson_times(rng: np.random.Generator, rate_per_hour: np.ndarray, n_hours: int) -> np.ndarray:
    """Sorted event times (minutes) of a Poisson process whose rate is constant within each hour;
    `rate_per_hour` repeats cyclically over `n_hours`."""
    reps = -(-n_hours // len(rate_per_hour))
    rates = np.tile(rate_per_hour, reps)[:n_hours]
    counts = rng.poisson(rates)
    starts = np.repeat(np.arange(n_hours, dtype=float) * MIN_PER_HOUR, counts)
    return np.sort(starts + rng.uniform(0, MIN_PER_HOUR, len(starts)))


def time_of_day_offsets(
    u: np.ndarray, hour_weights: Sequence[float], open_min: int, close_min: int
) -> np.ndarray:
    """Minutes after opening, by inverse CDF of uniforms `u`, from the hour-of-day profile
    restricted to [open, close)."""
    edges = np.unique(
        np.concatenate([[open_min, close_min], np.arange(0, MIN_PER_DAY + 1, MIN_PER_HOUR)])
    )
    edges = edges[(edges >= open_min) & (edges <= close_min)]
    dens = np.asarray(hour_weights, float)[(edges[:-1] // MIN_PER_HOUR).astype(int)]
    mass = dens * np.diff(edges)
    if mass.sum() <= 0:  # profile is zero while open: spread evenly
        mass = np.diff(edges).astype(float)
    cdf = np.concatenate([[0.0], np.cumsum(mass) / mass.sum()])
    return np.interp(u, cdf, edges) - open_min


def rush_offsets(u: np.ndarray, mean_min: float, open_min: int, close_min: int) -> np.ndarray:
    """Minutes after opening, by inverse CDF of uniforms `u`, from an exponential with mean
    `mean_min` truncated to the opening hours: an opening rush."""
    tail = -np.expm1(-(close_min - open_min) / mean_min)  # P(offset < opening hours)
    return -mean_min * np.log1p(-u * tail)


def baseline_days(scenario: Scenario, category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each incident's service-desk resolution time (days), from its category's distribution:
    the counterfactual for downtime saved (NaN where the category gives none)."""
    out = np.full(len(category), np.nan)
    for k, cat in enumerate(scenario.categories.values()):
        mine = category == k
        if cat.sd_resolution_days is not None and mine.any():
            out[mine] = cat.sd_resolution_days.sample(rng, int(mine.sum()))
    return out


@dataclass(frozen=True)
class VisitOption:
    """Somewhere a catchment's users can walk in: a desk or a pop-up's weekly visits."""

    target: str  # the site (desk or pop-up) where the visit happens
    windows: np.ndarray  # its opening windows, clock minutes, over the horizon + 1 week
    open_min: int  # time of day it opens / closes, for the time of a deferred visit
    close_min: int
    max_defer_min: float  # longest a user waits for it to open
    from_min: float = 0.0  # incidents before this (its opening date) cannot use it


def population_walkins(
    scenario: Scenario,
    catchment: Catchment,
    options: list[VisitOption],
    streams: Streams,
    index: int = 0,
) -> tuple[dict[str, Walkins], IncidentTally]:
    """Incidents in a catchment over the horizon and the walk-ins they produce at each option.

    A user who wants to walk in goes to the option they can reach soonest (open now, else the
    first to open within its deferral limit; on a tie, the first in the order given); with none,
    the incident goes to the service desk.
    """
    n_hours = scenario.horizon_weeks * HOURS_PER_WEEK
    per_year = annual_incidents(scenario, catchment)
    categories = list(scenario.categories.values())
    n_cat = len(categories)
    name = catchment.name
    rng = streams(f"arrivals/{name}")
    if per_year.sum() > 0:
        rate_how = per_year.sum() / WEEKS_PER_YEAR * hour_of_week_weights(scenario)
        t = poisson_times(rng, rate_how, n_hours)
        cat = rng.choice(n_cat, size=len(t), p=per_year / per_year.sum())
    else:
        t, cat = np.empty(0), np.empty(0, dtype=int)
    draws = draw_incidents(scenario, name, cat, streams)

    propensity = np.asarray([c.walkin_propensity for c in categories])[cat]
    induced_cat = np.asarray([c.induced for c in categories], bool)
    wants = draws.channel_u < propensity * adoption(scenario, catchment, t)
    choice, soonest = choose_option(options, t, wants)
    end_min = scenario.horizon_weeks * MIN_PER_WEEK + run_out_min(scenario)
    visit = np.full(len(t), np.inf)
    for k, opt in enumerate(options):
        mine = choice == k
        visit[mine] = _visit_time(scenario, opt, t[mine], soonest[mine], draws.visit_u[mine])
    walkin = (choice >= 0) & (visit < end_min)
    censored = (choice >= 0) & ~walkin  # would visit after the run-out: outcome unknown
    out = {}
    for k, opt in enumerate(options):
        idx = np.flatnonzero(walkin & (choice == k))
        idx = idx[np.argsort(visit[idx], kind="stable")]
        out[opt.target] = Walkins(
            time_min=visit[idx],
            incident_min=t[idx],
            catchment=np.full(len(idx), index),
            category=cat[idx],
            induced=induced_cat[cat[idx]],
            **{f: getattr(draws, f)[idx] for f in DRAWN},
        )
    channel = np.where(
        walkin, CH_WALKIN, np.where(induced_cat[cat], CH_NOT_RAISED, CH_SERVICE_DESK)
    )
    counts = np.zeros((n_cat, 3), dtype=int)
    np.add.at(counts, (cat, channel), 1)
    tally = IncidentTally(
        counts=counts,
        incident_min=t,
        category=cat,
        channel=channel,
        would_call_service_desk=~induced_cat[cat] & ~censored,
        censored=censored,
    )
    return out, tally


def choose_option(
    options: list[VisitOption], t: np.ndarray, wants: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where each user who `wants` to walk in goes: the index of the option they can reach
    soonest (-1: none within its deferral limit; on a tie the first in order), and when they
    can first be there (now, if it is open)."""
    choice = np.full(len(t), -1)
    soonest = np.full(len(t), np.inf)
    for k, opt in enumerate(options):
        first, reachable = first_opening(opt, t)
        better = wants & reachable & (first < soonest)
        choice[better] = k
        soonest[better] = first[better]
    return choice, soonest


def is_open(windows: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Whether each time in `t` falls in one of the [open, close) `windows`."""
    if len(windows) == 0:
        return np.zeros(len(t), bool)
    i = np.searchsorted(windows[:, 0], t, side="right") - 1
    return (i >= 0) & (t < windows[np.maximum(i, 0), 1])


def first_opening(opt: VisitOption, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """When each incident's user could first be at `opt` (now if it is open, else its next
    opening), and whether that is within its deferral limit."""
    windows = opt.windows
    inside = is_open(windows, t)
    nxt = np.searchsorted(windows[:, 0], t, side="right")  # the first window opening after t
    has_next = nxt < len(windows)
    opens = windows[np.minimum(nxt, len(windows) - 1), 0] if len(windows) else np.inf
    first = np.where(inside, t, np.where(has_next, opens, np.inf))
    reachable = (inside | (has_next & (first - t <= opt.max_defer_min))) & (t >= opt.from_min)
    return first, reachable


def _visit_time(
    scenario: Scenario, opt: VisitOption, t: np.ndarray, first: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """The visit: at once if `opt` is open at the incident, else on the day it next opens, at a
    time drawn (by inverse CDF of `u`) as ``demand.deferred_visit`` says."""
    visit = t.copy()
    later = first > t
    d = scenario.demand
    if d.deferred_visit == "after_opening":
        offset = rush_offsets(u[later], d.deferred_rush_mean_min, opt.open_min, opt.close_min)
    else:
        offset = time_of_day_offsets(u[later], d.hour_weights, opt.open_min, opt.close_min)
    visit[later] = first[later] + offset
    return visit


def desk_option(scenario: Scenario, site: Site) -> VisitOption:
    return VisitOption(
        target=site.name,
        windows=desk_windows(scenario, site, scenario.horizon_weeks + 1),
        open_min=site.open_min,
        close_min=site.close_min,
        max_defer_min=scenario.demand.max_defer_h * MIN_PER_HOUR,
        from_min=first_day(scenario, site.opened) * MIN_PER_DAY,
    )


def popup_option(scenario: Scenario, popup: Popup) -> VisitOption:
    return VisitOption(
        target=popup.name,
        windows=popup_windows(scenario, popup, scenario.horizon_weeks + 1),
        open_min=popup.start_min,
        close_min=popup.end_min,
        max_defer_min=scenario.demand.popup_max_defer_h * MIN_PER_HOUR,
        from_min=first_day(scenario, popup.opened) * MIN_PER_DAY,
    )


def rate_walkins(scenario: Scenario, site: Site, streams: Streams, index: int = 0) -> Walkins:
    """Walk-ins at a constant (or clock-hour) rate while the desk is open, for validation and
    quick what-ifs; replaces population-driven demand at that desk."""
    horizon_min = scenario.horizon_weeks * MIN_PER_WEEK
    rate = site.walkin_rate_per_hour
    assert rate is not None  # only desks with a walk-in rate come here
    rng = streams(f"arrivals/{site.name}")
    if site.walkin_process == "regular":
        assert not isinstance(rate, list)  # the schema refuses hourly rates for 'regular'
        t = np.arange(0.0, horizon_min, MIN_PER_HOUR / rate)
    else:
        per_hour = np.asarray(rate if isinstance(rate, list) else [rate], float)
        t = poisson_times(rng, per_hour, scenario.horizon_weeks * HOURS_PER_WEEK)
    t = t[is_open(desk_windows(scenario, site, scenario.horizon_weeks), t)]

    categories = list(scenario.categories.values())
    weight = annual_incidents(scenario, site) * [c.walkin_propensity for c in categories]
    p = weight / weight.sum() if weight.sum() > 0 else np.full(len(categories), 1 / len(categories))
    cat = streams(f"category/{site.name}").choice(len(categories), size=len(t), p=p)
    induced_cat = np.asarray([c.induced for c in categories], bool)
    draws = draw_incidents(scenario, site.name, cat, streams)
    return Walkins(
        time_min=t,
        incident_min=t.copy(),
        catchment=np.full(len(t), index),
        category=cat,
        induced=induced_cat[cat],
        **{f: getattr(draws, f) for f in DRAWN},
    )


def desk_walkins(
    scenario: Scenario, site: Site, streams: Streams, index: int = 0
) -> tuple[Walkins, IncidentTally]:
    """A desk's own catchment, whose users can only walk in to that desk."""
    out, tally = population_walkins(scenario, site, [desk_option(scenario, site)], streams, index)
    return out[site.name], tally


def merge_walkins(parts: list[Walkins]) -> Walkins:
    """Walk-ins from several catchments at one site, in arrival order."""
    fields = ("time_min", "incident_min", "catchment", "category", "induced", *DRAWN)
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    order = np.argsort(joined["time_min"], kind="stable")
    return Walkins(**{f: v[order] for f, v in joined.items()})
