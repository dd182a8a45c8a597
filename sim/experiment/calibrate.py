"""Calibration: the inputs with no published value that the trial's figures pin down, fitted on
the trial scenario only (``met_trial_2018``), so that the live service's figures stay a
prediction.

Four inputs are fitted to four trial figures (MODEL.md §1, §5):

=================================  ==============================================================
input                              figure
=================================  ==============================================================
laptop service-desk resolution,    laptop tickets 2.3 days quicker
mean (days)
tablet service-desk resolution,    tablet tickets 3.41 days quicker
mean (days)
a common factor on the other       all tickets 1.9 days quicker
categories' resolution means
(their ratios stay as assumed)
a common shift of the tiers'       first-time fixes up 10 on the service desk's own rate
on-site fix probabilities, on      (``service_desk.ftf_rate``): +10 points (default) or +10 %
the logit scale
=================================  ==============================================================

Method: Newton's method on the replication means, the Jacobian by forward differences, with
common random numbers: every evaluation uses the same seed, and every draw of an incident
(its service-desk baseline, its fix draw…) is keyed to the incident, so the fitted function is
smooth in the inputs (the three resolution means enter the per-ticket savings exactly linearly;
the fix shift moves a first-time-fix rate made of thousands of visits). The fit stops when every
residual is below a tenth of its own standard error or below 0.001 (days; a tenth of a point of
first-time fix). Standard errors of the fitted inputs are
the delta method's: J⁻¹ Σ J⁻ᵀ / n with Σ the covariance of the four figures over replications
at the fit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.runner import RunOutput, run
from sim.kpis import ALL
from sim.scenario import Scenario, scenario_to_dict, validate

TRIAL_SCENARIO = "met_trial_2018"
FTF_READINGS = ("points", "relative")  # "+10 percentage points" or "+10 % relative"
FTF_RISE = 0.10
OTHER = "other"  # the categories with a baseline besides laptops and tablets
MIN_MEAN_DAYS = 0.01
TOLERANCE_SE = 0.1  # stop when every residual is below this many of its standard errors,
TOLERANCE_ABS = 1e-3  # or below a thousandth of a day (0.1 point of first-time fix): a tenth of
# the published figures' last digit, and finer than a first-time-fix rate of a few thousand visits
MAX_ITERATIONS = 6
STEPS = (0.1, 0.1, 0.05, 0.2)  # forward-difference steps: days, days, factor, logit


@dataclass(frozen=True)
class Figure:
    figure: str
    metric: str
    published: float
    source: str


FIGURES = (
    Figure(
        "downtime saved per ticket (days)",
        "downtime_saved_days_per_ticket",
        1.9,
        "[seed] trial: 1.9 days quicker per ticket",
    ),
    Figure(
        "downtime saved per laptop ticket (days)",
        "downtime_saved_days_per_ticket_laptop",
        2.3,
        "[seed] trial: laptops 2.3 days quicker",
    ),
    Figure(
        "downtime saved per tablet ticket (days)",
        "downtime_saved_days_per_ticket_tablet",
        3.41,
        "[seed] trial: tablets 3.41 days quicker",
    ),
    Figure(
        "first-time fix rate",
        "ftf_rate",
        math.nan,  # the service desk's rate + the published rise, by the reading chosen
        "[seed] trial: first time fixes up 10 on the service desk's [S] HDI ≈66 %",
    ),
)
PARAMETERS = (
    ("sd_mean_laptop", "days", "categories.laptop.sd_resolution_days.mean"),
    ("sd_mean_tablet", "days", "categories.tablet.sd_resolution_days.mean"),
    ("sd_factor_other", "×", "categories.{others}.sd_resolution_days.mean (common factor)"),
    ("fix_logit_shift", "logit", "tiers.*.fix_prob (common shift on the logit scale)"),
)
# The figure each input is fitted to, in the order of PARAMETERS (the Jacobian couples them all,
# but each figure moves most with its own input).
FITTED_TO = (FIGURES[1], FIGURES[2], FIGURES[0], FIGURES[3])


def ftf_target(sd_ftf: float, reading: str) -> float:
    """The trial's first-time-fix rate implied by "+10" over the service desk's rate."""
    if reading not in FTF_READINGS:
        raise ValueError(f"reading must be one of {FTF_READINGS}, not {reading!r}")
    return sd_ftf + FTF_RISE if reading == "points" else sd_ftf * (1 + FTF_RISE)


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _others(data: dict[str, Any]) -> list[str]:
    return [
        name
        for name, c in data["categories"].items()
        if name not in ("laptop", "tablet") and c.get("sd_resolution_days") is not None
    ]


def start_values(scenario: Scenario) -> np.ndarray:
    data = scenario_to_dict(scenario)
    cats = data["categories"]
    return np.array(
        [
            cats["laptop"]["sd_resolution_days"]["mean"],
            cats["tablet"]["sd_resolution_days"]["mean"],
            1.0,
            0.0,
        ]
    )


def with_inputs(scenario: Scenario, theta: np.ndarray) -> Scenario:
    """The scenario with the four calibrated inputs set to `theta` (see PARAMETERS)."""
    data = scenario_to_dict(scenario)
    cats = data["categories"]
    cats["laptop"]["sd_resolution_days"]["mean"] = max(float(theta[0]), MIN_MEAN_DAYS)
    cats["tablet"]["sd_resolution_days"]["mean"] = max(float(theta[1]), MIN_MEAN_DAYS)
    for name in _others(data) if theta[2] != 1 else []:
        d = cats[name]["sd_resolution_days"]
        d["mean"] = max(d["mean"] * float(theta[2]), MIN_MEAN_DAYS)
    for tier in data["tiers"].values() if theta[3] != 0 else []:
        tier["fix_prob"] = _expit(_logit(tier.get("fix_prob", 1.0)) + float(theta[3]))
    return validate(data, f"{scenario.name} (calibration)")


def figures_by_replication(result: RunOutput) -> pd.DataFrame:
    """Per replication, the four fitted figures for the whole trial (site ALL)."""
    k = result.kpis
    k = k[(k["site"] == ALL) & k["metric"].isin([f.metric for f in FIGURES])]
    wide = k.pivot_table(index="replication", columns="metric", values="value")
    return wide[[f.metric for f in FIGURES]]


@dataclass
class CalibrationResult:
    scenario: Scenario  # the trial with the fitted inputs
    start: Scenario  # the trial as it was given
    reading: str
    seed: int
    replications: int
    theta: np.ndarray
    theta_se: np.ndarray
    targets: np.ndarray
    simulated: pd.DataFrame  # per replication at the fit
    iterations: int
    evaluations: int
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)

    def parameters(self) -> pd.DataFrame:
        rows = [
            {
                "parameter": name,
                "unit": unit,
                "sets": sets,
                "fitted_to": f"{fig.figure} = {self._target_text(fig)} ({fig.source})",
                "start": float(s),
                "value": float(v),
                "se": float(se),
            }
            for (name, unit, sets), fig, s, v, se in zip(
                PARAMETERS,
                FITTED_TO,
                start_values(self.start),
                self.theta,
                self.theta_se,
                strict=True,
            )
        ]
        return pd.DataFrame(rows)

    def _target_text(self, fig: Figure) -> str:
        target = self.targets[FIGURES.index(fig)]
        if fig.metric != "ftf_rate":
            return f"{target:g}"
        rise = "+10 points" if self.reading == "points" else "+10 % relative"
        return f"{target:.4g} ({rise} on {self.start.service_desk.ftf_rate:g})"

    def residuals(self) -> pd.DataFrame:
        y = self.simulated
        n = len(y)
        rows = []
        for f, target in zip(FIGURES, self.targets, strict=True):
            col = y[f.metric]
            se = float(col.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            rows.append(
                {
                    "figure": f.figure,
                    "metric": f.metric,
                    "target": float(target),
                    "simulated_mean": float(col.mean()),
                    "se": se,
                    "residual": float(col.mean() - target),
                    "source": f.source,
                }
            )
        sd = self.scenario.service_desk.ftf_rate
        ftf = float(y["ftf_rate"].mean())
        for reading, value in (("points", ftf - sd), ("relative", ftf / sd - 1)):
            rows.append(
                {
                    "figure": f"first-time-fix rise over the service desk ({reading})",
                    "metric": f"ftf_rise_{reading}",
                    "target": FTF_RISE if reading == self.reading else math.nan,
                    "simulated_mean": value,
                    "se": float(y["ftf_rate"].std(ddof=1) / math.sqrt(n))
                    / (1 if reading == "points" else sd)
                    if n > 1
                    else math.nan,
                    "residual": value - FTF_RISE if reading == self.reading else math.nan,
                    "source": f"model output: simulated first-time fix vs service_desk.ftf_rate "
                    f"{sd:g} ({'+10 points' if reading == 'points' else '+10 % relative'})",
                }
            )
        return pd.DataFrame(rows)

    def fitted_inputs(self) -> dict[str, Any]:
        """The fitted inputs as scenario keys and values (what the scenario files take)."""
        data = scenario_to_dict(self.scenario)
        out: dict[str, Any] = {}
        for name in ["laptop", "tablet", *_others(data)]:
            out[f"categories.{name}.sd_resolution_days"] = data["categories"][name][
                "sd_resolution_days"
            ]
        for name, tier in data["tiers"].items():
            out[f"tiers.{name}.fix_prob"] = tier["fix_prob"]
        return out

    def fragment(self) -> str:
        """A scenario-file fragment with the fitted values, rounded to their precision."""
        lines = [
            f"# Fitted by `techbar calibrate` on {self.start.name}: seed {self.seed}, "
            f"{self.replications} replications, first-time fix read as +10 {self.reading}.",
            "# Paste over the same keys of the base scenario (met_2019.toml).",
        ]
        table = None
        for key, value in self.fitted_inputs().items():
            head, _, leaf = key.rpartition(".")
            if head != table:
                lines += ["", f"[{head}]"]
                table = head
            if isinstance(value, dict):
                inner = ", ".join(
                    f"{k} = {_fmt(v)}" for k, v in sorted(value.items(), key=_dist_first)
                )
                lines.append(f"{leaf} = {{ {inner} }}")
            else:
                lines.append(f"{leaf} = {_fmt(value)}")
        return "\n".join(lines) + "\n"

    def manifest(self) -> dict[str, Any]:
        """What a calibration folder's manifest.json records besides its provenance: the
        record (method, iterations, …) and the trial scenario as given, so the folder says what
        was fitted on and can be reported."""
        return {
            "kind": "calibration",
            "scenario_name": self.start.name,
            "seed": self.seed,
            "replications": self.replications,
            "calibration": self.record(),
            "scenario": scenario_to_dict(self.start),
        }

    def record(self) -> dict[str, Any]:
        return {
            "scenario": self.start.name,
            "method": "Newton's method on replication means, forward-difference Jacobian, "
            "common random numbers; standard errors by the delta method",
            "ftf_reading": self.reading,
            "seed": self.seed,
            "replications": self.replications,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "converged": self.converged,
            "parameters": self.parameters().to_dict(orient="records"),
            "residuals": json.loads(self.residuals().to_json(orient="records")),
            "fitted_inputs": self.fitted_inputs(),
            "history": self.history,
        }


def _dist_first(item: tuple[str, Any]) -> tuple[int, str]:
    order = ("dist", "mean", "cv")
    return (order.index(item[0]) if item[0] in order else len(order), item[0])


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


Evaluate = Callable[[Scenario], pd.DataFrame]


def calibrate(
    trial: Scenario,
    seed: int = 1,
    replications: int = 40,
    reading: str = "points",
    workers: int | None = None,
    max_iterations: int = MAX_ITERATIONS,
    evaluate: Evaluate | None = None,
    **run_options: Any,
) -> CalibrationResult:
    """Fit the four calibrated inputs on `trial` to the trial figures (module docstring)."""
    targets = np.array(
        [f.published for f in FIGURES[:3]] + [ftf_target(trial.service_desk.ftf_rate, reading)]
    )

    def _evaluate(s: Scenario) -> pd.DataFrame:
        return figures_by_replication(run(s, seed, replications, workers=workers, **run_options))

    ev = evaluate or _evaluate
    theta = start_values(trial)
    history: list[dict[str, Any]] = []
    evaluations = 0
    jac = None
    converged = False
    y = ev(with_inputs(trial, theta))
    evaluations += 1
    for iteration in range(max_iterations + 1):
        mean = y.mean().to_numpy()
        se = y.std(ddof=1).to_numpy() / math.sqrt(len(y)) if len(y) > 1 else np.zeros(4)
        f0 = mean - targets
        history.append({"iteration": iteration, "theta": theta.tolist(), "residual": f0.tolist()})
        if np.all(np.abs(f0) <= np.maximum(TOLERANCE_SE * se, TOLERANCE_ABS)) and jac is not None:
            converged = True
            break
        if iteration == max_iterations:
            break
        jac = np.empty((4, 4))
        for j, h in enumerate(STEPS):
            t = theta.copy()
            t[j] += h
            jac[:, j] = (ev(with_inputs(trial, t)).mean().to_numpy() - mean) / h
            evaluations += 1
        step = np.linalg.lstsq(jac, -f0, rcond=None)[0]
        theta = theta + step
        theta[:2] = np.maximum(theta[:2], MIN_MEAN_DAYS)
        theta[2] = max(theta[2], 0.01)
        y = ev(with_inputs(trial, theta))
        evaluations += 1
    assert jac is not None
    n = len(y)
    cov_y = np.cov(y.to_numpy(), rowvar=False) / n if n > 1 else np.zeros((4, 4))
    inv = np.linalg.pinv(jac)
    cov_theta = inv @ cov_y @ inv.T
    return CalibrationResult(
        scenario=with_inputs(trial, theta),
        start=trial,
        reading=reading,
        seed=seed,
        replications=replications,
        theta=theta,
        theta_se=np.sqrt(np.maximum(np.diag(cov_theta), 0)),
        targets=targets,
        simulated=y,
        iterations=len(history) - 1,
        evaluations=evaluations,
        converged=converged,
        history=history,
    )
