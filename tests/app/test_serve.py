"""`techbar app` takes its Streamlit server down with it: stopped by SIGTERM (a service manager,
`kill`, a test's teardown), it does not leave the server serving the port."""

from __future__ import annotations

import signal
import time

from sim.app import STOP_TIMEOUT_S
from tests.app.server import answers, start, stop


def test_sigterm_stops_the_server_too(tmp_path) -> None:
    proc, url = start(tmp_path / "cache", tmp_path / "app.log")
    try:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=STOP_TIMEOUT_S + 10)
        deadline = time.monotonic() + 5
        while answers(url) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not answers(url), "the page's server outlived `techbar app`"
        assert code == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            stop(proc)
