"""The analytic oracles reproduce the published values in VALIDATION.md."""

import math

import numpy as np
import pytest

from sim.analytic import (
    ErlangA,
    MMc,
    MMcK,
    allen_cunneen_wq,
    desk_day,
    desk_generator,
    empty_after_close,
    erlang_b,
    erlang_c,
    erlang_c_staffing,
    halfin_whitt_alpha,
    pollaczek_khinchine_wq,
    propagate,
    scv_of_mixture,
    square_root_staffing,
)


@pytest.mark.parametrize(
    "lam, mu, c, p_wait, wq_min, lq",
    [
        (4, 1.5, 3, 0.797508, 95.7009, 6.380062),
        (4, 1.5, 4, 0.378418, 11.3525, 0.756837),
        (6, 3, 3, 0.444444, 8.8889, 0.888889),
        (10, 4, 3, 0.702247, 21.0674, 3.511236),
    ],
)
def test_erlang_c_table_matches_validation_doc(lam, mu, c, p_wait, wq_min, lq):
    q = MMc(lam, mu, c)
    assert q.p_wait == pytest.approx(p_wait, abs=1e-6)
    assert q.wq * 60 == pytest.approx(wq_min, abs=1e-4)
    assert q.lq == pytest.approx(lq, abs=1e-6)


def test_erlang_b_recursion_small_cases():
    assert erlang_b(0, 2.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)


def test_erlang_c_is_one_when_unstable():
    assert erlang_c(2, 2.0) == 1.0
    assert MMc(3, 1, 3).wq == math.inf


def test_wait_tail_is_exponential_in_time():
    q = MMc(4, 1.5, 3)
    assert q.p_wait_longer(0) == pytest.approx(q.p_wait)
    assert q.p_wait_longer(0.5) == pytest.approx(q.p_wait * math.exp(-0.5 * 0.5))


def test_staffing_check_30_per_hour_5_minute_service_needs_6():
    assert erlang_c_staffing(30, 12, max_p_wait=0.10) == 6


def test_erlang_a_example_matches_garnett_mandelbaum_reiman():
    e = ErlangA(4, 1.5, 3, theta=2)
    assert e.p_wait == pytest.approx(0.474494, abs=1e-6)
    assert e.wq * 60 == pytest.approx(5.9820, abs=1e-4)
    assert e.p_abandon == pytest.approx(0.199399, abs=1e-6)


def test_erlang_a_limits_erlang_c_and_poisson_occupancy():
    assert ErlangA(4, 1.5, 3, theta=1e-7).wq == pytest.approx(MMc(4, 1.5, 3).wq, rel=1e-4)
    # θ = μ: occupancy is Poisson(a), so P(wait) = P(N >= c)
    from scipy.stats import poisson

    assert ErlangA(4, 1.5, 3, theta=1.5).p_wait == pytest.approx(poisson.sf(2, 4 / 1.5), abs=1e-9)


@pytest.mark.parametrize("s, fill", [(3, 0.717833), (5, 0.930269)])
def test_palm_lost_sales_fill_rate(s, fill):
    assert 1 - erlang_b(s, 2.5) == pytest.approx(fill, abs=1e-6)


def test_allen_cunneen_scales_erlang_c_by_variability():
    base = MMc(4, 1.5, 3).wq
    assert allen_cunneen_wq(4, 1.5, 3, scv_service=1.0) == pytest.approx(base)
    assert allen_cunneen_wq(4, 1.5, 3, scv_service=0.0) == pytest.approx(base / 2)


def test_pollaczek_khinchine_reduces_to_mm1():
    lam, mu = 0.8, 1.0
    assert pollaczek_khinchine_wq(lam, 1 / mu, 2 / mu**2) == pytest.approx(MMc(lam, mu, 1).wq)


def test_scv_of_tier_mixture():
    # one tier: its own scv
    assert scv_of_mixture([1.0], [10], [0.6]) == pytest.approx(0.6)
    # two exponential tiers with different means are more variable than exponential
    assert scv_of_mixture([0.5, 0.5], [10, 30], [1, 1]) > 1


