"""Whether the calibration holds at the points of a sensitivity analysis.

The calibrated inputs (:mod:`sim.experiment.calibrate`) were fitted on the trial scenario with
every other input at its value. A ranged input that also shapes the trial (patience, engineer
time, propensities…) moves the trial's figures off the published ones when it is varied. The
analysis **holds the fit** at every point (a re-fit costs a calibration, about 25 runs of the
trial, per point) and reports each point's **drift**: the trial at that point's inputs, with the
same seed and replications as the trial at the scenario's values (common random numbers), its
four fitted figures beside the published ones.

Each ranged input is treated in one of three ways (:func:`treatments`), said in ``ranges.csv``:

- ``fitted``: a calibrated input, varied within its fit's standard errors: its drift is the fit's
  own precision;
- ``held``: the trial's events depend on it: the fit is held and the drift reported;
- ``not in the fit``: the trial's events do not depend on it (a money input: the simulation
  never reads it) or its key reaches nothing in the trial: no drift, nothing run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.calibrate import FIGURES, ftf_target
from sim.experiment.sensitivity import _run_points, _t_half, simulation_key
from sim.scenario import Scenario, ScenarioError
from sim.scenario.uncertainty import Range, check_ranges, resolved_data, scenario_at

FITTED = "fitted"
HELD = "held"
NOT_IN_FIT = "not in the fit"
BASE_POINT = "trial at the scenario's values"
ONE_AT_A_TIME = "one at a time"
PROBABILISTIC = "probabilistic"


@dataclass
class TrialFit:
    """The trial scenario and, per ranged input, its range on the trial (None: not in the fit)
    with its treatment and why."""

    trial: Scenario
    data: dict[str, Any]
    targets: dict[str, float]  # metric → published figure
    ranges: dict[str, Range | None]
    treatment: dict[str, str]
    why: dict[str, str]

    def settings(self, settings: Sequence[tuple[Range, float]]) -> list[tuple[Range, float]]:
        """A point's settings as they apply to the trial (inputs not in the fit dropped)."""
        out = []
        for r, x in settings:
            tr = self.ranges.get(r.key)
            if tr is not None:
                out.append((tr, x))
        return out


def trial_fit(trial: Scenario, ranges: Sequence[Range], reading: str = "points") -> TrialFit:
    """Each range checked against the trial and given its treatment (module docstring)."""
    data = resolved_data(trial)
    targets = {f.metric: f.published for f in FIGURES[:3]}
    targets[FIGURES[3].metric] = ftf_target(trial.service_desk.ftf_rate, reading)
    base_key = simulation_key(trial)
    on_trial: dict[str, Range | None] = {}
    treatment: dict[str, str] = {}
    why: dict[str, str] = {}
    for r in ranges:
        try:
            tr = check_ranges([(r.key, dict(r.entry))], data, f"ranges on {trial.name}")[0]
        except ScenarioError as exc:
            on_trial[r.key], treatment[r.key] = None, NOT_IN_FIT
            why[r.key] = f"not applicable to the trial: {exc}"
            continue
        moves = any(
            simulation_key(scenario_at(data, [(tr, x)], "probe")) != base_key
            for x in (tr.low, tr.high)
        )
        if not moves:
            on_trial[r.key], treatment[r.key] = None, NOT_IN_FIT
            why[r.key] = "the trial's events do not depend on it: drift 0, not run"
        elif r.se is not None:
            on_trial[r.key], treatment[r.key] = tr, FITTED
            why[r.key] = (
                "a calibrated input within its standard errors: drift is the fit's precision"
            )
        else:
            on_trial[r.key], treatment[r.key] = tr, HELD
            why[r.key] = (
                "the trial depends on it: fit held, drift from the published figures reported"
            )
    return TrialFit(trial, data, targets, on_trial, treatment, why)


def drift(
    fit: TrialFit,
    points: Sequence[tuple[str, str, str, float, Sequence[tuple[Range, float]]]],
    seed: int,
    reps: int,
    design: str,
    run_options: dict[str, Any],
) -> pd.DataFrame:
    """The trial at each point (name, input, level, input value, settings) and at the
    scenario's values, `reps` replications at `seed` each: per point and figure, the simulated
    mean, the published figure, the drift (simulated − published) and the change from the trial
    at the scenario's values (paired over replications, with its 95 % t-interval). The trial's
    replications are measured for their KPIs only (`run_points`' `kpis_only`: the same figures)."""
    metrics = list(fit.targets)
    applied = [fit.settings(s) for *_, s in points]
    scenarios = [scenario_at(fit.data, [], BASE_POINT)]
    scenarios += [
        scenario_at(fit.data, a, f"trial: {p[0]}") for p, a in zip(points, applied, strict=True)
    ]
    # only the four figures are read: each trial replication is measured for its KPIs alone
    results = _run_points(
        scenarios, seed, reps, metrics, f"trial fit: {design}", run_options, kpis_only=True
    )
    base = results[0]
    rows = [_rows(design, BASE_POINT, "", "base", math.nan, base, base, fit.targets)]
    for (name, key, level, x, _), res in zip(points, results[1:], strict=True):
        rows.append(_rows(design, name, key, level, x, res, base, fit.targets))
    return pd.DataFrame([r for block in rows for r in block])


