"""The desk: where a visitor's journey is decided.

A visitor walks in, balks if too many are waiting, else queues first come first served for an
engineer; may renege after their patience runs out; is seen for a time that depends on the
support tier; and leaves with the fault fixed on site, or swapped for a unit from the desk's stock
(extra handover time), or escalated to the return-to-base route (not swappable, or no unit on
hand).

Every random quantity of a visit (tier, service time, patience, outcome draw) is sampled in bulk
before the run, from streams of its own, so the same visitor gets the same draws whatever the
staffing: comparisons between scenarios are paired visit by visit.

Engineers per weekday vary and leave for breaks and pop-up visits, but SimPy's
``Resource.capacity`` is fixed: a desk holds its off-duty engineers with high-priority "off duty"
requests, which take an engineer only once the visitor in hand is finished (``sim/roster.py``
says when and how many). Every change of engineers on duty is logged for utilisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import cast

import numpy as np
import simpy

from sim.arrivals import Walkins
from sim.roster import Absence
from sim.scenario import DEVICES, Scenario
from sim.stock import StockPool
from sim.streams import Streams


class Outcome(IntEnum):
    """What became of a visitor (stored as small integers in the visit records)."""

    QUEUEING = 0
    IN_SERVICE = 1
    FIXED = 2
    ESCALATED = 3
    SWAPPED = 4
    BALKED = 5
    RENEGED = 6
    TURNED_AWAY = 7


QUEUEING, IN_SERVICE, FIXED, ESCALATED, SWAPPED, BALKED, RENEGED, TURNED_AWAY = Outcome
OUTCOME_NAMES = tuple(o.name.lower() for o in Outcome)
SERVED_OUTCOMES = (IN_SERVICE, FIXED, ESCALATED, SWAPPED)
OFF_DUTY_PRIORITY, VISITOR_PRIORITY = -1, 0
NO_DEVICE = -1


@dataclass
class Visits:
    """Per-visitor inputs (sampled before the run) and results (filled in by the run)."""

    arrive_min: np.ndarray
    category: np.ndarray
    induced: np.ndarray
    incident_min: np.ndarray
    baseline_days: np.ndarray  # service-desk resolution time without Tech Bars (counterfactual)
    device: np.ndarray  # index into DEVICES, or NO_DEVICE
    swappable: np.ndarray  # bool: an unfixed fault can be swapped from stock
    tier: np.ndarray
    service_min: np.ndarray
    swap_min: np.ndarray  # extra engineer time if swapped
    patience_min: np.ndarray | None
    fix_prob: np.ndarray  # probability fixed on site (category's, else tier's)
    fix_draw: np.ndarray  # uniform draw compared with fix_prob
    start_min: list = field(default_factory=list)
    end_min: list = field(default_factory=list)
    left_queue_min: list = field(default_factory=list)
    outcome: list = field(default_factory=list)
    stockout: list = field(default_factory=list)

    def __post_init__(self):
        n = len(self.arrive_min)
        nan = float("nan")
        self.start_min = [nan] * n
        self.end_min = [nan] * n
        self.left_queue_min = [nan] * n
        self.outcome = [QUEUEING] * n
        self.stockout = [False] * n

    def __len__(self) -> int:
        return len(self.arrive_min)


def sample_visits(scenario: Scenario, name: str, walkins: Walkins, streams: Streams) -> Visits:
    """Draw each walk-in's tier, service time, patience and outcome draw from named streams."""
    n = len(walkins)
    categories = list(scenario.categories.values())
    cat = walkins.category
    device = np.asarray(
        [DEVICES.index(c.device) if c.device else NO_DEVICE for c in categories], dtype=int
    )[cat]
    swappable = np.asarray([c.device is not None and c.swappable for c in categories], bool)[cat]
    tiers = list(scenario.tiers.values())
    share = np.asarray([t.share for t in tiers])
    tier = streams(f"tier/{name}").choice(len(tiers), size=n, p=share / share.sum())
    service = np.empty(n)
    rng = streams(f"service/{name}")
    for k, t in enumerate(tiers):  # one draw per visitor per tier keeps tiers independent
        service = np.where(tier == k, t.service_min.sample(rng, n), service)
    patience_spec = scenario.service.patience_min
    patience = (
        None if patience_spec is None else patience_spec.sample(streams(f"patience/{name}"), n)
    )
    tier_fix = np.asarray([t.fix_prob for t in tiers])[tier]
    cat_fix = np.asarray([np.nan if c.fix_prob is None else c.fix_prob for c in categories])[cat]
    return Visits(
        arrive_min=walkins.time_min,
        category=cat,
        induced=walkins.induced,
        incident_min=walkins.incident_min,
        baseline_days=walkins.baseline_days,
        device=device,
        swappable=swappable,
        tier=tier,
        service_min=service,
        swap_min=scenario.service.swap_min.sample(streams(f"swap/{name}"), n),
        patience_min=patience,
        fix_prob=np.where(np.isnan(cat_fix), tier_fix, cat_fix),
        fix_draw=streams(f"outcome/{name}").uniform(0, 1, n),
    )


