"""Input that would give silently wrong results (or none) is refused with one message naming the
key; overrides are data and reach the scenario exactly as given."""

import math
import tomllib

import pytest

from sim.cli import main
from sim.experiment.sweep import MAX_SWEEP_SCENARIOS, load_experiment
from sim.kpis import ALL, ALL_DESKS, ALL_POPUPS
from sim.scenario import (
    MAX_ENGINEERS,
    MAX_FILE_BYTES,
    RESERVED_NAMES,
    ScenarioError,
    default_scenario_path,
    load_scenario,
    override_pairs,
    parse_override,
    read_toml,
)


def _refused(overrides, path=None) -> str:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, overrides)
    return str(err.value)


# --------------------------------------------------------------------------- non-finite numbers


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize(
    "key",
    [
        "service.sl_target_min",
        "value.gbp_per_officer_hour",
        "demand.max_defer_h",
        "tiers.L1.service_min.mean",
        "stock.repair_days.cv",
        "sites.0.breaks.0.duration_min",
        "popups.0.travel_min",
        "categories.account.rate_per_user_year",
    ],
)
def test_non_finite_numbers_are_refused_naming_the_key(key, bad):
    assert f"key '{key}'" in _refused({key: bad})


@pytest.mark.parametrize(
    "key, value",
    [
        ("demand.hour_weights", [1.0] * 23 + [math.inf]),
        ("sites.0.walkin_rate_per_hour", [1.0] * 23 + [math.nan]),
        ("sites.0.fleet.laptop", 10**30),
        ("sites.0.population", 10**400),  # an int too large for a float
        ("demand.force_users", 1e300),
        ("value.gbp_per_officer_hour", 1e300),
        ("tiers.L1.service_min", {"dist": "empirical", "values": [1, math.inf]}),
    ],
)
def test_huge_or_non_finite_numbers_in_lists_and_tables_are_refused(key, value):
    msg = _refused({key: value})
    assert f"key '{key}" in msg, msg


def test_nan_and_inf_literals_in_a_file_are_refused(tmp_path):
    text = default_scenario_path().read_text(encoding="utf-8")
    for literal in ("nan", "inf", "-inf"):
        f = tmp_path / f"{literal}.toml"
        f.write_text(text.replace("sl_target_min = 15", f"sl_target_min = {literal}"))
        assert "key 'service.sl_target_min'" in _refused((), f)


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"dist": "lognormal", "mean": 1e308, "cv": 0.9}, "at most"),
        ({"dist": "lognormal", "mean": 10, "cv": 1e-200}, "too small"),
        ({"dist": "gamma", "mean": 10, "cv": 1e-170}, "too small"),
        ({"dist": "exponential", "mean": 1e300}, "at most"),
        ({"dist": "triangular", "low": 0, "mode": 1, "high": 1e308}, "at most"),
    ],
)
def test_distributions_that_overflow_or_degenerate_are_refused(spec, expected):
    msg = _refused({"tiers.L1.service_min": spec})
    assert "key 'tiers.L1.service_min" in msg and expected in msg, msg


# --------------------------------------------------------------------------- names


def test_reserved_names_are_the_kpi_aggregates():
    assert set(RESERVED_NAMES) == {ALL, ALL_DESKS, ALL_POPUPS}


@pytest.mark.parametrize("name", ["ALL", "ALL_DESKS", "ALL_POPUPS", "all", " all_desks "])
@pytest.mark.parametrize("where", ["sites.0.name", "popups.0.name"])
def test_reserved_site_names_are_refused(where, name):
    msg = _refused({where: name})
    assert f"key '{where}'" in msg and "reserved" in msg, msg


@pytest.mark.parametrize("name", ["", "   ", "\t"])
@pytest.mark.parametrize("where", ["sites.1.name", "popups.2.name"])
def test_empty_names_are_refused(where, name):
    assert f"key '{where}'" in _refused({where: name})


@pytest.mark.parametrize(
    "overrides, key",
    [
        ({"sites.1.name": "fresh  wharf "}, "sites.1.name"),
        ({"popups.0.name": "FRESH WHARF"}, "popups.0.name"),
        ({"popups.1.name": " romford"}, "popups.1.name"),
    ],
)
def test_names_clashing_ignoring_case_and_spacing_are_refused(overrides, key):
    s = load_scenario()
    names = [x.name for x in s.sites] + [p.name for p in s.popups]
    assert "Romford" in names  # the clash in the last case is with an existing pop-up
    msg = _refused(overrides)
    assert f"key '{key}'" in msg and "unique across sites and popups" in msg, msg


