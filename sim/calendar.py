"""The simulation clock: minutes from Monday 00:00 of week 1, and the opening windows of a desk."""

from __future__ import annotations

import numpy as np

MIN_PER_HOUR = 60
MIN_PER_DAY = 24 * 60
MIN_PER_WEEK = 7 * MIN_PER_DAY
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def parse_hhmm(text: str) -> int:
    """'08:30' → 510 minutes after midnight; '24:00' is allowed as the end of a day."""
    hh, sep, mm = text.partition(":")
    if not sep or not hh.isdigit() or not mm.isdigit() or len(mm) != 2:
        raise ValueError(f"time of day must be 'HH:MM', got {text!r}")
    minutes = int(hh) * 60 + int(mm)
    if int(mm) >= 60 or minutes > MIN_PER_DAY:
        raise ValueError(f"time of day must be between 00:00 and 24:00, got {text!r}")
    return minutes


def opening_windows(
    day_indices: list[int], open_min: int, close_min: int, weeks: int
) -> np.ndarray:
    """Opening windows over `weeks` weeks as an (n, 2) array of [open, close) clock minutes.

    Windows that touch (e.g. a desk open 00:00–24:00 every day) are merged, so a desk open
    around the clock has one window and never closes its doors.
    """
    days = sorted(set(day_indices))
    starts = [w * MIN_PER_WEEK + d * MIN_PER_DAY + open_min for w in range(weeks) for d in days]
    windows: list[list[float]] = []
    for s in starts:
        e = s - open_min + close_min
        if windows and windows[-1][1] >= s:
            windows[-1][1] = e
        else:
            windows.append([s, e])
    return np.asarray(windows, dtype=float).reshape(-1, 2)
