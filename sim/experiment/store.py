"""The results store: each replication's KPI tables, kept as data under a content hash.

Where it lives: ``--cache DIR`` if given, else the folder named by the environment variable
``TECHBAR_CACHE_DIR``, else the per-user cache folder (``platformdirs.user_cache_dir``: e.g.
``~/.cache/techbar-sim`` on Linux, ``~/Library/Caches/techbar-sim`` on macOS,
``%LOCALAPPDATA%\\techbar-sim\\Cache`` on Windows); see `default_store_root`.

An entry holds one replication of a scenario or, as the runner files them, of one component
(`sim.experiment.components`: the scenario cut to one component's sites, its key prefixed so
it never meets a whole scenario's). The key covers everything that determines its results:
the resolved scenario (less its name and description), the seed, the replication index and
the model version — a hash of the code that computes and shapes the stored tables (the model
modules, ``sim/kpis``, ``sim/scenario``, the embedded scenarios, the runner and this store) and
of the numpy, pandas and simpy versions, but not of the report, plotting or command code
(`model_version`). So an interrupted sweep redoes only what had not finished, a finished one is
read back at once, and a change to the model or its libraries never serves stale results.

An entry is data, never code: gzip-compressed JSON holding a header — the format and its
version and exactly the job the entry is filed under (key, scenario hash, seed, replication,
model version) — and the replication's tables, column by column with their dtypes (floats as
Python's shortest round-trip repr, so values come back bit for bit). Reading an entry never
runs code. An entry that is unreadable, truncated, empty, of another format (such as the pickles
older versions wrote) or filed under another job is a miss: the replication is recomputed and
its entry replaced. Entries are written to a temporary file and renamed into place, so a killed
run leaves no half-written entry, only a temporary file that `ResultStore.clean_temporary`
removes, and processes may write entries at the same time (a local pool's workers file their own:
`ResultStore.put_or_error`, reported in the parent by `ResultStore.filed`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import socket
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd
import platformdirs
import simpy

from sim.scenario import Scenario, scenario_to_dict

log = logging.getLogger(__name__)

ENV_VAR = "TECHBAR_CACHE_DIR"
APP_NAME = "techbar-sim"
FORMAT = "techbar-sim replication tables"
FORMAT_VERSION = 1
SUFFIX = ".json.gz"
LEGACY_SUFFIX = ".pkl.gz"  # the pickled entries of earlier versions: never read, removed
TMP_PREFIX = ".tmp-"
MAX_ENTRY_BYTES = 256 * 2**20  # decompressed; anything larger is not an entry of ours
MEMORY_ENTRIES = 1_000  # entries a long-lived caller keeps in memory (0.1–0.2 MB each)
FOREIGN_TMP_AGE_S = 24 * 3600  # another host's temporary file is stale after a day

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the `sim` package
# What does NOT determine a replication's stored tables: everything else under sim/ (the
# model modules, sim/kpis, sim/scenario, sim/scenarios/*.toml, the runner, this store and any
# module added later) is part of the model version, so a new model module can never be missed.
_NOT_MODEL_DIRS = ("report", "cli")
_NOT_MODEL_FILES = (
    "__main__.py",
    "api.py",
    "experiment/__init__.py",
    "experiment/backtest.py",
    "experiment/executors.py",
    "experiment/limits.py",
    "experiment/sensitivity.py",
    "experiment/sizing.py",
    "experiment/sweep.py",
    "scenarios/met_2019.uncertainty.toml",  # ranges for sensitivity analyses, not model inputs
)


def default_store_root() -> Path:
    """The store's folder when ``--cache`` is not given: ``$TECHBAR_CACHE_DIR`` if set, else the
    per-user cache folder for techbar-sim (never a folder under the current directory)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def model_files(root: Path = PACKAGE_ROOT) -> list[Path]:
    """The source files whose content determines stored results, in a stable order."""
    out = []
    for path in [*root.rglob("*.py"), *root.rglob("*.toml")]:
        rel = path.relative_to(root)
        if rel.parts[0] in _NOT_MODEL_DIRS or rel.as_posix() in _NOT_MODEL_FILES:
            continue
        if "__pycache__" in rel.parts:
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def library_versions() -> dict[str, str]:
    return {"numpy": np.__version__, "pandas": pd.__version__, "simpy": simpy.__version__}


