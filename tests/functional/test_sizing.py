"""Staffing plans: the cheapest weekday roster per desk meeting the targets with confidence, a
scenario that runs, and its cost."""

import tomllib

import numpy as np
import pandas as pd
import pytest

from sim.analytic import erlang_c_staffing
from sim.cli import main
from sim.experiment.sizing import (
    away_on_popups,
    parse_targets,
    popup_duty,
    size,
    with_engineers,
)
from sim.kpis import replication_kpis, weekday_kpis
from sim.model import run_replication
from sim.scenario import load_scenario, validate

MMC_SHORT = ["horizon_weeks=6", "warmup_weeks=1"]


@pytest.mark.parametrize("rate", [4.0, 8.0])
def test_sizing_an_mmc_desk_agrees_with_erlang_c_at_two_loads(mmc_path, rate):
    """Stationary M/M/c: on every weekday the simulated roster is the Erlang C answer (service
    level within 15 min ≥ 0.8: 5 engineers at λ = 4/h, 8 at λ = 8/h, with 40-min service)."""
    s = load_scenario(mmc_path, [f"sites.0.walkin_rate_per_hour={rate}"])  # 20 weeks
    targets = parse_targets(["service_level>=0.8", "utilisation<=0.85"])
    result = size(s, targets, seed=2, reps=5, workers=2)
    expected = erlang_c_staffing(rate, 1.5, wait_target=0.25, service_level=0.8)
    assert expected == {4.0: 5, 8.0: 8}[rate]
    rec = result.recommendation
    assert list(rec["day"]) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert (rec["at_desk"] == expected).all() and (rec["rostered"] == expected).all()
    assert rec["targets_met"].all()
    assert (rec["binding_target"] == "service_level>=0.8").all()
    ev = result.evidence.query("metric == 'service_level'")
    below = ev[ev["engineers"] == expected - 1]
    assert len(below) and (below["lower"] < 0.8).all()  # one fewer was tried and missed
    assert result.detail.loc[0, "erlang_c_estimate"] == expected
    assert result.cost["engineer_days_per_week"] == 7 * expected


def test_a_monday_peak_gets_a_larger_monday_roster(tmp_path):
    out = tmp_path / "size"
    code = main(
        [
            "size",
            "--set",
            "horizon_weeks=6",
            "--set",
            "demand.weekday_weights=[2.5, 1, 1, 1, 1, 0.5, 0.5]",
            "--target",
            "service_level>=0.8",
            "--reps",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    rec = pd.read_csv(out / "recommendation.csv")
    assert list(rec.columns[:6]) == [
        "site",
        "engineers",
        "day",
        "at_desk",
        "away_on_popups",
        "rostered",
    ]
    s = load_scenario()
    assert list(rec["site"].unique()) == [d.name for d in s.sites]
    assert (rec["rostered"] == rec["at_desk"] + rec["away_on_popups"]).all()
    at = rec.pivot(index="site", columns="day", values="at_desk")
    others = at[["Tue", "Wed", "Thu", "Fri"]]
    assert (at["Mon"] >= others.max(axis=1)).all()
    assert at["Mon"].sum() > others.sum().max()  # and larger than any other weekday overall
    for site in s.sites:  # pop-up duty comes from the plan and is on top
        away = away_on_popups(s, site)
        mine = rec[rec["site"] == site.name]
        assert list(mine["away_on_popups"]) == [away[d] for d in site.day_indices]
    manifest = (out / "manifest.json").read_text()
    assert "engineer_days_per_week" in manifest
    detail = pd.read_csv(out / "sizing.csv")
    assert {"erlang_c_estimate", "sipp_estimate", "gap_reason", "weekly_gbp"} <= set(detail)
    assert detail["engineer_days_per_week"].sum() == rec["rostered"].sum()


def test_the_recommended_scenario_reproduces_the_evidence(tmp_path, mmc_path):
    """`techbar run recommended.toml` with the same seed and replications gives the KPIs of the
    sizing's final evaluation; the file keeps the source's comments."""
    sized, ran = tmp_path / "size", tmp_path / "run"
    args = ["--reps", "3", "--seed", "5", "--quiet"]
    assert (
        main(["size", str(mmc_path), "--target", "service_level>=0.8", "--out", str(sized), *args])
        == 0
    )
    text = (sized / "recommended.toml").read_text()
    assert "# M/M/c validation" in text
    plan = validate(tomllib.loads(text))
    rec = pd.read_csv(sized / "recommendation.csv")
    assert plan.sites[0].engineers_by_weekday() == list(rec["rostered"])
    assert main(["run", str(sized / "recommended.toml"), "--out", str(ran), *args]) == 0
    a = pd.read_csv(sized / "plan_summary.csv")
    b = pd.read_csv(ran / "summary.csv")
    pd.testing.assert_frame_equal(a, b)


def test_no_feasible_plan_exits_1_with_the_best_plan_found(tmp_path, mmc_path, capsys):
    out = tmp_path / "size"
    code = main(
        [
            "size",
            str(mmc_path),
            *sum((["--set", k] for k in MMC_SHORT), []),
            "--target",
            "service_level>=0.8",
            "--max-engineers",
            "3",
            "--reps",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 1
    assert "no roster up to 3 engineers" in capsys.readouterr().err
    rec = pd.read_csv(out / "recommendation.csv")
    assert (rec["at_desk"] == 3).all() and not rec["targets_met"].any()
    assert rec["engineers"].isna().all()  # no answer; the best plan found is beside it
    assert (out / "recommended.toml").exists()


def test_weekday_kpis_split_the_run_by_the_day_visitors_walked_in():
    s = load_scenario(None, ["horizon_weeks=4"])
    rec = run_replication(s, 1, 0)
    whole = replication_kpis(s, rec).set_index(["site", "metric"])["value"]
    days = weekday_kpis(s, rec, ["walkins", "served", "utilisation"])
    for site in s.sites:
        mine = days[days["site"] == site.name].set_index(["day", "metric"])["value"]
        assert mine.xs("walkins", level="metric").sum() == whole[(site.name, "walkins")]
        assert mine.xs("served", level="metric").sum() == whole[(site.name, "served")]
        u = mine.xs("utilisation", level="metric")
        assert np.all((u >= 0) & (u <= 1))


def test_pop_up_duty_comes_on_top_of_engineers_at_the_desk():
    s = load_scenario()
    fw = s.sites[0]
    duty = popup_duty(s, fw)
    assert sum(duty) == sum(1 for p in s.popups if p.home == fw.name and not p.mobile_team)
    staffed = with_engineers(s, {fw.name: 2})
    assert staffed.sites[0].engineers == [2 + duty[d] for d in fw.day_indices]
    assert staffed.sites[1].engineers == s.sites[1].engineers


@pytest.mark.parametrize(
    "target, message",
    [
        ("service_levl>=0.8", "unknown KPI 'service_levl'"),
        ("service_level=0.8", "expected METRIC"),
        ("service_level>=1.2", "give a value in [0, 1]"),
        ("wait_mean_min>=5", "cannot be sized to wait_mean_min>="),
        ("wait_p90_min<=-1", "no roster can meet"),
        ("0.9<=utilisation<=0.5", "is empty (low > high)"),
    ],
)
def test_bad_target_exits_2(tmp_path, capsys, target, message):
    assert main(["size", "--target", target, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_one_replication_cannot_give_confidence(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["size", "--target", "service_level>=0.8", "--reps", "1", "--out", str(out)]) == 2
    assert "at least 2 replications" in capsys.readouterr().err
