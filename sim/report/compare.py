"""Two run folders compared: the second minus the first, replication by replication.

Only folders that can be paired are compared: both written by ``techbar run`` or ``techbar
backtest`` (or the API's ``write``), with the same seed, the same number of replications and the
same simulated period (start date, horizon and warm-up), so that replication i of each saw the
same incidents (common random numbers). Anything else is refused with the reason. Only the
manifests and ``replications.csv`` are read, so a comparison takes a moment whatever the size of
the folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.experiment.sweep import paired_differences
from sim.report.folder import TABLE_SPECS, _read_manifest, _read_table
from sim.scenario import ScenarioError

PERIOD_KEYS = ("start_date", "horizon_weeks", "warmup_weeks")


@dataclass(frozen=True)
class Folder:
    """What a comparison needs of a run folder."""

    path: Path
    name: str
    seed: int
    replications: int
    scenario: dict
    kpis: pd.DataFrame  # replication, site, metric, value

    @property
    def desks(self) -> list[str]:
        return [s["name"] for s in self.scenario.get("sites", [])]

    @property
    def popups(self) -> list[str]:
        return [p["name"] for p in self.scenario.get("popups", [])]


def cannot_pair(a: Path, b: Path, why: str) -> ScenarioError:
    return ScenarioError(f"cannot compare '{a}' with '{b}': {why}")


def read_folder(path: Path | str) -> Folder:
    """The run folder's manifest and KPIs per replication, or ScenarioError saying why it is not
    a run folder (missing, a sweep or sizing folder, cut short)."""
    path = Path(path)
    if not path.is_dir():
        why = "not a folder" if path.exists() else "no such folder"
        raise ScenarioError(f"'{path}' is not a run folder: {why}")
    manifest = _read_manifest(path / "manifest.json")
    if "experiment" in manifest or "targets" in manifest or "scenario" not in manifest:
        kind = "sweep" if "experiment" in manifest else "sizing"
        raise ScenarioError(
            f"'{path}' is a {kind} folder, not a run folder; compare folders written by "
            "'techbar run' (a sweep already compares its scenarios with its base)"
        )
    file = path / "replications.csv"
    if not file.is_file():
        raise ScenarioError(f"'{path}' is not a run folder: replications.csv is missing")
    r = _read_table(file, TABLE_SPECS["replications"])
    seed, reps = manifest.get("seed"), manifest.get("replications")
    if not isinstance(seed, int) or not isinstance(reps, int):
        raise ScenarioError(
            f"'{path}' is not a run folder: its manifest has no seed or replications"
        )
    name = manifest.get("scenario_name") or manifest["scenario"].get("name") or path.name
    kpis = r[["replication", "site", "metric", "value"]]
    return Folder(path, str(name), seed, reps, manifest["scenario"], kpis)


def check_pairable(a: Folder, b: Folder) -> None:
    """Refuse (ScenarioError, with the reason) folders whose replications are not pairs."""
    if a.seed != b.seed:
        raise cannot_pair(a.path, b.path, f"different seeds ({a.seed} and {b.seed})")
    if a.replications != b.replications:
        raise cannot_pair(
            a.path, b.path, f"different replications ({a.replications} and {b.replications})"
        )
    for key in PERIOD_KEYS:
        va, vb = a.scenario.get(key), b.scenario.get(key)
        if va != vb:
            raise cannot_pair(a.path, b.path, f"different {key} ({va} and {vb})")


def compare_folders(base: Path | str, other: Path | str) -> tuple[pd.DataFrame, Folder, Folder]:
    """`other` minus `base`, paired by replication (the columns of comparison.csv), and the two
    folders read."""
    a, b = read_folder(base), read_folder(other)
    check_pairable(a, b)
    table = paired_differences(
        a.kpis, b.kpis, b.name, desks=[*a.desks, *b.desks], popups=[*a.popups, *b.popups]
    )
    return table, a, b
