"""Start `techbar app` on a free port for a test, and wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

START_TIMEOUT_S = 120  # server start on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    """The page's server answers its health check."""
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def start(cache: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`techbar app` started on a free port with its results store under `cache`, its output
    in `log`: the process and the page's URL, once the page answers (else the test fails)."""
    port = free_port()
    env = {**os.environ, "TECHBAR_CACHE_DIR": str(cache)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim", "app", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while not answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            pytest.fail("the page did not start:\n" + log.read_text())
        time.sleep(0.5)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
