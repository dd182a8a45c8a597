"""Loading a scenario from TOML and applying overrides. Overrides are applied to the raw data
before validation, so an override is checked exactly like the file.

Overrides are data: ``(key, value)`` pairs or a mapping ``{"sites.0.engineers": 3}``. The command
line's ``KEY=VALUE`` strings are accepted too and parsed once, here at the edge
(:func:`parse_override`); a value given as data is never turned back into text.

A key is a dotted path with list indices (``sites.0.engineers``) or names (``sites.Fresh
Wharf.open``), and may reach many places at once: ``*`` is every entry of a list or table
(``sites.*.open``) and ``[field=value]`` the entries whose field has that value
(``sites[bcu="East Area (EA)"].engineers``; the value is read as a TOML value). A key that
reaches nothing is an error naming it. Keys and values are matched and set as data; nothing is
evaluated.

A scenario loaded with overrides is a what-if: it is named by ``name`` (``--name``), by a
``name`` override, or else after its overrides (:func:`whatif_name`)."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from pydantic import (
    ValidationError,
)

from sim.scenario.errors import ScenarioError, explain
from sim.scenario.inherit import embedded_dir, resolve_base
from sim.scenario.keys import parse_key, set_at, split_assignment
from sim.scenario.schema import DEFAULT_SCENARIO, Scenario
from sim.scenario.whatif import check_name, whatif_name

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


def scenario_path(path: Path | str | None) -> Path:
    """The file of a scenario: the embedded default for None, an embedded scenario's file for
    its bare name (``met_trial_2018``) when no such file exists here, else the path itself."""
    if path is None:
        return default_scenario_path()
    path = Path(path)
    embedded = embedded_dir() / f"{path.name}.toml"
    if not path.suffix and not path.exists() and path.name == str(path) and embedded.is_file():
        return embedded
    return path


def read_scenario(path: Path | str | None) -> dict[str, Any]:
    """A scenario file as raw data, its ``base`` resolved (:mod:`sim.scenario.inherit`)."""
    path = scenario_path(path)
    return resolve_base(read_toml(path), path.parent, read_toml, (path.resolve(),))


def parse_override(text: str | Override) -> Override:
    """'sites.0.engineers=3' → ('sites.0.engineers', 3); the value is read as a TOML value,
    or kept as a plain string when it is not one (so `open=09:00` works unquoted). The key ends
    at the first '=' outside a filter's brackets (``sites[bcu="EA"].engineers=3``).

    A ``(key, value)`` pair is returned as it is (its key checked): the value is already data."""
    if not isinstance(text, str):
        return _pair(text)
    split = split_assignment(text)
    key, sep, raw = (split[0], "=", split[1]) if split else text.partition("=")
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
    if not key:
        raise ScenarioError(
            f"override key '{item[0]}': expected a dotted path such as sites.0.engineers"
        )
    parse_key(key)  # a malformed key is refused here, before anything is read
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
    """Return a copy of raw scenario data with `value` set at every place dotted `key` reaches
    (see :mod:`sim.scenario.keys`: indices, names, ``*`` and ``[field=value]`` filters).

    Missing tables on the way are created; whether the key is allowed is then decided by
    validation, like any key in the file."""
    data = copy.deepcopy(data)
    set_at(data, key, value)
    return data


def validate(data: dict[str, Any], source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(explain(exc, data, source, Scenario)) from None
    except RecursionError:
        raise ScenarioError(f"invalid scenario ({source}): values are nested too deeply") from None


def apply_overrides(data: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """Return a copy of raw scenario data with every override applied, in order."""
    return resolve_overrides(data, overrides)[0]


@dataclass(frozen=True)
class Applied:
    """An override as given and the plain keys it set (many for ``*`` or a filter)."""

    key: str
    value: Any
    applied_to: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "applied_to": list(self.applied_to)}


def resolve_overrides(
    data: dict[str, Any], overrides: Overrides
) -> tuple[dict[str, Any], list[Applied]]:
    """A copy of raw scenario data with every override applied in order, and what each set."""
    data = copy.deepcopy(data)
    applied = []
    for key, value in override_pairs(overrides):
        try:
            places = set_at(data, key, value)
        except RecursionError:
            raise ScenarioError(f"--set {key}: the value is nested too deeply") from None
        applied.append(Applied(key, value, tuple(places)))
    return data, applied


@dataclass(frozen=True)
class WhatIf:
    """A scenario changed by overrides: its name, the scenario it changes and what changed."""

    name: str
    base: str
    overrides: tuple[Applied, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base,
            "overrides": [a.as_dict() for a in self.overrides],
        }


def load_whatif(
    path: Path | str | None = None, overrides: Overrides = (), name: str | None = None
) -> tuple[Scenario, WhatIf | None]:
    """The scenario as :func:`load_scenario` gives it, and — when it has overrides or a
    `name` — the what-if it is (None for the file as it is)."""
    source = str(path) if path is not None else f"embedded default '{DEFAULT_SCENARIO}'"
    raw = read_scenario(path)
    data, applied = resolve_overrides(raw, overrides)
    if name is not None:
        name = check_name(name)
        given = [a.value for a in applied if a.key == "name"]
        if given and given[-1] != name:
            raise ScenarioError(
                f"--name '{name}' and --set name={given[-1]!r} disagree; give the name once"
            )
        data["name"] = name
    elif applied and not any(a.key == "name" for a in applied):
        data["name"] = whatif_name([(a.key, a.value) for a in applied])
    try:
        scenario = validate(data, source)
    except ScenarioError as exc:
        raise ScenarioError(_blame(str(exc), applied)) from None
    if not applied and name is None:
        return scenario, None
    base = raw.get("name") if isinstance(raw.get("name"), str) else DEFAULT_SCENARIO
    return scenario, WhatIf(scenario.name, str(base), tuple(applied))


def _blame(message: str, applied: list[Applied]) -> str:
    """A validation message about keys that a ``*`` or filter set says which override set them."""
    notes = [
        f"(set by --set {a.key})"
        for a in applied
        if list(a.applied_to) != [a.key]
        and any(f"'{k}'" in message or f"'{k}." in message for k in a.applied_to)
    ]
    return message + "".join(f"\n  {n}" for n in notes)


def load_scenario(
    path: Path | str | None = None, overrides: Overrides = (), *, name: str | None = None
) -> Scenario:
    """Load a scenario file (the embedded default when `path` is None) and apply overrides:
    a mapping ``{"sites.0.engineers": 3}``, ``(key, value)`` pairs, or ``"KEY=VALUE"`` strings
    as given to ``--set`` (values read as TOML). Keys may use ``*`` and ``[field=value]``
    filters (``{"sites.*.open": "08:00"}``).

    With overrides the scenario is a what-if, named `name`, or by a ``name`` override, or else
    after its overrides ("sites.*.open=08:00")."""
    return load_whatif(path, overrides, name)[0]


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data, in the same keys as the TOML file."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
