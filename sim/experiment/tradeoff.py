"""The trade-off curve of a staffing plan: each desk's service level and utilisation against its
engineer-days a week, with 95 % CIs, and what each extra point of service level costs.

The points are the plan itself and the plan with every open day of every desk moved by the same
number of engineers (`STEPS`), all else as planned. Desks do not share visitors or engineers
beyond the pop-ups they staff (held as planned), and draws are keyed to incidents (common random
numbers), so one run per step gives every desk's point, and the gain from one point to the next
is a paired difference over the same replications.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.runner import CONFIDENCE, summarise

STEPS = (-2, -1, 1, 2)  # engineers at the desk on every open day, from the plan
CURVE_METRICS = ("service_level", "utilisation")
WEEKS_PER_YEAR = 52
POINTS_PER_SHARE = 100  # a point of service level is 0.01 of the share


def stepped(roster: dict[tuple[str, int], int], desks: set[str], step: int) -> dict:
    """The roster with `step` more engineers at every desk on every open day (at least one)."""
    return {cell: max(1, n + step) if cell[0] in desks else n for cell, n in roster.items()}


def curve(
    points: dict[int, tuple[dict[tuple[str, int], int], pd.DataFrame]],
    away: dict[tuple[str, int], int],
    desks: list[str],
    gbp_per_engineer_day: float,
) -> pd.DataFrame:
    """One row per desk and distinct roster: engineer-days a week rostered at the desk (pop-up
    duty included), their weekly and annual cost, service level and utilisation (mean, 95 % CI)
    and, from the next smaller roster, the service-level points gained (paired 95 % CI) and the
    annual cost of each point (blank when the gain is not positive).

    `points` maps a step (0: the plan) to its roster and whole-run KPIs per replication."""
    rows = []
    for desk in desks:
        mine_rows = []
        seen: set[float] = set()
        for step in sorted(points, key=abs):  # of steps giving one roster, the smallest
            roster, kpis = points[step]
            days = sum(n + away[c] for c, n in roster.items() if c[0] == desk)
            if days in seen:
                continue  # a step below one engineer gives the same roster
            seen.add(days)
            mine = kpis[(kpis["site"] == desk) & kpis["metric"].isin(CURVE_METRICS)]
            s = summarise(mine, ["metric"], "value").set_index("metric")
            row: dict = {
                "site": desk,
                "step": step,
                "plan": step == 0,
                "engineer_days_per_week": days,
                "weekly_gbp": days * gbp_per_engineer_day,
                "annual_gbp": days * gbp_per_engineer_day * WEEKS_PER_YEAR,
            }
            for m in CURVE_METRICS:
                for col in ("mean", "ci_low", "ci_high"):
                    row[f"{m}_{col}"] = float(s.loc[m, col]) if m in s.index else np.nan
            row["n"] = int(s["n"].max()) if len(s) else 0
            row["_sl"] = _by_replication(mine, "service_level")
            mine_rows.append(row)
        rows += sorted(mine_rows, key=lambda r: r["engineer_days_per_week"])
    out = pd.DataFrame(rows)
    gained, low, high, per_point = [], [], [], []
    for i, r in out.iterrows():
        prev = out.loc[i - 1] if i > 0 and out.loc[i - 1, "site"] == r["site"] else None
        mean = half = extra = np.nan
        if prev is not None:
            d = (r["_sl"] - prev["_sl"]).dropna() * POINTS_PER_SHARE
            mean, half = _mean_half(d.to_numpy())
            extra = r["annual_gbp"] - prev["annual_gbp"]
        gained.append(mean)
        low.append(mean - half)
        high.append(mean + half)
        per_point.append(extra / mean if mean > 0 else np.nan)
    out["sl_points_gained"] = gained
    out["sl_points_gained_ci_low"] = low
    out["sl_points_gained_ci_high"] = high
    out["annual_gbp_per_sl_point"] = per_point
    return out.drop(columns="_sl")


def _by_replication(kpis: pd.DataFrame, metric: str) -> pd.Series:
    m = kpis[kpis["metric"] == metric]
    return pd.Series(m["value"].to_numpy(), index=m["replication"].to_numpy())


def _mean_half(x: np.ndarray) -> tuple[float, float]:
    """Mean and the two-sided 95 % t half-width (NaN with fewer than two values)."""
    if len(x) == 0:
        return np.nan, np.nan
    if len(x) < 2:
        return float(x.mean()), np.nan
    t = stats.t.ppf(0.5 + CONFIDENCE / 2, len(x) - 1)
    return float(x.mean()), float(t * x.std(ddof=1) / np.sqrt(len(x)))
