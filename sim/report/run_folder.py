"""Run directories: what a run writes, written atomically.

All files are first written to a hidden temporary folder beside the target; only when every
file is complete does that folder take the target's place, so an interrupted or failed run
leaves nothing half written and a folder written again holds nothing of its earlier run.

What is written is safe to open: a text cell of a CSV file that a spreadsheet would take for a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with a
single quote (OWASP's rule; `restore_text` undoes it), and paths in the manifest are relative
to the run folder or reduced to a file name, so a run folder carries no local paths. Folders and
files follow the user's umask.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pandas as pd

from sim.experiment.runner import RunOutput
from sim.scenario import scenario_to_dict

PACKAGES = ("techbar-sim", "simpy", "numpy", "scipy", "pandas", "pydantic")
TEMP_PREFIX = ".out."
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
FOREIGN_TEMP_AGE_S = 24 * 3600  # another host's temporary folder is stale after a day


class OutputError(RuntimeError):
    """An output folder cannot be used or written (the message says which and why)."""

    @classmethod
    def from_os_error(cls, exc: OSError, out_dir: Path) -> OutputError:
        why = {
            errno.ENOSPC: "the disk is full",
            errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.EPERM: "permission denied",
        }.get(exc.errno or 0, exc.strerror or str(exc))
        return cls(f"cannot write the results to '{out_dir}': {why}")


# ------------------------------------------------------------------ permissions


def current_umask() -> int:
    """The process's umask (read from /proc where possible: setting it is not thread-safe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:32] or "host"


def _temp_prefix(out_dir: Path) -> str:
    return f"{TEMP_PREFIX}{out_dir.name}.{_host_tag()}-{os.getpid()}."


def _make_temp_dir(out_dir: Path) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(out_dir), dir=out_dir.parent))
    os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700
    return tmp


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


_TEMP_NAME = re.compile(r"^\.out\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)\.")


def clean_temporary(out_dir: Path) -> int:
    """Remove the hidden temporary folders that killed writes of `out_dir` left beside it
    (those of a writer no longer running); return how many went. Never fails."""
    out_dir = Path(out_dir)
    removed = 0
    try:
        candidates = list(out_dir.parent.glob(f"{TEMP_PREFIX}{glob_escape(out_dir.name)}.*"))
    except OSError:
        return 0
    for p in candidates:
        m = _TEMP_NAME.match(p.name)
        if m is None or m["name"] != out_dir.name:
            continue
        if m["host"] == _host_tag():
            stale = not _pid_alive(int(m["pid"])) or int(m["pid"]) == os.getpid()
        else:
            try:
                stale = time.time() - p.stat().st_mtime > FOREIGN_TEMP_AGE_S
            except OSError:
                stale = False
        if stale and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            removed += not p.exists()
    return removed


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


# ------------------------------------------------------------------ output folders


def output_command(folder: Path) -> str | None:
    """The techbar subcommand whose output `folder` is (from its manifest), or None."""
    try:
        meta = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
        command = meta.get("command") if isinstance(meta, dict) else None
    except (OSError, ValueError):
        return None
    if isinstance(command, list) and len(command) > 1 and command[0] == "techbar":
        return str(command[1])
    return None


def check_output_dir(out_dir: Path, command: str, force: bool = False) -> None:
    """Before any work: refuse (OutputError) an output folder that cannot be used.

    It must not be a file; an existing non-empty folder must be an earlier output of the same
    command, unless `force` (then it is replaced as a whole when the results are written); and
    the folder, or the nearest existing folder above it, must be writable."""
    out_dir = Path(out_dir)
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise OutputError(f"--out '{out_dir}' is a file, not a folder; give a folder")
        here, target = Path.cwd().resolve(), out_dir.resolve()
        if target == here or target in here.parents:
            raise OutputError(
                f"--out '{out_dir}' is the current folder (or one above it), which a run "
                "replaces as a whole; give a folder of its own"
            )
        _refuse_dangerous(out_dir, force)
        try:
            empty = not any(True for _ in out_dir.iterdir())
        except OSError as exc:
            raise OutputError(f"--out '{out_dir}': cannot read it ({exc.strerror})") from None
        if not (force or empty or output_command(out_dir) == command):
            raise OutputError(
                f"--out '{out_dir}' is a folder that is not empty and not the output of an "
                f"earlier 'techbar {command}'; give another folder, or add --force to "
                "replace its contents"
            )
    probe_writable(out_dir.parent if out_dir.exists() else out_dir, "--out")


