"""Adding, changing and removing desks in a scenario built on another, and moving users between
catchments (``users_from``) so that the force's user count is kept."""

import pytest

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.catchments import moved
from sim.scenario.inherit import embedded_dir

DEVICES = ("laptop", "tablet", "smartphone")
NEW_DESK = (
    '[[sites]]\nname = "Central South"\nbcu = "Central South (AS)"\nengineers = 2\n'
    'users_from = [{ popup = "Brixton" }, { popup = "Walworth" }]\n'
)


def _file(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(f'base = "met_2019"\nname = "changed"\n{text}', encoding="utf-8")
    return path


def _refused(tmp_path, text):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_file(tmp_path, text))
    return str(exc.value)


def _users(s):
    return sum(x.population for x in (*s.sites, *s.popups))


def _devices(s):
    return {d: sum(x.fleet.get(d, 0) for x in (*s.sites, *s.popups)) for d in DEVICES}


@pytest.fixture(scope="module")
def live():
    return load_scenario()


# --------------------------------------------------------------------------- adding, changing


def test_a_new_site_is_appended_and_the_base_sites_are_kept_as_they_are(tmp_path, live):
    s = load_scenario(_file(tmp_path, NEW_DESK))
    assert [x.name for x in s.sites] == [*live.site_names, "Central South"]
    assert s.sites[:7] == live.sites  # the base's desks unchanged
    assert s.sites[7].engineers == 2 and s.sites[7].bcu == "Central South (AS)"


def test_a_site_given_by_a_base_name_changes_only_the_keys_given(tmp_path, live):
    s = load_scenario(_file(tmp_path, '[[sites]]\nname = "Kentish Town"\nengineers = 4\n'))
    assert s.site_names == live.site_names and s.popups == live.popups
    assert s.sites[1].engineers == 4
    assert s.sites[1].model_copy(update={"engineers": live.sites[1].engineers}) == live.sites[1]


def test_an_empty_list_still_empties_the_base_list(tmp_path):
    assert load_scenario(_file(tmp_path, "popups = []\n")).popups == []


# --------------------------------------------------------------------------- removing


@pytest.mark.parametrize(
    "text",
    [
        'sites_remove = ["North West"]\npopups_remove = ["Colindale", "Wembley"]\n',
        '[[sites_remove]]\nname = "North West"\n[[popups_remove]]\nname = "Colindale"\n'
        '[[popups_remove]]\nname = "Wembley"\n',
    ],
    ids=["list", "tables"],
)
def test_a_site_and_its_popups_are_removed_by_name(tmp_path, live, text):
    s = load_scenario(_file(tmp_path, text))
    assert s.site_names == [n for n in live.site_names if n != "North West"]
    assert {p.name for p in live.popups} - {p.name for p in s.popups} == {"Colindale", "Wembley"}
    assert s.sites == [x for x in live.sites if x.name != "North West"]


def test_removing_a_site_that_popups_still_name_is_refused_naming_the_removal(tmp_path, live):
    msg = _refused(tmp_path, 'sites_remove = ["South Area"]\n')
    assert msg.startswith("sites_remove: 'South Area' is removed but is still the home")
    first = next(i for i, p in enumerate(live.popups) if p.home == "South Area")
    assert f"'{live.popups[first].name}' (popups.{first}.home)" in msg
    assert "popups_remove" in msg


def test_a_removed_sites_popups_may_be_rehomed_in_the_same_file(tmp_path, live):
    moved_homes = "".join(
        f'[[popups]]\nname = "{p.name}"\nhome = "West Area"\nmobile_team = true\n'
        + ('reach_desk = "West Area"\n' if p.reach_desk else "")
        for p in live.popups
        if p.home == "South Area"
    )
    s = load_scenario(_file(tmp_path, 'sites_remove = ["South Area"]\n' + moved_homes))
    assert "South Area" not in s.site_names and len(s.popups) == len(live.popups)
    assert _users(s) == _users(live) - live.sites[6].population  # its desk's users are gone


# --------------------------------------------------------------------------- moving users


