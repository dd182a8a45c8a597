"""Tables for the terminal, at most 100 characters wide.

Each table has a two-line header (what, then its unit); shares are shown in per cent and money
in £ with thousands separators. Columns that do not fit go to a continuation block that
repeats the row labels; a name too long for its column is cut with '…' (or, for the backtest's
outcomes, wrapped).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS
from sim.scenario import Scenario

WIDTH = 100
GAP = "  "
POOLED = (ALL_DESKS, ALL_POPUPS, ALL)  # after the desks, in this order
LONGEST_LABEL = 24  # a site name is cut to this many characters when the table is crowded


@dataclass(frozen=True)
class Col:
    """A KPI column: its metric, and the two header lines (what, then the unit)."""

    metric: str
    what: str
    unit: str = ""

    @property
    def percent(self) -> bool:
        return KPIS[self.metric].unit == "share" if self.metric in KPIS else False

    @property
    def money(self) -> bool:
        return KPIS[self.metric].unit.startswith("£") if self.metric in KPIS else False


QUEUES = (
    Col("walkins", "walk-ins", "visitors"),
    Col("wait_mean_min", "wait", "mean, min"),
    Col("wait_p95_min", "wait p95", "min"),
    Col("service_level", "seen in target", "%"),
    Col("queue_len_mean", "queue", "mean, visitors"),
)
ENGINEERS = (
    Col("utilisation", "utilisation", "%"),
    Col("overtime_min", "overtime", "min per open day"),
    Col("reneged", "gave up", "visitors"),
    Col("balked", "left at once", "visitors"),
)
VALUE = (
    Col("ftf_rate", "first-time fix", "%"),
    Col("swaps", "swaps", "devices"),
    Col("fill_rate", "swap fill", "%"),
    Col("downtime_saved_days_per_ticket", "downtime saved", "days per ticket"),
    Col("sd_share_taken", "calls taken", "% of service desk"),
    Col("officer_hours_saved", "officer time saved", "hours"),
    Col("value_saved_gbp_per_year", "value saved", "£ per year"),
)
POPUPS = (
    Col("walkins", "walk-ins", "visitors"),
    Col("wait_mean_min", "wait", "mean, min"),
    Col("queue_len_first_hour", "queue, 1st hour", "mean, visitors"),
    Col("reneged", "gave up", "visitors"),
    Col("utilisation", "utilisation", "%"),
    Col("ftf_rate", "first-time fix", "%"),
    Col("downtime_saved_days_per_ticket", "downtime saved", "days per ticket"),
)
COMPARE = (
    Col("wait_mean_min", "wait", "mean, min"),
    Col("service_level", "seen in target", "% points"),
    Col("utilisation", "utilisation", "% points"),
    Col("reneged", "gave up", "visitors"),
    Col("fill_rate", "swap fill", "% points"),
    Col("downtime_saved_days_per_ticket", "downtime saved", "days per ticket"),
    Col("sd_share_taken", "calls taken", "% points"),
)


# --------------------------------------------------------------------------- layout


def table(
    header: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str] | None],
    labels: int = 1,
    title: str = "",
    width: int = WIDTH,
    wrap_first: bool = False,
) -> str:
    """A text table: the first `labels` columns left-aligned and repeated in every block, the
    others right-aligned and packed into blocks of at most `width` characters. A row of None
    is a rule (between the desks and the pooled rows). The first column is cut with '…' (or,
    with `wrap_first`, wrapped) when the columns would not fit otherwise."""
    header = [(str(a), str(b)) for a, b in header]
    body = [None if r is None else [str(c) for c in r] for r in rows]
    widths = [
        max([len(header[j][0]), len(header[j][1])] + [len(r[j]) for r in body if r is not None])
        for j in range(len(header))
    ]
    values = list(range(labels, len(header)))
    room = width - sum(widths[1:labels]) - len(GAP) * (labels - 1)
    widest_value = max((widths[j] for j in values), default=0)
    first_max = max(room - (len(GAP) + widest_value if values else 0), 8)
    if wrap_first:  # every column in one block, the first wrapped to what is left
        rest = sum(widths[1:]) + len(GAP) * (len(header) - 1)
        if width - rest >= 16:
            first_max = width - rest
    if widths[0] > first_max:
        widths[0] = max(first_max, len(header[0][0]), len(header[0][1]))
    blocks: list[list[int]] = []
    used = sum(widths[:labels]) + len(GAP) * (labels - 1)
    for j in values:
        if blocks and used + len(GAP) + widths[j] <= width:
            blocks[-1].append(j)
            used += len(GAP) + widths[j]
        else:
            blocks.append([j])
            used = sum(widths[:labels]) + len(GAP) * (labels - 1) + len(GAP) + widths[j]
    if not blocks:
        blocks = [[]]
    out: list[str] = []
    for k, block in enumerate(blocks):
        cols = list(range(labels)) + block
        if title:
            out.append(title if k == 0 else f"{title} (continued)")
        for line in (0, 1):
            out.append(_line([header[j][line] for j in cols], [widths[j] for j in cols], labels))
        rule = "-" * min(width, sum(widths[j] for j in cols) + len(GAP) * (len(cols) - 1))
        for r in body:
            if r is None:
                out.append(rule)
                continue
            first = [r[0]]
            if len(r[0]) > widths[0]:
                first = textwrap.wrap(r[0], widths[0]) if wrap_first else [_cut(r[0], widths[0])]
            cells = [first[0]] + [r[j] for j in cols[1:]]
            out.append(_line(cells, [widths[j] for j in cols], labels))
            for more in first[1:]:
                out.append(_line([more] + [""] * (len(cols) - 1), [widths[j] for j in cols], 1))
        if k < len(blocks) - 1:
            out.append("")
    return "\n".join(out)


def _line(cells: Sequence[str], widths: Sequence[int], labels: int) -> str:
    parts = [
        c.ljust(w) if j < labels else c.rjust(w)
        for j, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return GAP.join(parts).rstrip()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def wrap(text: str, width: int = WIDTH) -> str:
    """A sentence wrapped to the terminal width (words longer than a line are broken)."""
    return "\n".join(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False))


# --------------------------------------------------------------------------- numbers


def _decimals(x: float) -> int:
    a = abs(x)
    return 0 if a >= 100 else 1 if a >= 10 else 2


def number(x: float, decimals: int | None = None, sign: bool = False) -> str:
    """A number with thousands separators and about three significant figures."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    d = _decimals(x) if decimals is None else decimals
    if round(x, d) == 0:
        x = 0.0  # never '-0.00'
    return f"{x:{'+' if sign else ''},.{d}f}"