# --------------------------------------------------------------------------- limits on size


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"sites.0.engineers": MAX_ENGINEERS + 1}, "key 'sites.0.engineers'"),
        ({"sites.0.engineers": [MAX_ENGINEERS + 1] * 5}, "key 'sites.0.engineers"),
        ({"popups.0.engineers": MAX_ENGINEERS + 1}, "key 'popups.0.engineers'"),
        ({"sites.1.population": 10**9}, "key 'sites.1': the scenario makes up to about"),
        ({"popups.2.fleet.laptop": 10**9}, "key 'popups.2'"),
        ({"sites.0.walkin_rate_per_hour": 10_000.0}, "walk-ins a week"),
        ({"sites.0.population": 10**8, "sites.0.fleet": {}}, "key 'sites.0'"),
        ({"stock.policy": "periodic", "stock.review_days": 1e-9}, "at least 1/24"),
        ({"value.hours_lost_per_downtime_day": 25}, "key 'value.hours_lost_per_downtime_day'"),
    ],
)
def test_runs_too_large_to_finish_are_refused_with_the_limit(overrides, expected):
    assert expected in _refused(overrides)


def test_the_limits_leave_room_for_large_real_scenarios():
    s = load_scenario(
        None,
        {
            "sites.0.population": 1_000_000,
            "demand.force_users": 2_000_000,  # the catchments hold at most the force's users
            "sites.0.engineers": 50,
            "horizon_weeks": 1100,
        },
    )
    assert s.sites[0].population == 1_000_000 and s.horizon_weeks == 1100


# --------------------------------------------------------------------------- costs


@pytest.mark.parametrize(
    "key",
    [
        "costs.engineer_gbp_per_fte_year",
        "costs.desk_gbp_per_year",
        "costs.stock_gbp_per_unit_year",
        "costs.stock_gbp_per_unit",
        "costs.sd_usd_per_call",
        "costs.rtb_gbp_per_escalation",
        "costs.setup_gbp_per_desk",
        "costs.setup_gbp",
    ],
)
def test_a_negative_cost_is_refused_naming_the_key(key):
    msg = _refused({key: -1.0})
    assert f"key '{key}'" in msg and "greater than or equal to 0" in msg, msg
    assert load_scenario(None, {key: 0.0})  # nothing spent is allowed


@pytest.mark.parametrize(
    "overrides, expected",
    [
        # a per-cent figure typed where a share is asked is refused, not read as 350 %
        ({"costs.discount_rate": 3.5}, "share a year (0.035 = 3.5 %), at most 0.2"),
        ({"costs.discount_rate": 0.21}, "at most 0.2"),
        ({"costs.discount_rate": -0.01}, "greater than or equal to 0"),
        ({"costs.optimism_bias": 15}, "share (0.15 = +15 %), at most 2"),
        ({"costs.optimism_bias": -0.1}, "greater than or equal to 0"),
        ({"costs.appraisal_years": 0}, "greater than or equal to 1"),
        ({"costs.appraisal_years": 31}, "less than or equal to 30"),
        ({"costs.appraisal_years": 2.5}, "integer"),
        ({"costs.engineer_days_per_fte_year": 0}, "greater than 0"),
        ({"costs.engineer_days_per_fte_year": 400}, "less than or equal to 366"),
        ({"costs.gbp_per_usd": 0}, "greater than 0"),
        ({"costs.setup_gbp": math.inf}, "finite"),
    ],
)
def test_appraisal_inputs_out_of_range_are_refused_naming_the_key(overrides, expected):
    (key,) = overrides
    msg = _refused(overrides)
    assert f"key '{key}'" in msg and expected in msg, msg


def test_the_edges_of_the_appraisal_ranges_are_allowed():
    s = load_scenario(
        None,
        {"costs.discount_rate": 0.2, "costs.optimism_bias": 2, "costs.appraisal_years": 30},
    )
    assert (s.costs.discount_rate, s.costs.optimism_bias, s.costs.appraisal_years) == (0.2, 2, 30)
    assert load_scenario(None, {"costs.discount_rate": 0}).costs.discount_rate == 0


def test_an_unknown_cost_key_is_refused_listing_the_allowed_ones():
    msg = _refused({"costs.engineer_gbp_per_day": 200})
    assert "unknown key 'costs.engineer_gbp_per_day'" in msg
    assert "engineer_gbp_per_fte_year" in msg and "discount_rate" in msg


