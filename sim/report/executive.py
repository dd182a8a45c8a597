"""The executive summary: sentences built from a run folder's results.

For a run: what the staffing achieves force-wide (service level, waits and their 90th percentile,
utilisation, first-time fix, downtime saved, calls taken, money) and where waits are longest. For a
what-if: what changed, by how much and where (paired with its base). For a sweep: the base, then
the scenario that does best on each headline KPI and the largest change at a desk. Every number
is a mean over replications; a CI is the 95 % t-interval the tables give.
"""

from __future__ import annotations

import pandas as pd

from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS, KPIS
from sim.report import words as w
from sim.report.folder import DESK_COMPARE, RunFolder
from sim.report.names import readable_names

POOLED = (ALL, ALL_DESKS, ALL_POPUPS)
SWEEP_HEADLINE = ("service_level", "wait_mean_min", "net_benefit_gbp_per_year")
WHATIF_HEADLINE = ("service_level", "wait_mean_min", "wait_p90_min", "net_benefit_gbp_per_year")
DESK_CHANGES = 3  # desk-level changes named in a what-if's sentences


def executive_summary(run: RunFolder) -> list[str]:
    """The summary's sentences, most important first (empty when there is nothing to say)."""
    if run.kind == "calibration":
        from sim.report.calibration import calibration_summary

        return calibration_summary(run)
    out: list[str] = []
    comparison = run.get("comparison")
    if run.kind == "sweep" and comparison is not None:
        out += _sweep(run, comparison)
    elif run.whatif is not None and comparison is not None:
        out += _whatif(run, comparison)
    summary = run.base_summary()
    if summary is not None:
        label = _base_label(run) if run.kind == "sweep" else _run_label(run)
        out += baseline(summary, run.scenario, label, with_money=comparison is None)
    return out


def _run_label(run: RunFolder) -> str:
    if run.whatif is not None:
        return f"the what-if '{run.whatif['name']}'"
    name = run.scenario.get("name") or run.name
    return f"the scenario {name}"


def _base_label(run: RunFolder) -> str:
    s = run.get("summary")
    first = s["scenario"].iloc[0] if s is not None and len(s) else run.name
    return f"the base {first}"


def _values(summary: pd.DataFrame, site: str = ALL) -> dict[str, pd.Series]:
    rows = summary[summary["site"] == site]
    return {str(r["metric"]): r for _, r in rows.iterrows()}


def _with_ci(metric: str, r: pd.Series) -> str:
    ci = w.interval(metric, r["ci_low"], r["ci_high"])
    return w.quantity(metric, r["mean"]) + ("" if ci == "–" else f" (95 % CI {ci})")


