"""Ranges on inputs: how far each uncertain input of a scenario may plausibly be from its value,
and why. They drive the sensitivity analyses (``techbar sensitivity``).

Ranges live in their own TOML file beside the scenario (``met_2019.uncertainty.toml`` for the
embedded default; ``NAME.uncertainty.toml`` beside a scenario file ``NAME.toml``; or any file given
with ``--ranges``), one entry per input in an ``[uncertainty]`` table, keyed as for ``--set``::

    [uncertainty]
    "value.hours_lost_per_downtime_day" = { low = 0.25, high = 4, reason = "…" }
    "categories.*.walkin_propensity" = { scale = true, low = 0.7, high = 1.3, reason = "…" }

``low`` and ``high`` bound the input; ``dist`` says how it is spread between them for the
probabilistic analysis (``uniform``, the default; ``triangular`` with its mode at the scenario's
value; ``loguniform``; ``normal``, centred on the scenario's value with standard deviation
``se``, cut at the bounds). With ``scale = true`` the bounds are factors on every value the key
reaches (a ``*`` or filter key whose places hold different values), and the base is 1; with
``logit = true`` they are shifts of every value (each a probability) on the logit scale, and the
base is 0. ``with = [KEY, …]`` makes the same value, factor or shift reach those keys' places too
(one input spread over places no single key reaches, e.g. a common factor fitted on some
categories).

A fitted input (``techbar calibrate``) gives its standard error instead of bounds::

    "categories.laptop.sd_resolution_days.mean" = { se = 0.023, reason = "…" }

which means ``dist = "normal"`` with that standard deviation, between the scenario's value ±
``SE_BOUNDS`` standard errors (unless ``low`` and ``high`` are given).

When a point sets several inputs that reach the same place, values are set first and then
factors and shifts apply to what is there, so a fitted value's range and a factor on it compose.

Every range is checked against the scenario it belongs to, and a bad one is a ScenarioError
naming its key: an unknown key, a key whose value is not a number, low above high, the
scenario's value outside the range, a whole-number input with a fractional bound, or a bound at
which the scenario itself is invalid (e.g. 30 hours lost in a day).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.scenario.errors import ScenarioError, first_problem
from sim.scenario.keys import set_at
from sim.scenario.loading import default_scenario_path, read_toml, validate
from sim.scenario.schema import Scenario

SUFFIX = ".uncertainty.toml"
MAX_RANGES = 200  # inputs in one file: each is two points of a one-at-a-time analysis
SE_BOUNDS = 2.0  # a fitted input's range: its value ± this many standard errors
Dist = Literal["uniform", "triangular", "loguniform", "normal"]


class _Entry(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    low: float | None = None
    high: float | None = None
    reason: str = Field(min_length=1, description="why the input may lie in this range")
    dist: Dist | None = None
    scale: bool = False
    logit: bool = False
    se: float | None = Field(None, gt=0, description="standard error of a fitted input")
    also: tuple[str, ...] = Field((), alias="with", description="more keys the input reaches")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    uncertainty: dict[str, _Entry] = Field(min_length=1, max_length=MAX_RANGES)


class _Marker:
    """Stands in a copy of the scenario where a key reaches, to find those places."""


@dataclass(frozen=True)
class Range:
    """An uncertain input: its key (as for ``--set``), its bounds and its base (the scenario's
    value, 1 for a factor, 0 for a logit shift), the places it reaches with their values, and
    why; `entry` is the ranges file's entry as written (to check it against another scenario)."""

    key: str
    low: float
    high: float
    base: float
    reason: str
    dist: Dist = "uniform"
    scale: bool = False
    integer: bool = False
    places: tuple[tuple[tuple[Any, ...], float], ...] = ()  # (path, value in the scenario)
    logit: bool = False
    se: float | None = None
    entry: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.key} ×" if self.scale else f"{self.key} +logit" if self.logit else self.key

    @property
    def relative(self) -> bool:
        """Whether the input acts on the values already in place (a factor or a shift)."""
        return self.scale or self.logit

    def value_at(self, u: float) -> float:
        """The input at quantile `u` (0..1) of its distribution between low and high."""
        lo, hi = self.low, self.high
        if self.dist == "loguniform":
            x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        elif self.dist == "normal" and self.se is not None and hi > lo:
            n = NormalDist(self.base, self.se)
            a, b = n.cdf(lo), n.cdf(hi)
            x = min(max(n.inv_cdf(min(max(a + u * (b - a), 1e-12), 1 - 1e-12)), lo), hi)
        elif self.dist == "triangular" and hi > lo:
            c = (self.base - lo) / (hi - lo)
            x = (
                lo + math.sqrt(u * (hi - lo) * (self.base - lo))
                if u < c
                else hi - math.sqrt((1 - u) * (hi - lo) * (hi - self.base))
            )
        else:
            x = lo + u * (hi - lo)
        return self.snap(x)

    def snap(self, x: float) -> float:
        """A value the input can take: a whole number for a whole-number input."""
        return float(round(x)) if self.integer else float(x)

    def apply(self, data: dict[str, Any], x: float) -> dict[str, Any]:
        """A copy of raw scenario data with the input at `x`: a factor on (or, with `logit`, a
        shift on the logit scale of) each place's value as it is in `data`."""
        data = copy.deepcopy(data)
        self.set_in(data, x)
        return data

    def set_in(self, data: dict[str, Any], x: float) -> None:
        """`apply`, changing `data` itself (raw scenario data of the caller's own)."""
        for path, value in self.places:
            ok, current = _get_path(data, path)
            now = float(current) if ok and _is_number(current) else value
            new: float | int = x
            if self.scale:
                new = now * x
            elif self.logit:
                new = _expit(_logit(now) + x)
            if self.integer:
                new = round(new)
            _set_path(data, path, new)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _set_path(data: Any, path: tuple[Any, ...], value: Any) -> None:
    node = data
    for part in path[:-1]:
        if isinstance(node, dict) and part not in node:
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def _get_path(data: Any, path: tuple[Any, ...]) -> tuple[bool, Any]:
    node = data
    for part in path:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False, None
        node = node[part]
    return True, node


