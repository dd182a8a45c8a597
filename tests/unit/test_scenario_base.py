"""A scenario built on another (``base = …``): one source of truth for what they share."""

import datetime as dt

import pytest

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario, read_scenario
from sim.scenario.inherit import merge


def test_tables_merge_lists_replace():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "k": 1}
    out = merge(base, {"a": {"y": {"q": 3}}, "l": [9]})
    assert out == {"a": {"x": 1, "y": {"p": 1, "q": 3}}, "l": [9], "k": 1}
    assert base["a"]["y"]["q"] == 2  # the base is not changed


def test_trial_scenario_shares_everything_else_with_live():
    live, trial = load_scenario(), load_scenario("met_trial_2018")
    assert trial.start_date == dt.date(2018, 11, 5) and trial.start_date.weekday() == 0
    end = trial.start_date + dt.timedelta(weeks=trial.horizon_weeks)
    assert dt.date(2019, 5, 31) < end <= dt.date(2019, 6, 7)  # to the end of May 2019
    assert [s.name for s in trial.sites] == ["Fresh Wharf", "Kentish Town"]
    assert [s.opened for s in trial.sites] == [dt.date(2018, 11, 5), dt.date(2019, 1, 28)]
    assert trial.popups == []
    assert dt.date(2019, 4, 19) in trial.calendar.closed_dates
    for key in ("categories", "tiers", "service", "stock", "value", "costs"):
        assert getattr(trial, key) == getattr(live, key), key
    assert trial.demand == live.demand
    # kept site entries keep what the file does not change
    assert trial.sites[0].open == live.sites[0].open and trial.sites[0].bcu == live.sites[0].bcu
    assert trial.sites[0].population > live.sites[0].population  # the whole BCU


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_base_and_new_entries_append(tmp_path):
    _write(tmp_path / "b.toml", 'base = "met_2019"\nname = "b"\nhorizon_weeks = 2\n')
    f = _write(
        tmp_path / "a.toml",
        'base = "b.toml"\nname = "a"\npopups = []\n[base_keep]\nsites = ["Kentish Town"]\n'
        '[[sites]]\nname = "Kentish Town"\nengineers = 4\npopulation = 10\n',
    )
    s = load_scenario(f)
    assert s.horizon_weeks == 2 and [x.name for x in s.sites] == ["Kentish Town"]
    assert s.sites[0].engineers == 4 and s.sites[0].fleet  # fleet from the base


@pytest.mark.parametrize(
    "text, words",
    [
        ('base = "nowhere"\n', ["base", "no embedded scenario 'nowhere'"]),
        ('base = "missing.toml"\n', ["base", "not found"]),
        ("base = 3\n", ["base", "expected"]),
        ('base = "met_2019"\n[base_keep]\nsites = ["Atlantis"]\n', ["base_keep.sites", "Atlantis"]),
        ('[base_keep]\nsites = ["Fresh Wharf"]\n', ["base_keep", "only allowed"]),
    ],
)
def test_bad_base_refused_naming_the_key(tmp_path, text, words):
    f = _write(tmp_path / "s.toml", text)
    with pytest.raises(ScenarioError) as exc:
        read_scenario(f)
    for w in words:
        assert w in str(exc.value)


def test_cycle_refused_with_exit_2(tmp_path, capsys):
    _write(tmp_path / "a.toml", 'base = "b.toml"\n')
    _write(tmp_path / "b.toml", 'base = "a.toml"\n')
    assert main(["run", str(tmp_path / "a.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "base" in err and "cycle" in err
    assert not (tmp_path / "o").exists()


def test_embedded_scenario_by_name_runs_and_its_register_labels_inherited_inputs(tmp_path):
    import pandas as pd

    out = tmp_path / "t"
    args = ["run", "met_trial_2018", "--reps", "1", "--workers", "1", "--no-cache", "-q"]
    assert main([*args, "--set", "horizon_weeks=2", "--out", str(out)]) == 0
    reg = pd.read_csv(out / "assumptions.csv").set_index("key")
    assert "[A]" in reg.loc["tiers.L1.fix_prob", "label"]  # from the base's comment
    assert "[seed]" in reg.loc["sites.1.opened", "label"]  # from the trial's own
    assert reg.loc["horizon_weeks", "label"] == "[set]"


def test_an_experiment_may_sweep_a_scenario_built_on_another(tmp_path):
    from sim.experiment.sweep import load_experiment
    from sim.scenario.inherit import embedded_dir

    trial = embedded_dir() / "met_trial_2018.toml"
    exp = _write(
        tmp_path / "e.toml",
        f'name = "e"\nbase = "{trial}"\nreps = 2\n[grid]\n"sites.0.engineers" = [1, 3]\n',
    )
    plan = load_experiment(exp)
    assert [s.start_date.isoformat() for s in plan.scenarios] == ["2018-11-05"] * 3
    assert [s.sites[0].engineers for s in plan.scenarios] == [[2, 2, 2, 2, 2], 1, 3]
