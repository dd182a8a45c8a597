"""Ranges on inputs: the default's load and every bad range is refused naming its key."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from sim.scenario import ScenarioError, default_scenario_path, read_toml
from sim.scenario.uncertainty import (
    check_ranges,
    default_ranges_path,
    load_ranges,
    scenario_at,
)


@pytest.fixture(scope="module")
def raw():
    return read_toml(default_scenario_path())


def _one(raw, key, **entry):
    return check_ranges([(key, {"reason": "test", **entry})], raw)


def test_default_ranges_cover_the_headline_assumptions(raw):
    ranges = {r.key: r for r in load_ranges(default_ranges_path(None), raw)}
    for key in (
        "value.hours_lost_per_downtime_day",
        "value.gbp_per_officer_hour",
        "costs.engineer_gbp_per_fte_year",
        "costs.sd_usd_per_call",
        "service.patience_min.mean",
        "categories.*.walkin_propensity",
        "demand.adoption.start",
    ):
        assert key in ranges and ranges[key].reason
    assert all(r.low <= r.base <= r.high for r in ranges.values())


def test_a_scale_range_multiplies_every_place_it_reaches(raw):
    (r,) = _one(raw, "categories.*.walkin_propensity", low=0.5, high=1.2, scale=True)
    data = r.apply(raw, 0.5)
    assert data["categories"]["laptop"]["walkin_propensity"] == pytest.approx(0.27)
    assert data["categories"]["account"]["walkin_propensity"] == pytest.approx(0.0415)


def test_distributions_stay_within_the_bounds(raw):
    for dist in ("uniform", "triangular", "loguniform"):
        (r,) = _one(raw, "value.hours_lost_per_downtime_day", low=0.25, high=4, dist=dist)
        xs = [r.value_at(u / 20) for u in range(21)]
        assert xs[0] == pytest.approx(0.25) and xs[-1] == pytest.approx(4)
        assert xs == sorted(xs)


@pytest.mark.parametrize(
    ("key", "entry", "says"),
    [
        ("value.hours_lost_per_downtime_day", {"low": 2, "high": 0.5}, "above high"),
        ("value.hours_lost_per_downtime_day", {"low": 2, "high": 4}, "outside the range"),
        ("service.at_close", {"low": 0, "high": 1}, "not a number"),
        ("value.hours_lost_per_day", {"low": 0, "high": 1}, "unknown input"),
        ("sites.99.engineers", {"low": 0, "high": 1}, "unknown input"),
        ("value.hours_lost_per_downtime_day", {"low": 0.5, "high": 30}, "invalid"),
        ("categories.*.walkin_propensity", {"low": 0.5, "high": 1.5}, "different values"),
        ("categories.*.walkin_propensity", {"low": 1.1, "high": 1.5, "scale": True}, "include 1"),
        ("service.balk_queue", {"low": 4.5, "high": 9}, "whole-number"),
        ("value.gbp_per_officer_hour", {"low": 0, "high": 50, "dist": "loguniform"}, "above 0"),
        ("value.gbp_per_officer_hour", {"low": 0, "high": 50, "dist": "normal"}, "dist"),
    ],
)
def test_a_bad_range_is_refused_naming_its_key(raw, key, entry, says):
    with pytest.raises(ScenarioError, match=says) as exc:
        _one(raw, key, **entry)
    assert f"'{key}'" in str(exc.value)


def test_a_ranges_file_without_a_reason_is_refused(raw, tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[uncertainty]\n"value.gbp_per_officer_hour" = { low = 30, high = 50 }\n')
    with pytest.raises(ScenarioError, match="value.gbp_per_officer_hour.reason"):
        load_ranges(path, raw)


def test_a_whole_number_search_always_tries_a_new_whole_number(raw):
    from sim.experiment.sensitivity import _Search

    (r,) = _one(raw, "service.balk_queue", low=5, high=12)
    s = _Search(r, 5.0, -1.0, 12.0, 1e-9)  # regula falsi would land on 12 itself
    seen = []
    while s.found is None:
        x = s.next_x()
        assert 5 < x < 12 and x not in seen and x.is_integer()
        seen.append(x)
        s.narrow(x, x - 8.5, xtol=0.0, ftol=0.0)
    assert s.hi - s.lo <= 1 and s.lo == 8 and s.hi == 9


def test_a_ranges_file_with_too_many_inputs_is_refused(raw, tmp_path):
    from sim.scenario.uncertainty import MAX_RANGES

    lines = [f'"x{i}" = {{ low = 0, high = 1, reason = "t" }}' for i in range(MAX_RANGES + 1)]
    path = tmp_path / "r.toml"
    path.write_text("[uncertainty]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match="uncertainty"):
        load_ranges(path, raw)


def test_a_fitted_input_ranges_two_standard_errors_normally(raw):
    (r,) = _one(raw, "categories.laptop.sd_resolution_days.mean", se=0.023)
    assert r.dist == "normal" and r.se == 0.023
    assert (r.low, r.high) == pytest.approx((r.base - 0.046, r.base + 0.046))
    assert r.value_at(0.5) == pytest.approx(r.base)
    # the quantiles of a normal cut at ±2 sd: the middle half lies within ±0.674 × 0.96 sd or so
    inner = 0.023 * NormalDist().inv_cdf(0.5 + 0.25 * (2 * NormalDist().cdf(2) - 1))
    assert r.value_at(0.75) - r.base == pytest.approx(inner, rel=1e-9)


def test_a_logit_shift_moves_each_probability_on_the_logit_scale(raw):
    (r,) = _one(raw, "tiers.L1.fix_prob", logit=True, se=0.01, **{"with": ["tiers.L3.fix_prob"]})
    assert r.base == 0 and len(r.places) == 2
    data = r.apply(raw, 0.5)
    for tier in ("L1", "L3"):
        p = raw["tiers"][tier]["fix_prob"]
        odds = p / (1 - p) * math.exp(0.5)
        assert data["tiers"][tier]["fix_prob"] == pytest.approx(odds / (1 + odds))
    assert data["tiers"]["L2"]["fix_prob"] == raw["tiers"]["L2"]["fix_prob"]


def test_a_value_then_a_factor_on_the_same_place_compose_in_either_order(raw):
    (value,) = _one(raw, "categories.laptop.sd_resolution_days.mean", low=2, high=3)
    (factor,) = _one(
        raw, "categories[induced=false].sd_resolution_days.mean", scale=True, low=0.5, high=2
    )
    data = read_toml(default_scenario_path())
    for settings in ([(value, 2.5), (factor, 1.2)], [(factor, 1.2), (value, 2.5)]):
        s = scenario_at(data, settings, "p")
        assert s.categories["laptop"].sd_resolution_days.mean == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"scale": True, "logit": True, "low": -1, "high": 1}, "not both"),
        ({"dist": "normal", "low": 0.5, "high": 0.9}, "needs se"),
        ({}, "give low and high"),
        ({"se": -0.1}, "greater than 0"),
    ],
)
def test_bad_fitted_or_logit_ranges_are_refused_naming_their_key(raw, entry, says):
    with pytest.raises(ScenarioError, match=r"'tiers\.L1\.fix_prob'.*" + says):
        _one(raw, "tiers.L1.fix_prob", **entry)