def _rows(
    design: str,
    point: str,
    key: str,
    level: str,
    x: float,
    res: pd.DataFrame,
    base: pd.DataFrame,
    targets: dict[str, float],
) -> list[dict[str, Any]]:
    figure = {f.metric: f.figure for f in FIGURES}
    out = []
    for metric, target in targets.items():
        d = res[metric] - base[metric]
        half = _t_half(float(d.std()), int(d.count()))
        mean = float(res[metric].mean())
        out.append(
            {
                "design": design,
                "point": point,
                "input": key,
                "level": level,
                "input_value": x,
                "figure": figure[metric],
                "metric": metric,
                "published": target,
                "simulated_mean": mean,
                "drift": mean - target,
                "change_from_fit": float(d.mean()),
                "change_ci_low": float(d.mean()) - half,
                "change_ci_high": float(d.mean()) + half,
                "n": int(res[metric].count()),
            }
        )
    return out


def one_at_a_time_points(
    fit: TrialFit, ranges: Sequence[Range]
) -> list[tuple[str, str, str, float, list[tuple[Range, float]]]]:
    """The one-at-a-time points of the inputs the fit depends on (low and high of each)."""
    return [
        (f"{r.label}={x:g}", r.key, level, x, [(r, x)])
        for r in ranges
        if fit.ranges.get(r.key) is not None
        for level, x in (("low", r.low), ("high", r.high))
    ]


def sample_points(
    fit: TrialFit, ranges: Sequence[Range], design: pd.DataFrame
) -> list[tuple[str, str, str, float, list[tuple[Range, float]]]]:
    """The probabilistic samples, each with its values of every input."""
    return [
        (f"psa sample {i}", "", "sample", math.nan, list(zip(ranges, row, strict=True)))
        for i, row in enumerate(design[[r.key for r in ranges]].itertuples(index=False, name=None))
    ]


def by_input(fit: TrialFit, table: pd.DataFrame | None) -> pd.DataFrame:
    """Per input: its treatment, why, and for each figure the drift from the published figure
    at its low and at its high (one-at-a-time points)."""
    rows = []
    for key, treat in fit.treatment.items():
        row: dict[str, Any] = {"input": key, "trial_fit": treat, "trial_fit_why": fit.why[key]}
        for metric in fit.targets:
            for level in ("low", "high"):
                v = math.nan
                if table is not None and len(table):
                    m = table[
                        (table["input"] == key)
                        & (table["level"] == level)
                        & (table["metric"] == metric)
                        & (table["design"] == ONE_AT_A_TIME)
                    ]
                    v = float(m["drift"].iloc[0]) if len(m) else math.nan
                row[f"drift_{level}_{metric}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def sample_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per figure over the probabilistic samples: the published figure, the drift at the
    scenario's values and the 5th, 50th and 95th percentiles of the samples' drift."""
    s = table[(table["design"] == PROBABILISTIC) & (table["level"] == "sample")]
    b = table[(table["design"] == PROBABILISTIC) & (table["level"] == "base")]
    rows = []
    for metric, g in s.groupby("metric", sort=False):
        d = g["drift"].to_numpy(dtype=float)
        at_base = b.loc[b["metric"] == metric, "drift"]
        rows.append(
            {
                "metric": metric,
                "figure": g["figure"].iloc[0],
                "published": float(g["published"].iloc[0]),
                "drift_at_scenario_values": float(at_base.iloc[0]) if len(at_base) else math.nan,
                "samples": len(d),
                "drift_p05": float(np.quantile(d, 0.05)),
                "drift_p50": float(np.quantile(d, 0.5)),
                "drift_p95": float(np.quantile(d, 0.95)),
            }
        )
    return pd.DataFrame(rows)


def fit_tables(
    fit: TrialFit, ranges: Sequence[Range], table: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """fit_drift.csv (every point's drift), fit_by_input.csv (each input's treatment and drift at
    its low and high) and, with a probabilistic analysis, fit_psa.csv (the samples' drift)."""
    out = {"fit_drift.csv": table, "fit_by_input.csv": by_input(fit, table)}
    if (table["design"] == PROBABILISTIC).any():
        out["fit_psa.csv"] = sample_summary(table)
    return out
