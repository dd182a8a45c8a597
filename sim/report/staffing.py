"""The staffing section of a sizing folder's reports: the roster by desk and weekday, the
binding target on each day with its margin, the pop-ups sized, the trade-off curve (a figure and
a table) and the cost, for the page (``staffing.html.j2``) and the workbook's Staffing sheet."""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.calendar import WEEKDAYS
from sim.report.folder import RunFolder
from sim.report.plots import STAFFING_PANELS, style, to_png

COST_LINES = (
    ("engineer_days_per_week", "engineer-days a week (desks, pop-up duty, mobile teams)", ""),
    ("mobile_team_days_per_week", "of which the pop-ups' mobile teams", ""),
    ("gbp_per_engineer_day", "cost per engineer-day rostered", "£"),
    ("weekly_gbp", "cost a week", "£"),
    ("annual_gbp", "cost a year", "£"),
)


def tradeoff_figure(curve: pd.DataFrame) -> plt.Figure:
    """Per desk: service level and utilisation against engineer-days a week, ± 95 % CI, the
    plan marked."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        for ax, (metric, label) in zip(axes, STAFFING_PANELS, strict=True):
            for site, g in curve.groupby("site", sort=False):
                g = g.sort_values("engineer_days_per_week")
                mean = g[f"{metric}_mean"].to_numpy(float)
                err = np.vstack(
                    [mean - g[f"{metric}_ci_low"], g[f"{metric}_ci_high"].to_numpy(float) - mean]
                )
                line = ax.errorbar(
                    g["engineer_days_per_week"],
                    mean,
                    yerr=np.nan_to_num(err).clip(min=0),
                    marker="o",
                    ms=4,
                    capsize=3,
                    label=str(site),
                )
                plan = g[g["plan"].astype(bool)]
                ax.plot(
                    plan["engineer_days_per_week"],
                    plan[f"{metric}_mean"],
                    marker="*",
                    ms=14,
                    ls="none",
                    color=line[0].get_color(),
                )
            ax.set(
                title=f"{metric.replace('_', ' ').capitalize()} against engineer-days",
                xlabel="engineer-days a week at the desk (pop-up duty included)",
                ylabel=label,
            )
        axes[0].legend(fontsize=8, title="★ the plan", title_fontsize=8)
        fig.tight_layout()
    return fig


def staffing_view(run: RunFolder) -> dict:
    """What the page's staffing section shows (empty for a folder that is not a sizing)."""
    rec = run.get("recommendation")
    if rec is None or "day" not in rec.columns:
        return {"staffing": None}
    desks = rec[rec["kind"] == "desk"] if "kind" in rec.columns else rec
    popups = rec[rec["kind"] == "pop-up"] if "kind" in rec.columns else rec.iloc[0:0]
    curve = run.get("tradeoff")
    png = to_png(tradeoff_figure(curve)) if curve is not None and len(curve) else None
    return {
        "staffing": {
            "targets": list(run.manifest.get("targets", []))
            + [f"{t} in every opening hour" for t in run.manifest.get("every_hour_targets", [])],
            "days": _days(desks),
            "roster": roster_rows(desks),
            "binding": [_binding(r) for r in desks.to_dict("records")],
            "popups": [_binding(r) for r in popups.to_dict("records")],
            "tradeoff": tradeoff_rows(curve),
            "figure": base64.b64encode(png).decode("ascii") if png else None,
            "cost": cost_lines(run.manifest.get("cost", {})),
            "gaps": _gaps(run.get("sizing")),
        }
    }


def _gaps(sizing: pd.DataFrame | None) -> list[dict]:
    """Per desk: why the simulated roster differs from Erlang C."""
    if sizing is None or "gap_reason" not in sizing.columns:
        return []
    return [{"site": r["site"], "reason": r["gap_reason"]} for r in sizing.to_dict("records")]


def _days(desks: pd.DataFrame) -> list[str]:
    return [d for d in WEEKDAYS if d in set(desks["day"])]


def roster_rows(desks: pd.DataFrame) -> list[dict]:
    """Per desk: 'at the desk + away on pop-ups' on each weekday (! where a target is missed)
    and the engineer-days a week rostered."""
    days = _days(desks)
    out = []
    for site, g in desks.groupby("site", sort=False):
        cell = {
            r["day"]: f"{_int(r['at_desk'])}+{_int(r['away_on_popups'])}"
            + ("" if _true(r["targets_met"]) else " !")
            for r in g.to_dict("records")
        }
        out.append(
            {
                "site": site,
                "cells": [cell.get(d, "") for d in days],
                "days": _int(g["rostered"].sum()),
            }
        )
    return out


