"""Scenario loading, --set overrides and the error messages users see."""

import pytest
from pydantic import ValidationError

from sim.scenario import (
    ScenarioError,
    apply_override,
    load_scenario,
    parse_override,
    read_toml,
    scenario_to_dict,
    validate,
)


def test_default_scenario_has_seven_desks_open_weekdays_0830_to_1700():
    s = load_scenario()
    assert len(s.sites) == 7
    assert all(site.open == "08:30" and site.close == "17:00" for site in s.sites)
    assert all(site.days == ["Mon", "Tue", "Wed", "Thu", "Fri"] for site in s.sites)
    assert set(s.tiers) == {"L1", "L2", "L3"}


def test_every_default_input_line_carries_a_source_label():
    from sim.scenario import default_scenario_path

    for line in default_scenario_path().read_text().splitlines():
        code = line.split("#")[0].strip()
        labels_itself = code.startswith(("name =", "description ="))
        if "=" in code and not labels_itself and not code.endswith(("[", ",")):
            assert any(tag in line for tag in ("[seed]", "[S]", "[D]", "[A]")), line


@pytest.mark.parametrize(
    "text, key, value",
    [
        ("sites.0.engineers=3", "sites.0.engineers", 3),
        ("sites.0.open=09:00", "sites.0.open", "09:00"),
        ('sites.0.open="09:00"', "sites.0.open", "09:00"),
        ("sites.0.engineers=[1,2,2,2,1]", "sites.0.engineers", [1, 2, 2, 2, 1]),
        (
            'tiers.L1.service_min={dist = "exponential", mean = 20}',
            "tiers.L1.service_min",
            {"dist": "exponential", "mean": 20},
        ),
        ("service.at_close=send_away", "service.at_close", "send_away"),
    ],
)
def test_parse_override_reads_toml_values(text, key, value):
    assert parse_override(text) == (key, value)


def test_overrides_reach_nested_keys(mmc_path):
    s = load_scenario(
        mmc_path,
        [
            "sites.0.engineers=4",
            "tiers.L1.service_min.mean=12",
            'service.patience_min={dist="exponential", mean=30}',
            "service.balk_queue=5",
            "sites.desk.walkin_rate_per_hour=6",
            "horizon_weeks=3",
            "warmup_weeks=1",
            'sites.0.days=["Mon","Tue"]',
            "sites.0.open=09:00",
            "sites.0.close=17:00",
        ],
    )
    site = s.sites[0]
    assert site.engineers == 4 and site.walkin_rate_per_hour == 6
    assert s.tiers["L1"].service_min.mean == 12
    assert s.service.patience_min.mean == 30 and s.service.balk_queue == 5
    assert (s.horizon_weeks, s.warmup_weeks) == (3, 1)
    assert site.days == ["Mon", "Tue"] and site.open_min == 540


def test_override_does_not_mutate_input():
    raw = {"a": {"b": 1}}
    apply_override(raw, "a.b", 2)
    assert raw == {"a": {"b": 1}}


def test_engineers_per_weekday_accepts_seven_or_one_per_open_day(mmc_path):
    s = load_scenario(mmc_path, ['sites.0.days=["Mon","Wed"]', "sites.0.engineers=[2,3]"])
    assert s.sites[0].engineers_by_weekday() == [2, 0, 3, 0, 0, 0, 0]
    s = load_scenario(mmc_path, ["sites.0.engineers=[1,2,3,4,5,6,7]"])
    assert s.sites[0].engineers_by_weekday() == [1, 2, 3, 4, 5, 6, 7]


def test_resolved_scenario_round_trips(mmc_path):
    s = load_scenario(mmc_path)
    assert validate(scenario_to_dict(s)) == s


def test_scenario_is_immutable():
    s = load_scenario()
    with pytest.raises(ValidationError):
        s.horizon_weeks = 3