def cell(mean: float, half: float, col: Col | None = None) -> str:
    """'mean ± half' (the 95 % CI half-width) in the column's unit: % for shares, £ for money."""
    if pd.isna(mean):
        return "–"
    scale = 100.0 if col is not None and col.percent else 1.0
    m = mean * scale
    d = 1 if scale == 100 else 0 if col is not None and col.money else _decimals(m)
    text = ("£" if col is not None and col.money else "") + number(m, d)
    if pd.isna(half):
        return text
    return f"{text} ± {number(half * scale, d)}"


def difference(mean: float, low: float, high: float, significant: bool, col: Col) -> str:
    """'+0.42 [+0.03, +0.80]*' in the column's unit (percentage points for shares)."""
    if pd.isna(mean):
        return "–"
    scale = 100.0 if col.percent else 1.0
    d = (
        1
        if col.percent
        else _decimals(max(abs(mean), abs(low), abs(high)) if not pd.isna(low) else mean)
    )
    shown = [number(v * scale, d, sign=True) for v in (mean, low, high)]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]{'*' if significant else ' '}"


# --------------------------------------------------------------------------- run


def roster(engineers: int | list[int]) -> str:
    """A desk's engineers: '2', or one per open day '3/3/2/2/2'."""
    if isinstance(engineers, int):
        return str(engineers)
    return "/".join(map(str, engineers))


