"""A scenario built on another: ``base = "met_2019"`` (an embedded scenario's name) or
``base = "other.toml"`` (a path relative to the file that names it).

The file's own keys are merged over the base's, so one source of truth serves both:

- tables (``[service]``, ``[demand]``, ``[categories.laptop]``…) merge key by key, recursively;
- the lists of named entries, ``sites`` and ``popups``, are extended: each ``[[sites]]`` entry of
  the file is merged over the base's entry of the same name (only the keys it gives change) or,
  with a new name, appended (a new desk). An empty list (``popups = []``) empties the list;
- ``sites_remove = ["South Area"]`` (or ``[[sites_remove]]`` tables with a ``name``) removes
  entries of the base's list before the file's entries are merged; likewise ``popups_remove``;
- ``[base_keep]`` keeps only the named entries of a base's list (in that order):
  ``sites = ["Fresh Wharf"]``; the file's entries are then merged over them or appended;
- any other value, lists included (``calendar.closed_dates``), replaces the base's wholly.

A new desk's users are moved from other catchments with ``users_from``
(:mod:`sim.scenario.catchments`), so the force's user count stays what it was.

A base may itself have a base. A base that cannot be found, a cycle, a ``base`` that is not a
string, a ``[base_keep]`` or a ``*_remove`` naming an entry the base does not have, and an entry
named twice in the file are refused, naming the key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.scenario.catchments import move_users
from sim.scenario.errors import ScenarioError

BASE_KEY = "base"
KEEP_KEY = "base_keep"
NAMED_LISTS = ("sites", "popups")  # lists of entries with a unique name, extended by name
REMOVE_SUFFIX = "_remove"
REMOVE_KEYS = tuple(f"{key}{REMOVE_SUFFIX}" for key in NAMED_LISTS)
MAX_DEPTH = 8  # a chain of bases this long is a mistake, not a design


def embedded_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios"


def embedded_names() -> list[str]:
    return sorted(p.stem for p in embedded_dir().glob("*.toml"))


def base_path(base: Any, here: Path | None) -> Path:
    """Where ``base = …`` points: an embedded scenario's name, or a path relative to `here`
    (the folder of the file naming it)."""
    if not isinstance(base, str) or not base.strip():
        raise ScenarioError(
            f"{BASE_KEY}: expected the name of an embedded scenario "
            f"({', '.join(embedded_names())}) or a path to a TOML file, got {base!r}"
        )
    if not base.endswith(".toml") and "/" not in base and "\\" not in base:
        path = embedded_dir() / f"{base}.toml"
        if not path.is_file():
            raise ScenarioError(
                f"{BASE_KEY}: no embedded scenario '{base}'; embedded: "
                f"{', '.join(embedded_names())} (or give a path ending in .toml)"
            )
        return path
    path = Path(base)
    if not path.is_absolute() and here is not None:
        path = here / path
    if not path.is_file():
        raise ScenarioError(f"{BASE_KEY}: file '{path}' not found")
    return path


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`: tables recursively, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _names(entries: list[dict[str, Any]]) -> str:
    return ", ".join(repr(e.get("name")) for e in entries)


def _named_entries(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The base's list `key` of named entries (tables with a ``name``)."""
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(f"{where}: the base has no list of named entries '{key}'")
    return entries


def _keep(base: dict[str, Any], keep: Any) -> dict[str, Any]:
    """The base with ``[base_keep]`` applied: only the named entries of its lists, in the order
    named."""
    if not isinstance(keep, dict):
        raise ScenarioError(
            f'{KEEP_KEY}: expected a table such as {{ sites = ["Fresh Wharf"] }}, got {keep!r}'
        )
    base = dict(base)
    for key, names in keep.items():
        where = f"{KEEP_KEY}.{key}"
        entries = _named_entries(base, key, where)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ScenarioError(f"{where}: expected a list of names, got {names!r}")
        by_name = {e.get("name"): e for e in entries}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ScenarioError(
                f"{where}: the base has no entry named {', '.join(map(repr, missing))}; "
                f"it has {_names(entries)}"
            )
        base[key] = [copy.deepcopy(by_name[n]) for n in names]
    return base


def _remove_names(key: str, value: Any) -> list[str]:
    """The names a ``sites_remove`` gives: a list of names, or of tables with only a name."""
    where = f"{key}{REMOVE_SUFFIX}"
    if not isinstance(value, list):
        raise ScenarioError(f'{where}: expected a list of names, e.g. {where} = ["South Area"]')
    names = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            extra = sorted(set(item) - {"name"})
            if extra:
                raise ScenarioError(
                    f"{where}.{i}.{extra[0]}: unknown key; allowed here: name (the entry removed)"
                )
            item = item.get("name")
        if not isinstance(item, str) or not item.strip():
            raise ScenarioError(f"{where}.{i}: expected the name of an entry, got {item!r}")
        names.append(item)
    return names