@pytest.mark.parametrize(
    "override, expected",
    [
        ("sites.0.engneers=3", "unknown key 'sites.0.engneers'; allowed here: name,"),
        ("sites.0.engineers=two", "key 'sites.0.engineers'"),
        ("sites.0.engineers=0", "key 'sites.0.engineers'"),
        ("sites.0.walkin_rate_per_hour=-1", "key 'sites.0.walkin_rate_per_hour'"),
        ('tiers.L1.service_min={dist="weibull", mean=3}', "key 'tiers.L1.service_min'"),
        (
            "tiers.L1.service_min.sd=3",
            "unknown key 'tiers.L1.service_min.sd'; allowed here: dist, mean",
        ),
        ("sites.5.engineers=1", "index 5 is out of range; allowed 0 to 0"),
        ("sites.nowhere.engineers=1", "no entry named 'nowhere'"),
        ("sites.0.open=25:00", "key 'sites.0.open'"),
        ("sites.0.open=24:00", "open (24:00) must be before close (24:00)"),
        ("warmup_weeks=40", "key 'warmup_weeks': 40 must be less than horizon_weeks"),
        ("tiers.L1.share=0.5", "key 'tiers': shares must add up to 1"),
        ('sites.0.days=["Mon","Funday"]', "key 'sites.0.days.1'"),
        ("horizon_weeks.x=1", "'horizon_weeks' is a value"),
        ("novalue", "expected KEY=VALUE"),
        ('stock.policy="periodic"', "policy 'periodic' needs review_days"),
        ("sites.0.swap_stock.phone=3", "key 'sites.0.swap_stock.phone'"),
        ("sites.0.swap_stock.laptop=-1", "key 'sites.0.swap_stock.laptop'"),
        ('stock.repair_days={dist="fixed", value=-1}', "key 'stock.repair_days"),
        ("value.gbp_per_officer_hour=-5", "key 'value.gbp_per_officer_hour'"),
        ("demand.force_users=0", "key 'demand.force_users'"),
    ],
)
def test_bad_overrides_name_the_key(mmc_path, override, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(mmc_path, [override])
    assert expected in str(err.value)


@pytest.mark.parametrize(
    "override, expected",
    [
        ("popups.0.home=Nowhere", "key 'popups.0.home': no permanent desk named 'Nowhere'"),
        ("popups.0.reach_desk=Nowhere", "key 'popups.0.reach_desk': no permanent desk"),
        ("popups.0.engineers=9", "key 'popups.0.engineers': 9 from 'Fresh Wharf'"),
        ("popups.0.day=Sun", "key 'popups.0.day': 'Fresh Wharf' has no engineers on Sun"),
        ("popups.0.end=09:00", "start (09:30) must be before end (09:00)"),
        ("popups.1.name=Romford", "names must be unique across sites and popups"),
        ('sites.0.breaks=[{start="12:00"}]', "key 'sites.0.breaks.0.duration_min' is required"),
    ],
)
def test_bad_popup_and_roster_inputs_name_the_key(override, expected):
    with pytest.raises(ScenarioError) as err:
        load_scenario(None, [override])
    assert expected in str(err.value)


def test_unknown_distribution_lists_allowed_names(mmc_path):
    with pytest.raises(ScenarioError) as err:
        load_scenario(mmc_path, ['tiers.L1.service_min={dist="weibull", mean=3}'])
    assert "exponential" in str(err.value) and "lognormal" in str(err.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        read_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        read_toml(bad)


def test_the_default_patience_has_little_early_abandonment():
    """Someone who has walked to a desk rarely leaves in the first minutes (MODEL.md §2): under
    1 % within 5 minutes, where an exponential of the same mean gives 15 %."""
    import numpy as np

    spec = load_scenario().service.patience_min
    assert spec is not None
    x = spec.sample(np.random.default_rng(0), 200_000)
    assert abs(x.mean() - 30) < 0.5  # the stated mean
    assert (x < 5).mean() < 0.01
