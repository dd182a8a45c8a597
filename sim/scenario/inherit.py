"""A scenario built on another: ``base = "met_2019"`` (an embedded scenario's name) or
``base = "other.toml"`` (a path relative to the file that names it).

The file's own keys are merged over the base's, so one source of truth serves both:

- tables (``[service]``, ``[demand]``, ``[categories.laptop]``…) merge key by key, recursively;
- any other value, lists included (``sites``, ``popups``, ``calendar.closed_dates``), replaces
  the base's wholly when the file gives it;
- ``[base_keep]`` says otherwise for lists of named entries: ``sites = ["Fresh Wharf"]`` keeps
  those entries of the base's ``sites`` (in that order), and the file's own ``[[sites]]`` entries
  are then merged over the kept entry of the same name (only the keys they give change) or,
  with a new name, appended.

A base may itself have a base. A base that cannot be found, a cycle, a ``base`` that is not a
string and a ``[base_keep]`` naming an entry the base does not have are refused, naming the key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.scenario.errors import ScenarioError

BASE_KEY = "base"
KEEP_KEY = "base_keep"
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


def _keep(base: dict[str, Any], own: dict[str, Any], keep: Any) -> dict[str, Any]:
    """Apply ``[base_keep]``: the named entries of the base's lists, with the file's entries
    merged over them by name; returns the file's data with those lists resolved."""
    if not isinstance(keep, dict):
        raise ScenarioError(
            f'{KEEP_KEY}: expected a table such as {{ sites = ["Fresh Wharf"] }}, got {keep!r}'
        )
    own = dict(own)
    for key, names in keep.items():
        where = f"{KEEP_KEY}.{key}"
        entries = base.get(key)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ScenarioError(f"{where}: the base has no list of named entries '{key}'")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ScenarioError(f"{where}: expected a list of names, got {names!r}")
        by_name = {e.get("name"): e for e in entries}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ScenarioError(
                f"{where}: the base has no entry named {', '.join(map(repr, missing))}; "
                f"it has {', '.join(repr(n) for n in by_name)}"
            )
        kept = [copy.deepcopy(by_name[n]) for n in names]
        mine = own.get(key, [])
        if not isinstance(mine, list):
            raise ScenarioError(f"{key}: expected a list of tables to merge over {where}")
        for i, entry in enumerate(mine):
            if not isinstance(entry, dict):
                raise ScenarioError(f"{key}.{i}: expected a table")
            match = [j for j, k in enumerate(kept) if k.get("name") == entry.get("name")]
            if match:
                kept[match[0]] = merge(kept[match[0]], entry)
            else:
                kept.append(copy.deepcopy(entry))
        own[key] = kept
    return own


def resolve_base(
    raw: dict[str, Any],
    here: Path | None,
    read: Callable[[Path], dict[str, Any]],
    _chain: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """Raw scenario data with its ``base`` (if any) resolved: the base's data, itself resolved,
    with this file's keys merged over it; ``base`` and ``base_keep`` removed."""
    if BASE_KEY not in raw:
        if KEEP_KEY in raw:
            raise ScenarioError(f"{KEEP_KEY}: only allowed with {BASE_KEY} = …")
        return raw
    path = base_path(raw[BASE_KEY], here).resolve()
    if path in _chain:
        cycle = " → ".join(p.name for p in (*_chain, path))
        raise ScenarioError(f"{BASE_KEY}: the bases form a cycle ({cycle})")
    if len(_chain) >= MAX_DEPTH:
        raise ScenarioError(f"{BASE_KEY}: more than {MAX_DEPTH} bases in a chain")
    base = resolve_base(read(path), path.parent, read, (*_chain, path))
    own = {k: v for k, v in raw.items() if k not in (BASE_KEY, KEEP_KEY)}
    if KEEP_KEY in raw:
        own = _keep(base, own, raw[KEEP_KEY])
    return merge(base, own)
