"""The desk reproduces queueing theory when configured to its assumptions (VALIDATION.md):
one desk open around the clock, Poisson walk-ins, FCFS, no breaks."""

import math

import numpy as np
import pytest

from sim.analytic import ErlangA, MMc, MMcK, pollaczek_khinchine_wq
from sim.scenario import load_scenario
from tests.validation.helpers import assert_agrees, kpi_samples

MIN_PER_HOUR = 60

# (λ per hour, μ per hour, c): light, medium, heavy (ρ = 0.83, 0.89) traffic
ERLANG_C_CASES = [
    pytest.param(1.0, 1.5, 2, id="light-rho0.33"),
    pytest.param(6.0, 3.0, 3, id="rho0.67"),
    pytest.param(10.0, 4.0, 3, id="heavy-rho0.83"),
    pytest.param(4.0, 1.5, 3, id="heavy-rho0.89"),
]


def mmc_scenario(mmc_path, lam, mu, c, weeks, *extra):
    return load_scenario(
        mmc_path,
        [
            f"sites.0.walkin_rate_per_hour={lam}",
            f"sites.0.engineers={c}",
            f'tiers.L1.service_min={{dist="exponential", mean={60 / mu}}}',
            f"horizon_weeks={weeks}",
            "warmup_weeks=1",
            *extra,
        ],
    )


@pytest.mark.parametrize("lam, mu, c", ERLANG_C_CASES)
def test_mmc_waits_queue_and_utilisation_match_erlang_c(mmc_path, lam, mu, c):
    q = MMc(lam, mu, c)
    weeks = 9 if q.rho < 0.85 else 25
    s = kpi_samples(mmc_scenario(mmc_path, lam, mu, c, weeks), reps=20)
    assert_agrees(s["wait_mean_min"], q.wq * MIN_PER_HOUR, 0.02, "Wq (min)")
    assert_agrees(s["queue_len_mean"], q.lq, 0.02, "Lq")
    assert_agrees(s["utilisation"], q.rho, 0.01, "utilisation")
    sl_target_h = 15 / MIN_PER_HOUR
    assert_agrees(s["service_level"], q.service_level(sl_target_h), 0.02, "P(Wq <= 15 min)")
    assert s["balked"].sum() == s["reneged"].sum() == 0


def test_mmc_heavy_traffic_is_not_mistaken_for_lighter_load(mmc_path):
    """Guard against a check that passes whatever the model does: one engineer more than
    the theory assumes gives a mean wait far outside the Erlang C tolerance."""
    wrong = kpi_samples(mmc_scenario(mmc_path, 4.0, 1.5, 4, 9), reps=10)["wait_mean_min"]
    assert wrong.mean() < 0.3 * MMc(4.0, 1.5, 3).wq * MIN_PER_HOUR


def test_mmc_wait_matches_erlang_c_in_heavy_traffic(mmc_path):
    """ρ = 0.95: the queue relaxes over about 1/(cμ(1 − √ρ)²) ≈ 260 h (M/M/1's relaxation
    time at the pooled rate cμ), so a 4-week warm-up (≈ 2.6 relaxation times) and 48 measured
    weeks a replication; with 20 replications the tolerance still tells ρ = 0.95 from a load
    one point either side."""
    lam, mu, c = 5.7, 2.0, 3
    q = MMc(lam, mu, c)
    assert q.rho >= 0.95
    s = kpi_samples(mmc_scenario(mmc_path, lam, mu, c, 52, "warmup_weeks=4"), reps=20)
    assert_agrees(s["wait_mean_min"], q.wq * MIN_PER_HOUR, 0.02, "Wq (min)")
    assert_agrees(s["queue_len_mean"], q.lq, 0.02, "Lq")
    assert_agrees(s["utilisation"], q.rho, 0.01, "utilisation")
    sl_target_h = 15 / MIN_PER_HOUR
    assert_agrees(s["service_level"], q.service_level(sl_target_h), 0.02, "P(Wq <= 15 min)")
    # the check has power: the tolerance on Wq excludes a load one point lower or higher
    waits = s["wait_mean_min"]
    tol = 3 * waits.std(ddof=1) / np.sqrt(len(waits)) + 0.02 * q.wq * MIN_PER_HOUR
    for other in (0.94, 0.96):
        wq_other = MMc(other * c * mu, mu, c).wq * MIN_PER_HOUR
        assert abs(wq_other - q.wq * MIN_PER_HOUR) > tol, (other, wq_other, tol)


