"""The self-contained HTML page of a run folder."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS, kpi_table
from sim.report import words as w
from sim.report.business_case import business_case_view
from sim.report.calibration import calibration_view
from sim.report.executive import executive_summary
from sim.report.folder import DESK_COMPARE, HEADLINE, SITE_KPIS, RunFolder
from sim.report.names import readable_names
from sim.report.run_folder import write_file_atomically
from sim.report.staffing import staffing_view
from sim.scenario import override_text

TEMPLATES = Path(__file__).resolve().parent / "templates"


def write_html(run: RunFolder, path: Path, figs: dict[str, bytes]) -> None:
    write_text_atomically(path, render_html(run, figs))


def write_text_atomically(path: Path, text: str) -> None:
    def build(target: Path) -> None:
        target.write_text(text, encoding="utf-8")

    write_file_atomically(path, build)


def render_html(run: RunFolder, figs: dict[str, bytes]) -> str:
    """The page as text. Every value is HTML-escaped: names, descriptions and overrides come
    from scenario files and command lines, so none may become markup or script."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    template = env.get_template("report.html.j2")
    scen = run.scenario
    names = readable_names(run.get("scenarios"), scen)
    return template.render(
        title=f"Tech Bar simulation — {run.title}",
        whatif=run.whatif,
        changes=[
            override_text(o["key"], o.get("value")) for o in (run.whatif or {}).get("overrides", [])
        ],
        run=run,
        kind=run.kind,
        manifest_json=json.dumps(run.manifest, indent=2, ensure_ascii=False),
        executive=executive_summary(run),
        headline=headline_cards(run.base_summary()),
        site_kpis=[w.title(m) for m in SITE_KPIS],
        **site_tables(run.base_summary(), scen),
        figures=[(t, base64.b64encode(p).decode("ascii")) for t, p in figs.items()],
        assumptions=_records(run.get("assumptions")),
        key_inputs=_records(key_inputs(run.get("assumptions"), run.get("tornado"))),
        comparison=main_comparison(run.get("comparison"), names),
        by_desk=by_desk(run.get("comparison"), scen, names),
        top_changes=top_changes(run.get("comparison"), names=names),
        recommendation=_records(run.get("recommendation")),
        sizing=_records(run.get("sizing")),
        backtest=backtest_rows(run.get("backtest")),
        **sensitivity_view(run),
        **business_case_view(run),
        **staffing_view(run),
        **calibration_view(run),
        kpis=kpi_table().to_dict("records"),
        scenario=scen,
        n_sites=len(scen.get("sites", [])),
        n_popups=len(scen.get("popups", [])),
    )


def headline_cards(summary: pd.DataFrame | None) -> list[dict]:
    """A card per headline KPI (site ALL): its title with unit and period, the mean in words,
    the 95 % CI, and for a mean wait the 90th percentile beside it (the risk beside the mean)."""
    if summary is None:
        return []
    s = summary[summary["site"] == ALL].set_index("metric")
    cards = []
    for m in HEADLINE:
        if m not in s.index:
            continue
        r = s.loc[m]
        card = {
            "metric": m,
            "title": w.title(m),
            "meaning": KPIS[m].meaning,
            "mean": w.quantity(m, r["mean"]),
            "ci": w.interval(m, r["ci_low"], r["ci_high"]),
            "n": int(r["n"]),
            "extra": "",
        }
        if m == "wait_mean_min" and "wait_p90_min" in s.index:
            card["extra"] = (
                f"1 in 10 waits over {w.quantity('wait_p90_min', s.loc['wait_p90_min', 'mean'])}"
            )
        cards.append(card)
    return cards


def _site_cell(r) -> dict:
    if r is None or pd.isna(r["mean"]):
        return {"mean": "–", "half": ""}
    m = str(r["metric"])
    half = r["ci_high"] - r["mean"]
    return {
        "mean": w.number(m, r["mean"]),
        "half": "" if pd.isna(half) else "± " + w.number(m, half),
    }


