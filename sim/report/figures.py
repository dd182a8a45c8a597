"""The figures a report shows, chosen by what the run folder holds."""

from __future__ import annotations

import re
import tomllib

import pandas as pd

from sim.kpis import ALL, KPIS
from sim.report import plots
from sim.report.folder import RunFolder
from sim.report.names import readable_names

FOREST_KPIS = (  # the headline KPIs with a forest plot of each scenario's change
    "service_level",
    "wait_mean_min",
    "wait_p90_min",
    "sd_share_taken",
    "net_benefit_gbp_per_year",
)


def figures(run: RunFolder) -> dict[str, bytes]:
    """PNG figures for whatever the folder holds."""
    out: dict[str, bytes] = {}
    summary = run.base_summary()
    desks = [s["name"] for s in run.scenario.get("sites", [])]
    if (q := run.get("queue_by_hour")) is not None:
        out["Queue length by hour of day"] = plots.to_png(plots.queue_by_hour(q, desks))
    if (w := run.get("waits")) is not None:
        out["Waiting-time distribution"] = plots.to_png(plots.wait_distribution(w))
    if summary is not None and "wait_p90_min" in set(summary["metric"]):
        out["Mean and 90th-percentile wait by desk"] = plots.to_png(
            plots.wait_mean_and_p90(summary, desks)
        )
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
        names = readable_names(run.get("scenarios"), run.scenario)
        for metric in FOREST_KPIS:
            if metric in set(c.loc[c["site"] == ALL, "metric"]):
                title = f"Change from the base: {KPIS[metric].title}"
                out[title] = plots.to_png(plots.comparison_forest(c, metric, names, title))
    if (t := run.get("tornado")) is not None and len(t):
        from sim.report.sensitivity_plots import tornado

        for output in dict.fromkeys(t["output"]):
            out[f"Sensitivity of {output}"] = plots.to_png(tornado(t, output))
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
        index, value = int(hits[0].group(1)), _toml_value(hits[0].group(2))
        if isinstance(value, list) and value and all(_count(v) for v in value):
            at_desk = min(value)
        elif _count(value):
            at_desk = value
        else:
            continue  # not a number of engineers: no curve from this scenario
        setting = ", ".join(x for x, m in zip(sets, found, strict=True) if not m) or "as base"
        rows.append((name, index, at_desk, setting))
    if len({r[1] for r in rows}) != 1 or len({r[2] for r in rows}) < 2:
        return None
    if rows[0][1] >= len(run.scenario.get("sites", [])):
        return None
    site = run.scenario["sites"][rows[0][1]]["name"]
    frames = []
    for name, _, at_desk, setting in rows:
        part = summary[(summary["scenario"] == name) & (summary["site"] == site)]
        frames.append(part.assign(engineers=at_desk, setting=setting))
    return pd.concat(frames, ignore_index=True)


def _toml_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return None


def _count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _targets(texts: list[str]) -> dict[str, float]:
    out = {}
    for t in texts:
        for op in (">=", "<="):
            if op in t:
                k, v = t.split(op)
                out[k] = float(v)
    return out