def format_summary(
    summary: pd.DataFrame, scenario: Scenario | None = None, all_sites: bool = False
) -> str:
    """Desks with their engineers, then the pooled rows (ALL_DESKS, ALL_POPUPS, ALL), as
    'mean ± 95 % half-width' under headers with units; pop-ups in one line, or each in a
    table of its own with `all_sites`."""
    n = int(summary["n"].max()) if len(summary) else 0
    popups = [p.name for p in scenario.popups] if scenario is not None else []
    sites = list(dict.fromkeys(summary["site"]))
    if scenario is not None:
        desks = [s.name for s in scenario.sites]
        engineers = {s.name: roster(s.engineers) for s in scenario.sites}
    else:
        desks = [s for s in sites if s not in POOLED]
        engineers = {}
    pooled = [p for p in POOLED if p in sites]
    s = summary.set_index(["site", "metric"])
    measured = ""
    if scenario is not None:
        weeks = scenario.horizon_weeks - scenario.warmup_weeks
        measured = f"; counts, hours and £ are totals over the {weeks} measured weeks"
    blocks = [wrap(f"Means over {n} replications ± the 95% CI half-width{measured}.")]
    target = f"{scenario.service.sl_target_min:g}" if scenario is not None else ""
    queues = tuple(
        Col(c.metric, f"seen in {target} min", "%") if c.metric == "service_level" and target else c
        for c in QUEUES
    )
    for title, cols, with_engineers in (
        ("Queues", queues, True),
        ("Engineers and visitors lost", ENGINEERS, False),
        ("Fixes and value", VALUE, False),
    ):
        rows: list[list[str] | None] = []
        for site in desks:
            rows.append(
                _site_row(s, site, cols, engineers.get(site, "") if with_engineers else None)
            )
        if pooled:
            rows.append(None)
        for site in pooled:
            rows.append(_site_row(s, site, cols, "" if with_engineers else None))
        header = [("", "desk")] + ([("engineers", "per open day")] if with_engineers else [])
        header += [(c.what, c.unit) for c in cols]
        blocks.append("\n" + table(header, rows, labels=1 + with_engineers, title=title))
    if popups and scenario is not None:
        if all_sites:
            blocks.append("\n" + _popup_table(s, scenario))
        else:
            blocks.append("\n" + _popup_line(s, popups))
    if scenario is not None:
        v = scenario.value
        hours = v.hours_lost_per_downtime_day
        blocks.append(
            "\n"
            + wrap(
                f"Officer time and value saved assume {hours:g} productive "
                f"hour{'' if hours == 1 else 's'} lost per day of downtime [A] at "
                f"£{v.gbp_per_officer_hour:,.2f} an hour."
            )
        )
    return "\n".join(blocks)


def _site_row(s: pd.DataFrame, site: str, cols: Sequence[Col], engineers: str | None) -> list[str]:
    row = [site] + ([engineers] if engineers is not None else [])
    for c in cols:
        if (site, c.metric) in s.index:
            r = s.loc[(site, c.metric)]
            row.append(cell(r["mean"], r["ci_high"] - r["mean"], c))
        else:
            row.append("–")
    return row


def _popup_table(s: pd.DataFrame, scenario: Scenario) -> str:
    rows: list[Sequence[str] | None] = []
    for p in scenario.popups:
        rows.append([p.name, p.day, str(p.engineers)] + _site_row(s, p.name, POPUPS, None)[1:])
    header = [("", "pop-up location"), ("", "day"), ("", "engineers")]
    header += [(c.what, c.unit) for c in POPUPS]
    return table(header, rows, labels=3, title="Pop-up locations (one visit a week)")


def _popup_line(s: pd.DataFrame, popups: list[str]) -> str:
    """The pop-up locations in one line: how many, the spread of their waits and utilisation,
    and where waits are longest."""

    def means(metric: str) -> pd.Series:
        rows = [(p, s.loc[(p, metric), "mean"]) for p in popups if (p, metric) in s.index]
        return pd.Series(dict(rows), dtype=float).dropna()

    wait, util = means("wait_mean_min"), means("utilisation")
    line = f"{len(popups)} pop-ups"
    if len(wait):
        low, high, longest = number(wait.min(), 1), number(wait.max(), 1), wait.idxmax()
        line += f": mean wait {low}–{high} min (longest {_cut(str(longest), 16)})"
    if len(util):
        line += f", utilisation {util.min() * 100:.0f}–{util.max() * 100:.0f} %"
    line += "; each with --all-sites"
    return _cut(line, WIDTH)


# --------------------------------------------------------------------------- sweep


