"""Bad scenario input as one message that names the key and says what is allowed."""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ValidationError,
)


class ScenarioError(ValueError):
    """Bad scenario input: the message names the key (or file) and what is allowed."""


MAX_PROBLEMS = 6  # lines of one message; the rest are counted
KEY = "\0"  # where a problem's key goes in its text


def first_problem(exc: ValidationError, what: str) -> ScenarioError:
    """A file other than a scenario (an experiment, a ranges file) that fails its model: its
    first problem, naming the key."""
    err = exc.errors()[0]
    key = ".".join(map(str, err["loc"])) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    return ScenarioError(f"invalid {what}: key '{key}': {msg}")


def explain(exc: ValidationError, data: dict[str, Any], source: str, root: type[BaseModel]) -> str:
    problems: list[tuple[str, str]] = []  # (key, text with KEY where the key goes)
    seen = set()
    for err in exc.errors():
        path = _input_path(err["loc"], data, keep_last=err["type"] == "missing")
        key = ".".join(map(str, path)) or "(top level)"
        text = err["msg"].removeprefix("Value error, ")
        named = re.match(r"^([A-Za-z_][\w.]*): (.*)$", text, re.S)
        if not path and named:  # a whole-scenario check names its key itself
            key, text = named.groups()
        inner = re.match(r"^(.*) \(at ([^()]+)\)$", text, re.S)
        if inner and path:  # a check on a whole list or table names the item within it
            text = inner.group(1)
            key = f"{key}.{inner.group(2)}"
            err = {**err, "input": _at(err.get("input"), inner.group(2))}
        if key in seen:
            continue
        seen.add(key)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(path[:-1], data, root)
            msg = f"unknown key {KEY}" + (
                f"; allowed here: {', '.join(allowed)}" if allowed else ""
            )
        elif err["type"] == "missing":
            msg = f"key {KEY} is required"
        else:
            got = err.get("input")
            text_got = repr(got)
            if len(text_got) > 60:  # e.g. an int of hundreds of digits
                text_got = text_got[:40] + f"… ({len(text_got)} characters)"
            shown = "" if isinstance(got, dict | list) else f" (got {text_got})"
            msg = f"key {KEY}: {text}{shown}"
        problems.append((key, msg))
    lines = _grouped(problems)
    if len(lines) > MAX_PROBLEMS:
        more = len(lines) - MAX_PROBLEMS + 1
        lines = [*lines[: MAX_PROBLEMS - 1], f"… and {more} more problems"]
    head = f"invalid scenario ({source}): "
    return head + lines[0] if len(lines) == 1 else head + "\n  " + "\n  ".join(lines)


def _grouped(problems: list[tuple[str, str]]) -> list[str]:
    """One line per problem; the same problem at keys that differ only in list indices (as a
    ``*`` override makes: sites.0.open, sites.1.open, …) is one line naming the first key."""
    groups: dict[tuple[str, str], list[str]] = {}
    for key, msg in problems:
        groups.setdefault((re.sub(r"(?<=\.)\d+(?=\.|$)", "N", key), msg), []).append(key)
    lines = []
    for (_, msg), keys in groups.items():
        named = f"'{keys[0]}'"
        if len(keys) == 2:
            named += f" (and '{keys[1]}')"
        elif len(keys) > 2:
            named += f" (and {len(keys) - 1} more, to '{keys[-1]}')"
        lines.append(msg.replace(KEY, named))
    return lines


def _at(node: Any, dotted: str) -> Any:
    """The item at a dotted path inside `node` (None if it is not there)."""
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _input_path(loc: tuple, data: Any, keep_last: bool) -> list:
    """The part of a pydantic error location that names keys of the input (drops union tags)."""
    path, node = [], data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif keep_last and i == len(loc) - 1:
            path.append(part)
    return path


def _allowed_keys(path: list, data: Any, root: type[BaseModel]) -> list[str]:
    """Field names accepted at `path` of the scenario (best effort, for error messages)."""
    model: Any = root
    node = data
    for part in path:
        node = node[part] if isinstance(node, dict | list) else None
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                return []
            model = info.annotation
        else:
            model = _inner(model, node)
        model = _resolve(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _inner(tp: Any, node: Any) -> Any:
    """Element type of list[X] / dict[str, X]."""
    args = typing.get_args(tp)
    return args[-1] if args else tp


def _resolve(tp: Any, node: Any) -> Any:
    """Strip Optional/Annotated and pick a union member matching `node` (by 'dist' tag)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            tag = node.get("dist") if isinstance(node, dict) else None
            tagged = (
                [
                    m
                    for m in models
                    if tag and tag in typing.get_args(m.model_fields["dist"].annotation)
                ]
                if tag
                else []
            )
            containers = [m for m in members if typing.get_origin(m) in (list, dict)]
            if tagged:
                tp = tagged[0]
            elif isinstance(node, list | dict) and containers and not models:
                tp = containers[0]
            elif models:
                tp = models[0]
            else:
                return members[0] if members else tp
        else:
            return tp