def site_tables(summary: pd.DataFrame | None, scenario: dict) -> dict[str, list[dict]]:
    """Results by site: the desks (and their pooled row), the pop-ups summarised by their pooled
    row and the force-wide row, and every pop-up location for the folded detail."""
    if summary is None:
        return {"desk_rows": [], "popup_rows": [], "pooled_rows": []}
    s = summary.set_index(["site", "metric"])
    rows = {}
    for site in dict.fromkeys(summary["site"]):
        cells = []
        for m in SITE_KPIS:
            r = s.loc[(site, m)].copy() if (site, m) in s.index else None
            if r is not None:
                r["metric"] = m
            cells.append(_site_cell(r))
        rows[site] = {"site": site, "cells": cells}
    desks = [x.get("name") for x in scenario.get("sites", [])]
    popups = [x.get("name") for x in scenario.get("popups", [])]
    pooled = [dict(rows[k], site=v) for k, v in POOLED_NAMES.items() if k in rows]
    return {
        "desk_rows": [rows[d] for d in desks if d in rows],
        "popup_rows": [rows[p] for p in popups if p in rows],
        "pooled_rows": pooled,
    }


def key_inputs(a: pd.DataFrame | None, tornado: pd.DataFrame | None) -> pd.DataFrame | None:
    """The [A] inputs that matter most (`sim.report.assumptions.key_inputs`)."""
    from sim.report.assumptions import key_inputs as pick

    return None if a is None else pick(a, tornado)


def main_comparison(c: pd.DataFrame | None, names: dict[str, str]) -> list[dict]:
    """Each scenario's headline KPIs (site ALL) against the base's, in words and units."""
    if c is None:
        return []
    c = c[(c["site"] == ALL) & c["metric"].isin(HEADLINE)]
    out = []
    for r in c.to_dict("records"):
        m = r["metric"]
        out.append(
            {
                "scenario": names.get(r["scenario"], r["scenario"]),
                "kpi": w.title(m),
                "base": w.quantity(m, r["base_mean"]),
                "new": w.quantity(m, r["scenario_mean"]),
                "change": w.change(m, r["diff_mean"]),
                "ci": w.change_interval(m, r["diff_ci_low"], r["diff_ci_high"]),
                "cls": _verdict_class(r) if bool(r.get("significant")) else "",
                "verdict": r.get("verdict", "")
                if bool(r.get("significant"))
                else "no significant change",
            }
        )
    return out


POOLED_NAMES = {
    ALL_DESKS: "All permanent desks",
    ALL_POPUPS: "All pop-up locations",
    ALL: "All sites",
}
TOP_CHANGES = 15
MAX_SCENARIO_TABLES = 12  # per-desk tables in the page; every scenario is in the workbook


def _verdict_class(row) -> str:
    return {"better": "better", "worse": "worse"}.get(str(row.get("verdict", "")), "")


def _difference(row) -> dict:
    """A cell of a comparison: the paired difference (shares in percentage points) and, on its
    own line, its 95 % CI; each number stays on one line."""
    m, mean, low, high = row["metric"], row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"]
    if pd.isna(mean):
        return {"diff": "–", "ci": ""}
    if mean == 0 and (pd.isna(low) or low == high == 0):
        return {"diff": "no change", "ci": ""}  # the same in every replication
    ci = "" if pd.isna(low) else f"{w.number(m, low, True)} to {w.number(m, high, True)}"
    return {"diff": w.number(m, mean, signed=True), "ci": ci}