def test_single_engineer_matches_mm1_closed_forms(mmc_path):
    """c = 1 (M/M/1) against its own closed forms, not the Erlang C route: P(wait) = ρ,
    Wq = ρ/(μ − λ), Lq = ρ²/(1 − ρ), P(Wq > t) = ρ e^{−(μ−λ)t}, so the 90th percentile wait
    of those seen is ln(10ρ)/(μ − λ)."""
    lam, mu = 3.0, 4.0  # 15-minute service, ρ = 0.75; relaxation 1/(μ(1 − √ρ)²) ≈ 14 h
    rho = lam / mu
    wq_h = rho / (mu - lam)
    assert MMc(lam, mu, 1).wq == pytest.approx(wq_h)  # the Erlang C route agrees at c = 1
    s = kpi_samples(mmc_scenario(mmc_path, lam, mu, 1, 13), reps=20)
    assert_agrees(s["wait_mean_min"], wq_h * MIN_PER_HOUR, 0.02, "Wq (min)")
    assert_agrees(s["queue_len_mean"], rho**2 / (1 - rho), 0.02, "Lq")
    assert_agrees(s["utilisation"], rho, 0.01, "utilisation")
    sl_target_h = 15 / MIN_PER_HOUR
    within = 1 - rho * math.exp(-(mu - lam) * sl_target_h)
    assert_agrees(s["service_level"], within, 0.02, "P(Wq <= 15 min)")
    p90_h = math.log(10 * rho) / (mu - lam)
    assert_agrees(s["wait_p90_min"], p90_h * MIN_PER_HOUR, 0.02, "90th-percentile wait")


@pytest.mark.parametrize(
    "lam, mean_min, c, cv",
    [
        pytest.param(4.0, 40.0, 3, 0.6, id="scv0.36-rho0.89"),
        pytest.param(5.0, 30.0, 3, 1.2, id="scv1.44-rho0.83"),
        pytest.param(3.0, 15.0, 1, 1.0, id="mg1-scv1.0-rho0.75"),
    ],
)
def test_lognormal_service_matches_allen_cunneen(mmc_path, lam, mean_min, c, cv):
    from sim.analytic import allen_cunneen_wq

    s = mmc_scenario(
        mmc_path,
        lam,
        60 / mean_min,
        c,
        25,
        f'tiers.L1.service_min={{dist="lognormal", mean={mean_min}, cv={cv}}}',
    )
    expected = allen_cunneen_wq(lam, 60 / mean_min, c, scv_service=cv**2) * MIN_PER_HOUR
    waits = kpi_samples(s, reps=20)["wait_mean_min"]
    assert_agrees(waits, expected, 0.10, "Wq vs Allen–Cunneen")


def test_mg1_lognormal_matches_pollaczek_khinchine_exactly(mmc_path):
    lam, es_h, cv = 3.0, 0.25, 1.3  # ρ = 0.75
    s = mmc_scenario(
        mmc_path,
        lam,
        1 / es_h,
        1,
        25,
        f'tiers.L1.service_min={{dist="lognormal", mean={es_h * 60}, cv={cv}}}',
    )
    es2 = (1 + cv**2) * es_h**2
    expected = pollaczek_khinchine_wq(lam, es_h, es2) * MIN_PER_HOUR
    assert_agrees(kpi_samples(s, reps=20)["wait_mean_min"], expected, 0.02, "M/G/1 Wq")


