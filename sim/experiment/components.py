"""Components: a scenario's sites in the groups that never interact (`sim.plan`), each simulated,
measured and kept in the results store alone, and a replication's tables assembled from its
components'.

A component's scenario (`split`) is the scenario with only that component's desks and pop-ups:
the service-wide settings, the component's sites and pop-ups, nothing else. Random streams are
keyed by site and incident, so simulating it gives its sites exactly the records they have in
the whole scenario; its results are filed under a hash of that scenario (`component_id`), so a
change at one desk changes that desk's component's key only, while a change to a service-wide
setting changes every component's.

What a component keeps (`component_tables`) is its sites' rows of every table and what the
force-wide figures are made of: each site's additive KPI ingredients and the waits of those
seen (for pooled percentiles) and its wait band counts. `assemble` puts a replication's
components back together in the scenario's site order and computes the pooled rows (ALL,
ALL_DESKS, ALL_POPUPS) with the same functions as a whole replication (`sim.kpis`), so the
tables are identical to those of simulating the scenario whole.

What sizing decides on is measured per site too (`SiteMeasures`: each desk's KPIs per weekday
and, for the sites sized on every hour, per opening hour), so a component can be measured for it
beside its own tables; those tables are filed in an entry of their own (keyed by the component
and what was measured), while the component's own tables stay in the entry every run reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.experiment.store import JobId, model_version, scenario_hash
from sim.kpis import (
    WAIT_BINS_MIN,
    hourly_kpis,
    kpi_rows,
    pooled_ingredients,
    queue_by_hour,
    site_ingredients,
    stock_levels,
    wait_counts,
    wait_rows,
    weekday_kpis,
    weekly_all,
    weekly_sites,
)
from sim.kpis.ingredients import Ingredients
from sim.model import ReplicationRecord, run_replication
from sim.plan import scenario_components
from sim.scenario import Scenario

WAITS = "waits"  # the one ingredient that is an array: kept in a table of its own
COMPONENT_TABLES = (
    "kpis",
    "ingredients",
    "served_waits",
    "wait_counts",
    "queue_by_hour",
    "weekly",
    "stock",
)
KEY_PREFIX = "component:"  # component entries never share a key with whole replications'


def split(scenario: Scenario) -> list[Scenario]:
    """One scenario per component of `scenario`, each with only its desks and pop-ups (in the
    scenario's order), in the order of `Plan.components`."""
    out = []
    for names in scenario_components(scenario):
        mine = set(names)
        out.append(
            scenario.model_copy(
                update={
                    "sites": [s for s in scenario.sites if s.name in mine],
                    "popups": [p for p in scenario.popups if p.name in mine],
                }
            )
        )
    return out


def site_order(scenario: Scenario) -> list[str]:
    """Every site of `scenario` as a replication records them: desks, then pop-ups."""
    return [s.name for s in scenario.sites] + [p.name for p in scenario.popups]


@dataclass(frozen=True)
class SiteMeasures:
    """Tables measured of each site beside a component's own: each desk's KPIs `weekday` on
    each weekday it opens (`sim.kpis.weekday_kpis`, table "weekday") and the KPIs `hourly` of
    the sites `hourly_sites` in each opening hour (`sim.kpis.hourly_kpis`, table "hourly")."""

    weekday: tuple[str, ...] = ()
    hourly: tuple[str, ...] = ()
    hourly_sites: frozenset[str] = field(default_factory=frozenset)

    @property
    def tables(self) -> tuple[str, ...]:
        return ("weekday",) + (("hourly",) if self.hourly else ())

    def of(self, component: Scenario) -> SiteMeasures:
        """What is measured of `component`: the hourly sites that are its own."""
        return SiteMeasures(
            self.weekday, self.hourly, self.hourly_sites.intersection(site_order(component))
        )

    def tag(self) -> str:
        return json.dumps(
            {
                "weekday": sorted(self.weekday),
                "hourly": sorted(self.hourly),
                "hourly_sites": sorted(self.hourly_sites),
            },
            sort_keys=True,
        )

    def measure(self, scenario: Scenario, rec: ReplicationRecord) -> dict[str, pd.DataFrame]:
        out = {"weekday": weekday_kpis(scenario, rec, list(self.weekday))}
        if self.hourly:
            out["hourly"] = hourly_kpis(scenario, rec, list(self.hourly), set(self.hourly_sites))
        return out


@dataclass(frozen=True)
class ComponentKey:
    """A component scenario's content hash, computed once and reused for every replication."""

    scenario: str

    def job(self, seed: int, replication: int) -> JobId:
        return JobId(KEY_PREFIX + self.scenario, int(seed), int(replication), model_version())

    def measures_job(self, measures: SiteMeasures, seed: int, replication: int) -> JobId:
        """The entry of what `measures` measured of this component's replication."""
        scenario = KEY_PREFIX + self.scenario + "+measures:" + measures.tag()
        return JobId(scenario, int(seed), int(replication), model_version())


def component_key(component: Scenario) -> ComponentKey:
    return ComponentKey(scenario_hash(component))


def component_id(component: Scenario, seed: int, replication: int) -> JobId:
    """The job a component's replication is filed under in the results store."""
    return component_key(component).job(seed, replication)


def simulate_component(
    component: Scenario, seed: int, replication: int, measures: SiteMeasures | None = None
) -> dict[str, pd.DataFrame]:
    """Simulate one replication of a component scenario and measure it (`component_tables`,
    and with `measures` its tables too)."""
    rec = run_replication(component, seed, replication)
    out = component_tables(component, rec)
    if measures is not None:
        out |= measures.measure(component, rec)
    return out


def component_tables(scenario: Scenario, rec: ReplicationRecord) -> dict[str, pd.DataFrame]:
    """What the store keeps of a replication of `scenario` (a component, or any scenario)."""
    parts = site_ingredients(scenario, rec)
    names = list(parts)
    columns = [k for k in next(iter(parts.values())) if k != WAITS]
    ingredients = pd.DataFrame(
        {
            "site": names,
            "kind": [s.kind for s in rec.sites],
            **{k: [parts[n][k] for n in names] for k in columns},  # type: ignore[literal-required]
        }
    )
    waits = [np.asarray(parts[n]["waits"], dtype=np.float64) for n in names]
    # the waits of those seen, site after site: each site's are as many as it served
    served_waits = pd.DataFrame({"wait_min": np.concatenate(waits)})
    counts = wait_counts(rec)
    bands = len(WAIT_BINS_MIN) - 1
    band_counts = pd.DataFrame(
        {
            "site": np.repeat(np.asarray(names, dtype=object), bands),
            "band": np.tile(np.arange(bands), len(names)),
            "count": np.concatenate([counts[n] for n in names]).astype(np.int64),
        }
    )
    return {
        "kpis": kpi_rows(rec.replication, parts),
        "ingredients": ingredients,
        "served_waits": served_waits,
        "wait_counts": band_counts,
        "queue_by_hour": queue_by_hour(rec),
        "weekly": weekly_sites(scenario, rec),
        "stock": stock_levels(rec),
    }


def is_component_tables(
    tables: dict[str, pd.DataFrame], replication: int, names: tuple[str, ...] = COMPONENT_TABLES
) -> bool:
    """Whether `tables` are exactly a component's tables `names` of replication `replication`."""
    if set(tables) != set(names):
        return False
    return all(
        (df["replication"] == replication).all()
        for df in tables.values()
        if "replication" in df.columns
    )


def _in_order(frames: list[pd.DataFrame], order: pd.Index) -> pd.DataFrame:
    """Components' rows of a per-site table, put in the scenario's site order (each site's rows
    kept in their order)."""
    filled = [f for f in frames if len(f)] or frames[:1]
    df = pd.concat(filled, ignore_index=True)
    rows = np.argsort(order.get_indexer(df["site"]), kind="stable")
    return df.iloc[rows].reset_index(drop=True)


def _ingredients(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, Ingredients], dict[str, str]]:
    """A component's sites' ingredients (plain Python numbers, as measured) and kinds."""
    df = tables["ingredients"]
    names = df["site"].tolist()
    numbers = [c for c in df.columns if c not in ("site", "kind")]
    # each column as Python numbers, as `Series.tolist` gives them (all columns in one pass)
    columns = dict(zip(numbers, df[numbers].to_numpy(dtype=object).T.tolist(), strict=True))
    waits = tables["served_waits"]["wait_min"].to_numpy()
    ends = np.cumsum(columns["served"])
    if len(waits) != (ends[-1] if len(ends) else 0):
        raise ValueError("a component's waits do not match its sites' visitors served")
    parts = {}
    for i, n in enumerate(names):
        g = {c: values[i] for c, values in columns.items()}
        g[WAITS] = waits[ends[i] - columns["served"][i] : ends[i]]
        parts[n] = g
    return parts, dict(zip(names, df["kind"].tolist(), strict=True))  # type: ignore[return-value]


