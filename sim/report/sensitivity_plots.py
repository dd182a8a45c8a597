"""Figures of a sensitivity analysis: a tornado per output and the probabilistic net benefit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.report.plots import style, to_png

MAX_BARS = 20


def tornado(table: pd.DataFrame, output: str) -> plt.Figure:
    """Each input's low and high end as a bar from the base mean (the largest swing on top),
    with the 95 % CI of each end's paired difference from the base."""
    t = table[table["output"] == output].sort_values("rank").head(MAX_BARS)
    with style():
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(t) + 1.6))
        y = np.arange(len(t))[::-1]
        base = float(t["base_mean"].iloc[0]) if len(t) else 0.0
        for end, colour in (("low", "#4c72b0"), ("high", "#dd8452")):
            d = t[f"{end}_diff_mean"].to_numpy()
            err = np.vstack(
                [d - t[f"{end}_diff_ci_low"].to_numpy(), t[f"{end}_diff_ci_high"].to_numpy() - d]
            )
            ax.barh(y, d, left=base, color=colour, label=f"input at its {end}")
            ax.errorbar(base + d, y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", lw=1)
        ax.axvline(base, color="black", lw=1)
        labels = [
            f"{k} ×[{lo:g}, {hi:g}]" if s else f"{k} [{lo:g}, {hi:g}]"
            for k, lo, hi, s in zip(
                t["input"], t["low_value"], t["high_value"], t["scale"], strict=True
            )
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set(
            title=f"Sensitivity of {output} (base {base:,.0f})"
            if abs(base) >= 1000
            else f"Sensitivity of {output} (base {base:.3g})",
            xlabel=output,
        )
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
    return fig


def psa_cdf(means: pd.Series, output: str, target: float = 0.0) -> plt.Figure:
    """The distribution of the output's mean over the probabilistic samples, as a CDF."""
    v = np.sort(means.to_numpy(dtype=float))
    with style():
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post")
        ax.axvline(target, color="black", lw=1)
        p = float((v > target).mean()) if len(v) else float("nan")
        ax.set(
            title=f"{output} over {len(v)} samples: P(> {target:g}) = {p:.0%}",
            xlabel=output,
            ylabel="share of samples at or below",
        )
        fig.tight_layout()
    return fig


def psa_histogram(means: pd.Series, output: str, target: float = 0.0) -> plt.Figure:
    """The distribution of the output's mean over the probabilistic samples, as a histogram,
    the samples above the target in one colour and those at or below it in another."""
    v = means.to_numpy(dtype=float)
    with style():
        fig, ax = plt.subplots(figsize=(8, 4))
        bins = np.histogram_bin_edges(v, bins=min(40, max(5, len(v) // 5))).tolist()
        ax.hist(
            [v[v > target], v[v <= target]],
            bins=bins,
            stacked=True,
            color=["#4c72b0", "#c44e52"],
            label=[f"> {target:g}", f"≤ {target:g}"],
        )
        ax.axvline(target, color="black", lw=1)
        p = float((v > target).mean()) if len(v) else float("nan")
        ax.set(
            title=f"{output} over {len(v)} samples: P(> {target:g}) = {p:.0%}",
            xlabel=output,
            ylabel="samples",
        )
        ax.legend(fontsize=8)
        fig.tight_layout()
    return fig


def figures(tornado_table: pd.DataFrame, psa_means: pd.Series | None, output: str) -> dict:
    """File name → PNG bytes."""
    out = {
        f"tornado_{o}.png": to_png(tornado(tornado_table, o))
        for o in dict.fromkeys(tornado_table["output"])
    }
    if psa_means is not None and len(psa_means):
        out[f"psa_{output}.png"] = to_png(psa_cdf(psa_means, output))
    return out
