"""`techbar run` end to end: outputs, reproducibility, and refusal of bad input."""

import json

import pandas as pd
import pytest

from sim.cli import main
from sim.kpis import KPIS

SMALL = ["--set", "horizon_weeks=3", "--set", "warmup_weeks=1", "--quiet", "--no-cache"]


def run_cli(*args) -> int:
    return main(["run", *map(str, args)])


def test_run_writes_contracted_files(tmp_path, mmc_path):
    out = tmp_path / "run"
    assert run_cli(mmc_path, *SMALL, "--reps", 3, "--out", out, "--trace", "--workers", 1) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns) == [
        "scenario",
        "site",
        "metric",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        "n",
    ]
    assert set(summary["site"]) == {"desk", "ALL"}
    assert set(summary["metric"]) == set(KPIS)
    assert (summary["n"] == 3).all() or summary["mean"].isna().any()
    reps = pd.read_csv(out / "replications.csv")
    assert sorted(reps["replication"].unique()) == [0, 1, 2]
    trace = pd.read_csv(out / "trace.csv")
    assert list(trace.columns) == [
        "entity_id",
        "event_type",
        "event",
        "time",
        "site",
        "replication",
    ]
    assert (trace["event"] == "arrival").sum() == reps.query(
        "metric == 'walkins' and site == 'ALL'"
    )["value"].sum() + (trace.loc[trace["event"] == "arrival", "time"] < 7 * 24 * 60).sum()
    profile = pd.read_csv(out / "queue_by_hour.csv")
    assert set(profile["hour"]) == set(range(24))
    m = json.loads((out / "manifest.json").read_text())
    assert m["seed"] == 1 and m["replications"] == 3
    assert m["scenario"]["sites"][0]["walkin_rate_per_hour"] == 4.0
    assert m["scenario"]["horizon_weeks"] == 3
    assert {"simpy", "numpy", "pandas", "pydantic", "python"} <= set(m["versions"])
    assert m["wall_time_s"] > 0


def test_same_seed_gives_byte_identical_results_whatever_the_workers(tmp_path, mmc_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(mmc_path, *SMALL, "--reps", 4, "--seed", 9, "--out", a, "--workers", 1) == 0
    assert run_cli(mmc_path, *SMALL, "--reps", 4, "--seed", 9, "--out", b, "--workers", 2) == 0
    for name in ("summary.csv", "replications.csv", "queue_by_hour.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_different_seeds_give_different_results(tmp_path, mmc_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli(mmc_path, *SMALL, "--reps", 2, "--seed", 1, "--out", a, "--workers", 1)
    run_cli(mmc_path, *SMALL, "--reps", 2, "--seed", 2, "--out", b, "--workers", 1)
    assert (a / "summary.csv").read_bytes() != (b / "summary.csv").read_bytes()


def test_default_scenario_runs_and_prints_a_summary_table(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["run", "--set", "horizon_weeks=2", "--reps", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Fresh Wharf" in printed and "ALL_DESKS" in printed and "mean, min" in printed
    summary = pd.read_csv(out / "summary.csv")
    # 7 desks, 35 pop-up locations, ALL, ALL_DESKS, ALL_POPUPS
    assert len(summary["site"].unique()) == 45
    assert "35 pop-ups: mean wait" in printed and "Wimbledon" not in printed


def test_written_into_existing_folder_without_leftovers(tmp_path, mmc_path):
    out = tmp_path / "exists"
    out.mkdir()
    assert run_cli(mmc_path, *SMALL, "--reps", 2, "--out", out, "--workers", 1) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists"]
    assert (out / "summary.csv").exists()


def _bad_file(tmp_path, text):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "sites.0.engneers=3"], "unknown key 'sites.0.engneers'"),
        (["--set", "sites.0.engineers=lots"], "key 'sites.0.engineers'"),
        (["--set", "sites.0.engineers=0"], "key 'sites.0.engineers'"),
        (["--set", "sites.0.walkin_rate_per_hour=-2"], "key 'sites.0.walkin_rate_per_hour'"),
        (["--set", "horizon_weeks=0"], "key 'horizon_weeks'"),
        (["--set", 'tiers.L1.service_min={dist="weibull", mean=3}'], "expected tags"),
        (["--set", "sites.3.engineers=1"], "index 3 is out of range"),
        (["--set", "sites.Nowhere.engineers=1"], "no entry named 'Nowhere'"),
    ],
)
def test_bad_input_exits_2_names_the_key_and_writes_nothing(
    tmp_path, mmc_path, capsys, args, message
):
    out = tmp_path / "out"
    assert run_cli(mmc_path, *args, "--out", out, "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("\n") <= 3
    assert not out.exists()


def test_missing_file_exits_2(tmp_path, capsys):
    assert run_cli(tmp_path / "nope.toml", "--out", tmp_path / "o") == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_toml_syntax_error_exits_2(tmp_path, capsys):
    bad = _bad_file(tmp_path, 'name = "x"\nhorizon_weeks = \n')
    assert run_cli(bad, "--out", tmp_path / "o") == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_top_level_key_in_file_exits_2(tmp_path, mmc_path, capsys):
    bad = _bad_file(tmp_path, "horizon_wekes = 3\n" + mmc_path.read_text())
    assert run_cli(bad, "--out", tmp_path / "o") == 2
    assert "unknown key 'horizon_wekes'" in capsys.readouterr().err


@pytest.mark.parametrize("reps", ["0", "-1", "many"])
def test_bad_reps_exits_2(tmp_path, reps, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--reps", reps, "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "--reps" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_console_script_exits_2_without_traceback(tmp_path):
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "sim", "run", "--set", "sites.0.enginers=2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 2
    assert "unknown key 'sites.0.enginers'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "results").exists()