def assemble(
    scenario: Scenario, replication: int, components: list[dict[str, pd.DataFrame]]
) -> dict[str, pd.DataFrame]:
    """A replication's tables (kpis, queue_by_hour, weekly, waits, stock) of `scenario` from its
    components' tables: per-site rows in the scenario's site order, then the pooled rows."""
    order = site_order(scenario)
    rank = pd.Index(order)
    parts: dict[str, Ingredients] = {}
    kinds: dict[str, str] = {}
    counts: dict[str, np.ndarray] = {}
    for tables in components:
        p, k = _ingredients(tables)
        parts.update(p)
        kinds.update(k)
        c = tables["wait_counts"]
        for name in k:
            counts[name] = c["count"].to_numpy()[c["site"].to_numpy() == name]
    if set(parts) != set(order):
        raise ValueError(f"the components of '{scenario.name}' do not cover its sites")
    parts = {n: parts[n] for n in order}
    kpis = pd.concat(
        [
            _in_order([t["kpis"] for t in components], rank),
            kpi_rows(replication, pooled_ingredients(scenario, parts, kinds)),
        ],
        ignore_index=True,
    )
    weekly = _in_order([t["weekly"] for t in components], rank)
    population = sum(int(g["population"]) for g in parts.values())
    waits = wait_rows(replication, {n: counts[n] for n in order})
    return {
        "kpis": kpis,
        "queue_by_hour": _in_order([t["queue_by_hour"] for t in components], rank),
        "weekly": pd.concat(
            [weekly, weekly_all(scenario, replication, weekly, population)], ignore_index=True
        ),
        "waits": waits,
        "stock": _in_order([t["stock"] for t in components], rank),
    }


def assemble_measures(
    scenario: Scenario, measures: SiteMeasures, components: list[dict[str, pd.DataFrame]]
) -> dict[str, pd.DataFrame]:
    """A replication's `measures` tables of `scenario` from its components' (per-site rows, in
    the scenario's site order)."""
    rank = pd.Index(site_order(scenario))
    return {name: _in_order([t[name] for t in components], rank) for name in measures.tables}
