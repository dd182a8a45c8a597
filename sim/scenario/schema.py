"""The scenario schema: every input of a run, validated and immutable. Unknown keys are rejected
so that a typo fails loudly."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from sim.calendar import WEEKDAYS, parse_hhmm
from sim.distributions import MAX_MAGNITUDE, DistSpec, Fixed

DEVICES = ("laptop", "tablet", "smartphone")
Device = Literal["laptop", "tablet", "smartphone"]
Weekday = Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
Probability = Annotated[float, Field(ge=0, le=1)]
NonNegFloat = Annotated[float, Field(ge=0)]
DEFAULT_SCENARIO = "met_2019"

# Limits that keep every run finite and sane (a typo of a few zeros is refused, not simulated).
RESERVED_NAMES = ("ALL", "ALL_DESKS", "ALL_POPUPS")  # the KPI tables' aggregate rows
MAX_ENGINEERS = 1000  # at one desk or pop-up visit, on one day
# A backstop far beyond any real service (the Met's 7 desks and 35 pop-up locations: about 8,600
# incidents and 1,900 walk-ins a week); the work of a whole run (horizon × replications, memory)
# is limited by the command before it starts.
MAX_INCIDENTS_PER_WEEK = 10_000_000  # the whole scenario, every catchment and walk-in rate
MAX_WALKINS_PER_WEEK = 1_000_000  # the whole scenario; each walk-in is a SimPy process
MIN_REVIEW_DAYS = 1 / 24  # a periodic stock review at most hourly
WEEKS_PER_YEAR = 365.25 / 7
OUT_OF_RANGE_AT = "(at "  # a message ending "(at KEY)" names a key within the field


def _time_of_day(v: Any) -> str:
    if isinstance(v, dt.time):
        v = v.strftime("%H:%M")
    if not isinstance(v, str):
        raise ValueError("time of day must be a string 'HH:MM'")
    parse_hhmm(v)
    return v


TimeOfDay = Annotated[str, BeforeValidator(_time_of_day)]
Engineers = Annotated[int, Field(ge=1, le=MAX_ENGINEERS)]
EngineersOrNone = Annotated[int, Field(ge=0, le=MAX_ENGINEERS)]


def name_key(name: str) -> str:
    """A site or pop-up name as compared for clashes: case, spaces, '_' and '-' ignored."""
    return "".join(c for c in name.casefold() if not c.isspace() and c not in "_-")


def _site_name(v: str) -> str:
    if not v.strip():
        raise ValueError("a name must not be empty or only spaces")
    if name_key(v) in {name_key(r) for r in RESERVED_NAMES}:
        raise ValueError(
            f"'{v}' is reserved for the totals in the results ({', '.join(RESERVED_NAMES)}); "
            "choose another name"
        )
    return v


SiteName = Annotated[str, AfterValidator(_site_name)]


def _out_of_range(value: Any) -> str | None:
    """The dotted path (within a field) of a number beyond ±MAX_MAGNITUDE or not finite, "" for
    the value itself, None if every number is in range."""
    if isinstance(value, dict | list | tuple):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for at, x in items:
            inner = _out_of_range(x)
            if inner is not None:
                return f"{at}.{inner}" if inner else str(at)
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    # compare before math.isfinite: an int too large for a float must not raise
    if is_number and (abs(value) > MAX_MAGNITUDE or not math.isfinite(value)):
        return ""
    return None


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v):
        at = _out_of_range(v)
        if at is not None:
            where = f" {OUT_OF_RANGE_AT}{at})" if at else ""
            raise ValueError(f"numbers must be finite and at most {MAX_MAGNITUDE:g}{where}")
        return v


class Tier(_Frozen):
    share: Probability = Field(description="share of walk-in contacts at this support tier")
    service_min: DistSpec = Field(description="engineer time per visit, minutes")
    fix_prob: Probability = Field(1.0, description="probability the fault is fixed on site")


class Category(_Frozen):
    device: Device | None = Field(None, description="device type the incident concerns, if any")
    rate_per_user_year: NonNegFloat | None = None
    rate_per_device_year: NonNegFloat | None = None
    walkin_propensity: Probability = Field(
        description="share of these incidents taken to a desk once adoption is complete"
    )
    induced: bool = Field(
        False,
        description="demand that exists only because a desk is there (never a service-desk call)",
    )
    swappable: bool = Field(
        True, description="an unfixed fault of this device can be swapped from desk stock"
    )
    fix_prob: Probability | None = Field(
        None, description="probability fixed on site, replacing the tier's (absent: by tier)"
    )
    sd_resolution_days: DistSpec | None = Field(
        None,
        description="time to resolution on the service-desk (return-to-base) route, days: "
        "the counterfactual for downtime saved",
    )

    @model_validator(mode="after")
    def _one_rate(self):
        if (self.rate_per_user_year is None) == (self.rate_per_device_year is None):
            raise ValueError("give exactly one of rate_per_user_year or rate_per_device_year")
        if self.rate_per_device_year is not None and self.device is None:
            raise ValueError("rate_per_device_year needs a device")
        return self


class Adoption(_Frozen):
    start: Annotated[float, Field(gt=0, le=1)] = 1.0
    full_after_weeks: NonNegFloat = 0.0


class Demand(_Frozen):
    hour_weights: list[NonNegFloat] = Field(
        [1.0] * 24, min_length=24, max_length=24, description="relative incident rate by clock hour"
    )
    weekday_weights: list[NonNegFloat] = Field(
        [1.0] * 7, min_length=7, max_length=7, description="relative incident rate Mon..Sun"
    )
    max_defer_h: PositiveFloat = Field(
        24.0, description="longest a user waits for a desk to open before using the service desk"
    )
    popup_max_defer_h: PositiveFloat = Field(
        72.0, description="longest a user at a pop-up location waits for its next visit"
    )
    adoption: Adoption = Adoption()
    deferred_visit: Literal["hour_profile", "after_opening"] = Field(
        "hour_profile",
        description="when a user who waits for a place to open visits it: at a time of day drawn "
        "from hour_weights within its opening hours, or soon after it opens (an opening rush, "
        "exponential with mean deferred_rush_mean_min)",
    )
    deferred_rush_mean_min: PositiveFloat = Field(
        60.0, description="mean minutes after opening of a deferred visit, with after_opening"
    )
    force_users: PositiveInt | None = Field(
        None,
        description="users the service desk supports; when more than the modelled catchments, "
        "the force-wide share of calls taken counts the others' incidents at the same rate",
    )

    @field_validator("hour_weights", "weekday_weights")
    @classmethod
    def _not_all_zero(cls, v):
        if sum(v) <= 0:
            raise ValueError("weights must not all be zero")
        return v


class Service(_Frozen):
    balk_queue: PositiveInt | None = Field(
        None, description="a visitor who finds this many waiting walks away (absent: never)"
    )
    patience_min: DistSpec | None = Field(
        None, description="time a visitor waits before giving up (absent: no reneging)"
    )
    sl_target_min: PositiveFloat = Field(15.0, description="service-level target wait, minutes")
    at_close: Literal["serve", "send_away"] = Field(
        "serve", description="what happens to visitors still queueing at closing time"
    )
    swap_min: DistSpec = Field(
        Fixed(dist="fixed", value=15), description="extra engineer time to hand over a swap"
    )


class Stock(_Frozen):
    repair_days: DistSpec = Field(
        Fixed(dist="fixed", value=5), description="turnaround of a swapped-out unit, days"
    )
    policy: Literal["one_for_one", "periodic"] = Field(
        "one_for_one",
        description="one_for_one: each swap sends a unit away and its replacement returns after "
        "repair_days; periodic: every review_days, order up to the base stock",
    )
    review_days: PositiveFloat | None = Field(None, description="review period of 'periodic'")

    @field_validator("review_days")
    @classmethod
    def _not_too_often(cls, v):
        if v is not None and v < MIN_REVIEW_DAYS:
            raise ValueError("review_days must be at least 1/24 (one hour)")
        return v

    @model_validator(mode="after")
    def _review(self):
        if self.policy == "periodic" and self.review_days is None:
            raise ValueError("policy 'periodic' needs review_days")
        return self


class Value(_Frozen):
    hours_lost_per_downtime_day: Annotated[float, Field(ge=0, le=24)] = Field(
        1.0, description="productive officer-hours lost per day a user's device or issue is down"
    )
    gbp_per_officer_hour: NonNegFloat = Field(36.51, description="cost of a productive hour, £")


class ServiceDesk(_Frozen):
    """The service desk the Tech Bars are compared with (not simulated: a reference)."""

    ftf_rate: Probability = Field(
        0.66,
        description="the service desk's own first-contact resolution for incidents, the "
        "reference for the published rise in first-time fixes",
    )


class Readings(_Frozen):
    """How the KPIs comparable with the published figures read the published sentences
    (MODEL.md §5). The defaults are the README's; the others are for the backtest's comparison."""

    tickets: Literal["walkins", "resolved"] = Field(
        "walkins",
        description="'days quicker per ticket': over every walk-in ticket (induced demand "
        "excluded; escalated and abandoned ones save negative time) or only those resolved at "
        "the desk",
    )
    downtime_from: Literal["fault", "logged"] = Field(
        "fault",
        description="downtime with a Tech Bar counted from the fault (incident) or from when "
        "the ticket is logged (the walk-in)",
    )
    share_calls: Literal["resolved", "handled"] = Field(
        "resolved",
        description="'handled up to 12 % of service calls': calls resolved at a Tech Bar, or "
        "every Tech Bar ticket (resolved or escalated; induced demand excluded)",
    )
    share_of: Literal["force", "served"] = Field(
        "force",
        description="the share's denominator for ALL: the whole force's service calls, or those "
        "of the catchments the modelled desks and pop-ups serve",
    )


MAX_DISCOUNT_RATE = 0.2  # a share a year; 3.5 (meant as per cent) is refused, not used as 350 %
MAX_OPTIMISM_BIAS = 2.0  # +200 %: the Green Book guidance's highest upper bound (equipment)
MAX_APPRAISAL_YEARS = 30  # the Green Book's 3.5 % applies to years 0-30; beyond, it declines
MAX_DAYS_PER_FTE_YEAR = 366


class Costs(_Frozen):
    """The cost side of the business case and the appraisal settings. Money is £ at the prices
    of the value inputs (2019) unless the unit says otherwise; each description gives the unit
    and the source label ([S] published, source named; [D] derived; [A] assumption)."""

    engineer_gbp_per_fte_year: NonNegFloat = Field(
        45_000.0,
        description="fully loaded cost of one engineer for a year (pay, employer's national "
        "insurance and pension, management, training, kit), £ per FTE-year [A]: no published "
        "figure; plausible range 35,000-65,000",
    )
    engineer_days_per_fte_year: Annotated[float, Field(gt=0, le=MAX_DAYS_PER_FTE_YEAR)] = Field(
        220.0,
        description="days one FTE engineer is available to be rostered, days per FTE-year [A]: "
        "261 weekdays - 8 bank holidays [S] gov.uk - 25 days' leave - about 8 days' sickness and "
        "training; an engineer-day rostered costs engineer_gbp_per_fte_year / this",
    )
    desk_gbp_per_year: NonNegFloat = Field(
        6_000.0,
        description="running cost of one permanent desk besides its engineers (space, power, "
        "network, consumables, signage), £ per desk per year [A]; range 2,000-15,000",
    )
    stock_gbp_per_unit_year: NonNegFloat = Field(
        60.0,
        description="holding cost of one unit of swap stock (storage, asset tracking, insurance, "
        "wear; not its price), £ per unit of base stock per year [A]: about 10 % of the price",
    )
    stock_gbp_per_unit: NonNegFloat = Field(
        600.0,
        description="replacement cost (price) of one swap unit, £ per unit [A] (laptops, tablets "
        "and smartphones averaged; range 300-1,200): each desk's base stock is bought once, "
        "a set-up cost",
    )
    sd_usd_per_call: NonNegFloat = Field(
        22.0,
        description="the service desk's fully loaded cost per call handled at level 1, US$ per "
        "call [S] MetricNet (North American average cost per L1 ticket); saved for each "
        "incident resolved at a Tech Bar [A]",
    )
    gbp_per_usd: PositiveFloat = Field(
        0.783,
        description="exchange rate, £ per US$ [S] IMF International Financial Statistics, 2019 "
        "annual average (World Bank PA.NUS.FCRF); 22 US$ = £17.23 a call",
    )
    rtb_gbp_per_escalation: NonNegFloat = Field(
        20.0,
        description="return-to-base logistics (courier and handling) of each device a desk "
        "escalates, £ per escalation [A]; range 10-50; escalations without a device ship nothing",
    )
    setup_gbp_per_desk: NonNegFloat = Field(
        25_000.0,
        description="one-off set-up cost of each permanent desk (bespoke desk built and "
        "installed, layout changes, power and network points [seed]), £ per desk [A]: the "
        "business case's figures are restricted; range 10,000-60,000",
    )
    setup_gbp: NonNegFloat = Field(
        150_000.0,
        description="one-off set-up cost of the programme besides the desks (project team, "
        "design, marketing), £ [A]: restricted in the business case; range 50,000-400,000",
    )
    appraisal_years: Annotated[int, Field(ge=1, le=MAX_APPRAISAL_YEARS)] = Field(
        5,
        description="appraisal period, years of running costs and benefits after set-up "
        "(year 0) [A]; at most 30, the span of the Green Book's 3.5 % rate",
    )
    discount_rate: NonNegFloat = Field(
        0.035,
        description="discount rate for present values, a share a year (0.035 = 3.5 %) "
        "[S] HM Treasury Green Book",
    )
    optimism_bias: NonNegFloat = Field(
        0.15,
        description="optimism bias: uplift on every cost in present values, a share (0.15 = "
        "+15 %) [A] value; [S] method and bounds: Green Book supplementary guidance (standard "
        "buildings capital 2-24 %, outsourcing operating costs 0-41 %)",
    )

    @field_validator("discount_rate")
    @classmethod
    def _rate_is_a_share(cls, v):
        if v > MAX_DISCOUNT_RATE:
            raise ValueError(
                "the discount rate is a share a year (0.035 = 3.5 %), at most "
                f"{MAX_DISCOUNT_RATE:g}"
            )
        return v

    @field_validator("optimism_bias")
    @classmethod
    def _bias_is_a_share(cls, v):
        if v > MAX_OPTIMISM_BIAS:
            raise ValueError(
                f"optimism bias is a share (0.15 = +15 %), at most {MAX_OPTIMISM_BIAS:g} "
                "(+200 %, the Green Book guidance's highest upper bound)"
            )
        return v

    @property
    def gbp_per_engineer_day(self) -> float:
        return self.engineer_gbp_per_fte_year / self.engineer_days_per_fte_year

    @property
    def sd_gbp_per_call(self) -> float:
        return self.sd_usd_per_call * self.gbp_per_usd


class Break(_Frozen):
    """Each engineer on duty takes a break of `duration_min`; the k-th engineer's starts at
    start + k × stagger_min, once the visitor in hand is finished."""

    start: TimeOfDay
    duration_min: PositiveFloat
    stagger_min: NonNegFloat = 0.0


class Site(_Frozen):
    name: SiteName = Field(min_length=1)
    bcu: str = ""
    population: NonNegativeInt = 0
    fleet: dict[Device, NonNegativeInt] = {}
    open: TimeOfDay = "08:30"
    close: TimeOfDay = "17:00"
    days: list[Weekday] = Field(["Mon", "Tue", "Wed", "Thu", "Fri"], min_length=1)
    engineers: Engineers | list[EngineersOrNone]
    opened: dt.date | None = Field(
        None,
        description="date the desk opened: closed before it (its users call the service desk), "
        "and the adoption ramp starts then",
    )
    walkin_rate_per_hour: PositiveFloat | list[NonNegFloat] | None = None
    walkin_process: Literal["poisson", "regular"] = "poisson"
    swap_stock: dict[Device, NonNegativeInt] = Field(
        {}, description="base stock of swap units per device type (absent: none)"
    )
    breaks: list[Break] = Field([], description="breaks every rostered engineer takes each day")

    @field_validator("days")
    @classmethod
    def _unique_days(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("weekdays must not repeat")
        return sorted(v, key=WEEKDAYS.index)

    @model_validator(mode="after")
    def _consistent(self):
        if self.open_min >= self.close_min:
            raise ValueError(f"open ({self.open}) must be before close ({self.close})")
        if isinstance(self.engineers, list) and len(self.engineers) not in (7, len(self.days)):
            raise ValueError(
                f"engineers: give one number, or one per weekday Mon..Sun (7), or one per open "
                f"day ({len(self.days)}); got {len(self.engineers)}"
            )
        rostered = self.engineers_by_weekday()
        idle = [self.days[k] for k, d in enumerate(self.day_indices) if rostered[d] < 1]
        if idle:
            raise ValueError(
                f"engineers: every open day needs at least one engineer; none on {', '.join(idle)}"
                " (close the desk on those days instead)"
            )
        rate = self.walkin_rate_per_hour
        if isinstance(rate, list):
            if len(rate) != 24:
                raise ValueError("walkin_rate_per_hour: give one rate, or 24 rates by clock hour")
            if self.walkin_process == "regular":
                raise ValueError("walkin_process 'regular' needs one constant walkin_rate_per_hour")
        return self

    @property
    def open_min(self) -> int:
        return parse_hhmm(self.open)

    @property
    def close_min(self) -> int:
        return parse_hhmm(self.close)

    @property
    def day_indices(self) -> list[int]:
        return [WEEKDAYS.index(d) for d in self.days]

    def engineers_by_weekday(self) -> list[int]:
        """Engineers rostered on each weekday Mon..Sun (0 on closed days)."""
        e = self.engineers
        if isinstance(e, int):
            per_day = {d: e for d in self.day_indices}
        elif len(e) == 7:
            per_day = {d: e[d] for d in self.day_indices}
        else:
            per_day = dict(zip(self.day_indices, e, strict=True))
        return [per_day.get(d, 0) for d in range(7)]


class Popup(_Frozen):
    """A pop-up Tech Bar: a location visited once a week, with a catchment of its own."""

    name: SiteName = Field(min_length=1)
    bcu: str = ""
    population: NonNegativeInt = 0
    fleet: dict[Device, NonNegativeInt] = {}
    day: Weekday
    start: TimeOfDay
    end: TimeOfDay
    engineers: Engineers = 1
    home: str = Field(
        description="permanent desk whose swap stock the visit uses and, unless mobile_team, "
        "whose engineers staff it (that desk runs short-handed, travel included)"
    )
    mobile_team: bool = Field(False, description="staffed by a dedicated mobile team")
    travel_min: NonNegFloat = Field(30.0, description="travel each way from the home desk")
    reach_desk: str | None = Field(
        None, description="permanent desk the location's users travel to when no visit is near"
    )
    opened: dt.date | None = Field(
        None, description="date of the first visit: no visits before it; adoption ramp start"
    )
    breaks: list[Break] = Field(
        default_factory=lambda: [Break(start="12:30", duration_min=30, stagger_min=30)],
        description="breaks each of the visit's engineers takes within the slot (default: a "
        "30-minute lunch at 12:30, staggered by 30 minutes)",
    )

    @model_validator(mode="after")
    def _slot(self):
        if parse_hhmm(self.start) >= parse_hhmm(self.end):
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self

    @property
    def start_min(self) -> int:
        return parse_hhmm(self.start)

    @property
    def end_min(self) -> int:
        return parse_hhmm(self.end)


class Calendar(_Frozen):
    closed_dates: list[dt.date] = Field(
        [], description="dates every desk and pop-up is closed (e.g. bank holidays)"
    )

    @field_validator("closed_dates")
    @classmethod
    def _unique_dates(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("dates must not repeat")
        return sorted(v)


class Scenario(_Frozen):
    name: str = Field(min_length=1)
    description: str = ""
    start_date: dt.date = Field(dt.date(2019, 12, 2), description="the Monday of week 1")
    horizon_weeks: PositiveInt
    warmup_weeks: NonNegativeInt = 0
    service: Service = Service()
    tiers: dict[str, Tier] = Field(min_length=1)
    categories: dict[str, Category] = Field(min_length=1)
    demand: Demand = Demand()
    stock: Stock = Stock()
    value: Value = Value()
    service_desk: ServiceDesk = ServiceDesk()
    readings: Readings = Readings()
    calendar: Calendar = Calendar()
    costs: Costs = Costs()
    sites: list[Site] = Field(min_length=1)
    popups: list[Popup] = []

    @field_validator("start_date")
    @classmethod
    def _monday(cls, v):
        if v.weekday() != 0:
            raise ValueError(f"start_date must be a Monday; {v} is a {WEEKDAYS[v.weekday()]}")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.warmup_weeks >= self.horizon_weeks:
            raise ValueError(
                f"warmup_weeks: {self.warmup_weeks} must be less than horizon_weeks "
                f"({self.horizon_weeks})"
            )
        total = sum(t.share for t in self.tiers.values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"tiers: shares must add up to 1, they add up to {total:g}")
        seen: dict[str, tuple[str, str]] = {}
        named = [(f"sites.{i}", s.name) for i, s in enumerate(self.sites)]
        named += [(f"popups.{i}", p.name) for i, p in enumerate(self.popups)]
        for key, name in named:
            first = seen.setdefault(name_key(name), (key, name))
            if first[0] != key:
                raise ValueError(
                    f"{key}.name: '{name}' clashes with {first[0]}.name '{first[1]}'; names "
                    "must be unique across sites and popups (ignoring case, spaces, _ and -)"
                )
        demand = self.demand_per_week()
        limits = ((0, "incidents", MAX_INCIDENTS_PER_WEEK), (1, "walk-ins", MAX_WALKINS_PER_WEEK))
        for k, what, limit in limits:
            per_place = {key: v[k] for key, v in demand.items()}
            per_week = sum(per_place.values())
            if per_week > limit:
                key = max(per_place, key=lambda k: per_place[k])
                raise ValueError(
                    f"{key}: the scenario makes up to about {per_week:,.0f} {what} a week "
                    f"({per_place[key]:,.0f} at {key}); at most {limit:,} are allowed (lower "
                    "populations, fleets, incident rates, walkin_propensity or "
                    "walkin_rate_per_hour)"
                )
        self._within_force()
        desks = {s.name: s for s in self.sites}
        for i, p in enumerate(self.popups):
            for key in ("home", "reach_desk"):
                name = getattr(p, key)
                if name is not None and name not in desks:
                    raise ValueError(
                        f"popups.{i}.{key}: no permanent desk named '{name}'; "
                        f"allowed: {', '.join(desks)}"
                    )
            home = desks[p.home]
            if not p.mobile_team:
                rostered = home.engineers_by_weekday()[WEEKDAYS.index(p.day)]
                if rostered == 0:
                    raise ValueError(
                        f"popups.{i}.day: '{p.home}' has no engineers on {p.day}; pick a day it "
                        "is open or set mobile_team = true"
                    )
                if p.engineers > rostered:
                    raise ValueError(
                        f"popups.{i}.engineers: {p.engineers} from '{p.home}', which has only "
                        f"{rostered} on {p.day}"
                    )
        return self

    def _within_force(self) -> None:
        """The catchments hold at most the force's users (``demand.force_users``): a desk or
        pop-up added with users of its own, rather than users moved from other catchments
        (``users_from``), would count some users twice."""
        users = self.demand.force_users
        if users is None or self.catchment_users <= users:
            return
        largest = max(
            [(s.population, f"sites.{i}.population") for i, s in enumerate(self.sites)]
            + [(p.population, f"popups.{i}.population") for i, p in enumerate(self.popups)]
        )
        raise ValueError(
            f"demand.force_users: the desks' and pop-ups' catchments hold "
            f"{self.catchment_users:,} users, {self.catchment_users - users:,} more than the "
            f"force's {users:,} (the largest catchment: {largest[1]}, {largest[0]:,}); move a "
            "new desk's users from other catchments with users_from, lower the populations, or "
            "raise demand.force_users"
        )

    @property
    def catchment_users(self) -> int:
        """Users in every desk's and pop-up location's catchment."""
        return sum(s.population for s in self.sites) + sum(p.population for p in self.popups)

    @property
    def site_names(self) -> list[str]:
        return [s.name for s in self.sites]

    def demand_per_week(self) -> dict[str, tuple[float, float]]:
        """Upper estimates of the incidents and of the walk-ins a week brings to each desk and
        pop-up location (``sites.N`` / ``popups.N``): the catchment's incident rates (walk-ins at
        full adoption), or the walk-in rate as if the desk were open all week."""
        places: list[tuple[str, Site | Popup]] = [
            (f"sites.{i}", s) for i, s in enumerate(self.sites)
        ]
        places += [(f"popups.{i}", p) for i, p in enumerate(self.popups)]
        out: dict[str, tuple[float, float]] = {}
        for key, place in places:
            rate = getattr(place, "walkin_rate_per_hour", None)
            if rate is not None:
                n = 7.0 * (sum(rate) if isinstance(rate, list) else 24 * rate)
                out[key] = (n, n)
                continue
            incidents = walkins = 0.0
            for cat in self.categories.values():
                if cat.rate_per_user_year is not None:
                    per_year = place.population * cat.rate_per_user_year
                else:
                    devices = place.fleet.get(cat.device, 0) if cat.device is not None else 0
                    per_year = devices * (cat.rate_per_device_year or 0)
                incidents += per_year / WEEKS_PER_YEAR
                walkins += per_year * cat.walkin_propensity / WEEKS_PER_YEAR
            out[key] = (incidents, walkins)
        return out