def baseline(summary: pd.DataFrame, scenario: dict, label: str, with_money: bool) -> list[str]:
    """What one scenario achieves, force-wide, and where waits are longest."""
    v = _values(summary)
    out = []
    target = scenario.get("service", {}).get("sl_target_min", 15)
    if "service_level" in v:
        out.append(
            f"With {label}, {_with_ci('service_level', v['service_level'])} of visitors are "
            f"seen within {target:g} minutes."
        )
    if "wait_mean_min" in v:
        text = f"Those seen wait {_with_ci('wait_mean_min', v['wait_mean_min'])} on average"
        if "wait_p90_min" in v:
            p90 = w.quantity("wait_p90_min", v["wait_p90_min"]["mean"])
            text += f"; one in ten waits more than {p90}"
        out.append(text + ".")
    if "utilisation" in v and "ftf_rate" in v:
        out.append(
            f"Engineers spend {w.quantity('utilisation', v['utilisation']['mean'])} of their time "
            f"on duty serving visitors, and {w.quantity('ftf_rate', v['ftf_rate']['mean'])} of "
            "visits end in a first-time fix (fixed or swapped)."
        )
    if "downtime_saved_days_per_ticket" in v and "sd_share_taken" in v:
        out.append(
            "Each walk-in ticket saves "
            f"{_with_ci('downtime_saved_days_per_ticket', v['downtime_saved_days_per_ticket'])} "
            "of device downtime against the service-desk route, and the Tech Bars take "
            f"{w.quantity('sd_share_taken', v['sd_share_taken']['mean'])} of service-desk calls."
        )
    if with_money and {"benefit_gbp_per_year", "cost_gbp_per_year"} <= set(v):
        text = (
            f"Benefits of {w.quantity('benefit_gbp_per_year', v['benefit_gbp_per_year']['mean'])}"
            f" a year against a running cost of "
            f"{w.quantity('cost_gbp_per_year', v['cost_gbp_per_year']['mean'])}"
        )
        if "net_benefit_gbp_per_year" in v:
            text += (
                ": a net benefit of "
                f"{_with_ci('net_benefit_gbp_per_year', v['net_benefit_gbp_per_year'])} a year"
            )
        out.append(text + ".")
    desks = [s.get("name") for s in scenario.get("sites", [])]
    waits = summary[(summary["metric"] == "wait_mean_min") & summary["site"].isin(desks)]
    waits = waits.dropna(subset=["mean"])
    if len(waits) > 1:
        worst = waits.loc[waits["mean"].idxmax()]
        sl = summary[(summary["metric"] == "service_level") & (summary["site"] == worst["site"])]
        text = (
            f"Waits are longest at {worst['site']}: "
            f"{w.quantity('wait_mean_min', worst['mean'])} on average"
        )
        if len(sl):
            text += f", {w.quantity('service_level', sl['mean'].iloc[0])} seen within target"
        out.append(text + ".")
    return out


def _significant(c: pd.DataFrame) -> pd.DataFrame:
    return c[c["significant"].astype(bool) & c["diff_mean"].fillna(0).ne(0)]


def _move(metric: str, r: pd.Series, where: str = "", subject: str = "") -> str:
    """'service level rises from 86.3 % to 90.1 % (+3.8 points, 95 % CI +3.5 to +4.1 points)'."""
    d = float(r["diff_mean"])
    verb = ("rise" if d > 0 else "fall") + ("" if w.is_plural(metric) and not subject else "s")
    ci = w.change_interval(metric, r["diff_ci_low"], r["diff_ci_high"])
    place = f" at {where}" if where else ""
    return (
        f"{subject or w.short(metric)}{place} {verb} from {w.quantity(metric, r['base_mean'])} to "
        f"{w.quantity(metric, r['scenario_mean'])} ({w.change(metric, d)}, 95 % CI {ci})"
    )


def _whatif(run: RunFolder, c: pd.DataFrame) -> list[str]:
    whatif = run.whatif or {}
    overrides = [o for o in whatif.get("overrides", []) if "key" in o]
    sets = ", ".join(f"{o['key']} = {o.get('value')}" for o in overrides if not o.get("base_too"))
    both = ", ".join(f"{o['key']} = {o.get('value')}" for o in overrides if o.get("base_too"))
    how = (
        " as its scenario file says"
        if whatif.get("scenario_file")
        else (f" ({sets})" if sets else "")
    )
    reps = run.manifest.get("replications", "")
    out = [
        f"The what-if '{whatif.get('name', '')}' changes {whatif.get('base', 'the base')}{how}; "
        + (f"both were run with {both}, " if both else "both were run ")
        + f"at seed {run.manifest.get('seed', '')} over the same {reps} replications, so each "
        "difference is paired."
    ]
    return out + added_removed_sentences(c, whatif.get("base", "the base")) + changes_sentences(c)


NEW_SITE_FIGURES = ("walkins", "wait_mean_min", "service_level")