def by_desk(
    c: pd.DataFrame | None, scenario: dict, names: dict[str, str] | None = None
) -> list[dict]:
    """Per scenario compared with the base: one row per desk, then the pooled groups, then the
    pop-ups (folded), one cell per KPI of `DESK_COMPARE`: the paired difference with its 95 % CI,
    classed better or worse (by the KPI's direction) when the CI excludes 0."""
    if c is None or c.empty:
        return []
    metrics = [m for m in DESK_COMPARE if m in set(c["metric"])]
    headers = [
        f"{KPIS[m].title}{' (change in % points)' if KPIS[m].unit == 'share' else ''}"
        for m in metrics
    ]
    popups = {p.get("name") for p in scenario.get("popups", [])}
    out = []
    for name in list(dict.fromkeys(c["scenario"]))[:MAX_SCENARIO_TABLES]:
        sub = c[c["scenario"] == name]
        idx = {(r["site"], r["metric"]): r for r in sub.to_dict("records")}
        sites = list(dict.fromkeys(sub["site"]))
        pooled = [s for s in ("ALL_DESKS", "ALL_POPUPS", ALL) if s in sites]
        desks = [s for s in sites if s not in pooled and s not in popups]
        pops = [s for s in sites if s in popups]

        def rows(names: list[str], idx=idx) -> list[dict]:
            out_rows = []
            for site in names:
                cells = []
                for m in metrics:
                    r = idx.get((site, m))
                    if r is None:
                        cells.append({"diff": "–", "ci": "", "cls": ""})
                    else:
                        cells.append({**_difference(r), "cls": _verdict_class(r)})
                out_rows.append({"site": POOLED_NAMES.get(site, site), "cells": cells})
            return out_rows

        out.append(
            {
                "scenario": (names or {}).get(name, name),
                "headers": headers,
                "desks": rows(desks),
                "pooled": rows(pooled),
                "popups": rows(pops),
            }
        )
    return out


def top_changes(
    c: pd.DataFrame | None, n: int = TOP_CHANGES, names: dict[str, str] | None = None
) -> list[dict]:
    """The significant changes a reader should see first (as in the terminal)."""
    if c is None or c.empty or "verdict" not in c.columns:
        return []
    from sim.experiment.sweep import changes_first

    ordered = changes_first(c)
    ordered = ordered[ordered["significant"].astype(bool)].head(n)
    out = []
    for r in ordered.to_dict("records"):
        m = r["metric"]
        rel = r.get("relative_change")
        out.append(
            {
                "scenario": (names or {}).get(r["scenario"], r["scenario"]),
                "site": POOLED_NAMES.get(r["site"], r["site"]),
                "kpi": w.title(m),
                "base": w.quantity(m, r["base_mean"]),
                "new": w.quantity(m, r["scenario_mean"]),
                "change": {**_difference(r), "cls": _verdict_class(r)},
                "relative": "–" if rel is None or pd.isna(rel) else f"{rel * 100:+.0f} %",
                "verdict": r.get("verdict", ""),
                "cls": _verdict_class(r),
            }
        )
    return out


def backtest_rows(b: pd.DataFrame | None) -> list[dict]:
    """The backtest's rows for the page, each saying whether the figure is out of sample (no
    input fitted or set to it) and why (blank for a folder written before it was recorded)."""
    rows = _records(b)
    for r in rows:
        flag = r.get("independent_of_fit", "")
        r["out_of_sample"] = {"True": "yes", "False": "no"}.get(flag, "")
        r.setdefault("why", "")
        r.setdefault("table", "")
    return rows


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


SENSITIVITY_TOP = 8  # inputs shown per output in the page (all are in the workbook)


def sensitivity_view(run: RunFolder) -> dict:
    """The Sensitivity section: the largest swings of each output, the switching values in
    words and the probabilistic summary (empty for a folder that has none)."""
    t, sw, psa = run.get("tornado"), run.get("switching"), run.get("psa_summary")
    tornado = []
    if t is not None:
        for output, rows in t.groupby("output", sort=False):
            top = rows.sort_values("rank").head(SENSITIVITY_TOP)
            tornado.append({"output": output, "rows": _records(top)})
    sentences = [] if sw is None else [str(x) for x in sw["sentence"]]
    uncertainty = []
    if psa is not None:
        for r in psa.to_dict("records"):
            uncertainty.append(
                {
                    "output": r["output"],
                    "samples": fmt(r["samples"]),
                    "mean": fmt(r["mean"]),
                    "interval": f"{fmt(r['p_low'])} – {fmt(r['p_high'])}",
                    "p_above": w.percent(r["p_above_target"]),
                    "input_share": "–"
                    if pd.isna(r.get("input_share"))
                    else w.percent(r["input_share"]),
                }
            )
    return {"tornado": tornado, "switching": sentences, "uncertainty": uncertainty}
