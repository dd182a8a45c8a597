"""`techbar report`: the Excel workbook and the self-contained HTML page."""

import os
import re
import shutil
import subprocess

import openpyxl
import pandas as pd
import pytest

from sim.cli import main

SHORT = ["--set", "horizon_weeks=4", "--reps", "2", "--quiet", "--no-cache", "--workers", "2"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["run", *SHORT, "--out", str(out)]) == 0
    assert main(["report", str(out), "--quiet"]) == 0
    return out


def test_workbook_has_every_sheet_tables_and_named_headlines(run_dir):
    wb = openpyxl.load_workbook(run_dir / "report.xlsx")
    for sheet in (
        "README",
        "Assumptions",
        "Scenario",
        "Results",
        "Charts",
        "Replications",
        "Run metadata",
        "Figures",
    ):
        assert sheet in wb.sheetnames, sheet
    assert wb["Results"].tables and wb["Assumptions"].tables
    assert wb["Charts"]._charts, "charts with error bars"
    names = set(wb.defined_names)
    assert {
        "ALL_wait_mean_min",
        "ALL_downtime_saved_days_per_ticket",
        "ALL_sd_share_taken",
    } <= names
    # a named headline points at the value in summary.csv
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["site", "metric"])
    sheet, cell = next(iter(wb.defined_names["ALL_wait_mean_min"].destinations))
    assert wb[sheet][cell.replace("$", "")].value == pytest.approx(
        summary.loc[("ALL", "wait_mean_min"), "mean"]
    )


def test_workbook_results_match_summary_with_half_width(run_dir):
    results = pd.read_excel(run_dir / "report.xlsx", sheet_name="Results")
    summary = pd.read_csv(run_dir / "summary.csv")
    assert len(results) == len(summary)
    row = results[(results.site == "ALL") & (results.metric == "utilisation")].iloc[0]
    expected = 100 * (row["ci_high"] - row["mean"]) / row["mean"]
    assert row["half_width_pct"] == pytest.approx(expected)
    assert row["unit"] == "share"


def test_assumptions_register_gives_value_unit_and_source(run_dir):
    a = pd.read_excel(run_dir / "report.xlsx", sheet_name="Assumptions").set_index("key")
    assert a.loc["sites.0.population", "unit"] == "users"
    assert "[D]" in a.loc["sites.0.population", "label"]
    assert a.loc["horizon_weeks", "label"] == "[set]"  # set on the command line
    assert a.loc["service.patience_min", "unit"] == "minutes"
    assert "[A]" in a.loc["service.patience_min", "label"]


def test_html_is_self_contained(run_dir):
    html = (run_dir / "report.html").read_text()
    external = re.findall(r'(?:src|href)\s*=\s*"(?!data:|#)([^"]+)"', html)
    assert external == []
    assert "<script" not in html
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 5
    for heading in ("Objectives", "Logic", "Data", "Experimentation", "Implementation"):
        assert f"<h3>{heading}</h3>" in html


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is needed in CI (.ci/run installs it)")
    return found


def test_report_renders_in_headless_chromium(run_dir, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed")
    from sim.report.pdf import HEADLESS

    flags = [*HEADLESS, f"--user-data-dir={tmp_path / 'profile'}"]
    url = (run_dir / "report.html").resolve().as_uri()
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    dom = dom.replace("&nbsp;", "\u00a0")
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["site", "metric"])
    from sim.report.words import quantity

    assert "Headline results" in dom and "Assumptions register" in dom
    assert quantity("wait_mean_min", summary.loc[("ALL", "wait_mean_min"), "mean"]) in dom
    assert "Fresh Wharf" in dom and "Reproducibility manifest" in dom
    shot = tmp_path / "page.png"
    subprocess.run(
        [browser, *flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 50_000  # a drawn page, not a blank one


def test_report_on_a_sizing_folder(tmp_path, mmc_path):
    out = tmp_path / "size"
    assert (
        main(
            [
                "size",
                str(mmc_path),
                "--set",
                "horizon_weeks=3",
                "--target",
                "service_level>=0.8",
                "--every-hour",
                "service_level>=0.5",
                "--reps",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["report", str(out), "--quiet"]) == 0
    wb = openpyxl.load_workbook(out / "report.xlsx")
    assert {"Recommendation", "Sizing", "Evidence"} <= set(wb.sheetnames)
    staffing = [c for row in wb["Staffing"].iter_rows(values_only=True) for c in row if c]
    assert "Cost" in staffing and "desk" in staffing  # the roster, binding targets and cost
    assert "service_level&gt;=0.5 in every opening hour" in (out / "report.html").read_text()
    html = (out / "report.html").read_text()
    assert "Staffing plan" in html and "Binding target by desk and day" in html
    assert "Trade-off: service level and utilisation against engineer-days" in html
    assert "Staffing" in wb.sheetnames


def test_report_on_a_sweep_folder(tmp_path, mmc_path):
    exp = tmp_path / "e.toml"
    exp.write_text(
        f'name = "e"\nbase = "{mmc_path}"\nset = ["horizon_weeks=3"]\nreps = 2\n'
        '[grid]\n"sites.0.engineers" = [3, 4, 5]\n'
    )
    out = tmp_path / "sweep"
    assert main(["sweep", str(exp), "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out), "--quiet"]) == 0
    wb = openpyxl.load_workbook(out / "report.xlsx")
    assert "Comparison with base" in wb.sheetnames
    html = (out / "report.html").read_text()
    assert "Scenarios compared with the base" in html
    assert "desk: service level and utilisation against engineers" in html


def test_report_on_a_folder_that_is_not_a_run_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a complete run folder" in capsys.readouterr().err
