"""The command line never fails badly: safe CSV files, no local paths in run folders, output
folders checked before any work and replaced whole, write failures and interruptions reported
in one line, sizing that cannot be met said plainly, version and verbosity."""

from __future__ import annotations

import contextlib
import csv
import errno
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import commands, main
from sim.report import run_folder
from sim.report.run_folder import neutralise, restore_text, write_outputs, write_table

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--set", "horizon_weeks=2", "--set", "warmup_weeks=0", "--reps", "2", "--workers", "1"]
FORMULAS = ['=HYPERLINK("http://x","y")', "=1+1", "@SUM(1)", "+cmd|' /C calc'!A0"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def run_cli(*args) -> int:
    return main(["run", *map(str, args)])


def _cells(path: Path):
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            yield from row


def _numeric_columns(path: Path) -> list[str]:
    df = pd.read_csv(path)
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]


# ------------------------------------------------------------------ CSV injection


@pytest.mark.parametrize("site, name", [(FORMULAS[0], FORMULAS[2]), (FORMULAS[3], FORMULAS[1])])
def test_formula_like_names_are_written_as_quoted_text(tmp_path, mmc_path, site, name):
    out = tmp_path / "run"
    args = ["--set", f"sites.0.name={site}", "--set", f"name={name}", "--no-cache", "-q"]
    assert run_cli(mmc_path, *SMALL, *args, "--out", out) == 0
    csvs = sorted(out.glob("*.csv"))
    assert {"summary.csv", "replications.csv", "assumptions.csv"} <= {p.name for p in csvs}
    seen = set()
    for path in csvs:
        numeric = set(_numeric_columns(path))
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        header = rows[0]
        for row in rows[1:]:
            for column, cell in zip(header, row, strict=True):
                if column in numeric:
                    continue
                assert not cell.startswith(TRIGGERS), (path.name, column, cell)
                seen.add(cell)
    assert "'" + site in seen and "'" + name in seen
    # read back as the report does, the names are exactly what was given
    summary = restore_text(pd.read_csv(out / "summary.csv"))
    assert set(summary["site"]) == {site, "ALL"} and set(summary["scenario"]) == {name}
    assert pd.api.types.is_float_dtype(summary["mean"])


def test_numbers_stay_numbers_and_negative_numbers_are_not_quoted(tmp_path):
    table = pd.DataFrame(
        {
            "site": ["-desk", "@x", "plain", "'quoted", "\tTab", "\rCR", "+1", None],
            "diff": [-1.5, 2.0, -0.25, 0.0, -3.0, 1.0, -7.0, -8.5],
            "count": [-1, 2, 3, 4, 5, 6, 7, 8],
            "mixed": [-2, "-2", 3.5, "=A1", None, "ok", 0, "x"],
        }
    )
    path = tmp_path / "t.csv"
    write_table(path, table)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    body = rows[1:]
    assert [r[1] for r in body] == ["-1.5", "2.0", "-0.25", "0.0", "-3.0", "1.0", "-7.0", "-8.5"]
    assert [r[2] for r in body] == [str(v) for v in table["count"]]
    assert [r[0] for r in body] == [
        "'-desk",
        "'@x",
        "plain",
        "''quoted",
        "'\tTab",
        "'\rCR",
        "'+1",
        "",
    ]
    # a number in a text column stays a number; text that looks like one is text
    assert [r[3] for r in body] == ["-2", "'-2", "3.5", "'=A1", "", "ok", "0", "x"]
    back = restore_text(pd.read_csv(path, keep_default_na=False, na_values=[""]))
    assert back["site"].tolist()[:7] == table["site"].tolist()[:7]
    assert back["diff"].tolist() == table["diff"].tolist()


def test_header_names_are_neutralised_too():
    table = pd.DataFrame({"=bad": ["a"], "ok": [1]})
    assert list(neutralise(table).columns) == ["'=bad", "ok"]
    assert list(table.columns) == ["=bad", "ok"]  # the caller's table is not changed


# ------------------------------------------------------------------ no local paths


def test_manifest_records_no_local_paths(tmp_path, mmc_path):
    scenario = tmp_path / "deep" / "where" / "my.toml"
    scenario.parent.mkdir(parents=True)
    scenario.write_text(mmc_path.read_text())
    out = (tmp_path / "runs" / "mine").resolve()
    cache = tmp_path / "cache"
    args = [scenario, *SMALL, "--out", out, f"--cache={cache}", "-q"]
    assert run_cli(*args) == 0
    text = (out / "manifest.json").read_text()
    for local in {str(tmp_path), str(tmp_path.resolve()), str(Path.home()), sys.prefix, str(ROOT)}:
        assert local not in text, local
    m = json.loads(text)
    command = m["command"]
    assert command[:3] == ["techbar", "run", "my.toml"]
    assert command[command.index("--out") + 1] == "."
    assert "--cache=cache" in command
    for path in out.glob("*.csv"):
        raw = path.read_text()
        assert str(tmp_path) not in raw and str(ROOT) not in raw, path.name


