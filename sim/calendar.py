"""The simulation clock: minutes from Monday 00:00 of week 1; the days a place opens (its
weekdays, from its opening date, less closed dates) and its opening windows."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MIN_PER_HOUR = 60
MIN_PER_DAY = 24 * 60
MIN_PER_WEEK = 7 * MIN_PER_DAY
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@lru_cache(maxsize=4096)  # a plan parses the same few times of day tens of thousands of times
def parse_hhmm(text: str) -> int:
    """'08:30' → 510 minutes after midnight; '24:00' is allowed as the end of a day."""
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"time of day must be 'HH:MM', got {text!r}")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or minutes > MIN_PER_DAY:
        raise ValueError(f"time of day must be between 00:00 and 24:00, got {text!r}")
    return minutes


def open_days(
    day_indices: list[int], weeks: int, closed: frozenset[int] = frozenset(), first_day: int = 0
) -> list[int]:
    """Days (counted from Monday of week 1) on which a place with these weekdays opens over
    `weeks` weeks: from day `first_day` on, less the `closed` days."""
    days = sorted(set(day_indices))
    out = [w * 7 + i for w in range(weeks) for i in days]
    if first_day > 0 or closed:  # most places open from day 0 and never close
        out = [d for d in out if d >= first_day and d not in closed]
    return out


def day_windows(days: list[int], open_min: int, close_min: int) -> np.ndarray:
    """Opening windows on `days` as an (n, 2) array of [open, close) clock minutes.

    Windows that touch (e.g. a desk open 00:00–24:00 every day) are merged, so a desk open
    around the clock has one window and never closes its doors.
    """
    windows: list[list[float]] = []
    for d in days:
        s = d * MIN_PER_DAY + open_min
        e = d * MIN_PER_DAY + close_min
        if windows and windows[-1][1] >= s:
            windows[-1][1] = e
        else:
            windows.append([s, e])
    return np.asarray(windows, dtype=float).reshape(-1, 2)
