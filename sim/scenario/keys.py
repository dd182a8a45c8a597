"""Override keys: dotted paths into the raw scenario that may reach many places at once.

A key is parts separated by dots. A part is a table key (``horizon_weeks``), a list index
(``sites.0``), the name of an entry of a list of named tables (``sites.Fresh Wharf``), or ``*``:
every entry of a list or table (``sites.*.open``, ``tiers.*.fix_prob``). A key part may be
followed by filters in brackets that keep the entries whose field has the given value, read as a
TOML value (``sites[bcu="East Area (EA)"].engineers``, ``categories[device="laptop"].fix_prob``);
several filters must all hold. Keys are matched against data and values set as data: nothing is
evaluated. A key that reaches nothing is an error that names it.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sim.scenario.errors import ScenarioError

EVERY = "*"
MAX_LISTED = 8  # values listed in a message about a filter that matched nothing
EXAMPLES = 'e.g. sites.0.engineers, sites.*.open or sites[bcu="East Area (EA)"].engineers'


@dataclass(frozen=True)
class Filter:
    field: str
    value: Any

    def matches(self, item: Any) -> bool:
        return isinstance(item, dict) and self.field in item and _same(item[self.field], self.value)


@dataclass(frozen=True)
class Step:
    """One step of a key: a table key, list index or entry name (``text``); every entry (``*``);
    or the entries that pass every filter (``filters``; ``text`` is the part as written)."""

    text: str
    filters: tuple[Filter, ...] = ()

    @property
    def every(self) -> bool:
        return self.text == EVERY and not self.filters


def _same(a: Any, b: Any) -> bool:
    """Equal as data: true is not 1, but 2 is 2.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _scan(text: str) -> Iterator[tuple[int, str, int, bool]]:
    """(index, character, bracket depth after it, inside a quoted string) for each character;
    quotes count only within brackets (a name may hold an apostrophe)."""
    depth, quote, escaped = 0, "", False
    for i, c in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\" and quote == '"':
                escaped = True
            elif c == quote:
                quote = ""
            yield i, c, depth, True
            continue
        if depth and c in "\"'":
            quote = c
            yield i, c, depth, True
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        yield i, c, depth, False


def split_assignment(text: str) -> tuple[str, str] | None:
    """'KEY=VALUE' → (KEY, VALUE) at the first '=' outside brackets (a filter has its own '=');
    None when there is none."""
    for i, c, depth, quoted in _scan(text):
        if c == "=" and not depth and not quoted:
            return text[:i], text[i + 1 :]
    return None


def parse_key(key: str) -> list[Step]:
    """A key as its steps; a malformed key is a ScenarioError naming it."""

    def bad(why: str) -> ScenarioError:
        return ScenarioError(f"override key '{key}': {why}; expected a dotted path, {EXAMPLES}")

    parts, start = [], 0
    for i, c, depth, quoted in _scan(key):
        if c == "." and not depth and not quoted:
            parts.append(key[start:i])
            start = i + 1
    parts.append(key[start:])
    steps: list[Step] = []
    for part in parts:
        steps += _part_steps(part, bad)
    return steps


def _part_steps(part: str, bad: Callable[[str], ScenarioError]) -> list[Step]:
    """A part of a key ('sites', '*', '0', 'sites[bcu="EA"]') as one or two steps."""
    cut = part.find("[")
    head = part if cut < 0 else part[:cut]
    if "]" in head:
        raise bad(f"'{part}': ']' without '['")
    if not head.strip():
        raise bad("a part of the path is empty" if cut < 0 else "a filter must follow a key")
    if head != EVERY and EVERY in head:
        raise bad(f"'{head}': '*' stands alone as a part of the path (e.g. sites.*.open)")
    filters, pos = [], cut
    while 0 <= pos < len(part):
        if part[pos] != "[":
            raise bad(f"'{part}': a filter [field=value] must end its part of the path")
        end = _closing(part, pos)
        if end is None:
            raise bad(f"'{part}': a '[' is not closed")
        filters.append(_filter(part[pos + 1 : end], bad))
        pos = end + 1
    if filters and head == EVERY:
        raise bad(f"'{part}': a filter follows a key, not '*' (e.g. sites[bcu=...])")
    steps = [Step(head)]
    if filters:
        steps.append(Step(part[len(head) :], tuple(filters)))
    return steps


