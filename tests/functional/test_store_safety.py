"""The results store holds data, never code: damaged, foreign or misfiled entries are misses
that get recomputed, a store that cannot be written costs one warning line, and the key follows
the model (not the report code) and the libraries that compute results."""

import errno
import gzip
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs
import pytest

import sim.experiment.components as components
import sim.experiment.store as store_mod
from sim.cli import main
from sim.experiment.runner import one_replication, run, stored_tables
from sim.experiment.sensitivity import run_points
from sim.experiment.store import (
    ResultStore,
    compute_model_version,
    default_store_root,
    job_id,
    library_versions,
)
from sim.scenario import load_scenario

REPS = 3
SEED = 5
SETS = ["--set", "horizon_weeks=4", "--set", "warmup_weeks=1"]
MMC = Path(__file__).resolve().parents[2] / "experiments" / "validation" / "mmc.toml"
CSVS = ("summary.csv", "replications.csv", "weekly.csv", "waits.csv", "queue_by_hour.csv")


def _args(mmc_path, out: Path, cache: Path | None, workers: int = 1) -> list[str]:
    where = ["--no-cache"] if cache is None else ["--cache", str(cache)]
    return [
        "run",
        str(mmc_path),
        *SETS,
        "--reps",
        str(REPS),
        "--seed",
        str(SEED),
        "--quiet",
        "--workers",
        str(workers),
        "--out",
        str(out),
        *where,
    ]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """A run that never touched a store (two workers: results must not depend on them)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(_args(MMC, out, None, workers=2)) == 0
    return out


def _same_results(a: Path, b: Path) -> None:
    for name in CSVS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture
def counted(monkeypatch) -> list[int]:
    """The replications actually computed (runs use one worker, so in this process; the
    scenario has one component, so one simulation per replication)."""
    computed: list[int] = []
    real = components.simulate_component

    def counting(scenario, seed, replication):
        computed.append(replication)
        return real(scenario, seed, replication)

    monkeypatch.setattr(components, "simulate_component", counting)
    return computed


@pytest.fixture
def filled(tmp_path, mmc_path, reference, counted) -> tuple[Path, list[Path]]:
    """A store holding the run's replications; returns it and each replication's entry file."""
    cache = tmp_path / "cache"
    assert main(_args(mmc_path, tmp_path / "first", cache)) == 0
    _same_results(tmp_path / "first", reference)
    scenario = load_scenario(mmc_path, ["horizon_weeks=4", "warmup_weeks=1"])
    store = ResultStore(cache)
    (component,) = components.split(scenario)
    paths = [store.path(components.component_id(component, SEED, r).key) for r in range(REPS)]
    assert sorted(paths) == list(store.entries())
    counted.clear()
    return cache, paths


def test_a_run_served_from_the_store_is_byte_identical(
    tmp_path, mmc_path, reference, filled, monkeypatch
):
    cache, _ = filled

    def fail(*a, **k):
        raise AssertionError("recomputed a stored replication")

    monkeypatch.setattr(components, "simulate_component", fail)
    assert main(_args(mmc_path, tmp_path / "again", cache)) == 0
    _same_results(tmp_path / "again", reference)


def test_tables_round_trip_exactly(tmp_path):
    scenario = load_scenario(None, ["horizon_weeks=3", "warmup_weeks=1"])
    out = one_replication(scenario, 2, 1)
    store = ResultStore(tmp_path)
    job = job_id(scenario, 2, 1)
    store.put(job, stored_tables(out))
    back = store.get(job)
    assert back is not None and list(back) == list(stored_tables(out))
    for name, df in stored_tables(out).items():
        got = back[name]
        pd.testing.assert_frame_equal(got, df, check_exact=True)
        assert list(got.columns) == list(df.columns)
        assert got.columns.dtype == df.columns.dtype
        assert list(got.dtypes) == list(df.dtypes)
        for col in df.columns:
            if df[col].dtype.kind == "f":  # bit for bit, not just equal
                assert np.array_equal(df[col].to_numpy().view("u8"), got[col].to_numpy().view("u8"))


def test_awkward_values_round_trip_exactly(tmp_path):
    df = pd.DataFrame(
        {
            "x": [0.1 + 0.2, float("nan"), -0.0, 5e-324, float("inf"), 1 / 3],
            "s": pd.array(["a", None, "", "é", "b", "c"], dtype=pd.StringDtype()),
            "i": np.arange(6, dtype="int32"),
            "b": [True, False] * 3,
            "t": pd.to_datetime(
                ["2020-01-01", None, "2021-06-30", "2020-01-01", None, "2019-03-04"]
            ),
        }
    )
    store = ResultStore(tmp_path)
    job = store_mod.JobId("s", 1, 0, "m")
    store.put(job, {"t": df, "empty": pd.DataFrame({"a": [], "b": []}, dtype=object)})
    back = store.get(job)
    pd.testing.assert_frame_equal(back["t"], df, check_exact=True)
    assert np.array_equal(back["t"]["x"].to_numpy().view("u8"), df["x"].to_numpy().view("u8"))
    assert back["empty"].shape == (0, 2) and list(back["empty"].dtypes) == [object, object]


def _evil_pickle(marker: Path) -> bytes:
    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps(Evil())


def test_the_planted_pickle_would_run_code_if_unpickled(tmp_path):
    """Guards the test below: its payload does create the marker when unpickled."""
    probe = tmp_path / "probe"
    pickle.loads(_evil_pickle(probe)).close()
    assert probe.exists()


def _rewrite_header(path: Path, **changes) -> None:
    obj = json.loads(gzip.decompress(path.read_bytes()))
    obj["header"].update(changes)
    path.write_bytes(gzip.compress(json.dumps(obj).encode()))


DAMAGE = {
    "copy of another replication": lambda p, ps, m: shutil.copyfile(ps[2], p),
    "truncated": lambda p, ps, m: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p, ps, m: p.write_bytes(b""),
    "not gzip": lambda p, ps, m: p.write_bytes(b'{"header": {}, "tables": {}}'),
    "not json": lambda p, ps, m: p.write_bytes(gzip.compress(b"\x00\xff garbage")),
    "pickle": lambda p, ps, m: p.write_bytes(_evil_pickle(m)),
    "gzipped pickle": lambda p, ps, m: p.write_bytes(gzip.compress(_evil_pickle(m))),
    "header names another seed": lambda p, ps, m: _rewrite_header(p, seed=SEED + 1),
    "header names another scenario": lambda p, ps, m: _rewrite_header(p, scenario="0" * 64),
    "header of another format version": lambda p, ps, m: _rewrite_header(p, format_version=0),
    "another replication's tables under a forged header": lambda p, ps, m: (
        shutil.copyfile(ps[2], p),
        _rewrite_header(p, replication=1, key=p.name.removesuffix(".json.gz")),
    ),
    "a folder": lambda p, ps, m: (p.unlink(), p.mkdir()),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_misfiled_entry_is_recomputed(
    tmp_path, mmc_path, reference, filled, counted, damage
):
    cache, paths = filled
    marker = tmp_path / "marker"
    DAMAGE[damage](paths[1], paths, marker)
    assert main(_args(mmc_path, tmp_path / "again", cache)) == 0
    assert counted == [1]  # only the damaged replication
    _same_results(tmp_path / "again", reference)
    assert not marker.exists()
    if damage != "a folder":  # a folder cannot be replaced by an entry (a warning says so)
        entry = ResultStore(cache).read_entry(paths[1])
        assert entry is not None and entry.header["replication"] == 1
        counted.clear()  # and the replaced entry serves the next run
        assert main(_args(mmc_path, tmp_path / "third", cache)) == 0
        assert counted == []


def test_an_old_pickled_entry_is_never_read(tmp_path, mmc_path, reference, filled, counted):
    cache, paths = filled
    marker = tmp_path / "marker"
    for p in paths:  # old naming, beside and instead of the entries
        p.with_name(p.name.replace(".json.gz", ".pkl.gz")).write_bytes(
            gzip.compress(_evil_pickle(marker))
        )
    paths[0].unlink()
    assert main(_args(mmc_path, tmp_path / "again", cache)) == 0
    assert counted == [0]
    _same_results(tmp_path / "again", reference)
    assert not marker.exists()
    assert not list(cache.rglob("*.pkl.gz"))  # removed as the store is opened


def _no_cache_left_over(cache: Path) -> None:
    if cache.is_dir():
        assert not list(cache.rglob(".tmp-*"))
        assert not list(cache.rglob("*.json.gz"))


def _block_shards(cache: Path) -> None:
    """A writable store folder whose every shard folder is a file: entries cannot be filed."""
    cache.mkdir()
    for i in range(256):
        (cache / f"{i:02x}").write_text("not a folder")


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_file_where_a_store_folder_should_be_warns_once(tmp_path, mmc_path, reference, caplog):
    cache = tmp_path / "cache"
    _block_shards(cache)
    with caplog.at_level(logging.WARNING):
        assert main(_args(mmc_path, tmp_path / "out", cache)) == 0
    _same_results(tmp_path / "out", reference)
    (warning,) = _warnings(caplog)
    assert "continuing without caching" in warning and str(cache) in warning
    assert all((cache / f"{i:02x}").read_text() == "not a folder" for i in range(256))


@pytest.fixture(scope="module")
def direct_reference():
    scenario = load_scenario(MMC, ["horizon_weeks=4", "warmup_weeks=1"])
    return scenario, run(scenario, SEED, REPS, workers=1)


def _same_run(a, b) -> None:
    pd.testing.assert_frame_equal(a.kpis, b.kpis, check_exact=True)
    assert a.summary().to_csv() == b.summary().to_csv()


@pytest.mark.parametrize("workers", [1, 2])  # 2: the pool's workers try to file the entries
def test_a_store_that_is_a_file_warns_once(tmp_path, direct_reference, caplog, workers):
    scenario, expected = direct_reference
    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        got = run(scenario, SEED, REPS, workers=workers, store=ResultStore(cache))
    _same_run(got, expected)
    (warning,) = _warnings(caplog)
    assert "continuing without caching" in warning
    assert cache.read_text() == "not a folder"


def _entry_files(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in cache.rglob("*.json.gz")}


def _saves_in_this_process(monkeypatch) -> list:
    """The jobs this process files through `ResultStore.save` from now on (a pool's workers file
    theirs with `put_or_error`, so they are not in it)."""
    saved: list = []
    real_save = ResultStore.save

    def save(self, job, tables):
        saved.append(job)
        return real_save(self, job, tables)

    monkeypatch.setattr(ResultStore, "save", save)
    return saved


def test_pool_workers_file_the_entries_one_process_would(tmp_path, monkeypatch):
    """With a local pool each worker files its components' entries (the parent files none): the
    same files, byte for byte, as one process files, and the same run."""
    scenario = load_scenario(None, ["horizon_weeks=4", "warmup_weeks=1"])
    one = run(scenario, SEED, REPS, workers=1, store=ResultStore(tmp_path / "one"))
    saved_here = _saves_in_this_process(monkeypatch)
    two = run(scenario, SEED, REPS, workers=2, store=ResultStore(tmp_path / "two"))
    _same_run(two, one)
    assert saved_here == []
    filed = _entry_files(tmp_path / "two")
    assert len(filed) == REPS * len(components.split(scenario)) > REPS
    assert filed == _entry_files(tmp_path / "one")
    again = run(scenario, SEED, REPS, workers=2, store=ResultStore(tmp_path / "two"))
    _same_run(again, one)  # read back from what the workers filed
    assert saved_here == []


@pytest.mark.parametrize("kpis_only", [True, False])
def test_pool_workers_file_the_points_entries_one_process_would(tmp_path, monkeypatch, kpis_only):
    """The same for the points of a sensitivity analysis (`run_points`)."""
    points = [load_scenario(MMC, [f"horizon_weeks={w}", "warmup_weeks=1"]) for w in (4, 5)]
    one = run_points(
        points, SEED, REPS, workers=1, store=ResultStore(tmp_path / "one"), kpis_only=kpis_only
    )
    saved_here = _saves_in_this_process(monkeypatch)
    two = run_points(
        points, SEED, REPS, workers=2, store=ResultStore(tmp_path / "two"), kpis_only=kpis_only
    )
    for ours, theirs in zip(one, two, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            pd.testing.assert_frame_equal(a.kpis, b.kpis, check_exact=True)
    assert saved_here == []
    filed = _entry_files(tmp_path / "two")
    assert len(filed) == len(points) * REPS
    assert filed == _entry_files(tmp_path / "one")


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind this user"
)
def test_a_read_only_store_warns_once(tmp_path, direct_reference, caplog):
    scenario, expected = direct_reference
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    try:
        with caplog.at_level(logging.WARNING):
            got = run(scenario, SEED, REPS, workers=1, store=ResultStore(cache))
    finally:
        cache.chmod(0o755)
    _same_run(got, expected)
    assert len(_warnings(caplog)) == 1
    _no_cache_left_over(cache)


def test_replications_to_a_precision_warn_once(tmp_path, mmc_path, caplog, counted):
    """--reps auto runs replications in batches: the unwritable store is reported once."""
    cache = tmp_path / "cache"
    _block_shards(cache)
    args = _args(mmc_path, tmp_path / "out", cache)
    args[args.index("--reps") + 1] = "auto"
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--precision", "0.0001", "--max-reps", "10"]) == 0
    assert len(counted) == 10  # two batches
    store_warnings = [w for w in _warnings(caplog) if "results store" in w]
    assert len(store_warnings) == 1 and str(cache) in store_warnings[0]


@pytest.mark.parametrize("workers", [1, 2])  # 2: the pool's workers write the entries
def test_a_full_disk_warns_once_and_leaves_nothing(
    tmp_path, mmc_path, reference, caplog, monkeypatch, workers
):
    def full(fd, data):
        with os.fdopen(fd, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_mod, "_write_file", full)
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING):
        assert main(_args(mmc_path, tmp_path / "out", cache, workers)) == 0
    _same_results(tmp_path / "out", reference)
    (warning,) = _warnings(caplog)
    assert "No space left" in warning
    _no_cache_left_over(cache)


def test_the_command_prints_one_warning_line_and_no_traceback(tmp_path, mmc_path, reference):
    cache = tmp_path / "cache"
    _block_shards(cache)
    res = subprocess.run(
        [sys.executable, "-m", "sim", *_args(mmc_path, tmp_path / "out", cache)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "warning" in lines[0] and str(cache) in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    _same_results(tmp_path / "out", reference)


def test_clean_temporary_removes_only_what_dead_writers_left(tmp_path):
    store = ResultStore(tmp_path)
    shard = tmp_path / "ab"
    shard.mkdir()
    entry = shard / ("ab" + "0" * 62 + ".json.gz")
    entry.write_bytes(b"x")
    host = store_mod._host_tag()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [
        shard / f".tmp-{dead.pid}.{host}.abc",  # this host, writer gone
        shard / ".tmp-abc123",  # the naming of earlier versions
        shard / f".tmp-1.{'f' * 8}.old",  # another host, long ago
        shard / ("ab" + "1" * 62 + ".pkl.gz"),  # an old pickled entry
    ]
    live = [
        shard / f".tmp-{os.getpid()}.{host}.abc",  # this process is writing it
        shard / f".tmp-1.{'f' * 8}.new",  # another host, just now
    ]
    unrelated = [tmp_path / ".tmp-not-ours", tmp_path / "notes.pkl.gz", shard / "readme.txt"]
    for p in [*stale, *live, *unrelated]:
        p.write_bytes(b"x")
    old = time.time() - 3 * 24 * 3600
    os.utime(stale[2], (old, old))
    assert store.clean_temporary() == len(stale)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in [entry, *live, *unrelated])
    assert ResultStore(tmp_path / "missing").clean_temporary() == 0
    assert ResultStore(entry).clean_temporary() == 0  # a file, not a folder: nothing, no error


def test_the_default_store_is_a_per_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("TECHBAR_CACHE_DIR", raising=False)
    root = default_store_root()
    assert root == Path(platformdirs.user_cache_dir("techbar-sim", appauthor=False))
    assert root.is_absolute() and not root.is_relative_to(Path.cwd())
    assert ResultStore().root == root
    monkeypatch.setenv("TECHBAR_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_store_root() == tmp_path / "elsewhere"
    assert ResultStore().root == tmp_path / "elsewhere"
    assert ResultStore(tmp_path / "given").root == tmp_path / "given"  # --cache wins


def _edited(root: Path, rel: str) -> str:
    path = root / rel
    original = path.read_bytes()
    path.write_bytes(original + b"\n# edited\n")
    try:
        return compute_model_version(root)
    finally:
        path.write_bytes(original)


def test_the_key_follows_the_model_not_the_report(tmp_path):
    root = tmp_path / "sim"
    shutil.copytree(store_mod.PACKAGE_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    base = compute_model_version(root)
    assert len(base) == 16
    for rel in ("report/plots.py", "report/html.py", "cli/parser.py", "experiment/sweep.py"):
        assert _edited(root, rel) == base, rel
    for rel in (
        "model.py",
        "service.py",
        "kpis/tables.py",
        "scenario/schema.py",
        "scenarios/met_2019.toml",
        "experiment/runner.py",
    ):
        assert _edited(root, rel) != base, rel
    (root / "new_model_module.py").write_text("X = 1\n")
    assert compute_model_version(root) != base
    for lib in ("numpy", "pandas", "simpy"):
        libs = {**library_versions(), lib: "0.0.0"}
        assert compute_model_version(root, libs) != compute_model_version(root), lib
    assert compute_model_version(root, library_versions()) == compute_model_version(root)
