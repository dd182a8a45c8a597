"""`techbar report RUN_DIR`: an Excel workbook and a self-contained HTML page from a run's files.

Works on a run, backtest, sweep or sizing folder, using whichever tables it holds; nothing is
recomputed, so the report shows exactly what the run wrote.
"""

from __future__ import annotations

import base64
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sim import plots
from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS, kpi_table
from sim.output import write_file_atomically
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
TEMPLATES = Path(__file__).resolve().parent / "templates"


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


def figures(run: RunFolder) -> dict[str, bytes]:
    """PNG figures for whatever the folder holds."""
    out: dict[str, bytes] = {}
    summary = run.base_summary()
    desks = [s["name"] for s in run.scenario.get("sites", [])]
    if (q := run.get("queue_by_hour")) is not None:
        out["Queue length by hour of day"] = plots.to_png(plots.queue_by_hour(q, desks))
    if (w := run.get("waits")) is not None:
        out["Waiting-time distribution"] = plots.to_png(plots.wait_distribution(w))
    if summary is not None:
        out["Downtime saved by device"] = plots.to_png(plots.downtime_by_device(summary))
    if (wk := run.get("weekly")) is not None:
        out["Weekly share of service-desk calls taken"] = plots.to_png(plots.weekly_share(wk))
    if (st := run.get("stock")) is not None and len(st):
        out["Swap stock on hand"] = plots.to_png(plots.stock_on_hand(st))
    if (ev := run.get("evidence")) is not None:
        targets = _targets(run.manifest.get("targets", []))
        out["Service level and utilisation against engineers"] = plots.to_png(
            plots.staffing_curves(ev, targets)
        )
    if (c := run.get("comparison")) is not None and len(c):
        out["Change in mean wait from the base"] = plots.to_png(plots.comparison_forest(c))
    if (curves := sweep_staffing(run)) is not None:
        site = curves["site"].iloc[0]
        out[f"{site}: service level and utilisation against engineers"] = plots.to_png(
            plots.staffing_curves(curves, by="setting")
        )
    return out


ENGINEERS_SET = re.compile(r"^sites\.(\d+)\.engineers=(.+)$")


def sweep_staffing(run: RunFolder) -> pd.DataFrame | None:
    """From a sweep that varies one desk's engineers: that desk's KPIs against engineers at the
    desk (the fewest on any open day, i.e. without pop-up duty), one line per other setting."""
    summary, scenarios = run.get("summary"), run.get("scenarios")
    if summary is None or scenarios is None:
        return None
    rows = []
    for name, overrides in zip(
        scenarios["scenario"], scenarios["overrides"].fillna(""), strict=True
    ):
        sets = [x.strip() for x in overrides.split(";") if x.strip()]
        found = [ENGINEERS_SET.match(x) for x in sets]
        hits = [m for m in found if m]
        if len(hits) != 1:
            continue
        index, value = int(hits[0].group(1)), tomllib.loads(f"v = {hits[0].group(2)}")["v"]
        at_desk = min(value) if isinstance(value, list) else value
        setting = ", ".join(x for x, m in zip(sets, found, strict=True) if not m) or "as base"
        rows.append((name, index, at_desk, setting))
    if len({r[1] for r in rows}) != 1 or len({r[2] for r in rows}) < 2:
        return None
    site = run.scenario["sites"][rows[0][1]]["name"]
    frames = []
    for name, _, at_desk, setting in rows:
        part = summary[(summary["scenario"] == name) & (summary["site"] == site)]
        frames.append(part.assign(engineers=at_desk, setting=setting))
    return pd.concat(frames, ignore_index=True)


def _targets(texts: list[str]) -> dict[str, float]:
    out = {}
    for t in texts:
        for op in (">=", "<="):
            if op in t:
                k, v = t.split(op)
                out[k] = float(v)
    return out


# --------------------------------------------------------------------------- Excel


def write_excel(run: RunFolder, path: Path, figs: dict[str, bytes]) -> None:
    def build(target: Path) -> None:
        options = {"options": {"nan_inf_to_errors": True}}
        with pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs=options) as xw:
            book = xw.book
            bold = book.add_format({"bold": True})
            wrap = book.add_format({"text_wrap": True, "valign": "top"})
            _readme_sheet(xw, run, bold, wrap)
            if (a := run.get("assumptions")) is not None:
                _table_sheet(xw, "Assumptions", a)
            _scenario_sheet(xw, run)
            summary = run.get("summary")
            if summary is not None:
                results = results_table(summary)
                _table_sheet(xw, "Results", results)
                _name_headlines(xw, run, results)
                base = results[results["scenario"] == results["scenario"].iloc[0]]
                _chart_sheet(xw, base, desks=_desks(run))
            for name, sheet in (
                ("comparison", "Comparison with base"),
                ("recommendation", "Recommendation"),
                ("sizing", "Sizing"),
                ("evidence", "Evidence"),
                ("backtest", "Backtest"),
                ("replications", "Replications"),
            ):
                if (t := run.get(name)) is not None:
                    _table_sheet(xw, sheet, t)
            meta = {k: v for k, v in run.manifest.items() if k not in ("scenario", "scenarios")}
            rows = [
                (k, json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)
                for k, v in _flat(meta).items()
            ]
            _table_sheet(xw, "Run metadata", pd.DataFrame(rows, columns=["field", "value"]))
            if figs:
                ws = book.add_worksheet("Figures")
                row = 0
                for title, png in figs.items():
                    ws.write(row, 0, title, bold)
                    ws.insert_image(row + 1, 0, f"{title}.png", {"image_data": io.BytesIO(png)})
                    row += 28

    write_file_atomically(path, build)


