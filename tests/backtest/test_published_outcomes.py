"""The default scenario, with its calibrated inputs, reproduces the published outcomes."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.backtest import PUBLISHED, backtest_table, early_peak_share
from sim.experiment.runner import run
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def default_run():
    return run(load_scenario(), seed=7, replications=8, workers=2)


@pytest.mark.parametrize("published", PUBLISHED, ids=[p.metric for p in PUBLISHED])
def test_default_scenario_reproduces_published_outcome(default_run, published):
    row = backtest_table(default_run).set_index("metric").loc[published.metric]
    assert row["n"] == 8
    assert (
        published.low - published.slack
        <= row["simulated_mean"]
        <= (published.high + published.slack)
    ), row.to_dict()
    # the interval is narrow enough for the comparison to mean something
    assert row["ci_high"] - row["ci_low"] < 2 * max(published.slack, 0.01)


def test_adoption_ramp_shows_in_weekly_share(default_run):
    w = default_run.weekly
    share = w[(w.site == "ALL") & (w.metric == "sd_share_taken")].groupby("week")["value"].mean()
    assert share.loc[1:4].mean() < 0.85 * share.loc[13:24].mean()
    # a desk that opened at go-live ramps up; a trial desk open since 2018 does not
    new = w[(w.site == "Central East") & (w.metric == "sd_share_taken")].groupby("week")["value"]
    trial = w[(w.site == "Fresh Wharf") & (w.metric == "sd_share_taken")].groupby("week")["value"]
    assert new.mean().loc[1:4].mean() < 0.8 * new.mean().loc[13:24].mean()
    assert trial.mean().loc[1:4].mean() > 0.85 * trial.mean().loc[13:24].mean()


@pytest.mark.parametrize("with_popups", [True, False])
def test_force_wide_share_counts_every_user(with_popups):
    """With pop-ups every user is in a catchment; without, the users of BCUs with no desk still
    call the service desk, at the modelled catchments' rate."""
    s = load_scenario(None, ["horizon_weeks=4"] + ([] if with_popups else ["popups=[]"]))
    w = run(s, seed=3, replications=1, workers=1).weekly
    calls = w[w.metric == "sd_calls"].groupby("site")["value"].sum()
    modelled = sum(x.population for x in s.sites) + sum(p.population for p in s.popups)
    assert modelled == 45_000 if with_popups else modelled < 45_000
    assert calls["ALL"] == pytest.approx(calls.drop("ALL").sum() * 45_000 / modelled)
    resolved = w[w.metric == "sd_resolved"].groupby("site")["value"].sum()
    assert resolved["ALL"] == resolved.drop("ALL").sum()


def test_early_peak_is_the_largest_four_week_share():
    rows = []
    for week, (res, calls) in enumerate([(1, 10)] * 4 + [(3, 10)] * 4 + [(2, 10)] * 16, 1):
        rows += [
            (0, "ALL", week, "sd_resolved", res),
            (0, "ALL", week, "sd_calls", calls),
        ]
    weekly = pd.DataFrame(rows, columns=["replication", "site", "week", "metric", "value"])
    assert early_peak_share(weekly)["value"].tolist() == [0.3]


def test_backtest_command_prints_published_beside_simulated(tmp_path, capsys):
    code = main(
        [
            "backtest",
            "--reps",
            "3",
            "--set",
            "horizon_weeks=26",
            "--out",
            str(tmp_path / "bt"),
            "--workers",
            "2",
        ]
    )
    out = capsys.readouterr().out
    assert "published" in out and "95% CI" in out and "tablet" in out
    table = pd.read_csv(tmp_path / "bt" / "backtest.csv")
    assert list(table["metric"]) == [p.metric for p in PUBLISHED]
    assert code == (0 if table["within_tolerance"].all() else 1)
    assert np.isfinite(table["simulated_mean"]).all()
