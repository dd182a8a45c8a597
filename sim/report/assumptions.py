"""The assumptions register: every input of a run with its value, unit and source label.

Values come from the resolved scenario; source labels come from the comments beside each key in
the scenario file ([seed], [S], [D], [A]), read with tomlkit, which keeps comments. A key set on
the command line is labelled as such, and one the file leaves out as the model's default.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import tomlkit
from pydantic import BaseModel
from tomlkit.items import Comment, Table

from sim.scenario import (
    Overrides,
    Scenario,
    ScenarioError,
    is_pattern,
    override_pairs,
    resolve_overrides,
    scenario_to_dict,
)

LABELS = ("[seed]", "[S]", "[D]", "[A]")
UNITS = [  # (pattern on the last key, unit), first match wins
    (r"_gbp_per_fte_year$", "£ per FTE-year"),
    (r"_days_per_fte_year$", "days per FTE-year"),
    (r"^desk_gbp_per_year$", "£ per desk per year"),
    (r"_gbp_per_unit_year$", "£ per unit per year"),
    (r"_gbp_per_unit$", "£ per unit"),
    (r"_usd_per_call$", "US$ per call"),
    (r"^gbp_per_usd$", "£ per US$"),
    (r"_gbp_per_escalation$", "£ per escalation"),
    (r"_gbp_per_desk$", "£ per desk, once"),
    (r"^setup_gbp$", "£, once"),
    (r"_years$", "years"),
    (r"^discount_rate$", "share a year"),
    (r"^optimism_bias$", "share of costs"),
    (r"_min$", "minutes"),
    (r"_days$", "days"),
    (r"_h$", "hours"),
    (r"_weeks$", "weeks"),
    (r"_per_hour$", "per hour"),
    (r"^rate_per_user_year$", "per user per year"),
    (r"^rate_per_device_year$", "per device per year"),
    (r"^gbp_per_officer_hour$", "£ per hour"),
    (r"^hours_lost_per_downtime_day$", "hours per day"),
    (r"(prob|share|propensity)$", "share"),
    (r"^population$|^force_users$", "users"),
    (r"^engineers$", "engineers"),
    (r"^balk_queue$", "visitors waiting"),
    (r"^(open|close|start|end)$", "time of day"),
    (r"_weights$", "relative weight"),
]


def unit_of(key: str) -> str:
    """The unit of a dotted scenario key: from the scenario model's field first (a time of day,
    a date, a share bounded by 0 and 1), else from the key's name (``_min`` → minutes, …)."""
    parts = key.split(".")
    last = parts[-1]
    info = field_info(key)
    if info is not None:
        found = _unit_from_field(info)
        if found:
            return found
    if "fleet" in parts:
        return "devices"
    if "swap_stock" in parts:
        return "units"
    for pattern, unit in UNITS:
        if re.search(pattern, last):
            return unit
    return ""


def _comments(container: Any, prefix: str, out: dict[str, str]) -> None:
    """Dotted key → the comment on its line, or the comment lines just above it."""
    pending: list[str] = []
    body = getattr(container, "body", None)
    if body is None and hasattr(container, "value"):
        body = container.value.body
    for key, item in body or []:
        if isinstance(item, Comment):
            pending.append(item.as_string().strip().lstrip("#").strip())
            continue
        if key is None:
            pending = []
            continue
        name = f"{prefix}{key.key}"
        own = item.trivia.comment.lstrip("#").strip() if hasattr(item, "trivia") else ""
        if isinstance(item, Table):
            _comments(item, name + ".", out)
        elif isinstance(item, tomlkit.items.AoT):
            for i, table in enumerate(item.body):
                _comments(table, f"{name}.{i}.", out)
        out[name] = own or " ".join(pending)
        pending = []


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and "dist" not in value:
        for k, v in value.items():
            _flatten(v, f"{prefix}{k}.", out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}{i}.", out)
    else:
        out[prefix[:-1]] = value