def _refuse_dangerous(out_dir: Path, force: bool) -> None:
    if not force:
        return
    target = out_dir.resolve()
    protected = {Path.cwd().resolve(), Path.home().resolve(), Path(target.anchor)}
    for p in protected:
        if target == p or target in p.parents:
            raise OutputError(
                f"--out '{out_dir}' --force would replace the current, home or root folder "
                "(or one above it); give a folder of its own"
            )


def probe_writable(folder: Path, option: str) -> None:
    """Refuse (OutputError) a folder that cannot be created or written: tried by making and
    removing a temporary file in the nearest existing folder, so nothing is left behind."""
    folder = Path(folder)
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputError(f"{option} '{folder}': '{existing}' is a file, not a folder")
    try:
        fd, name = tempfile.mkstemp(prefix=".techbar-probe-", dir=existing)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise OutputError(f"{option} '{folder}': cannot write in '{existing}' ({why})") from None


# ------------------------------------------------------------------ what the files hold


def _unsafe(cell: object) -> bool:
    return isinstance(cell, str) and cell.startswith((*FORMULA_START, QUOTE))


def neutralise_cell(cell: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading single quote (as does
    one already starting with a quote, so `restore_text` gives back exactly what was written).
    Numbers, and anything that is not text, are left alone."""
    return QUOTE + cell if _unsafe(cell) else cell  # type: ignore[operator]


def neutralise(table: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell (and column name) made safe for spreadsheets."""
    out = table
    types = pd.api.types
    text_cols = [
        c
        for c in table.columns
        if not (types.is_numeric_dtype(table[c]) or types.is_datetime64_any_dtype(table[c]))
    ]
    for c in text_cols:
        col = table[c]
        if col.map(_unsafe, na_action="ignore").fillna(False).astype(bool).any():
            if out is table:
                out = table.copy()
            out[c] = col.map(neutralise_cell, na_action="ignore")
    if any(_unsafe(c) for c in table.columns):
        out = out.rename(columns=neutralise_cell)
    return out


def restore_text(table: pd.DataFrame) -> pd.DataFrame:
    """Undo `neutralise` on a table read back from a CSV file of a run folder."""

    def restore(cell: object) -> object:
        return cell[1:] if isinstance(cell, str) and cell.startswith(QUOTE) else cell

    out = table.rename(columns=restore)
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(restore, na_action="ignore")
    return out


def _to_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV, safe for spreadsheets. A carriage return in text is not quoted by
    the csv module's minimal quoting (it would split the row): such a table quotes all text."""
    safe = neutralise(table)
    has_cr = any(
        safe[c].map(lambda x: isinstance(x, str) and "\r" in x, na_action="ignore").any()
        for c in safe.columns
        if not pd.api.types.is_numeric_dtype(safe[c])
    ) or any("\r" in str(c) for c in safe.columns)
    safe.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC if has_cr else csv.QUOTE_MINIMAL)


def _scrub_path(text: str, out_dir: Path, relative_too: bool) -> str:
    """A path as recorded: relative to `out_dir` when inside it, else its file name."""
    if not text or "\n" in text:
        return text
    expanded = os.path.expanduser(text) if text.startswith("~") else text
    is_abs = os.path.isabs(expanded)
    if not is_abs and not (relative_too and ".." in Path(expanded).parts):
        return text
    try:
        target = Path(os.path.abspath(expanded))
        base = Path(os.path.abspath(out_dir))
        if target == base or base in target.parents:
            return target.relative_to(base).as_posix() or "."
    except (OSError, ValueError):
        pass
    return Path(expanded).name or "."


def scrub_command(command: list, out_dir: Path) -> list:
    out = []
    for token in command:
        token = str(token)
        if token.startswith("--") and "=" in token:
            option, _, value = token.partition("=")
            out.append(f"{option}={_scrub_path(value, out_dir, True)}")
        else:
            out.append(_scrub_path(token, out_dir, True))
    return out


def scrub_paths(meta: object, out_dir: Path) -> object:
    """The manifest with every local path in it relative to `out_dir` or reduced to its file
    name: the command line's path arguments and any absolute path among its values."""
    if isinstance(meta, dict):
        return {
            k: scrub_command(v, out_dir)
            if k == "command" and isinstance(v, list)
            else scrub_paths(v, out_dir)
            for k, v in meta.items()
        }
    if isinstance(meta, list):
        return [scrub_paths(v, out_dir) for v in meta]
    if isinstance(meta, str):
        return _scrub_path(meta, out_dir, False)
    return meta


SLUG_CHARS = 60


