"""Limits before work: the analytic estimate of incidents, walk-ins and memory, and the refusal
(exit 2, before anything is simulated) of work beyond a limit, with the way to raise it."""

from __future__ import annotations

import pytest

from sim.cli import commands, main
from sim.experiment import limits
from sim.experiment.limits import LimitError, Limits, check_work, estimate
from sim.model import demand
from sim.scenario import ScenarioError, load_scenario
from sim.streams import Streams

SMALL = ["--set", "horizon_weeks=2", "--set", "warmup_weeks=0", "--workers", "1", "--no-cache"]


@pytest.fixture
def no_simulation(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("simulated although the limits should have stopped it")

    for name in ("run", "size", "sweep", "run_to_precision"):
        monkeypatch.setattr(commands, name, refuse)
    for env in (limit.env for limit in limits.LIMITS):
        monkeypatch.delenv(env, raising=False)


def _simulated_counts(scenario) -> tuple[int, int]:
    walkins, tallies = demand(scenario, Streams(1, 0))
    incidents = sum(len(t.incident_min) for t in tallies.values() if t is not None)
    return incidents, sum(len(w) for w in walkins.values())


def test_estimate_of_a_rate_driven_desk_matches_the_walkins_generated(mmc_path):
    s = load_scenario(mmc_path, ["horizon_weeks=20"])
    e = estimate(s)
    incidents, walkins = _simulated_counts(s)
    assert e.incidents == incidents == 0
    # 4 an hour over 8.5 open hours × 5 days × 20 weeks = 3,400, Poisson: sd ≈ 58
    assert e.walkins == pytest.approx(walkins, abs=4 * walkins**0.5)


def test_estimate_of_the_default_scenario_bounds_its_walkins(tmp_path):
    s = load_scenario(None, ["horizon_weeks=8"])
    e = estimate(s)
    incidents, walkins = _simulated_counts(s)
    assert e.incidents == pytest.approx(incidents, rel=0.02)
    assert walkins <= e.walkins <= 3 * walkins  # full adoption: an upper bound, not wildly so
    traced = estimate(s, trace=True)
    assert traced.bytes > e.bytes > 0


def test_memory_estimate_grows_with_horizon_and_population():
    base = estimate(load_scenario(None, ["horizon_weeks=10"]))
    longer = estimate(load_scenario(None, ["horizon_weeks=20"]))
    more = ["horizon_weeks=10", "sites.0.population=400000", "demand.force_users=500000"]
    bigger = estimate(load_scenario(None, more))
    assert longer.bytes == pytest.approx(2 * base.bytes, rel=1e-9)
    assert bigger.bytes > base.bytes and bigger.walkins > base.walkins


def test_limits_read_from_the_environment():
    assert Limits.from_env({}) == Limits()
    got = Limits.from_env({"TECHBAR_MAX_REPS": "20000", "TECHBAR_MAX_MEMORY_GB": "0.5"})
    assert got.reps == 20_000 and got.memory_gb == 0.5 and got.workers == 1000
    with pytest.raises(LimitError, match="TECHBAR_MAX_WORKERS"):
        Limits.from_env({"TECHBAR_MAX_WORKERS": "many"})
    assert issubclass(LimitError, ScenarioError)


def test_raising_a_limit_lets_the_work_through(mmc_path):
    s = load_scenario(mmc_path, ["horizon_weeks=1100"])  # 21 years
    with pytest.raises(LimitError, match="TECHBAR_MAX_HORIZON_YEARS"):
        check_work([s], 2)
    check_work([s], 2, limits=Limits(horizon_years=25))
    with pytest.raises(LimitError, match="TECHBAR_MAX_REPS"):
        check_work([s], 20_000, limits=Limits(horizon_years=25))
    check_work([s], 20_000, limits=Limits(horizon_years=25, reps=20_000))


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--set", "horizon_weeks=1100"], "TECHBAR_MAX_HORIZON_YEARS"),
        (["--reps", "10001"], "TECHBAR_MAX_REPS"),
        (["--reps", "auto", "--max-reps", "10001"], "--max-reps 10001"),
        (["--workers", "1001"], "TECHBAR_MAX_WORKERS"),
        (["--set", "sites.0.walkin_rate_per_hour=3000", "--set", "horizon_weeks=100"], "GB"),
    ],
)
def test_work_beyond_a_limit_is_refused_before_any_work(
    tmp_path, mmc_path, capsys, no_simulation, args, needle
):
    out = tmp_path / "o"
    assert main(["run", str(mmc_path), *SMALL, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err and err.count("\n") == 1
    assert not out.exists()


def test_the_memory_refusal_gives_the_estimate(tmp_path, capsys, no_simulation):
    args = ["run", "--set", "horizon_weeks=520", "--set", "sites.0.population=20000000"]
    args += ["--set", "demand.force_users=30000000"]  # the catchments within the force
    assert main([*args, "--out", str(tmp_path / "o"), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "walk-ins per replication" in err and "GB of memory" in err
    assert "more than the limit of 2 GB" in err


def test_an_environment_variable_raises_the_limit_for_the_command(
    tmp_path, mmc_path, capsys, monkeypatch, no_simulation
):
    monkeypatch.setenv("TECHBAR_MAX_WORKERS", "2000")
    monkeypatch.setattr(commands, "default_workers", lambda: 2000)  # no warning either
    out = tmp_path / "o"
    with pytest.raises(AssertionError, match="simulated"):  # past the limits: it would run
        main(["run", str(mmc_path), *SMALL, "--workers", "1500", "--out", str(out)])
    monkeypatch.setenv("TECHBAR_MAX_WORKERS", "-3")
    assert main(["run", str(mmc_path), *SMALL, "--out", str(out)]) == 2
    assert "TECHBAR_MAX_WORKERS" in capsys.readouterr().err


def test_sweep_and_size_are_checked_too(tmp_path, capsys, no_simulation):
    exp = tmp_path / "e.toml"
    exp.write_text(
        'name = "e"\nset = ["horizon_weeks=1100"]\nreps = 2\n'
        '[[scenarios]]\nname = "more"\nset = ["sites.0.engineers=3"]\n'
    )
    assert main(["sweep", str(exp), "--out", str(tmp_path / "s"), "--no-cache"]) == 2
    assert "TECHBAR_MAX_HORIZON_YEARS" in capsys.readouterr().err
    code = main(
        ["size", "--target", "service_level>=0.8", "--reps", "10001", "--out", str(tmp_path / "z")]
    )
    assert code == 2
    assert "TECHBAR_MAX_REPS" in capsys.readouterr().err
