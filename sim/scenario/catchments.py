"""Moving users between catchments: a desk's ``users_from`` takes its users (and their devices)
from named pop-up locations, other desks, or a BCU's catchments, so that adding a desk does not
invent users — the force's user count stays what it was.

    [[sites]]
    name = "Central South"
    bcu = "Central South (AS)"
    users_from = [
      { popup = "Brixton" },                  # all its users: the location's visits stop
      { popup = "Peckham", share = 0.6 },     # 60 % of them; the location keeps the rest
      { bcu = "Central South (AS)", share = 0.5 },  # half of every catchment of the BCU
    ]

Each source is one of ``popup``, ``site`` or ``bcu`` with an optional ``share`` of its users
(0 < share ≤ 1, default 1). A share is of the catchment as the file gives it, before any move;
the shares that one catchment gives add up to at most 1. Users and each device type move as whole
numbers (the cumulative share rounded down), so every user is counted exactly once. The desk's
catchment is its own ``population`` (0 when not given) plus the users moved to it. A pop-up
location left with no users and no devices is removed. Anything else is refused, naming the key.
"""

from __future__ import annotations

import copy
import difflib
import math
from dataclasses import dataclass
from typing import Any

from sim.scenario.errors import ScenarioError

USERS_FROM = "users_from"
SOURCES = ("popup", "site", "bcu")
LISTS = {"popup": "popups", "site": "sites"}
MAX_LISTED = 12  # names listed in a message; the rest counted


@dataclass(frozen=True)
class Move:
    """Users (and devices) moved from one catchment to a desk."""

    to: str  # the desk
    source: str  # the users_from key that moved them
    catchment: str  # "popups.N" or "sites.N" before the move
    name: str
    users: int
    fleet: dict[str, int]


def move_users(data: dict[str, Any]) -> dict[str, Any]:
    """Raw scenario data with every ``users_from`` carried out (see the module)."""
    return moved(data)[0]


def moved(data: dict[str, Any]) -> tuple[dict[str, Any], list[Move]]:
    """Raw scenario data with every ``users_from`` carried out, and the moves made."""
    sites = data.get("sites")
    if not isinstance(sites, list) or not any(
        isinstance(s, dict) and USERS_FROM in s for s in sites
    ):
        return data, []
    data = copy.deepcopy(data)
    sites = data["sites"]
    popups: list[Any] = data["popups"] if isinstance(data.get("popups"), list) else []
    places = [("sites", i, s) for i, s in enumerate(sites) if isinstance(s, dict)]
    places += [("popups", i, p) for i, p in enumerate(popups) if isinstance(p, dict)]
    given = {  # each catchment as the file gives it: the shares are of these
        (kind, j): (_users(e, f"{kind}.{j}"), _fleet(e, f"{kind}.{j}")) for kind, j, e in places
    }
    drawn: dict[tuple[str, int], float] = {}  # share of each catchment moved so far
    moves: list[Move] = []
    for i, site in enumerate(sites):
        if not isinstance(site, dict) or USERS_FROM not in site:
            continue
        for key, (kind, j, entry), share in _sources(i, site, places):
            before = drawn.get((kind, j), 0.0)
            after = before + share
            if after > 1 + 1e-9:
                raise ScenarioError(
                    f"{key}: more than all the users of '{entry.get('name')}' ({kind}.{j}) "
                    f"would move (its shares add up to {after:g}); the shares one catchment "
                    "gives add up to at most 1"
                )
            drawn[(kind, j)] = after = min(after, 1.0)
            users, fleet = given[(kind, j)]
            n = _part(users, before, after)
            devices = {d: _part(c, before, after) for d, c in fleet.items()}
            _add(entry, -n, {d: -m for d, m in devices.items()}, f"{kind}.{j}")
            _add(site, n, devices, f"sites.{i}")
            moves.append(
                Move(str(site.get("name")), key, f"{kind}.{j}", str(entry.get("name")), n, devices)
            )
    for site in sites:
        if isinstance(site, dict):
            site.pop(USERS_FROM, None)
    emptied = {
        j
        for kind, j in drawn
        if kind == "popups"
        and _users(popups[j], f"popups.{j}") == 0
        and not any(_fleet(popups[j], f"popups.{j}").values())
    }
    if emptied:
        data["popups"] = [p for j, p in enumerate(popups) if j not in emptied]
    return data, moves


def _add(entry: dict[str, Any], users: int, devices: dict[str, int], at: str) -> None:
    """Add users and devices to a catchment (negative: take them away)."""
    entry["population"] = _users(entry, at) + users
    if devices:
        fleet = _fleet(entry, at)
        for device, n in devices.items():
            fleet[device] = fleet.get(device, 0) + n
        entry["fleet"] = fleet


