"""Incidents per catchment and the walk-ins they become.

Incidents arise around the clock from a Poisson process whose rate varies by hour of day and
weekday. They are generated in bulk with numpy (one Poisson count per hour of the horizon), and
channel choice and deferral are decided in bulk too: only the incidents that reach a desk ever
cost a SimPy process.

Channels:
- walk-in: the user visits the desk, at once if it is open, else at the next opening if that is
  within ``demand.max_defer_h`` (the visit then falls at a time of day drawn from the hour profile);
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
from sim.plan import desk_windows, popup_windows
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
    category: np.ndarray  # index into scenario.categories
    induced: np.ndarray  # bool
    baseline_days: np.ndarray  # service-desk resolution time the incident would have had

    def __len__(self) -> int:
        return len(self.time_min)


@dataclass(frozen=True)
class IncidentTally:
    """Incidents arising in a catchment over the horizon, by category × channel (counts)."""

    counts: np.ndarray  # shape (n_categories, 3): walk-in, service desk, not raised
    incident_min: np.ndarray  # every incident's time, for weekly series
    category: np.ndarray
    channel: np.ndarray
    would_call_service_desk: np.ndarray  # bool: not induced demand, and not censored
    censored: np.ndarray  # bool: its user would visit after the horizon (outcome unknown)

    def sd_calls_by_week(self, n_weeks: int) -> np.ndarray:
        """Incidents that would have been service-desk calls, by week of the incident."""
        week = (self.incident_min[self.would_call_service_desk] // MIN_PER_WEEK).astype(int)
        return np.bincount(week, minlength=n_weeks)[:n_weeks]


site_windows = desk_windows  # a desk's opening windows, as the plan has them


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
    rng: np.random.Generator, hour_weights: Sequence[float], open_min: int, close_min: int, n: int
) -> np.ndarray:
    """Minutes after opening, drawn from the hour-of-day profile restricted to [open, close)."""
    edges = np.unique(
        np.concatenate([[open_min, close_min], np.arange(0, MIN_PER_DAY + 1, MIN_PER_HOUR)])
    )
    edges = edges[(edges >= open_min) & (edges <= close_min)]
    dens = np.asarray(hour_weights, float)[(edges[:-1] // MIN_PER_HOUR).astype(int)]
    mass = dens * np.diff(edges)
    if mass.sum() <= 0:  # profile is zero while open: spread evenly
        mass = np.diff(edges).astype(float)
    cdf = np.concatenate([[0.0], np.cumsum(mass) / mass.sum()])
    u = rng.uniform(0, 1, n)
    return np.interp(u, cdf, edges) - open_min


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


def population_walkins(
    scenario: Scenario, catchment: Catchment, options: list[VisitOption], streams: Streams
) -> tuple[dict[str, Walkins], IncidentTally]:
    """Incidents in a catchment over the horizon and the walk-ins they produce at each option.

    A user who wants to walk in takes the first option, in the order given, that is open now or
    opens within its deferral limit; with none, the incident goes to the service desk.
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
    baseline = baseline_days(scenario, cat, streams(f"baseline/{name}"))

    propensity = np.asarray([c.walkin_propensity for c in categories])[cat]
    induced_cat = np.asarray([c.induced for c in categories], bool)
    wants = streams(f"channel/{name}").uniform(0, 1, len(t)) < propensity * adoption(
        scenario, catchment, t
    )
    horizon_min = scenario.horizon_weeks * MIN_PER_WEEK
    undecided = wants.copy()
    walkin = np.zeros(len(t), bool)
    censored = np.zeros(len(t), bool)
    out = {}
    for k, opt in enumerate(options):
        stream = f"visit_time/{name}" if k == 0 else f"visit_time/{name}/{opt.target}"
        visit, reachable = _next_visit(scenario, opt, t, streams(stream))
        takes = undecided & reachable
        chosen = takes & (visit < horizon_min)
        censored |= takes & ~chosen  # would visit after the horizon: neither resolved nor a call
        undecided &= ~takes
        walkin |= chosen
        order = np.argsort(visit[chosen], kind="stable")
        out[opt.target] = Walkins(
            time_min=visit[chosen][order],
            incident_min=t[chosen][order],
            category=cat[chosen][order],
            induced=induced_cat[cat[chosen][order]],
            baseline_days=baseline[chosen][order],
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


def _next_visit(
    scenario: Scenario, opt: VisitOption, t: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """When each incident's user would visit `opt` (at once if open, else at the next opening,
    at a time of day drawn from the hour profile), and whether that is within the limit."""
    windows = opt.windows
    i = np.searchsorted(windows[:, 0], t, side="right") - 1
    inside = (i >= 0) & (t < windows[np.maximum(i, 0), 1])
    nxt = np.minimum(np.where(inside, i, i + 1), len(windows) - 1)
    defer_min = np.where(inside, 0.0, windows[nxt, 0] - t)
    reachable = inside | ((windows[nxt, 0] > t) & (defer_min <= opt.max_defer_min))
    visit = t.copy()
    later = ~inside
    visit[later] = windows[nxt[later], 0] + time_of_day_offsets(
        rng, scenario.demand.hour_weights, opt.open_min, opt.close_min, int(later.sum())
    )
    return visit, reachable


def desk_option(scenario: Scenario, site: Site) -> VisitOption:
    return VisitOption(
        target=site.name,
        windows=site_windows(site, scenario.horizon_weeks + 1),
        open_min=site.open_min,
        close_min=site.close_min,
        max_defer_min=scenario.demand.max_defer_h * MIN_PER_HOUR,
    )


def popup_option(scenario: Scenario, popup: Popup) -> VisitOption:
    return VisitOption(
        target=popup.name,
        windows=popup_windows(popup, scenario.horizon_weeks + 1),
        open_min=popup.start_min,
        close_min=popup.end_min,
        max_defer_min=scenario.demand.popup_max_defer_h * MIN_PER_HOUR,
    )


def rate_walkins(scenario: Scenario, site: Site, streams: Streams) -> Walkins:
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
    windows = site_windows(site, scenario.horizon_weeks)
    i = np.searchsorted(windows[:, 0], t, side="right") - 1
    t = t[(i >= 0) & (t < windows[np.maximum(i, 0), 1])]

    categories = list(scenario.categories.values())
    weight = annual_incidents(scenario, site) * [c.walkin_propensity for c in categories]
    p = weight / weight.sum() if weight.sum() > 0 else np.full(len(categories), 1 / len(categories))
    cat = streams(f"category/{site.name}").choice(len(categories), size=len(t), p=p)
    induced_cat = np.asarray([c.induced for c in categories], bool)
    return Walkins(
        time_min=t,
        incident_min=t.copy(),
        category=cat,
        induced=induced_cat[cat],
        baseline_days=baseline_days(scenario, cat, streams(f"baseline/{site.name}")),
    )


def desk_walkins(scenario: Scenario, site: Site, streams: Streams) -> tuple[Walkins, IncidentTally]:
    """A desk's own catchment, whose users can only walk in to that desk."""
    out, tally = population_walkins(scenario, site, [desk_option(scenario, site)], streams)
    return out[site.name], tally


def merge_walkins(parts: list[Walkins]) -> Walkins:
    """Walk-ins from several catchments at one site, in arrival order."""
    fields = ("time_min", "incident_min", "category", "induced", "baseline_days")
    joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    order = np.argsort(joined["time_min"], kind="stable")
    return Walkins(**{f: v[order] for f, v in joined.items()})