def test_paths_inside_the_run_folder_become_relative(tmp_path):
    out = tmp_path / "o"
    meta = {
        "command": ["techbar", "run", f"--trace-file={out / 'sub' / 'x.csv'}", "../../up.toml"],
        "nested": [{"file": str(tmp_path / "elsewhere" / "data.toml")}, "plain text", 3],
    }
    write_outputs(out, {}, meta)
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == ["techbar", "run", "--trace-file=sub/x.csv", "up.toml"]
    assert m["nested"] == [{"file": "data.toml"}, "plain text", 3]


# ------------------------------------------------------------------ output folders


def _no_simulation(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("simulated although the command should have stopped first")

    monkeypatch.setattr(commands, "run", refuse)
    monkeypatch.setattr(commands, "size", refuse)


def test_a_foreign_non_empty_folder_is_refused_before_any_work(
    tmp_path, mmc_path, capsys, monkeypatch
):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    _no_simulation(monkeypatch)
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache") == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_force_replaces_a_foreign_folder(tmp_path, mmc_path):
    out = tmp_path / "mine"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "old.txt").write_text("x")
    (out / "notes.txt").write_text("x")
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-q", "--force") == 0
    names = {p.name for p in out.iterdir()}
    assert "summary.csv" in names and "notes.txt" not in names and "sub" not in names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_force_never_replaces_the_current_folder(tmp_path, mmc_path, capsys, monkeypatch):
    (tmp_path / "keep.txt").write_text("x")  # the tests run in tmp_path
    _no_simulation(monkeypatch)
    assert run_cli(mmc_path, *SMALL, "--out", ".", "--no-cache", "--force") == 2
    assert "current folder" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").exists()


