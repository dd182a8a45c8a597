"""A run folder read back: its manifest and tables, and the views of them every report shows.

`RunFolder.load` checks the folder before anything is drawn from it: a missing, empty, cut short
or mistyped table, or a manifest that is not a JSON object, stops the report with a message
naming the file and the problem, so a report is never built from half the data.
"""

from __future__ import annotations

import json
import math
import re
import warnings
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
    "value_saved_gbp_per_year",
    "sd_share_taken",
    "cost_gbp_per_year",
    "net_benefit_gbp_per_year",
    "npv_gbp",
    "benefit_cost_ratio",
)
SITE_KPIS = (  # the columns of the results by desk (the 90th-percentile wait beside the mean)
    "walkins",
    "wait_mean_min",
    "wait_p90_min",
    "service_level",
    "queue_len_mean",
    "utilisation",
    "ftf_rate",
    "downtime_saved_days_per_ticket",
    "sd_share_taken",
)
DESK_COMPARE = (  # the KPIs of the per-desk comparison, in its columns' order
    "wait_mean_min",
    "wait_p90_min",
    "service_level",
    "reneged",
    "utilisation",
    "ftf_rate",
    "fill_rate",
    "downtime_saved_days_per_ticket",
    "net_benefit_gbp_per_year",
)
STATS = ("mean", "std", "ci_low", "ci_high", "n")


@dataclass(frozen=True)
class TableSpec:
    """What a table must hold for a report to be drawn from it."""

    text: tuple[str, ...] = ()  # required columns read as text (names, labels)
    numeric: tuple[str, ...] = ()  # required columns holding numbers (blank: not defined)
    filled: tuple[str, ...] = ()  # required columns that may not be blank in any row
    rows: bool = False  # at least one row
    key: tuple[str, ...] = ()  # columns no two rows may share
    other: tuple[str, ...] = ()  # further required columns, read as they come

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.text, *self.numeric, *self.other)


TABLE_SPECS: dict[str, TableSpec] = {
    "summary": TableSpec(
        ("scenario", "site", "metric"),
        STATS,
        ("scenario", "site", "metric", "n"),
        rows=True,
        key=("scenario", "site", "metric"),
    ),
    "replications": TableSpec(
        ("scenario", "site", "metric"),
        ("replication", "value"),
        ("scenario", "site", "metric", "replication"),
    ),
    "queue_by_hour": TableSpec(("scenario", "site"), ("hour", *STATS), ("site", "hour", "n")),
    "weekly": TableSpec(
        ("scenario", "site", "metric"),
        ("week", *STATS),
        ("site", "metric", "week", "n"),
        other=("week_start",),
    ),
    "waits": TableSpec(
        ("scenario", "site"),
        ("wait_from_min", "wait_to_min", *STATS),
        ("site", "wait_from_min", "wait_to_min", "n"),
    ),
    "stock": TableSpec(
        ("scenario", "site", "device"), ("week", *STATS), ("site", "device", "week", "n")
    ),
    "comparison": TableSpec(
        ("scenario", "site", "metric"),
        ("base_mean", "scenario_mean", "diff_mean", "diff_ci_low", "diff_ci_high", "n"),
        ("scenario", "site", "metric", "n"),
        other=("significant",),
    ),
    "scenarios": TableSpec(("scenario", "overrides"), (), ("scenario",), rows=True),
    "recommendation": TableSpec(("site",), ("engineers",), ("site", "engineers"), rows=True),
    "sizing": TableSpec(
        ("site",),
        (
            "engineers",
            "erlang_c_estimate",
            "sipp_estimate",
            "arrivals_per_open_hour",
            "mean_service_min",
        ),
        ("site", "engineers"),
        rows=True,
    ),
    "evidence": TableSpec(
        ("site", "metric"), ("engineers", *STATS), ("site", "metric", "engineers", "n"), rows=True
    ),
    "tradeoff": TableSpec(
        ("site",),
        (
            "step",
            "engineer_days_per_week",
            "annual_gbp",
            "service_level_mean",
            "service_level_ci_low",
            "service_level_ci_high",
            "utilisation_mean",
            "utilisation_ci_low",
            "utilisation_ci_high",
            "sl_points_gained",
            "sl_points_gained_ci_low",
            "sl_points_gained_ci_high",
            "annual_gbp_per_sl_point",
        ),
        ("site", "step", "engineer_days_per_week"),
        key=("site", "step"),
        other=("plan",),
    ),
    "backtest": TableSpec(
        ("outcome", "metric", "site"),
        ("simulated_mean", "ci_low", "ci_high", "n"),
        ("outcome", "metric", "site"),
        rows=True,
        other=("published", "tolerance", "within_tolerance"),
    ),
    "assumptions": TableSpec(("key", "value", "unit", "label", "source"), (), ("key",)),
    "tornado": TableSpec(
        ("output", "input"),
        (
            "rank",
            "low_value",
            "high_value",
            "base_mean",
            "low_mean",
            "high_mean",
            "swing_mean",
            "swing_ci_low",
            "swing_ci_high",
            "low_diff_mean",
            "low_diff_ci_low",
            "low_diff_ci_high",
            "high_diff_mean",
            "high_diff_ci_low",
            "high_diff_ci_high",
        ),
        ("output", "input", "rank"),
        key=("output", "input"),
        other=("scale",),
    ),
    "switching": TableSpec(
        ("input", "output", "sentence"), ("switching_value",), ("input",), other=("within_range",)
    ),
    "psa_summary": TableSpec(
        ("output",), ("samples", "mean", "p_low", "p_high", "p_above_target"), ("output",)
    ),
    "psa_importance": TableSpec(("output", "input"), ("rank", "sobol_first_order"), ("input",)),
    "psa_samples": TableSpec(
        (), ("sample", "replication", "net_benefit_gbp_per_year"), ("sample",)
    ),
    "calibration": TableSpec(
        ("parameter", "unit", "sets"),
        ("start", "value", "se"),
        ("parameter", "value"),
        rows=True,
        key=("parameter",),
    ),
    "calibration_residuals": TableSpec(
        ("figure", "metric"),
        ("target", "simulated_mean", "se", "residual"),
        ("figure", "metric", "simulated_mean"),
        rows=True,
        key=("metric",),
    ),
    "fit_by_input": TableSpec(("input", "trial_fit", "trial_fit_why"), (), ("input",)),
    "fit_psa": TableSpec(
        ("metric", "figure"),
        ("published", "drift_at_scenario_values", "drift_p05", "drift_p50", "drift_p95"),
        ("metric",),
    ),
}
TABLES = tuple(TABLE_SPECS)
QUOTE = "'"  # sim.report.run_folder's prefix for text a spreadsheet would run as a formula
NA_TEXT = {"nan", "na", "n/a", "null"}
TARGET_RE = re.compile(r"^\s*(\w+)\s*(>=|<=)\s*(\S+)\s*$")