class Desk:
    """One desk's (or pop-up visit's) engineers and queue in a SimPy environment."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        name: str,
        visits: Visits,
        windows: np.ndarray,
        roster: tuple[np.ndarray, np.ndarray],
        stock: list[StockPool],
        absences: Sequence[Absence] = (),
    ):
        self.env = env
        self.name = name
        self.visits = visits
        self.windows = windows
        self.roster_times, self.roster_values = roster
        self.capacity = int(self.roster_values.max())
        self.varies = len(set(self.roster_values.tolist())) > 1 or len(absences) > 0
        self.engineers = (
            simpy.PriorityResource(env, self.capacity)
            if self.varies
            else simpy.Resource(env, self.capacity)
        )
        self.balk_queue = scenario.service.balk_queue
        self.send_away = scenario.service.at_close == "send_away"
        self.stock = stock  # one pool per device type, in DEVICES order
        self.waiting = 0
        self.off_duty_times: list[float] = []  # when an engineer went off duty (+1) or came
        self.off_duty_deltas: list[int] = []  # back (−1): engineers on duty = capacity − Σ
        self.closing: simpy.Event = env.event()
        env.process(self._arrivals())
        if len(set(self.roster_values.tolist())) > 1:
            env.process(self._roster())
        for absence in absences:
            env.process(self._absence(absence))
        if self.send_away:
            env.process(self._closer())

    # ---------------------------------------------------------------- processes

    def _arrivals(self):
        env = self.env
        visit = self._visit
        for i, t in enumerate(self.visits.arrive_min.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(visit(i))

    def _roster(self):
        """Hold (capacity − rostered) engineers off duty, changing at each roster change."""
        env, off = self.env, list[simpy.resources.resource.PriorityRequest]()
        for t, rostered in zip(
            self.roster_times.tolist(), self.roster_values.tolist(), strict=True
        ):
            if t > env.now:
                yield env.timeout(t - env.now)
            target = self.capacity - int(rostered)
            while len(off) > target:
                self._back_on_duty(off.pop())
            while len(off) < target:
                off.append(self._go_off_duty())

    def _absence(self, absence: Absence):
        """Engineers leave once their visitor is finished; back at a time, or after a break."""
        env = self.env
        if absence.start_min > env.now:
            yield env.timeout(absence.start_min - env.now)
        reqs = [self._go_off_duty() for _ in range(absence.engineers)]
        if absence.duration_min is not None:
            for req in reqs:
                env.process(self._break(req, absence.duration_min))
        else:
            assert absence.end_min is not None  # an absence has an end or a duration
            if absence.end_min > env.now:
                yield env.timeout(absence.end_min - env.now)
            for req in reqs:
                self._back_on_duty(req)

    def _break(self, req: simpy.resources.resource.Request, duration_min: float):
        yield req
        yield self.env.timeout(duration_min)
        self._back_on_duty(req)

    def _go_off_duty(self) -> simpy.resources.resource.PriorityRequest:
        """A high-priority request: takes the next engineer to finish with a visitor."""
        engineers = cast(simpy.PriorityResource, self.engineers)  # rosters that vary only
        req = engineers.request(priority=OFF_DUTY_PRIORITY, preempt=False)
        req.callbacks.append(self._log_off_duty)
        return req

    def _log_off_duty(self, _event) -> None:
        self.off_duty_times.append(self.env.now)
        self.off_duty_deltas.append(1)

    def _back_on_duty(self, req: simpy.resources.resource.Request) -> None:
        if req.triggered:
            self.engineers.release(req)
            self.off_duty_times.append(self.env.now)
            self.off_duty_deltas.append(-1)
        else:
            req.cancel()

    def _closer(self):
        """Fire `closing` at every closing time, so visitors still queueing can be sent away."""
        env = self.env
        for close in self.windows[:, 1].tolist():
            if close > env.now:
                yield env.timeout(close - env.now)
            self.closing.succeed()
            self.closing = env.event()

    def _visit(self, i: int):
        env, v = self.env, self.visits
        v.arrive_min[i] = env.now  # the clock's own value, so no wait is negative by rounding
        if self.balk_queue is not None and self.waiting >= self.balk_queue:
            v.outcome[i] = BALKED
            return
        req = (
            cast(simpy.PriorityResource, self.engineers).request(priority=VISITOR_PRIORITY)
            if self.varies
            else self.engineers.request()
        )
        if not req.triggered:
            self.waiting += 1
            if v.patience_min is None and not self.send_away:
                yield req
            else:
                gives_up = env.timeout(v.patience_min[i]) if v.patience_min is not None else None
                closes = self.closing if self.send_away else None
                yield env.any_of([e for e in (req, gives_up, closes) if e is not None])
                if not req.triggered:
                    req.cancel()
                    self.waiting -= 1
                    v.left_queue_min[i] = env.now
                    sent_away = closes is not None and closes.triggered
                    v.outcome[i] = TURNED_AWAY if sent_away else RENEGED
                    return
            self.waiting -= 1
        v.start_min[i] = env.now
        v.outcome[i] = IN_SERVICE
        yield env.timeout(v.service_min[i])
        if v.fix_draw[i] < v.fix_prob[i]:
            v.outcome[i] = FIXED
        elif v.swappable[i] and self.stock[v.device[i]].take():
            yield env.timeout(v.swap_min[i])
            v.outcome[i] = SWAPPED
        else:
            v.stockout[i] = bool(v.swappable[i])
            v.outcome[i] = ESCALATED
        self.engineers.release(req)
        v.end_min[i] = env.now