def _marked(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, _Marker):
        return [path]
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    return [p for k, v in items for p in _marked(v, (*path, k))]


def default_ranges_path(scenario_path: Path | str | None) -> Path | None:
    """The ranges file that goes with a scenario (None if there is none)."""
    base = Path(scenario_path) if scenario_path is not None else default_scenario_path()
    path = base.with_name(base.name.removesuffix(".toml") + SUFFIX)
    return path if path.exists() else None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def load_ranges(path: Path | str, scenario_raw: dict[str, Any]) -> list[Range]:
    """The ranges of a file, each checked against the scenario (raw data, overrides applied)."""
    path = Path(path)
    raw = read_toml(path)
    try:
        doc = _File.model_validate(raw)
    except ValidationError as exc:
        raise first_problem(exc, f"ranges ({path})") from None
    source = f"ranges ({path})"
    return check_ranges(
        [
            (k, e.model_dump(by_alias=True, exclude_defaults=True))
            for k, e in doc.uncertainty.items()
        ],
        scenario_raw,
        source,
    )


def check_ranges(
    entries: Sequence[tuple[str, dict[str, Any]]],
    scenario_raw: dict[str, Any],
    source: str = "ranges",
) -> list[Range]:
    """Ranges from (key, {low, high, reason, dist, scale}) entries, each checked against the
    scenario; a bad one is a ScenarioError naming its key."""
    resolved = validate(scenario_raw, "scenario")
    dump = resolved.model_dump(mode="json", by_alias=True, exclude_none=True)
    out = []
    for key, entry in entries:
        try:
            e = _Entry.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            at = ".".join(map(str, err["loc"]))
            raise ScenarioError(
                f"invalid {source}: key '{key}': {at}: {err['msg']}".replace(": : ", ": ")
            ) from None
        out.append(_check(key, e, scenario_raw, dump, source))
    return out


