"""The staffing section of `techbar size` in the terminal: the roster by desk and weekday, which
target binds on each day and by how much it is met, the pop-ups sized, the trade-off curve
around the plan and its cost."""

from __future__ import annotations

import pandas as pd

from sim.calendar import WEEKDAYS
from sim.cli.console import number, table, wrap


def format_sizing(result, targets, reps: int) -> str:
    rec, d = result.recommendation, result.detail
    desks = rec[rec["kind"] == "desk"]
    popups = rec[rec["kind"] == "pop-up"]
    lines = [
        wrap(
            f"Cheapest weekday roster meeting {', '.join(map(str, targets))} at every desk on "
            f"every day it opens (the one-sided 95% bound over {reps} replications, not the "
            "mean); a cell is engineers at the desk + away on pop-up visits"
        )
    ]
    days = [day for day in WEEKDAYS if day in set(desks["day"])]
    rows = []
    for site, g in desks.groupby("site", sort=False):
        cell = {
            r.day: f"{r.at_desk}+{r.away_on_popups}" + ("" if r.targets_met else "!")
            for r in g.itertuples()
        }
        e = d.loc[d["site"] == site].iloc[0]
        rows.append(
            [str(site)]
            + [cell.get(day, "") for day in days]
            + [str(int(g["rostered"].sum())), _count(e.erlang_c_estimate), _count(e.sipp_estimate)]
        )
    header = (
        [("", "desk")]
        + [("", day) for day in days]
        + [("engineer-days", "a week"), ("Erlang C", "engineers"), ("hour by hour", "engineers")]
    )
    lines += [table(header, rows), "", binding_table(desks, targets, days)]
    if len(popups):
        lines += ["", popup_table(popups)]
    if len(result.tradeoff):
        lines += ["", tradeoff_table(result.tradeoff)]
    c = result.cost
    mobile = c.get("mobile_team_days_per_week", 0)
    lines.append("")
    lines.append(
        wrap(
            f"Cost: {c['engineer_days_per_week']:g} engineer-days a week at the desks and on "
            "pop-up visits"
            + (f" ({mobile:g} of them the pop-ups' mobile teams)" if mobile else "")
            + f", £{c['weekly_gbp']:,.0f} a week, £{c['annual_gbp']:,.0f} a year "
            f"(£{c['gbp_per_engineer_day']:,.2f} per engineer-day rostered)"
        )
    )
    for r in d.itertuples():
        lines.append(wrap(f"{r.site} against Erlang C: {r.gap_reason}"))
    if not result.feasible:
        missing = ", ".join(f"{r.site} {r.day}" for r in rec[~rec["targets_met"]].itertuples())
        lines.append(wrap(f"not met within --max-engineers (marked !): {missing}"))
    return "\n".join(lines)


def binding_table(desks: pd.DataFrame, targets, days: list[str]) -> str:
    """Desk × weekday: the target that binds (the smallest margin) and by how much its 95 %
    bound meets it (negative: missed); targets are numbered when there are several."""
    names = [str(t) for t in targets]
    label = {n: f"T{i + 1} " if len(names) > 1 else "" for i, n in enumerate(names)}
    rows = []
    for site, g in desks.groupby("site", sort=False):
        cell = {
            r.day: "no visitors"
            if pd.isna(r.margin)
            else f"{label.get(r.binding_target, '')}{number(r.margin, 3, sign=True)}"
            for r in g.itertuples()
        }
        rows.append([str(site)] + [cell.get(day, "") for day in days])
    title = "Binding target and its margin (95% bound minus target), by desk and day"
    if len(names) > 1:
        title += ": " + ", ".join(f"T{i + 1} {n}" for i, n in enumerate(names))
    return wrap(title) + "\n" + table([("", "desk")] + [("", day) for day in days], rows)


def popup_table(popups: pd.DataFrame) -> str:
    rows = [
        [
            str(r.site),
            str(r.day),
            str(r.at_desk) + ("" if r.targets_met else "!"),
            str(r.staffed_from),
            str(r.binding_target),
            "no visitors" if pd.isna(r.margin) else number(r.margin, 3, sign=True),
        ]
        for r in popups.itertuples()
    ]
    header = [
        ("", "pop-up"),
        ("", "day"),
        ("engineers", "a visit"),
        ("", "from"),
        ("binding", "target"),
        ("", "margin"),
    ]
    return table(header, rows, wrap_first=True)


def tradeoff_table(curve: pd.DataFrame) -> str:
    """Per desk: the plan's service level and utilisation, and what one engineer less or more
    on every open day gives, with the cost of each service-level point."""
    rows = []
    for site, g in curve.groupby("site", sort=False):
        g = g.reset_index(drop=True)
        at = g.index[g["plan"]]
        if not len(at):
            continue
        i = int(at[0])
        plan = g.loc[i]
        below = g.loc[i - 1] if i > 0 else None
        above = g.loc[i + 1] if i + 1 < len(g) else None
        rows.append(
            [
                str(site),
                number(plan["engineer_days_per_week"], 0),
                _share(plan, "service_level"),
                _share(plan, "utilisation"),
                "–" if below is None else _share(below, "service_level"),
                "–" if below is None else _gbp(plan["annual_gbp_per_sl_point"]),
                "–" if above is None else _share(above, "service_level"),
                "–" if above is None else _gbp(above["annual_gbp_per_sl_point"]),
            ]
        )
    header = [
        ("", "desk"),
        ("engineer-days", "a week"),
        ("service level", "[95% CI]"),
        ("", "utilisation"),
        ("one fewer a day:", "service level"),
        ("saves a year", "per point"),
        ("one more a day:", "service level"),
        ("costs a year", "per point"),
    ]
    note = wrap(
        "Trade-off around the plan (tradeoff.csv has every point, with CIs): service level "
        "with one engineer fewer or more at the desk on every open day, and the annual cost of "
        "each percentage point of service level between them"
    )
    return note + "\n" + table(header, rows)


def _share(row, metric: str) -> str:
    mean, low, high = row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    if pd.isna(mean):
        return "–"
    if pd.isna(low):
        return f"{mean:.1%}"
    return f"{mean:.1%} [{low:.1%}, {high:.1%}]" if metric == "service_level" else f"{mean:.1%}"


def _gbp(x) -> str:
    return "–" if pd.isna(x) else f"£{x:,.0f}"


def _count(x) -> str:
    return "–" if pd.isna(x) else str(x)