def format_comparison(comparison: pd.DataFrame, reps: int) -> str:
    """Each scenario's change from the base in the main KPIs (site ALL), with 95 % CIs. Long
    scenario names are listed once and the table refers to them by number."""
    c = comparison[
        (comparison["site"] == ALL) & comparison["metric"].isin([x.metric for x in COMPARE])
    ]
    if c.empty:
        return "only the base scenario: nothing to compare"
    names = list(dict.fromkeys(c["scenario"]))
    by_number = max(len(n) for n in names) > LONGEST_LABEL
    lines = [
        wrap(
            f"Change from the base, all sites: paired over {reps} replications, with the 95% CI "
            "in brackets (* = the CI excludes 0); shares in percentage points."
        )
    ]
    if by_number:
        lines.append("")
        lines += [_cut(f"{i:>3}  {name}", WIDTH) for i, name in enumerate(names, 1)]
    s = c.set_index(["scenario", "metric"])
    rows = []
    for i, name in enumerate(names, 1):
        row = [str(i) if by_number else name]
        for col in COMPARE:
            if (name, col.metric) in s.index:
                r = s.loc[(name, col.metric)]
                row.append(
                    difference(
                        r["diff_mean"],
                        r["diff_ci_low"],
                        r["diff_ci_high"],
                        bool(r["significant"]),
                        col,
                    )
                )
            else:
                row.append("–")
        rows.append(row)
    header = [("", "#" if by_number else "scenario")] + [(x.what, x.unit) for x in COMPARE]
    lines += ["", table(header, rows)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- backtest

POOLED_NOTE = (
    "Downtime saved is compared on the permanent desks (ALL_DESKS) because the trial's figures "
    "come from its permanent desks, while the headline figures show ALL, which adds the pop-ups, "
    "whose users wait days for the weekly visit and so save less."
)


def format_backtest(table_: pd.DataFrame, reps: int) -> str:
    """One table per kind of comparison: the figures the inputs were fitted to (the trial) and
    those predicted (the live service, not fitted)."""
    header = [
        ("", "published outcome"),
        ("", "published"),
        ("simulated", "mean [95% CI]"),
        ("", "tolerance"),
        ("", "agrees"),
        ("out of", "sample"),
    ]
    kinds = table_["table"].unique() if "table" in table_.columns else [""]
    lines = [
        wrap(
            f"Backtest against the published outcomes ({reps} replications; tolerance: the "
            "values that round to the published figure; agrees: the 95% CI meets it; out of "
            "sample: no input was fitted or set to the figure, so the comparison is a test)"
        )
    ]
    for kind in kinds:
        part = table_ if not kind else table_[table_["table"] == kind]
        rows = []
        for r in part.itertuples():
            d = max(_decimals(r.simulated_mean) if not pd.isna(r.simulated_mean) else 2, 3)
            ci = f"[{number(r.ci_low, d)}, {number(r.ci_high, d)}]"
            rows.append(
                [
                    str(r.outcome),
                    str(r.published),
                    f"{number(r.simulated_mean, d)} {ci}",
                    str(r.tolerance),
                    "yes" if r.within_tolerance else "NO",
                    _independent(getattr(r, "independent_of_fit", None)),
                ]
            )
        scenario = f" — {part['scenario'].iloc[0]}" if "scenario" in part.columns else ""
        lines += ["", f"{kind}{scenario}", table(header, rows, labels=2, wrap_first=True)]
        lines += _not_independent(part)
    if "site" in table_.columns and (table_["site"] == ALL_DESKS).any():
        lines += ["", wrap(POOLED_NOTE)]
    return "\n".join(lines)


def _independent(flag: object) -> str:
    if flag is None or pd.isna(flag):
        return "?"
    return "yes" if str(flag).strip().lower() in ("true", "1", "yes") else "no"


def _not_independent(part: pd.DataFrame) -> list[str]:
    """Under a table: why each figure that is not out of sample is not (figures sharing a
    reason named together)."""
    if "why" not in part.columns or "independent_of_fit" not in part.columns:
        return []
    lines = []
    rows = part[part["independent_of_fit"].map(_independent) == "no"]
    for why, group in rows.groupby("why", sort=False):
        every = len(group) == len(part) > 1
        outcomes = "every figure above" if every else "; ".join(str(x) for x in group["outcome"])
        lines.append(wrap(f"Not out of sample — {outcomes}: {why}."))
    return lines


# --------------------------------------------------------------------------- what-if vs base

CHANGES_SHOWN = 20  # rows of the changes table; the rest are in comparison.csv
SITE_LABEL = 18
VERDICT_MARK = {"better": "better", "worse": "WORSE", "changed": "changed", "no change": ""}


def format_changes(
    comparison: pd.DataFrame,
    reps: int,
    base: str,
    limit: int = CHANGES_SHOWN,
    title: str | None = None,
    more_in: str = "comparison.csv",
) -> str:
    """A what-if's paired differences from its base, the changes that matter first: significant
    ones, desks before pooled groups before pop-ups, the largest relative change first; each
    marked better or WORSE by its KPI's direction. Shares are in percentage points."""
    from sim.experiment.sweep import changes_first

    c = changes_first(comparison)
    lines = [
        wrap(
            title
            or f"Significant changes from {base} (paired over {reps} replications at the same "
            "seed; the 95% CI of the difference excludes 0), the largest first, desks before "
            "pop-ups; shares in percentage points."
        )
    ]
    lines += [wrap(t) for t in sites_added_removed_text(comparison, base)]
    significant = c[c["significant"].astype(bool)]
    if significant.empty:
        lines += ["", "No significant change in any KPI at any desk, pop-up or in all."]
        return "\n".join(lines)
    shown = significant.head(limit)
    rows = []
    for r in shown.itertuples():
        col = Col(str(r.metric), "")
        rel = "" if pd.isna(r.relative_change) else f"{r.relative_change * 100:+.0f}%"
        rows.append(
            [
                _cut(str(r.site), SITE_LABEL),
                KPIS[r.metric].title if r.metric in KPIS else str(r.metric),
                f"{compact(r.base_mean, col)} → {compact(r.scenario_mean, col)}",
                _change(r.diff_mean, r.diff_ci_high, col),
                rel,
                VERDICT_MARK.get(str(r.verdict), ""),
            ]
        )
    header = [
        ("", "site"),
        ("", "KPI"),
        ("base → what-if", "mean"),
        ("change", "± 95% CI"),
        ("", "relative"),
        ("", "verdict"),
    ]
    others = [1, 0, 1, 1, 1, 1]  # the KPI column gets the room the others leave
    used = sum(
        max(len(h[0]), len(h[1]), *(len(r[j]) for r in rows)) + len(GAP) * keep
        for j, (h, keep) in enumerate(zip(header, others, strict=True))
        if keep
    )
    room = max(WIDTH - used - len(GAP), 16)
    for r in rows:
        r[1] = _cut(r[1], room)
    lines += ["", table(header, rows, labels=2)]
    rest = len(significant) - len(shown)
    quiet_rows = len(c) - len(significant)
    tail = f"{rest} more significant change{'s' if rest != 1 else ''} and " if rest else ""
    lines.append(
        wrap(
            f"{tail}{quiet_rows} KPI-site pair{'s' if quiet_rows != 1 else ''} without a "
            f"significant change: all in {more_in}."
        )
    )
    return "\n".join(lines)


def sites_added_removed_text(comparison: pd.DataFrame, base: str) -> list[str]:
    """Sentences naming the sites only the what-if has (nothing to compare them with) and those
    only its base has."""
    from sim.experiment.sweep import sites_added_removed

    added, removed = sites_added_removed(comparison)
    kinds = (
        dict(zip(comparison["site"], comparison["site_kind"], strict=True))
        if "site_kind" in comparison
        else {}
    )

    def named(sites: list[str]) -> str:
        groups: dict[str, list[str]] = {}
        for n in sites:
            groups.setdefault("pop-up" if kinds.get(n) == "popup" else "desk", []).append(n)
        return "; ".join(
            f"{'the ' if len(ns) == 1 else ''}{kind}{'s' if len(ns) > 1 else ''} {', '.join(ns)}"
            for kind, ns in groups.items()
        )

    out = []
    if added:
        out.append(f"New in the what-if, with nothing in {base} to compare: {named(added)}.")
    if removed:
        out.append(f"In {base} but not in the what-if: {named(removed)}.")
    return out


def compact(x: float, col: Col, sign: bool = False) -> str:
    """A number in little room: shares in %, money in £ with k/m above ten thousand."""
    if pd.isna(x):
        return "–"
    if col.percent:
        return number(x * 100, 1, sign)
    prefix = "£" if col.money else ""
    a = abs(x)
    if a >= 1e6:
        text = f"{x / 1e6:{'+' if sign else ''}.1f}m"
    elif a >= 1e4:
        text = f"{x / 1e3:{'+' if sign else ''}.0f}k"
    else:
        text = number(x, 0 if col.money else None, sign)
    if prefix and text[:1] in "+-":
        return text[0] + prefix + text[1:]
    return prefix + text


def _change(mean: float, high: float, col: Col) -> str:
    """'+6.2 ± 5.3': the mean difference and its 95 % CI half-width."""
    text = compact(mean, col, sign=True)
    if pd.isna(high):
        return text
    return f"{text} ± {compact(high - mean, col)}"


SWEEP_SCENARIOS_SHOWN = 8
SWEEP_ROWS_SHOWN = 5


def format_sweep_changes(comparison: pd.DataFrame, reps: int) -> str:
    """Per scenario of a sweep, its largest significant changes at desks and pop-ups (the
    pooled rows are in the table above)."""
    if comparison.empty or "site_kind" not in comparison.columns:
        return ""
    sited = comparison[comparison["site_kind"] != "pooled"]
    names = list(dict.fromkeys(sited["scenario"]))
    blocks = [
        wrap(
            f"By desk and pop-up: each scenario's largest significant changes (paired over {reps} "
            "replications); every desk, pop-up and KPI is in comparison.csv."
        )
    ]
    for name in names[:SWEEP_SCENARIOS_SHOWN]:
        sub = sited[sited["scenario"] == name]
        blocks.append("")
        blocks.append(
            format_changes(
                sub, reps, "the base", limit=SWEEP_ROWS_SHOWN, title=_cut(f"{name}:", WIDTH)
            )
        )
    if len(names) > SWEEP_SCENARIOS_SHOWN:
        blocks += ["", f"… and {len(names) - SWEEP_SCENARIOS_SHOWN} more scenarios"]
    return "\n".join(blocks)


def format_calibration(params: pd.DataFrame, residuals: pd.DataFrame, fit: Any) -> str:
    """The fitted inputs with standard errors, and the figures with the fit's residuals."""
    prow = [
        [str(r.parameter), str(r.unit), number(r.start, 4), number(r.value, 4), number(r.se, 4)]
        for r in params.itertuples()
    ]
    rrow = [
        [
            str(r.figure),
            "" if pd.isna(r.target) else number(r.target, 4),
            number(r.simulated_mean, 4),
            number(r.se, 4),
            "" if pd.isna(r.residual) else number(r.residual, 4, sign=True),
        ]
        for r in residuals.itertuples()
    ]
    state = "converged" if fit.converged else "NOT converged"
    return "\n".join(
        [
            f"Fitted inputs ({fit.replications} replications per evaluation, seed {fit.seed}, "
            f"{fit.evaluations} evaluations, {state})",
            table(
                [("", "input"), ("", "unit"), ("", "start"), ("", "fitted"), ("", "s.e.")],
                prow,
            ),
            "",
            "Trial figures and the fit's residuals",
            table(
                [("", "figure"), ("", "target"), ("", "simulated"), ("", "s.e."), ("", "residual")],
                rrow,
                wrap_first=True,
            ),
        ]
    )


def format_readings(t: pd.DataFrame) -> str:
    """How the fitted inputs and the live predictions change with the reading of the figures."""
    rows = []
    for r in t.to_dict(orient="records"):
        fitted = "" if r["refitted"] else " (fit of the default)"
        rows.append(
            [
                f"{r['reading']}{fitted}",
                f"{number(r['sd_mean_laptop'], 2)}",
                f"{number(r['sd_mean_tablet'], 2)}",
                f"{number(r['sd_factor_other'], 3)}",
                f"{number(r['fix_logit_shift'], 2, sign=True)}",
                f"{number(r['ftf_rate_mean'], 3)}" + ("" if r["ftf_rate_agrees"] else " NO"),
                f"{number(r['sd_share_taken_early_peak_mean'], 3)}"
                + ("" if r["sd_share_taken_early_peak_agrees"] else " NO"),
            ]
        )
    header = [
        ("", "reading"),
        ("laptop", "days"),
        ("tablet", "days"),
        ("others", "×"),
        ("fix", "logit"),
        ("live", "ftf"),
        ("live", "share"),
    ]
    return "\n".join(
        [
            wrap(
                "Under each reading: the calibrated inputs refitted on the trial (others × and fix "
                "logit relative to the scenario's values), and the live figures predicted with "
                "them (NO: the CI misses the published figure's rounding)"
            ),
            table(header, rows, labels=1, wrap_first=True),
            *_readings_not_independent(t),
        ]
    )


def _readings_not_independent(t: pd.DataFrame) -> list[str]:
    """A line per live prediction that is not out of sample, whatever the reading."""
    from sim.experiment.backtest import PUBLISHED

    lines = []
    for p in PUBLISHED:
        flag = f"{p.metric}_independent_of_fit"
        if flag in t.columns and not t[flag].map(lambda x: _independent(x) == "yes").all():
            lines.append(wrap(f"Not out of sample — live {p.outcome}: {p.why}."))
    return lines
