"""Shared helpers for comparing simulation output with theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.runner import RunOutput, run
from sim.scenario import Scenario


def kpi_samples(scenario: Scenario, reps: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Per-replication values of each KPI for the whole force (site ALL)."""
    return samples_of(run(scenario, seed, reps, workers=2))[0]


def samples_of(out: RunOutput) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Per-replication KPIs for the whole force (site ALL), and the queue by clock hour as a
    table of replications (rows) by hours (columns), for a run with one desk."""
    kpis = out.kpis[out.kpis["site"] == "ALL"]
    by_hour = out.queue_by_hour.pivot(index="replication", columns="hour", values="queue_len_mean")
    return {m: g["value"].to_numpy() for m, g in kpis.groupby("metric")}, by_hour


def assert_agrees(samples: np.ndarray, expected: float, rel_slack: float, label: str = ""):
    """Mean over replications within 3 standard errors plus a relative slack of `expected`."""
    mean = samples.mean()
    se = samples.std(ddof=1) / np.sqrt(len(samples))
    tol = 3 * se + rel_slack * abs(expected)
    assert abs(mean - expected) <= tol, (
        f"{label}: simulated {mean:.5g} ± {se:.3g} (se) vs theory {expected:.5g}; "
        f"allowed ±{tol:.3g}"
    )
    # the check must be able to fail: the tolerance is a small part of the value
    assert tol < 0.25 * abs(expected) or expected == 0, f"{label}: too loose to mean anything"


def t_interval(samples: np.ndarray) -> tuple[float, float]:
    m, se = samples.mean(), stats.sem(samples)
    h = se * stats.t.ppf(0.975, len(samples) - 1)
    return m - h, m + h
