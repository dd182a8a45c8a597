"""The desk: where a visitor's journey is decided.

A visitor walks in, balks if too many are waiting, else queues first come first served for an
engineer; may renege after their patience runs out; is seen for a time that depends on the
support tier; and leaves with the fault fixed on site, or swapped for a unit from the desk's stock
(extra handover time), or escalated to the return-to-base route (not swappable, or no unit on
hand).

Every random quantity of a visit (tier, service time, patience, outcome draw, swap handover) was
drawn with its incident (``sim/arrivals.py``), so the same visitor gets the same draws whatever
the staffing, demand or opening hours: comparisons between scenarios are paired visit by visit.

Engineers come and go as the plan (``sim/plan.py``) says: the roster changes at each opening,
and engineers leave for breaks and pop-up visits, each once the visitor in hand is finished. A
desk counts its engineers itself (on duty, free, leaving) instead of using a SimPy resource, so a
departure is O(1) however long the queue. Every move of an engineer (on duty at a site,
travelling, on a break) is logged, for utilisation and to check the plan was kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import simpy

from sim.arrivals import Walkins
from sim.plan import AT_SITE, BREAK, DESK, TRAVEL, SitePlan
from sim.scenario import DEVICES, Scenario
from sim.stock import StockPool


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
NO_DEVICE = -1


@dataclass
class Visits:
    """Per-visitor inputs (sampled before the run) and results (filled in by the run)."""

    arrive_min: np.ndarray
    category: np.ndarray
    induced: np.ndarray
    incident_min: np.ndarray
    baseline_days: np.ndarray  # service-desk resolution time without Tech Bars (counterfactual)
    catchment: np.ndarray  # whose users: the index of their catchment's site (scenario order)
    device: np.ndarray  # index into DEVICES, or NO_DEVICE
    swappable: np.ndarray  # bool: an unfixed fault can be swapped from stock
    tier: np.ndarray
    service_min: np.ndarray
    swap_min: np.ndarray  # extra engineer time if swapped
    patience_min: np.ndarray | None
    fix_prob: np.ndarray  # probability fixed on site (category's, else tier's)
    fix_draw: np.ndarray  # uniform draw compared with fix_prob
    # results: lists while the run fills them in (fast to set one by one), arrays after it
    start_min: list | np.ndarray = field(default_factory=list)
    end_min: list | np.ndarray = field(default_factory=list)
    left_queue_min: list | np.ndarray = field(default_factory=list)
    outcome: list | np.ndarray = field(default_factory=list)
    stockout: list | np.ndarray = field(default_factory=list)

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

    def results_as_arrays(self) -> None:
        """Once the run is over: its results as numpy arrays, converted once for every reader."""
        self.start_min = np.asarray(self.start_min)
        self.end_min = np.asarray(self.end_min)
        self.left_queue_min = np.asarray(self.left_queue_min)
        self.outcome = np.asarray(self.outcome)
        self.stockout = np.asarray(self.stockout)


def visits_of(scenario: Scenario, walkins: Walkins) -> Visits:
    """A site's visitors: each walk-in with the draws its incident carries, and what its
    category and tier make of them (device, swappable, fix probability)."""
    categories = list(scenario.categories.values())
    cat = walkins.category
    device = np.asarray(
        [DEVICES.index(c.device) if c.device else NO_DEVICE for c in categories], dtype=int
    )[cat]
    swappable = np.asarray([c.device is not None and c.swappable for c in categories], bool)[cat]
    tier_fix = np.asarray([t.fix_prob for t in scenario.tiers.values()])[walkins.tier]
    cat_fix = np.asarray([np.nan if c.fix_prob is None else c.fix_prob for c in categories])[cat]
    return Visits(
        arrive_min=walkins.time_min.copy(),
        category=cat,
        induced=walkins.induced,
        incident_min=walkins.incident_min,
        catchment=walkins.catchment,
        baseline_days=walkins.baseline_days,
        device=device,
        swappable=swappable,
        tier=walkins.tier,
        service_min=walkins.service_min,
        swap_min=walkins.swap_min,
        patience_min=None if scenario.service.patience_min is None else walkins.patience_min,
        fix_prob=np.where(np.isnan(cat_fix), tier_fix, cat_fix),
        fix_draw=walkins.fix_draw,
    )


# why an engineer is waiting to leave (once the visitor in hand is finished)
OFF, ON_BREAK, TO_POPUP = 0, 1, 2


def _nothing() -> None:
    return None


class Desk:
    """One desk's (or pop-up visit's) engineers and queue in a SimPy environment.

    Engineers are counted: `present` on duty here, of whom `free` are idle; visitors waiting for
    an engineer queue first come first served in `queue`; engineers due to leave (off duty, on
    a break, for a pop-up) wait in `leaving` and take precedence over the queue, so each leaves
    as soon as the visitor in hand is finished.
    """

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        plan: SitePlan,
        visits: Visits,
        stock: list[StockPool],
        log: list[tuple[float, str, str, str, int]],
    ):
        self.env = env
        self.plan = plan
        self.name = plan.name
        self.visits = visits
        self.windows = plan.windows
        # whose engineers work here: the desk's own, a pop-up's home desk's, or its mobile team
        self.home: str = plan.name
        if plan.kind != DESK and not plan.mobile_team and plan.home is not None:
            self.home = plan.home
        self.log = log  # (time, home, site, state, ±1): every move of every engineer
        self.balk_queue = scenario.service.balk_queue
        self.send_away = scenario.service.at_close == "send_away"
        self.stock = stock  # one pool per device type, in DEVICES order
        self.present = 0
        self.free = 0
        self.on_break = 0
        self.rostered = 0
        self.queue: deque[simpy.Event] = deque()
        self.leaving: deque[tuple[int, Callable[[], None]]] = deque()
        self.finishing = False  # a pop-up: its visit has closed; engineers go once all are seen
        self.home_desk: Desk | None = None  # a pop-up staffed from a desk: that desk
        self.popups: dict[str, Desk] = {}  # a desk: the pop-ups its engineers visit
        self.closing: simpy.Event = env.event()
        # each visitor's draws as Python numbers, read one at a time (faster than numpy
        # scalars, and the clock stays a Python float: the same values, to the bit)
        self._arrive_times: list[float] = visits.arrive_min.tolist()
        self._service_min: list[float] = visits.service_min.tolist()
        self._swap_min: list[float] = visits.swap_min.tolist()
        self._patience_min: list[float] | None = (
            None if visits.patience_min is None else visits.patience_min.tolist()
        )
        self._fixed: list[bool] = (visits.fix_draw < visits.fix_prob).tolist()
        self._swappable: list[bool] = visits.swappable.tolist()
        self._device: list[int] = visits.device.tolist()
        env.process(self._arrivals())
        env.process(self._follow_plan())
        if self.send_away:
            env.process(self._closer())

    @property
    def waiting(self) -> int:
        return len(self.queue)

    # ---------------------------------------------------------------- the plan, followed

    def _agenda(self) -> list[tuple[float, int, int, Callable[[Any], None], Any]]:
        p = self.plan
        out: list[tuple[float, int, Callable[[Any], None], Any]] = []
        if p.kind == DESK:
            previous = 0.0
            for t, r in zip(p.roster_times.tolist(), p.roster_values.tolist(), strict=True):
                if r != previous:
                    out.append((t, 0, self._roster, r))
                previous = r
            out += [(trip.leave_min, 2, self._send, trip) for trip in p.trips]
        else:
            for s, e in p.windows.tolist():
                out.append((s - p.travel_min, 0, self._open, None))
                if p.mobile_team:
                    out.append((s, 1, self._team_arrives, p.engineers))
                out.append((e, 3, self._close, None))
        out += [(b, 2, self._take_break, d) for b, d in p.breaks]
        return [(t, k, i, fn, arg) for i, (t, k, fn, arg) in enumerate(out)]

    def _follow_plan(self):
        env = self.env
        for t, _, _, fn, arg in sorted(self._agenda(), key=lambda a: a[:3]):
            if t > env.now:
                yield env.timeout(t - env.now)
            fn(arg)

    def _roster(self, rostered: float) -> None:
        """The day's roster: engineers come on duty, or go off once their visitor is done."""
        delta = int(rostered) - self.rostered
        self.rostered = int(rostered)
        if delta > 0:
            delta -= self._cancel(OFF, delta)
        for _ in range(delta):
            self._arrive()
        for _ in range(-delta):
            self._depart(OFF, _nothing)

    def _take_break(self, duration_min: float) -> None:
        self._depart(ON_BREAK, lambda: self._on_break(duration_min))

    def _on_break(self, duration_min: float) -> None:
        self.on_break += 1
        self.log.append((self.env.now, self.home, self.name, BREAK, 1))
        self.env.timeout(duration_min).callbacks.append(self._back_from_break)

    def _back_from_break(self, _event) -> None:
        self.on_break -= 1
        self.log.append((self.env.now, self.home, self.name, BREAK, -1))
        self._arrive()

    def _send(self, trip) -> None:
        """A desk's engineers leave for a pop-up visit (each once their visitor is done)."""
        popup = self.popups[trip.popup]
        for _ in range(trip.engineers):
            self._depart(TO_POPUP, lambda: self._travel(self, popup, trip.travel_min))

    def _travel(self, origin: Desk, to: Desk, travel_min: float) -> None:
        """An engineer of `self.home` travels between a desk and a pop-up (logged at the pop-up)."""
        popup = to if origin.plan.kind == DESK else origin
        self.log.append((self.env.now, self.home, popup.name, TRAVEL, 1))

        def arrive(_event) -> None:
            self.log.append((self.env.now, self.home, popup.name, TRAVEL, -1))
            to._arrive()

        self.env.timeout(travel_min).callbacks.append(arrive)

    def _open(self, _) -> None:
        self.finishing = False

    def _team_arrives(self, engineers: int) -> None:
        for _ in range(engineers):
            self._arrive()

    def _close(self, _) -> None:
        """A pop-up's slot ends: breaks not yet begun are dropped, and once its last visitor is
        seen to its engineers go home."""
        self.finishing = True
        self._cancel(ON_BREAK, len(self.leaving))
        self._check_done()

    def _check_done(self) -> None:
        if (
            self.finishing
            and self.present
            and self.free == self.present
            and not self.queue
            and not self.on_break
        ):
            while self.present:
                self.free -= 1
                self._leave(self._go_home)

    def _go_home(self) -> None:
        if self.home_desk is not None:  # a mobile team is simply off
            self._travel(self, self.home_desk, self.plan.travel_min)

    # ---------------------------------------------------------------- engineers

    def _arrive(self) -> None:
        """An engineer comes on duty here."""
        self.present += 1
        self.log.append((self.env.now, self.home, self.name, AT_SITE, 1))
        self._engineer_free()

    def _engineer_free(self) -> None:
        """An engineer is free: leaves if due to, else takes the next visitor, else waits."""
        if self.leaving:
            self._leave(self.leaving.popleft()[1])
        elif self.queue:
            self.queue.popleft().succeed()
        else:
            self.free += 1
            if self.finishing:
                self._check_done()

    def _depart(self, why: int, then: Callable[[], None]) -> None:
        if self.free:
            self.free -= 1
            self._leave(then)
        else:
            self.leaving.append((why, then))

    def _leave(self, then: Callable[[], None]) -> None:
        self.present -= 1
        self.log.append((self.env.now, self.home, self.name, AT_SITE, -1))
        then()

    def _cancel(self, why: int, n: int) -> int:
        """Withdraw up to `n` of the latest departures pending for `why`; how many were."""
        kept, cancelled = deque[tuple[int, Callable[[], None]]](), 0
        for item in reversed(self.leaving):
            if item[0] == why and cancelled < n:
                cancelled += 1
            else:
                kept.appendleft(item)
        self.leaving = kept
        return cancelled

    # ---------------------------------------------------------------- visitors
    #
    # A visitor is a chain of callbacks on SimPy events, not a process of its own, and each
    # arrival's timeout calls the next walk-ins directly. Each step schedules exactly the events
    # a process per visitor would (its service and swap timeouts, its patience timeout, SimPy's
    # any-of event that ends its wait in the queue) at the same moments and in the same order,
    # so a run's outputs are the same to the bit (tests/unit/test_visitor_callbacks.py), with
    # about 40 % fewer events (no process start and end per visitor), no generator to resume.

    def _arrivals(self):
        """A process only to wait for the first arrival; each arrival then schedules the next."""
        env, times = self.env, self._arrive_times
        if not times:
            return
        if times[0] > env.now:
            yield env.timeout(times[0] - env.now)
        self._walk_ins_from(0)

    def _walk_ins_from(self, i: int) -> None:
        """Visitors i, i + 1, … arriving now walk in, once the next arrival is scheduled (as it
        would be were each visitor a process, started only after the arrivals had waited)."""
        env, times = self.env, self._arrive_times
        now, n, j = env.now, len(times), i + 1
        while j < n and not times[j] > now:
            j += 1
        if j < n:
            env.timeout(times[j] - now).callbacks.append(lambda _: self._walk_ins_from(j))
        walk_in = self._walk_in
        for k in range(i, j):
            walk_in(k)

    def _closer(self):
        """Fire `closing` at every closing time, so visitors still queueing can be sent away."""
        env = self.env
        for close in self.windows[:, 1].tolist():
            if close > env.now:
                yield env.timeout(close - env.now)
            self.closing.succeed()
            self.closing = env.event()

    def _walk_in(self, i: int) -> None:
        """Visitor i arrives: balks, is seen at once, or queues."""
        env, v = self.env, self.visits
        v.arrive_min[i] = env.now  # the clock's own value, so no wait is negative by rounding
        queue = self.queue
        if self.balk_queue is not None and len(queue) >= self.balk_queue:
            v.outcome[i] = BALKED
            return
        if self.free:
            self.free -= 1
            self._serve(i)
            return
        seen = env.event()  # succeeds when an engineer takes this visitor
        queue.append(seen)
        patience = self._patience_min
        if patience is None and not self.send_away:
            seen.callbacks.append(lambda _: self._serve(i))
            return
        # wait for the first of: an engineer, the end of patience, the desk closing
        gives_up = env.timeout(patience[i]) if patience is not None else None
        closes = self.closing if self.send_away else None
        first = env.any_of([e for e in (seen, gives_up, closes) if e is not None])
        first.callbacks.append(lambda _: self._stop_waiting(i, seen, closes))

    def _stop_waiting(self, i: int, seen: simpy.Event, closes: simpy.Event | None) -> None:
        """Visitor i stops waiting: taken by an engineer, or leaves the queue unseen."""
        if seen.triggered:
            self._serve(i)
            return
        v = self.visits
        self.queue.remove(seen)
        v.left_queue_min[i] = self.env.now
        sent_away = closes is not None and closes.triggered
        v.outcome[i] = TURNED_AWAY if sent_away else RENEGED
        if self.finishing:
            self._check_done()

    def _serve(self, i: int) -> None:
        v = self.visits
        v.start_min[i] = self.env.now
        v.outcome[i] = IN_SERVICE
        self.env.timeout(self._service_min[i]).callbacks.append(lambda _: self._served(i))

    def _served(self, i: int) -> None:
        """Visitor i's fault is fixed, or the device swapped (more engineer time), or escalated."""
        v = self.visits
        if self._fixed[i]:
            v.outcome[i] = FIXED
        elif self._swappable[i] and self.stock[self._device[i]].take():
            self.env.timeout(self._swap_min[i]).callbacks.append(lambda _: self._swapped(i))
            return
        else:
            v.stockout[i] = self._swappable[i]
            v.outcome[i] = ESCALATED
        self._done(i)

    def _swapped(self, i: int) -> None:
        self.visits.outcome[i] = SWAPPED
        self._done(i)

    def _done(self, i: int) -> None:
        self.visits.end_min[i] = self.env.now
        self._engineer_free()
