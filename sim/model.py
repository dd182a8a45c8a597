"""One replication: build the desks, run SimPy to the horizon, return the records."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from sim.arrivals import IncidentTally, site_walkins, site_windows
from sim.calendar import MIN_PER_WEEK
from sim.scenario import Scenario
from sim.service import Desk, Visits, roster_schedule, sample_visits
from sim.streams import Streams


@dataclass
class SiteRecord:
    """What one desk saw in one replication."""

    name: str
    visits: Visits
    windows: np.ndarray  # opening windows [open, close) in clock minutes
    roster_times: np.ndarray  # engineers rostered: from each of these clock minutes …
    roster_values: np.ndarray  # … this many
    incidents: IncidentTally | None  # None when walk-ins are given as a rate


@dataclass
class ReplicationRecord:
    replication: int
    horizon_min: float
    warmup_min: float
    sites: list[SiteRecord]


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
        Desk(env, scenario, site, visits, windows, roster)
        records.append(SiteRecord(site.name, visits, windows, *roster, tally))
    env.run(until=horizon_min)
    return ReplicationRecord(
        replication=replication,
        horizon_min=horizon_min,
        warmup_min=scenario.warmup_weeks * MIN_PER_WEEK,
        sites=records,
    )