def _closing(text: str, start: int) -> int | None:
    """The index of the ']' that closes the '[' at `start`, or None."""
    for i, c, depth, quoted in _scan(text[start:]):
        if c == "]" and not depth and not quoted:
            return start + i
    return None


def _filter(text: str, bad: Callable[[str], ScenarioError]) -> Filter:
    field, sep, raw = text.partition("=")
    field, raw = field.strip(), raw.strip()
    if not sep or not field or not raw:
        raise bad(f'filter [{text}]: expected [field=value], e.g. [bcu="East Area (EA)"]')
    if not field.replace("_", "").isalnum() or not field.isascii():
        raise bad(f"filter [{text}]: '{field}' is not a field name")
    try:
        doc = tomllib.loads(f"v = {raw}")
    except tomllib.TOMLDecodeError:
        doc = None
    except (RecursionError, MemoryError):
        raise bad(f"filter [{text}]: the value is nested too deeply") from None
    value = doc["v"] if doc is not None and list(doc) == ["v"] else raw
    return Filter(field, value)


def is_pattern(key: str) -> bool:
    """Whether a key may reach more than one place (a ``*`` part or a filter)."""
    return any(s.every or s.filters for s in parse_key(key))


def set_at(data: dict[str, Any], key: str, value: Any) -> list[str]:
    """Set a copy of `value` at every place `key` reaches in `data`, in place; return those
    places as plain dotted keys (``sites.0.open``). Missing tables on the way are created, as a
    file may leave them out; a ``*`` or filter that reaches nothing is a ScenarioError."""
    steps = parse_key(key)
    nodes: list[tuple[Any, list]] = [(data, [])]
    for depth, step in enumerate(steps[:-1]):
        nodes = [
            (node[slot], [*path, slot])
            for node, path in nodes
            for slot in _slots(node, step, steps, depth, key, create=True)
        ]
    done = []
    for node, path in nodes:
        for slot in _slots(node, steps[-1], steps, len(steps) - 1, key, create=False):
            node[slot] = copy.deepcopy(value)  # the scenario never shares a caller's data
            done.append(".".join(map(str, [*path, slot])))
    return done


def _slots(node: Any, step: Step, steps: list[Step], depth: int, key: str, create: bool) -> list:
    """The slots of `node` that `step` reaches (creating a missing table on the way)."""
    here = _text(steps[: depth + 1])
    if not isinstance(node, dict | list):
        raise ScenarioError(
            f"--set {key}: '{_text(steps[:depth])}' is a value, not a table or list"
        )
    if step.filters:
        entries = _entries(node)
        slots = [s for s, item in entries if all(f.matches(item) for f in step.filters)]
        if not slots:
            raise ScenarioError(f"--set {key}: {_no_match(steps, depth, entries)}")
        return slots
    if step.every:
        slots = [s for s, _ in _entries(node)]
        if not slots:
            where = _text(steps[:depth]) or "the scenario"
            raise ScenarioError(f"--set {key}: '{here}' matches nothing: '{where}' is empty")
        return slots
    if isinstance(node, list):
        return [_list_index(node, step.text, here)]
    if create and step.text not in node:
        node[step.text] = {}
    return [step.text]


def _entries(node: dict | list) -> list[tuple[Any, Any]]:
    return list(enumerate(node)) if isinstance(node, list) else list(node.items())


def _text(steps: list[Step]) -> str:
    out = ""
    for s in steps:
        out += s.text if s.filters else (("." if out else "") + s.text)
    return out


def _no_match(steps: list[Step], depth: int, entries: list[tuple[Any, Any]]) -> str:
    """Why a filter matched nothing, with the values that are there."""
    where = _text(steps[:depth]) or "the scenario"
    if not entries:
        return f"'{_text(steps[: depth + 1])}' matches nothing: '{where}' is empty"
    unmatched = [f for f in steps[depth].filters if not any(f.matches(i) for _, i in entries)]
    f = (unmatched or list(steps[depth].filters))[0]
    values = list(dict.fromkeys(_shown(i[f.field]) for _, i in entries if _has(i, f.field)))
    shown = ", ".join(values[:MAX_LISTED]) + (" …" if len(values) > MAX_LISTED else "")
    head = f"no entry of '{where}' has {f.field} = {_shown(f.value)}"
    if not unmatched:
        return f"{head} together with the other filters"
    if not values:
        return f"{head}: no entry of '{where}' sets {f.field}"
    return f"{head}; {f.field} here: {shown}"


def _has(item: Any, field: str) -> bool:
    return isinstance(item, dict) and field in item


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


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
