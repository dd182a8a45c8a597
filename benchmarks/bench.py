"""Performance harness (`make bench`): the model against a bare SimPy M/M/c on the same visitors,
and the wall time of one replication-year of the default scenario.

Both sides are measured in the same run, several times, keeping the fastest, so the ratio is
comparable across machines. Goals: ratio ≤ 2.0; default replication-year ≤ 2 s on 2 cores;
2 workers ≥ 1.8 × as fast as 1; `techbar size` on the default scenario (7 desks × 5
weekdays, one service-level target with confidence) ≤ 90 s; a one-desk what-if of the default
(10 replications) whose base is in the results store ≤ 8 s, and `techbar compare` of two run
folders ≤ 3 s, both as the command line runs them (imports and writing the folder included).

A probabilistic analysis (`techbar sensitivity --psa`) is run for real at a reduced size —
PSA_SAMPLES samples × PSA_REPS replications of the default with the trial's drift at each sample,
as the command runs them, on 2 workers with a fresh results store — and its time per
replication-year extrapolated to 1,000 replication-years (goal ≤ 10 min on 2 cores); then the
same jobs on a local Dask cluster (`dask.distributed.LocalCluster`, worker processes of one
thread) of 1 worker and of 2, for the throughput ratio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import simpy

from sim.experiment.runner import one_replication, run
from sim.experiment.sizing import Target, size
from sim.model import run_replication
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 5
PSA_SAMPLES = 32  # × PSA_REPS: 64 replication-years, about a minute on 2 cores
PSA_REPS = 2
PSA_GOAL_S = 600.0  # 1,000 replication-years in ≤ 10 min on 2 cores


def bare_simpy_mmc(arrive_min: np.ndarray, service_min: np.ndarray, c: int) -> list[float]:
    """The textbook SimPy M/M/c: a process per visitor, `with resource.request()`."""
    env = simpy.Environment()
    desk = simpy.Resource(env, c)
    waits: list[float] = []

    def visitor(t_arrive: float, service: float):
        with desk.request() as req:
            yield req
            waits.append(env.now - t_arrive)
            yield env.timeout(service)

    def source():
        for t, s in zip(arrive_min.tolist(), service_min.tolist(), strict=True):
            yield env.timeout(t - env.now)
            env.process(visitor(t, s))

    env.process(source())
    env.run()
    return waits


def best_of(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    mmc = load_scenario(ROOT / "experiments" / "validation" / "mmc.toml")
    rec = run_replication(mmc, seed=1, replication=0)
    v = rec.sites[0].visits
    n = len(v)
    c = int(rec.sites[0].roster_values.max())
    model_s = best_of(lambda: run_replication(mmc, seed=1, replication=0))
    bare_s = best_of(lambda: bare_simpy_mmc(v.arrive_min.copy(), v.service_min, c))
    model_us, bare_us = model_s / n * 1e6, bare_s / n * 1e6

    default = load_scenario()
    default_s = best_of(lambda: one_replication(default, seed=1, replication=0), repeats=3)
    weeks = default.horizon_weeks

    print(f"M/M/c validation scenario: {n} walk-ins per replication, c = {c}")
    print(f"  model (arrivals + desk)    {model_us:8.2f} µs per walk-in")
    print(f"  bare SimPy M/M/c           {bare_us:8.2f} µs per walk-in")
    print(f"  ratio model / bare         {model_us / bare_us:8.2f}   (goal ≤ 2.0)")
    print(f"default scenario: one replication of {weeks} weeks incl. KPIs")
    print(f"  wall time                  {default_s:8.2f} s      (goal ≤ 2 s per replication-year)")
    print(f"  per replication-year       {default_s * 52 / weeks:8.2f} s")

    reps = 8
    one = best_of(lambda: run(default, 1, reps, workers=1), repeats=1)
    two = best_of(lambda: run(default, 1, reps, workers=2), repeats=1)
    print(f"default scenario, {reps} replications (no cache)")
    print(f"  1 worker                   {one:8.2f} s")
    print(f"  2 workers                  {two:8.2f} s")
    print(f"  speed-up                   {one / two:8.2f}   (goal ≥ 1.8 on 2 cores)")

    targets = [Target.parse("service_level>=0.8")]
    t0 = time.perf_counter()
    sized = size(default, targets, seed=1, reps=4, workers=2)
    size_s = time.perf_counter() - t0
    print("techbar size, default scenario (7 desks x 5 weekdays), service_level>=0.8 on its")
    print("one-sided 95% bound, 4 reps")
    print(f"  wall time                  {size_s:8.2f} s      (goal ≤ 90 s; {sized.rounds} rounds)")

    whatif_s, compare_s = cli_timings()
    print("techbar run --set sites.0.engineers=4 --reps 10 --workers 2, base in the store")
    print(f"  wall time                  {whatif_s:8.2f} s      (goal ≤ 8 s)")
    print("techbar compare of the base's and the what-if's folders")
    print(f"  wall time                  {compare_s:8.2f} s      (goal ≤ 3 s)")
    first_s, api_s = api_whatif_timing()
    print("Python API (as the page runs): the default, 10 reps, 2 workers, empty store")
    print(f"  wall time                  {first_s:8.2f} s      (goal ≤ 15 s)")
    print("Python API: run(..., cache=...) of a one-desk what-if, base run before in the process")
    print(f"  wall time                  {api_s:8.2f} s      (goal ≤ 3 s)")

    years = PSA_SAMPLES * PSA_REPS * default.horizon_weeks / 52
    psa_s = psa_timing(workers=2)
    per_year = psa_s / years
    print(
        f"probabilistic analysis (techbar sensitivity --psa {PSA_SAMPLES} --psa-reps {PSA_REPS}) "
        f"of the default: {years:g} replication-years"
    )
    print("with the trial's drift at each sample, 2 workers, fresh results store")
    print(f"  wall time                  {psa_s:8.2f} s")
    print(f"  per replication-year       {per_year:8.3f} s")
    print(
        f"  1,000 replication-years    {per_year * 1000:8.1f} s      (extrapolated from this "
        f"measured run; goal ≤ {PSA_GOAL_S:g} s)"
    )
    scaling = dask_scaling()
    print("the same probabilistic analysis on a local Dask cluster (processes, 1 thread each)")
    if scaling is None:
        print("  skipped: dask.distributed is not installed (pip install 'techbar-sim[dask]')")
    else:
        one_w, two_w = scaling
        print(f"  1 worker                   {one_w:8.2f} s")
        print(f"  2 workers                  {two_w:8.2f} s")
        print(f"  throughput 2 / 1 workers   {one_w / two_w:8.2f}")


def psa_timing(workers: int | None = None, dask: str | None = None) -> float:
    """Wall time of a probabilistic analysis of the default as `techbar sensitivity --psa` runs
    it (the samples, then the trial at each sample for the calibration's drift), PSA_SAMPLES ×
    PSA_REPS replications, on `workers` processes or the Dask scheduler `dask`, with a fresh
    results store."""
    from sim.experiment.calibrate import TRIAL_SCENARIO
    from sim.experiment.fit_drift import PROBABILISTIC, drift, sample_points, trial_fit
    from sim.experiment.sensitivity import probabilistic
    from sim.experiment.store import ResultStore
    from sim.scenario import load_whatif
    from sim.scenario.uncertainty import default_ranges_path, load_ranges, resolved_data

    base = resolved_data(load_scenario())
    ranges = load_ranges(default_ranges_path(None), base)
    fit = trial_fit(load_whatif(TRIAL_SCENARIO)[0], ranges)
    with tempfile.TemporaryDirectory() as tmp:
        options = {"workers": workers, "dask": dask, "store": ResultStore(Path(tmp) / "cache")}
        t0 = time.perf_counter()
        psa = probabilistic(base, ranges, PSA_SAMPLES, 1, PSA_REPS, **options)
        drift(fit, sample_points(fit, ranges, psa.design), 1, PSA_REPS, PROBABILISTIC, options)
        return time.perf_counter() - t0


def dask_scaling() -> tuple[float, float] | None:
    """Wall times of `psa_timing` on a local Dask cluster of 1 and of 2 worker processes (one
    thread each, on this machine's loopback), each cluster started and its workers' imports
    done before the clock starts; None without dask.distributed."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return None
    times = []
    for n in (1, 2):
        with (
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(__import__, "sim.experiment.sensitivity")  # the workers' imports
            times.append(psa_timing(dask=cluster.scheduler_address))
    return times[0], times[1]


def api_whatif_timing() -> tuple[float, float]:
    """Wall times, through the Python API as the page calls it (10 replications on 2 workers):
    the default scenario's first run on an empty store, then a one-desk what-if after it in the
    same process (only the changed desk's component is simulated, the others come from the
    store)."""
    import sim

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        base = sim.load_scenario()
        t0 = time.perf_counter()
        sim.run(base, reps=10, workers=2, cache=cache)
        first = time.perf_counter() - t0
        whatif = sim.load_scenario(overrides={"sites.0.engineers": 4})
        t0 = time.perf_counter()
        sim.run(whatif, reps=10, workers=2, cache=cache)
        return first, time.perf_counter() - t0


def cli_timings() -> tuple[float, float]:
    """Wall times of a one-desk what-if whose base is already in the store, and of comparing
    the two folders, each as a fresh `techbar` process (a fresh store: the what-if is new)."""
    techbar = [sys.executable, "-m", "sim"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TECHBAR_CACHE_DIR": str(Path(tmp) / "cache")}
        common = ["--reps", "10", "--workers", "2", "-q"]

        def timed(args: list[str]) -> float:
            t0 = time.perf_counter()
            subprocess.run([*techbar, *args], env=env, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        timed(["run", *common, "--out", f"{tmp}/base"])  # fills the store with the base
        whatif = timed(["run", *common, "--set", "sites.0.engineers=4", "--out", f"{tmp}/w"])
        compare = timed(["compare", f"{tmp}/base", f"{tmp}/w", "-q"])
    return whatif, compare


if __name__ == "__main__":
    main()
