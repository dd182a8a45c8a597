"""Where replications run: this process, a local process pool, or a Dask cluster.

All three are used through the ``concurrent.futures.Executor`` interface (Dask's
``Client.get_executor()`` provides one), so the runner has a single code path. Results never
depend on the executor: each job is a pure function of (scenario, seed, replication).

Pool workers never outlive the process that started them: on Linux each asks the kernel for
SIGKILL when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and everywhere a daemon thread in
each worker watches its parent and exits when it is gone. Workers ignore Ctrl-C (SIGINT): the
parent handles it, cancels what has not started and terminates the workers, so an interrupted
run stops at once, without a traceback from each worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

DASK_TIMEOUT_S = 10.0  # default; the command sets it from --dask-timeout (set_dask_timeout)
PARENT_POLL_S = 1.0
PR_SET_PDEATHSIG = 1


class ExecutorError(RuntimeError):
    """The requested executor cannot be used (message says why and what to do)."""


def default_workers() -> int:
    return os.cpu_count() or 1


def set_dask_timeout(seconds: float) -> None:
    """How long connecting to a Dask scheduler may take before it is given up."""
    global DASK_TIMEOUT_S
    DASK_TIMEOUT_S = float(seconds)


def _parent_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed parent not yet reaped is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _watch_parent(parent_pid: int, first_ppid: int, poll_s: float) -> None:
    while os.getppid() == first_ppid and _parent_alive(parent_pid):
        threading.Event().wait(poll_s)
    os._exit(1)


def _worker_init(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """In each pool worker: die with the parent, and leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    first_ppid = os.getppid()
    if not _parent_alive(parent_pid):  # the parent died before the watch was set up
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid, first_ppid, poll_s), daemon=True
    ).start()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel queued jobs and terminate the workers (after Ctrl-C or an
    error, there is no point finishing replications nobody will see)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            p.terminate()
    for p in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError, AssertionError):
            p.join(timeout=5)


def _check_dask_address(address: str, timeout_s: float) -> None:
    """Fail fast, with a message, on an address that is malformed or where nothing listens."""
    import socket

    try:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
    except ValueError as exc:
        raise ExecutorError(
            f"--dask {address}: not an address ({exc}); give e.g. tcp://scheduler:8786"
        ) from None
    if parts.scheme not in ("tcp", "tls", "ws", "wss", "ucx", "inproc"):
        raise ExecutorError(
            f"--dask {address}: unknown scheme '{parts.scheme}'; give e.g. tcp://scheduler:8786"
        )
    if parts.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ExecutorError(f"--dask {address}: give a host and port, e.g. tcp://scheduler:8786")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"--dask {address}: cannot reach the scheduler within {timeout_s:g} s "
            f"({exc.strerror or exc}); check the address, or raise --dask-timeout"
        ) from None


def _connect(client_class, address: str, timeout_s: float):
    """A connected Dask client, or ExecutorError within about `timeout_s`: the connection is
    made in a daemon thread, since a server that accepts but never answers can hold it up
    longer than the client's own timeout."""
    done = threading.Event()
    box: dict = {}

    def connect() -> None:
        try:
            box["client"] = client_class(address, timeout=f"{timeout_s}s")
        except BaseException as exc:  # a wrong or non-Dask server fails in many ways
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=connect, name="techbar-dask-connect", daemon=True).start()
    if not done.wait(timeout_s + 2):
        raise ExecutorError(
            f"--dask {address}: no Dask scheduler answered within {timeout_s:g} s (the server "
            "accepted the connection but said nothing); check the address, or raise "
            "--dask-timeout"
        )
    if "error" in box:
        exc = box["error"]
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ExecutorError(
            f"--dask {address}: no Dask scheduler answered within {timeout_s:g} s ({reason})"
        )
    return box["client"]


@contextmanager
def _dask_executor(address: str, timeout_s: float) -> Iterator[Executor]:
    try:
        from distributed import Client
    except ImportError:
        raise ExecutorError(
            "--dask needs the optional extra: pip install 'techbar-sim[dask]'"
        ) from None
    _check_dask_address(address, timeout_s)
    client = _connect(Client, address, timeout_s)
    try:
        yield client.get_executor()
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=timeout_s)


@contextmanager
def open_executor(
    workers: int | None = None, dask: str | None = None, dask_timeout: float | None = None
) -> Iterator[Executor | None]:
    """Yield an executor; None means run in this process (one worker, no pool to start)."""
    if dask is not None:
        timeout = DASK_TIMEOUT_S if dask_timeout is None else dask_timeout
        with _dask_executor(dask, timeout) as executor:
            yield executor
        return
    workers = workers or default_workers()
    if workers <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)
