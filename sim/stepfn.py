"""Piecewise-constant functions of clock time, for time-weighted statistics.

Queue length, engineers busy, engineers rostered and "desk open" are all step functions. Their
time-weighted means over any set of intervals come from one cumulative integral, computed in bulk
with numpy after the run rather than monitored during it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepFn:
    """f(t) = values[k] for times[k] <= t < times[k+1]; f = `before` for t < times[0]."""

    times: np.ndarray
    values: np.ndarray
    before: float = 0.0

    @classmethod
    def from_changes(cls, times: np.ndarray, deltas: np.ndarray) -> StepFn:
        """A counter that starts at 0 and moves by `deltas` at `times` (any order, ties allowed)."""
        times = np.asarray(times, float)
        order = np.argsort(times, kind="stable")
        t, level = times[order], np.cumsum(np.asarray(deltas, float)[order])
        if len(t) == 0:
            return cls(np.zeros(1), np.zeros(1))
        last_of_each = np.r_[t[1:] != t[:-1], True]  # value after all changes at the same time
        return cls(t[last_of_each], level[last_of_each])

    @classmethod
    def indicator(cls, windows: np.ndarray) -> StepFn:
        """1 inside the sorted, disjoint [start, end) windows, 0 outside."""
        if len(windows) == 0:
            return cls(np.zeros(1), np.zeros(1))
        t = np.asarray(windows, float).ravel()
        v = np.tile([1.0, 0.0], len(windows))
        keep = np.r_[t[1:] != t[:-1], True]  # touching windows: later change wins
        return cls(t[keep], v[keep])

    def at(self, x) -> np.ndarray:
        i = np.searchsorted(self.times, x, side="right") - 1
        return np.where(i < 0, self.before, self.values[np.maximum(i, 0)])

    def cumulative(self, x) -> np.ndarray:
        """∫ from times[0] to x of f (x before times[0] gives a negative `before` area)."""
        seg = np.diff(self.times) * self.values[:-1]
        cum = np.r_[0.0, np.cumsum(seg)]
        x = np.asarray(x, float)
        i = np.searchsorted(self.times, x, side="right") - 1
        j = np.maximum(i, 0)
        return np.where(
            i < 0, (x - self.times[0]) * self.before, cum[j] + (x - self.times[j]) * self.values[j]
        )

    def integral(self, a, b) -> np.ndarray:
        return self.cumulative(b) - self.cumulative(a)

    def __mul__(self, other: StepFn) -> StepFn:
        t = np.union1d(self.times, other.times)
        return StepFn(t, self.at(t) * other.at(t), self.before * other.before)

    def max_on(self, a: float, b: float) -> float:
        """Largest value taken on [a, b)."""
        inside = self.values[(self.times > a) & (self.times < b)]
        return float(max(self.at(a), inside.max() if len(inside) else -np.inf))
