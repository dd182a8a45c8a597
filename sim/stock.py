"""Swap stock: a desk's pool of replacement devices of one type, and its repair pipeline.

One-for-one (base stock S): each swap sends the faulty unit away and a replacement comes back
after ``stock.repair_days``. Periodic: swapped units wait for the next review, every
``stock.review_days``, when the desk orders up to S; the order arrives after ``repair_days``.
With no unit on hand the visitor is not swapped (a lost sale: the return-to-base route).

By Palm's theorem, with Poisson swap demand the one-for-one fill rate is 1 − ErlangB(S, d·L)
whatever the turnaround distribution (tests/validation).
"""

from __future__ import annotations

import numpy as np
import simpy

from sim.calendar import MIN_PER_DAY
from sim.distributions import DistSpec


class StockPool:
    """Units of one device type at one desk, with a log of every change of units on hand."""

    def __init__(
        self,
        env: simpy.Environment,
        base_stock: int,
        repair_days: DistSpec,
        rng: np.random.Generator,
        review_days: float | None = None,
    ):
        self.env = env
        self.base_stock = base_stock
        self.on_hand = base_stock
        self.awaiting_order = 0  # periodic policy: swapped out, not yet ordered
        self.repair_days = repair_days
        self.rng = rng
        self.swaps = 0
        self.stockouts = 0
        self.returns = 0
        self.log_time: list[float] = [0.0]
        self.log_on_hand: list[int] = [base_stock]
        if review_days is not None and base_stock > 0:
            env.process(self._reviews(review_days * MIN_PER_DAY))
        self.periodic = review_days is not None

    def take(self) -> bool:
        """Hand over a unit if one is on hand (True), else record a stock-out (False)."""
        if self.on_hand == 0:
            self.stockouts += 1
            return False
        self.on_hand -= 1
        self.swaps += 1
        self._log()
        if self.periodic:
            self.awaiting_order += 1
        else:
            self._send_for_repair(1)
        return True

    def _send_for_repair(self, units: int) -> None:
        delay = float(self.repair_days.sample(self.rng, 1)[0]) * MIN_PER_DAY
        self.env.timeout(delay).callbacks.append(lambda _ev: self._receive(units))

    def _receive(self, units: int) -> None:
        self.on_hand += units
        self.returns += units
        self._log()

    def _reviews(self, period_min: float):
        while True:
            yield self.env.timeout(period_min)
            if self.awaiting_order:
                self._send_for_repair(self.awaiting_order)
                self.awaiting_order = 0

    def _log(self) -> None:
        self.log_time.append(self.env.now)
        self.log_on_hand.append(self.on_hand)

    @property
    def away(self) -> int:
        """Units swapped out and not yet back (awaiting order or in the pipeline)."""
        return self.swaps - self.returns
