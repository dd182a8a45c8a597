"""The KPI registry: each KPI defined once, with its unit, meaning and formula on ingredients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sim.kpis.ingredients import Ingredients
from sim.scenario import DEVICES
from sim.service import (
    FIXED,
    SWAPPED,
)

ALL = "ALL"
ALL_DESKS, ALL_POPUPS = "ALL_DESKS", "ALL_POPUPS"
HOURS_PER_DAY = 24
RESOLVED = (FIXED, SWAPPED)


@dataclass(frozen=True)
class KPI:
    name: str
    unit: str
    meaning: str
    formula: Callable[[Ingredients], float]
    title: str = ""  # for people: what it is, its unit and period
    direction: int = 0  # +1 higher is better, -1 higher is worse, 0 neither (a volume)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _quantile(waits: np.ndarray, q: float) -> float:
    return float(np.quantile(waits, q)) if len(waits) else float("nan")


def _saved_days_per_ticket(device: str) -> Callable[[Ingredients], float]:
    return lambda g: _ratio(
        g[f"saved_days_{device}"],  # type: ignore[literal-required]
        g[f"tickets_{device}"],  # type: ignore[literal-required]
    )


def _cost(g: Ingredients) -> float:
    return (
        g["cost_engineers_gbp_per_year"]
        + g["cost_desks_gbp_per_year"]
        + g["cost_stock_gbp_per_year"]
        + g["cost_escalations_gbp_per_year"]
    )


def _benefit(g: Ingredients) -> float:
    return g["value_saved_gbp_per_year"] + g["sd_cost_saved_gbp_per_year"]


KPIS: dict[str, KPI] = {
    k.name: k
    for k in [
        KPI("walkins", "visitors", "visitors who walked in to the desk", lambda g: g["walkins"]),
        KPI("served", "visitors", "visitors seen by an engineer", lambda g: g["served"]),
        KPI(
            "balked",
            "visitors",
            "visitors who left at once on seeing the queue",
            lambda g: g["balked"],
        ),
        KPI("reneged", "visitors", "visitors who gave up waiting", lambda g: g["reneged"]),
        KPI(
            "turned_away",
            "visitors",
            "visitors still queueing at closing time who were sent away",
            lambda g: g["turned_away"],
        ),
        KPI(
            "balk_rate",
            "share",
            "share of walk-ins who left at once on seeing the queue",
            lambda g: _ratio(g["balked"], g["walkins"]),
        ),
        KPI(
            "renege_rate",
            "share",
            "share of walk-ins who gave up waiting",
            lambda g: _ratio(g["reneged"], g["walkins"]),
        ),
        KPI(
            "wait_all_mean_min",
            "min",
            "mean time in the queue of every walk-in: those seen until seen, those who gave up "
            "or were turned away until they left, those who balked 0 (Erlang A's Wq)",
            lambda g: _ratio(g["wait_all_sum"], g["wait_all_n"]),
        ),
        KPI(
            "wait_mean_min",
            "min",
            "mean wait from walking in to being seen, of those seen",
            lambda g: float(np.mean(g["waits"])) if len(g["waits"]) else float("nan"),
        ),
        KPI(
            "wait_p90_min",
            "min",
            "90th percentile of wait, of those seen",
            lambda g: _quantile(g["waits"], 0.90),
        ),
        KPI(
            "wait_p95_min",
            "min",
            "95th percentile of wait, of those seen",
            lambda g: _quantile(g["waits"], 0.95),
        ),
        KPI(
            "service_level",
            "share",
            "share of visitors seen within the service-level target wait; those who balked, "
            "reneged or were turned away count as not seen in time",
            lambda g: _ratio(g["within_target"], g["walkins"] - g["queueing_end"]),
        ),
        KPI(
            "queue_len_mean",
            "visitors",
            "time-weighted mean number waiting (not yet seen) while the desk is open",
            lambda g: _ratio(g["queue_area"], g["open_time"]),
        ),
        KPI(
            "queue_len_first_hour",
            "visitors",
            "time-weighted mean number waiting in the first hour after each opening (the "
            "overnight, or week-long for a pop-up, build-up)",
            lambda g: _ratio(g["first_hour_area"], g["first_hour_time"]),
        ),
        KPI(
            "queue_len_max",
            "visitors",
            "largest number waiting at any moment while the desk is open",
            lambda g: g["queue_max"],
        ),
        KPI(
            "utilisation",
            "share",
            "engineer time spent serving while open ÷ engineer time on duty while open (the "
            "roster less breaks and pop-up duty)",
            lambda g: _ratio(g["busy_area"], g["on_duty_area"]),
        ),
        KPI(
            "overtime_min",
            "min per open day",
            "mean time past closing until the last visitor of the day is seen to",
            lambda g: _ratio(g["overtime_sum"], g["open_days"]),
        ),
        KPI(
            "ftf_rate",
            "share",
            "first-time fix: visits ending fixed on site or with a swap, of visits completed",
            lambda g: _ratio(g["fixed"] + g["swapped"], g["completed"]),
        ),
        KPI(
            "escalated",
            "visitors",
            "visits ending on the return-to-base route: not fixed and not swapped",
            lambda g: g["escalated"],
        ),
        KPI(
            "swaps",
            "visitors",
            "visits ending with a device swapped from stock",
            lambda g: g["swapped"],
        ),
        KPI(
            "stockouts",
            "visitors",
            "visits needing a swap when no unit of that device was on hand (sent return-to-base)",
            lambda g: g["stockouts"],
        ),
        KPI(
            "fill_rate",
            "share",
            "swaps ÷ visits needing a swap (swaps + stock-outs)",
            lambda g: _ratio(g["swapped"], g["swapped"] + g["stockouts"]),
        ),
        KPI(
            "downtime_saved_h",
            "h",
            "total time walk-in tickets were resolved sooner than by the service desk: per "
            "ticket, its service-desk resolution time minus (fault → walk-in + wait + service, "
            "plus the service-desk time when escalated, balked or reneged)",
            lambda g: g["saved_days"] * HOURS_PER_DAY,
        ),
        KPI(
            "downtime_saved_days_per_ticket",
            "days",
            "mean downtime saved per walk-in ticket (induced demand excluded)",
            lambda g: _ratio(g["saved_days"], g["tickets"]),
        ),
        *[
            KPI(
                f"downtime_saved_days_per_ticket_{d}",
                "days",
                f"mean downtime saved per walk-in ticket about a {d}",
                _saved_days_per_ticket(d),
            )
            for d in DEVICES
        ],
        KPI(
            "officer_hours_saved",
            "h",
            "productive officer-hours saved: days of downtime saved × value.hours_lost_per_"
            "downtime_day (an assumption)",
            lambda g: g["officer_hours_saved"],
        ),
        KPI(
            "sd_share_taken",
            "share",
            "incidents resolved at a Tech Bar (fixed or swapped; induced demand excluded) ÷ all "
            "incidents the service desk would have had without Tech Bars, both counted by when "
            "the incident arose (after the warm-up), visits in the run-out after the horizon "
            "included (incidents whose user would visit after the run-out are left out). Per "
            "desk or pop-up location: of its catchment's users, wherever "
            "they were seen (pop-up users who travelled to a desk count for their location; see "
            "walkins_travelled); for ALL, force-wide",
            lambda g: _ratio(g["resolved_sd"], g["sd_calls"]),
        ),
        KPI(
            "walkins_travelled",
            "visitors",
            "walk-ins from another catchment: users of a pop-up location who went to this desk "
            "because it opened before their next visit",
            lambda g: g["walkins_travelled"],
        ),
        KPI(
            "engineer_days_per_year",
            "engineer-days per year",
            "engineer-days in the plan, annualised over the measured period: each engineer "
            "rostered at a desk on a day it opens (those sent to pop-ups included) and each "
            "engineer of a pop-up's mobile team on a visit day",
            lambda g: g["engineer_days_per_year"],
        ),
        KPI(
            "cost_engineers_gbp_per_year",
            "£ per year",
            "engineer_days_per_year × costs.engineer_gbp_per_fte_year ÷ "
            "costs.engineer_days_per_fte_year",
            lambda g: g["cost_engineers_gbp_per_year"],
        ),
        KPI(
            "cost_desks_gbp_per_year",
            "£ per year",
            "costs.desk_gbp_per_year for each permanent desk, for the share of the measured "
            "period after it opened",
            lambda g: g["cost_desks_gbp_per_year"],
        ),
        KPI(
            "cost_stock_gbp_per_year",
            "£ per year",
            "units of swap stock at the desks × costs.stock_gbp_per_unit_year",
            lambda g: g["cost_stock_gbp_per_year"],
        ),
        KPI(
            "cost_escalations_gbp_per_year",
            "£ per year",
            "visits about a device escalated to return-to-base, per year × "
            "costs.rtb_gbp_per_escalation",
            lambda g: g["cost_escalations_gbp_per_year"],
        ),
        KPI(
            "cost_gbp_per_year",
            "£ per year",
            "running cost: engineers + desks + swap stock holding + escalation logistics (set-up "
            "and optimism bias not included)",
            _cost,
        ),
        KPI(
            "setup_cost_gbp",
            "£ once",
            "one-off set-up cost: costs.setup_gbp_per_desk + base stock × costs.stock_gbp_per_unit "
            "for each permanent desk; for ALL, also costs.setup_gbp (optimism bias not included)",
            lambda g: g["setup_cost_gbp"],
        ),
        KPI(
            "sd_calls_avoided_per_year",
            "calls per year",
            "incidents resolved at a Tech Bar (fixed or swapped; induced demand excluded) that "
            "would have been service-desk calls, annualised over the measured period",
            lambda g: g["sd_calls_avoided_per_year"],
        ),
        KPI(
            "sd_cost_saved_gbp_per_year",
            "£ per year",
            "sd_calls_avoided_per_year × costs.sd_usd_per_call × costs.gbp_per_usd",
            lambda g: g["sd_cost_saved_gbp_per_year"],
        ),
        KPI(
            "value_saved_gbp_per_year",
            "£ per year",
            "officer_hours_saved annualised over the measured period × "
            "value.gbp_per_officer_hour (an assumption)",
            lambda g: g["value_saved_gbp_per_year"],
        ),
        KPI(
            "benefit_gbp_per_year",
            "£ per year",
            "value_saved_gbp_per_year + sd_cost_saved_gbp_per_year",
            _benefit,
        ),
        KPI(
            "net_benefit_gbp_per_year",
            "£ per year",
            "benefit_gbp_per_year − cost_gbp_per_year",
            lambda g: _benefit(g) - _cost(g),
        ),
        KPI(
            "pv_benefits_gbp",
            "£ over the appraisal period",
            "benefit_gbp_per_year in each of years 1..costs.appraisal_years, discounted at "
            "costs.discount_rate",
            lambda g: g["pv_benefits_gbp"],
        ),
        KPI(
            "pv_costs_gbp",
            "£ over the appraisal period",
            "(setup_cost_gbp in year 0 + cost_gbp_per_year in each of years "
            "1..costs.appraisal_years, discounted at costs.discount_rate) × (1 + "
            "costs.optimism_bias)",
            lambda g: g["pv_costs_gbp"],
        ),
        KPI(
            "npv_gbp",
            "£ over the appraisal period",
            "net present value: pv_benefits_gbp − pv_costs_gbp",
            lambda g: g["pv_benefits_gbp"] - g["pv_costs_gbp"],
        ),
        KPI(
            "benefit_cost_ratio",
            "ratio",
            "pv_benefits_gbp ÷ pv_costs_gbp (over the appraisal period, optimism bias on costs)",
            lambda g: _ratio(g["pv_benefits_gbp"], g["pv_costs_gbp"]),
        ),
    ]
}


HIGHER_IS_BETTER, HIGHER_IS_WORSE, NEITHER = 1, -1, 0
_HUMAN: dict[str, tuple[str, int]] = {
    "walkins": ("Walk-ins, visitors over the run", NEITHER),
    "served": ("Visitors seen, over the run", NEITHER),
    "balked": ("Visitors who left on seeing the queue, over the run", HIGHER_IS_WORSE),
    "reneged": ("Visitors who gave up waiting, over the run", HIGHER_IS_WORSE),
    "turned_away": ("Visitors sent away at closing, over the run", HIGHER_IS_WORSE),
    "balk_rate": ("Share of walk-ins who left on seeing the queue", HIGHER_IS_WORSE),
    "renege_rate": ("Share of walk-ins who gave up waiting", HIGHER_IS_WORSE),
    "wait_all_mean_min": ("Mean wait of every walk-in, minutes", HIGHER_IS_WORSE),
    "wait_mean_min": ("Mean wait of those seen, minutes", HIGHER_IS_WORSE),
    "wait_p90_min": ("90th-percentile wait of those seen, minutes", HIGHER_IS_WORSE),
    "wait_p95_min": ("95th-percentile wait of those seen, minutes", HIGHER_IS_WORSE),
    "service_level": ("Share of walk-ins seen within the target wait", HIGHER_IS_BETTER),
    "queue_len_mean": ("Mean queue while open, visitors waiting", HIGHER_IS_WORSE),
    "queue_len_first_hour": ("Mean queue in the first hour open, visitors", HIGHER_IS_WORSE),
    "queue_len_max": ("Longest queue, visitors waiting", HIGHER_IS_WORSE),
    "utilisation": ("Engineer utilisation, share of time on duty serving", NEITHER),
    "overtime_min": ("Overtime after closing, minutes per open day", HIGHER_IS_WORSE),
    "ftf_rate": ("First-time fix rate (fixed or swapped), share of visits", HIGHER_IS_BETTER),
    "escalated": ("Visits escalated to return-to-base, over the run", HIGHER_IS_WORSE),
    "swaps": ("Devices swapped from stock, over the run", NEITHER),
    "stockouts": ("Swaps missed for want of stock, over the run", HIGHER_IS_WORSE),
    "fill_rate": ("Swap fill rate, share of swaps needed", HIGHER_IS_BETTER),
    "downtime_saved_h": ("Device downtime saved, hours over the run", HIGHER_IS_BETTER),
    "downtime_saved_days_per_ticket": ("Downtime saved per ticket, days", HIGHER_IS_BETTER),
    **{
        f"downtime_saved_days_per_ticket_{d}": (
            f"Downtime saved per {d} ticket, days",
            HIGHER_IS_BETTER,
        )
        for d in DEVICES
    },
    "officer_hours_saved": ("Productive officer-hours saved, over the run", HIGHER_IS_BETTER),
    "sd_share_taken": ("Share of service-desk calls taken", HIGHER_IS_BETTER),
    "walkins_travelled": ("Walk-ins from pop-up locations, visitors over the run", NEITHER),
    "engineer_days_per_year": ("Engineer-days rostered, per year", NEITHER),
    "cost_engineers_gbp_per_year": ("Engineer cost, £ per year", HIGHER_IS_WORSE),
    "cost_desks_gbp_per_year": ("Desk running cost, £ per year", HIGHER_IS_WORSE),
    "cost_stock_gbp_per_year": ("Swap stock holding cost, £ per year", HIGHER_IS_WORSE),
    "cost_escalations_gbp_per_year": (
        "Return-to-base logistics of escalations, £ per year",
        HIGHER_IS_WORSE,
    ),
    "cost_gbp_per_year": ("Running cost, £ per year", HIGHER_IS_WORSE),
    "setup_cost_gbp": ("One-off set-up cost, £ once (year 0)", HIGHER_IS_WORSE),
    "sd_calls_avoided_per_year": ("Service-desk calls avoided, per year", HIGHER_IS_BETTER),
    "sd_cost_saved_gbp_per_year": ("Service-desk cost saved, £ per year", HIGHER_IS_BETTER),
    "value_saved_gbp_per_year": ("Value of officer time saved, £ per year", HIGHER_IS_BETTER),
    "benefit_gbp_per_year": (
        "Benefits (officer time and service-desk cost saved), £ per year",
        HIGHER_IS_BETTER,
    ),
    "net_benefit_gbp_per_year": (
        "Net benefit (benefits − running cost), £ per year",
        HIGHER_IS_BETTER,
    ),
    "pv_benefits_gbp": (
        "Present value of benefits, £ over the appraisal period",
        HIGHER_IS_BETTER,
    ),
    "pv_costs_gbp": (
        "Present value of costs with optimism bias, £ over the appraisal period",
        HIGHER_IS_WORSE,
    ),
    "npv_gbp": ("Net present value, £ over the appraisal period", HIGHER_IS_BETTER),
    "benefit_cost_ratio": (
        "Benefit–cost ratio over the appraisal period (PV benefits ÷ PV costs)",
        HIGHER_IS_BETTER,
    ),
}
KPIS = {
    name: replace(k, title=_HUMAN[name][0], direction=_HUMAN[name][1]) for name, k in KPIS.items()
}


def kpi_table() -> pd.DataFrame:
    """Every KPI: id, title for people, unit, direction (+1 higher is better, -1 worse, 0
    neither) and meaning (for the README, reports and the terminal)."""
    return pd.DataFrame(
        [(k.name, k.title, k.unit, k.direction, k.meaning) for k in KPIS.values()],
        columns=["metric", "title", "unit", "direction", "meaning"],
    )
