"""Calibration on the trial: an explicit, reproducible fit with standard errors and residuals."""

import json
import math
import shutil
import tomllib

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.experiment.calibrate import (
    FIGURES,
    calibrate,
    ftf_target,
    start_values,
    with_inputs,
)
from sim.scenario import load_scenario, scenario_to_dict
from sim.scenario.inherit import merge

SHORT = ["horizon_weeks=10"]  # Fresh Wharf only (Kentish Town opens in week 13): quick


def test_ftf_readings():
    assert ftf_target(0.66, "points") == pytest.approx(0.76)
    assert ftf_target(0.66, "relative") == pytest.approx(0.726)
    with pytest.raises(ValueError):
        ftf_target(0.66, "percent")


def test_newton_recovers_a_known_affine_model():
    """With a stand-in for the simulation (linear in the inputs, plus replication noise that
    does not depend on them: common random numbers), the fit finds the inputs exactly and its
    standard errors are the delta method's."""
    trial = load_scenario("met_trial_2018")
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, (20, 4))
    a = np.array([[0.8, 0, 0, 0], [0, 0.0, 0.9, 0], [0.1, 0.2, 0.3, 0.5], [0, 0, 0, 0.04]])
    a[1] = [0.0, 0.85, 0.0, 0.1]

    def evaluate(s):
        theta = start_values(s)
        data = scenario_to_dict(s)
        base = scenario_to_dict(trial)
        theta[2] = (
            data["categories"]["account"]["sd_resolution_days"]["mean"]
            / base["categories"]["account"]["sd_resolution_days"]["mean"]
        )
        p, p0 = data["tiers"]["L1"]["fix_prob"], base["tiers"]["L1"]["fix_prob"]
        theta[3] = math.log(p / (1 - p)) - math.log(p0 / (1 - p0))
        y = a @ theta + np.array([0, 0, 0, 0.7]) + noise
        return pd.DataFrame(y, columns=[f.metric for f in FIGURES])

    fit = calibrate(trial, replications=20, evaluate=evaluate)
    assert fit.converged
    res = fit.residuals().set_index("metric")
    assert res.loc[[f.metric for f in FIGURES], "residual"].abs().max() < 1e-6
    expected_se = np.sqrt(np.diag(np.linalg.inv(a) @ np.cov(noise.T) @ np.linalg.inv(a).T / 20))
    assert fit.theta_se == pytest.approx(expected_se, rel=1e-3)


@pytest.fixture(scope="module")
def short_fit():
    return calibrate(load_scenario("met_trial_2018", SHORT), seed=3, replications=3, workers=2)


def test_fit_on_the_trial_reaches_the_figures(short_fit):
    assert short_fit.converged
    res = short_fit.residuals().set_index("metric")
    for f in FIGURES:
        assert abs(res.loc[f.metric, "residual"]) <= max(0.1 * res.loc[f.metric, "se"], 1e-3)
    # the first-time-fix rise is a model output, under both readings
    assert res.loc["ftf_rise_points", "simulated_mean"] == pytest.approx(0.10, abs=1e-3)
    assert res.loc["ftf_rise_relative", "simulated_mean"] == pytest.approx(0.10 / 0.66, abs=3e-3)
    assert (short_fit.parameters()["se"] > 0).all()


def test_fragment_reproduces_the_fitted_scenario(short_fit):
    """The scenario-file fragment, merged over the trial, gives the fitted inputs (to the
    fragment's rounding)."""
    frag = tomllib.loads(short_fit.fragment())
    data = merge(scenario_to_dict(short_fit.start), frag)
    fitted = scenario_to_dict(short_fit.scenario)
    for name, cat in fitted["categories"].items():
        if "sd_resolution_days" in cat:
            got = data["categories"][name]["sd_resolution_days"]["mean"]
            assert got == pytest.approx(cat["sd_resolution_days"]["mean"], rel=1e-3)
    for name, tier in fitted["tiers"].items():
        assert data["tiers"][name]["fix_prob"] == pytest.approx(tier["fix_prob"], rel=1e-3)


def test_inputs_at_start_values_leave_the_scenario_unchanged():
    trial = load_scenario("met_trial_2018")
    assert scenario_to_dict(with_inputs(trial, start_values(trial))) == scenario_to_dict(trial)


