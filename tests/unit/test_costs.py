"""Costs, benefits and the appraisal: closed forms on deterministic desks, and the definitions
holding on every replication of the default scenario.

Tolerances: `pytest.approx` at its default relative 1e-6 where both sides are the same
arithmetic done in a different order (floating-point rounding only); the Green Book check uses
the rounding of its published table (4 decimal places).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.kpis import ALL, KPIS, replication_kpis
from sim.kpis.money import DAYS_PER_YEAR, annuity_factor
from sim.model import run_replication
from sim.report.assumptions import register, register_for
from sim.scenario import default_scenario_path, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SWAP = ROOT / "experiments" / "validation" / "swap_stock.toml"
MMC = ROOT / "experiments" / "validation" / "mmc.toml"
NO_COSTS = [
    "costs.engineer_gbp_per_fte_year=0",
    "costs.desk_gbp_per_year=0",
    "costs.stock_gbp_per_unit_year=0",
    "costs.stock_gbp_per_unit=0",
    "costs.rtb_gbp_per_escalation=0",
    "costs.setup_gbp_per_desk=0",
    "costs.setup_gbp=0",
]


def _kpis(scenario, replication=0) -> pd.DataFrame:
    return replication_kpis(scenario, run_replication(scenario, seed=0, replication=replication))


def _all(scenario) -> pd.Series:
    k = _kpis(scenario)
    return k[k.site == ALL].set_index("metric")["value"]


# --------------------------------------------------------------------------- appraisal arithmetic


def test_annuity_factor_matches_the_green_book_discount_factors():
    """Green Book discount factors at 3.5 % for years 1-5, as published to 4 decimal places:
    0.9662, 0.9335, 0.9019, 0.8714, 0.8420 (sum 4.5150); five roundings of ≤ 0.00005 each."""
    assert annuity_factor(0.035, 5) == pytest.approx(4.5150, abs=5 * 0.00005)


@pytest.mark.parametrize("rate, years", [(0.035, 1), (0.035, 30), (0.1, 7), (0.0, 12)])
def test_annuity_factor_is_the_sum_of_discount_factors(rate, years):
    direct = sum((1 + rate) ** -t for t in range(1, years + 1))
    assert annuity_factor(rate, years) == pytest.approx(direct)


# --------------------------------------------------------------------------- deterministic desks


def _round_the_clock(stock: int, extra=()):
    """One engineer, open 24/7, a laptop fault walking in every 4 h, seen at once for 10 min,
    swapped in 5 min while stock lasts (units return after 100 days: never within 2 weeks), 3 days
    by the service desk."""
    return load_scenario(
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
            *extra,
        ],
    )


def test_every_cost_and_benefit_of_a_deterministic_desk_is_its_closed_form():
    s = _round_the_clock(stock=2)
    c = s.costs
    got = _all(s)
    years = 14 / DAYS_PER_YEAR
    n = 14 * 24 / 4  # walk-ins: 84, two swapped, the rest escalated for want of stock
    assert (got["walkins"], got["swaps"], got["escalated"]) == (n, 2, n - 2)
    # open every day with one engineer: 365.25 engineer-days a year
    assert got["engineer_days_per_year"] == pytest.approx(DAYS_PER_YEAR)
    per_day = c.engineer_gbp_per_fte_year / c.engineer_days_per_fte_year
    assert got["cost_engineers_gbp_per_year"] == pytest.approx(DAYS_PER_YEAR * per_day)
    assert got["cost_desks_gbp_per_year"] == pytest.approx(c.desk_gbp_per_year)
    assert got["cost_stock_gbp_per_year"] == pytest.approx(2 * c.stock_gbp_per_unit_year)
    escalations = (n - 2) / years * c.rtb_gbp_per_escalation
    assert got["cost_escalations_gbp_per_year"] == pytest.approx(escalations)
    cost = DAYS_PER_YEAR * per_day + c.desk_gbp_per_year + 2 * c.stock_gbp_per_unit_year
    assert got["cost_gbp_per_year"] == pytest.approx(cost + escalations)
    # benefits: the two swaps are calls the service desk does not take
    assert got["sd_calls_avoided_per_year"] == pytest.approx(2 / years)
    saved = 2 / years * c.sd_usd_per_call * c.gbp_per_usd
    assert got["sd_cost_saved_gbp_per_year"] == pytest.approx(saved)
    days_saved = 2 * (3 - 15 / 1440) - (n - 2) * 10 / 1440  # escalated: 10 minutes lost
    value = days_saved * s.value.hours_lost_per_downtime_day * s.value.gbp_per_officer_hour
    assert got["value_saved_gbp_per_year"] == pytest.approx(value / years)
    benefit = value / years + saved
    assert got["benefit_gbp_per_year"] == pytest.approx(benefit)
    assert got["net_benefit_gbp_per_year"] == pytest.approx(benefit - cost - escalations)
    # set-up in year 0: the desk, its two swap units and the programme
    setup = c.setup_gbp_per_desk + 2 * c.stock_gbp_per_unit + c.setup_gbp
    assert got["setup_cost_gbp"] == pytest.approx(setup)
    a = sum(1.035**-t for t in range(1, 6))  # the default: 3.5 % over 5 years
    pv_costs = (setup + (cost + escalations) * a) * (1 + c.optimism_bias)
    assert got["pv_benefits_gbp"] == pytest.approx(benefit * a)
    assert got["pv_costs_gbp"] == pytest.approx(pv_costs)
    assert got["npv_gbp"] == pytest.approx(benefit * a - pv_costs)
    assert got["benefit_cost_ratio"] == pytest.approx(benefit * a / pv_costs)


@pytest.mark.parametrize("horizon, warmup", [(2, 0), (3, 1), (6, 4)])
def test_a_deterministic_desks_engineer_days_times_their_cost_is_its_annual_cost(horizon, warmup):
    """Mon-Fri with 3, 2, 2, 2, 1 engineers: 10 engineer-days a week whatever the horizon and
    warm-up, since per-year figures annualise the measured period."""
    s = load_scenario(
        SWAP,
        [
            f"horizon_weeks={horizon}",
            f"warmup_weeks={warmup}",
            'sites.0.days=["Mon","Tue","Wed","Thu","Fri"]',
            'sites.0.open="08:30"',
            'sites.0.close="17:00"',
            "sites.0.engineers=[3,2,2,2,1]",
            "costs.engineer_gbp_per_fte_year=52000",
            "costs.engineer_days_per_fte_year=208",
            *NO_COSTS[1:],
        ],
    )
    got = _all(s)
    days = 10 * DAYS_PER_YEAR / 7
    assert got["engineer_days_per_year"] == pytest.approx(days)
    assert got["cost_gbp_per_year"] == pytest.approx(days * 52000 / 208)  # £250 a day
    assert got["cost_gbp_per_year"] == got["cost_engineers_gbp_per_year"]


@pytest.mark.parametrize("rate, years", [(0.035, 5), (0.0, 10), (0.1, 30)])
def test_npv_of_a_constant_annual_net_benefit_is_the_annuity_formula(rate, years):
    """With no set-up cost and no optimism bias, NPV = net benefit a year × (1 − (1+r)^−n) / r
    (× n at r = 0)."""
    s = _round_the_clock(
        5,
        [
            *NO_COSTS[2:],  # engineers and the desk still cost something every year
            f"costs.discount_rate={rate}",
            f"costs.appraisal_years={years}",
            "costs.optimism_bias=0",
        ],
    )
    got = _all(s)
    factor = years if rate == 0 else (1 - (1 + rate) ** -years) / rate
    assert got["cost_gbp_per_year"] > 0 and got["setup_cost_gbp"] == 0
    assert got["npv_gbp"] == pytest.approx(got["net_benefit_gbp_per_year"] * factor)


def test_optimism_bias_uplifts_costs_only():
    base = _all(_round_the_clock(2, ["costs.optimism_bias=0"]))
    biased = _all(_round_the_clock(2, ["costs.optimism_bias=0.5"]))
    assert biased["pv_costs_gbp"] == pytest.approx(1.5 * base["pv_costs_gbp"])
    assert biased["pv_benefits_gbp"] == base["pv_benefits_gbp"]
    # the per-year figures are the estimates themselves, without the uplift
    for m in ("cost_gbp_per_year", "net_benefit_gbp_per_year"):
        assert biased[m] == base[m]


def test_a_desk_that_opens_halfway_through_the_measured_period_runs_for_half_of_it():
    s = _round_the_clock(2, ["sites.0.opened=2019-12-09"])  # the Monday of week 2
    assert s.start_date.isoformat() == "2019-12-02"
    assert _all(s)["cost_desks_gbp_per_year"] == pytest.approx(s.costs.desk_gbp_per_year / 2)


# --------------------------------------------------------------------------- the default scenario


@pytest.fixture(scope="module")
def default_kpis():
    s = load_scenario(None, ["horizon_weeks=2"])
    return s, pd.concat([_kpis(s, r) for r in range(3)], ignore_index=True)


def test_engineer_days_of_the_default_come_from_its_rosters(default_kpis):
    """Each desk's weekly roster (engineers sent to pop-ups included) plus each mobile team's
    visit: no engineer counted twice, none left out."""
    s, k = default_kpis
    per_week = sum(sum(site.engineers_by_weekday()) for site in s.sites)
    per_week += sum(p.engineers for p in s.popups if p.mobile_team)
    days = k[k.metric == "engineer_days_per_year"].set_index(["replication", "site"])["value"]
    assert days.xs(ALL, level="site").to_numpy() == pytest.approx(per_week * DAYS_PER_YEAR / 7)
    fresh_wharf = s.sites[0]
    expected = sum(fresh_wharf.engineers_by_weekday()) * DAYS_PER_YEAR / 7
    assert days.xs(fresh_wharf.name, level="site").to_numpy() == pytest.approx(expected)
    staffed_from_desk = next(p for p in s.popups if not p.mobile_team)
    assert (days.xs(staffed_from_desk.name, level="site") == 0).all()


def test_the_money_definitions_hold_on_every_replication_and_site(default_kpis):
    _, k = default_kpis
    w = k.pivot_table(index=["replication", "site"], columns="metric", values="value")
    parts = [
        "cost_engineers_gbp_per_year",
        "cost_desks_gbp_per_year",
        "cost_stock_gbp_per_year",
        "cost_escalations_gbp_per_year",
    ]
    benefit = w["value_saved_gbp_per_year"] + w["sd_cost_saved_gbp_per_year"]
    assert np.allclose(w["cost_gbp_per_year"], w[parts].sum(axis=1), rtol=1e-12)
    assert np.allclose(w["benefit_gbp_per_year"], benefit, rtol=1e-12)
    net = w["benefit_gbp_per_year"] - w["cost_gbp_per_year"]
    assert np.allclose(w["net_benefit_gbp_per_year"], net, rtol=1e-12)
    assert np.allclose(w["npv_gbp"], w["pv_benefits_gbp"] - w["pv_costs_gbp"], rtol=1e-12)
    costed = w["pv_costs_gbp"] > 0
    bcr = w["pv_benefits_gbp"][costed] / w["pv_costs_gbp"][costed]
    assert np.allclose(w["benefit_cost_ratio"][costed], bcr, rtol=1e-12)
    assert w["benefit_cost_ratio"][~costed].isna().all()
    assert ((w["npv_gbp"] > 0) == (w["benefit_cost_ratio"] > 1))[costed].all()
    per_call = w["sd_cost_saved_gbp_per_year"] / w["sd_calls_avoided_per_year"]
    assert np.allclose(per_call.dropna(), 22 * 0.783, rtol=1e-12)  # £17.23 [S] MetricNet, IMF


def test_per_year_figures_add_up_over_sites_and_set_up_adds_the_programme(default_kpis):
    s, k = default_kpis
    sites = [x.name for x in s.sites] + [p.name for p in s.popups]
    w = k.pivot_table(index=["replication", "site"], columns="metric", values="value")
    for m in ("cost_gbp_per_year", "benefit_gbp_per_year", "engineer_days_per_year"):
        by_site = w[m].unstack("site")
        assert np.allclose(by_site[sites].sum(axis=1), by_site[ALL], rtol=1e-9), m
    setup = w["setup_cost_gbp"].unstack("site")
    desks = len(s.sites) * s.costs.setup_gbp_per_desk
    units = sum(sum(x.swap_stock.values()) for x in s.sites) * s.costs.stock_gbp_per_unit
    assert np.allclose(setup[ALL], desks + units + s.costs.setup_gbp)
    assert np.allclose(setup[sites].sum(axis=1), desks + units)


# --------------------------------------------------------------------------- titles and register


def test_every_money_kpi_says_its_period():
    money = [k for k in KPIS.values() if "£" in k.unit or "£" in k.title]
    assert len(money) >= 12
    for k in money:
        period = ("per year", "appraisal period", "once")
        assert any(p in k.unit for p in period) and any(p in k.title for p in period), k.name
    assert "value_saved_gbp" not in KPIS  # replaced by value_saved_gbp_per_year


def test_the_assumptions_register_lists_every_cost_input_with_unit_and_source():
    s = load_scenario()
    reg = register_for(None, s).set_index("key")
    keys = [f"costs.{name}" for name in type(s.costs).model_fields]
    assert len(keys) == 13 and set(keys) <= set(reg.index)
    for key in keys:
        assert reg.loc[key, "unit"], key
        assert "[S]" in reg.loc[key, "label"] or "[A]" in reg.loc[key, "label"], key
    assert reg.loc["costs.discount_rate", "label"] == "[S]"
    assert "Green Book" in reg.loc["costs.discount_rate", "source"]
    assert reg.loc["costs.sd_usd_per_call", "unit"] == "US$ per call"


def test_a_file_without_costs_still_gives_each_cost_input_its_source():
    s = load_scenario(MMC)
    reg = register(s, MMC.read_text(encoding="utf-8")).set_index("key")
    assert reg.loc["costs.discount_rate", "label"] == "[default] [S]"
    assert "HM Treasury Green Book" in reg.loc["costs.discount_rate", "source"]
    assert "[A]" in reg.loc["costs.engineer_gbp_per_fte_year", "label"]
    assert default_scenario_path().read_text(encoding="utf-8").count("[costs]") == 1
