"""Staffing plans: the cheapest weekday roster at each desk that meets the targets with
confidence, as a scenario that runs.

The decision is the number of engineers *at the desk* on each weekday a desk opens; those the
plan (``sim.plan``) sends to pop-up visits that day come on top, so the roster to publish is
``rostered = at_desk + away_on_popups``. Every target is checked per desk and weekday, and is met
when the one-sided 95 % confidence bound of its KPI over replications meets it (the lower bound
for "at least", the upper bound for "at most") — not the mean.

Cost is engineer-days rostered, so the cheapest plan is the fewest engineers in every (desk,
weekday) cell. Cells are sized at once: a desk's walk-ins do not depend on any roster (draws are
keyed to incidents: common random numbers), and a desk day starts afresh each morning, so each
round runs the whole scenario once and moves every unsettled cell up or down one engineer from
where Erlang C / SIPP (hour by hour) on that weekday's walk-ins says to start. A last run of the
plan found confirms it as a whole (and is the evidence: ``techbar run recommended.toml`` with the
same seed and replications gives the same KPIs).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomlkit
import tomlkit.exceptions
from scipy import stats

from sim.analytic import MMc
from sim.calendar import MIN_PER_DAY, MIN_PER_HOUR, WEEKDAYS
from sim.experiment.components import SiteMeasures
from sim.experiment.runner import Job, ReplicationOutput, run_jobs, summarise
from sim.experiment.store import MemoryStore, Store
from sim.experiment.tradeoff import STEPS, curve, stepped
from sim.kpis import KPIS
from sim.model import demand
from sim.plan import compile_plan
from sim.scenario import (
    Scenario,
    ScenarioError,
    Site,
    default_scenario_path,
    scenario_to_dict,
    validate,
)
from sim.service import visits_of
from sim.streams import Streams

CONFIDENCE = 0.95  # one-sided: a target is met when this bound of its KPI meets it
WEEKS_PER_YEAR = 52
TARGET_RE = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=)\s*([-+0-9.eE]+)\s*$")
BAND_RE = re.compile(r"^\s*([-+0-9.eE]+)\s*<=\s*([a-z0-9_]+)\s*<=\s*([-+0-9.eE]+)\s*$")

# KPIs a roster can be sized to, and the direction in which more engineers move them.
BETTER_WITH_MORE = {
    "service_level": ">=",
    "wait_mean_min": "<=",
    "wait_p90_min": "<=",
    "wait_p95_min": "<=",
    "wait_all_mean_min": "<=",
    "renege_rate": "<=",
    "balk_rate": "<=",
    "queue_len_mean": "<=",
    "queue_len_first_hour": "<=",
    "overtime_min": "<=",
    "utilisation": "<=",
}
CAPS = {"utilisation": ">="}  # met by fewer engineers: a band's lower bound
SHARES = {m for m, k in KPIS.items() if k.unit == "share"}
# KPIs of the visitors who walked in within an hour, which a target may hold in every hour
HOURLY = ("service_level", "wait_mean_min", "wait_p90_min", "wait_p95_min", "renege_rate")
WORST_HOUR = "_worst_hour"  # suffix of the metric a target held in every hour is checked on


@dataclass(frozen=True)
class Target:
    metric: str
    op: str  # ">=" or "<="
    value: float
    every_hour: bool = False  # held in every opening hour (the worst hour), not over the day

    @classmethod
    def parse(cls, text: str, flag: str = "--target") -> Target:
        m = TARGET_RE.match(text)
        if not m:
            raise ScenarioError(
                f"{flag} '{text}': expected METRIC>=VALUE or METRIC<=VALUE, "
                "e.g. service_level>=0.8"
                + (", or a band LOW<=METRIC<=HIGH" if flag == "--target" else "")
            )
        metric, op, value = m.groups()
        return cls._checked(text, metric, op, value, flag)

    @classmethod
    def _checked(
        cls, text: str, metric: str, op: str, value: str, flag: str = "--target"
    ) -> Target:
        if metric not in KPIS:
            raise ScenarioError(
                f"{flag} '{text}': unknown KPI '{metric}'; allowed: {', '.join(KPIS)}"
            )
        try:
            number = float(value)
        except ValueError:
            raise ScenarioError(f"{flag} '{text}': '{value}' is not a number") from None
        if not np.isfinite(number):
            raise ScenarioError(f"{flag} '{text}': '{value}' is not a finite number")
        if BETTER_WITH_MORE.get(metric) != op and CAPS.get(metric) != op:
            sizable = ", ".join(f"{m}{o}" for m, o in BETTER_WITH_MORE.items())
            raise ScenarioError(
                f"{flag} '{text}': a roster cannot be sized to {metric}{op}; targets that "
                f"engineers help meet: {sizable}, and utilisation>= (a band's lower bound)"
            )
        if metric in SHARES and not 0 <= number <= 1:
            raise ScenarioError(f"{flag} '{text}': {metric} is a share; give a value in [0, 1]")
        if number < 0 or (op == "<=" and number == 0 and metric in ("utilisation",)):
            raise ScenarioError(f"{flag} '{text}': no roster can meet {metric}{op}{number:g}")
        return cls(metric, op, number)

    @property
    def key(self) -> str:
        """The metric the target is checked on: the KPI, or its worst opening hour."""
        return self.metric + WORST_HOUR if self.every_hour else self.metric

    @property
    def caps(self) -> bool:
        """Met by fewer engineers (utilisation at least a floor), not by more."""
        return CAPS.get(self.metric) == self.op

    def met(self, x: float) -> bool:
        if np.isnan(x):
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def margin(self, bound: float) -> float:
        """How far the bound is on the right side of the target (negative: missed)."""
        return bound - self.value if self.op == ">=" else self.value - bound

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}" + (" every hour" if self.every_hour else "")


def parse_targets(texts: Iterable[str | Target], every_hour: Iterable[str] = ()) -> list[Target]:
    """Targets from ``METRIC>=VALUE``, ``METRIC<=VALUE`` or a band ``LOW<=METRIC<=HIGH``, and
    targets held in every opening hour (`every_hour`: ``METRIC>=VALUE`` of a KPI in `HOURLY`);
    ScenarioError for an unknown KPI, a bound no roster can meet, or a band with low > high."""
    out: list[Target] = []
    for t in texts:
        if isinstance(t, Target):
            out.append(t)
            continue
        band = BAND_RE.match(t)
        if band:
            low, metric, high = band.groups()
            out += [Target._checked(t, metric, ">=", low), Target._checked(t, metric, "<=", high)]
        else:
            out.append(Target.parse(t))
    for t in every_hour:
        hourly = Target.parse(t, "--every-hour")
        if hourly.metric not in HOURLY:
            raise ScenarioError(
                f"--every-hour '{t}': {hourly.metric} is not measured hour by hour; "
                f"allowed: {', '.join(HOURLY)}"
            )
        out.append(dataclasses.replace(hourly, every_hour=True))
    if not out:
        raise ScenarioError("--target: give at least one target")
    for floor in (t for t in out if t.op == ">="):
        for ceiling in (t for t in out if t.op == "<=" and t.key == floor.key):
            if floor.value > ceiling.value:
                raise ScenarioError(
                    f"--target: the band {floor} and {ceiling} is empty (low > high)"
                )
    return out


def target_record(targets: Iterable[Target]) -> dict[str, list[str]]:
    """The targets as the manifest records them: over the day (``targets``) and, when any, held
    in every opening hour (``every_hour_targets``), each as METRIC>=VALUE or METRIC<=VALUE."""
    ts = list(targets)
    out = {"targets": [str(t) for t in ts if not t.every_hour]}
    hourly = [f"{t.metric}{t.op}{t.value:g}" for t in ts if t.every_hour]
    return out | ({"every_hour_targets": hourly} if hourly else {})


# --------------------------------------------------------------------------- the roster


def away_on_popups(scenario: Scenario, site: Site) -> list[int]:
    """Engineers the plan sends from `site` to pop-up visits on each weekday Mon..Sun (the most
    on any one such day)."""
    plan = compile_plan(scenario.model_copy(update={"horizon_weeks": 1}))
    by_day: dict[int, int] = {}
    for trip in plan.sites[site.name].trips:
        day = int((trip.leave_min + trip.travel_min) // MIN_PER_DAY)
        by_day[day] = by_day.get(day, 0) + trip.engineers
    out = [0] * 7
    for day, n in by_day.items():
        out[day % 7] = max(out[day % 7], n)
    return out


def popup_duty(scenario: Scenario, site: Site) -> list[int]:
    """Engineers away from `site` on pop-up visits, Mon..Sun (as the plan sends them)."""
    return away_on_popups(scenario, site)


Roster = dict[str, dict[int, int]]  # desk or pop-up → weekday index → engineers there


def with_roster(scenario: Scenario, at_desk: Roster) -> Scenario:
    """The scenario with `at_desk[site][weekday]` engineers at each listed desk on each weekday
    it opens, plus those the plan sends to pop-ups that day; and `at_desk[popup][its day]`
    engineers at each listed pop-up (from its home desk, or its mobile team)."""
    data = scenario_to_dict(scenario)
    if any(p.name in at_desk for p in scenario.popups):
        # first with room at each home desk for every pop-up it staffs, to learn who is away
        sent = {(s.name, d): 0 for s in scenario.sites for d in range(7)}
        for j, p in enumerate(scenario.popups):
            n = at_desk[p.name][WEEKDAYS.index(p.day)] if p.name in at_desk else p.engineers
            data["popups"][j]["engineers"] = n
            if not p.mobile_team and (p.home, WEEKDAYS.index(p.day)) in sent:
                sent[(p.home, WEEKDAYS.index(p.day))] += n
        for i, site in enumerate(scenario.sites):
            if site.name in at_desk:
                data["sites"][i]["engineers"] = [
                    at_desk[site.name][d] + sent[(site.name, d)] for d in site.day_indices
                ]
        scenario = validate(data, f"scenario '{scenario.name}' re-staffed for sizing")
        data = scenario_to_dict(scenario)
    for i, site in enumerate(scenario.sites):
        if site.name in at_desk:
            away = away_on_popups(scenario, site)
            data["sites"][i]["engineers"] = [
                at_desk[site.name][d] + away[d] for d in site.day_indices
            ]
    return validate(data, f"scenario '{scenario.name}' re-staffed for sizing")


def with_engineers(scenario: Scenario, at_desk: dict[str, int]) -> Scenario:
    """The scenario with `at_desk[site]` engineers at each desk on every open day, plus those
    away on pop-up duty that day."""
    return with_roster(
        scenario,
        {
            s.name: {d: at_desk[s.name] for d in s.day_indices}
            for s in scenario.sites
            if s.name in at_desk
        },
    )


# --------------------------------------------------------------------------- Erlang C / SIPP


@dataclass(frozen=True)
class Estimate:
    site: str
    day: str  # a weekday, or "" for the desk over all its days
    arrivals_per_open_hour: float
    mean_service_min: float
    erlang_c: int | None  # on the mean rate over opening hours
    sipp: int | None  # the busiest clock hour, hour by hour


def analytic_estimates(
    scenario: Scenario, targets: list[Target], seed: int, reps: int = 3, max_engineers: int = 50
) -> list[Estimate]:
    """Erlang C and SIPP staffing per desk and per desk and weekday, from the walk-ins the
    scenario generates (the desk rows first, each followed by its weekdays)."""
    sl_h = scenario.service.sl_target_min / 60
    count = {s.name: np.zeros((7, 24)) for s in scenario.sites}
    service: dict[str, list[np.ndarray]] = {s.name: [] for s in scenario.sites}
    for r in range(reps):
        walkins, _ = demand(scenario, Streams(seed, r))
        for site in scenario.sites:
            w = walkins[site.name]
            day = ((w.time_min // MIN_PER_DAY) % 7).astype(int)
            hour = ((w.time_min % MIN_PER_DAY) // MIN_PER_HOUR).astype(int)
            np.add.at(count[site.name], (day, hour), 1)
            v = visits_of(scenario, w)
            unfixed = (v.fix_draw >= v.fix_prob) & v.swappable
            service[site.name].append(v.service_min + np.where(unfixed, v.swap_min, 0.0))
    out = []
    for site in scenario.sites:
        per_hour = _open_hours_by_clock_hour(site) * scenario.horizon_weeks * reps
        n = count[site.name]
        all_s = np.concatenate(service[site.name])
        es = float(np.mean(all_s)) if len(all_s) else 1.0
        rows: list[tuple[str, np.ndarray, np.ndarray]] = [
            ("", n.sum(axis=0), per_hour * len(site.days))
        ]
        rows += [(WEEKDAYS[d], n[d], per_hour) for d in site.day_indices]
        for label, arrivals, hours in rows:
            lam_h = np.divide(arrivals, hours, out=np.zeros(24), where=hours > 0)
            lam = arrivals.sum() / hours.sum()
            out.append(
                Estimate(
                    site=site.name,
                    day=label,
                    arrivals_per_open_hour=float(lam),
                    mean_service_min=es,
                    erlang_c=_erlang_c_engineers(lam, es, targets, sl_h, max_engineers),
                    sipp=_sipp(lam_h[hours > 0], es, targets, sl_h, max_engineers),
                )
            )
    return out


def _sipp(rates, es, targets, sl_h, max_engineers) -> int | None:
    need = [_erlang_c_engineers(x, es, targets, sl_h, max_engineers) for x in rates]
    return None if any(c is None for c in need) else max((c or 0) for c in need) or 1


def _open_hours_by_clock_hour(site: Site) -> np.ndarray:
    """Hours in each clock hour that the desk is open on one of its days."""
    h = np.zeros(24)
    for hour in range(24):
        lo, hi = max(site.open_min, hour * 60), min(site.close_min, (hour + 1) * 60)
        h[hour] = max(hi - lo, 0) / 60
    return h


def _erlang_c_engineers(
    lam_per_h: float,
    mean_service_min: float,
    targets: list[Target],
    sl_target_h: float,
    max_engineers: int,
) -> int | None:
    """Fewest engineers for which M/M/c meets the targets it can speak to (service_level,
    utilisation at most, wait_mean_min); None beyond max_engineers."""
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
        if all(t.met(values[t.metric]) for t in targets if t.metric in values and not t.caps):
            return c
    return None


# --------------------------------------------------------------------------- the search


@dataclass(frozen=True)
class Measures:
    """What each replication of a trial roster is measured on."""

    metrics: tuple[str, ...]  # KPIs per desk (and pop-up sized) and weekday
    popups: dict[str, str]  # pop-ups sized → the weekday of their visit
    hourly: tuple[str, ...] = ()  # KPIs held in every opening hour
    hourly_sites: frozenset[str] = frozenset()

    @property
    def per_site(self) -> SiteMeasures | None:
        """What each component's replications are measured on; None when nothing is (the
        whole-run KPIs alone: the same store entries as `techbar run`, read or filed)."""
        if not self.metrics and not self.hourly:
            return None
        return SiteMeasures(self.metrics, self.hourly, self.hourly_sites)


Evaluation = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]


def _days(m: Measures, out: ReplicationOutput) -> pd.DataFrame:
    """A replication's per-weekday KPIs of the desks and of the pop-ups sized."""
    days = out.measured["weekday"]
    if m.popups:  # a pop-up opens on one weekday: its whole-run KPIs are that day's
        whole = out.kpis
        p = whole[whole["site"].isin(list(m.popups)) & whole["metric"].isin(m.metrics)]
        p = p.assign(day=p["site"].map(m.popups))[days.columns]
        days = pd.concat([days, p], ignore_index=True)
    return days


