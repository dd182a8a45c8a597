"""Loading a scenario from TOML and applying overrides. Overrides are applied to the raw data
before validation, so an override is checked exactly like the file."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from sim.scenario.errors import ScenarioError, explain
from sim.scenario.schema import DEFAULT_SCENARIO, Scenario


def default_scenario_path() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios" / f"{DEFAULT_SCENARIO}.toml"


def read_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"file '{path}' not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"file '{path}' cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"file '{path}' is not valid TOML: {exc}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """'sites.0.engineers=3' → ('sites.0.engineers', 3); the value is read as a TOML value,
    or kept as a plain string when it is not one (so `open=09:00` works unquoted)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(f"--set '{text}': expected KEY=VALUE, e.g. sites.0.engineers=3")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_override(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return a copy of raw scenario data with `value` set at dotted `key`.

    Path parts index lists by number (``sites.0``) or, for lists of named tables, by name
    (``sites.Fresh Wharf``). Missing tables on the way are created; whether the key is allowed is
    then decided by validation, like any key in the file.
    """
    data = copy.deepcopy(data)
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


def load_scenario(path: Path | str | None = None, overrides: list[str] = ()) -> Scenario:
    """Load a scenario file (the embedded default when `path` is None) and apply overrides."""
    source = str(path) if path is not None else f"embedded default '{DEFAULT_SCENARIO}'"
    data = read_toml(path if path is not None else default_scenario_path())
    for text in overrides:
        data = apply_override(data, *parse_override(text))
    return validate(data, source)


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data, in the same keys as the TOML file."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
