"""The business case's page sections beside the sensitivity tables: the distribution of the net
benefit per year over the probabilistic samples (histogram and CDF, P(net benefit > 0), and the
split of its spread into input uncertainty and simulation noise), and whether the calibration
holds at the analysis's points (each input's treatment and the trial's drift)."""

from __future__ import annotations

import base64

import pandas as pd

from sim.report.folder import RunFolder
from sim.report.words import percent

NET_BENEFIT = "net_benefit_gbp_per_year"
DRIFT_METRICS = (  # the trial figures the calibration was fitted to, as in fit_by_input.csv
    ("downtime_saved_days_per_ticket", "per ticket, days", "{:+.3f}"),
    ("downtime_saved_days_per_ticket_laptop", "laptop, days", "{:+.3f}"),
    ("downtime_saved_days_per_ticket_tablet", "tablet, days", "{:+.3f}"),
    ("ftf_rate", "first-time fix, points", "{:+.1f}"),
)


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _gbp(x: float) -> str:
    return "–" if pd.isna(x) else f"−£{-x:,.0f}" if x < 0 else f"£{x:,.0f}"


def sample_means(run: RunFolder, output: str = NET_BENEFIT) -> pd.Series | None:
    """The output's mean over each probabilistic sample's replications."""
    s = run.get("psa_samples")
    if s is None or output not in s.columns or s.empty:
        return None
    return s.groupby("sample")[output].mean()


def _drift_cell(row: dict, metric: str, pattern: str) -> str:
    lo, hi = row.get(f"drift_low_{metric}"), row.get(f"drift_high_{metric}")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "–"
    scale = 100.0 if metric == "ftf_rate" else 1.0
    return f"{pattern.format(lo * scale)} / {pattern.format(hi * scale)}"


def business_case_view(run: RunFolder) -> dict:
    """The template's variables (empty when the folder has no such tables)."""
    out: dict = {
        "psa_net": None,
        "psa_figures": [],
        "fit_inputs": [],
        "fit_psa": [],
        "drift_heads": [],
    }
    psa = run.get("psa_summary")
    if psa is not None and (psa["output"] == NET_BENEFIT).any():
        p = psa[psa["output"] == NET_BENEFIT].iloc[0].to_dict()
        share = p.get("input_share")
        out["psa_net"] = {
            "samples": int(p["samples"]),
            "reps": int(p.get("replications_per_sample", 0) or 0),
            "mean": _gbp(p["mean"]),
            "interval": f"{_gbp(p['p_low'])} to {_gbp(p['p_high'])}",
            "level": f"{float(p.get('interval', 0.9)):.0%}",
            "p_above": percent(p["p_above_target"]),
            "p_se": f"{p.get('p_above_target_se', float('nan')):.0%}",
            "input_share": None if pd.isna(share) else percent(share),
            "noise_share": None if pd.isna(share) else percent(p["noise_share"]),
        }
        means = sample_means(run)
        if means is not None:
            from sim.report.plots import to_png  # plotting loads only when drawing
            from sim.report.sensitivity_plots import psa_cdf, psa_histogram

            out["psa_figures"] = [
                (
                    f"Net benefit per year: {name} over the samples",
                    _b64(to_png(f(means, NET_BENEFIT))),
                )
                for name, f in (("histogram", psa_histogram), ("CDF", psa_cdf))
            ]
    fb = run.get("fit_by_input")
    if fb is not None:
        out["drift_heads"] = [label for _, label, _ in DRIFT_METRICS]
        for row in fb.to_dict("records"):
            out["fit_inputs"].append(
                {
                    "input": row["input"],
                    "treatment": row["trial_fit"],
                    "why": row["trial_fit_why"],
                    "cells": [_drift_cell(row, m, pat) for m, _, pat in DRIFT_METRICS],
                }
            )
    fp = run.get("fit_psa")
    if fp is not None:
        for r in fp.to_dict("records"):
            scale = 100.0 if r["metric"] == "ftf_rate" else 1.0
            out["fit_psa"].append(
                {
                    "figure": r["figure"],
                    "published": f"{r['published']:g}",
                    "at_base": f"{r['drift_at_scenario_values'] * scale:+.3f}",
                    "range": f"{r['drift_p05'] * scale:+.3f} to {r['drift_p95'] * scale:+.3f}",
                }
            )
    return out