def incomplete(where: str, problem: str) -> ScenarioError:
    return ScenarioError(f"not a complete run folder: {where}: {problem}")


@dataclass
class RunFolder:
    path: Path
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> RunFolder:
        """Read and check a run folder; ScenarioError ("not a complete run folder: ...") if any
        file a report needs is missing, empty, cut short or not what the run writes."""
        path = Path(path)
        if not path.is_dir():
            raise incomplete(str(path), "not a folder" if path.exists() else "no such folder")
        manifest = _read_manifest(path / "manifest.json")
        tables = {
            name: _read_table(path / f"{name}.csv", spec)
            for name, spec in TABLE_SPECS.items()
            if (path / f"{name}.csv").exists()
        }
        for name in _required_tables(manifest, tables):
            if name not in tables:
                why = "missing"
                if is_calibration(manifest, tables):
                    why += " (techbar calibrate writes it into every calibration folder)"
                raise incomplete(str(path / f"{name}.csv"), why)
        _check_consistent(path, tables)
        return cls(path, manifest, tables)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @property
    def kind(self) -> str:
        if is_calibration(self.manifest, self.tables):
            return "calibration"
        if "experiment" in self.manifest or "scenarios" in self.tables:
            return "sweep"
        if "recommendation" in self.tables:
            return "sizing"
        if "backtest" in self.tables:
            return "backtest"
        if "tornado" in self.tables:
            return "sensitivity"
        return "run"

    @property
    def scenario(self) -> dict:
        if "scenario" in self.manifest:
            return self.manifest["scenario"]
        return next(iter(self.manifest.get("scenarios", {}).values()), {})

    @property
    def name(self) -> str:
        return (
            self.manifest.get("scenario_name")
            or self.manifest.get("experiment", {}).get("name")
            or self.calibration.get("scenario", "")
        )

    @property
    def calibration(self) -> dict:
        """The record of a calibration folder (method, iterations, …; empty for other kinds)."""
        return self.manifest.get("calibration", {})

    @property
    def whatif(self) -> dict | None:
        """The what-if this run is (its name, base scenario and overrides), if it is one."""
        return self.manifest.get("whatif")

    @property
    def title(self) -> str:
        """What the folder holds, for titles: "what-if '3 engineers' of met_2019"."""
        w = self.whatif
        if w is not None and self.kind == "run":
            return f"what-if '{w['name']}' of {w['base']}"
        return f"{self.kind} '{self.name}'"

    def base_summary(self) -> pd.DataFrame | None:
        s = self.get("summary")
        if s is None or self.kind != "sweep":
            return s
        return s[s["scenario"] == s["scenario"].iloc[0]]