def _evaluate(
    scenarios: list[Scenario],
    seed: int,
    reps: int,
    m: Measures,
    workers: int | None,
    dask: str | None,
    store: Store,
    progress: bool = False,
    desc: str = "sizing",
) -> list[Evaluation]:
    """Per scenario: the whole-run KPIs (as ``techbar run``), the per-weekday KPIs of every desk
    (and pop-up sized; an empty table when `m` measures nothing per site) and, for targets held
    in every hour, the per-hour KPIs; the replications
    of all the scenarios run as one batch, component by component (`run_jobs`): a component
    (a desk with its pop-ups) whose roster did not change since an earlier round, or that is in
    `store`, is not simulated again."""
    jobs = [Job(s, seed, r) for s in scenarios for r in range(reps)]
    per_site = m.per_site
    outs = run_jobs(jobs, workers, dask, store, progress=progress, desc=desc, measures=per_site)
    result: list[Evaluation] = []
    for i in range(len(scenarios)):
        mine = outs[i * reps : (i + 1) * reps]
        whole = pd.concat([o.kpis for o in mine], ignore_index=True)
        days = (
            pd.DataFrame()
            if per_site is None
            else pd.concat([_days(m, o) for o in mine], ignore_index=True)
        )
        hours = (
            pd.concat([o.measured["hourly"] for o in mine], ignore_index=True) if m.hourly else None
        )
        result.append((whole, days, hours))
    return result


