"""Tables the page shows, made from the public API's results: plain pandas, no Streamlit."""

from __future__ import annotations

import pandas as pd

import sim

HEADLINE = (
    "service_level",
    "wait_mean_min",
    "wait_p90_min",
    "queue_len_mean",
    "utilisation",
    "reneged",
    "downtime_saved_days_per_ticket",
    "sd_share_taken",
    "net_benefit_gbp_per_year",
)
POOLED = ("ALL_DESKS", "ALL_POPUPS", "ALL")
SHARES = {"share"}  # shown as per cent


def titles() -> dict[str, str]:
    t = sim.kpi_table()
    return dict(zip(t.metric, t.title, strict=True))


def _fmt(value: float, unit: str) -> str:
    if pd.isna(value):
        return "–"
    if unit in SHARES:
        return f"{100 * value:,.1f} %"
    if "£" in unit:
        return f"£{value:,.0f}"
    return f"{value:,.2f}"


def _fmt_diff(value: float, unit: str) -> str:
    if pd.isna(value):
        return "–"
    if unit in SHARES:
        return f"{100 * value:+,.1f} pts"
    if "£" in unit:
        return f"{'+' if value >= 0 else '−'}£{abs(value):,.0f}"
    return f"{value:+,.2f}"


def difference_table(
    comparison: pd.DataFrame, metrics: tuple[str, ...] = HEADLINE, sites: list[str] | None = None
) -> pd.DataFrame:
    """One row per site and KPI: base, what-if, the paired difference with its 95 % CI, and
    the verdict (better / worse by the KPI's direction, changed, no change). Desks first in
    scenario order, then the pooled rows; pop-ups left out unless named in `sites`."""
    kpis = sim.kpi_table().set_index("metric")
    c = comparison[comparison.metric.isin(metrics)]
    c = c[c.site_kind.isin(["desk", "pooled"])] if sites is None else c[c.site.isin(sites)]
    order = {m: i for i, m in enumerate(metrics)}
    site_order = {s: i for i, s in enumerate(dict.fromkeys(c.site))}
    c = c.assign(
        _s=c.site.map(site_order) + c.site_kind.eq("pooled") * 10_000, _m=c.metric.map(order)
    ).sort_values(["_s", "_m"])
    rows = []
    for r in c.itertuples():
        unit = str(kpis.loc[r.metric, "unit"])
        rows.append(
            {
                "Site": r.site,
                "KPI": str(kpis.loc[r.metric, "title"]),
                "Base": _fmt(r.base_mean, unit),
                "What-if": _fmt(r.scenario_mean, unit),
                "Difference": _fmt_diff(r.diff_mean, unit),
                "95 % CI": f"{_fmt_diff(r.diff_ci_low, unit)} to {_fmt_diff(r.diff_ci_high, unit)}",
                "Verdict": r.verdict,
            }
        )
    return pd.DataFrame(
        rows, columns=["Site", "KPI", "Base", "What-if", "Difference", "95 % CI", "Verdict"]
    )


VERDICT_COLOURS = {"better": "#d7f0d7", "worse": "#f7d4d4", "changed": "#fff1c7"}


def verdict_style(table: pd.DataFrame):
    """A pandas Styler colouring each row by its verdict (colour is never the only cue: the
    verdict is a column too)."""

    def colour(row: pd.Series) -> list[str]:
        bg = VERDICT_COLOURS.get(str(row["Verdict"]))
        return [f"background-color: {bg}" if bg else "" for _ in row]

    return table.style.apply(colour, axis=1)


def changes_in_words(comparison: pd.DataFrame, limit: int = 5) -> list[str]:
    """The significant changes that matter most, as sentences: desks first, largest relative
    change first."""
    kpis = sim.kpi_table().set_index("metric")
    c = comparison[
        comparison.significant
        & comparison.metric.isin(HEADLINE)
        & comparison.site_kind.isin(["desk", "pooled"])
        & comparison.verdict.isin(["better", "worse"])
    ]
    c = c.assign(_mag=c.relative_change.abs(), _pool=c.site_kind.eq("pooled"))
    c = c.sort_values(["_pool", "_mag"], ascending=[True, False]).head(limit)
    out = []
    for r in c.itertuples():
        unit = str(kpis.loc[r.metric, "unit"])
        title = str(kpis.loc[r.metric, "title"])
        where = "force-wide" if r.site == "ALL" else f"at {r.site}"
        out.append(
            f"{title} {where}: {_fmt(r.base_mean, unit)} → {_fmt(r.scenario_mean, unit)} "
            f"({_fmt_diff(r.diff_mean, unit)}, 95 % CI {_fmt_diff(r.diff_ci_low, unit)} to "
            f"{_fmt_diff(r.diff_ci_high, unit)}) — {r.verdict}."
        )
    return out


def overlay(base: pd.DataFrame, whatif: pd.DataFrame, site: str, x: str) -> pd.DataFrame:
    """Base and what-if means of a profile table for one site, side by side on `x`."""
    b = base[base.site == site].set_index(x)["mean"].rename("Base")
    w = whatif[whatif.site == site].set_index(x)["mean"].rename("What-if")
    return pd.concat([b, w], axis=1)
