"""Ranges on inputs: the default's load and every bad range is refused naming its key."""

from __future__ import annotations

import pytest

from sim.scenario import ScenarioError, default_scenario_path, read_toml
from sim.scenario.uncertainty import check_ranges, default_ranges_path, load_ranges


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
