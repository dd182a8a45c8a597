"""Pop-up Tech Bars: weekly visits to locations without a permanent desk.

A visit is a desk of its own for its slot (so it has every desk KPI), drawing swaps from its home
desk's stock. When staffed from the home desk, that desk runs short-handed from the engineers'
departure (slot start − travel) to their return (slot end + travel).
"""

from __future__ import annotations

import numpy as np

from sim.arrivals import VisitOption
from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, MIN_PER_WEEK, WEEKDAYS, opening_windows
from sim.roster import Absence
from sim.scenario import Popup, Scenario


def popup_windows(popup: Popup, weeks: int) -> np.ndarray:
    return opening_windows([WEEKDAYS.index(popup.day)], popup.start_min, popup.end_min, weeks)


def popup_roster(popup: Popup) -> tuple[np.ndarray, np.ndarray]:
    """The visit's engineers, constant (they are there for the whole slot)."""
    return np.zeros(1), np.full(1, float(popup.engineers))


def popup_option(scenario: Scenario, popup: Popup) -> VisitOption:
    return VisitOption(
        target=popup.name,
        windows=popup_windows(popup, scenario.horizon_weeks + 1),
        open_min=popup.start_min,
        close_min=popup.end_min,
        max_defer_min=scenario.demand.popup_max_defer_h * MIN_PER_HOUR,
    )


def home_desk_absences(scenario: Scenario) -> dict[str, list[Absence]]:
    """Per permanent desk, the absences of engineers away on pop-up visits."""
    out: dict[str, list[Absence]] = {s.name: [] for s in scenario.sites}
    for p in scenario.popups:
        if p.mobile_team:
            continue
        day = WEEKDAYS.index(p.day)
        for w in range(scenario.horizon_weeks):
            day_start = w * MIN_PER_WEEK + day * MIN_PER_DAY
            out[p.home].append(
                Absence(
                    start_min=max(day_start + p.start_min - p.travel_min, 0.0),
                    engineers=p.engineers,
                    reason=f"pop-up {p.name}",
                    end_min=day_start + p.end_min + p.travel_min,
                )
            )
    return out