def _comment_for(key: str, comments: dict[str, str]) -> str | None:
    """The key's own comment, else its nearest commented parent's (e.g. a fleet line)."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        text = comments.get(".".join(parts[:n]))
        if text:
            return text
    return None


def field_info(key: str) -> Any:
    """The scenario model's field a dotted key ends on (None within a plain list or table, such
    as a fleet or a swap stock, or for a key the model does not have)."""
    model: Any = Scenario
    info: Any = None
    inside = False
    for part in key.split("."):
        if inside:  # a list index, or a table's own key (a tier, a category): step over it
            inside = False
            continue
        if model is None:  # within a plain list or table: no field of its own
            return None
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return None
        model = _model_in(info.annotation)
        inside = model is not None and _is_container(info.annotation)
    return info


def description(key: str) -> str:
    """The schema's description of a dotted scenario key ("" if it has none; a key within a
    plain list or table has its parent's)."""
    parts = key.split(".")
    for n in range(len(parts), 0, -1):
        info = field_info(".".join(parts[:n]))
        if info is not None:
            return info.description or ""
    return ""


def _validators(tp: Any) -> list[Any]:
    """Every piece of Annotated metadata within an annotation (X | None, list[X] included)."""
    out = list(getattr(tp, "__metadata__", ()))
    for arg in typing.get_args(tp):
        out += _validators(arg)
    return out


def _unit_from_field(info: Any) -> str:
    marks = [*info.metadata, *_validators(info.annotation)]
    funcs = {getattr(getattr(m, "func", None), "__name__", "") for m in marks}
    if "_time_of_day" in funcs:
        return "time of day"
    if _is_date(info.annotation):
        return "date"
    lower = next(
        (getattr(m, a) for m in info.metadata for a in ("ge", "gt") if hasattr(m, a)), None
    )
    upper = next((m.le for m in info.metadata if hasattr(m, "le")), None)
    if lower == 0 and upper == 1 and _is_float(info.annotation):
        return "share"
    return ""


def _is_date(tp: Any) -> bool:
    import datetime as dt

    return tp is dt.date or any(_is_date(a) for a in typing.get_args(tp))


def _is_float(tp: Any) -> bool:
    return tp is float or any(_is_float(a) for a in typing.get_args(tp))


def _is_container(tp: Any) -> bool:
    if typing.get_origin(tp) in (list, dict):
        return True
    return any(_is_container(arg) for arg in typing.get_args(tp))


def _model_in(tp: Any) -> Any:
    """The pydantic model inside an annotation (list[X], dict[str, X], X | None), if any."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _in_file(key: str, present: set[str]) -> bool:
    """Whether the scenario file gives the key itself (a table holding it is not enough)."""
    return key in present


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return json.dumps(value, ensure_ascii=False, default=str)


def register(
    scenario: Scenario,
    source_text: str | None = None,
    overrides: Overrides = None,
    base_texts: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per input: key, value, unit, label, source, and for a key set by an override
    the value the scenario file gives it (file_value; blank otherwise). `base_texts` are the
    texts of the scenarios the file builds on (``base = …``), furthest first: their comments
    label what the file inherits.

    A key the file (or a base) gives is labelled by the comment beside it (or "unlabelled"
    without one), never "model default"; a key set by an override says by which, and what the
    file had."""
    comments: dict[str, str] = {}
    raw: dict[str, Any] = {}
    for source in (*base_texts, *([source_text] if source_text is not None else [])):
        its_comments: dict[str, str] = {}
        its_keys: dict[str, Any] = {}
        _comments(tomlkit.parse(source), "", its_comments)
        parsed: dict[str, Any] = {}
        with contextlib.suppress(tomllib.TOMLDecodeError):
            parsed = tomllib.loads(source)
            _flatten_all(parsed, "", its_keys)
        comments.update(_by_name(its_comments, parsed, scenario))
        raw.update(_by_name(its_keys, parsed, scenario))
    _moved_users(scenario, raw, comments)
    present = set(raw)
    by_key = setters(scenario, source_text, overrides)
    overridden = list(by_key)
    values: dict[str, Any] = {}
    _flatten(scenario_to_dict(scenario), "", values)
    rows = []
    file_name = raw.get("name")
    for key, value in values.items():
        file_value = ""
        if (
            key == "name"
            and isinstance(file_name, str)
            and value != file_name
            and "name" not in by_key
        ):
            # a what-if's name (--name, or made from its overrides), not the file's
            rows.append(
                (
                    key,
                    _shown(value),
                    "",
                    "[set]",
                    f"the what-if's name (--name, or made from its overrides); the scenario "
                    f"file has {file_name}",
                    file_name,
                )
            )
            continue
        setter = next((o for o in overridden if key == o or key.startswith(o + ".")), None)
        if setter is not None:
            label = "[set]"
            given = by_key.get(setter, setter)
            if key in raw:
                file_value = _shown(raw[key])
                source = f"set on the command line ({given}); the scenario file has {file_value}"
            else:
                source = (
                    f"set on the command line ({given}); the scenario file does not give it "
                    "(model default)"
                )
        else:
            text = _comment_for(key, comments)
            if text is None and _in_file(key, present):
                label, source = "unlabelled", "in the scenario file (no source given beside it)"
            elif text is None:
                label, source = "[default]", "model default (not in the scenario file)"
                described = description(key)
                if described:  # the schema's description names its unit and source label
                    found = [lab for lab in LABELS if lab in described]
                    label = " ".join(["[default]", *found])
                    source = f"{source}: {described}"
            else:
                found = [lab for lab in LABELS if lab in text]
                label, source = (" ".join(found) if found else "unlabelled"), text
        rows.append((key, _shown(value), unit_of(key), label, source, file_value))
    return pd.DataFrame(rows, columns=["key", "value", "unit", "label", "source", "file_value"])


