"""The page's controls as overrides: only what was moved, validated by the scenario model."""

import pytest

import sim
from sim.app.controls import base_controls, overrides, scaled_spec


@pytest.fixture(scope="module")
def base():
    return sim.load_scenario()


def test_untouched_controls_change_nothing(base):
    assert overrides(base, base_controls(base)) == {}


def test_a_desk_roster_becomes_one_override_that_loads_to_that_roster(base):
    c = base_controls(base)
    first = base.sites[0]
    c.desks[first.name].engineers = dict.fromkeys(c.desks[first.name].engineers, 4)
    c.desks[first.name].open = "08:00"
    got = overrides(base, c)
    assert set(got) == {"sites.0.engineers", "sites.0.open"}
    s = sim.load_scenario(overrides=got)
    assert [s.sites[0].engineers_by_weekday()[d] for d in first.day_indices] == [4] * len(
        first.day_indices
    )
    assert s.sites[0].open == "08:00"
    assert s.sites[1:] == base.sites[1:]  # every other desk as in the base


def test_pop_up_and_service_wide_controls(base):
    c = base_controls(base)
    p = base.popups[3]
    c.popups[p.name].engineers = 2
    c.popups[p.name].mobile_team = True
    assert c.service is not None
    c.service.propensity_scale = 1.5
    c.service.service_time_scale = 0.5
    got = overrides(base, c)
    s = sim.load_scenario(overrides=got)
    assert s.popups[3].engineers == 2 and s.popups[3].mobile_team
    for name, cat in base.categories.items():
        assert s.categories[name].walkin_propensity == pytest.approx(1.5 * cat.walkin_propensity)
    for name, tier in base.tiers.items():
        assert s.tiers[name].service_min.mean == pytest.approx(0.5 * tier.service_min.mean)


def test_a_propensity_scaled_above_one_is_refused_by_the_scenario_model(base):
    c = base_controls(base)
    assert c.service is not None
    c.service.propensity_scale = 3.0  # 0.54 × 3 > 1: not a probability
    with pytest.raises(sim.ScenarioError, match="walkin_propensity"):
        sim.load_scenario(overrides=overrides(base, c))


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ({"dist": "lognormal", "mean": 10.0, "cv": 0.9}, {"mean": 20.0, "cv": 0.9}),
        ({"dist": "triangular", "low": 1, "mode": 2, "high": 4}, {"low": 2, "mode": 4, "high": 8}),
        ({"dist": "fixed", "value": 15}, {"value": 30}),
        ({"dist": "empirical", "values": [1, 3], "weights": [1, 1]}, {"values": [2, 6]}),
    ],
)
def test_scaled_spec_scales_times_not_shape(spec, want):
    got = scaled_spec(spec, 2.0)
    for k, v in want.items():
        assert got[k] == v
    assert got["dist"] == spec["dist"]
    assert got.get("weights") == spec.get("weights")
