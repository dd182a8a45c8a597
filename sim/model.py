"""One replication: generate demand, build the desks and pop-up visits, run SimPy to the horizon,
return the records."""

from __future__ import annotations

from collections import defaultdict
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
    rate_walkins,
    site_windows,
)
from sim.calendar import MIN_PER_WEEK
from sim.popups import home_desk_absences, popup_option, popup_roster, popup_windows
from sim.roster import break_absences, roster_schedule
from sim.scenario import DEVICES, Scenario, Site
from sim.service import Desk, Visits, sample_visits
from sim.stock import StockPool
from sim.streams import Streams

DESK, POPUP = "desk", "popup"


@dataclass
class SiteRecord:
    """What one desk or pop-up location saw in one replication."""

    name: str
    kind: str  # DESK or POPUP
    visits: Visits
    windows: np.ndarray  # opening windows [open, close) in clock minutes
    roster_times: np.ndarray  # engineers rostered: from each of these clock minutes …
    roster_values: np.ndarray  # … this many
    capacity: int  # engineers on duty when nobody is off (largest roster)
    off_duty_times: np.ndarray  # engineers going off duty (+1) or back (−1) at these times
    off_duty_deltas: np.ndarray
    stock: list[StockPool]  # swap stock per device type, in DEVICES order (shared by pop-ups)
    population: int  # users in the catchment
    incidents: IncidentTally | None  # None when walk-ins are given as a rate


@dataclass
class ReplicationRecord:
    replication: int
    horizon_min: float
    warmup_min: float
    sites: list[SiteRecord]


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
    for site in scenario.sites:
        if site.walkin_rate_per_hour is not None:
            parts[site.name].append(rate_walkins(scenario, site, streams))
            tallies[site.name] = None
            continue
        w, tallies[site.name] = desk_walkins(scenario, site, streams)
        parts[site.name].append(w)
    for popup in scenario.popups:
        options = [popup_option(scenario, popup)]
        if popup.reach_desk is not None:
            options.append(desk_option(scenario, desks[popup.reach_desk]))
        out, tallies[popup.name] = population_walkins(scenario, popup, options, streams)
        for target, w in out.items():
            parts[target].append(w)
    names = [s.name for s in scenario.sites] + [p.name for p in scenario.popups]
    return {n: merge_walkins(parts[n]) for n in names}, tallies


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationRecord:
    streams = Streams(seed, replication)
    env = simpy.Environment()
    horizon_min = scenario.horizon_weeks * MIN_PER_WEEK
    walkins, tallies = demand(scenario, streams)
    away = home_desk_absences(scenario)
    desks, stock = [], {}
    for site in scenario.sites:
        visits = sample_visits(scenario, site.name, walkins[site.name], streams)
        roster = roster_schedule(site, scenario.horizon_weeks)
        absences = break_absences(site, scenario.horizon_weeks) + away[site.name]
        stock[site.name] = swap_stock(env, scenario, site, streams)
        desk = Desk(
            env,
            scenario,
            site.name,
            visits,
            site_windows(site, scenario.horizon_weeks),
            roster,
            stock[site.name],
            absences,
        )
        desks.append((desk, DESK, site.population))
    for popup in scenario.popups:
        visits = sample_visits(scenario, popup.name, walkins[popup.name], streams)
        desk = Desk(
            env,
            scenario,
            popup.name,
            visits,
            popup_windows(popup, scenario.horizon_weeks),
            popup_roster(popup),
            stock[popup.home],
        )
        desks.append((desk, POPUP, popup.population))
    env.run(until=horizon_min)
    records = [
        SiteRecord(
            name=d.name,
            kind=kind,
            visits=d.visits,
            windows=d.windows,
            roster_times=d.roster_times,
            roster_values=d.roster_values,
            capacity=d.capacity,
            off_duty_times=np.asarray(d.off_duty_times, float),
            off_duty_deltas=np.asarray(d.off_duty_deltas, float),
            stock=d.stock,
            population=population,
            incidents=tallies[d.name],
        )
        for d, kind, population in desks
    ]
    return ReplicationRecord(
        replication=replication,
        horizon_min=horizon_min,
        warmup_min=scenario.warmup_weeks * MIN_PER_WEEK,
        sites=records,
    )