def bounds(days: pd.DataFrame, keys: tuple[str, ...] = ("site", "day", "metric")) -> pd.DataFrame:
    """Per site, day and metric (or `keys`): mean, std, n and the one-sided 95 % lower and
    upper bounds, and the two-sided 95 % interval."""
    g = days.groupby(list(keys), sort=False)["value"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    half = (
        stats.t.ppf(CONFIDENCE, np.maximum(out["n"] - 1, 1)) * out["std"] / np.sqrt(out["n"])
    ).where(out["n"] > 1)
    out["lower"] = out["mean"] - half
    out["upper"] = out["mean"] + half
    two = (
        stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(out["n"] - 1, 1))
        * out["std"]
        / np.sqrt(out["n"])
    ).where(out["n"] > 1)
    out["ci_low"] = out["mean"] - two  # the two-sided 95 % interval, for the report
    out["ci_high"] = out["mean"] + two
    return out


def worst_hours(hours: pd.DataFrame | None, targets: list[Target]) -> pd.DataFrame:
    """Per site, day and target held in every hour: the bounds of its worst opening hour (the
    smallest margin), as metric ``<KPI>_worst_hour`` with the clock hour. An hour with visitors
    in fewer than two replications has no bound and is not judged."""
    hourly = [t for t in targets if t.every_hour]
    if hours is None or not hourly:
        return pd.DataFrame()
    b = bounds(hours, ("site", "day", "hour", "metric"))
    b = b[b["n"] >= 2]
    frames = []
    for t in hourly:
        m = b[b["metric"] == t.metric].copy()
        if m.empty:
            continue
        bound = m["lower"] if t.op == ">=" else m["upper"]
        margin = (bound - t.value if t.op == ">=" else t.value - bound).fillna(-np.inf)
        worst = m.loc[margin.groupby([m["site"], m["day"]], sort=False).idxmin()]
        frames.append(worst.assign(metric=t.key))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _all_bounds(days: pd.DataFrame, hours: pd.DataFrame | None, targets) -> pd.DataFrame:
    b = bounds(days).assign(hour=np.nan)
    w = worst_hours(hours, targets)
    return pd.concat([b, w[b.columns]], ignore_index=True) if len(w) else b