def _desks(run: RunFolder) -> list[str]:
    return [s["name"] for s in run.scenario.get("sites", [])]


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _readme_sheet(xw, run: RunFolder, bold, wrap) -> None:
    ws = xw.book.add_worksheet("README")
    xw.sheets["README"] = ws
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 100)
    lines = [
        ("techbar-sim report", ""),
        ("what", f"{run.kind} '{run.name}'"),
        ("created", str(run.manifest.get("created", ""))),
        ("replications", str(run.manifest.get("replications", ""))),
        ("seed", str(run.manifest.get("seed", ""))),
        (
            "how to read",
            "Every KPI is a mean over independent replications with a 95 % "
            "t-interval (ci_low, ci_high) and n replications. Headline results (site ALL) are "
            "named ranges, e.g. =ALL_wait_mean_min. Inputs and their sources are in Assumptions: "
            "[seed] business case or delivery summary, [S] published elsewhere, [D] derived, "
            "[A] assumption, [set] set on the command line, [default] model default.",
        ),
        ("", ""),
        ("KPI", "unit — meaning"),
    ]
    lines += [(r.metric, f"{r.unit} — {r.meaning}") for r in kpi_table().itertuples()]
    for i, (a, b) in enumerate(lines):
        ws.write(i, 0, a, bold if i in (0, 7) else None)
        ws.write(i, 1, b, wrap)


def _table_sheet(xw, sheet: str, df: pd.DataFrame) -> None:
    df = df.reset_index(drop=True)
    df.to_excel(xw, sheet_name=sheet, index=False, startrow=0)
    ws = xw.sheets[sheet]
    n_rows, n_cols = df.shape
    if n_cols:
        ws.add_table(
            0,
            0,
            max(n_rows, 1),
            n_cols - 1,
            {
                "columns": [{"header": str(c)} for c in df.columns],
                "style": "Table Style Light 9",
                "name": _table_name(sheet),
            },
        )
        for j, c in enumerate(df.columns):
            width = min(max(len(str(c)), *(len(str(x)) for x in df[c].head(50))) + 2, 60)
            ws.set_column(j, j, width)
        ws.freeze_panes(1, 0)


def _table_name(sheet: str) -> str:
    return "tbl_" + "".join(ch if ch.isalnum() else "_" for ch in sheet)


def _name_headlines(xw, run: RunFolder, results: pd.DataFrame) -> None:
    """Named ranges (e.g. ALL_wait_mean_min) on the base scenario's ALL results."""
    first = results["scenario"].iloc[0]
    col = results.columns.get_loc("mean")
    for i, row in results.reset_index(drop=True).iterrows():
        if row["scenario"] == first and row["site"] == ALL and row["metric"] in HEADLINE:
            cell = f"'Results'!${_col_letter(col)}${i + 2}"
            xw.book.define_name(f"ALL_{row['metric']}", f"={cell}")


def _col_letter(j: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(j)


def _chart_sheet(xw, results: pd.DataFrame, desks: list[str]) -> None:
    """Charts with 95 % CI error bars: mean wait per site, downtime saved by device."""
    book = xw.book
    ws = book.add_worksheet("Charts")
    xw.sheets["Charts"] = ws
    specs = [
        (
            "Mean wait per site (minutes, 95 % CI)",
            "wait_mean_min",
            [*desks, ALL_DESKS, ALL_POPUPS, ALL],
        ),
        ("Downtime saved per ticket by device (days, 95 % CI)", None, None),
    ]
    row = 0
    for title, metric, sites in specs:
        if metric is not None:
            d = results[(results["metric"] == metric) & results["site"].isin(sites)]
            labels = list(d["site"])
        else:
            metrics = ["downtime_saved_days_per_ticket"] + [
                f"downtime_saved_days_per_ticket_{x}" for x in ("laptop", "tablet", "smartphone")
            ]
            site = ALL_DESKS if ALL_DESKS in set(results["site"]) else ALL
            d = results[(results["site"] == site) & results["metric"].isin(metrics)]
            labels = list(
                d["metric"]
                .str.replace("downtime_saved_days_per_ticket", "all")
                .str.replace("all_", "")
            )
        keep = d["mean"].notna().to_numpy()
        d, labels = d[keep], [lab for lab, k in zip(labels, keep, strict=True) if k]
        if d.empty:
            continue
        ws.write_row(row, 0, ["label", "mean", "minus", "plus"])
        for i, (lab, m, lo, hi) in enumerate(
            zip(labels, d["mean"], d["ci_low"], d["ci_high"], strict=True), start=1
        ):
            ws.write_row(row + i, 0, [lab, m, _nz(m - lo), _nz(hi - m)])
        first, last = row + 1, row + len(d)
        chart = book.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": title,
                "categories": ["Charts", first, 0, last, 0],
                "values": ["Charts", first, 1, last, 1],
                "y_error_bars": {
                    "type": "custom",
                    "minus_values": ["Charts", first, 2, last, 2],
                    "plus_values": ["Charts", first, 3, last, 3],
                },
            }
        )
        chart.set_title({"name": title})
        chart.set_legend({"none": True})
        chart.set_size({"width": 760, "height": 360})
        ws.insert_chart(row, 5, chart)
        row = max(last + 2, row + 20)