def test_users_moved_from_popups_keep_the_forces_users_and_devices(tmp_path, live):
    more = '{ popup = "Peckham", share = 0.6 }, { popup = "Kennington", share = 0.6 }, '
    text = NEW_DESK.replace("users_from = [", "users_from = [" + more)
    text += '[[popups]]\nname = "Peckham"\nreach_desk = "Central South"\n'
    s = load_scenario(_file(tmp_path, text))
    assert _users(s) == _users(live) == live.demand.force_users
    assert _devices(s) == _devices(live)
    desk = s.sites[-1]
    assert desk.population == 950 + 950 + 570 + 570
    names = {p.name: p for p in s.popups}
    assert "Brixton" not in names and "Walworth" not in names  # emptied: their visits stop
    assert names["Peckham"].population == names["Kennington"].population == 380
    assert names["Peckham"].reach_desk == "Central South"
    for d in DEVICES:  # each device moves with its users, in whole units
        base = next(p for p in live.popups if p.name == "Peckham").fleet[d]
        assert names["Peckham"].fleet[d] + int(base * 0.6) == base


def test_a_bcu_share_moves_that_share_of_every_catchment_of_the_bcu(tmp_path, live):
    text = (
        '[[sites]]\nname = "Central South"\nbcu = "Central South (AS)"\nengineers = 2\n'
        'users_from = [{ bcu = "Central South (AS)", share = 0.5 }]\n'
    )
    s = load_scenario(_file(tmp_path, text))
    before = {p.name: p.population for p in live.popups if p.bcu == "Central South (AS)"}
    after = {p.name: p.population for p in s.popups if p.bcu == "Central South (AS)"}
    assert after == {n: u - u // 2 for n, u in before.items()}
    assert s.sites[-1].population == sum(u // 2 for u in before.values())
    assert _users(s) == _users(live) and _devices(s) == _devices(live)


def test_a_desk_may_take_users_from_another_desk_and_its_own_users_stay(tmp_path, live):
    text = '[[sites]]\nname = "Fresh Wharf"\n'
    text += 'users_from = [{ site = "Kentish Town", share = 0.25 }]\n'
    s = load_scenario(_file(tmp_path, text))
    assert s.sites[0].population == live.sites[0].population + live.sites[1].population // 4
    assert s.sites[1].population == live.sites[1].population - live.sites[1].population // 4
    assert _users(s) == _users(live)


@pytest.mark.parametrize(
    "shares", [[1 / 3, 1 / 3, 1 / 3], [0.1, 0.2, 0.7], [0.5, 0.5], [0.999, 0.001], [0.07]]
)
def test_a_catchment_split_over_several_desks_counts_every_user_once(shares):
    source = {"name": "P", "population": 997, "fleet": {"laptop": 331, "tablet": 2}}
    sites = [
        {"name": f"D{k}", "users_from": [{"popup": "P", "share": share}]}
        for k, share in enumerate(shares)
    ]
    data, moves = moved({"sites": sites, "popups": [source]})
    left = data["popups"][0] if data["popups"] else {"population": 0, "fleet": {}}
    got = [s["population"] for s in data["sites"]]
    assert sum(got) + left["population"] == 997
    for k, share in enumerate(shares):
        assert abs(got[k] - 997 * share) < 1  # each desk its share, to the whole user
    laptops = sum(s["fleet"]["laptop"] for s in data["sites"]) + left["fleet"].get("laptop", 0)
    assert laptops == 331 and [m.users for m in moves] == got
    assert (data["popups"] == []) == (abs(sum(shares) - 1) < 1e-9)  # emptied: removed
    assert all("users_from" not in s for s in data["sites"])


def test_the_trial_scenario_built_with_base_keep_is_unchanged():
    trial = load_scenario("met_trial_2018")
    assert [s.name for s in trial.sites] == ["Fresh Wharf", "Kentish Town"]
    assert [s.population for s in trial.sites] == [4300, 4100] and trial.popups == []


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "text, words",
    [
        (
            NEW_DESK.replace('"Brixton"', '"Brixtn"'),
            ["sites.7.users_from.0.popup", "no pop-up location named 'Brixtn'", "'Brixton'?"],
        ),
        (
            NEW_DESK.replace('popup = "Brixton"', 'bcu = "Atlantis (AT)"'),
            ["sites.7.users_from.0.bcu", "no catchment of BCU 'Atlantis (AT)' has users"],
        ),
        (
            NEW_DESK.replace('popup = "Brixton"', 'popup = "Brixton", share = 1.5'),
            ["sites.7.users_from.0.share", "at most 1"],
        ),
        (
            NEW_DESK.replace('{ popup = "Walworth" }', '{ popup = "Brixton", share = 0.5 }'),
            ["sites.7.users_from.1.popup", "more than all the users of 'Brixton'"],
        ),
        (
            NEW_DESK.replace('popup = "Brixton"', 'popup = "Brixton", bcu = "x"'),
            ["sites.7.users_from.0", "exactly one of popup, site, bcu"],
        ),
        (
            NEW_DESK.replace('popup = "Brixton"', 'popup = "Brixton", users = 3'),
            ["sites.7.users_from.0.users", "unknown key"],
        ),
        (NEW_DESK.replace("users_from = [", "users_from = 3 #["), ["sites.7.users_from"]),
        (
            NEW_DESK.replace('"Central South"\nbcu', '"Walworth"\nbcu').replace(
                '{ popup = "Walworth" }', '{ site = "Walworth" }'
            ),
            ["sites.7.users_from.1.site", "'Walworth' is the desk the users move to"],
        ),
    ],
    ids=[
        "unknown-popup",
        "bcu-without-users",
        "share-over-1",
        "shares-add-over-1",
        "two-sources",
        "unknown-key",
        "not-a-list",
        "itself",
    ],
)
def test_bad_moves_are_refused_naming_the_key(tmp_path, text, words):
    msg = _refused(tmp_path, text)
    for w in words:
        assert w in msg, msg


def test_a_bcu_whose_catchments_have_no_users_is_refused(tmp_path):
    text = (
        '[[popups]]\nname = "Putney"\npopulation = 0\nfleet = {}\n'
        + "".join(
            f'[[popups]]\nname = "{n}"\npopulation = 0\nfleet = {{}}\n'
            for n in ("Wandsworth", "Kingston", "Twickenham", "Wimbledon")
        )
        + NEW_DESK.replace('popup = "Brixton"', 'bcu = "South West (SW)"')
    )
    msg = _refused(tmp_path, text)
    assert "no catchment of BCU 'South West (SW)' has users" in msg
    assert "BCUs with users:" in msg and "East Area (EA)" in msg


@pytest.mark.parametrize(
    "text, words",
    [
        (
            '[[sites]]\nname = "X"\nengineers = 1\n[[sites]]\nname = "X"\nengineers = 2\n',
            ["sites.1.name", "'X' is given twice"],
        ),
        (
            '[[sites]]\nname = "brixton"\nengineers = 1\npopulation = 0\n',
            ["popups.", "'Brixton' clashes with sites.7.name 'brixton'", "unique"],
        ),
        ('sites_remove = ["Atlantis"]\n', ["sites_remove", "no entry named 'Atlantis'"]),
        (
            'sites_remove = ["Kentish Town"]\n[[sites]]\nname = "Kentish Town"\nengineers = 1\n',
            ["sites_remove", "both removed and given"],
        ),
        ('sites_remove = [{ name = "X", to = "Y" }]\n', ["sites_remove.0.to", "unknown key"]),
        ("sites_remove = 3\n", ["sites_remove", "expected a list of names"]),
    ],
    ids=["twice-in-file", "clash-with-popup", "unknown", "removed-and-given", "extra", "type"],
)
def test_bad_additions_and_removals_are_refused_naming_the_key(tmp_path, text, words):
    msg = _refused(tmp_path, text)
    for w in words:
        assert w in msg, msg


def test_remove_without_a_base_is_refused(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('sites_remove = ["Fresh Wharf"]\n')
    with pytest.raises(ScenarioError, match=r"^sites_remove: only allowed with base"):
        load_scenario(path)


def test_a_desk_with_users_of_its_own_beyond_the_force_is_refused_with_exit_2(tmp_path, capsys):
    text = (
        '[[sites]]\nname = "Central South"\nbcu = "Central South (AS)"\nengineers = 2\n'
        "population = 3000\n"
    )
    out = tmp_path / "o"
    assert main(["run", str(_file(tmp_path, text)), "--out", str(out), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "key 'demand.force_users'" in err and "48,000 users, 3,000 more" in err
    assert "users_from" in err and "Traceback" not in err and not out.exists()


def test_catchments_within_the_force_are_accepted_with_users_of_their_own(tmp_path):
    text = "population = 1\n[demand]\nforce_users = 45001\n"
    text = '[[sites]]\nname = "Central South"\nengineers = 2\n' + text
    assert load_scenario(_file(tmp_path, text)).sites[-1].population == 1


# --------------------------------------------------------------------------- the worked example


def test_the_eighth_desk_example_runs_and_is_compared_with_its_base(tmp_path, capsys):
    import json

    import pandas as pd

    from sim.experiment.sweep import sites_added_removed
    from sim.report.executive import executive_summary
    from sim.report.folder import RunFolder

    example = embedded_dir().parents[1] / "experiments" / "eighth_desk.toml"
    out = tmp_path / "e"
    args = ["run", str(example), "--set", "horizon_weeks=2", "--reps", "2", "--workers", "1"]
    assert main([*args, "--no-cache", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["compared_with"]["scenario"] == "met_2019"
    # the file is the what-if (its own name), the base it names is the base; the period is both's
    assert manifest["whatif"]["name"] == "eighth_desk" and manifest["whatif"]["base"] == "met_2019"
    assert manifest["whatif"]["overrides"][0]["base_too"] is True
    assert printed.startswith(
        "What-if 'eighth_desk': met_2019 as its scenario file changes it, both with horizon_weeks=2"
    )
    summary = pd.read_csv(out / "summary.csv")
    assert "Central South" in set(summary["site"]) and "Brixton" not in set(summary["site"])
    c = pd.read_csv(out / "comparison.csv")
    assert {"Fresh Wharf", "Central South", "ALL_DESKS", "ALL"} <= set(c["site"])
    # what the what-if adds has no base values, what it removes no values of its own
    assert sites_added_removed(c) == (["Central South"], ["Brixton", "Walworth"])
    assert c.loc[c["site"] == "Brixton", "scenario_mean"].isna().all()
    assert c.loc[c["site"] == "Brixton", "base_mean"].notna().any()
    assert "New in the what-if, with nothing in met_2019 to compare: the desk Central South." in (
        printed
    )
    assert "In met_2019 but not in the what-if: pop-ups Brixton, Walworth." in printed
    sentences = " ".join(executive_summary(RunFolder.load(out)))
    assert (
        "The what-if 'eighth_desk' changes met_2019 as its scenario file says; both were run "
        in (sentences)
    )
    walkins = summary.query("site == 'Central South' and metric == 'walkins'")["mean"].iloc[0]
    assert "The desk Central South is new" in sentences and f"walk-ins {walkins:,.0f}" in sentences
    assert "Not in the what-if (met_2019 has them): pop-up Brixton, pop-up Walworth." in sentences
    assert len(load_scenario(example).sites) == 8


def test_the_register_labels_each_desk_by_name_not_by_its_place_in_the_file():
    from sim.report.assumptions import register_for

    example = embedded_dir().parents[1] / "experiments" / "eighth_desk.toml"
    reg = register_for(example, load_scenario(example)).set_index("key")
    new = f"sites.{len(load_scenario().sites)}"  # appended after the base's desks
    assert "as the other desks" in reg.loc[f"{new}.engineers", "source"]
    assert "as the other desks" not in reg.loc["sites.0.engineers", "source"]  # Fresh Wharf's own
    assert reg.loc[f"{new}.population", "label"] == "[D]"
    assert "users_from" in reg.loc[f"{new}.population", "source"]
