"""KPI values in words for people: a share as a percentage, money in pounds with thousands
separators, minutes and days with their unit, a change with its sign (shares in percentage
points). The unit comes from the KPI registry, so every page, sheet and sentence agrees."""

from __future__ import annotations

import math

from sim.kpis import KPIS

MINUS = "−"  # a minus sign, not a hyphen: it does not break a line or look like a dash
NBSP = "\u00a0"  # between a number and its unit: they stay on one line


def percent(x: float) -> str:
    """A fraction as a whole percentage that never rounds a part that is there to 0 % or one
    that is short of all to 100 % ("<1%", ">99%"): a probability or share of a spread."""
    text = f"{x:.0%}"
    if text == "0%" and x > 0:
        return "<1%"
    if text == "100%" and x < 1:
        return ">99%"
    return text


def unit(metric: str) -> str:
    k = KPIS.get(metric)
    return k.unit if k is not None else ""


def is_share(metric: str) -> bool:
    return unit(metric) == "share"


def is_money(metric: str) -> bool:
    return unit(metric).startswith("£")


def number(metric: str, x: float, signed: bool = False) -> str:
    """The bare number as a person reads it (a share × 100), no unit."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    u = unit(metric)
    x = float(x)
    if u == "share":
        x *= 100
        text = f"{abs(x):,.1f}"
    elif u.startswith("£") or (
        u in ("visitors", "calls per year", "engineer-days per year") and abs(x) >= 100
    ):  # counts in whole numbers; a mean queue of 0.17 visitors keeps its decimals
        text = f"{abs(x):,.0f}"
    elif u == "ratio":
        text = f"{abs(x):,.2f}"
    else:
        a = abs(x)
        text = f"{a:,.0f}" if a >= 100 else f"{a:.1f}" if a >= 10 else f"{a:.2f}"
    if float(text.replace(",", "")) == 0:
        return text
    if x < 0:
        return MINUS + text
    return ("+" + text) if signed else text


def quantity(metric: str, x: float) -> str:
    """A value with its unit: "86.3 %", "£2,353,906", "2.88 minutes", "1.55 days"."""
    text = number(metric, x)
    if text == "–":
        return text
    return with_unit(metric, text)


def with_unit(metric: str, text: str, change: bool = False) -> str:
    u = unit(metric)
    if u == "share":
        return f"{text}{NBSP}{'points' if change else '%'}"
    if u.startswith("£"):
        sign = text[0] if text[0] in "+" + MINUS else ""
        return f"{sign}£{text[len(sign) :]}"
    words = {"min": "minutes", "h": "hours", "days": "days", "min per open day": "minutes a day"}
    if u in words:
        return f"{text}{NBSP}{words[u]}"
    return text


def interval(metric: str, low: float, high: float) -> str:
    """A 95 % CI: "86.1–86.5 %", "£2,301,000–£2,406,000"."""
    lo, hi = number(metric, low), number(metric, high)
    if "–" in (lo, hi):
        return "–"
    sep = " to " if MINUS in lo + hi else "–"  # "−3 to −1" is clearer than "−3–−1"
    if is_money(metric):
        return f"{with_unit(metric, lo)}{sep}{with_unit(metric, hi)}"
    return with_unit(metric, f"{lo}{sep}{hi}")


def change(metric: str, d: float) -> str:
    """A difference with its sign and unit; shares in percentage points."""
    text = number(metric, d, signed=True)
    return text if text == "–" else with_unit(metric, text, change=True)


def change_interval(metric: str, low: float, high: float) -> str:
    """The 95 % CI of a difference, signed: "+3.5 to +4.1 points"."""
    lo, hi = number(metric, low, signed=True), number(metric, high, signed=True)
    if "–" in (lo, hi):
        return "–"
    if is_money(metric):
        return f"{with_unit(metric, lo)} to {with_unit(metric, hi)}"
    return with_unit(metric, f"{lo} to {hi}", change=True)


def title(metric: str) -> str:
    k = KPIS.get(metric)
    return k.title if k is not None and k.title else metric


PLURAL_SUBJECTS = (  # short titles that take a plural verb ("visitors … fall")
    "walk-ins",
    "visitors",
    "visits",
    "devices",
    "swaps",
    "engineer-days",
    "service-desk calls",
    "benefits",
    "productive officer-hours",
)


def is_plural(metric: str) -> bool:
    """Whether the KPI's short title is a plural subject."""
    return short(metric).startswith(PLURAL_SUBJECTS)


def short(metric: str) -> str:
    """The title without its unit and period, in lower case, for sentences."""
    t = title(metric).split(",")[0]
    return t[0].lower() + t[1:] if t and not t[:2].isupper() else t