def _nz(x: float) -> float:
    return 0.0 if pd.isna(x) else float(x)


def _scenario_sheet(xw, run: RunFolder) -> None:
    scen = run.scenario
    frames = []
    if scen.get("sites"):
        frames.append(("Permanent desks", pd.json_normalize(scen["sites"])))
    if scen.get("popups"):
        frames.append(("Pop-up locations", pd.json_normalize(scen["popups"])))
    ws = xw.book.add_worksheet("Scenario")
    xw.sheets["Scenario"] = ws
    row = 0
    for title, df in frames:
        ws.write(row, 0, title)
        df = df.map(lambda x: json.dumps(x) if isinstance(x, list | dict) else x)
        df.to_excel(xw, sheet_name="Scenario", index=False, startrow=row + 1)
        row += len(df) + 4


# --------------------------------------------------------------------------- HTML


def write_html(run: RunFolder, path: Path, figs: dict[str, bytes]) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    template = env.get_template("report.html.j2")
    summary = run.base_summary()
    headline, site_rows = [], []
    if summary is not None:
        s = summary.set_index(["site", "metric"])
        for m in HEADLINE:
            if (ALL, m) in s.index:
                r = s.loc[(ALL, m)]
                headline.append(
                    {
                        "metric": m,
                        "unit": KPIS[m].unit,
                        "meaning": KPIS[m].meaning,
                        "mean": fmt(r["mean"]),
                        "ci": f"{fmt(r['ci_low'])} – {fmt(r['ci_high'])}",
                        "n": int(r["n"]),
                    }
                )
        sites = list(dict.fromkeys(summary["site"]))
        for site in sites:
            cells = []
            for m in SITE_KPIS:
                r = s.loc[(site, m)] if (site, m) in s.index else None
                cells.append(
                    "–" if r is None else f"{fmt(r['mean'])} ± {fmt(r['ci_high'] - r['mean'])}"
                )
            site_rows.append({"site": site, "cells": cells})
    scen = run.scenario
    html = template.render(
        title=f"Tech Bar simulation — {run.kind} '{run.name}'",
        run=run,
        kind=run.kind,
        manifest_json=json.dumps(run.manifest, indent=2, ensure_ascii=False),
        headline=headline,
        site_kpis=SITE_KPIS,
        site_rows=site_rows,
        figures=[(t, base64.b64encode(p).decode("ascii")) for t, p in figs.items()],
        assumptions=_records(run.get("assumptions")),
        comparison=_records(_main_comparison(run.get("comparison"))),
        recommendation=_records(run.get("recommendation")),
        sizing=_records(run.get("sizing")),
        backtest=_records(run.get("backtest")),
        kpis=kpi_table().to_dict("records"),
        scenario=scen,
        n_sites=len(scen.get("sites", [])),
        n_popups=len(scen.get("popups", [])),
    )
    write_file_atomically(path, lambda target: target.write_text(html, encoding="utf-8"))


def _main_comparison(c: pd.DataFrame | None) -> pd.DataFrame | None:
    if c is None:
        return None
    return c[(c["site"] == ALL) & c["metric"].isin(HEADLINE)]


def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None:
        return []
    return [{k: fmt(v) for k, v in row.items()} for row in df.to_dict("records")]


def fmt(x) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, float | int):
        if pd.isna(x):
            return "–"
        if isinstance(x, int) or float(x).is_integer() and abs(x) >= 100:
            return f"{x:,.0f}"
        a = abs(x)
        return f"{x:,.0f}" if a >= 1000 else f"{x:.1f}" if a >= 10 else f"{x:.3f}"
    return str(x)


def write_report(run_dir: Path | str) -> tuple[Path, Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, whatever the machine has
    run = RunFolder.load(run_dir)
    figs = figures(run)
    xlsx, html = run.path / "report.xlsx", run.path / "report.html"
    write_excel(run, xlsx, figs)
    write_html(run, html, figs)
    return xlsx, html
