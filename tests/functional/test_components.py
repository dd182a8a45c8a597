"""Components simulated alone: the same records, the same tables, and a cache keyed by the
inputs each component depends on (DESIGN.md, "Components")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiment import components as comp
from sim.experiment.runner import one_replication
from sim.model import run_replication
from sim.scenario import scenario_to_dict
from sim.scenario.loading import apply_overrides, validate
from sim.stock import StockPool

SEED = 5
WEEKS = 8  # long enough for every pop-up to be visited and stock to turn over


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario(overrides={"horizon_weeks": WEEKS, "warmup_weeks": 1})


def _site_names(scenario) -> list[str]:
    return comp.site_order(scenario)


def _as_data(value, catchments: list[str]):
    """A record's value as comparable data: arrays by dtype and bytes; catchment indices (a
    position in the simulated scenario's site list) as the catchment's name."""
    if isinstance(value, StockPool):
        return ("stock", value.base_stock, list(value.log_time), list(value.log_on_hand))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list) and all(isinstance(v, float | int) for v in value):
        return ("numbers", np.asarray(value, float).tobytes())  # NaN compares equal as bytes
    if isinstance(value, list):
        return [_as_data(v, catchments) for v in value]
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            x = getattr(value, f.name)
            if f.name == "catchment":
                x = [catchments[i] for i in x]
            out[f.name] = _as_data(x, catchments)
        return out
    return value


def test_split_covers_every_site_once_in_scenario_order(scenario):
    parts = comp.split(scenario)
    assert len(parts) > 1  # the default has several components
    names = [n for p in parts for n in comp.site_order(p)]
    assert sorted(names) == sorted(_site_names(scenario))
    assert len(names) == len(set(names))
    for p in parts:  # a component keeps the scenario's order and every service-wide setting
        order = comp.site_order(p)
        whole = _site_names(scenario)
        assert order == [n for n in whole if n in set(order)]
        assert p.model_dump(exclude={"sites", "popups"}) == scenario.model_dump(
            exclude={"sites", "popups"}
        )


def test_a_component_alone_gives_its_sites_the_records_they_have_in_the_whole(scenario):
    whole = run_replication(scenario, SEED, 2)
    by_name = {s.name: s for s in whole.sites}
    whole_catchments = _site_names(scenario)
    compared = 0
    for part in comp.split(scenario):
        alone = run_replication(part, SEED, 2)
        mine = comp.site_order(part)
        assert [s.name for s in alone.sites] == mine
        for s in alone.sites:
            a = _as_data(s, mine)
            b = _as_data(by_name[s.name], whole_catchments)
            assert a == b, s.name
            compared += 1
            assert len(s.visits.arrive_min) == len(by_name[s.name].visits.arrive_min)
    assert compared == len(whole.sites)


def test_tables_assembled_from_components_equal_the_whole_replication(scenario):
    whole = one_replication(scenario, SEED, 3)
    parts = [comp.simulate_component(p, SEED, 3) for p in comp.split(scenario)]
    got = comp.assemble(scenario, 3, parts)
    for name, df in got.items():
        pd.testing.assert_frame_equal(df, getattr(whole, name), check_exact=True, obj=name)
        # and byte for byte as written
        assert df.to_csv(index=False) == getattr(whole, name).to_csv(index=False), name


def _with(scenario, overrides: dict):
    """`scenario` changed by `overrides`, validated as any scenario is."""
    return validate(apply_overrides(scenario_to_dict(scenario), overrides))


def _keys(scenario) -> dict[str, str]:
    """Each component's cache key, by its first site."""
    return {comp.site_order(p)[0]: comp.component_id(p, SEED, 0).key for p in comp.split(scenario)}


def test_a_desk_input_changes_only_its_components_key(scenario):
    base = _keys(scenario)
    desk = scenario.sites[3].name
    for key, value in (("engineers", 9), ("open", "08:00"), ("swap_stock.laptop", 7)):
        changed = _keys(_with(scenario, {f"sites.3.{key}": value}))
        differ = {first for first in base if base[first] != changed[first]}
        mine = next(p for p in comp.split(scenario) if desk in comp.site_order(p))
        assert differ == {comp.site_order(mine)[0]}, key


def test_a_popup_input_changes_only_its_components_key(scenario):
    base = _keys(scenario)
    popup = scenario.popups[5]
    changed = _keys(_with(scenario, {"popups.5.engineers": popup.engineers + 1}))
    mine = next(p for p in comp.split(scenario) if popup.name in comp.site_order(p))
    assert {f for f in base if base[f] != changed[f]} == {comp.site_order(mine)[0]}


