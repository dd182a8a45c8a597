"""Figures from a run's tables (seaborn on matplotlib, no screen needed).

Every function takes the tables a run writes (summary.csv, queue_by_hour.csv, …) and returns a
matplotlib Figure with a title, units and labelled axes; bands and error bars are 95 % CIs over
replications (t-intervals, as in the tables).

The look (seaborn's whitegrid style, notebook context) applies to these figures only: each
function draws inside `style()`, which restores matplotlib's settings on the way out, so
importing this module or drawing with it never restyles anyone else's figures.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS
from sim.scenario import DEVICES

AGGREGATES = (ALL, ALL_DESKS, ALL_POPUPS)
CONFIDENCE = 0.95

P = ParamSpec("P")
R = TypeVar("R")


STAFFING_PANELS = (  # the two panels of a staffing figure: KPI and axis label
    ("service_level", "service level (share seen within target)"),
    ("utilisation", "utilisation (busy ÷ on duty)"),
)


@contextmanager
def style() -> Iterator[None]:
    """Draw with our look inside the block; matplotlib's settings are restored on exit."""
    with (
        plt.rc_context(),
        sns.axes_style("whitegrid"),
        sns.plotting_context("notebook"),
        # names come from scenario files: a "$" is a dollar sign, never the start of mathtext
        plt.rc_context({"text.parse_math": False}),
    ):
        yield


def _styled(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with style():
            return fn(*args, **kwargs)

    return wrapper


def t_interval(values) -> tuple[float, float]:
    """95 % t-interval of the mean of replications (the interval the tables give)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return (np.nan, np.nan)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return (v.mean() - half, v.mean() + half)


def _lines_with_bands(
    ax, data: pd.DataFrame, x: str, hue: str | None, value: str, **line_kws
) -> None:
    """Mean lines with 95 % CI bands: from summary rows (mean, ci_low, ci_high per point) or
    from one row per replication (column `value`), one line per `hue`."""
    names = list(dict.fromkeys(data[hue])) if hue else [None]
    colours = sns.color_palette(n_colors=max(len(names), 1))
    palette = dict(zip(names, colours, strict=False)) if hue else None
    common = {"x": x, "hue": hue, "palette": palette, "ax": ax, **line_kws}
    if not hue:
        common["color"] = colours[0]
    if "mean" in data.columns:
        sns.lineplot(data=data, y="mean", errorbar=None, **common)
        groups = data.groupby(hue, sort=False) if hue else [(None, data)]
        for name, g in groups:
            g = g.sort_values(x)
            colour = palette[name] if palette else colours[0]
            ax.fill_between(g[x], g["ci_low"], g["ci_high"], color=colour, alpha=0.2, lw=0)
    else:
        sns.lineplot(data=data, y=value, errorbar=t_interval, **common)


def _errors(df: pd.DataFrame) -> np.ndarray:
    return np.vstack([df["mean"] - df["ci_low"], df["ci_high"] - df["mean"]]).clip(min=0)


@_styled
def queue_by_hour(profile: pd.DataFrame, sites: list[str]) -> plt.Figure:
    """Mean number waiting in each clock hour while open, per desk, with 95 % CI bands: from
    the summary (queue_by_hour.csv) or one row per replication (column queue_len_mean)."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    _lines_with_bands(
        ax,
        profile[profile["site"].isin(sites)],
        "hour",
        "site",
        "queue_len_mean",
        marker="o",
        markersize=3,
    )
    ax.set(
        title="Queue length by hour of day (while open)",
        xlabel="clock hour",
        ylabel="visitors waiting (time-weighted mean)",
    )
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def _grouped_bars(ax, frames: dict[str, pd.DataFrame], labels: list[str]) -> None:
    """One bar per label for each group, side by side, with 95 % CI error bars."""
    width = 0.8 / max(len(frames), 1)
    x = np.arange(len(labels))
    for k, (group, g) in enumerate(frames.items()):
        ax.bar(x + k * width, g["mean"], width, yerr=_errors(g), capsize=2, label=group)
    ax.set_xticks(x + width * (len(frames) - 1) / 2, labels, fontsize=8)
    ax.legend()


