"""The trial scenario, with the fitted inputs, reproduces the trial figures it was fitted to; the
live scenario, with the same inputs unchanged, predicts the live service's figures.

A prediction that misses is not re-tuned away: it is marked expected-to-fail (strict, so that
it is noticed if it starts to pass) with the reason, and the README reports it."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.backtest import (
    FITTED,
    PREDICTED,
    PUBLISHED,
    backtest_table,
    early_peak_share,
    ftf_rise,
)
from sim.experiment.runner import run
from sim.scenario import load_scenario

# Predictions of the live service that the model, fitted on the trial, does not make.
MISSES = {
    "ftf_rate": "fitted to the trial's +10 points over the service desk's 66 %, the model's "
    "first-time fix is about 76 % at the trial and stays so live: nothing in the model changes "
    "between them, so the live 91–93 % is out of reach (the published figures disagree, or the "
    "service changed after the trial)",
    "sd_share_taken_early_peak": "not an out-of-sample test: the walk-in propensities were set "
    "with the live 'up to 12 %' in view and no trial figure constrains them; even so, with "
    "first-time fix at the trial's ~76 % instead of 92 %, fewer walk-ins are resolved at a desk "
    "and the early-months peak share is about 10 %, under a reading of 'up to 12 %' as a peak of "
    "12 % (consistent with 'at most 12 %'); the propensities were not retuned to hide it",
}


@pytest.fixture(scope="module")
def default_run():
    return run(load_scenario(), seed=7, replications=8, workers=2)


@pytest.fixture(scope="module")
def trial_run():
    return run(load_scenario("met_trial_2018"), seed=7, replications=40, workers=2)


@pytest.fixture(scope="module")
def table(default_run, trial_run):
    return backtest_table(default_run, trial_run).set_index("metric")


def _case(p):
    marks = [pytest.mark.xfail(strict=True, reason=MISSES[p.metric])] if p.metric in MISSES else []
    return pytest.param(
        p, id=f"{'fitted' if p.table == FITTED else 'predicted'}-{p.metric}", marks=marks
    )


@pytest.mark.parametrize("published", [_case(p) for p in PUBLISHED])
def test_published_figure_agrees_with_the_simulation(table, published):
    row = table.loc[published.metric]
    assert row["table"] == published.table
    assert row["scenario"] == ("met_trial_2018" if published.table == FITTED else "met_2019")
    # the interval is narrow enough for the comparison to mean something
    assert row["ci_high"] - row["ci_low"] < max(0.25 * published.high, 0.02), row.to_dict()
    assert row["within_tolerance"], row.to_dict()


def test_tolerances_are_the_published_figures_rounding():
    tol = {p.metric: p.tolerance for p in PUBLISHED}
    assert tol["downtime_saved_days_per_ticket"] == pytest.approx((1.85, 1.95))
    assert tol["downtime_saved_days_per_ticket_tablet"] == pytest.approx((3.405, 3.415))
    assert tol["ftf_rate"] == pytest.approx((0.905, 0.935))
    assert {p.table for p in PUBLISHED} == {FITTED, PREDICTED}


def test_each_figure_says_whether_it_is_out_of_sample(table):
    """Only the live first-time fix is a test of the model: the trial figures were fitted to,
    and the walk-in propensities were set with the live share in view."""
    assert table["independent_of_fit"].to_dict() == {
        p.metric: p.metric == "ftf_rate" for p in PUBLISHED
    }
    assert table["why"].str.len().gt(20).all()
    assert "walkin_propensity" in table.loc["sd_share_taken_early_peak", "why"]
    assert (table.loc[table["table"] == FITTED, "independent_of_fit"] == False).all()  # noqa: E712


def test_first_time_fix_rise_is_a_model_output_in_both_readings(trial_run):
    rise = ftf_rise(trial_run.kpis, 0.66)
    rise = rise[rise.site == "ALL"].groupby("metric")["value"].mean()
    ftf = trial_run.kpis.query("site == 'ALL' and metric == 'ftf_rate'")["value"].mean()
    assert rise["ftf_rise_points"] == pytest.approx(ftf - 0.66)
    assert rise["ftf_rise_relative"] == pytest.approx(ftf / 0.66 - 1)


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
    assert "fitted to (trial)" in out and "predicted (live, not fitted)" in out
    assert code == (0 if table["within_tolerance"].all() else 1)
    assert np.isfinite(table["simulated_mean"]).all()
    # the CSV and the terminal say which figures are out of sample, and why the others are not
    assert table.set_index("metric")["independent_of_fit"].to_dict() == {
        p.metric: p.independent for p in PUBLISHED
    }
    assert "out of" in out and "sample" in out
    assert "Not out of sample — share of service-desk calls taken" in " ".join(out.split())
    # the report on it shows the same, per figure
    assert main(["report", str(tmp_path / "bt")]) == 0
    html = (tmp_path / "bt" / "report.html").read_text()
    assert "out of sample</th>" in html and "walkin_propensity" in html
    sheet = pd.read_excel(tmp_path / "bt" / "report.xlsx", sheet_name="Backtest")
    assert sheet["independent_of_fit"].tolist() == table["independent_of_fit"].tolist()
    assert sheet["why"].tolist() == table["why"].tolist()
