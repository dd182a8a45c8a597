"""One replication: compile the plan, generate demand, build the desks and pop-up visits, run
SimPy to the horizon and on through the run-out (so deferred visits are made), return the
records."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import simpy

from sim.arrivals import (
    IncidentTally,
    Walkins,
    desk_option,
    desk_walkins,
    merge_walkins,
    population_walkins,
    popup_option,
    rate_walkins,
)
from sim.calendar import MIN_PER_WEEK
from sim.plan import AT_SITE, DESK, POPUP, Plan, compile_plan
from sim.scenario import DEVICES, Scenario, Site
from sim.service import Desk, Visits, visits_of
from sim.stock import StockPool
from sim.streams import Streams

__all__ = ["DESK", "POPUP", "EngineerLog", "ReplicationRecord", "SiteRecord", "run_replication"]


@dataclass
class SiteRecord:
    """What one desk or pop-up location saw in one replication."""

    name: str
    kind: str  # DESK or POPUP
    visits: Visits
    windows: np.ndarray  # opening windows [open, close) in clock minutes
    roster_times: np.ndarray  # engineers rostered (the plan): from each of these clock minutes …
    roster_values: np.ndarray  # … this many
    capacity: int  # the largest roster
    duty_times: np.ndarray  # engineers coming on duty here (+1) or leaving (−1), as happened
    duty_deltas: np.ndarray
    stock: list[StockPool]  # swap stock per device type, in DEVICES order (shared by pop-ups)
    population: int  # users in the catchment
    incidents: IncidentTally | None  # None when walk-ins are given as a rate


@dataclass
class EngineerLog:
    """Every move of every engineer, as it happened: at `time`, one engineer of `home` (a desk,
    or a pop-up's mobile team) began (+1) or ended (−1) being `state` (on duty, travelling, on a
    break) at `site` (travel is logged at the pop-up travelled to or from)."""

    time: np.ndarray
    home: np.ndarray
    site: np.ndarray
    state: np.ndarray
    delta: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple[float, str, str, str, int]]) -> EngineerLog:
        if not rows:
            empty = np.asarray([], dtype=object)
            return cls(np.zeros(0), empty, empty, empty, np.zeros(0, int))
        t, home, site, state, delta = zip(*rows, strict=True)
        obj = np.asarray
        return cls(
            np.asarray(t, float),
            obj(home, dtype=object),
            obj(site, dtype=object),
            obj(state, dtype=object),
            np.asarray(delta, int),
        )


@dataclass
class ReplicationRecord:
    replication: int
    horizon_min: float  # KPIs count arrivals and time in [warmup_min, horizon_min)
    warmup_min: float
    end_min: float  # when the run stopped: the horizon plus the run-out (`sim.plan.run_out_min`)
    sites: list[SiteRecord]
    engineers: EngineerLog | None = None
    plan: Plan | None = None


def swap_stock(
    env: simpy.Environment, scenario: Scenario, site: Site, streams: Streams
) -> list[StockPool]:
    review = scenario.stock.review_days if scenario.stock.policy == "periodic" else None
    return [
        StockPool(
            env,
            site.swap_stock.get(device, 0),  # type: ignore[call-overload]
            scenario.stock.repair_days,
            streams(f"repair/{site.name}/{device}"),
            review,
        )
        for device in DEVICES
    ]


def demand(
    scenario: Scenario, streams: Streams
) -> tuple[dict[str, Walkins], dict[str, IncidentTally | None]]:
    """Walk-ins at every site (from every catchment that reaches it) and each catchment's tally."""
    parts: dict[str, list[Walkins]] = defaultdict(list)
    tallies: dict[str, IncidentTally | None] = {}
    desks = {s.name: s for s in scenario.sites}
    names = [s.name for s in scenario.sites] + [p.name for p in scenario.popups]
    for i, site in enumerate(scenario.sites):
        if site.walkin_rate_per_hour is not None:
            parts[site.name].append(rate_walkins(scenario, site, streams, i))
            tallies[site.name] = None
            continue
        w, tallies[site.name] = desk_walkins(scenario, site, streams, i)
        parts[site.name].append(w)
    for i, popup in enumerate(scenario.popups, start=len(scenario.sites)):
        options = [popup_option(scenario, popup)]
        if popup.reach_desk is not None:
            options.append(desk_option(scenario, desks[popup.reach_desk]))
        out, tallies[popup.name] = population_walkins(scenario, popup, options, streams, i)
        for target, w in out.items():
            parts[target].append(w)
    return {n: merge_walkins(parts[n]) for n in names}, tallies


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for a replication: the plan, the demand and the run
    allocate hundreds of thousands of objects, and the collections these allocations trigger
    walk the live objects again and again (≈10 % of a replication's time). Reference counting
    still frees SimPy's events as they finish; what is cyclic is collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationRecord:
    with _collector_paused():
        return _run(scenario, seed, replication)


def _run(scenario: Scenario, seed: int, replication: int) -> ReplicationRecord:
    streams = Streams(seed, replication)
    env = simpy.Environment()
    plan = compile_plan(scenario)  # who is where, when: before any incident is drawn
    horizon_min = plan.horizon_min
    walkins, tallies = demand(scenario, streams)
    log: list[tuple[float, str, str, str, int]] = []
    desks: dict[str, tuple[Desk, str, int]] = {}
    stock = {}
    for site in scenario.sites:
        visits = visits_of(scenario, walkins[site.name])
        stock[site.name] = swap_stock(env, scenario, site, streams)
        desk = Desk(env, scenario, plan.sites[site.name], visits, stock[site.name], log)
        desks[site.name] = (desk, DESK, site.population)
    for popup in scenario.popups:
        visits = visits_of(scenario, walkins[popup.name])
        desk = Desk(env, scenario, plan.sites[popup.name], visits, stock[popup.home], log)
        if not popup.mobile_team:
            home = desks[popup.home][0]
            desk.home_desk = home
            home.popups[popup.name] = desk
        desks[popup.name] = (desk, POPUP, popup.population)
    env.run(until=plan.end_min)  # on past the horizon: deferred visits are still made
    moves = EngineerLog.from_rows(log)
    records = []
    for d, kind, population in desks.values():
        d.visits.results_as_arrays()
        mine = (moves.site == d.name) & (moves.state == AT_SITE)
        records.append(
            SiteRecord(
                name=d.name,
                kind=kind,
                visits=d.visits,
                windows=d.windows,
                roster_times=d.plan.roster_times,
                roster_values=d.plan.roster_values,
                capacity=d.plan.capacity,
                duty_times=moves.time[mine],
                duty_deltas=moves.delta[mine].astype(float),
                stock=d.stock,
                population=population,
                incidents=tallies[d.name],
            )
        )
    return ReplicationRecord(
        replication=replication,
        horizon_min=horizon_min,
        warmup_min=scenario.warmup_weeks * MIN_PER_WEEK,
        end_min=plan.end_min,
        sites=records,
        engineers=moves,
        plan=plan,
    )