@pytest.mark.parametrize(
    "setting, key",
    [
        ("costs.desk_gbp_per_year=-5000", "costs.desk_gbp_per_year"),
        ("costs.discount_rate=3.5", "costs.discount_rate"),
    ],
)
def test_a_bad_cost_on_the_command_line_exits_2_naming_the_key(tmp_path, capsys, setting, key):
    out = tmp_path / "out"
    code = main(
        ["run", "--set", setting, "--reps", "1", "--quiet", "--no-cache", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and f"key '{key}'" in err, err
    assert not out.exists()


# --------------------------------------------------------------------------- files


def test_an_oversized_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text('name = "x"\n' + "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ScenarioError, match="larger than 5 MB"):
        read_toml(big)


def test_deeply_nested_toml_is_refused(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("name = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        read_toml(deep)
    with pytest.raises(ScenarioError, match="nested too deeply"):
        parse_override("description=" + "[" * 5000 + "]" * 5000)


def test_a_set_value_cannot_smuggle_in_other_keys():
    key, value = parse_override("description=1\nhorizon_weeks = 1")
    assert (key, value) == ("description", "1\nhorizon_weeks = 1")


# --------------------------------------------------------------------------- overrides as data


def test_a_string_holding_quotes_survives_exactly():
    text = "He said \"hi\" \\ and 'bye'"
    assert load_scenario(None, {"description": text}).description == text
    assert load_scenario(None, [("description", text)]).description == text


def test_dict_and_list_values_are_applied_as_data():
    spec = {"dist": "lognormal", "mean": 12.5, "cv": 0.8}
    breaks = [{"start": "12:30", "duration_min": 45, "stagger_min": 15}]
    s = load_scenario(
        None,
        {
            "tiers.L1.service_min": spec,
            "sites.0.engineers": [4, 4, 3, 3, 3],
            "sites.0.breaks": breaks,
        },
    )
    assert (s.tiers["L1"].service_min.mean, s.tiers["L1"].service_min.cv) == (12.5, 0.8)
    assert s.sites[0].engineers == [4, 4, 3, 3, 3]
    assert s.sites[0].breaks[0].start == "12:30" and s.sites[0].breaks[0].duration_min == 45
    spec["mean"] = 99  # the scenario does not share the caller's table
    assert s.tiers["L1"].service_min.mean == 12.5


def test_strings_pairs_and_mappings_give_the_same_scenario():
    as_text = load_scenario(None, ["sites.0.engineers=3", "sites.2.open=09:00"])
    as_pairs = load_scenario(None, [("sites.0.engineers", 3), ("sites.2.open", "09:00")])
    as_map = load_scenario(None, {"sites.0.engineers": 3, "sites.2.open": "09:00"})
    mixed = load_scenario(None, ["sites.0.engineers=3", ("sites.2.open", "09:00")])
    assert as_text == as_pairs == as_map == mixed
    assert as_text.sites[2].open == "09:00" and as_text.sites[0].engineers == 3


def test_a_string_value_given_as_data_is_not_read_as_toml():
    # as text, [1,2] would be a list; as data it stays the string it is
    msg = _refused({"sites.0.engineers": "[3,3,2,2,2]"})
    assert "key 'sites.0.engineers'" in msg
    assert override_pairs({"description": "1"}) == [("description", "1")]


@pytest.mark.parametrize("bad", [[("a",)], [(1, 2)], [42], [("", 1)], [("sites..engineers", 1)]])
def test_malformed_overrides_are_refused(bad):
    with pytest.raises(ScenarioError, match="override"):
        override_pairs(bad)


def test_a_refused_scenario_exits_2_naming_the_key_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["run", "--set", "popups.0.name=ALL", "--reps", "1", "--quiet", "--no-cache"]
        + ["--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "key 'popups.0.name'" in err and "reserved" in err
    assert not out.exists()


# --------------------------------------------------------------------------- experiment files

BASE = """
name = "e"
base = "{base}"
set = ["horizon_weeks=2"]
"""


def _experiment(tmp_path, mmc_path, body: str):
    p = tmp_path / "exp.toml"
    p.write_text(BASE.format(base=mmc_path) + body, encoding="utf-8")
    return p


@pytest.mark.parametrize("name", ["base", "Base", " BASE "])
def test_a_sweep_scenario_named_base_is_refused(tmp_path, mmc_path, name):
    p = _experiment(tmp_path, mmc_path, f'[[scenarios]]\nname = "{name}"\nset = ["x=1"]\n')
    with pytest.raises(ScenarioError, match="reserved for the base"):
        load_experiment(p)


def test_duplicate_sweep_scenario_names_are_refused(tmp_path, mmc_path):
    body = (
        '[[scenarios]]\nname = "Two engineers"\nset = ["sites.0.engineers=2"]\n'
        '[[scenarios]]\nname = "two  engineers"\nset = ["sites.0.engineers=4"]\n'
    )
    with pytest.raises(ScenarioError, match="key 'scenarios.1.name'.*repeats"):
        load_experiment(_experiment(tmp_path, mmc_path, body))


def test_a_sweep_scenario_named_like_the_base_scenario_is_refused(tmp_path, mmc_path):
    body = '[[scenarios]]\nname = "MMC"\nset = ["sites.0.engineers=2"]\n'
    with pytest.raises(ScenarioError, match="like the base"):
        load_experiment(_experiment(tmp_path, mmc_path, body))


def test_a_grid_name_clashing_with_a_named_scenario_is_refused(tmp_path, mmc_path):
    body = (
        '[[scenarios]]\nname = "sites.0.engineers=2"\nset = ["sites.0.engineers=5"]\n'
        '[grid]\n"sites.0.engineers" = [2, 3]\n'
    )
    with pytest.raises(ScenarioError, match="repeats"):
        load_experiment(_experiment(tmp_path, mmc_path, body))


def test_a_grid_with_an_empty_list_is_refused(tmp_path, mmc_path):
    body = '[grid]\n"sites.0.engineers" = [2, 3]\n"service.balk_queue" = []\n'
    with pytest.raises(ScenarioError, match="key 'grid'.*'service.balk_queue' has no values"):
        load_experiment(_experiment(tmp_path, mmc_path, body))


def test_a_grid_too_large_to_run_is_refused_before_expanding(tmp_path, mmc_path):
    n = int(MAX_SWEEP_SCENARIOS ** (1 / 3)) + 2
    body = "[grid]\n" + "".join(f'"k{i}" = {list(range(n))}\n' for i in range(3))
    with pytest.raises(ScenarioError, match="at most"):
        load_experiment(_experiment(tmp_path, mmc_path, body))


def test_grid_values_reach_the_scenarios_exactly_and_are_shown_as_valid_toml(tmp_path, mmc_path):
    quoted = 'He said "hi" \\o/'
    body = "[grid]\n" + f'"description" = [{tomllib_string(quoted)}, "plain"]\n'
    body += '"tiers.L1.service_min" = [{dist = "fixed", value = 40}]\n'
    plan = load_experiment(_experiment(tmp_path, mmc_path, body))
    descriptions = [s.description for s in plan.scenarios[1:]]
    assert descriptions == [quoted, "plain"]
    assert all(s.tiers["L1"].service_min.mean == 40 for s in plan.scenarios[1:])
    first = plan.overrides[plan.scenarios[1].name]
    key, _, text = first[0].partition("=")
    assert key == "description" and tomllib.loads(f"v = {text}")["v"] == quoted
    assert plan.pairs[plan.scenarios[1].name][0] == ("description", quoted)


def tomllib_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_named_scenario_overrides_still_read_toml_text(tmp_path, mmc_path):
    body = '[[scenarios]]\nname = "late"\n'
    body += 'set = [\'sites.0.open="09:00"\', "sites.0.close=18:00"]\n'
    plan = load_experiment(_experiment(tmp_path, mmc_path, body))
    late = plan.scenarios[1]
    assert (late.sites[0].open, late.sites[0].close) == ("09:00", "18:00")
    assert [s.name for s in plan.scenarios] == ["mmc", "late"]
    assert plan.pairs["late"] == [("sites.0.open", "09:00"), ("sites.0.close", "18:00")]


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "empirical", "values": [1e-300], "weights": [1]},
        {"dist": "uniform", "low": 1e-300, "high": 2e-300},
        {"dist": "triangular", "low": 0, "mode": 1e-300, "high": 2e-300},
    ],
)
def test_a_distribution_too_small_to_have_a_spread_is_refused_not_a_crash(spec):
    with pytest.raises(ScenarioError, match="tiers.L1.service_min"):
        load_scenario(overrides={"tiers.L1.service_min": spec})


@pytest.mark.parametrize("twin", ["Kentish_Town", "kentish-town", "KentishTown", "kentish\ttown"])
def test_names_that_differ_only_in_spaces_underscores_or_dashes_clash(twin):
    with pytest.raises(ScenarioError, match="unique"):
        load_scenario(overrides={"sites.0.name": twin})


def test_an_experiment_with_nothing_to_compare_is_refused(tmp_path, mmc_path):
    p = _experiment(tmp_path, mmc_path, "[grid]\n")
    with pytest.raises(ScenarioError, match="no scenarios to compare"):
        load_experiment(p)
