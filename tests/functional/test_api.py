"""The public Python API gives the same numbers and files as the command line."""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim.cli import main

SHORT = {"horizon_weeks": 3, "warmup_weeks": 0}
SUMMARY_COLUMNS = ["scenario", "site", "metric", "mean", "std", "ci_low", "ci_high", "n"]


def test_api_exports_what_the_readme_documents():
    for name in ("load_scenario", "run", "sweep", "size", "backtest", "report", "compare"):
        assert callable(getattr(sim, name)), name
    assert sim.__version__ != "0+unknown"


def test_run_summary_and_files_match_the_command_line(tmp_path):
    result = sim.run(overrides=SHORT, reps=2, seed=3)
    summary = result.summary()
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert set(summary["site"]) >= {"ALL", "Fresh Wharf"}
    api_dir = result.write(tmp_path / "api")
    cli_dir = tmp_path / "cli"
    sets = [x for k, v in SHORT.items() for x in ("--set", f"{k}={v}")]
    args = ["run", *sets, "--reps", "2", "--seed", "3", "--no-cache", "--quiet"]
    assert main([*args, "--out", str(cli_dir)]) == 0
    for name in ("summary.csv", "replications.csv", "weekly.csv", "assumptions.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(api_dir / name), pd.read_csv(cli_dir / name), check_exact=True
        )


def test_overrides_are_data_not_text():
    description = 'He said "hi" \\ and left'
    s = sim.load_scenario(overrides={"description": description, "sites.0.engineers": 3})
    assert s.description == description
    assert (
        s.sites[0].engineers
        == sim.load_scenario(overrides=[("sites.0.engineers", 3)]).sites[0].engineers
    )


def test_compare_pairs_runs_of_the_same_seed_and_refuses_others():
    base = sim.run(overrides=SHORT, reps=2, seed=1)
    more = sim.run(overrides={**SHORT, "sites.0.engineers": 4}, reps=2, seed=1)
    c = sim.compare(base, more)
    row = c[(c["site"] == "Fresh Wharf") & (c["metric"] == "wait_mean_min")].iloc[0]
    assert row["diff_mean"] < 0  # more engineers at the desk: shorter waits
    with pytest.raises(ValueError, match="same seed"):
        sim.compare(base, sim.run(overrides=SHORT, reps=2, seed=2))


def test_report_is_callable_and_still_the_output_package(tmp_path):
    import sim.report.plots as plots  # the package's modules stay importable

    assert callable(plots.queue_by_hour)
    out = sim.run(overrides=SHORT, reps=2, seed=1).write(tmp_path / "run")
    xlsx, html = sim.report(out)
    assert xlsx.is_file() and html.is_file()
    assert "report" in sim.__all__


def test_the_api_refuses_work_beyond_the_limits_before_simulating(monkeypatch):
    monkeypatch.setenv("TECHBAR_MAX_REPS", "5")
    with pytest.raises(sim.ScenarioError, match="TECHBAR_MAX_REPS"):
        sim.run(overrides=SHORT, reps=6)


def test_write_never_replaces_a_folder_of_something_else(tmp_path):
    from sim.report.run_folder import OutputError

    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = sim.run(overrides=SHORT, reps=2, seed=1)
    with pytest.raises(OutputError, match="--force"):
        result.write(mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    out = result.write(tmp_path / "run")
    result.write(out)  # an earlier output of the same kind is replaced
    assert (
        main(
            [
                "run",
                "--set",
                "horizon_weeks=3",
                "--reps",
                "2",
                "--no-cache",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )  # and the command treats it as its own
    result.write(mine, force=True)
    assert not (mine / "notes.txt").exists() and (mine / "summary.csv").is_file()


@pytest.mark.parametrize(
    "kwargs", [{"reps": 0}, {"reps": 2.5}, {"seed": -5}, {"workers": 0}, {"reps": True}]
)
def test_the_api_refuses_bad_counts_with_a_message(kwargs):
    with pytest.raises(sim.ScenarioError, match=next(iter(kwargs))):
        sim.run(overrides=SHORT, **{"reps": 2, **kwargs})
