"""Scenario names a person can read: a name made from overrides ("sites.0.engineers=[2, 2, 1,
1, 1], sites.0.swap_stock.laptop=1") becomes "Fresh Wharf: engineers 2, 2, 1, 1, 1; laptop
swap stock 1". A name someone chose is kept as it is."""

from __future__ import annotations

import re

from sim.scenario.keys import split_assignment

INDEXED = re.compile(r"^(sites|popups)\.(\d+)\.(.+)$")
WORDS = {"swap_stock": "swap stock", "engineers": "engineers", "open": "opens", "close": "closes"}


def made_from_overrides(name: str) -> bool:
    return "=" in name


def readable(name: str, overrides: str | None, scenario: dict) -> str:
    """`overrides` as scenarios.csv gives them ("key=value; key=value")."""
    if not made_from_overrides(name) or not overrides:
        return name
    by_place: dict[str, list[str]] = {}
    for text in (x.strip() for x in overrides.split(";")):
        pair = split_assignment(text) if text else None
        if pair is None:
            continue
        key, value = pair
        place, what = _place(key, scenario)
        by_place.setdefault(place, []).append(f"{what} {_value(value)}")
    if not by_place:
        return name
    return "; ".join(f"{p}: {', '.join(w)}" if p else ", ".join(w) for p, w in by_place.items())


def _place(key: str, scenario: dict) -> tuple[str, str]:
    m = INDEXED.match(key)
    if m is None:
        return "", _key_words(key)
    part, index, rest = m.group(1), int(m.group(2)), m.group(3)
    items = scenario.get(part, [])
    place = items[index].get("name", key) if index < len(items) else f"{part} {index}"
    return str(place), _key_words(rest)


def _key_words(key: str) -> str:
    parts = key.split(".")
    if len(parts) == 2 and parts[0] == "swap_stock":
        return f"{parts[1]} swap stock"
    return " ".join(WORDS.get(p, p.replace("_", " ")) for p in parts)


def _value(text: str) -> str:
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        return "/".join(x.strip() for x in t[1:-1].split(","))
    return t.strip('"')


def readable_names(scenarios, scenario: dict) -> dict[str, str]:
    """Scenario name → readable name, from a sweep's scenarios.csv table (or None)."""
    if scenarios is None:
        return {}
    out = {}
    for name, over in zip(scenarios["scenario"], scenarios["overrides"].fillna(""), strict=True):
        out[str(name)] = readable(str(name), str(over), scenario)
    return out
