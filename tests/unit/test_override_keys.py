"""Service-wide overrides: `*` and `[field=value]` filters reach every matching place, as data;
a key that reaches nothing is refused naming it; what-ifs are named and slugged safely."""

import pytest

from sim.experiment.sweep import load_experiment
from sim.report.run_folder import default_run_dir, slug
from sim.scenario import (
    MAX_NAME_CHARS,
    ScenarioError,
    apply_override,
    default_scenario_path,
    load_scenario,
    load_whatif,
    parse_override,
    read_toml,
    whatif_name,
)

EA = 'sites[bcu="East Area (EA)"]'


def _refused(overrides, path=None, **kw) -> str:
    with pytest.raises(ScenarioError) as err:
        load_scenario(path, overrides, **kw)
    return str(err.value)


# --------------------------------------------------------------------------- wildcards


def test_a_star_sets_the_key_at_every_desk_and_nothing_else():
    base = load_scenario()
    s = load_scenario(None, ["sites.*.open=08:00", "sites.*.close=18:00"])
    assert [d.open for d in s.sites] == ["08:00"] * 7
    assert [d.close for d in s.sites] == ["18:00"] * 7
    assert [d.engineers for d in s.sites] == [d.engineers for d in base.sites]
    assert s.popups == base.popups


def test_a_star_creates_a_missing_table_in_every_entry_and_keeps_its_other_keys():
    s = load_scenario(None, ["sites.*.swap_stock.laptop=1"])
    assert [d.swap_stock["laptop"] for d in s.sites] == [1] * 7
    assert [d.swap_stock["tablet"] for d in s.sites] == [3] * 7  # untouched
    mmc = load_scenario(
        default_scenario_path().parents[2] / "experiments/validation/mmc.toml",
        ["sites.*.swap_stock.laptop=2"],
    )
    assert mmc.sites[0].swap_stock == {"laptop": 2}


def test_a_star_reaches_every_pop_up_and_every_entry_of_a_table():
    s = load_scenario(None, {"popups.*.engineers": 2, "tiers.*.fix_prob": 0.9})
    assert {p.engineers for p in s.popups} == {2} and len(s.popups) == 35
    assert {t.fix_prob for t in s.tiers.values()} == {0.9}


# --------------------------------------------------------------------------- filters


def test_a_filter_by_bcu_changes_only_the_desks_of_that_bcu():
    base = load_scenario()
    s = load_scenario(None, [f"{EA}.engineers=3"])
    assert [d.bcu for d in s.sites if d.engineers == 3] == ["East Area (EA)"]
    for new, old in zip(s.sites[1:], base.sites[1:], strict=True):
        assert new == old


def test_a_filter_by_name_is_the_same_as_the_index():
    by_name = load_scenario(None, ['sites[name="Fresh Wharf"].close=18:00'], name="x")
    by_index = load_scenario(None, ["sites.0.close=18:00"], name="x")
    assert by_name == by_index


def test_filters_reach_tables_too_and_several_filters_must_all_hold():
    s = load_scenario(None, [('categories[device="laptop"].fix_prob', 0.6)])
    assert {k for k, c in s.categories.items() if c.fix_prob == 0.6} == {"laptop"}
    s = load_scenario(None, ['popups[bcu="East Area (EA)"][day="Tue"].travel_min=5'])
    changed = [p.name for p in s.popups if p.travel_min == 5]
    assert changed == [p.name for p in s.popups if p.bcu == "East Area (EA)" and p.day == "Tue"]
    assert len(changed) == 1


def test_a_filter_compares_values_as_data_not_text(mmc_path):
    assert load_scenario(mmc_path, ["sites[engineers=3].engineers=5"]).sites[0].engineers == 5
    message = _refused(['sites[engineers="3"].engineers=5'], mmc_path)
    assert "no entry of 'sites' has engineers = \"3\"; engineers here: 3" in message
    message = _refused(["sites[engineers=true].engineers=5"], mmc_path)  # true is not 1
    assert "engineers = true" in message


def test_a_filter_value_may_hold_dots_brackets_equals_and_quotes(mmc_path):
    odd = "St. Ann's [B] = 1"
    text = 'sites[name="St. Ann\'s [B] = 1"].engineers=6'
    assert parse_override(text) == ('sites[name="St. Ann\'s [B] = 1"].engineers', 6)
    s = load_scenario(mmc_path, [("sites.0.name", odd), text])
    assert (s.sites[0].name, s.sites[0].engineers) == (odd, 6)


def test_a_filter_value_is_never_evaluated(tmp_path, mmc_path):
    marker = tmp_path / "ran"
    key = f"sites[name=__import__('os').system('touch {marker}')].engineers"
    message = _refused({key: 2}, mmc_path)
    assert "no entry of 'sites' has name =" in message and '"desk"' in message
    assert not marker.exists()


def test_wildcards_do_not_change_the_data_they_are_given():
    raw = read_toml(default_scenario_path())
    before = repr(raw)
    value = {"laptop": 1}
    out = apply_override(raw, "sites.*.swap_stock", value)
    assert repr(raw) == before
    out["sites"][0]["swap_stock"]["laptop"] = 9
    assert value == {"laptop": 1} and out["sites"][1]["swap_stock"] == {"laptop": 1}


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            'sites[bcu="Nowhere"].engineers=3',
            '--set sites[bcu="Nowhere"].engineers: no entry of \'sites\' has bcu = "Nowhere"; '
            'bcu here: "East Area (EA)", "Central North (CN)"',
        ),
        ('sites[colour="red"].engineers=3', "no entry of 'sites' sets colour"),
        (
            f'{EA}[day="Sun"].engineers=3',
            "no entry of 'sites' has day = \"Sun\"",
        ),
        ("sites.*x.open=08:00", "'*' stands alone as a part of the path"),
        ('sites[bcu="EA".open=08:00', "is not closed"),
        ('sites[bcu="EA"]x.open=08:00', "a filter [field=value] must end its part of the path"),
        ("sites[].open=08:00", "expected [field=value]"),
        ('*[bcu="EA"].open=08:00', "a filter follows a key"),
        ("sites..open=08:00", "a part of the path is empty"),
        ("sites.*.open.x=1", "'sites.*.open' is a value, not a table or list"),
    ],
)
def test_an_override_that_reaches_nothing_or_is_malformed_names_the_key(override, expected):
    assert expected in _refused([override])


