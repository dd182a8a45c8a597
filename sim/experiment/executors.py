"""Where replications run: this process, a local process pool, or a Dask cluster.

All three are used through the ``concurrent.futures.Executor`` interface (Dask's
``Client.get_executor()`` provides one), so the runner has a single code path. Results never
depend on the executor: each job is a pure function of (scenario, seed, replication).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager


class ExecutorError(RuntimeError):
    """The requested executor cannot be used (message says why and what to do)."""


def default_workers() -> int:
    return os.cpu_count() or 1


@contextmanager
def open_executor(workers: int | None = None, dask: str | None = None) -> Iterator[Executor | None]:
    """Yield an executor; None means run in this process (one worker, no pool to start)."""
    if dask is not None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError(
                "--dask needs the optional extra: pip install 'techbar-sim[dask]'"
            ) from None
        try:
            client = Client(dask, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(f"--dask {dask}: cannot reach the scheduler ({exc})") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    workers = workers or default_workers()
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(workers) as pool:
        yield pool
