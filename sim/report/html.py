"""The self-contained HTML page of a run folder."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader

from sim.kpis import ALL, KPIS, kpi_table
from sim.report.folder import HEADLINE, SITE_KPIS, RunFolder
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
    return template.render(
        title=f"Tech Bar simulation — {run.title}",
        whatif=run.whatif,
        changes=[
            override_text(o["key"], o.get("value")) for o in (run.whatif or {}).get("overrides", [])
        ],
        run=run,
        kind=run.kind,
        manifest_json=json.dumps(run.manifest, indent=2, ensure_ascii=False),
        headline=headline,
        site_kpis=SITE_KPIS,
        site_rows=site_rows,
        figures=[(t, base64.b64encode(p).decode("ascii")) for t, p in figs.items()],
        assumptions=_records(run.get("assumptions")),
        comparison=_records(_main_comparison(run.get("comparison"))),
        by_desk=by_desk(run.get("comparison"), scen),
        top_changes=top_changes(run.get("comparison")),
        recommendation=_records(run.get("recommendation")),
        sizing=_records(run.get("sizing")),
        backtest=_records(run.get("backtest")),
        **sensitivity_view(run),
        **staffing_view(run),
        kpis=kpi_table().to_dict("records"),
        scenario=scen,
        n_sites=len(scen.get("sites", [])),
        n_popups=len(scen.get("popups", [])),
    )


def _overrides(run: RunFolder) -> list[dict]:
    return list((run.whatif or {}).get("overrides", []))


def _main_comparison(c: pd.DataFrame | None) -> pd.DataFrame | None:
    if c is None:
        return None
    return c[(c["site"] == ALL) & c["metric"].isin(HEADLINE)]


DESK_COMPARE = (
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
TOP_CHANGES = 15
MAX_SCENARIO_TABLES = 12  # per-desk tables in the page; every scenario is in the workbook


def _verdict_class(row) -> str:
    return {"better": "better", "worse": "worse"}.get(str(row.get("verdict", "")), "")


def _difference(row) -> str:
    mean, low, high = row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"]
    if pd.isna(mean):
        return "–"
    scale = (
        100.0 if KPIS.get(row["metric"]) is not None and KPIS[row["metric"]].unit == "share" else 1
    )
    if pd.isna(low):
        return f"{fmt_signed(mean * scale)}"
    return f"{fmt_signed(mean * scale)} [{fmt_signed(low * scale)}, {fmt_signed(high * scale)}]"


def fmt_signed(x: float) -> str:
    text = fmt(float(x))
    return text if text.startswith(("-", "–")) or text == "0.000" else "+" + text


def by_desk(c: pd.DataFrame | None, scenario: dict) -> list[dict]:
    """Per scenario compared with the base: one row per desk, then the pooled groups, then the
    pop-ups (folded), one cell per KPI of `DESK_COMPARE`: the paired difference with its 95 % CI,
    classed better or worse (by the KPI's direction) when the CI excludes 0."""
    if c is None or c.empty:
        return []
    metrics = [m for m in DESK_COMPARE if m in set(c["metric"])]
    headers = [
        f"{KPIS[m].title}{' (% points)' if KPIS[m].unit == 'share' else ''}" for m in metrics
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
                        cells.append({"text": "–", "cls": ""})
                    else:
                        cells.append({"text": _difference(r), "cls": _verdict_class(r)})
                out_rows.append({"site": site, "cells": cells})
            return out_rows

        out.append(
            {
                "scenario": name,
                "headers": headers,
                "desks": rows(desks),
                "pooled": rows(pooled),
                "popups": rows(pops),
            }
        )
    return out


def top_changes(c: pd.DataFrame | None, n: int = TOP_CHANGES) -> list[dict]:
    """The significant changes a reader should see first (as in the terminal)."""
    if c is None or c.empty or "verdict" not in c.columns:
        return []
    from sim.experiment.sweep import changes_first

    ordered = changes_first(c)
    ordered = ordered[ordered["significant"].astype(bool)].head(n)
    out = []
    for r in ordered.to_dict("records"):
        share = KPIS.get(r["metric"]) is not None and KPIS[r["metric"]].unit == "share"
        scale = 100.0 if share else 1.0
        rel = r.get("relative_change")
        out.append(
            {
                "scenario": r["scenario"],
                "site": r["site"],
                "kpi": KPIS[r["metric"]].title if r["metric"] in KPIS else r["metric"],
                "base": fmt(r["base_mean"] * scale),
                "new": fmt(r["scenario_mean"] * scale),
                "change": _difference(r),
                "relative": "–" if rel is None or pd.isna(rel) else f"{rel * 100:+.0f} %",
                "verdict": r.get("verdict", ""),
                "cls": _verdict_class(r),
            }
        )
    return out


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
                    "p_above": f"{r['p_above_target']:.0%}",
                    "input_share": "–"
                    if pd.isna(r.get("input_share"))
                    else f"{r['input_share']:.0%}",
                }
            )
    return {"tornado": tornado, "switching": sentences, "uncertainty": uncertainty}