def _sources(
    i: int, site: dict[str, Any], places: list[tuple[str, int, dict[str, Any]]]
) -> list[tuple[str, tuple[str, int, dict[str, Any]], float]]:
    """(key, catchment, share) for each catchment a desk's ``users_from`` draws on."""
    at = f"sites.{i}.{USERS_FROM}"
    value = site[USERS_FROM]
    example = '[{ popup = "Brixton" }, { bcu = "Central South (AS)", share = 0.8 }]'
    if not isinstance(value, list) or not value:
        raise ScenarioError(f"{at}: expected a list of sources, e.g. {USERS_FROM} = {example}")
    out = []
    for k, source in enumerate(value):
        key = f"{at}.{k}"
        if not isinstance(source, dict):
            raise ScenarioError(f'{key}: expected a table such as {{ popup = "Brixton" }}')
        unknown = sorted(set(source) - {*SOURCES, "share"})
        if unknown:
            raise ScenarioError(
                f"{key}.{unknown[0]}: unknown key; allowed here: {', '.join(SOURCES)}, share"
            )
        kinds = [s for s in SOURCES if s in source]
        if len(kinds) != 1:
            raise ScenarioError(
                f"{key}: give exactly one of {', '.join(SOURCES)} (the users' catchment)"
            )
        kind = kinds[0]
        share = source.get("share", 1.0)
        is_number = isinstance(share, int | float) and not isinstance(share, bool)
        if not is_number or not 0 < share <= 1:
            raise ScenarioError(
                f"{key}.share: the share of the users that move, more than 0 and at most 1 "
                f"(got {share!r})"
            )
        name = source[kind]
        if not isinstance(name, str):
            raise ScenarioError(f"{key}.{kind}: expected a name, got {name!r}")
        found = _catchments(kind, name, i, places, f"{key}.{kind}")
        out += [(f"{key}.{kind}", place, float(share)) for place in found]
    return out


def _catchments(
    kind: str, name: str, i: int, places: list[tuple[str, int, dict[str, Any]]], key: str
) -> list[tuple[str, int, dict[str, Any]]]:
    """The catchments a source names: the pop-up or desk of that name, or every catchment of
    the BCU with users (the receiving desk excepted)."""
    if kind == "bcu":
        found = [
            p
            for p in places
            if p[2].get("bcu") == name
            and (p[0], p[1]) != ("sites", i)
            and _users(p[2], f"{p[0]}.{p[1]}") > 0
        ]
        if not found:
            bcus = sorted(
                {
                    p[2]["bcu"]
                    for p in places
                    if isinstance(p[2].get("bcu"), str)
                    and (p[0], p[1]) != ("sites", i)
                    and _users(p[2], f"{p[0]}.{p[1]}") > 0
                }
            )
            raise ScenarioError(
                f"{key}: no catchment of BCU '{name}' has users to move{_hint(name, bcus)}; "
                f"BCUs with users: {_listed(bcus)}"
            )
        return found
    plural = LISTS[kind]
    same = [p for p in places if p[0] == plural and p[2].get("name") == name]
    if not same:
        names = [str(p[2].get("name")) for p in places if p[0] == plural]
        what = "pop-up location" if kind == "popup" else "desk"
        raise ScenarioError(
            f"{key}: no {what} named '{name}'{_hint(name, names)}; {plural}: {_listed(names)}"
        )
    if (same[0][0], same[0][1]) == ("sites", i):
        raise ScenarioError(f"{key}: '{name}' is the desk the users move to")
    return same[:1]


def _part(total: int, before: float, after: float) -> int:
    """Whole users between two cumulative shares of `total` (rounded down, so the parts of
    one catchment never add up to more than it has)."""
    return math.floor(round(total * after, 6)) - math.floor(round(total * before, 6))


def _users(entry: dict[str, Any], at: str) -> int:
    n = entry.get("population", 0)
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ScenarioError(f"{at}.population: expected a whole number of users, got {n!r}")
    return n


def _fleet(entry: dict[str, Any], at: str) -> dict[str, int]:
    fleet = entry.get("fleet", {})
    if not isinstance(fleet, dict):
        raise ScenarioError(f"{at}.fleet: expected a table of devices, got {fleet!r}")
    for device, n in fleet.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ScenarioError(f"{at}.fleet.{device}: expected a whole number, got {n!r}")
    return dict(fleet)


def _hint(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _listed(names: list[str]) -> str:
    if not names:
        return "none"
    if len(names) <= MAX_LISTED:
        return ", ".join(names)
    return ", ".join(names[:MAX_LISTED]) + f" and {len(names) - MAX_LISTED} more"
