"""Swap stock against Palm's theorem, conservation of units, and exact downtime saved."""

from pathlib import Path

import numpy as np
import pytest

from sim.analytic import erlang_b
from sim.kpis import replication_kpis
from sim.model import run_replication
from sim.scenario import DEVICES, load_scenario
from sim.service import SWAPPED
from tests.validation.helpers import assert_agrees, kpi_samples

SWAP = Path(__file__).resolve().parents[2] / "experiments" / "validation" / "swap_stock.toml"
LAPTOP = DEVICES.index("laptop")


@pytest.mark.parametrize(
    "repair_days",
    [
        '{dist="fixed", value=5}',
        '{dist="exponential", mean=5}',
        '{dist="lognormal", mean=5, cv=1.5}',
    ],
    ids=["fixed", "exponential", "lognormal"],
)
@pytest.mark.parametrize("base_stock", [3, 5])
def test_lost_sales_fill_rate_is_one_minus_erlang_b_whatever_the_turnaround(
    repair_days, base_stock
):
    s = load_scenario(
        SWAP, [f"stock.repair_days={repair_days}", f"sites.0.swap_stock.laptop={base_stock}"]
    )
    m = 0.5 * 5  # swaps per day × mean turnaround in days
    fill = kpi_samples(s, reps=30)["fill_rate"]
    assert_agrees(fill, 1 - erlang_b(base_stock, m), 0.02, f"fill rate S={base_stock}")


def test_fill_rate_check_can_fail_a_wrong_stock_level():
    s = load_scenario(SWAP, ["sites.0.swap_stock.laptop=2"])
    fill = kpi_samples(s, reps=10)["fill_rate"].mean()
    assert fill < 1 - erlang_b(3, 2.5) - 0.1


@pytest.mark.parametrize("policy", ["one_for_one", "periodic"])
def test_units_are_conserved_at_all_times(policy):
    overrides = ["horizon_weeks=30", "sites.0.swap_stock.laptop=4"]
    if policy == "periodic":
        overrides += ['stock.policy="periodic"', "stock.review_days=7"]
    s = load_scenario(SWAP, overrides)
    rec = run_replication(s, seed=2, replication=0)
    site = rec.sites[0]
    pool = site.stock[LAPTOP]
    level = np.asarray(pool.log_on_hand)
    assert level.min() >= 0 and level.max() <= 4
    steps = np.diff(level)
    swapped = int((np.asarray(site.visits.outcome) == SWAPPED).sum())
    assert (steps < 0).sum() == pool.swaps == swapped
    assert steps[steps > 0].sum() == pool.returns
    # on hand + away = S, at every change and at the end
    away = np.cumsum(np.r_[0, -steps])
    assert np.all(level + away == 4)
    assert pool.on_hand + pool.away == 4
    if policy == "periodic":
        # replacements arrive only from orders placed at weekly reviews, 5 days (fixed) later
        back = np.asarray(pool.log_time)[1:][steps > 0]
        assert len(back) > 0
        assert np.allclose((back - 5 * 1440) % (7 * 1440), 0)


def test_periodic_review_fills_less_than_one_for_one_at_the_same_stock():
    base = ["sites.0.swap_stock.laptop=4", "horizon_weeks=60"]
    one = kpi_samples(load_scenario(SWAP, base), reps=10)["fill_rate"].mean()
    periodic = kpi_samples(
        load_scenario(SWAP, [*base, 'stock.policy="periodic"', "stock.review_days=14"]), reps=10
    )["fill_rate"].mean()
    assert periodic < one - 0.05


def _deterministic(stock: int):
    s = load_scenario(
        SWAP,
        [
            "horizon_weeks=2",
            "warmup_weeks=0",
            "sites.0.engineers=1",
            "sites.0.walkin_rate_per_hour=0.25",
            'sites.0.walkin_process="regular"',
            'tiers.L1.service_min={dist="fixed", value=10}',
            'service.swap_min={dist="fixed", value=5}',
            f"sites.0.swap_stock.laptop={stock}",
            'stock.repair_days={dist="fixed", value=100}',
        ],
    )
    k = replication_kpis(s, run_replication(s, seed=0, replication=0))
    return k[k.site == "ALL"].set_index("metric")["value"]


def test_downtime_saved_is_exact_in_a_deterministic_case():
    """A laptop fault every 4 h, seen at once for 10 min, swapped in 5 min, 3 days by the
    service desk: each ticket saves 3 days − 15 min."""
    got = _deterministic(stock=1000)
    n = 2 * 7 * 24 / 4
    assert got["walkins"] == n and got["swaps"] == n and got["stockouts"] == 0
    per_ticket = 3 - 15 / (24 * 60)
    assert got["downtime_saved_days_per_ticket"] == pytest.approx(per_ticket)
    assert got["downtime_saved_days_per_ticket_laptop"] == pytest.approx(per_ticket)
    assert got["downtime_saved_h"] == pytest.approx(n * per_ticket * 24)
    assert got["officer_hours_saved"] == pytest.approx(n * per_ticket * 1.0)
    assert got["value_saved_gbp_per_year"] == pytest.approx(n * per_ticket * 36.51 / (14 / 365.25))
    assert got["ftf_rate"] == 1.0 and got["fill_rate"] == 1.0


def test_downtime_saved_with_no_stock_is_the_time_lost_at_the_desk():
    """With no stock every swap is a stock-out: the 10 minutes at the desk are lost."""
    got = _deterministic(stock=2)
    n = 2 * 7 * 24 / 4
    assert got["swaps"] == 2 and got["stockouts"] == n - 2
    expected = (2 * (3 - 15 / 1440) - (n - 2) * 10 / 1440) / n
    assert got["downtime_saved_days_per_ticket"] == pytest.approx(expected)
    assert got["fill_rate"] == pytest.approx(2 / n)
    assert got["escalated"] == n - 2
