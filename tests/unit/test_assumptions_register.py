"""The assumptions register: units from the scenario model, what the file gives is never a
model default, and an override shows the file's value beside its own."""

from __future__ import annotations

import pytest

from sim.report.assumptions import register_for, unit_of
from sim.scenario import load_scenario

OVERRIDES = ["sites.*.open=08:00", "sites.0.engineers=4", "demand.deferred_rush_mean_min=30"]


@pytest.fixture(scope="module")
def register():
    return register_for(None, load_scenario(None, OVERRIDES), OVERRIDES).set_index("key")


@pytest.mark.parametrize(
    ("key", "unit"),
    [
        ("sites.0.open", "time of day"),
        ("sites.0.breaks.0.start", "time of day"),
        ("popups.0.start", "time of day"),
        ("start_date", "date"),
        ("demand.adoption.start", "share"),
        ("tiers.L1.share", "share"),
        ("horizon_weeks", "weeks"),
        ("sites.0.swap_stock.laptop", "units"),
    ],
)
def test_units_come_from_the_scenario_model_and_times_of_day_are_not_shares(key, unit):
    assert unit_of(key) == unit


def test_inputs_the_scenario_file_gives_are_never_labelled_model_default(register):
    assert register.loc["description", "label"] == "unlabelled"  # in the file, no comment
    # the what-if's name is made from its overrides: not the file's, which it shows beside
    assert register.loc["name", "label"] == "[set]"
    assert register.loc["name", "file_value"] == "met_2019"
    defaults = register[register["label"].str.contains("default")]
    assert "sites.0.walkin_process" in defaults.index  # not in the file: the model's default
    for key in defaults.index:
        assert "model default" in register.loc[key, "source"]
    assert not any(k.startswith("sites.0.open") for k in defaults.index)


def test_a_value_set_by_an_override_shows_the_file_value_and_the_override(register):
    row = register.loc["sites.3.open"]
    assert row["label"] == "[set]" and row["value"] == "08:00" and row["file_value"] == "08:30"
    assert "--set sites.*.open=08:00" in row["source"] and "08:30" in row["source"]
    eng = register.loc["sites.0.engineers"]
    assert eng["value"] == "4" and eng["file_value"] == "[3, 3, 2, 2, 2]"
    rush = register.loc["demand.deferred_rush_mean_min"]
    assert rush["label"] == "[set]" and "does not give it" in rush["source"]
    assert register.loc["sites.1.engineers", "label"] != "[set]"
