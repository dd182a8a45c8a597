"""Tables for the terminal."""

from __future__ import annotations

import pandas as pd

from sim.scenario import Scenario

QUEUE_KPIS = (
    "walkins",
    "wait_mean_min",
    "wait_p95_min",
    "service_level",
    "queue_len_mean",
    "reneged",
    "utilisation",
    "overtime_min",
)
VALUE_KPIS = (
    "ftf_rate",
    "swaps",
    "fill_rate",
    "downtime_saved_days_per_ticket",
    "officer_hours_saved",
    "value_saved_gbp_per_year",
    "sd_share_taken",
)


COMPARE_KPIS = (
    "wait_mean_min",
    "service_level",
    "utilisation",
    "reneged",
    "fill_rate",
    "downtime_saved_days_per_ticket",
    "sd_share_taken",
)
POPUP_KPIS = (
    "walkins",
    "wait_mean_min",
    "queue_len_first_hour",
    "reneged",
    "utilisation",
    "ftf_rate",
    "downtime_saved_days_per_ticket",
)


def format_summary(summary: pd.DataFrame, scenario: Scenario | None = None) -> str:
    """Sites × KPIs as 'mean ± 95 % half-width': permanent desks and totals (queues, then value),
    then pop-up locations."""
    n = int(summary["n"].max()) if len(summary) else 0
    popups = {p.name for p in scenario.popups} if scenario is not None else set()
    main = summary[~summary["site"].isin(popups)]
    blocks = [f"mean ± 95% CI half-width over {n} replications"]
    for title, kpis in (("Queues and engineers", QUEUE_KPIS), ("Fixes and value", VALUE_KPIS)):
        blocks.append(f"\n{title}\n{_kpi_table(main, kpis)}")
    if popups:
        table = _kpi_table(summary[summary["site"].isin(popups)], POPUP_KPIS)
        blocks.append(f"\nPop-up locations\n{table}")
    if scenario is not None:
        v = scenario.value
        blocks.append(
            "\nAssumptions behind officer_hours_saved and value_saved_gbp_per_year: "
            f"{v.hours_lost_per_downtime_day:g} productive hour lost per day of downtime [A], "
            f"£{v.gbp_per_officer_hour:.2f} per officer-hour."
        )
    return "\n".join(blocks)


def _kpi_table(summary: pd.DataFrame, kpis) -> str:
    s = summary[summary["metric"].isin(kpis)].copy()
    half = (s["ci_high"] - s["mean"]).fillna(0)
    s["cell"] = [_fmt(m, h) for m, h in zip(s["mean"], half, strict=True)]
    table = s.pivot(index="site", columns="metric", values="cell")
    table = table.reindex(index=list(dict.fromkeys(s["site"])), columns=list(kpis))
    return table.to_string()


def format_comparison(comparison: pd.DataFrame, reps: int) -> str:
    """Each scenario's change from the base in the main KPIs (site ALL), with 95 % CIs."""
    c = comparison[(comparison["site"] == "ALL") & comparison["metric"].isin(COMPARE_KPIS)]
    if c.empty:
        return "only the base scenario: nothing to compare"
    c = c.assign(
        cell=[
            f"{_num(d)} [{_num(lo)}, {_num(hi)}]{'*' if sig else ''}"
            for d, lo, hi, sig in zip(
                c["diff_mean"], c["diff_ci_low"], c["diff_ci_high"], c["significant"], strict=True
            )
        ]
    )
    table = c.pivot(index="scenario", columns="metric", values="cell")
    table = table.reindex(index=list(dict.fromkeys(c["scenario"])), columns=list(COMPARE_KPIS))
    return (
        f"Change from the base, all sites (paired over {reps} replications; "
        f"* = 95% CI excludes 0)\n" + table.to_string()
    )


def format_sizing(result, targets, reps: int) -> str:
    d = result.detail
    lines = [
        f"Fewest engineers at each desk meeting {', '.join(map(str, targets))} "
        f"(means over {reps} replications; engineers away on pop-up visits come on top)"
    ]
    table = d[
        [
            "site",
            "engineers",
            "erlang_c_estimate",
            "sipp_estimate",
            "arrivals_per_open_hour",
            "mean_service_min",
        ]
    ].copy()
    table["arrivals_per_open_hour"] = table["arrivals_per_open_hour"].round(2)
    table["mean_service_min"] = table["mean_service_min"].round(1)
    lines.append(table.to_string(index=False))
    if not d["targets_met"].all():
        missing = ", ".join(d.loc[~d["targets_met"], "site"])
        lines.append(f"not met within --max-engineers at: {missing}")
    return "\n".join(lines)


def format_backtest(table: pd.DataFrame, reps: int) -> str:
    rows = []
    for r in table.itertuples():
        ci = f"[{_num(r.ci_low)}, {_num(r.ci_high)}]"
        ok = "yes" if r.within_tolerance else "NO"
        rows.append((r.outcome, r.published, _num(r.simulated_mean), ci, r.tolerance, ok))
    df = pd.DataFrame(
        rows, columns=["outcome", "published", "simulated", "95% CI", "tolerance", "within"]
    )
    return f"Backtest against the published outcomes ({reps} replications)\n" + df.to_string(
        index=False
    )


def _num(x: float) -> str:
    if pd.isna(x):
        return "–"
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.3f}"


def _fmt(mean: float, half: float) -> str:
    if pd.isna(mean):
        return "–"
    digits = 0 if abs(mean) >= 100 else 1 if abs(mean) >= 10 else 3 if abs(mean) < 1 else 2
    return f"{mean:.{digits}f} ± {half:.{digits}f}"