def test_square_root_staffing_returns_integer_near_erlang_c():
    a = 4 / 1.5
    c = square_root_staffing(a, 0.2)
    assert c == erlang_c_staffing(4, 1.5, max_p_wait=0.2)
    assert halfin_whitt_alpha(0.0) == pytest.approx(1.0)


# a long day at a constant rate settles to the stationary queue: the chain's last hours
DAY = (0, 24 * 60)


def test_desk_day_settles_to_mmck_at_a_constant_rate():
    lam, mu, c, cap = 4.0, 1.5, 3, 3
    day = desk_day([lam] * 24, *DAY, c, 60 / mu, cap)
    q = MMcK(lam, mu, c, c + cap)
    assert day.p_close == pytest.approx(q.p, abs=1e-9)
    assert day.waiting_by_hour[-1] == pytest.approx(q.lq, rel=1e-9)
    assert day.arrivals == pytest.approx(24 * lam)
    # it starts empty, so the first hour's queue is shorter than the stationary one
    assert day.waiting_by_hour[0] < 0.5 * q.lq


def test_desk_day_settles_to_erlang_a_with_a_queue_cap_never_reached():
    lam, mu, c, patience_min = 5.85, 1.5, 3, 30.0  # ρ = 1.3
    day = desk_day([lam] * 24, *DAY, c, 60 / mu, 60, patience_min)
    e = ErlangA(lam, mu, c, theta=60 / patience_min)
    assert day.waiting_by_hour[-1] == pytest.approx(e.lq, rel=1e-9)
    assert day.p_close[c:].sum() == pytest.approx(e.p_wait, rel=1e-9)
    assert day.balked < 1e-12


def test_emptying_after_close_matches_the_chain_run_on_with_arrivals_stopped():
    """The first-step recursion against the transient solution: θ·∫E[(N − c)⁺] reneging and
    ∫P(N > 0) dt until empty, integrated over 48 h (the chain empties within minutes)."""
    c, mu, theta, k = 2, 3.0, 2.0, 6
    p = np.full(k + 1, 1 / (k + 1))
    _, occupancy = propagate(p, desk_generator(0.0, mu, c, theta, k), 48.0)
    reneges, hours = empty_after_close(c, mu, theta, k)
    n = np.arange(k + 1)
    assert p @ reneges == pytest.approx(theta * occupancy @ np.maximum(n - c, 0), rel=1e-9)
    assert p @ hours == pytest.approx(occupancy[1:].sum(), rel=1e-9)


def test_desk_day_follows_the_clock_hours_it_is_open():
    rates = [0.0] * 8 + [3.0] * 4 + [0.0] * 12  # walk-ins 08:00–12:00 only
    day = desk_day(rates, 8.5 * 60, 17 * 60, 2, 20.0, 3, 30.0)
    assert day.hours.tolist() == list(range(8, 17))
    assert day.open_min_by_hour.tolist() == [30.0] + [60.0] * 8
    assert day.arrivals == pytest.approx(3.0 * 3.5)
    assert day.served + day.reneged + day.balked == pytest.approx(day.arrivals)
    assert day.waiting_by_hour[-1] < 1e-6  # long empty by 16:00
    assert day.overtime_min < 1e-4  # one still in service after 5 quiet hours: P ≈ e^{-15}
    with pytest.raises(ValueError):
        desk_day(rates[:23], 0, 60, 1, 20.0, 3)


def test_uniformisation_agrees_with_the_matrix_exponential():
    """`propagate` against scipy's matrix exponential of Van Loan's block [[Q, I], [0, 0]]·t,
    whose top row is [e^{Qt}, ∫₀ᵗ e^{Qs} ds] (Van Loan 1978)."""
    from scipy.linalg import expm

    q = desk_generator(4.0, 1.5, 2, 2.0, 5)
    p = np.r_[1.0, np.zeros(5)]
    t = 1.5
    block = np.zeros((12, 12))
    block[:6, :6], block[:6, 6:] = q * t, np.eye(6) * t
    e = expm(block)
    at_t, occupancy = propagate(p, q, t)
    assert at_t == pytest.approx(p @ e[:6, :6], abs=1e-13)
    assert occupancy == pytest.approx(p @ e[:6, 6:], abs=1e-13)
    assert occupancy.sum() == pytest.approx(t)
