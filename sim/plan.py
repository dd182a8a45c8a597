"""The plan: who is where, when — the scenario compiled once, before any incident is drawn.

For every site (permanent desk or pop-up location) the plan holds its opening windows over the
horizon (its weekdays, from its ``opened`` date, less the scenario's ``calendar.closed_dates``; a
pop-up staffed from a desk is visited only on days that desk is open); for every engineer-slot
(the k-th engineer rostered at a desk on a day, or the k-th engineer of a pop-up's mobile team
on its visit day) the planned intervals at a desk, away on a
pop-up visit (travel included), or on a break. Outside those intervals an engineer is off.

- A desk's engineers on a day are its roster for that day; it applies from the desk's opening
  until its next opening (so overtime is worked by that day's engineers); nobody is rostered
  before its first opening.
- Engineers sent to a pop-up are the first of the day's roster; they leave at slot start − travel
  and are planned back at slot end + travel. They take no desk break that day: they take the
  pop-up's own breaks within the visit. The other engineers, those actually at the desk, take
  the desk's staggered breaks (the k-th of them at start + k × stagger).
- A pop-up's engineers (from the home desk, or its mobile team) each take the pop-up's breaks
  (the k-th at start + k × stagger) when these fall within the visit.

The simulation (``sim/service.py``) follows the plan, and records what actually happened: an
engineer leaves only once the visitor in hand is finished, so a break or a departure may start
late; and the return from a pop-up is an event: when the visit has closed and its last visitor is
done, the engineers travel back and are on duty at the home desk `travel_min` later.

The plan also groups sites into components: sites linked by a pop-up's home desk (shared swap
stock and, unless a mobile team, shared engineers) or by a pop-up's `reach_desk` (its users may
travel there). Sites in different components never interact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sim.calendar import MIN_PER_DAY, MIN_PER_WEEK, WEEKDAYS, day_windows, open_days, parse_hhmm
from sim.scenario import Break, Popup, Scenario, Site

DESK, POPUP = "desk", "popup"
AT_SITE, TRAVEL, BREAK = "duty", "travel", "break"  # where an engineer is (else: off)


def closed_days(scenario: Scenario) -> frozenset[int]:
    """The scenario's closed dates (``calendar.closed_dates``) as days from Monday of week 1."""
    return frozenset((d - scenario.start_date).days for d in scenario.calendar.closed_dates)


def first_day(scenario: Scenario, opened: dt.date | None) -> int:
    """The first day (from Monday of week 1) a place with this `opened` date may open."""
    return 0 if opened is None else max(0, (opened - scenario.start_date).days)


def desk_days(scenario: Scenario, site: Site, weeks: int) -> list[int]:
    """Days a desk opens: its weekdays, from its `opened` date, less closed dates."""
    return open_days(
        site.day_indices, weeks, closed_days(scenario), first_day(scenario, site.opened)
    )


def popup_days(scenario: Scenario, popup: Popup, weeks: int) -> list[int]:
    """Days a pop-up location is visited: its weekday, from its `opened` date, less closed
    dates, and (unless a mobile team staffs it) only on days its home desk is open."""
    days = open_days(
        [WEEKDAYS.index(popup.day)],
        weeks,
        closed_days(scenario),
        first_day(scenario, popup.opened),
    )
    if not popup.mobile_team:
        home = next(s for s in scenario.sites if s.name == popup.home)
        home_days = set(desk_days(scenario, home, weeks))
        days = [d for d in days if d in home_days]
    return days


def desk_windows(scenario: Scenario, site: Site, weeks: int) -> np.ndarray:
    """A desk's opening windows [open, close) in clock minutes over `weeks` weeks."""
    return day_windows(desk_days(scenario, site, weeks), site.open_min, site.close_min)


def popup_windows(scenario: Scenario, popup: Popup, weeks: int) -> np.ndarray:
    """A pop-up location's visit slots [start, end) in clock minutes over `weeks` weeks."""
    return day_windows(popup_days(scenario, popup, weeks), popup.start_min, popup.end_min)


@dataclass(frozen=True, order=True)
class Interval:
    """Planned: from `start` to `end` (clock minutes) the engineer is `state` at `site`."""

    start: float
    end: float
    state: str  # AT_SITE, TRAVEL or BREAK
    site: str


@dataclass(frozen=True)
class Shift:
    """One engineer-slot: the `k`-th engineer of `home` (a desk, or a pop-up's mobile team) on
    `day` (days from Monday of week 1), and where the plan puts them."""

    home: str
    day: int
    k: int
    intervals: tuple[Interval, ...]


@dataclass(frozen=True)
class Trip:
    """`engineers` of a desk leave at `leave_min` (planned: slot start − travel) for a pop-up."""

    leave_min: float
    popup: str
    engineers: int
    travel_min: float


