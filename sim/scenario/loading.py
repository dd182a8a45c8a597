"""Loading a scenario from TOML and applying overrides. Overrides are applied to the raw data
before validation, so an override is checked exactly like the file.

Overrides are data: ``(key, value)`` pairs or a mapping ``{"sites.0.engineers": 3}``. The command
line's ``KEY=VALUE`` strings are accepted too and parsed once, here at the edge
(:func:`parse_override`); a value given as data is never turned back into text."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from pydantic import (
    ValidationError,
)

from sim.scenario.errors import ScenarioError, explain
from sim.scenario.schema import DEFAULT_SCENARIO, Scenario

MAX_FILE_BYTES = 5 * 1024 * 1024  # a scenario or experiment file is a few kB; refuse > 5 MB

Override: TypeAlias = tuple[str, Any]
Overrides: TypeAlias = Mapping[str, Any] | Iterable[str | Override] | str | None


def default_scenario_path() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios" / f"{DEFAULT_SCENARIO}.toml"


def read_toml(path: Path | str) -> dict[str, Any]:
    """A TOML file as data; a missing, unreadable, oversized (> 5 MB), too deeply nested or
    malformed file is a ScenarioError."""
    path = Path(path)
    try:
        with path.open("rb") as f:  # read at most the cap (also bounds a device or a pipe)
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(f"file '{path}' not found") from None
    except (OSError, MemoryError) as exc:
        raise ScenarioError(f"file '{path}' cannot be read: {exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            f"file '{path}' is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; a scenario or "
            "experiment file is a few kB"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"file '{path}' cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"file '{path}' is not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):
        raise ScenarioError(
            f"file '{path}' is nested too deeply or too large to read; arrays and tables may "
            "nest a few levels, as in the embedded default"
        ) from None


def parse_override(text: str | Override) -> Override:
    """'sites.0.engineers=3' → ('sites.0.engineers', 3); the value is read as a TOML value,
    or kept as a plain string when it is not one (so `open=09:00` works unquoted).

    A ``(key, value)`` pair is returned as it is (its key checked): the value is already data."""
    if not isinstance(text, str):
        return _pair(text)
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set '{text}': expected KEY=VALUE, e.g. sites.0.engineers=3")
    raw = raw.strip()
    try:
        doc = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        doc = None
    except (RecursionError, MemoryError):
        raise ScenarioError(f"--set {key}: the value is nested too deeply") from None
    # exactly one TOML value, else the text itself (a newline must not smuggle in other keys)
    value = doc["v"] if doc is not None and list(doc) == ["v"] else raw
    return _pair((key, value))


def _pair(item: Any) -> Override:
    if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
        raise ScenarioError(
            f"override {item!r}: expected 'KEY=VALUE' text or a (key, value) pair, "
            "e.g. ('sites.0.engineers', 3)"
        )
    key, value = item[0].strip(), item[1]
    if not key or any(not part.strip() for part in key.split(".")):
        raise ScenarioError(
            f"override key '{item[0]}': expected a dotted path such as sites.0.engineers"
        )
    return key, value


def override_pairs(overrides: Overrides) -> list[Override]:
    """Overrides as (key, value) pairs, in order: from a mapping, from pairs, or from the
    command line's 'KEY=VALUE' strings (parsed here, once)."""
    if overrides is None:
        return []
    if isinstance(overrides, str):  # one KEY=VALUE, not its characters
        return [parse_override(overrides)]
    if isinstance(overrides, Mapping):
        return [_pair((k, v)) for k, v in overrides.items()]
    return [parse_override(item) for item in overrides]


def apply_override(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return a copy of raw scenario data with `value` set at dotted `key`.

    Path parts index lists by number (``sites.0``) or, for lists of named tables, by name
    (``sites.Fresh Wharf``). Missing tables on the way are created; whether the key is allowed is
    then decided by validation, like any key in the file.
    """
    data = copy.deepcopy(data)
    value = copy.deepcopy(value)  # the scenario never shares a caller's list or table
    parts = key.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            idx = _list_index(node, part, here)
            if last:
                node[idx] = value
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            parent = ".".join(parts[:depth])
            raise ScenarioError(f"--set {key}: '{parent}' is a value, not a table or list")
    return data


def _list_index(node: list, part: str, here: str) -> int:
    if part.lstrip("-").isdigit():
        idx = int(part)
        if not 0 <= idx < len(node):
            raise ScenarioError(
                f"--set {here}: index {idx} is out of range; allowed 0 to {len(node) - 1}"
            )
        return idx
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if part in names:
        return names.index(part)
    raise ScenarioError(
        f"--set {here}: no entry named '{part}'; use an index 0 to {len(node) - 1}"
        + (f" or one of: {', '.join(map(str, names))}" if any(names) else "")
    )


def validate(data: dict[str, Any], source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(explain(exc, data, source, Scenario)) from None
    except RecursionError:
        raise ScenarioError(f"invalid scenario ({source}): values are nested too deeply") from None


def apply_overrides(data: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """Return a copy of raw scenario data with every override applied, in order."""
    for key, value in override_pairs(overrides):
        try:
            data = apply_override(data, key, value)
        except RecursionError:
            raise ScenarioError(f"--set {key}: the value is nested too deeply") from None
    return data


def load_scenario(path: Path | str | None = None, overrides: Overrides = ()) -> Scenario:
    """Load a scenario file (the embedded default when `path` is None) and apply overrides:
    a mapping ``{"sites.0.engineers": 3}``, ``(key, value)`` pairs, or ``"KEY=VALUE"`` strings
    as given to ``--set`` (values read as TOML)."""
    source = str(path) if path is not None else f"embedded default '{DEFAULT_SCENARIO}'"
    data = read_toml(path if path is not None else default_scenario_path())
    return validate(apply_overrides(data, overrides), source)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data, in the same keys as the TOML file."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
