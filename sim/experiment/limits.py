"""Limits on the work a command may ask for, checked before anything is simulated.

The estimate is analytic, from the scenario alone (no replication is run): the incidents each
catchment generates over the horizon (population × rate per user-year plus fleet × rate per
device-year, for every desk and pop-up location), the walk-ins they can become (each category's
incidents × its walk-in propensity, at full adoption: an upper bound), plus a desk's constant
``walkin_rate_per_hour`` × its open hours. Memory per replication is those counts times the
bytes each incident and each walk-in record takes while a replication runs (the per-visit arrays
of `sim.service.Visits`, the result lists, SimPy's events and the KPI tables; with ``--trace``
the event log as well), measured on the default scenario and rounded up.

What is refused (`LimitError`, a `ScenarioError`: exit 2), and how to raise each limit — one
scheme, environment variables:

==========================  ==========================================  =================
limit                       refused above                               raise with
==========================  ==========================================  =================
horizon                     20 years (1,043 weeks)                      TECHBAR_MAX_HORIZON_YEARS
replications                10,000 (per scenario, including --max-reps)  TECHBAR_MAX_REPS
worker processes            1,000                                       TECHBAR_MAX_WORKERS
memory per replication      2 GB (estimated)                            TECHBAR_MAX_MEMORY_GB
==========================  ==========================================  =================
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.scenario import Popup, Scenario, ScenarioError, Site

WEEKS_PER_YEAR = 365.25 / 7
GB = 1e9

# Bytes held per record at the peak of one replication (its records and KPI tables), measured
# with tracemalloc on the default scenario and on M/M/c desks of 4 and 40 walk-ins an hour over
# 52 weeks (340–420 bytes a walk-in, about 1,050 with the event log) and rounded up. The
# interpreter and its libraries (~200 MB a worker) are not counted.
BYTES_PER_INCIDENT = 40
BYTES_PER_WALKIN = 600
BYTES_PER_TRACED_WALKIN = 1_000  # the event log (--trace): about five events per visitor


class LimitError(ScenarioError):
    """The work asked for is beyond a limit (the message gives the estimate and the way out)."""


@dataclass(frozen=True)
class Limit:
    name: str
    env: str
    default: float
    unit: str


HORIZON = Limit("horizon", "TECHBAR_MAX_HORIZON_YEARS", 20, "years")
REPS = Limit("replications", "TECHBAR_MAX_REPS", 10_000, "replications")
WORKERS = Limit("worker processes", "TECHBAR_MAX_WORKERS", 1_000, "workers")
MEMORY = Limit("memory per replication", "TECHBAR_MAX_MEMORY_GB", 2, "GB")
LIMITS = (HORIZON, REPS, WORKERS, MEMORY)


@dataclass(frozen=True)
class Limits:
    horizon_years: float = HORIZON.default
    reps: int = int(REPS.default)
    workers: int = int(WORKERS.default)
    memory_gb: float = MEMORY.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, each replaced by its environment variable when that is set."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, limit in zip(
            ("horizon_years", "reps", "workers", "memory_gb"), LIMITS, strict=True
        ):
            text = env.get(limit.env, "").strip()
            if not text:
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                raise LimitError(
                    f"environment variable {limit.env}={text!r}: must be a positive number "
                    f"({limit.unit}; default {limit.default:g})"
                )
            values[field] = value if field in ("horizon_years", "memory_gb") else int(value)
        return cls(**values)


@dataclass(frozen=True)
class WorkEstimate:
    """Expected incidents and walk-ins of one replication of a scenario, and its memory."""

    scenario: str
    incidents: float
    walkins: float
    bytes: float

    def describe(self) -> str:
        return (
            f"about {_count(self.incidents)} incidents and {_count(self.walkins)} walk-ins "
            f"per replication, ~{_size(self.bytes)} of memory each"
        )


def open_hours_per_week(open_min: int, close_min: int, n_days: int) -> list[float]:
    """Hours a week a desk is open in each clock hour (24 values)."""
    return [
        max(min(close_min, (h + 1) * 60) - max(open_min, h * 60), 0) / 60 * n_days
        for h in range(24)
    ]


def expected_incidents_and_walkins(scenario: Scenario) -> tuple[float, float]:
    """Incidents arising in every catchment over the horizon and the walk-ins they can become
    (at full adoption), plus the walk-ins of desks given a constant rate."""
    weeks = scenario.horizon_weeks
    incidents = walkins = 0.0
    catchments: list[Site | Popup] = [s for s in scenario.sites if s.walkin_rate_per_hour is None]
    catchments += scenario.popups
    for c in catchments:
        for cat in scenario.categories.values():
            if cat.rate_per_user_year is not None:
                per_year = c.population * cat.rate_per_user_year
            else:
                count = c.fleet.get(cat.device, 0) if cat.device is not None else 0
                per_year = count * (cat.rate_per_device_year or 0.0)
            n = per_year * weeks / WEEKS_PER_YEAR
            incidents += n
            walkins += n * cat.walkin_propensity
    for s in scenario.sites:
        rate = s.walkin_rate_per_hour
        if rate is None:
            continue
        rates = rate if isinstance(rate, list) else [rate] * 24
        hours = open_hours_per_week(s.open_min, s.close_min, len(s.days))
        walkins += weeks * sum(r * h for r, h in zip(rates, hours, strict=True))
    return incidents, walkins


def estimate(scenario: Scenario, trace: bool = False) -> WorkEstimate:
    incidents, walkins = expected_incidents_and_walkins(scenario)
    per_walkin = BYTES_PER_WALKIN + (BYTES_PER_TRACED_WALKIN if trace else 0)
    memory = incidents * BYTES_PER_INCIDENT + walkins * per_walkin
    return WorkEstimate(scenario.name, incidents, walkins, memory)


def check_workers(workers: int | None, limits: Limits | None = None) -> None:
    limits = limits or Limits.from_env()
    if workers is not None and workers > limits.workers:
        raise LimitError(
            f"--workers {workers}: more than the limit of {limits.workers} worker processes; "
            f"set {WORKERS.env} to raise it"
        )


def check_replications(reps: int, option: str = "--reps", limits: Limits | None = None) -> None:
    limits = limits or Limits.from_env()
    if reps > limits.reps:
        raise LimitError(
            f"{option} {reps}: more than the limit of {limits.reps:,} replications; "
            f"set {REPS.env} to raise it"
        )


def check_work(
    scenarios: Iterable[Scenario],
    reps: int,
    workers: int | None = None,
    trace: bool = False,
    limits: Limits | None = None,
    reps_option: str = "--reps",
) -> list[WorkEstimate]:
    """Refuse (LimitError) work beyond the limits; return each scenario's estimate."""
    limits = limits or Limits.from_env()
    check_workers(workers, limits)
    check_replications(reps, reps_option, limits)
    out = []
    for s in scenarios:
        years = s.horizon_weeks / WEEKS_PER_YEAR
        if years > limits.horizon_years:
            raise LimitError(
                f"horizon_weeks: {s.horizon_weeks} weeks ({years:.1f} years) in scenario "
                f"'{s.name}' is more than the limit of {limits.horizon_years:g} years; "
                f"set {HORIZON.env} to raise it"
            )
        e = estimate(s, trace)
        out.append(e)
        if e.bytes > limits.memory_gb * GB:
            raise LimitError(
                f"scenario '{s.name}' is too large: {e.describe()} (estimated from the catchments' "
                f"populations, incident rates and walk-in rates over {s.horizon_weeks} weeks), "
                f"more than the limit of {limits.memory_gb:g} GB per replication; shorten "
                f"horizon_weeks, or set {MEMORY.env} to raise the limit"
            )
    return out


def _count(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:.1f} billion"
    if x >= 1e6:
        return f"{x / 1e6:.1f} million"
    return f"{x:,.0f}"


def _size(n: float) -> str:
    for unit, scale in (("GB", GB), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"
