"""The page's base scenario and the settings shared by its views."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

import sim
from sim import Scenario, ScenarioError
from sim.app.text import plain

SCENARIO_ENV = "TECHBAR_APP_SCENARIO"  # the base scenario when no --scenario is given


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="techbar app (page)")
    p.add_argument("--scenario", default=os.environ.get(SCENARIO_ENV) or None)
    return p.parse_known_args(argv)[0]


@st.cache_resource(show_spinner=False)
def _load(path: str | None) -> tuple[Scenario, pd.DataFrame]:
    from sim.report.assumptions import register_for

    scenario = sim.load_scenario(path)
    return scenario, register_for(path, scenario)


@dataclass
class Context:
    path: str | None  # the base scenario file; None for the embedded default
    base: Scenario
    register: pd.DataFrame  # key, value, unit, label, source (the assumptions register)
    reps: int = 10
    seed: int = 1
    workers: int = 2
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | None) -> Context | None:
        try:
            scenario, register = _load(path)
        except ScenarioError as exc:
            st.error("The scenario cannot be used: " + plain(exc))
            return None
        return cls(path, scenario, register)

    @property
    def source_label(self) -> str:
        return "embedded default" if self.path is None else Path(self.path).name

    def about(self, key: str) -> str:
        """The help text of a control: the base value, its unit and its source label."""
        row = self.register[self.register.key == key]
        if row.empty:
            return ""
        r = row.iloc[0]
        unit = f" {r.unit}" if r.unit else ""
        source = f" — {r.source}" if str(r.source).strip() else ""
        return plain(f"Base: {r.value}{unit}. Source {r.label}{source}")
