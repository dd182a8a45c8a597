"""Sample-path checks: Little's law between the desk's own queue and the visit records, the
bookkeeping that turns visit records into queue and busy step functions, and a deterministic
case with exactly known totals."""

from collections import deque

import numpy as np
import pandas as pd
import pytest

import sim.model
from sim.analytic import scv_of_mixture
from sim.kpis import busy_step, queue_step, replication_kpis
from sim.model import run_replication
from sim.scenario import load_scenario
from sim.service import BALKED, SWAPPED, Desk
from sim.stepfn import StepFn


class _LoggedQueue(deque):
    """A desk's queue that logs its length, with the clock, whenever it changes."""

    def __init__(self, env, log: list[tuple[float, int]]):
        super().__init__()
        self.env, self.log = env, log

    def append(self, x):
        super().append(x)
        self.log.append((self.env.now, len(self)))

    def popleft(self):
        x = super().popleft()
        self.log.append((self.env.now, len(self)))
        return x

    def remove(self, x):
        super().remove(x)
        self.log.append((self.env.now, len(self)))


@pytest.mark.parametrize("at_close", ["serve", "send_away"])
def test_littles_law_the_desks_own_queue_averages_arrival_rate_times_mean_wait(
    monkeypatch, at_close
):
    """L = λW on a sample path over the horizon [0, T] (Little 1961) between two independent
    measurements: L, the time-average up to T of the number each desk actually held in its
    queue (logged as the queue changed); λW, the rate of walk-ins who arrived before T times
    their mean time in queue up to T, from the visit records (arrival, start of service, giving
    up). The model runs on past T (the run-out, for deferred visits): those arriving after T
    are outside the window, and anyone still queueing at T counts only until T, which makes
    the identity exact for any window. The default scenario has balking, reneging, breaks and
    pop-ups; "send_away" empties the queue at closing. Both sides are sums of the same minutes
    in a different order, so they agree to rounding (relative 1e-9)."""
    logs: dict[str, list[tuple[float, int]]] = {}

    class ObservedDesk(Desk):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.queue = _LoggedQueue(self.env, logs.setdefault(self.name, []))

    monkeypatch.setattr(sim.model, "Desk", ObservedDesk)
    s = load_scenario(None, ["horizon_weeks=8", f'service.at_close="{at_close}"'])
    rec = run_replication(s, seed=4, replication=0)
    horizon = rec.horizon_min
    assert set(logs) == {site.name for site in rec.sites}
    queued_somewhere = run_out_arrivals = 0
    for site in rec.sites:
        t, length = np.asarray(logs[site.name], float).reshape(-1, 2).T  # empty: nobody queued
        live = StepFn.from_changes(t, np.diff(length, prepend=0.0))
        L = live.integral(0, horizon) / horizon
        v = site.visits
        before = v.arrive_min < horizon
        start, left = np.asarray(v.start_min)[before], np.asarray(v.left_queue_min)[before]
        leave = np.fmin(np.where(~np.isnan(start), start, left), horizon)
        balked = np.asarray(v.outcome)[before] == BALKED
        in_queue = np.where(balked, 0.0, leave - v.arrive_min[before])
        n = int(before.sum())
        lam = n / horizon
        assert lam * in_queue.sum() / max(n, 1) == pytest.approx(L, rel=1e-9), site.name
        queued_somewhere += L > 0
        run_out_arrivals += len(v) - n
    assert queued_somewhere >= len(s.sites)  # the check compares something at many sites
    assert run_out_arrivals > 0  # and some visits fell after the horizon, outside the window


def test_queue_and_busy_step_functions_add_up_to_the_visit_records():
    """An accounting identity, not Little's law: the queue and busy step functions the KPIs
    integrate are built from the visit records, so their areas over the whole run (the horizon
    and the run-out after it) are the records' summed time in queue and summed engineer time,
    and engineer time per visit is service plus any swap handover. Exact to rounding."""
    s = load_scenario(None, ["horizon_weeks=8"])
    rec = run_replication(s, seed=4, replication=0)
    end = rec.end_min
    assert end > rec.horizon_min
    for site in rec.sites:
        v = site.visits
        start, left = np.asarray(v.start_min), np.asarray(v.left_queue_min)
        leave = np.where(~np.isnan(start), start, left)
        in_queue = np.where(np.asarray(v.outcome) == BALKED, 0.0, leave - v.arrive_min)
        assert not np.isnan(in_queue).any()  # every visitor has left the queue by the end
        assert queue_step(site, end).integral(0, end) == pytest.approx(in_queue.sum(), rel=1e-9)
        # engineer time: the busy area is the summed service times of those seen
        seen = ~np.isnan(start)
        busy = busy_step(site, end).integral(0, end)
        assert busy == pytest.approx((np.asarray(v.end_min) - start)[seen].sum(), rel=1e-9)
        swapped = np.asarray(v.outcome) == SWAPPED
        engineer_time = v.service_min + np.where(swapped, v.swap_min, 0)
        assert (np.asarray(v.end_min) - start)[seen] == pytest.approx(engineer_time[seen])