NAMED_LISTS = ("sites", "popups")
MOVED = "[D] users and devices moved from other catchments by users_from (in the scenario file)"


def _by_name(found: dict[str, Any], doc: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """One file's keys with its desks and pop-ups (``sites.N…``) renumbered to the scenario's
    entry of the same name: a file built on a base adds, changes and removes them by name. The
    keys of an entry the scenario does not have (removed) are dropped."""
    where = {key: {e.name: j for j, e in enumerate(getattr(scenario, key))} for key in NAMED_LISTS}
    out = {}
    for key, value in found.items():
        parts = key.split(".")
        if len(parts) > 1 and parts[0] in NAMED_LISTS and parts[1].isdigit():
            entries, i = doc.get(parts[0]), int(parts[1])
            entry = entries[i] if isinstance(entries, list) and i < len(entries) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            if name not in where[parts[0]]:
                continue
            key = ".".join([parts[0], str(where[parts[0]][name]), *parts[2:]])
        out[key] = value
    return out


def _moved_users(scenario: Scenario, raw: dict[str, Any], comments: dict[str, str]) -> None:
    """A desk whose users a file moves (``users_from``): its catchment is labelled as derived."""
    for j, site in enumerate(scenario.sites):
        if f"sites.{j}.users_from" not in raw:
            continue
        keys = [f"sites.{j}.population", *(f"sites.{j}.fleet.{d}" for d in site.fleet)]
        for key in keys:
            if key not in raw:
                comments[key] = MOVED


def _flatten_all(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Every dotted key of a TOML document, tables and lists included, with its value."""
    if prefix:
        out[prefix[:-1]] = value
    if isinstance(value, dict) and "dist" not in value:
        for k, v in value.items():
            _flatten_all(v, f"{prefix}{k}.", out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            _flatten_all(v, f"{prefix}{i}.", out)


def setters(scenario: Scenario, source_text: str | None, overrides: Overrides) -> dict[str, str]:
    """Each plain key the overrides set → the override that set it last, as typed
    (``sites.1.open`` → ``--set sites.*.open=08:00``)."""
    from sim.scenario import override_text

    pairs = override_pairs(overrides)
    if not any(is_pattern(key) for key, _ in pairs):
        return {key: f"--set {override_text(key, value)}" for key, value in pairs}
    try:
        raw = tomllib.loads(source_text) if source_text is not None else None
    except tomllib.TOMLDecodeError:
        raw = None
    if raw is not None and "base" in raw:  # the file is not the whole scenario
        raw = None
    try:
        _, applied = resolve_overrides(
            raw if raw is not None else scenario_to_dict(scenario), pairs
        )
    except ScenarioError:
        return {key: f"--set {override_text(key, value)}" for key, value in pairs}
    return {k: f"--set {override_text(a.key, a.value)}" for a in applied for k in a.applied_to}


def register_for(
    path: Path | str | None, scenario: Scenario, overrides: Overrides = None
) -> pd.DataFrame:
    from sim.scenario import scenario_path
    from sim.scenario.inherit import MAX_DEPTH, base_path

    file = scenario_path(path)
    texts = [file.read_text(encoding="utf-8")]
    for _ in range(MAX_DEPTH):  # the chain of bases (checked when the scenario was loaded)
        base = tomllib.loads(texts[0]).get("base")
        if base is None:
            break
        file = base_path(base, file.parent)
        texts.insert(0, file.read_text(encoding="utf-8"))
    return register(scenario, texts[-1], overrides, tuple(texts[:-1]))


KEY_INPUTS_SHOWN = 12  # rows of the short table; every input is in the register


def _pattern(key: str) -> re.Pattern[str]:
    """A ranges key (``categories.*.walkin_propensity``, ``tiers[x=y].fix_prob``) as a pattern
    on the register's plain keys."""
    parts = re.split(r"\.(?![^\[]*\])", key)
    out = []
    for part in parts:
        if part == "*":
            out.append(r"[^.]+")
        elif "[" in part:
            out.append(re.escape(part[: part.index("[")]) + r"\.[^.]+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + r"\.".join(out) + "$")


def _ranges() -> list[tuple[str, dict[str, Any]]]:
    """The ranges of the inputs the default scenario's headline results depend on."""
    from sim.scenario.uncertainty import default_ranges_path

    path = default_ranges_path(None)
    if path is None:
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    entries = doc.get("uncertainty", {})
    return [(k, v) for k, v in entries.items() if isinstance(v, dict)]


def key_inputs(register_table: pd.DataFrame, tornado: pd.DataFrame | None = None) -> pd.DataFrame:
    """The assumptions ([A]) the headline results depend on most: those the scenario's ranges
    file names (the inputs a sensitivity analysis varies), in the order of their largest swing
    when the folder has a tornado, else in the file's order. One row per input: its value (or
    the span of values it reaches), unit, plausible range and why."""
    a = register_table
    assumed = a[a["label"].astype(str).str.contains("[A]", regex=False)]
    swing: dict[str, float] = {}
    if tornado is not None and len(tornado):
        swing = tornado.groupby("input")["swing_mean"].agg(lambda x: x.abs().max()).to_dict()
    rows = []
    for order, (key, entry) in enumerate(_ranges()):
        hits = assumed[assumed["key"].astype(str).str.match(_pattern(key))]
        if hits.empty and "." in key:  # a part of a distribution (…patience_min.mean)
            hits = assumed[assumed["key"].astype(str).str.match(_pattern(key.rsplit(".", 1)[0]))]
        if hits.empty:
            continue
        values = pd.to_numeric(hits["value"], errors="coerce")
        if len(hits) == 1 or values.isna().any():
            value = str(hits["value"].iloc[0]) + (
                f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
            )
        else:
            value = f"{values.min():g} to {values.max():g} over {len(hits)} entries"
            if values.min() == values.max():
                value = f"{values.min():g} in each of {len(hits)} entries"
        low, high = entry.get("low"), entry.get("high")
        scale = bool(entry.get("scale"))
        plausible = _plausible(low, high, entry.get("se"), scale, bool(entry.get("logit")))
        rows.append(
            (
                (-swing[key], order) if key in swing else (math.inf, order),
                key,
                value,
                unit_of(str(hits["key"].iloc[0])),
                plausible,
                str(entry.get("reason", "")),
            )
        )
    rows.sort(key=lambda r: r[0])
    table = pd.DataFrame(
        [r[1:] for r in rows[:KEY_INPUTS_SHOWN]],
        columns=["key", "value", "unit", "plausible_range", "why"],
    )
    return table


def _plausible(low, high, se, scale: bool, logit: bool) -> str:
    """A ranges entry's plausible values in words: its bounds, or ± 2 standard errors of a
    fitted value (as factors with `scale`, on the logit scale with `logit`)."""
    if low is None or high is None:
        if se is None:
            return ""
        where = " (logit scale)" if logit else ""
        return f"× (1 ± {2 * se:g})" if scale else f"± {2 * se:g}{where} (2 standard errors)"
    return f"× {low:g} to × {high:g}" if scale else f"{low:g} to {high:g}"