def _read_manifest(file: Path) -> dict:
    where = str(file)
    if not file.is_file():
        raise incomplete(
            where, "missing (every run, backtest, sweep, sizing and calibration folder has one)"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise incomplete(where, f"unreadable ({exc})") from None
    if not text.strip():
        raise incomplete(where, "empty")
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise incomplete(where, f"not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise incomplete(where, f"holds {_json_type(manifest)}, not an object")
    if "scenario" in manifest:
        scenarios = {"scenario": manifest["scenario"]}
    elif isinstance(manifest.get("scenarios"), dict) and manifest["scenarios"]:
        scenarios = {f"scenarios.{k}": v for k, v in manifest["scenarios"].items()}
    elif manifest.get("kind") == "calibration":
        scenarios = {}  # written before calibration folders recorded the trial scenario
    else:
        raise incomplete(where, "no 'scenario' (or 'scenarios') object describing what was run")
    for key, scen in scenarios.items():
        _check_scenario(where, key, scen)
    for key in ("experiment", "versions", "whatif", "calibration"):
        if key in manifest and not isinstance(manifest[key], dict):
            raise incomplete(where, f"'{key}' is {_json_type(manifest[key])}, not an object")
    whatif = manifest.get("whatif", {})
    if "whatif" in manifest and not (
        isinstance(whatif.get("name"), str)
        and isinstance(whatif.get("base"), str)
        and isinstance(whatif.get("overrides"), list)
        and all(isinstance(o, dict) and isinstance(o.get("key"), str) for o in whatif["overrides"])
    ):
        raise incomplete(where, "'whatif' needs a name, a base and a list of overrides with keys")
    if "scenario_name" in manifest and not isinstance(manifest["scenario_name"], str):
        raise incomplete(where, "'scenario_name' is not a string")
    _check_calibration(where, manifest.get("calibration", {}))
    targets = manifest.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        raise incomplete(where, "'targets' is not a list of strings")
    for t in targets:
        m = TARGET_RE.match(t)
        if m is None or not _is_number(m.group(3)):
            raise incomplete(where, f"target '{t}' is not METRIC>=VALUE or METRIC<=VALUE")
    return manifest


CALIBRATION_RECORD: dict[str, tuple[type, str]] = {  # what a report reads from the record
    "method": (str, "a string"),
    "ftf_reading": (str, "a string"),
    "scenario": (str, "a string"),
    "iterations": (int, "a whole number"),
    "evaluations": (int, "a whole number"),
    "converged": (bool, "a boolean"),
    "history": (list, "a list"),
}


def _check_calibration(where: str, record: dict) -> None:
    for key, (kind, word) in CALIBRATION_RECORD.items():
        if key not in record:
            continue
        v = record[key]
        ok = (
            isinstance(v, bool) if kind is bool else isinstance(v, kind) and not isinstance(v, bool)
        )
        if not ok:
            raise incomplete(where, f"'calibration.{key}' is {_json_type(v)}, not {word}")
    for i, step in enumerate(record.get("history", [])):
        if not (
            isinstance(step, dict)
            and isinstance(step.get("theta"), list)
            and isinstance(step.get("residual"), list)
            and all(_is_number(str(x)) for x in [*step["theta"], *step["residual"]])
        ):
            raise incomplete(where, f"'calibration.history[{i}]' is not a step with numbers")


def is_calibration(manifest: dict, tables: dict[str, pd.DataFrame]) -> bool:
    """A folder `techbar calibrate` (or `sim.calibrate().write`) wrote."""
    return manifest.get("kind") == "calibration" or "calibration" in tables


def _check_scenario(where: str, key: str, scen) -> None:
    if not isinstance(scen, dict):
        raise incomplete(where, f"'{key}' is {_json_type(scen)}, not an object")
    for part in ("sites", "popups"):
        items = scen.get(part, [])
        if not isinstance(items, list):
            raise incomplete(where, f"'{key}.{part}' is {_json_type(items)}, not a list")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise incomplete(where, f"'{key}.{part}[{i}]' is not an object with a name")


def _json_type(x) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if x is None else kinds.get(type(x), "a number")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _required_tables(manifest: dict, tables: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """The tables every folder of this kind has, whatever the scenario."""
    if is_calibration(manifest, tables):
        return ("calibration", "calibration_residuals")
    if "targets" in manifest or "recommendation" in tables:
        return ("recommendation", "sizing", "evidence")
    if "experiment" in manifest or "scenarios" in tables:
        return ("summary", "comparison", "scenarios")
    return ("summary",)


def _read_table(file: Path, spec: TableSpec) -> pd.DataFrame:
    where = str(file)
    if not file.is_file():
        raise incomplete(where, "not a file")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise incomplete(where, f"unreadable ({exc})") from None
    if not raw.strip():
        raise incomplete(where, "empty")
    if not raw.endswith(b"\n"):
        raise incomplete(where, "cut short (its last line is unfinished)")
    try:
        with warnings.catch_warnings():
            # a first row longer than the header: an error, not a silently dropped field
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                file,
                dtype={c: str for c in spec.text},
                keep_default_na=False,
                na_values=[""],
                index_col=False,
                encoding="utf-8",
            )
    except pd.errors.ParserWarning:
        raise incomplete(where, "line 2 has more fields than the header") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise incomplete(where, f"not a readable CSV table ({_first_line(exc)})") from None
    df = _restore_text(df)
    missing = [c for c in spec.columns if c not in df.columns]
    if missing:
        raise incomplete(
            where,
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
            f"(it has {', '.join(map(str, df.columns))})",
        )
    for c in spec.numeric:
        df[c] = _numeric(where, df, c)
    for c in spec.filled:
        blank = df[c].isna()
        if blank.any():
            line = int(blank.to_numpy().argmax()) + 2
            raise incomplete(where, f"line {line}: no value in column {c} (cut short or edited?)")
    if spec.rows and df.empty:
        raise incomplete(where, "no rows")
    if spec.key:
        dup = df.duplicated(list(spec.key))
        if dup.any():
            line = int(dup.to_numpy().argmax()) + 2
            raise incomplete(where, f"line {line} repeats an earlier row's {', '.join(spec.key)}")
    return df


def _restore_text(df: pd.DataFrame) -> pd.DataFrame:
    """Undo the quote run folders put before text a spreadsheet would run as a formula (and
    before text already starting with one), in cells and column names alike."""

    def restore(cell: object) -> object:
        return cell[1:] if isinstance(cell, str) and cell.startswith(QUOTE) else cell

    df = df.rename(columns=restore)
    for c in df.columns:
        col = df[c]
        if not pd.api.types.is_numeric_dtype(col) and col.map(_quoted).any():
            df[c] = col.map(restore, na_action="ignore")
    return df


def _quoted(cell: object) -> bool:
    return isinstance(cell, str) and cell.startswith(QUOTE)


def _numeric(where: str, df: pd.DataFrame, column: str) -> pd.Series:
    """The column as numbers; blank (or NaN, NA) is "not defined", anything else stops."""
    col = df[column]
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return col
    text = col.astype(object).map(lambda x: x if pd.isna(x) else str(x).strip())
    blank = text.isna() | text.map(lambda x: isinstance(x, str) and x.lower() in NA_TEXT)
    number = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = ~blank & number.isna()
    if pd.api.types.is_bool_dtype(col):
        bad = col.notna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise incomplete(
            where, f"line {i + 2}: column {column} holds '{col.iloc[i]}', which is not a number"
        )
    return number.astype(float) if number.dtype == object else number


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_consistent(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Tables cut short at a line break are complete CSV files: compare the KPIs the summary
    has with those the replications have, which every run writes together."""
    s, r = tables.get("summary"), tables.get("replications")
    if s is None or r is None:
        return
    keys = ["scenario", "site", "metric"]
    in_s = set(s[keys].itertuples(index=False, name=None))
    in_r = set(r[keys].itertuples(index=False, name=None))
    for name, only in (("summary", in_r - in_s), ("replications", in_s - in_r)):
        if only:
            scen, site, metric = sorted(only)[0]
            raise incomplete(
                str(path / f"{name}.csv"),
                f"no rows for {len(only)} KPI(s) the other table has, e.g. scenario '{scen}', "
                f"site '{site}', metric '{metric}' (cut short?)",
            )
    n = r.groupby(keys, sort=False)["value"].count()
    stated = s.set_index(keys)["n"]
    diff = (stated - n.reindex(stated.index).fillna(0)).abs() > 0
    if diff.any():
        scen, site, metric = diff[diff].index[0]
        raise incomplete(
            str(path / "replications.csv"),
            f"scenario '{scen}', site '{site}', metric '{metric}' has "
            f"{int(n.get((scen, site, metric), 0))} values but summary.csv says n = "
            f"{_n(stated[(scen, site, metric)])} (cut short?)",
        )


def _n(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


def results_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean, CI, half-width as a percentage of the mean, n — per KPI (its title for people
    beside its id) and site."""
    out = summary.copy()
    half = out["ci_high"] - out["mean"]
    out["half_width_pct"] = (100 * half / out["mean"].abs()).where(out["mean"] != 0)
    units = {k.name: k.unit for k in KPIS.values()}
    titles = {k.name: k.title for k in KPIS.values()}
    out.insert(out.columns.get_loc("metric"), "kpi", out["metric"].map(titles))
    out.insert(out.columns.get_loc("metric") + 1, "unit", out["metric"].map(units))
    return out
