"""Experiments at scale: executors, replications to a precision, sweeps, the results store."""

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import run
from sim.experiment.store import ResultStore
from sim.experiment.sweep import PrecisionWarning, load_experiment, run_to_precision, sweep
from sim.scenario import load_scenario

SMALL = ["horizon_weeks=3", "warmup_weeks=1"]


def _exp(tmp_path, text, name="exp.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GRID = """
name = "grid"
base = "{base}"
set = ["horizon_weeks=3", "warmup_weeks=1"]
reps = 4
seed = 3

[[scenarios]]
name = "four engineers"
set = ["sites.0.engineers=4"]

[grid]
"sites.0.engineers" = [2, 3]
"service.balk_queue" = [5, 10]
"""


@pytest.fixture
def grid_file(tmp_path, mmc_path):
    return _exp(tmp_path, GRID.format(base=mmc_path))


def test_results_are_identical_on_one_worker_two_workers_and_a_dask_cluster(mmc_path):
    distributed = pytest.importorskip("distributed")
    s = load_scenario(mmc_path, SMALL)
    serial = run(s, 5, 4, workers=1)
    pool = run(s, 5, 4, workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run(s, 5, 4, dask=cluster.scheduler_address)
    for other in (pool, on_dask):
        assert serial.summary().to_csv(index=False) == other.summary().to_csv(index=False)
        pd.testing.assert_frame_equal(serial.kpis, other.kpis)
        pd.testing.assert_frame_equal(serial.weekly, other.weekly)


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path, mmc_path, capsys):
    pytest.importorskip("distributed")
    code = main(
        [
            "run",
            str(mmc_path),
            "--set",
            "horizon_weeks=2",
            "--dask",
            "tcp://127.0.0.1:9",
            "--out",
            str(tmp_path / "o"),
            "--quiet",
            "--no-cache",
        ]
    )
    assert code == 2
    assert "--dask tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_auto_replications_reach_the_precision_and_do_not_depend_on_workers(mmc_path):
    s = load_scenario(mmc_path, SMALL)
    a = run_to_precision(s, 2, 0.02, ("utilisation",), workers=1)
    b = run_to_precision(s, 2, 0.02, ("utilisation",), workers=2)
    assert a.replications == b.replications and a.needed == b.needed
    assert a.needed is not None and a.achieved["utilisation"] <= 0.02
    # fewer replications would not have done: the rule stops at the first stable n
    assert a.needed >= 5
    values = pd.concat([o.kpis for o in a.outputs])
    u = values[(values.site == "ALL") & (values.metric == "utilisation")]["value"].to_numpy()
    from scipy import stats

    half = stats.t.ppf(0.975, len(u) - 1) * u.std(ddof=1) / np.sqrt(len(u))
    assert half / u.mean() <= 0.02


def test_auto_replications_warn_when_the_budget_runs_out(mmc_path):
    s = load_scenario(mmc_path, SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = run_to_precision(s, 2, 0.0001, ("wait_mean_min",), max_reps=10, workers=1)
    assert r.needed is None and r.replications == 10
    assert any(issubclass(w.category, PrecisionWarning) for w in caught)


def test_cli_auto_reps_records_the_rule_in_the_manifest(tmp_path, mmc_path, capsys):
    import json

    out = tmp_path / "auto"
    code = main(
        [
            "run",
            str(mmc_path),
            *sum((["--set", x] for x in SMALL), []),
            "--reps",
            "auto",
            "--precision",
            "0.001",
            "--max-reps",
            "10",
            "--precision-kpis",
            "wait_mean_min",
            "--out",
            str(out),
            "--quiet",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    assert "not reached in 10 replications" in capsys.readouterr().err
    rule = json.loads((out / "manifest.json").read_text())["replications_rule"]
    assert rule["reached"] is False and rule["max_reps"] == 10


def test_sweep_builds_named_and_grid_scenarios(grid_file):
    plan = load_experiment(grid_file)
    names = [s.name for s in plan.scenarios]
    assert names[1] == "four engineers"
    assert len(names) == 1 + 1 + 2 * 2
    assert "sites.0.engineers=3, service.balk_queue=10" in names
    grid_point = plan.scenarios[names.index("sites.0.engineers=3, service.balk_queue=10")]
    assert grid_point.sites[0].engineers == 3 and grid_point.service.balk_queue == 10


def test_sweep_uses_common_random_numbers_and_paired_differences(grid_file):
    plan = load_experiment(grid_file)
    result = sweep(plan, seed=3, reps=4, workers=2)
    comp = result.comparison()
    walkins = comp[(comp.site == "ALL") & (comp.metric == "walkins")]
    # staffing and balking change nothing about who walks in: the same incidents everywhere
    assert (walkins["diff_mean"] == 0).all()
    wait = comp[(comp.site == "ALL") & (comp.metric == "wait_mean_min")].set_index("scenario")
    assert wait.loc["four engineers", "diff_mean"] < 0 and wait.loc["four engineers", "significant"]
    # pairing: the CI of the difference is narrower than the spread of either scenario's mean
    base = result.runs[0].summary().set_index(["site", "metric"])
    half_diff = (
        wait.loc["four engineers", "diff_ci_high"] - wait.loc["four engineers", "diff_ci_low"]
    ) / 2
    half_base = (
        base.loc[("ALL", "wait_mean_min"), "ci_high"] - base.loc[("ALL", "wait_mean_min"), "mean"]
    )
    assert half_diff < half_base


def test_sweep_with_an_unknown_key_exits_2_naming_scenario_and_key(tmp_path, mmc_path, capsys):
    bad = _exp(
        tmp_path, GRID.format(base=mmc_path).replace('"service.balk_queue"', '"service.balk"')
    )
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'service.balk'" in err and "scenario 'sites.0.engineers=2" in err
    assert not (tmp_path / "o").exists()


def test_sweep_writes_tidy_outputs(tmp_path, grid_file):
    out = tmp_path / "sw"
    assert main(["sweep", str(grid_file), "--out", str(out), "--quiet", "--workers", "2"]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["scenario"].nunique() == 6
    comp = pd.read_csv(out / "comparison.csv")
    assert set(comp["scenario"]) == set(summary["scenario"]) - {"mmc"}
    assert list(pd.read_csv(out / "scenarios.csv").columns) == ["scenario", "overrides"]


def test_finished_sweep_is_read_back_without_recomputing(tmp_path, grid_file, monkeypatch):
    args = [
        "sweep",
        str(grid_file),
        "--cache",
        str(tmp_path / "cache"),
        "--quiet",
        "--workers",
        "1",
    ]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0

    def fail(*a, **k):
        raise AssertionError("recomputed a finished replication")

    monkeypatch.setattr("sim.experiment.components.simulate_component", fail)
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    for name in ("summary.csv", "comparison.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path, mmc_path):
    exp = _exp(tmp_path, GRID.format(base=mmc_path).replace("horizon_weeks=3", "horizon_weeks=30"))
    cache = tmp_path / "cache"
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        str(exp),
        "--cache",
        str(cache),
        "--quiet",
        "--workers",
        "1",
    ]
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path / "killed")])
    store = ResultStore(cache)
    deadline = time.monotonic() + 120
    while len(store) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(store)
    assert 3 <= done_before < 24, "the sweep should have been killed part-way"
    assert not (tmp_path / "killed").exists()  # outputs are written only when complete
    # every stored entry is whole; what a kill leaves is a temporary file, never an entry
    for path in store.entries():
        assert store.read_entry(path) is not None
    res = subprocess.run([*cmd, "--out", str(tmp_path / "resumed")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert len(store) == 24 and not list(cache.rglob(".tmp-*"))
    fresh = subprocess.run(
        [*cmd[:-2], "--no-cache", "--quiet", "--workers", "2", "--out", str(tmp_path / "fresh")],
        capture_output=True,
        text=True,
    )
    assert fresh.returncode == 0, fresh.stderr
    for name in ("summary.csv", "comparison.csv"):
        assert (tmp_path / "resumed" / name).read_bytes() == (
            tmp_path / "fresh" / name
        ).read_bytes()
    assert os.listdir(tmp_path / "resumed")


def test_auto_replications_ignore_a_kpi_the_scenario_does_not_define(mmc_path):
    """The M/M/c desk has no service-desk baseline, so downtime saved is undefined there: it
    sets no precision target instead of exhausting the budget."""
    s = load_scenario(mmc_path, SMALL)
    r = run_to_precision(s, 2, 0.02, ("utilisation", "downtime_saved_days_per_ticket"), workers=1)
    assert r.needed is not None
    assert set(r.achieved) == {"utilisation"}
