"""What the page's controls mean as scenario overrides: plain data, no Streamlit here.

Each control shows the base value; only controls moved away from it become overrides, so a
what-if's name and its assumptions register list exactly what the user changed. Scales
(walk-in propensity, service time) are turned into values per category or tier here, so the
scenario model validates the numbers it will run (a propensity above 1 is refused there, not
clipped here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim import Scenario, scenario_to_dict

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TIME_KEYS = ("mean", "low", "mode", "high", "value")  # the parts of a spec in its own unit


def scaled_spec(spec: dict[str, Any], factor: float) -> dict[str, Any]:
    """A distribution spec (as in the scenario file) with every time in it multiplied by
    `factor`; its shape (cv, weights) unchanged."""
    out = dict(spec)
    for k in TIME_KEYS:
        if k in out:
            out[k] = round(float(out[k]) * factor, 6)
    if "values" in out:
        out["values"] = [round(float(v) * factor, 6) for v in out["values"]]
    return out


@dataclass
class DeskControls:
    """One desk's controls: engineers per open weekday, opening hours, swap stock per device."""

    engineers: dict[str, int]  # weekday → engineers rostered
    open: str
    close: str
    swap_stock: dict[str, int]


@dataclass
class PopupControls:
    day: str
    engineers: int
    mobile_team: bool


@dataclass
class ServiceControls:
    """Service-wide controls. Scales are multipliers on the base (1 = as the base)."""

    patience_mean_min: float | None  # None when the base has no reneging
    adoption_start: float
    adoption_full_after_weeks: float
    propensity_scale: float = 1.0
    service_time_scale: float = 1.0
    hours_lost_per_downtime_day: float = 1.0


@dataclass
class Controls:
    desks: dict[str, DeskControls] = field(default_factory=dict)
    popups: dict[str, PopupControls] = field(default_factory=dict)
    service: ServiceControls | None = None


def base_controls(scenario: Scenario) -> Controls:
    """The controls as the base scenario sets them."""
    desks = {
        s.name: DeskControls(
            engineers={WEEKDAYS[d]: s.engineers_by_weekday()[d] for d in s.day_indices},
            open=s.open,
            close=s.close,
            swap_stock={str(k): int(v) for k, v in s.swap_stock.items()},
        )
        for s in scenario.sites
    }
    popups = {p.name: PopupControls(p.day, p.engineers, p.mobile_team) for p in scenario.popups}
    patience = scenario_to_dict(scenario)["service"].get("patience_min")
    service = ServiceControls(
        patience_mean_min=_spec_mean(patience),
        adoption_start=scenario.demand.adoption.start,
        adoption_full_after_weeks=scenario.demand.adoption.full_after_weeks,
        hours_lost_per_downtime_day=scenario.value.hours_lost_per_downtime_day,
    )
    return Controls(desks, popups, service)


def _spec_mean(spec: dict[str, Any] | None) -> float | None:
    """The mean of a spec with a mean parameter; None for no spec or another shape."""
    if not spec or "mean" not in spec:
        return None
    return float(spec["mean"])


def overrides(scenario: Scenario, controls: Controls) -> dict[str, Any]:
    """The overrides (dotted keys, as ``--set``) that turn the base into the controls' what-if.
    Keys name sites and pop-ups by position, as the scenario file lists them."""
    base = base_controls(scenario)
    out: dict[str, Any] = {}
    for i, site in enumerate(scenario.sites):
        want, was = controls.desks.get(site.name), base.desks[site.name]
        if want is None:
            continue
        if want.engineers != was.engineers:
            out[f"sites.{i}.engineers"] = [
                int(want.engineers[WEEKDAYS[d]]) for d in site.day_indices
            ]
        for key in ("open", "close"):
            if getattr(want, key) != getattr(was, key):
                out[f"sites.{i}.{key}"] = getattr(want, key)
        for device, units in want.swap_stock.items():
            if units != was.swap_stock.get(device):
                out[f"sites.{i}.swap_stock.{device}"] = int(units)
    for i, popup in enumerate(scenario.popups):
        wantp, wasp = controls.popups.get(popup.name), base.popups[popup.name]
        if wantp is None:
            continue
        for key in ("day", "engineers", "mobile_team"):
            if getattr(wantp, key) != getattr(wasp, key):
                out[f"popups.{i}.{key}"] = getattr(wantp, key)
    if controls.service is not None and base.service is not None:
        out.update(_service_overrides(scenario, controls.service, base.service))
    return out


def _service_overrides(
    scenario: Scenario, want: ServiceControls, was: ServiceControls
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    data = scenario_to_dict(scenario)
    if want.patience_mean_min is not None and want.patience_mean_min != was.patience_mean_min:
        out["service.patience_min.mean"] = float(want.patience_mean_min)
    if want.adoption_start != was.adoption_start:
        out["demand.adoption.start"] = float(want.adoption_start)
    if want.adoption_full_after_weeks != was.adoption_full_after_weeks:
        out["demand.adoption.full_after_weeks"] = float(want.adoption_full_after_weeks)
    if want.hours_lost_per_downtime_day != was.hours_lost_per_downtime_day:
        out["value.hours_lost_per_downtime_day"] = float(want.hours_lost_per_downtime_day)
    if want.propensity_scale != 1.0:
        for name, cat in data["categories"].items():
            value = round(cat["walkin_propensity"] * want.propensity_scale, 6)
            out[f"categories.{name}.walkin_propensity"] = value
    if want.service_time_scale != 1.0:
        for name, tier in data["tiers"].items():
            out[f"tiers.{name}.service_min"] = scaled_spec(
                tier["service_min"], want.service_time_scale
            )
    return out
