"""The KPI registry: each KPI defined once, with its unit, meaning and formula on ingredients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    formula: Callable[[dict], float]


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _get(key: str) -> Callable[[dict], float]:
    return lambda g: g[key]


def _quantile(waits: np.ndarray, q: float) -> float:
    return float(np.quantile(waits, q)) if len(waits) else float("nan")


def _saved_days_per_ticket(device: str) -> Callable[[dict], float]:
    return lambda g: _ratio(g[f"saved_days_{device}"], g[f"tickets_{device}"])


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
            "largest number waiting at any moment",
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
        KPI("swaps", "visitors", "visits ending with a device swapped from stock", _get("swapped")),
        KPI(
            "stockouts",
            "visitors",
            "visits needing a swap when no unit of that device was on hand (sent return-to-base)",
            _get("stockouts"),
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
            _get("officer_hours_saved"),
        ),
        KPI(
            "value_saved_gbp",
            "£",
            "officer_hours_saved × value.gbp_per_officer_hour (an assumption)",
            _get("value_saved_gbp"),
        ),
        KPI(
            "sd_share_taken",
            "share",
            "incidents resolved at a Tech Bar (fixed or swapped; induced demand excluded) ÷ all "
            "incidents the service desk would have had without Tech Bars; for ALL, force-wide",
            lambda g: _ratio(g["resolved_sd"], g["sd_calls"]),
        ),
    ]
}


def kpi_table() -> pd.DataFrame:
    """Every KPI's name, unit and meaning (for the README, reports and the terminal)."""
    return pd.DataFrame(
        [(k.name, k.unit, k.meaning) for k in KPIS.values()], columns=["metric", "unit", "meaning"]
    )
