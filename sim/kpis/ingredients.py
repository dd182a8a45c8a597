"""The additive ingredients one site's records reduce to, from which every KPI is a formula.

Counts and areas add over sites; ``waits`` are concatenated and ``queue_max`` is the largest
(``measure.pool``). Naming every ingredient here lets the type checker catch a KPI formula
that reads one that does not exist.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np


class ValueIngredients(TypedDict):
    saved_days: float  # downtime saved by tickets, days
    tickets: int
    saved_days_laptop: float
    saved_days_tablet: float
    saved_days_smartphone: float
    tickets_laptop: int
    tickets_tablet: int
    tickets_smartphone: int
    officer_hours_saved: float
    value_saved_gbp: float


class ShareIngredients(TypedDict):
    resolved_sd: int  # the catchment's incidents resolved at a Tech Bar (here or at a desk its
    # users travelled to), not induced: calls taken from the service desk
    resolved_here: int  # incidents resolved at this site, not induced (whoever's users)
    walkins_travelled: int  # walk-ins here from another catchment (pop-up users at their desk)
    sd_calls: float  # incidents the service desk would have had (scaled force-wide for ALL)
    population: int


class MoneyIngredients(TypedDict):
    """Money and its volumes, per year of the measured period (all sites share that period, so
    per-year figures add over sites), and present values over the appraisal period."""

    engineer_days_per_year: float  # engineer-days rostered
    cost_engineers_gbp_per_year: float
    cost_desks_gbp_per_year: float
    cost_stock_gbp_per_year: float
    cost_escalations_gbp_per_year: float
    setup_cost_gbp: float  # one-off, year 0
    sd_calls_avoided_per_year: float
    sd_cost_saved_gbp_per_year: float
    value_saved_gbp_per_year: float
    pv_benefits_gbp: float
    pv_costs_gbp: float  # optimism bias included


class Ingredients(ValueIngredients, ShareIngredients, MoneyIngredients):
    walkins: int
    served: int
    balked: int
    reneged: int
    turned_away: int
    queueing_end: int  # still queueing at the horizon
    within_target: int  # seen within the service-level target
    wait_all_sum: float  # min: time in queue of every walk-in whose wait is known
    wait_all_n: int
    fixed: int
    swapped: int
    escalated: int
    completed: int
    waits: np.ndarray  # min: waits of those seen
    queue_area: float  # visitor-minutes waiting while open
    open_time: float  # min open
    queue_max: float
    busy_area: float  # engineer-minutes serving while open
    on_duty_area: float  # engineer-minutes on duty while open
    first_hour_area: float
    first_hour_time: float
    overtime_sum: float  # min past closing, summed over open days
    open_days: int
    stockouts: int