def test_a_star_over_an_empty_list_reaches_nothing(mmc_path):
    message = _refused(["popups.*.engineers=2"], mmc_path)
    assert message == "--set popups.*.engineers: 'popups.*' matches nothing: 'popups' is empty"


def test_a_bad_value_set_by_a_star_is_one_line_naming_the_key_and_the_override():
    message = _refused(["sites.*.open=25:00"])
    lines = message.splitlines()
    assert len(lines) == 2, message
    assert "key 'sites.0.open' (and 6 more, to 'sites.6.open')" in lines[0]
    assert lines[1].strip() == "(set by --set sites.*.open)"


def test_many_problems_are_counted_after_the_first_few():
    bad = {
        "horizon_weeks": 0,
        "warmup_weeks": -1,
        "sites.0.engineers": 0,
        "sites.0.population": -1,
        "sites.0.open": "25:00",
        "sites.0.walkin_process": "x",
        "sites.0.days": ["X"],
        "service.sl_target_min": -1,
    }
    lines = _refused(bad).splitlines()
    assert len(lines) == 7 and lines[-1] == "  … and 3 more problems", lines


# --------------------------------------------------------------------------- names


def test_a_what_if_is_named_after_its_overrides_or_as_given():
    s, whatif = load_whatif(None, ["sites.*.open=08:00", f"{EA}.engineers=3"])
    assert s.name == 'sites.*.open=08:00, sites[bcu="East Area (EA)"].engineers=3'
    assert whatif is not None and whatif.base == "met_2019" and whatif.name == s.name
    assert [a.applied_to for a in whatif.overrides] == [
        tuple(f"sites.{i}.open" for i in range(7)),
        ("sites.0.engineers",),
    ]
    named = load_scenario(None, [f"{EA}.engineers=3"], name="  3 engineers in EA ")
    assert named.name == "3 engineers in EA"
    assert load_whatif(None, ()) == (load_scenario(), None)  # the file as it is


def test_a_name_made_from_many_overrides_is_cut_with_a_count():
    pairs = [(f"sites.{i}.open", "08:00") for i in range(7)]
    name = whatif_name(pairs)
    assert len(name) <= 80 and name.startswith("sites.0.open=08:00, ")
    shown = name.count("=")
    assert name.endswith(f" + {7 - shown} more")
    assert whatif_name([("description", "x" * 200)]).endswith("…")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("", "the name is empty"),
        ("   ", "the name is empty"),
        ("two\nlines", "line break or control character"),
        ("x" * (MAX_NAME_CHARS + 1), f"at most {MAX_NAME_CHARS}"),
    ],
)
def test_bad_names_are_refused(name, expected):
    assert expected in _refused(["horizon_weeks=2"], name=name)


def test_a_name_given_twice_must_agree():
    assert "disagree" in _refused(["name=one"], name="two")
    assert load_scenario(None, ["name=same"], name="same").name == "same"
    assert load_scenario(None, ["name=set", "horizon_weeks=2"]).name == "set"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("3 engineers at Fresh Wharf", "3-engineers-at-fresh-wharf"),
        ("met_2019", "met_2019"),
        ("../../etc/passwd", "etc-passwd"),
        (
            'sites.*.open=08:00, sites[bcu="EA"].engineers=3',
            "sites-open-08-00-sites-bcu-ea-engineers-3",
        ),
        ("Café  Øst", "cafe-st"),
        ("***", "scenario"),
        ("-rf /", "rf"),
    ],
)
def test_names_become_safe_folder_names(name, expected):
    assert slug(name) == expected
    folder = default_run_dir(name)
    assert folder.parent.as_posix() == "results/runs" and folder.name.startswith(expected + "-")


def test_long_names_give_short_folder_names():
    assert len(slug("n" * 300)) == 60


# --------------------------------------------------------------------------- sweeps


def test_sweep_overrides_change_the_base_of_every_scenario(tmp_path, mmc_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'name = "g"\nbase = "{mmc_path}"\nset = ["horizon_weeks=3"]\n'
        '[grid]\n"sites.0.engineers" = [2, 3]\n'
    )
    plan = load_experiment(exp, ["sites.*.walkin_rate_per_hour=2", "horizon_weeks=4"])
    assert [s.sites[0].walkin_rate_per_hour for s in plan.scenarios] == [2, 2, 2]
    assert [s.horizon_weeks for s in plan.scenarios] == [4, 4, 4]  # after the file's own set
    assert [s.sites[0].engineers for s in plan.scenarios] == [3, 2, 3]  # the grid still wins
    assert [a.key for a in plan.base_set] == ["sites.*.walkin_rate_per_hour", "horizon_weeks"]
    with pytest.raises(ScenarioError, match=r"--set popups\.\*\.engineers: .*matches nothing"):
        load_experiment(exp, ["popups.*.engineers=2"])
