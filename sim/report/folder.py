"""A run folder read back: its manifest and tables, and the views of them every report shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.kpis import KPIS
from sim.scenario import ScenarioError

HEADLINE = (
    "walkins",
    "wait_mean_min",
    "service_level",
    "utilisation",
    "ftf_rate",
    "fill_rate",
    "downtime_saved_days_per_ticket",
    "officer_hours_saved",
    "value_saved_gbp",
    "sd_share_taken",
)
SITE_KPIS = (
    "walkins",
    "wait_mean_min",
    "wait_p95_min",
    "service_level",
    "queue_len_mean",
    "utilisation",
    "ftf_rate",
    "downtime_saved_days_per_ticket",
    "sd_share_taken",
)
TABLES = (
    "summary",
    "replications",
    "queue_by_hour",
    "weekly",
    "waits",
    "stock",
    "comparison",
    "scenarios",
    "recommendation",
    "sizing",
    "evidence",
    "backtest",
    "assumptions",
)


@dataclass
class RunFolder:
    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> RunFolder:
        path = Path(path)
        if not (path / "manifest.json").is_file():
            raise ScenarioError(f"'{path}' is not a run folder: it has no manifest.json")
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        tables = {
            name: pd.read_csv(path / f"{name}.csv", keep_default_na=True)
            for name in TABLES
            if (path / f"{name}.csv").is_file()
        }
        return cls(path, manifest, tables)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def kind(self) -> str:
        if "comparison" in self.tables:
            return "sweep"
        if "recommendation" in self.tables:
            return "sizing"
        if "backtest" in self.tables:
            return "backtest"
        return "run"

    @property
    def scenario(self) -> dict:
        if "scenario" in self.manifest:
            return self.manifest["scenario"]
        return next(iter(self.manifest.get("scenarios", {}).values()), {})

    @property
    def name(self) -> str:
        return self.manifest.get("scenario_name") or self.manifest.get("experiment", {}).get(
            "name", ""
        )

    def base_summary(self) -> pd.DataFrame | None:
        s = self.get("summary")
        if s is None or self.kind != "sweep":
            return s
        return s[s["scenario"] == s["scenario"].iloc[0]]


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean, CI, half-width as a percentage of the mean, n — per KPI and site."""
    out = summary.copy()
    half = out["ci_high"] - out["mean"]
    out["half_width_pct"] = (100 * half / out["mean"].abs()).where(out["mean"] != 0)
    units = {k.name: k.unit for k in KPIS.values()}
    out.insert(out.columns.get_loc("metric") + 1, "unit", out["metric"].map(units))
    return out
