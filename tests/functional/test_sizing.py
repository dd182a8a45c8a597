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


def test_the_trade_off_curve_around_the_plan(tmp_path, mmc_path):
    """tradeoff.csv: the plan and the plan ± 1, 2 engineers a day; more engineer-days give a
    higher service level and a lower utilisation, and the cost of a point is the extra annual
    cost over the points gained."""
    out = tmp_path / "size"
    argv = ["size", str(mmc_path), *sum((["--set", k] for k in MMC_SHORT), [])]
    argv += ["--target", "service_level>=0.8", "--reps", "3", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    curve = pd.read_csv(out / "tradeoff.csv")
    rec = pd.read_csv(out / "recommendation.csv")
    plan = curve[curve["plan"]]
    assert len(plan) == 1 and plan["engineer_days_per_week"].iloc[0] == rec["rostered"].sum()
    assert list(curve["step"]) == [-2, -1, 0, 1, 2]  # 5 engineers a day: none is clamped
    assert curve["engineer_days_per_week"].is_monotonic_increasing
    assert curve["service_level_mean"].is_monotonic_increasing
    assert curve["utilisation_mean"].is_monotonic_decreasing
    assert (curve["service_level_ci_low"] <= curve["service_level_mean"]).all()
    gained = curve["service_level_mean"].diff() * 100
    extra = curve["annual_gbp"].diff()
    np.testing.assert_allclose(curve["sl_points_gained"][1:], gained[1:], rtol=1e-9)
    np.testing.assert_allclose(curve["annual_gbp_per_sl_point"][1:], (extra / gained)[1:])
    assert (curve["sl_points_gained_ci_low"][1:] <= curve["sl_points_gained"][1:]).all()


def test_a_target_in_every_hour_is_checked_on_the_worst_hour(mmc_path):
    """A service level held in every opening hour needs at least the roster of the same level
    over the day, and the plan's worst hour meets it on its 95 % bound."""
    s = load_scenario(mmc_path, MMC_SHORT)
    day = size(s, parse_targets(["service_level>=0.8"]), seed=3, reps=3)
    hourly = size(s, parse_targets(["service_level>=0.5"], ["service_level>=0.8"]), seed=3, reps=3)
    assert (hourly.recommendation["at_desk"] >= day.recommendation["at_desk"]).all()
    assert hourly.recommendation["targets_met"].all()
    ev = hourly.evidence
    worst = ev[(ev["metric"] == "service_level_worst_hour") & ev["final"]]
    assert len(worst) == 7 and worst["hour"].between(0, 23).all()
    assert (worst["lower"] >= 0.8).all()
    margins = hourly.recommendation["margins"]
    assert margins.str.contains("service_level>=0.8 every hour").all()


@pytest.mark.parametrize(
    "hourly, message",
    [
        ("utilisation<=0.8", "not measured hour by hour"),
        ("service_level>0.7", "expected METRIC"),
        ("service_levle>=0.7", "unknown KPI"),
        ("service_level>=7", "give a value in [0, 1]"),
    ],
)
def test_a_malformed_every_hour_target_exits_2(tmp_path, capsys, hourly, message):
    argv = ["size", "--target", "service_level>=0.8", "--every-hour", hourly]
    assert main([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"--every-hour '{hourly}'" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_pop_ups_and_mobile_teams_are_sized_when_asked(tmp_path):
    out = tmp_path / "size"
    argv = ["size", "--set", "horizon_weeks=4", "--target", "service_level>=0.8"]
    assert main([*argv, "--size-popups", "--reps", "2", "--out", str(out), "--quiet"]) in (0, 1)
    rec = pd.read_csv(out / "recommendation.csv")
    s = load_scenario()
    pops = rec[rec["kind"] == "pop-up"].set_index("site")
    assert list(pops.index) == [p.name for p in s.popups]
    plan = validate(tomllib.loads((out / "recommended.toml").read_text()))
    for p in plan.popups:
        row = pops.loc[p.name]
        assert row["day"] == p.day and row["at_desk"] == p.engineers
        assert row["staffed_from"] == ("mobile team" if p.mobile_team else p.home)
        assert row["rostered"] == (p.engineers if p.mobile_team else 0)
    desks = rec[rec["kind"] == "desk"]
    for site in plan.sites:  # the desks' pop-up duty follows the pop-ups' sized engineers
        away = away_on_popups(plan, site)
        mine = desks[desks["site"] == site.name]
        assert list(mine["away_on_popups"]) == [away[d] for d in site.day_indices]
    cost = __import__("json").loads((out / "manifest.json").read_text())["cost"]
    mobile = sum(p.engineers for p in plan.popups if p.mobile_team)
    assert cost["mobile_team_days_per_week"] == mobile
    assert cost["engineer_days_per_week"] == desks["rostered"].sum() + mobile


def test_sizing_is_identical_on_a_dask_cluster(mmc_path):
    distributed = pytest.importorskip("distributed")
    s = load_scenario(mmc_path, MMC_SHORT)
    targets = parse_targets(["service_level>=0.8"], ["service_level>=0.6"])
    serial = size(s, targets, seed=4, reps=3, workers=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = size(s, targets, seed=4, reps=3, dask=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial.recommendation, on_dask.recommendation)
    pd.testing.assert_frame_equal(serial.evidence, on_dask.evidence)
    pd.testing.assert_frame_equal(serial.tradeoff, on_dask.tradeoff)
    pd.testing.assert_frame_equal(serial.final_kpis, on_dask.final_kpis)
    assert serial.cost == on_dask.cost


def _counting(monkeypatch):
    """Record every (component, replication) simulated."""
    from sim.experiment import components

    real = components.simulate_component
    calls: list[tuple[str, int]] = []

    def counting(component, seed, replication, measures=None):
        calls.append((components.component_key(component).scenario, replication))
        return real(component, seed, replication, measures)

    monkeypatch.setattr(components, "simulate_component", counting)
    return calls


def test_sizing_simulates_each_desk_roster_once_and_reuses_the_store(monkeypatch, tmp_path):
    """Component by component: no (desk roster, replication) is simulated twice in a sizing,
    fewer simulations than rounds × components × replications are needed, the answer is the
    same with or without a results store, and with the store a second sizing — and a run of
    the recommended plan — simulates nothing."""
    from sim.experiment.components import split
    from sim.experiment.runner import run
    from sim.experiment.store import ResultStore
    from sim.experiment.tradeoff import STEPS

    s = load_scenario(None, ["horizon_weeks=5", "warmup_weeks=1"])  # the default, 7 desks
    targets = parse_targets(["service_level>=0.8"])
    calls = _counting(monkeypatch)
    plain = size(s, targets, seed=3, reps=2, workers=1)
    assert len(calls) == len(set(calls))
    per_roster = len(split(s)) * 2  # components × replications
    # the rounds of the search and the trade-off curve's rosters, were every one run whole
    whole = (plain.rounds - 1 + len(STEPS)) * per_roster
    assert len(calls) < whole  # desks settled early, and curve points tried before, not re-run
    store = ResultStore(tmp_path / "store")
    calls.clear()
    stored = size(s, targets, seed=3, reps=2, workers=1, store=store)
    for name in ("recommendation", "evidence", "tradeoff", "detail"):
        a, b = getattr(plain, name), getattr(stored, name)
        assert a.to_csv(index=False) == b.to_csv(index=False), name
    assert len(calls) == len(set(calls))
    calls.clear()
    again = size(s, targets, seed=3, reps=2, workers=1, store=store)
    assert calls == []
    assert again.evidence.to_csv(index=False) == plain.evidence.to_csv(index=False)
    out = run(again.scenario, 3, 2, workers=1, store=store)
    assert calls == []
    pd.testing.assert_frame_equal(out.kpis, again.final_kpis, check_exact=True)