def _verdicts(targets: list[Target], b: pd.DataFrame) -> dict[str, tuple[float, float, bool]]:
    """Per target: (bound, margin, met) from one cell's rows; a day nobody walked in on (or,
    for a target held every hour, with no hour to judge) meets it (nothing to serve)."""
    rows = b.set_index("metric")
    out = {}
    for t in targets:
        if t.key not in rows.index or rows.loc[t.key, "n"] == 0:
            out[str(t)] = (np.nan, np.inf, True)
            continue
        r = rows.loc[t.key]
        bound = r["lower"] if t.op == ">=" else r["upper"]
        margin = t.margin(bound) if not np.isnan(bound) else -np.inf
        out[str(t)] = (float(bound), float(margin), bool(margin >= 0))
    return out


@dataclass
class SizingOutput:
    recommendation: pd.DataFrame  # per desk and weekday: the roster, its binding target, Erlang C
    detail: pd.DataFrame  # per desk: estimates, the simulated requirement, the gap, the cost
    evidence: pd.DataFrame  # per desk, weekday, engineers tried and target KPI: mean, bounds
    scenario: Scenario  # the input scenario with the roster applied (runnable)
    final_kpis: pd.DataFrame  # the plan's whole-run KPIs per replication (as techbar run)
    cost: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    tradeoff: pd.DataFrame = field(default_factory=pd.DataFrame)  # per desk: the curve

    def plan_summary(self) -> pd.DataFrame:
        """The plan's KPIs with 95 % CIs, as ``techbar run recommended.toml`` summarises them."""
        s = summarise(self.final_kpis, ["site", "metric"], "value")
        s.insert(0, "scenario", self.scenario.name)
        return s

    @property
    def feasible(self) -> bool:
        return bool(self.recommendation["targets_met"].all())


