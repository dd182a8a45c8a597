"""A desk's visitors are chains of callbacks, not SimPy processes (to save the start and end
event of a process per visitor). This checks the claim that makes that safe: every record of a
run (each visitor's times and outcome, every engineer move) is the same to the bit as with a
textbook process per visitor, written here as the reference, in scenarios that exercise every
path of a visit (balking, reneging, being sent away at closing, swaps and stock-outs, pop-ups
and breaks)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

import sim.model
from sim.experiment.calibrate import TRIAL_SCENARIO
from sim.model import run_replication
from sim.scenario import load_scenario
from sim.service import (
    BALKED,
    ESCALATED,
    FIXED,
    IN_SERVICE,
    RENEGED,
    SWAPPED,
    TURNED_AWAY,
    Desk,
)


class ProcessPerVisitorDesk(Desk):
    """The reference: the arrivals and each visitor a SimPy process. Its `_visit` is the desk's
    visitor code as it was before visitors became callbacks, kept verbatim (numpy draws, SimPy's
    process and any-of): do not share code with `sim.service`, or it would check itself."""

    made = 0  # desks of this kind built: the reference did run

    def __init__(self, *args, **kwargs):
        type(self).made += 1
        super().__init__(*args, **kwargs)

    def _arrivals(self):
        env = self.env
        for i, t in enumerate(self.visits.arrive_min.tolist()):
            if t > env.now:
                yield env.timeout(t - env.now)
            env.process(self._visit(i))

    def _visit(self, i: int):
        env, v = self.env, self.visits
        v.arrive_min[i] = env.now
        queue = self.queue
        if self.balk_queue is not None and len(queue) >= self.balk_queue:
            v.outcome[i] = BALKED
            return
        if self.free:
            self.free -= 1
        else:
            seen = env.event()
            queue.append(seen)
            if v.patience_min is None and not self.send_away:
                yield seen
            else:
                gives_up = env.timeout(v.patience_min[i]) if v.patience_min is not None else None
                closes = self.closing if self.send_away else None
                yield env.any_of([e for e in (seen, gives_up, closes) if e is not None])
                if not seen.triggered:
                    queue.remove(seen)
                    v.left_queue_min[i] = env.now
                    sent_away = closes is not None and closes.triggered
                    v.outcome[i] = TURNED_AWAY if sent_away else RENEGED
                    if self.finishing:
                        self._check_done()
                    return
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
        v.end_min[i] = env.now
        self._engineer_free()


SWAP = Path(__file__).resolve().parents[2] / "experiments" / "validation" / "swap_stock.toml"
SHORT = {"horizon_weeks": 6}
CASES = {
    "default, short": (None, SHORT),
    "one engineer a desk, impatient": (
        None,
        {
            **SHORT,
            "sites.*.engineers": 1,
            "service.patience_min": {"dist": "exponential", "mean": 10},
        },
    ),
    "sent away at closing, balking at 3": (
        None,
        {
            **SHORT,
            "sites.*.engineers": 1,
            "service.at_close": "send_away",
            "service.balk_queue": 3,
        },
    ),
    "no patience, no balking": (
        None,
        {**SHORT, "service.patience_min": None, "service.balk_queue": None},
    ),
    "visits soon after opening": (None, {**SHORT, "demand.deferred_visit": "after_opening"}),
    "trial": (TRIAL_SCENARIO, {}),
    "swap stock": (SWAP, {}),
}


def _records(rec) -> dict:
    out: dict = {}
    for s in rec.sites:
        v = s.visits
        for f in ("arrive_min", "start_min", "end_min", "left_queue_min", "outcome", "stockout"):
            out[s.name, f] = np.asarray(getattr(v, f))
    e = rec.engineers
    for f in ("time", "home", "site", "state", "delta"):
        out["engineers", f] = np.asarray(getattr(e, f))
    return out


@functools.cache
def _ours(case: str) -> dict:
    """The case's records with the model's own desks (simulated once for both tests)."""
    path, overrides = CASES[case]
    return _records(run_replication(load_scenario(path, overrides), 7, 3))


@pytest.mark.parametrize("case", list(CASES))
def test_callback_visitors_match_a_process_per_visitor(case, monkeypatch) -> None:
    path, overrides = CASES[case]
    scenario = load_scenario(path, overrides)
    ours = _ours(case)
    monkeypatch.setattr(sim.model, "Desk", ProcessPerVisitorDesk)
    before = ProcessPerVisitorDesk.made
    reference = _records(run_replication(scenario, 7, 3))
    assert ProcessPerVisitorDesk.made == before + len(scenario.sites) + len(scenario.popups)
    assert ours.keys() == reference.keys()
    for key, mine in ours.items():
        np.testing.assert_array_equal(mine, reference[key], err_msg=str(key))
    outcomes = np.concatenate([v for (_, f), v in ours.items() if f == "outcome"])
    assert len(outcomes) > 100  # the case has visitors to compare


def test_cases_reach_every_outcome() -> None:
    """Between them the cases above take every path of a visit, so the comparison covers each."""
    seen: set[int] = set()
    for case in CASES:
        for (_, field), values in _ours(case).items():
            if field == "outcome":
                seen |= set(values.tolist())
    assert {FIXED, ESCALATED, SWAPPED, BALKED, RENEGED, TURNED_AWAY} <= seen
