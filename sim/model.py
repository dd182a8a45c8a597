"""One replication: build the desks, run SimPy to the horizon, return the records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from sim.arrivals import IncidentTally, site_walkins, site_windows
from sim.calendar import MIN_PER_WEEK
from sim.scenario import DEVICES, Scenario, Site
from sim.service import Desk, Visits, roster_schedule, sample_visits
from sim.stock import StockPool
from sim.streams import Streams


@dataclass
class SiteRecord:
    """What one desk saw in one replication."""

    name: str
    visits: Visits
    windows: np.ndarray  # opening windows [open, close) in clock minutes
    roster_times: np.ndarray  # engineers rostered: from each of these clock minutes …
    roster_values: np.ndarray  # … this many
    stock: list[StockPool]  # swap stock per device type, in DEVICES order
    population: int  # users in the desk's catchment
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
            site.swap_stock.get(device, 0),
            scenario.stock.repair_days,
            streams(f"repair/{site.name}/{device}"),
            review,
        )
        for device in DEVICES
    ]


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationRecord:
    streams = Streams(seed, replication)
    env = simpy.Environment()
    horizon_min = scenario.horizon_weeks * MIN_PER_WEEK
    records = []
    for site in scenario.sites:
        walkins, tally = site_walkins(scenario, site, streams)
        visits = sample_visits(scenario, site, walkins, streams)
        windows = site_windows(site, scenario.horizon_weeks)
        roster = roster_schedule(site, scenario.horizon_weeks)
        stock = swap_stock(env, scenario, site, streams)
        Desk(env, scenario, site, visits, windows, roster, stock)
        records.append(
            SiteRecord(site.name, visits, windows, *roster, stock, site.population, tally)
        )
    env.run(until=horizon_min)
    return ReplicationRecord(
        replication=replication,
        horizon_min=horizon_min,
        warmup_min=scenario.warmup_weeks * MIN_PER_WEEK,
        sites=records,
    )