def _binding(r: dict) -> dict:
    margin = r.get("margin")
    return {
        "site": r["site"],
        "day": r["day"],
        "engineers": _int(r["at_desk"]),
        "staffed_from": "" if pd.isna(r.get("staffed_from")) else r.get("staffed_from", ""),
        "met": "yes" if _true(r["targets_met"]) else "no",
        "binding": r.get("binding_target", ""),
        "bound": _num(r.get("bound")),
        "margin": "no visitors" if margin is None or pd.isna(margin) else f"{margin:+.3f}",
        "margins": "" if pd.isna(r.get("margins")) else r.get("margins", ""),
    }


def tradeoff_rows(curve: pd.DataFrame | None) -> list[dict]:
    if curve is None:
        return []
    out = []
    for r in curve.to_dict("records"):
        out.append(
            {
                "site": r["site"],
                "plan": "plan" if _true(r["plan"]) else "",
                "days": _int(r["engineer_days_per_week"]),
                "annual": _gbp(r["annual_gbp"]),
                "sl": _ci(r, "service_level"),
                "util": _ci(r, "utilisation"),
                "gained": "–"
                if pd.isna(r["sl_points_gained"])
                else f"{r['sl_points_gained']:+.1f} [{r['sl_points_gained_ci_low']:+.1f}, "
                f"{r['sl_points_gained_ci_high']:+.1f}]",
                "per_point": _gbp(r["annual_gbp_per_sl_point"]),
            }
        )
    return out


def cost_lines(cost: dict) -> list[tuple[str, str]]:
    out = []
    for key, label, unit in COST_LINES:
        if key in cost:
            x = float(cost[key])
            out.append((label, f"£{x:,.2f}" if key == "gbp_per_engineer_day" else _money(x, unit)))
    return out


def roster_table(desks: pd.DataFrame) -> pd.DataFrame:
    """Desk × weekday, for the workbook: engineers rostered (at the desk + on pop-up visits)."""
    rows = roster_rows(desks)
    days = _days(desks)
    return pd.DataFrame(
        [[r["site"], *r["cells"], r["days"]] for r in rows],
        columns=["desk", *days, "engineer-days a week"],
    )


def write_staffing_sheet(xw, run: RunFolder) -> None:
    """The workbook's Staffing sheet: the roster, binding targets, trade-off curve and cost,
    one block under another."""
    rec = run.get("recommendation")
    if rec is None or "day" not in rec.columns:
        return
    desks = rec[rec["kind"] == "desk"] if "kind" in rec.columns else rec
    blocks = [
        ("Roster: engineers at the desk + away on pop-up visits (! a target missed)", None),
        ("", roster_table(desks)),
        ("Binding target per desk and day (margin: 95 % bound minus target)", None),
        (
            "",
            rec[
                [
                    c
                    for c in ("site", "day", "at_desk", "rostered", "kind", "staffed_from")
                    + ("targets_met", "binding_target", "bound", "margin", "margins")
                    if c in rec.columns
                ]
            ],
        ),
    ]
    if (curve := run.get("tradeoff")) is not None:
        blocks += [
            ("Trade-off: service level and utilisation against engineer-days (95 % CIs)", None),
            ("", curve),
        ]
    cost = cost_lines(run.manifest.get("cost", {}))
    if cost:
        blocks += [("Cost", None), ("", pd.DataFrame(cost, columns=["item", "value"]))]
    bold = xw.book.add_format({"bold": True})
    ws = xw.book.add_worksheet("Staffing")
    xw.sheets["Staffing"] = ws
    row = 0
    for title, table in blocks:
        if table is None:
            ws.write(row, 0, title, bold)
            row += 1
            continue
        table.to_excel(xw, sheet_name="Staffing", index=False, startrow=row)
        row += len(table) + 2
    if curve is not None and len(curve):
        png = to_png(tradeoff_figure(curve))
        ws.insert_image(row, 0, "tradeoff.png", {"image_data": io.BytesIO(png)})
    ws.set_column(0, 0, 22)
    ws.set_column(1, 12, 12)


def _ci(r: dict, metric: str) -> str:
    mean, low, high = r[f"{metric}_mean"], r[f"{metric}_ci_low"], r[f"{metric}_ci_high"]
    if pd.isna(mean):
        return "–"
    return f"{mean:.3f}" if pd.isna(low) else f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _gbp(x) -> str:
    return "–" if x is None or pd.isna(x) else f"£{float(x):,.0f}"


def _money(x: float, unit: str) -> str:
    return f"£{x:,.0f}" if unit == "£" else f"{x:g}"


def _num(x) -> str:
    return "–" if x is None or pd.isna(x) else f"{float(x):.3f}"


def _int(x) -> str:
    return "–" if x is None or pd.isna(x) else str(int(x))


def _true(x) -> bool:
    return str(x).strip().lower() in ("true", "1", "yes")