def test_writing_again_into_an_earlier_output_leaves_no_stale_file(tmp_path, mmc_path):
    out = tmp_path / "run"
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-q", "--trace") == 0
    assert (out / "trace.csv").exists()
    (out / "report.html").write_text("of the earlier run")
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-q") == 0
    names = {p.name for p in out.iterdir()}
    assert "trace.csv" not in names and "report.html" not in names
    assert "summary.csv" in names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_an_output_of_another_command_is_refused(tmp_path, mmc_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-q") == 0
    _no_simulation(monkeypatch)
    code = main(["size", str(mmc_path), "--target", "service_level>=0.5", "--out", str(out)])
    assert code == 2
    assert "techbar size" in capsys.readouterr().err


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_temporary_folders_of_killed_writes_are_cleaned_on_the_next_run(tmp_path, mmc_path):
    out = tmp_path / "run"
    host = run_folder._host_tag()
    dead = tmp_path / f".out.run.{host}-{_dead_pid()}.abc123"
    (dead / "half").mkdir(parents=True)
    (dead / "half" / "summary.csv").write_text("scenario,si")
    alive = tmp_path / f".out.run.{host}-{os.getppid()}.def456"  # a running writer's: kept
    alive.mkdir()
    other = tmp_path / f".out.another.{host}-{_dead_pid()}.x"  # another folder's: not ours
    other.mkdir()
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-q") == 0
    assert not dead.exists()
    assert alive.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run", alive.name, other.name])


def test_an_interrupted_write_leaves_the_earlier_run_and_no_temporary_folder(tmp_path, monkeypatch):
    out = tmp_path / "run"
    table = pd.DataFrame({"a": [1]})
    write_outputs(out, {"first.csv": table}, {"command": ["techbar", "run"]})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def interrupted(table, path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        table.to_csv(path, index=False)

    monkeypatch.setattr(run_folder, "_to_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(out, {"x.csv": table, "y.csv": table}, {"command": ["techbar", "run"]})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_folders_and_files_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        out = tmp_path / "deep" / "run"
        write_outputs(out, {"t.csv": pd.DataFrame({"a": [1]})}, {})
        write_table(out / "extra.csv", pd.DataFrame({"a": [1]}))
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "deep").stat().st_mode & 0o777 == 0o777 & ~mask
    for name in ("t.csv", "manifest.json", "extra.csv"):
        assert (out / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


# ------------------------------------------------------------------ checks before work


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, mmc_path, capsys, monkeypatch):
    (tmp_path / "f").write_text("x")
    _no_simulation(monkeypatch)
    assert run_cli(mmc_path, *SMALL, "--out", tmp_path / "f", "--no-cache") == 2
    assert "is a file" in capsys.readouterr().err
    assert (tmp_path / "f").read_text() == "x"


def test_cache_that_is_a_file_warns_and_the_run_goes_on(tmp_path, mmc_path, capsys):
    (tmp_path / "c").write_text("x")
    assert run_cli(mmc_path, *SMALL, "--out", tmp_path / "o", "--cache", tmp_path / "c") == 0
    err = capsys.readouterr().err
    assert "--cache" in err and "is a file" in err and "without the results store" in err
    assert err.count("warning") == 1 and "Traceback" not in err
    assert (tmp_path / "o" / "summary.csv").is_file()
    assert (tmp_path / "c").read_text() == "x"  # left as it was


def _read_only(folder: Path, monkeypatch) -> None:
    """Make `folder` read-only; as root (where chmod does not stop writes) make every attempt
    to create a file in it fail as a read-only folder would."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_mkstemp, real_mkdtemp = run_folder.tempfile.mkstemp, run_folder.tempfile.mkdtemp

    def refuse(real):
        def attempt(*a, dir=None, **k):
            if dir is not None and Path(dir).resolve() == folder.resolve():
                raise PermissionError(errno.EACCES, "Permission denied", str(dir))
            return real(*a, dir=dir, **k)

        return attempt

    monkeypatch.setattr(run_folder.tempfile, "mkstemp", refuse(real_mkstemp))
    monkeypatch.setattr(run_folder.tempfile, "mkdtemp", refuse(real_mkdtemp))


def test_read_only_output_folder_is_refused_before_any_work(
    tmp_path, mmc_path, capsys, monkeypatch
):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(ro, monkeypatch)
    _no_simulation(monkeypatch)
    try:
        assert run_cli(mmc_path, *SMALL, "--out", ro / "run", "--no-cache") == 2
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert "--out" in err and "cannot write" in err and "Traceback" not in err
    assert list(ro.iterdir()) == []


def test_read_only_cache_warns_and_the_run_goes_on(tmp_path, mmc_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    _read_only(ro, monkeypatch)
    try:
        args = ["--out", tmp_path / "run", "--cache", ro / "store"]
        assert run_cli(mmc_path, *SMALL, *args) == 0
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert "--cache" in err and "cannot write" in err and "Traceback" not in err
    assert list(ro.iterdir()) == [] and (tmp_path / "run" / "summary.csv").is_file()


def test_a_full_disk_at_write_time_is_one_message_and_keeps_the_replications(
    tmp_path, mmc_path, capsys, monkeypatch
):
    def full(table, path):
        Path(path).write_text("scen")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(run_folder, "_to_csv", full)
    out = tmp_path / "run"
    cache = tmp_path / "cache"
    assert run_cli(mmc_path, *SMALL, "--out", out, "--cache", cache, "-q") == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "results store" in err and "Traceback" not in err
    assert err.count("\n") == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
    assert any(cache.rglob("*.json.gz"))  # the two replications are kept


# ------------------------------------------------------------------ interruptions


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, mmc_path, capsys, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "run", interrupted)
    assert run_cli(mmc_path, *SMALL, "--out", tmp_path / "o", "--no-cache") == 130
    assert capsys.readouterr().err == "techbar: interrupted\n"
    assert not (tmp_path / "o").exists()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _ignores_sigint(pid: int) -> bool:
    """Whether the process has set SIGINT to be ignored (its pool initializer has run)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    line = next((x for x in status.splitlines() if x.startswith("SigIgn:")), "SigIgn: 0")
    return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _start_long_run(tmp_path: Path, mmc_path: Path) -> tuple[subprocess.Popen, list[int]]:
    cmd = [sys.executable, "-m", "sim", "run", str(mmc_path), "--set", "horizon_weeks=400"]
    cmd += ["--reps", "4", "--workers", "2", "--no-cache", "-q", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        if len(kids) >= 2 and all(_ignores_sigint(k) for k in kids):
            return proc, kids
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the pool's workers did not start")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_workers_do_not_outlive_a_killed_parent(tmp_path, mmc_path):
    proc, workers = _start_long_run(tmp_path, mmc_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:
        os.kill(w, signal.SIGKILL)
    assert survivors == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_stops_the_pool_at_once_without_tracebacks(tmp_path, mmc_path):
    proc, workers = _start_long_run(tmp_path, mmc_path)
    os.killpg(proc.pid, signal.SIGINT)  # as the terminal does: the whole process group
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip() == "techbar: interrupted"
    assert not any(_alive(w) for w in workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ------------------------------------------------------------------ Dask


class _Server:
    """A plain TCP server on 127.0.0.1 that is not Dask: it answers with `reply` (or says
    nothing) and keeps the connection open."""

    def __init__(self, reply: bytes | None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(self.reply)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def _closed_port() -> int:
    s = socket.create_server(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize(
    "kind", ["malformed", "broken ipv6", "closed port", "http server", "silent server"]
)
def test_dask_without_a_scheduler_fails_within_its_timeout(tmp_path, mmc_path, capsys, kind):
    pytest.importorskip("distributed")
    server = None
    if kind == "malformed":
        address = "foo://nowhere"
    elif kind == "broken ipv6":
        address = "tcp://[::1"
    elif kind == "closed port":
        address = f"tcp://127.0.0.1:{_closed_port()}"
    else:
        server = _Server(b"HTTP/1.0 200 OK\r\n\r\nhello\n" if kind == "http server" else None)
        address = f"tcp://127.0.0.1:{server.port}"
    try:
        code = run_cli(
            mmc_path,
            *SMALL[:-2],
            "--dask",
            address,
            "--dask-timeout",
            "2",
            "--out",
            tmp_path / "o",
            "--no-cache",
            "-q",
        )
    finally:
        if server is not None:
            server.close()
    assert code == 2
    err = capsys.readouterr().err
    assert f"--dask {address}" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def _real_run():
    from sim.experiment.runner import run

    return run


# ------------------------------------------------------------------ sizing


def test_size_that_no_staffing_meets_exits_1_with_the_evidence_and_one_sentence(
    tmp_path, mmc_path, capsys
):
    out = tmp_path / "size"
    args = ["size", str(mmc_path), "--set", "horizon_weeks=3", "--set", "warmup_weeks=1"]
    args += ["--target", "service_level>=0.999", "--target", "utilisation<=0.99"]
    args += ["--max-engineers", "4", "--reps", "2", "--workers", "1", "--no-cache", "-q"]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    ev = pd.read_csv(out / "evidence.csv")
    at_max = ev[(ev["engineers"] == 4) & (ev["metric"] == "service_level")]["mean"].iloc[0]
    sentence = err[0]
    assert "'desk'" in sentence and "service_level>=0.999" in sentence
    assert "up to 4 engineers" in sentence and f"{at_max:.4g}" in sentence
    assert "utilisation<=0.99" not in sentence  # that one is met
    rec = pd.read_csv(out / "recommendation.csv")
    assert rec["engineers"].isna().all()


# ------------------------------------------------------------------ version and verbosity


def test_version_comes_from_the_package_metadata(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == (
        f"techbar {importlib.metadata.version('techbar-sim')}"
    )


def test_python_m_sim_prints_the_version(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "sim", "--version"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0
    assert res.stdout.strip() == f"techbar {importlib.metadata.version('techbar-sim')}"


def test_quiet_still_says_where_results_went(tmp_path, mmc_path, capsys):
    out = tmp_path / "run"
    assert main(["-q", "run", str(mmc_path), *SMALL, "--out", str(out), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"results in {out}"
    assert captured.err == ""


def test_verbose_gives_the_estimate_and_quiet_wins(tmp_path, mmc_path, capsys):
    out = tmp_path / "run"
    assert run_cli(mmc_path, *SMALL, "--out", out, "--no-cache", "-v", "-q") == 0
    assert capsys.readouterr().err == ""
    out2 = tmp_path / "run2"
    assert run_cli(mmc_path, *SMALL, "--out", out2, "--no-cache", "-v") == 0
    err = capsys.readouterr().err
    assert "walk-ins per replication" in err


def test_warnings_go_through_logging(capsys):
    import logging
    import warnings

    from sim.cli import configure_logging

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            configure_logging(0, False)
            warnings.warn("something odd", UserWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
    assert "techbar: warning: UserWarning: something odd" in capsys.readouterr().err


def test_more_workers_than_cores_is_a_warning(tmp_path, mmc_path, capsys, monkeypatch):
    monkeypatch.setattr(commands, "default_workers", lambda: 1)
    monkeypatch.setattr(commands, "run", lambda *a, **k: _real_run()(*a, **{**k, "workers": 1}))
    assert run_cli(mmc_path, *SMALL[:-2], "--workers", 3, "--out", tmp_path / "o", "-q") == 0
    err = capsys.readouterr().err
    assert "--workers 3 is more than the 1 cores" in err


def test_out_as_the_current_folder_is_refused_before_any_work(
    tmp_path, mmc_path, capsys, monkeypatch
):
    here = tmp_path / "here"
    here.mkdir()
    (here / "notes.txt").write_text("keep")
    monkeypatch.chdir(here)
    _no_simulation(monkeypatch)
    assert run_cli(mmc_path, *SMALL, "--no-cache", "--out", ".") == 2
    assert "current folder" in capsys.readouterr().err
    assert (here / "notes.txt").read_text() == "keep"


def test_a_very_long_scenario_name_gets_a_usable_default_folder(tmp_path, mmc_path):
    assert run_cli(mmc_path, *SMALL, "--no-cache", "--quiet", "--set", "name=" + "n" * 300) == 0
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert len(folder.name) < 120 and (folder / "summary.csv").is_file()