def test_engineer_time_per_visitor_seen_matches_the_configured_mean_service_time():
    """Busy engineer-time per visitor seen is, by the bookkeeping above, the mean of the sampled
    service times (+ swap handovers); this checks that mean against the scenario's E[S] (the
    tier mixture) within 3 standard errors."""
    s = load_scenario(None, ["horizon_weeks=52"])
    rec = run_replication(s, seed=8, replication=0)
    tiers = list(s.tiers.values())
    es = sum(t.share * t.service_min.mean for t in tiers)
    scv = scv_of_mixture(
        [t.share for t in tiers],
        [t.service_min.mean for t in tiers],
        [t.service_min.scv for t in tiers],
    )
    seen = swaps = busy = 0.0
    for site in rec.sites:
        seen += (~np.isnan(np.asarray(site.visits.start_min))).sum()
        swaps += (np.asarray(site.visits.outcome) == SWAPPED).sum()
        busy += busy_step(site, rec.end_min).integral(0, rec.end_min)  # run-out included
    expected = es + swaps / seen * s.service.swap_min.mean
    se = es * np.sqrt(scv / seen)
    assert abs(busy / seen - expected) < 3 * se
    assert 3 * se < 0.02 * expected  # a tight check: ~35,000 visitors


# one engineer, open Mon 09:00–17:00, a visitor every 30 min, 45 min each
DETERMINISTIC_DESK = [
    "warmup_weeks=0",
    "sites.0.engineers=1",
    'sites.0.days=["Mon"]',
    "sites.0.open=09:00",
    "sites.0.close=17:00",
    "sites.0.walkin_rate_per_hour=2",
    'sites.0.walkin_process="regular"',
    'tiers.L1.service_min={dist="fixed", value=45}',
    "tiers.L1.fix_prob=1",
]


def _deterministic_kpis(mmc_path, *extra: str) -> pd.Series:
    s = load_scenario(mmc_path, [*DETERMINISTIC_DESK, *extra])
    k = replication_kpis(s, run_replication(s, seed=0, replication=0))
    return k[k.site == "desk"].set_index("metric")["value"]


def test_deterministic_desk_gives_exact_totals(mmc_path):
    """Visitor k waits 15k min; the day overruns to 21:00."""
    got = _deterministic_kpis(mmc_path, "horizon_weeks=2")
    assert got["walkins"] == 32 and got["served"] == 32
    assert got["wait_mean_min"] == pytest.approx(15 * 7.5)  # mean of 0, 15, …, 225
    assert got["wait_p95_min"] == pytest.approx(np.quantile(np.tile(15 * np.arange(16), 2), 0.95))
    assert got["service_level"] == pytest.approx(2 / 16)  # waits 0 and 15 are within 15 min
    assert got["overtime_min"] == pytest.approx(240)  # last of 16 ends at 09:00 + 16×45 = 21:00
    assert got["utilisation"] == pytest.approx(1.0)
    # ∫ queue over 09:00–17:00 = ∫ floor(t/30) − floor(t/45) dt = 3600 − 2325
    assert got["queue_len_mean"] == pytest.approx(1275 / 480)
    assert got["queue_len_max"] == 5
    assert got["ftf_rate"] == 1.0 and got["balked"] == got["reneged"] == 0


def test_send_away_at_close_turns_away_those_still_queueing(mmc_path):
    got = _deterministic_kpis(mmc_path, "horizon_weeks=1", 'service.at_close="send_away"')
    # started by 17:00: visitors k with 45k < 480 → k = 0..10; the other 5 are sent away
    assert got["served"] == 11 and got["turned_away"] == 5
    assert got["overtime_min"] == pytest.approx(11 * 45 - 480)