@dataclass(frozen=True)
class SitePlan:
    """What one site's simulation reads from the plan."""

    name: str
    kind: str  # DESK or POPUP
    windows: np.ndarray  # opening windows over the horizon and run-out week, [open, close) min
    roster_times: np.ndarray  # engineers rostered to the site: from each of these times …
    roster_values: np.ndarray  # … this many (a pop-up: its engineers during its slot)
    breaks: tuple[tuple[float, float], ...]  # (planned start, duration) of each break here
    trips: tuple[Trip, ...] = ()  # a desk: its engineers' pop-up visits
    home: str | None = None  # a pop-up: the desk whose stock it uses
    mobile_team: bool = False  # a pop-up: staffed by its own team, not from `home`
    travel_min: float = 0.0
    engineers: int = 0  # a pop-up: engineers per visit

    @property
    def capacity(self) -> int:
        return int(self.roster_values.max(initial=0))


@dataclass(frozen=True)
class Plan:
    horizon_min: float  # the KPIs' horizon; the plan itself runs a week past it (run-out)
    end_min: float  # when the simulation stops: the horizon plus `run_out_min`
    sites: dict[str, SitePlan]
    shifts: tuple[Shift, ...] = field(repr=False)
    links: tuple[tuple[str, str], ...]  # (pop-up, desk) pairs that join sites into components
    order: tuple[str, ...]  # every site, desks then pop-ups, in scenario order

    def components(self) -> list[list[str]]:
        return components(self.order, self.links)

    @cached_property
    def _shift_days(self) -> dict[str, np.ndarray]:
        days: dict[str, list[int]] = {}
        for s in self.shifts:
            days.setdefault(s.home, []).append(s.day)
        return {home: np.asarray(d, int) for home, d in days.items()}

    def shift_days(self, home: str) -> np.ndarray:
        """The day (from Monday of week 1) of each engineer-slot (shift) of `home`'s engineers."""
        return self._shift_days.get(home, np.zeros(0, int))

    def headcount(self, home: str, t: np.ndarray) -> np.ndarray:
        """Engineers of `home` the plan puts somewhere (at a site, travelling or on a break)
        at each time in `t`."""
        t = np.asarray(t, float)
        out = np.zeros(len(t), int)
        for s in self.shifts:
            if s.home == home:
                for iv in s.intervals:
                    out += (t >= iv.start) & (t < iv.end)
        return out


def components(order: tuple[str, ...] | list[str], links) -> list[list[str]]:
    """Groups of sites closed under `links`, each in `order`, ordered by their first site."""
    parent = {n: n for n in order}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra != rb:  # the root earlier in `order` wins, so the result does not depend on links'
            first, second = sorted((ra, rb), key=order.index)  # order
            parent[second] = first
    groups: dict[str, list[str]] = {}
    for n in order:
        groups.setdefault(root(n), []).append(n)
    return list(groups.values())


def _breaks_of(rules: list[Break], k: int, day_start: float) -> list[tuple[float, float]]:
    return [
        (day_start + parse_hhmm(b.start) + k * b.stagger_min, float(b.duration_min)) for b in rules
    ]


def _shift(home, day, k, start, end, site, away=(), breaks=()) -> Shift:
    """At `site` from `start` to `end`, less the `away` intervals and the breaks (taken at
    `site`, or, within an away interval at a pop-up, there)."""
    cuts = sorted(list(away) + [Interval(b, b + d, BREAK, site) for b, d in breaks])
    out, t = [], start
    for iv in cuts:
        if iv.start > t:
            out.append(Interval(t, iv.start, AT_SITE, site))
        out.append(iv)
        t = max(t, iv.end)
    if end > t:
        out.append(Interval(t, end, AT_SITE, site))
    return Shift(home, day, k, tuple(iv for iv in out if iv.end > iv.start))


def _visit_intervals(p: Popup, day_start: float, k: int) -> list[Interval]:
    """A home-desk engineer's pop-up visit: travel out, at the pop-up (with its breaks within
    the slot), travel back."""
    s, e = day_start + p.start_min, day_start + p.end_min
    out = [Interval(s - p.travel_min, s, TRAVEL, p.name)]
    for b, d in _popup_breaks(p, k, day_start):
        out.append(Interval(b, b + d, BREAK, p.name))
    at = _shift("", 0, 0, s, e, p.name, away=out[1:]).intervals
    out[1:] = list(at)
    out.append(Interval(e, e + p.travel_min, TRAVEL, p.name))
    return out


def _popup_breaks(p: Popup, k: int, day_start: float) -> list[tuple[float, float]]:
    s, e = day_start + p.start_min, day_start + p.end_min
    return [(b, d) for b, d in _breaks_of(p.breaks, k, day_start) if s <= b < e]


RUN_OUT_WEEKS = 1
"""The plan runs on one week past the horizon, so that users whose incident arose before the
horizon but who wait for a desk to open are still seen (and counted by when the incident
arose); KPIs of time and of arrivals stop at the horizon. No incident arises in the run-out:
the desks see only the deferred visits of earlier incidents."""