@_styled
def wait_distribution(waits: pd.DataFrame, sites=(ALL_DESKS, ALL_POPUPS, ALL)) -> plt.Figure:
    """Share of visitors seen within each waiting-time band, with 95 % CI error bars."""
    present = [s for s in sites if s in set(waits["site"])]
    w = waits[waits["site"].isin(present)].copy()
    w["band"] = [
        f"{lo:g}–{hi:g}" if np.isfinite(hi) else f"{lo:g}+"
        for lo, hi in zip(w["wait_from_min"], w["wait_to_min"], strict=True)
    ]
    bands = list(dict.fromkeys(w["band"]))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    _grouped_bars(ax, {s: w[w["site"] == s].set_index("band").loc[bands] for s in present}, bands)
    ax.set(
        title="Waiting-time distribution of visitors seen",
        xlabel="wait (minutes)",
        ylabel="share of visitors seen",
    )
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


@_styled
def staffing_curves(
    evidence: pd.DataFrame, targets: dict[str, float] | None = None, by: str = "site"
) -> plt.Figure:
    """Service level and utilisation against engineers at the desk, ± 95 % CI: one line per
    desk (sizing evidence) or per other setting (`by`, from a sweep)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (metric, label) in zip(axes, STAFFING_PANELS, strict=True):
        m = evidence[evidence["metric"] == metric]
        for name, g in m.groupby(by, sort=False):
            g = g.sort_values("engineers")
            ax.errorbar(
                g["engineers"], g["mean"], yerr=_errors(g), marker="o", capsize=3, label=name
            )
        if targets and metric in targets:
            ax.axhline(targets[metric], color="black", ls="--", lw=1, label="target")
        ax.set(
            title=f"{metric.replace('_', ' ').capitalize()} against engineers",
            xlabel="engineers at the desk",
            ylabel=label,
        )
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylim(0, 1.05)  # shares: from zero, so a small change does not look large
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


@_styled
def downtime_by_device(summary: pd.DataFrame) -> plt.Figure:
    """Downtime saved per walk-in ticket by device type, ± 95 % CI."""
    sites = [s for s in AGGREGATES if s in set(summary["site"])]
    metrics = ["downtime_saved_days_per_ticket"] + [
        f"downtime_saved_days_per_ticket_{d}" for d in DEVICES
    ]
    fig, ax = plt.subplots(figsize=(9, 4.8))
    frames = {s: summary[summary["site"] == s].set_index("metric").reindex(metrics) for s in sites}
    _grouped_bars(ax, frames, ["all tickets", *DEVICES])
    ax.set(
        title="Downtime saved against the service desk, per walk-in ticket",
        xlabel="incident device",
        ylabel="days saved per ticket",
    )
    fig.tight_layout()
    return fig


@_styled
def weekly_share(weekly: pd.DataFrame) -> plt.Figure:
    """Force-wide share of service-desk calls taken, week by week (the adoption ramp): from
    the summary (weekly.csv) or one row per replication (column value)."""
    w = weekly[(weekly["site"] == ALL) & (weekly["metric"] == "sd_share_taken")].sort_values("week")
    fig, ax = plt.subplots(figsize=(9, 4.2))
    _lines_with_bands(ax, w, "week", None, "value")
    ax.set(
        title="Share of service-desk calls taken by Tech Bars, by week",
        xlabel="week of service",
        ylabel="share of calls (incidents resolved at a Tech Bar)",
    )
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return fig


@_styled
def stock_on_hand(stock: pd.DataFrame) -> plt.Figure:
    """Swap units on hand week by week: one panel per device, one line per desk with its 95 %
    CI band over replications, the axis from zero (a count)."""
    devices = [d for d in DEVICES if d in set(stock["device"])] or ["(none)"]
    sites = list(dict.fromkeys(stock["site"]))
    fig, axes = plt.subplots(
        len(devices), 1, figsize=(10, 3.2 * len(devices)), sharex=True, squeeze=False
    )
    for k, (ax, device) in enumerate(zip(axes[:, 0], devices, strict=True)):
        _lines_with_bands(ax, stock[stock["device"] == device], "week", "site", "value", lw=1.2)
        ax.set(title=f"{device.capitalize()}s on hand", xlabel="week of service", ylabel="units")
        ax.set_ylim(bottom=0)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if k == 0 and sites:
            ax.legend(fontsize=8, title="desk", loc="upper left", bbox_to_anchor=(1.01, 1))
        elif ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.suptitle("Swap stock on hand, weekly mean over replications with 95 % CI bands")
    fig.tight_layout()
    return fig


@_styled
def wait_mean_and_p90(summary: pd.DataFrame, desks: list[str]) -> plt.Figure:
    """The mean wait and the 90th-percentile wait of those seen at each desk and pooled, side
    by side with 95 % CI error bars: the risk beside the average."""
    sites = [s for s in [*desks, ALL_DESKS, ALL_POPUPS, ALL] if s in set(summary["site"])]
    frames = {}
    for metric, label in (("wait_mean_min", "mean"), ("wait_p90_min", "90th percentile")):
        m = summary[summary["metric"] == metric].set_index("site").reindex(sites)
        frames[label] = m
    fig, ax = plt.subplots(figsize=(10, 4.8))
    labels = [
        s.replace("ALL_DESKS", "all desks").replace("ALL_POPUPS", "all pop-ups") for s in sites
    ]
    labels = ["all sites" if s == ALL else lab for s, lab in zip(sites, labels, strict=True)]
    _grouped_bars(ax, frames, labels)
    ax.set(
        title="Wait of those seen: the mean and the 90th percentile",
        xlabel="",
        ylabel="minutes from walking in to being seen",
    )
    ax.set_ylim(bottom=0)
    ax.tick_params(axis="x", labelrotation=30)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


@_styled
def comparison_forest(
    comparison: pd.DataFrame,
    metric: str = "wait_mean_min",
    names: dict[str, str] | None = None,
    title: str = "",
) -> plt.Figure:
    """Each scenario minus the base (site ALL), paired 95 % CI, scenarios by readable name;
    green where significantly better, red where significantly worse."""
    c = comparison[(comparison["site"] == ALL) & (comparison["metric"] == metric)]
    scale = 100.0 if KPIS.get(metric) is not None and KPIS[metric].unit == "share" else 1.0
    labels = [_wrap((names or {}).get(s, s), 48) for s in c["scenario"]]
    height = 0.22 * sum(lab.count("\n") + 1 for lab in labels) + 1.4
    fig, ax = plt.subplots(figsize=(10, max(height, 2.4)))
    y = np.arange(len(c))[::-1]
    colours = {"better": "#1a7f37", "worse": "#c62828"}
    for yi, (_, r) in zip(y, c.iterrows(), strict=True):
        colour = colours.get(str(r.get("verdict", "")), "#4a5568")
        if not bool(r.get("significant")):
            colour = "#4a5568"
        d, lo, hi = r["diff_mean"] * scale, r["diff_ci_low"] * scale, r["diff_ci_high"] * scale
        ax.errorbar(
            d, yi, xerr=[[max(d - lo, 0)], [max(hi - d, 0)]], fmt="o", capsize=3, color=colour
        )
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, labels, fontsize=8)
    unit = "percentage points" if scale == 100.0 else (KPIS[metric].unit if metric in KPIS else "")
    ax.set(
        title=title or f"Change from the base: {metric}",
        xlabel=f"what-if − base, all sites ({unit}); bars: paired 95 % CI",
    )
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


@_styled
def to_png(fig: plt.Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(
        buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.15
    )  # no clipped label
    plt.close(fig)
    return buf.getvalue()
