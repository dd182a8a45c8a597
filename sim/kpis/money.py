"""The business case of one site: its costs and benefits per year, and their present values over
the appraisal period.

- Per-year figures annualise what happened over the measured period (the horizon after the
  warm-up): a total over that period ÷ its length in years (365.25 days).
- Engineer-days come from the plan that was simulated: one for each engineer-slot (shift), the
  k-th engineer of a desk on a day it opens (those it sends to pop-ups included) or of a pop-up's
  mobile team on a visit day. A pop-up staffed from its home desk has no shifts of its own: its
  engineers are on the desk's roster. An engineer-day costs
  ``costs.engineer_gbp_per_fte_year / costs.engineer_days_per_fte_year``.
- A permanent desk runs from the start of the measured period, or from its ``opened`` date if
  later; it holds its base stock of swap units throughout.
- Present values (HM Treasury Green Book): set-up costs in year 0, undiscounted; the measured
  period's annual costs and benefits in each of years 1..``appraisal_years``, discounted at
  ``discount_rate``; every cost uplifted by ``optimism_bias``. The programme's own set-up cost
  (``costs.setup_gbp``) belongs to no site: it is added to the force-wide figures only
  (``programme_costs``).
"""

from __future__ import annotations

import numpy as np

from sim.calendar import MIN_PER_DAY
from sim.kpis.ingredients import Ingredients, MoneyIngredients
from sim.model import DESK, ReplicationRecord, SiteRecord
from sim.plan import Plan, compile_plan
from sim.scenario import Costs, Scenario

DAYS_PER_YEAR = 365.25
MIN_PER_YEAR = DAYS_PER_YEAR * MIN_PER_DAY


def annuity_factor(rate: float, years: int) -> float:
    """Present value of £1 a year at the end of each of years 1..`years`, discounted at `rate`
    a year: Σ (1 + rate)^-t = (1 − (1 + rate)^-years) / rate."""
    if rate == 0:
        return float(years)
    return (1 - (1 + rate) ** -years) / rate


def measured_years(rec: ReplicationRecord) -> float:
    return (rec.horizon_min - rec.warmup_min) / MIN_PER_YEAR


def engineer_days(plan: Plan, home: str, t0: float, t1: float) -> int:
    """Engineer-days the plan rosters for `home` (a desk, or a pop-up's mobile team) on days
    starting in [t0, t1): one for each engineer-slot (shift)."""
    starts = plan.shift_days(home) * MIN_PER_DAY
    return int(((starts >= t0) & (starts < t1)).sum())


def running_share(scenario: Scenario, name: str, t0: float, t1: float) -> float:
    """Share of the measured period [t0, t1) a permanent desk runs: from its `opened` date."""
    site = next(s for s in scenario.sites if s.name == name)
    if site.opened is None:
        return 1.0
    opened_min = (site.opened - scenario.start_date).days * MIN_PER_DAY
    return float(np.clip((t1 - max(t0, opened_min)) / (t1 - t0), 0.0, 1.0))


def money_ingredients(
    site: SiteRecord,
    rec: ReplicationRecord,
    scenario: Scenario,
    escalated_devices: int,
    value_saved_gbp: float,
    calls_avoided: int,
) -> MoneyIngredients:
    """The site's costs and benefits: `escalated_devices` (visits escalated about a device),
    `value_saved_gbp` (officer time) and `calls_avoided` (incidents resolved at the site, not
    induced) over the measured period."""
    c = scenario.costs
    t0, t1 = rec.warmup_min, rec.horizon_min
    years = measured_years(rec)
    plan = rec.plan if rec.plan is not None else compile_plan(scenario)
    days = engineer_days(plan, site.name, t0, t1) / years
    is_desk = site.kind == DESK
    units = sum(pool.base_stock for pool in site.stock) if is_desk else 0
    engineers = days * c.engineer_gbp_per_fte_year / c.engineer_days_per_fte_year
    desks = c.desk_gbp_per_year * running_share(scenario, site.name, t0, t1) if is_desk else 0.0
    stock = units * c.stock_gbp_per_unit_year
    escalations = escalated_devices / years * c.rtb_gbp_per_escalation
    setup = (c.setup_gbp_per_desk + units * c.stock_gbp_per_unit) if is_desk else 0.0
    calls = calls_avoided / years
    saved = calls * c.sd_usd_per_call * c.gbp_per_usd
    value = value_saved_gbp / years
    pv_benefits, pv_costs = present_values(
        c, value + saved, engineers + desks + stock + escalations, setup
    )
    return {
        "engineer_days_per_year": days,
        "cost_engineers_gbp_per_year": engineers,
        "cost_desks_gbp_per_year": desks,
        "cost_stock_gbp_per_year": stock,
        "cost_escalations_gbp_per_year": escalations,
        "setup_cost_gbp": setup,
        "sd_calls_avoided_per_year": calls,
        "sd_cost_saved_gbp_per_year": saved,
        "value_saved_gbp_per_year": value,
        "pv_benefits_gbp": pv_benefits,
        "pv_costs_gbp": pv_costs,
    }


def present_values(
    c: Costs, benefit_per_year: float, cost_per_year: float, setup: float
) -> tuple[float, float]:
    """(PV of benefits, PV of costs with optimism bias) over the appraisal period."""
    a = annuity_factor(c.discount_rate, c.appraisal_years)
    return benefit_per_year * a, (setup + cost_per_year * a) * (1 + c.optimism_bias)


def programme_costs(g: Ingredients, scenario: Scenario) -> Ingredients:
    """Force-wide ingredients with the programme's own set-up cost added (year 0)."""
    c = scenario.costs
    out = g.copy()
    out["setup_cost_gbp"] = g["setup_cost_gbp"] + c.setup_gbp
    out["pv_costs_gbp"] = g["pv_costs_gbp"] + c.setup_gbp * (1 + c.optimism_bias)
    return out