def run_out_min(scenario: Scenario) -> float:
    """How long past the horizon the model runs: the longest deferral allowed, plus a day for
    the deferred visit to fall within its opening hours (at most the plan's run-out week)."""
    defer_h = scenario.demand.max_defer_h
    if scenario.popups:
        defer_h = max(defer_h, scenario.demand.popup_max_defer_h)
    return min(float(RUN_OUT_WEEKS * MIN_PER_WEEK), defer_h * 60 + MIN_PER_DAY)


def compile_plan(scenario: Scenario) -> Plan:
    weeks = scenario.horizon_weeks + RUN_OUT_WEEKS
    horizon = float(scenario.horizon_weeks * MIN_PER_WEEK)
    plan_end = float(weeks * MIN_PER_WEEK)
    sent: dict[tuple[str, int], list[Popup]] = {}  # (desk, weekday) → pop-ups it staffs
    visited = {p.name: set(popup_days(scenario, p, weeks)) for p in scenario.popups}
    for p in scenario.popups:
        if not p.mobile_team:
            sent.setdefault((p.home, WEEKDAYS.index(p.day)), []).append(p)
    shifts: list[Shift] = []
    sites: dict[str, SitePlan] = {}
    breaks_at: dict[str, list[tuple[float, float]]] = {}
    for site in scenario.sites:
        per_weekday = site.engineers_by_weekday()
        days = desk_days(scenario, site, weeks)
        opens = [day * MIN_PER_DAY + site.open_min for day in days]
        trips: list[Trip] = []
        mine: list[tuple[float, float]] = []
        for i, day in enumerate(days):
            day_start, wd = day * MIN_PER_DAY, day % 7
            start = opens[i]
            end = opens[i + 1] if i + 1 < len(days) else plan_end
            k = 0
            for p in sent.get((site.name, wd), []):
                if day not in visited[p.name]:
                    continue
                trips.append(
                    Trip(day_start + p.start_min - p.travel_min, p.name, p.engineers, p.travel_min)
                )
                for j in range(p.engineers):
                    away = _visit_intervals(p, day_start, j)
                    shifts.append(_shift(site.name, day, k, start, end, site.name, away))
                    breaks_at.setdefault(p.name, []).extend(
                        (iv.start, iv.end - iv.start) for iv in away if iv.state == BREAK
                    )
                    k += 1
            for j in range(per_weekday[wd] - k):  # at the desk all day: the desk's breaks
                brk = _breaks_of(site.breaks, j, day_start)
                shifts.append(_shift(site.name, day, k + j, start, end, site.name, (), brk))
                mine.extend(brk)
        values = np.asarray([per_weekday[d % 7] for d in days], float)
        sites[site.name] = SitePlan(
            name=site.name,
            kind=DESK,
            windows=desk_windows(scenario, site, weeks),
            roster_times=np.r_[0.0, opens],
            roster_values=np.r_[0.0, values],  # nobody before the first opening
            breaks=tuple(sorted(mine)),
            trips=tuple(trips),
        )
    for p in scenario.popups:
        windows = popup_windows(scenario, p, weeks)
        if p.mobile_team:
            for day in (int(w0 // MIN_PER_DAY) for w0 in windows[:, 0]):
                day_start = day * MIN_PER_DAY
                for k in range(p.engineers):
                    brk = _popup_breaks(p, k, day_start)
                    shifts.append(
                        _shift(
                            p.name,
                            day,
                            k,
                            day_start + p.start_min,
                            day_start + p.end_min,
                            p.name,
                            (),
                            brk,
                        )
                    )
                    breaks_at.setdefault(p.name, []).extend(brk)
        sites[p.name] = SitePlan(
            name=p.name,
            kind=POPUP,
            windows=windows,
            roster_times=np.r_[0.0, windows.ravel()],
            roster_values=np.r_[0.0, np.tile([float(p.engineers), 0.0], len(windows))],
            breaks=tuple(sorted(breaks_at.get(p.name, []))),
            home=p.home,
            mobile_team=p.mobile_team,
            travel_min=0.0 if p.mobile_team else float(p.travel_min),
            engineers=p.engineers,
        )
    return Plan(
        horizon_min=horizon,
        end_min=horizon + run_out_min(scenario),
        sites=sites,
        shifts=tuple(shifts),
        links=site_links(scenario),
        order=tuple(sites),
    )


def site_links(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """(pop-up, desk) pairs that join sites into components: each pop-up with its home desk
    (shared stock and engineers) and with the desk its users can reach."""
    out = [(p.name, p.home) for p in scenario.popups]
    out += [(p.name, p.reach_desk) for p in scenario.popups if p.reach_desk is not None]
    return tuple(out)


def scenario_components(scenario: Scenario) -> list[list[str]]:
    """The components of `scenario`'s plan (`Plan.components`) without compiling the plan."""
    order = [s.name for s in scenario.sites] + [p.name for p in scenario.popups]
    return components(order, site_links(scenario))
