"""Headcount sizing: the fewest engineers at each desk that meet the targets.

An analytic estimate (Erlang C on the desk's mean walk-in rate, and period by period on each
clock hour's rate: SIPP) says where to start; simulation decides. All desks are searched at
once — a desk's staffing does not change another desk's walk-ins — so each round is one run of
the whole scenario at common random numbers. Engineers away on pop-up visits are added on the
days they are away, so the answer is the number needed *at the desk*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.analytic import MMc
from sim.calendar import MIN_PER_HOUR, WEEKDAYS
from sim.experiment.runner import RunOutput, run, summarise
from sim.kpis import KPIS
from sim.model import demand
from sim.scenario import Scenario, ScenarioError, Site, scenario_to_dict, validate
from sim.service import visits_of
from sim.streams import Streams

TARGET_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Target:
    metric: str
    op: str  # ">=" or "<="
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        m = TARGET_RE.match(text)
        if not m:
            raise ScenarioError(
                f"--target '{text}': expected METRIC>=VALUE or METRIC<=VALUE, "
                "e.g. service_level>=0.8"
            )
        metric, op, value = m.groups()
        if metric not in KPIS:
            raise ScenarioError(
                f"--target '{text}': unknown KPI '{metric}'; allowed: {', '.join(KPIS)}"
            )
        try:
            number = float(value)
        except ValueError:
            raise ScenarioError(f"--target '{text}': '{value}' is not a number") from None
        return cls(metric, op, number)

    def met(self, x: float) -> bool:
        if np.isnan(x):
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


@dataclass(frozen=True)
class Estimate:
    site: str
    arrivals_per_open_hour: float
    mean_service_min: float
    erlang_c: int | None  # on the mean rate over opening hours
    sipp: int | None  # the busiest clock hour, hour by hour


def popup_duty(scenario: Scenario, site: Site) -> list[int]:
    """Engineers away from `site` on pop-up visits, Mon..Sun."""
    out = [0] * 7
    for p in scenario.popups:
        if p.home == site.name and not p.mobile_team:
            out[WEEKDAYS.index(p.day)] += p.engineers
    return out


def with_engineers(scenario: Scenario, at_desk: dict[str, int]) -> Scenario:
    """The scenario with `at_desk[site]` engineers at each desk on every open day, plus those
    away on pop-up duty that day."""
    data = scenario_to_dict(scenario)
    for i, site in enumerate(scenario.sites):
        if site.name in at_desk:
            duty = popup_duty(scenario, site)
            data["sites"][i]["engineers"] = [at_desk[site.name] + duty[d] for d in site.day_indices]
    return validate(data, f"scenario '{scenario.name}' re-staffed for sizing")


def analytic_estimates(
    scenario: Scenario, targets: list[Target], seed: int, reps: int = 3, max_engineers: int = 50
) -> list[Estimate]:
    sl_h = scenario.service.sl_target_min / 60
    """Erlang C and SIPP staffing per desk from the walk-ins the scenario generates."""
    out = []
    rate = {s.name: np.zeros(24) for s in scenario.sites}
    hours = {s.name: np.zeros(24) for s in scenario.sites}
    service: dict[str, list[np.ndarray]] = {s.name: [] for s in scenario.sites}
    for r in range(reps):
        streams = Streams(seed, r)
        walkins, _ = demand(scenario, streams)
        for site in scenario.sites:
            w = walkins[site.name]
            hour = ((w.time_min % 1440) // MIN_PER_HOUR).astype(int)
            rate[site.name] += np.bincount(hour, minlength=24)
            hours[site.name] += _open_hours_by_clock_hour(site) * scenario.horizon_weeks
            v = visits_of(scenario, w)
            unfixed = (v.fix_draw >= v.fix_prob) & v.swappable
            service[site.name].append(v.service_min + np.where(unfixed, v.swap_min, 0.0))
    for site in scenario.sites:
        open_h = hours[site.name]
        lam_h = np.divide(rate[site.name], open_h, out=np.zeros(24), where=open_h > 0)
        lam = rate[site.name].sum() / open_h.sum()
        es = float(np.mean(np.concatenate(service[site.name]))) if lam > 0 else 1.0
        out.append(
            Estimate(
                site=site.name,
                arrivals_per_open_hour=float(lam),
                mean_service_min=es,
                erlang_c=_erlang_c_engineers(lam, es, targets, sl_h, max_engineers),
                sipp=max(
                    (_erlang_c_engineers(x, es, targets, sl_h, max_engineers) or 0)
                    for x in lam_h[open_h > 0]
                )
                or None,
            )
        )
    return out


def _open_hours_by_clock_hour(site: Site) -> np.ndarray:
    """Hours a week the desk is open in each clock hour."""
    h = np.zeros(24)
    for hour in range(24):
        lo, hi = max(site.open_min, hour * 60), min(site.close_min, (hour + 1) * 60)
        h[hour] = max(hi - lo, 0) / 60 * len(site.days)
    return h


def _erlang_c_engineers(
    lam_per_h: float,
    mean_service_min: float,
    targets: list[Target],
    sl_target_h: float,
    max_engineers: int,
) -> int | None:
    """Fewest engineers for which M/M/c meets the targets it can speak to (service_level,
    utilisation, wait_mean_min); None beyond max_engineers."""
    if lam_per_h <= 0:
        return 1
    mu = 60 / mean_service_min
    for c in range(1, max_engineers + 1):
        q = MMc(lam_per_h, mu, c)
        if q.rho >= 1:
            continue
        values = {
            "service_level": q.service_level(sl_target_h),
            "utilisation": q.rho,
            "wait_mean_min": q.wq * 60,
        }
        if all(t.met(values[t.metric]) for t in targets if t.metric in values):
            return c
    return None


@dataclass
class SizingOutput:
    recommendation: pd.DataFrame  # site, engineers
    detail: pd.DataFrame  # per desk: estimates, answer, whether targets are met
    evidence: pd.DataFrame  # site, engineers, metric, mean, std, ci_low, ci_high, n, meets
    runs: list[RunOutput]


def size(
    scenario: Scenario,
    targets: list[Target],
    seed: int,
    reps: int,
    max_engineers: int = 12,
    **run_options: Any,
) -> SizingOutput:
    """Fewest engineers at each desk (scenario order) meeting every target on the mean over
    replications; the KPIs with CIs at every level tried are the evidence."""
    estimates = {e.site: e for e in analytic_estimates(scenario, targets, seed)}
    names = [s.name for s in scenario.sites]
    level = {
        n: min(max_engineers, max(1, estimates[n].sipp or estimates[n].erlang_c or 1))
        for n in names
    }
    passes: dict[str, dict[int, bool]] = {n: {} for n in names}
    answer: dict[str, int | None] = {}
    evidence, runs = [], []
    while len(answer) < len(names):
        trial = with_engineers(scenario, {n: answer.get(n) or level[n] for n in names})
        result = run(trial, seed, reps, **run_options)
        runs.append(result)
        summary = summarise(result.kpis, ["site", "metric"], "value").set_index(["site", "metric"])
        for n in names:
            if n in answer:
                continue
            c = level[n]
            ok = all(t.met(summary.loc[(n, t.metric), "mean"]) for t in targets)
            passes[n][c] = ok
            for metric in KPIS:
                row = summary.loc[(n, metric)]
                evidence.append(
                    (
                        n,
                        c,
                        metric,
                        row["mean"],
                        row["std"],
                        row["ci_low"],
                        row["ci_high"],
                        int(row["n"]),
                        ok,
                    )
                )
            if ok and (c == 1 or passes[n].get(c - 1) is False):
                answer[n] = c
            elif ok:
                level[n] = c - 1
            elif passes[n].get(c + 1) is True:
                answer[n] = c + 1
            elif c >= max_engineers:
                answer[n] = None
            else:
                level[n] = c + 1
    recommendation = pd.DataFrame(
        {"site": names, "engineers": pd.array([answer[n] for n in names], dtype="Int64")}
    )
    detail = pd.DataFrame(
        {
            "site": names,
            "engineers": recommendation["engineers"],
            "targets_met": [answer[n] is not None for n in names],
            "erlang_c_estimate": pd.array([estimates[n].erlang_c for n in names], dtype="Int64"),
            "sipp_estimate": pd.array([estimates[n].sipp for n in names], dtype="Int64"),
            "arrivals_per_open_hour": [estimates[n].arrivals_per_open_hour for n in names],
            "mean_service_min": [estimates[n].mean_service_min for n in names],
            "popup_duty_per_week": [sum(popup_duty(scenario, s)) for s in scenario.sites],
        }
    )
    cols = ["site", "engineers", "metric", "mean", "std", "ci_low", "ci_high", "n", "meets_targets"]
    ev = pd.DataFrame(evidence, columns=cols)
    ev["site"] = pd.Categorical(ev["site"], categories=names, ordered=True)
    ev = ev.sort_values(["site", "engineers"], kind="stable").reset_index(drop=True)
    ev["site"] = ev["site"].astype(str)
    return SizingOutput(recommendation, detail, ev, runs)


def shortfalls(result: SizingOutput, targets: list[Target]) -> list[str]:
    """One sentence per desk that no staffing tried could bring to every target: which
    target, and the best value reached, at the most engineers tried (the search's bound)."""
    out = []
    ev = result.evidence
    for site in result.detail.loc[~result.detail["targets_met"], "site"]:
        rows = ev[ev["site"] == site]
        top = int(rows["engineers"].max())
        at_top = rows[rows["engineers"] == top].set_index("metric")["mean"]
        missed = [t for t in targets if not t.met(float(at_top.get(t.metric, np.nan)))]
        reached = "; ".join(
            f"{t} is not met: {t.metric} reaches {_value(at_top.get(t.metric, np.nan))}"
            for t in missed
        )
        out.append(
            f"no staffing up to {top} engineers (--max-engineers) meets the targets at desk "
            f"'{site}': with {top}, {reached}"
        )
    return out


def _value(x: float) -> str:
    return "no value (no visitors)" if pd.isna(x) else f"{x:.4g}"