def size(
    scenario: Scenario,
    targets: list[Target],
    seed: int,
    reps: int,
    max_engineers: int = 12,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = False,
    size_popups: bool = False,
    store: Store | None = None,
    **_: Any,
) -> SizingOutput:
    """The cheapest weekday roster (fewest engineers at each desk on each weekday, and with
    `size_popups` at each pop-up visit, from its home desk or its mobile team) meeting every
    target on the one-sided 95 % confidence bound over `reps` replications; with the trade-off
    curve around it. Rosters are simulated component by component, each kept in `store` (the
    results store; without one, in memory for this sizing), so a desk whose roster a round did
    not change, or that an earlier sizing or run simulated, is read back, not simulated again."""
    memo: Store = MemoryStore() if store is None else store
    if reps < 2:
        raise ScenarioError("--reps: sizing with confidence needs at least 2 replications")
    popups = [p for p in scenario.popups if size_popups]
    cells = [(s.name, d) for s in scenario.sites for d in s.day_indices]
    cells += [(p.name, WEEKDAYS.index(p.day)) for p in popups]
    measures = Measures(
        metrics=tuple(
            sorted(
                {t.metric for t in targets if not t.every_hour}
                | {"service_level", "utilisation", "walkins"}
            )
        ),
        popups={p.name: p.day for p in popups},
        hourly=tuple(sorted({t.metric for t in targets if t.every_hour})),
        hourly_sites=frozenset(n for n, _ in cells),
    )
    estimates = analytic_estimates(scenario, targets, seed, max_engineers=max_engineers)
    cell_est = {(e.site, e.day): e for e in estimates}
    level = {
        (n, d): min(
            max_engineers,
            max(1, cell_est[(n, WEEKDAYS[d])].sipp or cell_est[(n, WEEKDAYS[d])].erlang_c or 1),
        )
        for n, d in cells
        if (n, WEEKDAYS[d]) in cell_est
    }
    level |= {(p.name, WEEKDAYS.index(p.day)): min(max_engineers, p.engineers) for p in popups}
    needs = [t for t in targets if not t.caps]
    passes: dict[tuple[str, int], dict[int, bool]] = {c: {} for c in cells}
    answer: dict[tuple[str, int], int] = {}
    unmet: set[tuple[str, int]] = set()
    evidence: list[pd.DataFrame] = []
    rounds = 0
    keys = [t.key for t in targets]

    def record(b: pd.DataFrame, roster: dict[tuple[str, int], int], final: bool) -> None:
        b = b[b["metric"].isin(keys)].copy()
        b["engineers"] = [
            roster[(s, WEEKDAYS.index(d))] for s, d in zip(b.site, b.day, strict=True)
        ]
        b["final"] = final
        evidence.append(b)

    def run(roster: dict[tuple[str, int], int]) -> tuple[pd.DataFrame, pd.DataFrame]:
        nonlocal rounds
        ((whole, days, hours),) = _evaluate(
            [with_roster(scenario, _nested(roster))],
            seed,
            reps,
            measures,
            workers,
            dask,
            memo,
            progress,
            f"sizing round {rounds + 1}",
        )
        rounds += 1
        return whole, _all_bounds(days, hours, targets)

    def rows_of(b: pd.DataFrame) -> dict:
        return dict(iter(b.groupby(["site", "day"], sort=False)))

    while True:
        while len(answer) < len(cells):
            roster = {c: answer.get(c, level[c]) for c in cells}
            _, b = run(roster)
            record(b, roster, False)
            cell_rows = rows_of(b)
            for cell in cells:
                if cell in answer:
                    continue
                c = level[cell]
                verdict = _verdicts(needs, cell_rows[(cell[0], WEEKDAYS[cell[1]])])
                ok = all(v[2] for v in verdict.values())
                passes[cell][c] = ok
                if ok and (c == 1 or passes[cell].get(c - 1) is False):
                    answer[cell] = c
                elif ok:
                    level[cell] = c - 1
                elif passes[cell].get(c + 1) is True:
                    answer[cell] = c + 1
                elif c >= max_engineers:
                    answer[cell] = c
                    unmet.add(cell)
                else:
                    level[cell] = c + 1
        # confirm the plan as a whole: the evidence, and what `techbar run` reproduces
        roster = dict(answer)
        whole, b = run(roster)
        cell_rows = rows_of(b)
        again = [
            cell
            for cell in cells
            if cell not in unmet
            and not all(
                v[2] for v in _verdicts(needs, cell_rows[(cell[0], WEEKDAYS[cell[1]])]).values()
            )
        ]
        if not again:
            break
        for cell in again:  # days interact (overnight queues): one more engineer and retry
            del answer[cell]
            passes[cell] = {k: False for k in range(1, roster[cell] + 1)}
            level[cell] = min(roster[cell] + 1, max_engineers)
            if roster[cell] >= max_engineers:
                answer[cell] = roster[cell]
                unmet.add(cell)
    record(b, roster, True)
    plan = with_roster(scenario, _nested(roster))
    rec = _recommendation(plan, targets, roster, cell_rows, cell_est, unmet, popups)
    cost = _cost(plan, rec)
    detail = _detail(scenario, rec, estimates, cost, targets)
    curve_ = _tradeoff(
        scenario, plan, roster, whole, cost, reps, seed, workers, dask, memo, progress
    )
    rounds += 1
    ev = pd.concat(evidence, ignore_index=True)
    ev = ev[
        ["site", "day", "engineers", "metric", "hour", "mean", "std", "ci_low", "ci_high", "n"]
        + ["lower", "upper", "final"]
    ]
    ev = ev.drop_duplicates(["site", "day", "engineers", "metric"], keep="last")
    names = [s.name for s in scenario.sites] + [p.name for p in popups]
    order = {n: i for i, n in enumerate(names)}
    ev = ev.assign(_s=ev["site"].map(order), _d=ev["day"].map(WEEKDAYS.index))
    ev = ev.sort_values(["_s", "_d", "engineers", "metric"], kind="stable")
    ev = ev.drop(columns=["_s", "_d"]).reset_index(drop=True)
    return SizingOutput(rec, detail, ev, plan, whole, cost, rounds, curve_)


