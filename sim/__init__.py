"""techbar-sim: discrete-event simulation of walk-in IT support capacity (Tech Bars).

The public API::

    import sim
    scenario = sim.load_scenario(overrides={"horizon_weeks": 13})
    result = sim.run(scenario, reps=10, seed=1)
    result.summary()          # tidy: scenario, site, metric, mean, std, ci_low, ci_high, n
    result.write("out/run")   # the files `techbar run` writes; sim.report("out/run") adds reports
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sim import analytic, report  # report: the output layer, callable as sim.report(dir)
from sim.api import (
    BacktestResult,
    CalibrationRun,
    RunResult,
    SensitivityResult,
    SizingResult,
    SweepResult,
    backtest,
    calibrate,
    compare,
    run,
    sensitivity,
    size,
    sweep,
)
from sim.experiment.sizing import Target, analytic_estimates, with_engineers
from sim.kpis import kpi_table, on_duty_step
from sim.model import run_replication
from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_to_dict, validate

try:
    __version__ = version("techbar-sim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BacktestResult",
    "CalibrationRun",
    "RunResult",
    "Scenario",
    "SensitivityResult",
    "ScenarioError",
    "SizingResult",
    "SweepResult",
    "Target",
    "__version__",
    "analytic",
    "analytic_estimates",
    "backtest",
    "calibrate",
    "compare",
    "kpi_table",
    "load_scenario",
    "on_duty_step",
    "plots",
    "report",
    "run",
    "run_replication",
    "scenario_to_dict",
    "sensitivity",
    "size",
    "sweep",
    "validate",
    "with_engineers",
]


def __getattr__(name: str) -> Any:
    if name == "plots":  # plotting libraries load only when asked for
        from sim.report import plots

        return plots
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