def _remove(base: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The base without the entries the file's ``sites_remove`` / ``popups_remove`` name."""
    base = dict(base)
    for key in NAMED_LISTS:
        where = f"{key}{REMOVE_SUFFIX}"
        if where not in raw:
            continue
        names = _remove_names(key, raw[where])
        entries = _named_entries(base, key, where)
        have = {e.get("name") for e in entries}
        missing = [n for n in names if n not in have]
        if missing:
            raise ScenarioError(
                f"{where}: the base has no entry named {', '.join(map(repr, missing))}; "
                f"it has {_names(entries)}"
            )
        mine = raw.get(key)
        given = (
            {e.get("name") for e in mine if isinstance(e, dict)}
            if isinstance(mine, list)
            else set()
        )
        both = [n for n in names if n in given]
        if both:
            raise ScenarioError(
                f"{where}: {', '.join(map(repr, both))} is both removed and given in [[{key}]]; "
                "to change an entry, give only its [[" + key + "]] entry"
            )
        base[key] = [e for e in entries if e.get("name") not in names]
    return base


def _extend(entries: list[dict[str, Any]], mine: Any, key: str) -> list[dict[str, Any]]:
    """The base's named entries with the file's merged over them by name, or appended."""
    if not isinstance(mine, list):
        raise ScenarioError(f"{key}: expected a list of tables ([[{key}]])")
    out = [copy.deepcopy(e) for e in entries]
    seen: dict[Any, int] = {}
    for i, entry in enumerate(mine):
        if not isinstance(entry, dict):
            raise ScenarioError(f"{key}.{i}: expected a table")
        name = entry.get("name")
        if name in seen:
            raise ScenarioError(
                f"{key}.{i}.name: {name!r} is given twice in this file (also {key}.{seen[name]}); "
                "give each entry once"
            )
        seen[name] = i
        match = [j for j, e in enumerate(out) if e.get("name") == name]
        if match:
            out[match[0]] = merge(out[match[0]], entry)
        else:
            out.append(copy.deepcopy(entry))
    return out


def _own(base: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The file's keys with its named lists resolved against the base's (see the module)."""
    own = {k: v for k, v in raw.items() if k not in (BASE_KEY, KEEP_KEY, *REMOVE_KEYS)}
    for key in NAMED_LISTS:
        mine = own.get(key)
        if mine is None or mine == []:
            continue  # not given: the base's; empty: none
        entries = _named_entries(base, key, key)
        own[key] = _extend(entries, mine, key)
    return own


def resolve_base(
    raw: dict[str, Any],
    here: Path | None,
    read: Callable[[Path], dict[str, Any]],
    _chain: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """Raw scenario data with its ``base`` (if any) resolved: the base's data, itself resolved,
    with this file's keys merged over it (``base``, ``base_keep`` and ``*_remove`` removed), and
    the users that ``users_from`` moves moved (:func:`sim.scenario.catchments.move_users`)."""
    if BASE_KEY not in raw:
        for key in (KEEP_KEY, *REMOVE_KEYS):
            if key in raw:
                raise ScenarioError(f"{key}: only allowed with {BASE_KEY} = …")
        return move_users(raw)
    path = base_path(raw[BASE_KEY], here).resolve()
    if path in _chain:
        cycle = " → ".join(p.name for p in (*_chain, path))
        raise ScenarioError(f"{BASE_KEY}: the bases form a cycle ({cycle})")
    if len(_chain) >= MAX_DEPTH:
        raise ScenarioError(f"{BASE_KEY}: more than {MAX_DEPTH} bases in a chain")
    base = resolve_base(read(path), path.parent, read, (*_chain, path))
    if KEEP_KEY in raw:
        base = _keep(base, raw[KEEP_KEY])
    base = _remove(base, raw)
    merged = merge(base, _own(base, raw))
    _check_references(merged, raw)
    return move_users(merged)


def _check_references(data: dict[str, Any], raw: dict[str, Any]) -> None:
    """A removed desk that a pop-up still names as its home or reach desk is refused here,
    naming the removal (validation would only name the pop-up)."""
    removed = raw.get(f"sites{REMOVE_SUFFIX}")
    if removed is None:
        return
    names = set(_remove_names("sites", removed))
    for i, popup in enumerate(data.get("popups") or []):
        if not isinstance(popup, dict):
            continue
        for field in ("home", "reach_desk"):
            if popup.get(field) in names:
                raise ScenarioError(
                    f"sites{REMOVE_SUFFIX}: '{popup[field]}' is removed but is still the "
                    f"{field} of pop-up '{popup.get('name')}' (popups.{i}.{field}); give it "
                    f'another in [[popups]] (name = "{popup.get("name")}", {field} = …) or '
                    f"remove it with popups{REMOVE_SUFFIX}"
                )
