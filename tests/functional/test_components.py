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