def _tradeoff(scenario, plan, roster, whole, cost, reps, seed, workers, dask, store, progress):
    """The trade-off curve: the plan and the plan moved by each of `STEPS` engineers at every
    desk on every open day (one batch of runs)."""
    desks = [s.name for s in scenario.sites]
    rosters = {k: stepped(roster, set(desks), k) for k in STEPS}
    runs = _evaluate(
        [with_roster(scenario, _nested(r)) for r in rosters.values()],
        seed,
        reps,
        Measures(metrics=(), popups={}),  # the whole-run KPIs alone
        workers,
        dask,
        store,
        progress,
        "trade-off curve",
    )
    points = {0: (roster, whole)} | {
        k: (rosters[k], out[0]) for k, out in zip(rosters, runs, strict=True)
    }
    away = {
        (s.name, d): n
        for s in plan.sites
        for d, n in enumerate(away_on_popups(plan, s))
        if d in s.day_indices
    }
    return curve(points, away, desks, cost["gbp_per_engineer_day"])


def _nested(roster: dict[tuple[str, int], int]) -> Roster:
    out: Roster = {}
    for (n, d), c in roster.items():
        out.setdefault(n, {})[d] = c
    return out


def _recommendation(plan, targets, roster, cell_rows, cell_est, unmet, popups) -> pd.DataFrame:
    """One row per desk and open weekday (then per pop-up sized): the roster, whether every
    target is met, the binding target (the smallest margin relative to its value) with its
    bound and margin, every target's margin, and the Erlang C / SIPP estimates."""
    scale = {str(t): max(abs(t.value), 1e-9) for t in targets}
    rows = []

    def row(name: str, d: int, away: int, rostered: int, kind: str, source: str) -> dict:
        cell = (name, d)
        verdict = _verdicts(targets, cell_rows[(name, WEEKDAYS[d])])
        binding = min(verdict, key=lambda k: verdict[k][1] / scale[k])
        bound, margin, _ = verdict[binding]
        missed = [k for k, v in verdict.items() if not v[2]]
        e = cell_est.get((name, WEEKDAYS[d]))
        met = not missed and cell not in unmet
        return {
            "site": name,
            "engineers": roster[cell] if met else None,
            "day": WEEKDAYS[d],
            "at_desk": roster[cell],
            "away_on_popups": away,
            "rostered": rostered,
            "kind": kind,
            "staffed_from": source,
            "targets_met": met,
            "binding_target": binding,
            "bound": bound,
            "margin": margin if np.isfinite(margin) else np.nan,
            "margins": "; ".join(
                f"{k}: {'no visitors' if not np.isfinite(v[1]) else f'{v[1]:+.4g}'}"
                for k, v in verdict.items()
            ),
            "missed": "; ".join(missed),
            "erlang_c_estimate": e.erlang_c if e else None,
            "sipp_estimate": e.sipp if e else None,
            "arrivals_per_open_hour": e.arrivals_per_open_hour if e else np.nan,
        }

    for site in plan.sites:
        away = away_on_popups(plan, site)
        for d in site.day_indices:
            n = roster[(site.name, d)]
            rows.append(row(site.name, d, away[d], n + away[d], "desk", ""))
    for p in popups:
        n = roster[(p.name, WEEKDAYS.index(p.day))]
        source = "mobile team" if p.mobile_team else p.home
        rows.append(
            row(p.name, WEEKDAYS.index(p.day), 0, n if p.mobile_team else 0, "pop-up", source)
        )
    out = pd.DataFrame(rows)
    for col in ("engineers", "erlang_c_estimate", "sipp_estimate"):
        out[col] = pd.array(out[col], dtype="Int64")
    return out


