"""The Excel workbook of a run folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS, kpi_table
from sim.report.calibration import iterations_table
from sim.report.folder import HEADLINE, RunFolder, results_table
from sim.report.run_folder import write_file_atomically
from sim.report.staffing import write_staffing_sheet

# Text from run folders (names, descriptions, overrides) is written as text, never as a formula
# or a link, whatever it starts with (=, +, -, @, http://); the workbook's own formulas (named
# ranges, chart series) are written as such by the code below.
WORKBOOK_OPTIONS = {
    "nan_inf_to_errors": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def write_excel(run: RunFolder, path: Path, figs: dict[str, bytes]) -> None:
    def build(target: Path) -> None:
        options = {"options": dict(WORKBOOK_OPTIONS)}
        with pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs=options) as xw:
            book = xw.book
            bold = book.add_format({"bold": True})
            wrap = book.add_format({"text_wrap": True, "valign": "top"})
            _summary_sheet(xw, run, bold, wrap)
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
            _costs_sheet(xw, run)
            write_staffing_sheet(xw, run)
            for name, sheet in (
                ("comparison", "Comparison with base"),
                ("recommendation", "Recommendation"),
                ("sizing", "Sizing"),
                ("evidence", "Evidence"),
                ("backtest", "Backtest"),
                ("calibration", "Calibration"),
                ("calibration_residuals", "Calibration residuals"),
                ("tornado", "Sensitivity"),
                ("switching", "Switching values"),
                ("psa_summary", "Uncertainty"),
                ("psa_importance", "Uncertainty importance"),
                ("fit_by_input", "Calibration held"),
                ("replications", "Replications"),
            ):
                if (t := run.get(name)) is not None:
                    if name == "comparison":
                        t = _changes_first(t)
                    _table_sheet(xw, sheet, t)
                    if name == "comparison":
                        _colour_verdicts(xw, sheet, t)
            if (it := iterations_table(run)) is not None:
                _table_sheet(xw, "Calibration iterations", it)
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


def _summary_sheet(xw, run: RunFolder, bold, wrap) -> None:
    """The first sheet: the executive summary's sentences, then the headline results with
    their titles, units and 95 % CIs (site ALL of the base), as the page shows them."""
    from sim.report.executive import executive_summary
    from sim.report.html import headline_cards

    ws = xw.book.add_worksheet("Summary")
    xw.sheets["Summary"] = ws
    ws.set_column(0, 0, 62)
    ws.set_column(1, 3, 24)
    ws.set_column(4, 4, 34)
    ws.write(0, 0, f"Tech Bar simulation — {run.title}", bold)
    row = 2
    ws.write(row, 0, "Executive summary", bold)
    for sentence in executive_summary(run):
        row += 1
        ws.merge_range(row, 0, row, 4, sentence, wrap)
        ws.set_row(row, 15 * (1 + len(sentence) // 150))
    row += 2
    cards = headline_cards(run.base_summary())
    if cards:
        ws.write_row(row, 0, ["Headline result (all sites)", "mean", "95 % CI", "", "id"], bold)
        for c in cards:
            row += 1
            ws.write_row(row, 0, [c["title"], c["mean"], c["ci"], c["extra"], c["metric"]])


def _readme_sheet(xw, run: RunFolder, bold, wrap) -> None:
    ws = xw.book.add_worksheet("README")
    xw.sheets["README"] = ws
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 100)
    lines = [
        ("techbar-sim report", ""),
        ("what", run.title),
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
        ("KPI id", "title — meaning"),
    ]
    lines += [(r.metric, f"{r.title} — {r.meaning}") for r in kpi_table().itertuples()]
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


def _changes_first(c: pd.DataFrame) -> pd.DataFrame:
    """The comparison as the terminal lists it: significant changes first, desks before pooled
    groups before pop-ups, the largest relative change first."""
    from sim.experiment.sweep import changes_first

    return changes_first(c) if "site_kind" in c.columns else c


def _colour_verdicts(xw, sheet: str, c: pd.DataFrame) -> None:
    """Rows of a significant change coloured by verdict: green better, red worse."""
    if "verdict" not in c.columns or c.empty:
        return
    ws, book = xw.sheets[sheet], xw.book
    last_col = _col_letter(len(c.columns) - 1)
    verdict = _col_letter(list(c.columns).index("verdict"))
    n = len(c)
    for word, colour, font in (("better", "#DFF3E4", "#14532D"), ("worse", "#FBE1E1", "#7F1D1D")):
        fmt = book.add_format({"bg_color": colour, "font_color": font})
        ws.conditional_format(
            f"A2:{last_col}{n + 1}",
            {"type": "formula", "criteria": f'=${verdict}2="{word}"', "format": fmt},
        )


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


MONEY_KPIS = (
    "engineer_days_per_year",
    "cost_engineers_gbp_per_year",
    "cost_desks_gbp_per_year",
    "cost_stock_gbp_per_year",
    "cost_escalations_gbp_per_year",
    "cost_gbp_per_year",
    "setup_cost_gbp",
    "sd_calls_avoided_per_year",
    "sd_cost_saved_gbp_per_year",
    "value_saved_gbp_per_year",
    "benefit_gbp_per_year",
    "net_benefit_gbp_per_year",
    "pv_benefits_gbp",
    "pv_costs_gbp",
    "npv_gbp",
    "benefit_cost_ratio",
)


def costs_table(run: RunFolder) -> pd.DataFrame | None:
    """The Costs sheet: every money input (``costs.*``, ``value.*``) with its value, unit and
    source, then every money KPI of the base at all sites with its unit (per year, once or over
    the appraisal period) and 95 % CI."""
    rows: list[dict] = []
    a = run.get("assumptions")
    if a is not None:
        money = a[a["key"].astype(str).str.match(r"^(costs|value)\.")]
        for r in money.to_dict("records"):
            rows.append(
                {
                    "kind": "input",
                    "name": r["key"],
                    "value": _number_or_text(r["value"]),
                    "unit": r["unit"],
                    "ci_low": None,
                    "ci_high": None,
                    "source": f"{r['label']} {r['source']}".strip(),
                }
            )
    summary = run.base_summary()
    if summary is not None:
        s = summary[summary["site"] == ALL].set_index("metric")
        for m in MONEY_KPIS:
            if m not in s.index:
                continue
            r = s.loc[m]
            title, unit = (KPIS[m].title, KPIS[m].unit) if m in KPIS else (m, "")
            rows.append(
                {
                    "kind": "result (all sites, mean)",
                    "name": title,
                    "value": float(r["mean"]),
                    "unit": unit,
                    "ci_low": float(r["ci_low"]),
                    "ci_high": float(r["ci_high"]),
                    "source": f"{m}: the costs and value inputs above",
                }
            )
    return pd.DataFrame(rows) if rows else None


def _costs_sheet(xw, run: RunFolder) -> None:
    if (t := costs_table(run)) is not None:
        _table_sheet(xw, "Costs", t)


def _number_or_text(v: object) -> object:
    try:
        return float(str(v))
    except ValueError:
        return v
