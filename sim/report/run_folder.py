"""Run directories: what a run writes, written atomically.

All files are first written to a temporary folder beside the target; only when every file is
complete are they moved into place, so an interrupted or failed run leaves nothing half written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

from sim.experiment.runner import RunOutput
from sim.scenario import scenario_to_dict

PACKAGES = ("techbar-sim", "simpy", "numpy", "scipy", "pandas", "pydantic")


def default_run_dir(name: str, kind: str = "runs", now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return Path("results") / kind / f"{safe}-{stamp}"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    return res.stdout.strip() + ("-dirty" if dirty else "")


def provenance(wall_time_s: float, argv: list[str] | None = None) -> dict:
    """What every manifest records about how and when it was made."""
    return {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time_s, 3),
        "command": ["techbar", *(argv if argv is not None else sys.argv[1:])],
        "git_commit": git_commit(),
        "versions": package_versions(),
    }


def manifest(
    result: RunOutput, wall_time_s: float, argv: list[str] | None = None, extra: dict | None = None
) -> dict:
    return {
        "scenario_name": result.scenario.name,
        "seed": result.seed,
        "replications": result.replications,
        **(extra or {}),
        **provenance(wall_time_s, argv),
        "scenario": scenario_to_dict(result.scenario),
    }


def run_tables(result: RunOutput) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {
        "summary.csv": result.summary(),
        "replications.csv": _with_scenario(result.kpis, result.scenario.name),
        "queue_by_hour.csv": result.queue_profile(),
        "weekly.csv": result.weekly_series(),
        "waits.csv": result.wait_distribution(),
        "stock.csv": result.stock_on_hand(),
    }
    if result.trace is not None:
        tables["trace.csv"] = result.trace
    return tables


def write_run(
    out_dir: Path,
    result: RunOutput,
    wall_time_s: float,
    argv=None,
    extra: dict | None = None,
    assumptions: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every output file of a run into `out_dir`, atomically; return the final paths."""
    tables = run_tables(result)
    if assumptions is not None:
        tables["assumptions.csv"] = assumptions
    return write_outputs(out_dir, tables, manifest(result, wall_time_s, argv, extra))


def write_outputs(out_dir: Path, tables: dict[str, pd.DataFrame], meta: dict) -> list[Path]:
    """Write CSV tables and manifest.json into `out_dir`: all into a temporary folder first,
    then moved into place, so an interrupted write leaves nothing half written."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, table in tables.items():
            table.to_csv(tmp / name, index=False)
        (tmp / "manifest.json").write_text(
            json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8"
        )
        if not out_dir.exists():
            os.replace(tmp, out_dir)
        else:
            for f in sorted(tmp.iterdir()):
                os.replace(f, out_dir / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(out_dir / n for n in [*tables, "manifest.json"])


def _with_scenario(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = df.copy()
    out.insert(0, "scenario", name)
    return out


def write_file_atomically(path: Path, build: Callable[[Path], None]) -> None:
    """Call `build(tmp)` to write a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        build(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(path: Path, table: pd.DataFrame) -> None:
    """Write one CSV atomically."""
    write_file_atomically(path, lambda tmp: table.to_csv(tmp, index=False))
