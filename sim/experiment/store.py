"""The results store: each replication's KPI tables, kept under a content hash.

The key covers everything that determines a replication's results: the resolved scenario (less
its name and description), the seed, the replication index and the model version (a hash of the
package's source). So an interrupted sweep redoes only what had not finished, a finished one is
read back at once, and a code change never serves stale results. Entries are written to a
temporary file and renamed into place, so a killed run leaves no half-written entry.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.scenario import Scenario, scenario_to_dict

TMP_PREFIX = ".tmp-"


@lru_cache(maxsize=1)
def model_version() -> str:
    """A hash of the simulation package's source files and embedded scenarios."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.toml")]):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def job_key(scenario: Scenario, seed: int, replication: int) -> str:
    content = scenario_to_dict(scenario)
    content.pop("name", None)
    content.pop("description", None)
    blob = json.dumps(
        {"scenario": content, "seed": seed, "replication": replication, "model": model_version()},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pkl.gz"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        if not path.exists():
            return None
        with gzip.open(path, "rb") as f:
            return pickle.load(f)

    def put(self, key: str, value: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
        try:
            with (
                os.fdopen(fd, "wb") as raw,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as f,
            ):
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.root.rglob("*.pkl.gz")) if self.root.exists() else 0

    def clean_temporary(self) -> int:
        """Remove temporary files a killed run left behind; return how many."""
        stale = list(self.root.rglob(f"{TMP_PREFIX}*")) if self.root.exists() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)
