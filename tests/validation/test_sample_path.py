"""Sample-path identities (Little's law) and a deterministic case with exactly known totals."""

import numpy as np
import pandas as pd
import pytest

from sim.analytic import scv_of_mixture
from sim.kpis import busy_step, queue_step, replication_kpis
from sim.model import run_replication
from sim.scenario import load_scenario
from sim.service import BALKED, SWAPPED


def test_littles_law_holds_on_the_default_scenario():
    s = load_scenario(None, ["horizon_weeks=8"])
    rec = run_replication(s, seed=4, replication=0)
    for site in rec.sites:
        v = site.visits
        start, left = np.asarray(v.start_min), np.asarray(v.left_queue_min)
        leave = np.where(~np.isnan(start), start, left)
        in_queue = np.where(np.asarray(v.outcome) == BALKED, 0.0, leave - v.arrive_min)
        assert not np.isnan(in_queue).any()  # every visitor has left the queue by the horizon
        horizon = rec.horizon_min
        lam = len(v) / horizon
        L = queue_step(site, horizon).integral(0, horizon) / horizon
        assert pytest.approx(lam * in_queue.mean(), rel=1e-9) == L
        # engineers busy: mean busy = λ · mean service time (of those seen)
        seen = ~np.isnan(start)
        busy = busy_step(site, horizon).integral(0, horizon) / horizon
        assert busy == pytest.approx(lam * (np.asarray(v.end_min) - start)[seen].sum() / len(v))
        swapped = np.asarray(v.outcome) == SWAPPED
        engineer_time = v.service_min + np.where(swapped, v.swap_min, 0)
        assert (np.asarray(v.end_min) - start)[seen] == pytest.approx(engineer_time[seen])


def test_mean_busy_engineers_equal_offered_load_of_those_seen():
    """Little's law for servers with the model's own service distribution: busy engineer-time
    per visitor seen = E[S] (+ swap handovers), within 3 standard errors of the sample mean."""
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
        busy += busy_step(site, rec.horizon_min).integral(0, rec.horizon_min)
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
