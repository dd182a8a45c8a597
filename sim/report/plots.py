"""Figures from a run's tables (seaborn on matplotlib, no screen needed).

Every function takes the tables a run writes (summary.csv, queue_by_hour.csv, …) and returns a
matplotlib Figure with a title, units and labelled axes; bands and error bars are 95 % CIs over
replications.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS
from sim.scenario import DEVICES

AGGREGATES = (ALL, ALL_DESKS, ALL_POPUPS)
sns.set_theme(style="whitegrid", context="notebook")


def _errors(df: pd.DataFrame) -> np.ndarray:
    return np.vstack([df["mean"] - df["ci_low"], df["ci_high"] - df["mean"]]).clip(min=0)


def queue_by_hour(profile: pd.DataFrame, sites: list[str]) -> plt.Figure:
    """Mean number waiting in each clock hour while open, per desk, with 95 % CI bands."""
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for site, g in profile[profile["site"].isin(sites)].groupby("site", sort=False):
        g = g.sort_values("hour")
        ax.plot(g["hour"], g["mean"], marker="o", ms=3, label=site)
        ax.fill_between(g["hour"], g["ci_low"], g["ci_high"], alpha=0.2)
    ax.set(
        title="Queue length by hour of day (while open)",
        xlabel="clock hour",
        ylabel="visitors waiting (time-weighted mean)",
    )
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
    fig.tight_layout()
    return fig


def staffing_curves(
    evidence: pd.DataFrame, targets: dict[str, float] | None = None, by: str = "site"
) -> plt.Figure:
    """Service level and utilisation against engineers at the desk, ± 95 % CI: one line per
    desk (sizing evidence) or per other setting (`by`, from a sweep)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, metric, label in zip(
        axes,
        ("service_level", "utilisation"),
        ("service level (share seen within target)", "utilisation (busy ÷ on duty)"),
        strict=True,
    ):
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
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


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


def weekly_share(weekly: pd.DataFrame) -> plt.Figure:
    """Force-wide share of service-desk calls taken, week by week (the adoption ramp)."""
    w = weekly[(weekly["site"] == ALL) & (weekly["metric"] == "sd_share_taken")].sort_values("week")
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ax.plot(w["week"], w["mean"], color="C0")
    ax.fill_between(w["week"], w["ci_low"], w["ci_high"], alpha=0.25, color="C0")
    ax.set(
        title="Share of service-desk calls taken by Tech Bars, by week",
        xlabel="week of service",
        ylabel="share of calls (incidents resolved at a Tech Bar)",
    )
    fig.tight_layout()
    return fig


def stock_on_hand(stock: pd.DataFrame) -> plt.Figure:
    """Swap units on hand over time (weekly mean), per device, one line per desk."""
    devices = [d for d in DEVICES if d in set(stock["device"])]
    fig, axes = plt.subplots(1, max(len(devices), 1), figsize=(12, 4), sharey=True, squeeze=False)
    for ax, device in zip(axes[0], devices, strict=False):
        for site, g in stock[stock["device"] == device].groupby("site", sort=False):
            ax.plot(g["week"], g["mean"], lw=1.2, label=site)
        ax.set(title=f"{device}", xlabel="week of service", ylabel="units on hand (weekly mean)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Swap stock on hand (mean over replications)")
    fig.tight_layout()
    return fig


def comparison_forest(comparison: pd.DataFrame, metric: str = "wait_mean_min") -> plt.Figure:
    """Each scenario minus the base (site ALL), paired 95 % CI."""
    c = comparison[(comparison["site"] == ALL) & (comparison["metric"] == metric)]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(c) + 1.5))
    y = np.arange(len(c))
    ax.errorbar(
        c["diff_mean"],
        y,
        xerr=np.vstack([c["diff_mean"] - c["diff_ci_low"], c["diff_ci_high"] - c["diff_mean"]]),
        fmt="o",
        capsize=3,
    )
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, c["scenario"], fontsize=8)
    ax.set(title=f"Change from the base: {metric}", xlabel=f"difference in {metric}")
    fig.tight_layout()
    return fig


def to_png(fig: plt.Figure, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()