def _cost(plan: Scenario, rec: pd.DataFrame) -> dict[str, float]:
    """Engineer-days rostered per week at the desks (pop-up duty included) and in the pop-ups'
    mobile teams (one visit a week each), and their cost."""
    c = plan.costs
    per_day = c.engineer_gbp_per_fte_year / c.engineer_days_per_fte_year
    desks = float(rec.loc[rec["kind"] == "desk", "rostered"].sum())
    mobile = float(sum(p.engineers for p in plan.popups if p.mobile_team))
    days = desks + mobile
    return {
        "engineer_days_per_week": days,
        "desk_engineer_days_per_week": desks,
        "mobile_team_days_per_week": mobile,
        "gbp_per_engineer_day": per_day,
        "weekly_gbp": days * per_day,
        "annual_gbp": days * per_day * WEEKS_PER_YEAR,
    }


def _detail(scenario, rec, estimates, cost, targets) -> pd.DataFrame:
    desk = {e.site: e for e in estimates if e.day == ""}
    rows = []
    for site in scenario.sites:
        mine = rec[rec["site"] == site.name]
        e = desk[site.name]
        rows.append(
            {
                "site": site.name,
                "engineers": int(mine["at_desk"].max()) if mine["targets_met"].all() else None,
                "targets_met": bool(mine["targets_met"].all()),
                "erlang_c_estimate": e.erlang_c,
                "sipp_estimate": e.sipp,
                "arrivals_per_open_hour": e.arrivals_per_open_hour,
                "mean_service_min": e.mean_service_min,
                "popup_duty_per_week": int(mine["away_on_popups"].sum()),
                "engineer_days_per_week": int(mine["rostered"].sum()),
                "weekly_gbp": float(mine["rostered"].sum()) * cost["gbp_per_engineer_day"],
                "gap_reason": gap_reason(scenario, site, mine, targets),
            }
        )
    out = pd.DataFrame(rows)
    for col in ("engineers", "erlang_c_estimate", "sipp_estimate"):
        out[col] = pd.array(out[col], dtype="Int64")
    return out