@pytest.mark.parametrize(
    "override",
    [
        {"service.balk_queue": 7},
        {"demand.max_defer_h": 3.0},
        {"value.hours_lost_per_downtime_day": 2.0},
        {"horizon_weeks": WEEKS + 1},
    ],
)
def test_a_service_wide_input_changes_every_components_key(scenario, override):
    base = _keys(scenario)
    changed = _keys(_with(scenario, override))
    assert all(base[f] != changed[f] for f in base)


def test_seed_replication_and_model_version_are_in_the_key(scenario, monkeypatch):
    part = comp.split(scenario)[0]
    keys = {
        comp.component_id(part, SEED, 0).key,
        comp.component_id(part, SEED + 1, 0).key,
        comp.component_id(part, SEED, 1).key,
    }
    assert len(keys) == 3
    monkeypatch.setattr(comp, "model_version", lambda: "another model")
    assert comp.component_id(part, SEED, 0).key not in keys


def test_a_one_desk_change_resimulates_that_component_only(tmp_path, monkeypatch):
    short = sim.load_scenario(overrides={"horizon_weeks": 2})
    simulated: list[list[str]] = []
    real = comp.simulate_component

    def counting(component, seed, replication):
        simulated.append(comp.site_order(component))
        return real(component, seed, replication)

    monkeypatch.setattr(comp, "simulate_component", counting)
    cache = tmp_path / "cache"
    base = sim.run(short, reps=2, seed=SEED, cache=cache)
    n_components = len(comp.split(short))
    assert len(simulated) == 2 * n_components
    simulated.clear()
    desk = short.sites[2].name
    whatif = _with(short, {"sites.2.engineers": 6})
    seen: list[tuple[int, int]] = []
    changed = sim.run(
        whatif, reps=2, seed=SEED, cache=cache, on_progress=lambda d, t: seen.append((d, t))
    )
    (mine,) = {tuple(s) for s in simulated}
    assert desk in mine and len(simulated) == 2  # its component, once per replication
    assert seen[0] == (2 * (n_components - 1), 2 * n_components)  # the rest came from the store
    assert seen[-1] == (2 * n_components, 2 * n_components)
    # and the results are those of simulating it whole, without any cache
    alone = sim.run(whatif, reps=2, seed=SEED)
    assert changed.summary().to_csv() == alone.summary().to_csv()
    s = changed.summary()
    other = short.sites[0].name
    pick = (s["metric"] == "wait_mean_min") & (s["site"] == other)
    assert s[pick]["mean"].tolist() == base.summary()[pick]["mean"].tolist()


def test_results_are_identical_with_and_without_the_cache(tmp_path):
    short = sim.load_scenario(overrides={"horizon_weeks": 2})
    plain = sim.run(short, reps=2, seed=SEED, workers=2)
    cache = tmp_path / "cache"
    first = sim.run(short, reps=2, seed=SEED, cache=cache)
    comp_store = sim.api._stores[cache]
    comp_store._recent.clear()  # read back from disk, not memory
    again = sim.run(short, reps=2, seed=SEED, cache=cache)
    for r in (first, again):
        for table in ("summary", "replications", "weekly_series", "wait_distribution"):
            assert getattr(r, table)().to_csv() == getattr(plain, table)().to_csv(), table


def test_site_measures_from_components_equal_the_whole_replications(scenario):
    """Sizing's per-weekday and per-hour KPIs, measured component by component and put
    together, are exactly those of the whole replication."""
    desks = [s.name for s in scenario.sites]
    hourly_sites = frozenset([desks[0], desks[2], scenario.popups[1].name])
    measures = comp.SiteMeasures(("service_level", "walkins"), ("wait_mean_min",), hourly_sites)
    rec = run_replication(scenario, SEED, 1)
    expected = measures.measure(scenario, rec)
    parts = [comp.simulate_component(p, SEED, 1, measures.of(p)) for p in comp.split(scenario)]
    got = comp.assemble_measures(scenario, measures, parts)
    assert set(got) == {"weekday", "hourly"}
    for name, df in got.items():
        assert len(df) and df.to_csv(index=False) == expected[name].to_csv(index=False), name
    assert set(got["hourly"]["site"]) == hourly_sites
    # what a component measures depends on its own sites only
    for p in comp.split(scenario):
        assert measures.of(p).hourly_sites == hourly_sites & set(comp.site_order(p))