def test_calibrate_command_writes_values_ses_residuals_and_fragment(tmp_path, capsys):
    out = tmp_path / "cal"
    code = main(
        ["calibrate", "--reps", "2", "--workers", "2", "--no-cache", "--out", str(out)]
        + [a for s in SHORT for a in ("--set", s)]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Fitted inputs" in text and "residual" in text and "relative" in text
    params = pd.read_csv(out / "calibration.csv")
    assert list(params["parameter"]) == [
        "sd_mean_laptop",
        "sd_mean_tablet",
        "sd_factor_other",
        "fix_logit_shift",
    ]
    assert params["se"].notna().all()
    record = json.loads((out / "calibration.json").read_text())
    assert record["converged"] and record["replications"] == 2
    assert "common random numbers" in record["method"]
    assert tomllib.loads((out / "calibrated.toml").read_text())["tiers"]
    assert json.loads((out / "manifest.json").read_text())["command"][1] == "calibrate"
    # the same command again into its own folder is allowed and gives the same fit
    assert (
        main(
            ["calibrate", "--reps", "2", "--workers", "2", "--no-cache", "-q", "--out", str(out)]
            + [a for s in SHORT for a in ("--set", s)]
        )
        == 0
    )
    assert pd.read_csv(out / "calibration.csv").equals(params)


def test_api_calibrate(tmp_path):
    fit = sim.calibrate(overrides=SHORT, reps=2, workers=2)
    assert fit.fit.converged and set(fit.parameters()["parameter"]) >= {"fix_logit_shift"}
    out = fit.write(tmp_path / "c")
    assert (out / "calibrated.toml").is_file() and (out / "calibration_residuals.csv").is_file()
    assert main(["report", str(out)]) == 0  # the API's folder reports as the command's does
    assert "Calibration on the trial" in (out / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def calibration_dir(tmp_path_factory):
    """A calibration folder of a short trial (2 replications), reported on."""
    out = tmp_path_factory.mktemp("calibration") / "cal"
    sets = [a for s in SHORT for a in ("--set", s)]
    assert (
        main(
            [
                "calibrate",
                "--reps",
                "2",
                "--workers",
                "2",
                "--no-cache",
                "-q",
                *sets,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["report", str(out)]) == 0
    return out


def test_report_on_a_calibration_folder_shows_the_fit(calibration_dir):
    """The page says what was fitted to what, by which method, whether it converged and in how
    many steps, and shows every fitted value and standard error of calibration.csv, every
    residual, the first-time-fix rise in both readings and every step."""
    html = (calibration_dir / "report.html").read_text(encoding="utf-8")
    params = pd.read_csv(calibration_dir / "calibration.csv")
    residuals = pd.read_csv(calibration_dir / "calibration_residuals.csv").set_index("metric")
    record = json.loads((calibration_dir / "calibration.json").read_text())
    assert "Calibration on the trial" in html and "Executive summary" in html
    for r in params.itertuples():
        assert f"{r.value:.4f}" in html and f"{r.se:.4f}" in html, r
        assert f"<code>{r.parameter}</code>" in html
        assert f"{r.fitted_to.split(' = ')[0]} = " in html  # the figure it was fitted to
    for f in FIGURES:
        assert f"{residuals.loc[f.metric, 'residual']:+.4f}" in html, f.metric
    points = residuals.loc["ftf_rise_points", "simulated_mean"]
    relative = residuals.loc["ftf_rise_relative", "simulated_mean"]
    assert (
        f"a rise of {points * 100:+.1f} points, which is {relative * 100:+.1f} % relative" in html
    )
    assert record["method"].replace("'", "&#39;") in html
    state = "converged after" if record["converged"] else "did NOT converge in"
    steps = record["iterations"]
    assert f"{state} {steps} Newton step{'s' if steps != 1 else ''}" in html
    iterations = html[html.index("<h3>Iterations</h3>") :]
    iterations = iterations[: iterations.index("</table>")]
    assert iterations.count("<tr>") == 1 + len(record["history"])  # header + a row per step


def test_calibration_workbook_has_the_fit_in_its_sheets(calibration_dir):
    import openpyxl

    wb = openpyxl.load_workbook(calibration_dir / "report.xlsx")
    sheets = {"Summary", "Calibration", "Calibration residuals", "Calibration iterations"}
    assert sheets <= set(wb.sheetnames)
    params = pd.read_csv(calibration_dir / "calibration.csv")
    sheet = pd.read_excel(calibration_dir / "report.xlsx", sheet_name="Calibration")
    assert sheet["value"].tolist() == pytest.approx(params["value"].tolist())
    assert sheet["se"].tolist() == pytest.approx(params["se"].tolist())
    record = json.loads((calibration_dir / "calibration.json").read_text())
    steps = pd.read_excel(calibration_dir / "report.xlsx", sheet_name="Calibration iterations")
    assert len(steps) == len(record["history"])
    assert steps.iloc[-1][list(params["parameter"])].tolist() == pytest.approx(
        params["value"].tolist()
    )
    summary = [c for row in wb["Summary"].iter_rows(values_only=True) for c in row if c]
    assert any(str(c).startswith("Method: Newton's method") for c in summary)


def test_report_on_a_calibration_folder_without_its_table_exits_2(
    calibration_dir, tmp_path, capsys
):
    folder = tmp_path / "cal"
    shutil.copytree(calibration_dir, folder)
    for name in ("report.html", "report.xlsx", "calibration.csv"):
        (folder / name).unlink()
    capsys.readouterr()
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'calibration.csv'}: missing" in err and "Traceback" not in err
    assert not (folder / "report.html").exists() and not (folder / "report.xlsx").exists()