def added_removed_sentences(c: pd.DataFrame, base: str) -> list[str]:
    """What a what-if adds (with its own figures: there is nothing to compare them with) and
    removes."""
    from sim.experiment.sweep import sites_added_removed

    added, removed = sites_added_removed(c)
    kind = dict(zip(c["site"], c["site_kind"], strict=True)) if "site_kind" in c else {}

    def label(n: str) -> str:
        return f"{'pop-up' if kind.get(n) == 'popup' else 'desk'} {n}"

    out = []
    for n in added:
        rows = c[c["site"] == n].set_index("metric")["scenario_mean"]
        figures = [
            f"{w.short(m)} {w.quantity(m, rows[m])}"
            for m in NEW_SITE_FIGURES
            if m in rows.index and pd.notna(rows[m])
        ]
        out.append(
            f"The {label(n)} is new, so there is nothing in {base} to compare it with"
            + (f"; in the what-if: {', '.join(figures)}." if figures else ".")
        )
    if removed:
        names = ", ".join(label(n) for n in removed)
        out.append(f"Not in the what-if ({base} has them): {names}.")
    return out


def changes_sentences(c: pd.DataFrame) -> list[str]:
    """Force-wide moves of the headline KPIs, then the largest changes at desks."""
    sig = _significant(c)
    if sig.empty:
        return [
            "No KPI changes significantly: every 95 % CI of a paired difference includes 0, so "
            "the what-if cannot be told apart from its base at these replications."
        ]
    out = []
    force = sig[(sig["site"] == ALL) & sig["metric"].isin(WHATIF_HEADLINE)]
    moves = [
        _move(m, force[force["metric"] == m].iloc[0])
        for m in WHATIF_HEADLINE
        if m in set(force["metric"])
    ]
    if moves:
        out.append("Force-wide, " + "; ".join(moves) + ".")
    desk = sig[~sig["site"].isin(POOLED)]
    if "site_kind" in desk:
        desk = desk[desk["site_kind"] == "desk"]
    desk = desk[desk["metric"].isin(DESK_COMPARE)]
    desk = desk[desk["metric"].map(lambda m: KPIS[m].direction != 0 if m in KPIS else False)]
    if len(desk):
        from sim.experiment.sweep import changes_first

        top = changes_first(desk).head(DESK_CHANGES)
        parts = [_move(r["metric"], r, r["site"]) for _, r in top.iterrows()]
        out.append("The largest changes at a desk: " + "; ".join(parts) + ".")
    verdicts = sig["verdict"] if "verdict" in sig else pd.Series(dtype=str)
    n_better, n_worse = int((verdicts == "better").sum()), int((verdicts == "worse").sum())
    if n_better or n_worse:
        out.append(
            f"In all, {n_better} significant changes are for the better and {n_worse} for the "
            "worse, over every desk, pop-up location and KPI (the tables below list them)."
        )
    return out


def _sweep(run: RunFolder, c: pd.DataFrame) -> list[str]:
    names = readable_names(run.get("scenarios"), run.scenario)
    scen = list(dict.fromkeys(c["scenario"]))
    base = _base_label(run).removeprefix("the base ")
    out = [
        f"The sweep compares {len(scen)} scenario{'s' if len(scen) != 1 else ''} with the base "
        f"{base}, each at the same seed and replications, so each difference is paired."
    ]
    force = c[c["site"] == ALL]
    for m in SWEEP_HEADLINE:
        rows = force[force["metric"] == m].dropna(subset=["scenario_mean"])
        if rows.empty or m not in KPIS or KPIS[m].direction == 0:
            continue
        best = rows.loc[(rows["scenario_mean"] * KPIS[m].direction).idxmax()]
        name = names.get(best["scenario"], best["scenario"])
        if not bool(best["significant"]):
            out.append(
                f"No scenario changes {w.short(m)} force-wide significantly "
                f"(base {w.quantity(m, best['base_mean'])})."
            )
            continue
        out.append(f"Best for {w.short(m)}: {name}, where {_move(m, best, subject='it')}.")
    sig = _significant(c)
    desk = sig[~sig["site"].isin(POOLED)]
    if "site_kind" in desk:
        desk = desk[desk["site_kind"] == "desk"]
    desk = desk[desk["metric"].isin(["service_level", "wait_mean_min"])]
    if len(desk):
        r = desk.loc[desk["relative_change"].abs().idxmax()]
        name = names.get(r["scenario"], r["scenario"])
        out.append(
            f"The largest change at a desk: with {name}, {_move(r['metric'], r, r['site'])}."
        )
    return out