def _check(key: str, e: _Entry, raw: dict[str, Any], dump: dict[str, Any], source: str) -> Range:
    def bad(why: str) -> ScenarioError:
        return ScenarioError(f"invalid {source}: key '{key}': {why}")

    paths: list[tuple[Any, ...]] = []
    for k in (key, *e.also):
        probe = copy.deepcopy(dump)
        try:
            set_at(probe, k, _Marker())
        except ScenarioError as exc:
            raise bad(f"unknown input: {exc}") from None
        paths += [p for p in _marked(probe) if p not in paths]
    found = [_get_path(dump, p) for p in paths]
    if not paths or not all(ok for ok, _ in found):
        raise bad("unknown input: the scenario has no such key (keys are as for --set)")
    values = [v for _, v in found]
    if not all(_is_number(v) for v in values):
        shown = next(v for v in values if not _is_number(v))
        raise bad(f"not a number in the scenario (it is {shown!r}); a range needs a numeric input")
    integer = all(isinstance(v, int) for v in values)
    if e.scale and e.logit:
        raise bad("give scale = true or logit = true, not both")
    if e.logit and not all(0 < v < 1 for v in values):
        raise bad("logit = true needs every value it reaches strictly between 0 and 1")
    if e.scale or e.logit:
        base = 1.0 if e.scale else 0.0
    else:
        if len({float(v) for v in values}) > 1:
            raise bad(
                "the places it reaches hold different values "
                f"({', '.join(sorted({f'{v:g}' for v in values}))}); give scale = true to vary "
                "them together by a factor"
            )
        base = float(values[0])
    if e.se is None and (e.low is None or e.high is None):
        raise bad("give low and high (or se, the standard error of a fitted input)")
    low = e.low if e.low is not None else base - SE_BOUNDS * (e.se or 0)
    high = e.high if e.high is not None else base + SE_BOUNDS * (e.se or 0)
    dist = e.dist or ("normal" if e.se is not None else "uniform")
    if dist == "normal" and e.se is None:
        raise bad("dist 'normal' needs se, its standard deviation")
    if low > high:
        raise bad(f"low {low:g} is above high {high:g}")
    if e.scale and not low <= 1 <= high:
        raise bad(f"a factor range must include 1 (the scenario as it is); got {low:g}-{high:g}")
    if e.logit and not low <= 0 <= high:
        raise bad(
            f"a logit shift's range must include 0 (the scenario as it is); got {low:g}-{high:g}"
        )
    if not low <= base <= high:
        raise bad(f"the scenario's value {base:g} is outside the range {low:g}-{high:g}")
    whole = float(low).is_integer() and float(high).is_integer()
    if integer and not (e.scale or e.logit) and not whole:
        raise bad(f"a whole-number input needs whole-number bounds; got {low:g}-{high:g}")
    if dist == "loguniform" and low <= 0:
        raise bad("dist 'loguniform' needs low above 0")
    r = Range(
        key=key,
        low=float(low),
        high=float(high),
        base=base,
        reason=e.reason,
        dist=dist,
        scale=e.scale,
        integer=integer,
        places=tuple((p, float(v)) for p, v in zip(paths, values, strict=True)),
        logit=e.logit,
        se=e.se,
        entry=tuple(e.model_dump(by_alias=True, exclude_defaults=True).items()),
    )
    for side, x in (("low", r.low), ("high", r.high)):
        try:
            validate(r.apply(dump, x), f"with {key} at its {side} {x:g}")
        except ScenarioError as exc:
            raise bad(f"its {side} {x:g} makes the scenario invalid: {exc}") from None
    return r


def scenario_at(
    base: dict[str, Any], settings: Sequence[tuple[Range, float]], name: str
) -> Scenario:
    """The scenario with each range's input at the given value, named `name`."""
    data = copy.deepcopy(base)  # once, not once a range: a sample sets every ranged input
    for r, x in sorted(settings, key=lambda s: s[0].relative):  # values first, then factors
        r.set_in(data, x)
    return validate({**data, "name": name}, f"sensitivity point '{name}'")


def resolved_data(scenario: Scenario) -> dict[str, Any]:
    """A scenario as raw data with every default filled in (what ranges apply to)."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