def compute_model_version(
    root: Path = PACKAGE_ROOT, libraries: Mapping[str, str] | None = None
) -> str:
    """A hash of `model_files` (paths and contents) and of the libraries' versions."""
    h = hashlib.sha256()
    for path in model_files(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    libs = library_versions() if libraries is None else dict(libraries)
    h.update(json.dumps(libs, sort_keys=True).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def model_version() -> str:
    """The model version of this installation (computed once per process)."""
    return compute_model_version()


@dataclass(frozen=True)
class JobId:
    """Exactly which replication an entry holds; its `key` names the entry's file."""

    scenario: str  # sha256 of the resolved scenario, less its name and description
    seed: int
    replication: int
    model: str

    @property
    def key(self) -> str:
        blob = json.dumps(
            {
                "scenario": self.scenario,
                "seed": self.seed,
                "replication": self.replication,
                "model": self.model,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "key": self.key,
            "scenario": self.scenario,
            "seed": self.seed,
            "replication": self.replication,
            "model": self.model,
        }


def scenario_hash(scenario: Scenario) -> str:
    content = scenario_to_dict(scenario)
    content.pop("name", None)
    content.pop("description", None)
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def job_id(scenario: Scenario, seed: int, replication: int) -> JobId:
    return JobId(scenario_hash(scenario), int(seed), int(replication), model_version())


def job_key(scenario: Scenario, seed: int, replication: int) -> str:
    return job_id(scenario, seed, replication).key


# --- tables as data -------------------------------------------------------------------------


class TableFormatError(ValueError):
    """A table cannot be stored losslessly as data (an unsupported dtype or value), or an
    entry's content is not a valid table."""


_JSON_SCALARS = (str, int, float, bool, type(None))


def _encode_dtype(dtype: Any) -> dict[str, Any]:
    if isinstance(dtype, pd.StringDtype):
        na = getattr(dtype, "na_value", pd.NA)
        return {"kind": "string", "storage": dtype.storage, "na": "NA" if na is pd.NA else "nan"}
    if isinstance(dtype, np.dtype) and dtype.kind in "biufMmO":
        return {"kind": "numpy", "dtype": dtype.str if dtype.kind in "Mm" else dtype.name}
    raise TableFormatError(f"dtype {dtype} cannot be stored")


def _decode_dtype(spec: Mapping[str, Any]) -> Any:
    if spec["kind"] == "string":
        if spec["na"] == "NA":
            return pd.StringDtype(spec["storage"])
        return pd.StringDtype(spec["storage"], na_value=np.nan)
    if spec["kind"] == "numpy":
        dtype = np.dtype(spec["dtype"])
        if dtype.kind in "biufMmO":
            return dtype
    raise TableFormatError(f"unknown dtype {spec!r}")


def _encode_column(series: pd.Series) -> list:
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return [v if isinstance(v, str) else None for v in series.tolist()]
    arr = series.to_numpy()
    if dtype.kind in "Mm":
        return arr.view("i8").tolist()
    values = arr.tolist()
    if dtype.kind == "O" and not all(type(v) in _JSON_SCALARS for v in values):
        raise TableFormatError(f"column {series.name!r} holds values that are not plain data")
    return values


def _types_within(values: list, allowed: tuple[type, ...]) -> bool:
    return set(map(type, values)) <= set(allowed)


def _decode_column(values: list, dtype: Any) -> Any:
    if not isinstance(values, list):
        raise TableFormatError("a column is not a list")
    if isinstance(dtype, pd.StringDtype):
        if not _types_within(values, (str, type(None))):
            raise TableFormatError("a string column holds something else")
        return pd.array(values, dtype=dtype)
    if dtype.kind in "Mm":
        return np.array(values, dtype="i8").view(dtype)
    if dtype.kind == "O":
        if not _types_within(values, _JSON_SCALARS):
            raise TableFormatError("an object column holds something else")
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        return arr
    if dtype.kind == "f":
        if not _types_within(values, (float, int)):
            raise TableFormatError("a float column holds something else")
        return np.array(values, dtype=dtype)
    if not _types_within(values, (int, bool)):
        raise TableFormatError("an integer column holds something else")
    return np.array(values, dtype=dtype)


def encode_table(df: pd.DataFrame) -> dict[str, Any]:
    """A DataFrame as JSON-ready data that `decode_table` turns back into an identical one."""
    if not isinstance(df.index, pd.RangeIndex):
        raise TableFormatError("only tables with a default (range) index can be stored")
    names = list(df.columns)
    if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        raise TableFormatError("column names must be distinct strings")
    if df.attrs:
        raise TableFormatError("tables with attrs cannot be stored")
    columns = [col for _, col in df.items()]  # each column taken out once
    return {
        "index": [df.index.start, df.index.stop, df.index.step],
        "columns": names,
        "columns_dtype": _encode_dtype(df.columns.dtype),
        "dtypes": [_encode_dtype(col.dtype) for col in columns],
        "data": [_encode_column(col) for col in columns],
    }


def decode_table(obj: Mapping[str, Any]) -> pd.DataFrame:
    start, stop, step = obj["index"]
    index = pd.RangeIndex(int(start), int(stop), int(step))
    names = obj["columns"]
    dtypes = [_decode_dtype(s) for s in obj["dtypes"]]
    data = obj["data"]
    if not (len(names) == len(dtypes) == len(data)) or len(set(names)) != len(names):
        raise TableFormatError("columns, dtypes and data do not match")
    columns = {}
    for name, dtype, values in zip(names, dtypes, data, strict=True):
        if not isinstance(name, str) or len(values) != len(index):
            raise TableFormatError("a column's name or length is wrong")
        columns[name] = pd.Series(_decode_column(values, dtype), index=index, copy=False)
    df = pd.DataFrame(columns, index=index)
    df.columns = pd.Index(names, dtype=_decode_dtype(obj["columns_dtype"]))
    return df


# --- the store --------------------------------------------------------------------------------


class Entry(NamedTuple):
    header: dict[str, Any]
    tables: dict[str, pd.DataFrame]


def _write_file(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


_TMP_NAME = re.compile(rf"^{re.escape(TMP_PREFIX)}(\d+)\.([0-9a-f]{{8}})\.")
_SHARD = "[0-9a-f][0-9a-f]"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill would end the process there: assume it is alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


class Store(Protocol):
    """Where the runner looks for a job's tables and files them (`ResultStore`, `MemoryStore`)."""

    def get(self, job: JobId) -> dict[str, pd.DataFrame] | None: ...

    def save(self, job: JobId, tables: Mapping[str, pd.DataFrame]) -> bool: ...


class MemoryStore:
    """Entries kept in this process only, for one piece of work that asks for the same
    results again (a sizing's rounds) when no results store is used; their tables are shared,
    so whoever gets them must not change them."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, pd.DataFrame]] = {}

    def get(self, job: JobId) -> dict[str, pd.DataFrame] | None:
        return self._entries.get(job.key)

    def save(self, job: JobId, tables: Mapping[str, pd.DataFrame]) -> bool:
        self._entries[job.key] = dict(tables)
        return True

    def __len__(self) -> int:
        return len(self._entries)


class ResultStore:
    """Replication tables on disk under `JobId.key`; see the module docstring."""

    def __init__(self, root: Path | str | None = None, memory: int = 0):
        """`memory`: how many entries to also keep in memory (the most recently read or
        filed), for a process that asks for the same results again; their tables are shared,
        so whoever gets them must not change them."""
        self.root = default_store_root() if root is None else Path(root)
        self.unwritable: str | None = None  # why `save` stopped writing, once it has
        self.memory = memory
        self._recent: OrderedDict[str, Entry] = OrderedDict()

    def _remember(self, job: JobId, tables: Mapping[str, pd.DataFrame]) -> None:
        if self.memory <= 0:
            return
        self._recent[job.key] = Entry(job.header(), dict(tables))
        self._recent.move_to_end(job.key)
        while len(self._recent) > self.memory:
            self._recent.popitem(last=False)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def entries(self) -> Iterator[Path]:
        """The entry files in the store (whole ones: temporary files are not entries)."""
        try:
            yield from sorted(self.root.glob(f"{_SHARD}/*{SUFFIX}"))
        except OSError:
            return

    def read_entry(self, path: Path | str) -> Entry | None:
        """An entry's header and tables, or None for anything that is not a valid entry."""
        try:
            with gzip.open(path, "rb") as f:
                raw = f.read(MAX_ENTRY_BYTES + 1)
            if len(raw) > MAX_ENTRY_BYTES:
                return None
            obj = json.loads(raw.decode("utf-8"))
            header, tables = obj["header"], obj["tables"]
            if (
                not isinstance(header, dict)
                or header.get("format") != FORMAT
                or header.get("format_version") != FORMAT_VERSION
                or not isinstance(tables, dict)
            ):
                return None
            return Entry(header, {str(k): decode_table(v) for k, v in tables.items()})
        except Exception:  # unreadable, truncated, empty, foreign or corrupt: not an entry
            return None

    def get(self, job: JobId) -> dict[str, pd.DataFrame] | None:
        """The tables filed for exactly `job`, or None (a miss) if there is no such entry."""
        recent = self._recent.get(job.key)
        if recent is not None and recent.header == job.header():
            self._recent.move_to_end(job.key)
            return recent.tables
        entry = self.read_entry(self.path(job.key))
        if entry is None or entry.header != job.header():
            return None
        self._remember(job, entry.tables)
        return entry.tables

    def put(self, job: JobId, tables: Mapping[str, pd.DataFrame]) -> None:
        """File `tables` under `job`. Raises TableFormatError if a table cannot be stored as
        data, OSError if the store cannot be written; either way no entry is left behind."""
        payload = {
            "header": job.header(),
            "tables": {name: encode_table(df) for name, df in tables.items()},
        }
        blob = json.dumps(payload, separators=(",", ":"), allow_nan=True).encode("utf-8")
        data = gzip.compress(blob, compresslevel=6, mtime=0)
        path = self.path(job.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix = f"{TMP_PREFIX}{os.getpid()}.{_host_tag()}."
        fd, tmp = tempfile.mkstemp(prefix=prefix, dir=path.parent)
        try:
            _write_file(fd, data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save(self, job: JobId, tables: Mapping[str, pd.DataFrame]) -> bool:
        """`put`, for a run that must go on whatever the store does: the first failure is
        reported in one warning line and the store is not written again; True if filed."""
        self._remember(job, tables)
        if self.unwritable is not None:
            return False
        try:
            self.put(job, tables)
        except (OSError, TableFormatError) as exc:
            self.failed(str(exc))
            return False
        return True

    def filed(self, job: JobId, tables: Mapping[str, pd.DataFrame], error: str | None) -> None:
        """`tables` were filed under `job` by another process on this machine (a pool worker,
        with `put_or_error`), or could not be (`error`): kept in memory as `save` keeps them,
        and a failure reported as `save` reports it (once)."""
        self._remember(job, tables)
        if error is not None:
            self.failed(error)

    def failed(self, error: str) -> None:
        """The store cannot be written: say so in one warning line, the first time only."""
        if self.unwritable is not None:
            return
        self.unwritable = error
        log.warning(
            "cannot write the results store %s (%s); continuing without caching", self.root, error
        )

    def put_or_error(
        self, entries: Sequence[tuple[JobId, Mapping[str, pd.DataFrame]]]
    ) -> str | None:
        """`put` each entry, stopping at the first failure; why it failed, or None. What a pool
        worker runs, so that the parent (`filed`) reports a store that cannot be written."""
        try:
            for job, tables in entries:
                self.put(job, tables)
        except (OSError, TableFormatError) as exc:
            return str(exc)
        return None

    def __len__(self) -> int:
        return sum(1 for _ in self.entries())

    def _is_stale(self, path: Path) -> bool:
        m = _TMP_NAME.match(path.name)
        if m is None:  # written by an earlier version: its writer is long gone
            return True
        pid, host = int(m.group(1)), m.group(2)
        if host == _host_tag():
            return not _pid_alive(pid)
        try:
            return time.time() - path.stat().st_mtime > FOREIGN_TMP_AGE_S
        except OSError:
            return False

    def clean_temporary(self) -> int:
        """Remove what killed runs left behind — temporary files whose writer is no longer
        running — and entries in the old pickle format, which are never read; return how many
        files went. Never fails: what cannot be removed stays."""
        try:
            tmp = [p for p in self.root.glob(f"{_SHARD}/{TMP_PREFIX}*") if self._is_stale(p)]
            legacy = [
                p
                for p in self.root.glob(f"{_SHARD}/*{LEGACY_SUFFIX}")
                if re.fullmatch(r"[0-9a-f]{64}", p.name.removesuffix(LEGACY_SUFFIX))
            ]
        except OSError:
            return 0
        removed = 0
        for p in [*tmp, *legacy]:
            try:
                p.unlink(missing_ok=True)
                removed += 1
            except OSError:
                pass
        return removed
