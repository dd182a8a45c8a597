"""Headcount sizing: the fewest engineers per desk meeting the targets, with the evidence."""

import pandas as pd
import pytest

from sim.analytic import erlang_c_staffing
from sim.cli import main
from sim.experiment.sizing import Target, popup_duty, size, with_engineers
from sim.scenario import load_scenario


def test_sizing_an_mmc_desk_agrees_with_erlang_c(mmc_path):
    """Stationary M/M/c: the simulated answer is the Erlang C answer (service level within
    15 min ≥ 0.8 needs 5 engineers at λ = 4/h, 40 min; 4 give only 0.77)."""
    s = load_scenario(mmc_path, ["horizon_weeks=10", "warmup_weeks=1", "sites.0.engineers=1"])
    targets = [Target.parse("service_level>=0.8"), Target.parse("utilisation<=0.85")]
    result = size(s, targets, seed=2, reps=6, workers=2)
    expected = erlang_c_staffing(4, 1.5, wait_target=0.25, service_level=0.8)
    assert expected == 5
    assert result.recommendation.to_dict("records") == [{"site": "desk", "engineers": 5}]
    ev = result.evidence.query("metric == 'service_level'").set_index("engineers")
    assert ev.loc[5, "meets_targets"] and not ev.loc[4, "meets_targets"]
    assert ev.loc[5, "mean"] == pytest.approx(0.9326, abs=0.02)
    assert result.detail.loc[0, "erlang_c_estimate"] == 5


def test_sizing_the_default_scenario_answers_every_desk(tmp_path):
    out = tmp_path / "size"
    code = main(
        [
            "size",
            "--set",
            "horizon_weeks=8",
            "--target",
            "service_level>=0.8",
            "--target",
            "utilisation<=0.85",
            "--reps",
            "4",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    rec = pd.read_csv(out / "recommendation.csv")
    s = load_scenario()
    assert list(rec.columns) == ["site", "engineers"]
    assert list(rec["site"]) == [d.name for d in s.sites]
    ev = pd.read_csv(out / "evidence.csv")
    for site, c in zip(rec["site"], rec["engineers"], strict=True):
        tried = ev[(ev.site == site)].groupby("engineers")["meets_targets"].first()
        assert tried[c]  # the answer meets the targets …
        assert c == 1 or not tried.get(c - 1, True)  # … and one fewer was tried and did not
        row = ev[(ev.site == site) & (ev.engineers == c) & (ev.metric == "service_level")]
        assert row["mean"].iloc[0] >= 0.8 and row["ci_low"].iloc[0] <= row["mean"].iloc[0]
    detail = pd.read_csv(out / "sizing.csv")
    assert {"erlang_c_estimate", "sipp_estimate"} <= set(detail.columns)


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
    [("service_levl>=0.8", "unknown KPI 'service_levl'"), ("service_level=0.8", "expected METRIC")],
)
def test_bad_target_exits_2(tmp_path, capsys, target, message):
    assert main(["size", "--target", target, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