def slug(name: str, limit: int = SLUG_CHARS) -> str:
    """A name as one safe folder-name part: ASCII letters, digits and '_', every other run of
    characters one '-', lower case, at most `limit` characters ('3 engineers at Fresh Wharf' →
    '3-engineers-at-fresh-wharf'); 'scenario' when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9_]+", "-", ascii_text).strip("-_").lower()
    return text[:limit].rstrip("-_") or "scenario"


def default_run_dir(name: str, kind: str = "runs", now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("results") / kind / f"{slug(name)}-{stamp}"


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, when it is a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"],
        cwd=here,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    return res.stdout.strip() + ("-dirty" if dirty else "")


def provenance(wall_time_s: float, argv: list[str] | None = None) -> dict:
    """What every manifest records about how and when it was made."""
    return {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time_s, 3),
        "command": ["techbar", *(argv if argv is not None else sys.argv[1:])],
        "git_commit": git_commit(),
        "versions": package_versions(),
    }


def manifest(
    result: RunOutput, wall_time_s: float, argv: list[str] | None = None, extra: dict | None = None
) -> dict:
    return {
        "scenario_name": result.scenario.name,
        "seed": result.seed,
        "replications": result.replications,
        **(extra or {}),
        **provenance(wall_time_s, argv),
        "scenario": scenario_to_dict(result.scenario),
    }


def run_tables(result: RunOutput) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {
        "summary.csv": result.summary(),
        "replications.csv": _with_scenario(result.kpis, result.scenario.name),
        "queue_by_hour.csv": result.queue_profile(),
        "weekly.csv": result.weekly_series(),
        "waits.csv": result.wait_distribution(),
        "stock.csv": result.stock_on_hand(),
    }
    if result.trace is not None:
        tables["trace.csv"] = result.trace
    return tables


def write_run(
    out_dir: Path,
    result: RunOutput,
    wall_time_s: float,
    argv=None,
    extra: dict | None = None,
    assumptions: pd.DataFrame | None = None,
) -> list[Path]:
    """Write every output file of a run into `out_dir`, atomically; return the final paths."""
    tables = run_tables(result)
    if assumptions is not None:
        tables["assumptions.csv"] = assumptions
    return write_outputs(out_dir, tables, manifest(result, wall_time_s, argv, extra))


def write_outputs(
    out_dir: Path,
    tables: dict[str, pd.DataFrame],
    meta: dict,
    texts: dict[str, str] | None = None,
) -> list[Path]:
    """Write CSV tables and manifest.json as the folder `out_dir`: all into a hidden temporary
    folder beside it first (``.out.<name>.<host>-<pid>.<random>``), which then takes the place of
    `out_dir` — so an interrupted write leaves nothing half written, and a folder written again
    keeps no file of its earlier run. Temporary folders that killed runs left are removed first.

    Paths recorded in the manifest are made relative to `out_dir`, or reduced to the file name.
    A write that fails (a full disk, a read-only folder) raises `OutputError`. `texts` are further
    files written as given (``recommended.toml``)."""
    out_dir = Path(out_dir)
    texts = texts or {}
    recorded = scrub_paths(meta, out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        clean_temporary(out_dir)
        tmp = _make_temp_dir(out_dir)
    except OSError as exc:
        raise OutputError.from_os_error(exc, out_dir) from None
    try:
        for name, table in tables.items():
            _to_csv(table, tmp / name)
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / "manifest.json").write_text(
            json.dumps(recorded, indent=2, default=str) + "\n", encoding="utf-8"
        )
        _swap_into_place(tmp, out_dir)
    except OSError as exc:
        raise OutputError.from_os_error(exc, out_dir) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(out_dir / n for n in [*tables, *texts, "manifest.json"])


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Make the complete folder `tmp` be `out_dir`, replacing what was there."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.parent / f"{_temp_prefix(out_dir)}old-{secrets.token_hex(4)}"
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except OSError:
        os.replace(old, out_dir)  # put the earlier run back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _with_scenario(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = df.copy()
    out.insert(0, "scenario", name)
    return out


def write_file_atomically(path: Path, build: Callable[[Path], None]) -> None:
    """Call `build(tmp)` to write a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError.from_os_error(exc, path.parent) from None
    os.close(fd)
    try:
        build(Path(tmp))
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError.from_os_error(exc, path.parent) from None
        raise


def write_text(path: Path, text: str) -> None:
    """Write one text file (UTF-8) atomically."""

    def build(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_file_atomically(path, build)


def write_table(path: Path, table: pd.DataFrame) -> None:
    """Write one CSV atomically, its text cells safe for spreadsheets."""
    write_file_atomically(path, lambda tmp: _to_csv(table, tmp))
