"""What-if names: given (``--name``) and checked, or made from the overrides."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sim.scenario.errors import ScenarioError

MAX_NAME_CHARS = 120  # a name is a label in tables, titles and folder names
AUTO_NAME_CHARS = 80  # a name made from overrides lists those that fit, then "+ N more"
_BARE = re.compile(r"^[A-Za-z0-9_:.+/-]+$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def check_name(name: Any, option: str = "--name") -> str:
    """A what-if name as given, once it is one: text of 1 to 120 characters, not only spaces,
    without line breaks or other control characters."""
    if not isinstance(name, str):
        raise ScenarioError(f"{option}: {name!r} is not text; give a name such as '3 engineers'")
    text = name.strip()
    if not text:
        raise ScenarioError(f"{option}: the name is empty; give a name such as '3 engineers'")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise ScenarioError(f"{option}: the name holds a line break or control character")
    if len(text) > MAX_NAME_CHARS:
        raise ScenarioError(
            f"{option}: the name has {len(text)} characters; at most {MAX_NAME_CHARS} are allowed"
        )
    return text


def toml_text(value: Any) -> str:
    """A value as TOML text (for names and tables only: never read back to run a scenario)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_text(x) for x in value) + "]"
    if isinstance(value, dict):
        items = (
            f"{k if _BARE_KEY.match(str(k)) else json.dumps(str(k), ensure_ascii=False)} = "
            f"{toml_text(x)}"
            for k, x in value.items()
        )
        return "{" + ", ".join(items) + "}"
    if hasattr(value, "isoformat"):  # TOML dates and times
        return str(value.isoformat())
    return repr(value)


def override_text(key: str, value: Any) -> str:
    """'key=value', the value as typed on the command line (plain words left unquoted)."""
    shown = value if isinstance(value, str) and _BARE.match(value) else toml_text(value)
    return f"{key}={shown}"


def whatif_name(pairs: Sequence[tuple[str, Any]], limit: int = AUTO_NAME_CHARS) -> str:
    """A name made from overrides: 'sites.*.open=08:00, sites.*.close=18:00', those that fit in
    `limit` characters, then '+ N more'."""
    texts = [_printable(override_text(k, v)) for k, v in pairs]
    shown: list[str] = []
    for i, t in enumerate(texts):
        rest = len(texts) - i - 1
        tail = f" + {rest} more" if rest else ""
        candidate = ", ".join([*shown, t])
        if len(candidate + tail) <= limit:
            shown.append(t)
            continue
        if not shown:  # even the first is too long: cut it
            room = max(limit - len(tail) - 1, 10)
            shown.append(t[:room] + "…")
        break
    else:
        return ", ".join(shown)
    more = len(texts) - len(shown)
    return ", ".join(shown) + (f" + {more} more" if more else "")


def _printable(text: str) -> str:
    return "".join("?" if unicodedata.category(c).startswith("C") else c for c in text)
