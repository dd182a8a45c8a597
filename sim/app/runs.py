"""Running from the page: replications with a progress bar, kept for the session's server.

Runs are kept in memory by (resolved scenario, seed, replications), so returning to the base or
to an earlier what-if shows it at once; the results store on disk (as for the command line)
keeps finished replications between restarts.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

import streamlit as st

import sim
from sim import RunResult, Scenario

KEEP_RUNS = 16  # runs kept in memory (each ~ a few MB)


@st.cache_resource(show_spinner=False)
def _kept() -> OrderedDict[str, RunResult]:
    return OrderedDict()


def run_key(scenario: Scenario, seed: int, reps: int) -> str:
    data = sim.scenario_to_dict(scenario)
    data.pop("name", None)
    data.pop("description", None)
    text = json.dumps([data, seed, reps], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_scenario(
    scenario: Scenario, seed: int, reps: int, label: str, workers: int = 2
) -> RunResult:
    """`reps` replications of `scenario`, with a progress bar while they run. The page's Stop
    button interrupts it between replications (the bar's update raises)."""
    kept = _kept()
    key = run_key(scenario, seed, reps)
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    bar = st.progress(0.0, text=f"{label}: starting")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{label}: {done} of {total} simulations")

    result = sim.run(
        scenario, reps=reps, seed=seed, workers=workers, cache=True, on_progress=progress
    )
    bar.empty()
    kept[key] = result
    while len(kept) > KEEP_RUNS:
        kept.popitem(last=False)
    return result


def whatif_scenario(
    path: str | None, overrides: dict[str, Any], name: str | None = None
) -> Scenario:
    """The base file with the page's overrides, validated by the scenario model (a
    ScenarioError names the key and what is allowed)."""
    return sim.load_scenario(path, overrides, name=name)