def gap_reason(
    scenario: Scenario, site: Site, rows: pd.DataFrame, targets: Iterable[Target] = ()
) -> str:
    """Why the simulated requirement differs from Erlang C on the same walk-ins: the model
    features Erlang C leaves out that are present at this desk."""
    ec = rows["erlang_c_estimate"]
    diff = (rows["at_desk"] - ec).dropna()
    if len(diff) and (diff == 0).all():
        return "none: the simulation agrees with Erlang C on every day"
    why = []
    if any(t.every_hour for t in targets):
        why.append("a target held in every hour, not over the day")
    if (rows["sipp_estimate"] > rows["erlang_c_estimate"]).any():
        why.append("peaks within the day (SIPP above Erlang C on the day's mean)")
    if site.breaks:
        why.append("breaks take engineers off the desk")
    if (rows["away_on_popups"] > 0).any():
        why.append("engineers back late from pop-up visits")
    if scenario.service.patience_min is not None:
        why.append("reneging shortens the queue")
    if site.close_min - site.open_min < MIN_PER_DAY:
        why.append("a queue at opening and overtime at closing (not a steady state)")
    why.append("a 95 % confidence bound, not the mean")
    more = (diff > 0).sum()
    fewer = (diff < 0).sum()
    side = f"{more} day(s) need more, {fewer} fewer than Erlang C"
    return f"{side}: " + "; ".join(why)


def shortfalls(result: SizingOutput, targets: list[Target]) -> list[str]:
    """One sentence per desk the plan does not bring to every target on every day: the days,
    which targets, and the value reached (mean, and its 95 % bound) on the first such day."""
    out = []
    rec, ev = result.recommendation, result.evidence
    for site, g in rec[~rec["targets_met"]].groupby("site", sort=False):
        first = g.iloc[0]
        top = int(first["at_desk"])
        missed = [t for t in targets if str(t) in str(first["missed"]).split("; ")]
        rows = ev[(ev["site"] == site) & (ev["day"] == first["day"]) & (ev["engineers"] == top)]
        mean = rows.set_index("metric")["mean"]
        reached = (
            "; ".join(
                f"{t} is not met: {t.key} reaches {_value(mean.get(t.key, np.nan))} on "
                f"{first['day']}"
                for t in missed
            )
            or f"{first['binding_target']} is not met with confidence"
        )
        out.append(
            f"no roster up to {top} engineers (--max-engineers) meets the targets at desk "
            f"'{site}' on {', '.join(g['day'])}: with {top}, {reached}; the best plan found is "
            "in recommended.toml"
        )
    return out


def _value(x: float) -> str:
    return "no value (no visitors)" if pd.isna(x) else f"{x:.4g}"


# --------------------------------------------------------------------------- the runnable plan


def recommended_toml(plan: Scenario, source: Path | str | None, rewritten: bool) -> str:
    """`plan` as a scenario file: the source file (the embedded default when None) with each
    desk's `engineers` replaced by the roster, comments kept; or, when the scenario was changed
    on the way in (`rewritten`: overrides) or the edit does not load back to `plan`, the whole
    resolved scenario. Either way the text loads to exactly `plan`."""
    header = (
        "# Staffing plan from `techbar size`: each desk's engineers per open day are those at the\n"
        "# desk plus those the plan sends to pop-up visits that day. Run it: techbar run FILE\n"
    )
    if not rewritten:
        try:
            text = header + _edited(plan, Path(source or default_scenario_path()))
            if _same(text, plan):
                return text
        except (OSError, ScenarioError, tomlkit.exceptions.TOMLKitError, KeyError, TypeError):
            pass
    text = header + tomlkit.dumps(scenario_to_dict(plan))
    if not _same(text, plan):  # a bug: the resolved scenario always loads back
        raise RuntimeError("recommended.toml does not load back to the recommended scenario")
    return text


def _edited(plan: Scenario, source: Path) -> str:
    doc = tomlkit.parse(source.read_text(encoding="utf-8"))
    sites = doc["sites"]
    by_name = {s.name: s for s in plan.sites}
    for table in sites:
        site = by_name[str(table["name"])]
        roster = tomlkit.item(list(site.engineers) if isinstance(site.engineers, list) else [])
        roster.comment(f"rostered {'/'.join(site.days)}: at the desk + on pop-up visits")
        table["engineers"] = roster
    popups = {p.name: p for p in plan.popups}
    for table in doc.get("popups", []):
        n = popups[str(table["name"])].engineers
        if table.get("engineers", 1) != n:  # a pop-up sized: its engineers per visit
            table["engineers"] = n
    return tomlkit.dumps(doc)


def _same(text: str, plan: Scenario) -> bool:
    try:
        loaded = validate(tomllib.loads(text), "recommended.toml")
    except (tomllib.TOMLDecodeError, ScenarioError):
        return False
    return loaded.model_dump() == plan.model_dump()
