"""Who is on the floor: engineers rostered per weekday, and the absences that take them away
(staggered breaks, pop-up duty).

SimPy's ``Resource.capacity`` is fixed, so the desk (``sim/service.py``) holds off-duty engineers
with high-priority requests; this module only says when and how many.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.calendar import MIN_PER_DAY, MIN_PER_WEEK, parse_hhmm
from sim.scenario import Site


@dataclass(frozen=True)
class Absence:
    """`engineers` leave the desk from `start_min` (each once the visitor in hand is finished) and
    return at `end_min`, or, for a break, `duration_min` after they left."""

    start_min: float
    engineers: int
    reason: str
    end_min: float | None = None
    duration_min: float | None = None


def roster_schedule(site: Site, horizon_weeks: int) -> tuple[np.ndarray, np.ndarray]:
    """Engineers rostered as a step function: (change times in clock minutes, engineers from then).

    A day's roster takes effect when the desk opens that day and lasts until it next opens, so
    engineers finishing after closing are that day's engineers.
    """
    per_weekday = site.engineers_by_weekday()
    days = np.asarray([w * 7 + d for w in range(horizon_weeks) for d in site.day_indices], int)
    times = days * float(MIN_PER_DAY) + site.open_min
    values = np.asarray(per_weekday)[days % 7].astype(float)
    return np.r_[0.0, times], np.r_[values[:1], values]


def break_absences(site: Site, horizon_weeks: int) -> list[Absence]:
    """Every rostered engineer's breaks on every open day, staggered."""
    out = []
    per_weekday = site.engineers_by_weekday()
    for w in range(horizon_weeks):
        for d in site.day_indices:
            day_start = w * MIN_PER_WEEK + d * MIN_PER_DAY
            for b in site.breaks:
                for k in range(per_weekday[d]):
                    start = day_start + parse_hhmm(b.start) + k * b.stagger_min
                    out.append(Absence(start, 1, "break", duration_min=b.duration_min))
    return out