def test_tier_mixture_service_matches_allen_cunneen(mmc_path):
    """Three lognormal tiers: the mixture's squared CV drives the wait (VALIDATION.md)."""
    from sim.analytic import allen_cunneen_wq, scv_of_mixture

    p, means, cvs = [0.6, 0.3, 0.1], [10.0, 30.0, 45.0], [0.9, 0.9, 0.9]
    es = sum(pi * m for pi, m in zip(p, means, strict=True))
    lam, c = 7.5, 3  # ρ ≈ 0.81
    tiers = [
        f'tiers.L{i + 1}={{share={pi}, service_min={{dist="lognormal", mean={m}, cv={cv}}}}}'
        for i, (pi, m, cv) in enumerate(zip(p, means, cvs, strict=True))
    ]
    s = load_scenario(
        mmc_path,
        [
            f"sites.0.walkin_rate_per_hour={lam}",
            f"sites.0.engineers={c}",
            "horizon_weeks=25",
            "warmup_weeks=1",
            *tiers,
        ],
    )
    scv = scv_of_mixture(p, means, [v**2 for v in cvs])
    expected = allen_cunneen_wq(lam, 60 / es, c, scv_service=scv) * MIN_PER_HOUR
    assert_agrees(kpi_samples(s, reps=20)["wait_mean_min"], expected, 0.10, "Wq, tier mix")


@pytest.mark.parametrize(
    "lam",
    [
        pytest.param(4.0, id="rho0.89"),
        pytest.param(5.85, id="overloaded-rho1.3"),
        pytest.param(9.0, id="overloaded-rho2"),
    ],
)
def test_reneging_and_the_wait_of_everyone_match_erlang_a(mmc_path, lam):
    """Erlang A (M/M/c+M) holds below and above saturation: the share reneging, the mean
    wait of every arrival (served or not) and Lq."""
    mu, c, patience_min = 1.5, 3, 30.0
    s = mmc_scenario(
        mmc_path, lam, mu, c, 9, f'service.patience_min={{dist="exponential", mean={patience_min}}}'
    )
    e = ErlangA(lam, mu, c, theta=MIN_PER_HOUR / patience_min)
    k = kpi_samples(s, reps=20)
    assert_agrees(k["renege_rate"], e.p_abandon, 0.02, "P(renege)")
    assert_agrees(k["wait_all_mean_min"], e.wq * MIN_PER_HOUR, 0.02, "Wq of all arrivals")
    # Lq = λ·Wq over all arrivals (served and reneging)
    assert_agrees(k["queue_len_mean"], e.lq, 0.02, "Lq")
    assert_agrees(1 - k["utilisation"] * c / (lam / mu), e.p_abandon, 0.05, "1 − served load")
    assert (k["balk_rate"] == 0).all()  # no balking configured


@pytest.mark.parametrize(
    "lam, balk_queue",
    [pytest.param(4.0, 2, id="rho0.89-K5"), pytest.param(6.0, 3, id="overloaded-rho1.3-K6")],
)
def test_balking_at_a_full_queue_matches_mmck(mmc_path, lam, balk_queue):
    """Balking when `balk_queue` are waiting is M/M/c/K with K = c + balk_queue: the share
    balking is P(K in system), Lq and the wait of those seen follow."""
    mu, c = 1.5, 3
    s = mmc_scenario(mmc_path, lam, mu, c, 9, f"service.balk_queue={balk_queue}")
    q = MMcK(lam, mu, c, c + balk_queue)
    k = kpi_samples(s, reps=20)
    assert_agrees(k["balk_rate"], q.p_block, 0.02, "P(balk)")
    assert_agrees(k["queue_len_mean"], q.lq, 0.02, "Lq")
    assert_agrees(k["wait_mean_min"], q.wq_admitted * MIN_PER_HOUR, 0.02, "Wq of those seen")
