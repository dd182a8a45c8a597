"""Fuzzing the scenario input: the embedded default scenario, mutated at random paths (a key
deleted, a value of the wrong type, a number pushed to 0, negative, huge, NaN or infinite), run
through the command in-process. Every run either succeeds or stops with exit code 2 and one
message, without writing an output folder; nothing raises and nothing hangs."""

import contextlib
import copy
import datetime as dt
import json
import math
import re
import signal
import tempfile
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario import default_scenario_path, read_toml

DEFAULT = read_toml(default_scenario_path())
SECONDS_PER_RUN = 60  # a run of one week and one replication takes well under a second


def _paths(node, prefix=()):
    """Every key path in the data (tables and lists, and their leaves)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _paths(value, (*prefix, key))


def _get(node, path):
    for part in path:
        node = node[part]
    return node


PATHS = list(_paths(DEFAULT))
NUMBER_PATHS = [
    p for p in PATHS if isinstance(v := _get(DEFAULT, p), int | float) and not isinstance(v, bool)
]

HUGE = [1e300, 1e308, 10**18, 1.7976931348623157e308, 1e13]
NUMBERS = st.sampled_from([0, 0.0, -1, -0.5, 1e-320, math.nan, math.inf, -math.inf, *HUGE])
WRONG_TYPES = st.sampled_from(["x", "", [], {}, True, [1, "a"], {"dist": "weibull"}, "ALL"])
MUTATION = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(PATHS), WRONG_TYPES),
    st.tuples(st.just("set"), st.sampled_from(NUMBER_PATHS), NUMBERS),
    st.tuples(st.just("scale"), st.sampled_from(NUMBER_PATHS), st.sampled_from([10, 1e6])),
)


def _mutate(data, mutations):
    data = copy.deepcopy(data)
    for op, path, value in mutations:
        try:
            parent = _get(data, path[:-1])
            key = path[-1]
            current = parent[key]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
        if op == "delete":
            del parent[key]
        elif op == "set":
            parent[key] = value
        elif isinstance(current, int | float) and not isinstance(current, bool):
            parent[key] = current * value
    return data


# --------------------------------------------------------------------------- a small TOML writer

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _key(k) -> str:
    return k if _BARE.match(str(k)) else json.dumps(str(k))


def toml_document(data: dict) -> str:
    return "".join(f"{_key(k)} = {_toml(v)}\n" for k, v in data.items())


def test_the_writer_round_trips_the_default_scenario():
    assert tomllib.loads(toml_document(DEFAULT)) == DEFAULT


# --------------------------------------------------------------------------- the fuzz test


@contextlib.contextmanager
def _time_limit(seconds: int):
    def _hung(signum, frame):
        raise TimeoutError(f"a run took longer than {seconds} s: its input must be refused")

    old = signal.signal(signal.SIGALRM, _hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_a_mutated_scenario_runs_or_is_refused_with_one_message(mutations, capsys):
    data = _mutate(DEFAULT, mutations)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.toml"
        path.write_text(toml_document(data), encoding="utf-8")
        out = Path(tmp) / "out"
        argv = ["run", str(path), "--reps", "1", "--set", "horizon_weeks=1", "--no-cache"]
        argv += ["--quiet", "--workers", "1", "--out", str(out)]
        capsys.readouterr()
        with _time_limit(SECONDS_PER_RUN):
            code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 2), (code, err)
        if code == 2:
            assert err.startswith("techbar: error: ") and len(err.strip()) > len("techbar: error:")
            assert not out.exists(), "a refused scenario must write nothing"
        else:
            assert (out / "summary.csv").exists()
