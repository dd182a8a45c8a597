"""Pop-up visits and rosters: slots, short-handed home desks, travel to desks, shared stock."""

import numpy as np
import pytest

from sim.arrivals import (
    choose_option,
    desk_option,
    first_opening,
    population_walkins,
    popup_option,
)
from sim.calendar import MIN_PER_DAY, WEEKDAYS
from sim.kpis import on_duty_step
from sim.model import POPUP, run_replication
from sim.scenario import load_scenario
from sim.service import SERVED_OUTCOMES, SWAPPED
from sim.streams import Streams
from sim.trace import event_log


@pytest.fixture(scope="module")
def four_weeks():
    s = load_scenario(None, ["horizon_weeks=4"])
    return s, run_replication(s, seed=5, replication=0)


def test_default_has_35_popups_seven_a_day_covering_every_bcu():
    s = load_scenario()
    assert len(s.popups) == 35
    assert [sum(p.day == d for p in s.popups) for d in WEEKDAYS[:5]] == [7] * 5
    bcus = {p.bcu for p in s.popups} | {d.bcu for d in s.sites}
    assert len(bcus) == 12
    desk_bcus = {d.bcu for d in s.sites}
    assert len({p.bcu for p in s.popups} - desk_bcus) == 5


@pytest.mark.parametrize("at_close", ["serve", "send_away"])
def test_popup_visitors_are_served_only_during_their_slot(at_close):
    s = load_scenario(None, ["horizon_weeks=3", f'service.at_close="{at_close}"'])
    rec = run_replication(s, seed=1, replication=0)
    popups = {p.name: p for p in s.popups}
    checked = 0
    for site in rec.sites:
        if site.kind != POPUP:
            continue
        p = popups[site.name]
        v = site.visits
        day = (v.arrive_min // MIN_PER_DAY).astype(int)
        tod = v.arrive_min - day * MIN_PER_DAY
        assert np.all(day % 7 == WEEKDAYS.index(p.day))
        assert np.all((tod >= p.start_min) & (tod < p.end_min))
        start = np.asarray(v.start_min)
        seen = np.isin(np.asarray(v.outcome), SERVED_OUTCOMES)
        start_tod = start[seen] - day[seen] * MIN_PER_DAY
        assert np.all(start_tod >= p.start_min)
        if at_close == "send_away":
            assert np.all(start_tod <= p.end_min)
        checked += seen.sum()
    assert checked > 100


def test_engineers_serving_never_exceed_those_on_duty(four_weeks):
    """From the event log, whenever a visitor is taken on: engineers serving ≤ on duty, and on
    duty ≤ rostered (breaks and pop-up duty only ever take engineers away)."""
    s, rec = four_weeks
    log = event_log(rec)
    for site in rec.sites:
        ev = log[(log.site == site.name) & log.event.isin(["service_start", "service_end"])]
        ev = ev.assign(order=(ev.event == "service_start").astype(int))
        ev = ev.sort_values(["time", "order"], kind="stable")
        serving = np.cumsum(np.where(ev.event == "service_start", 1, -1))
        starts = (ev.event == "service_start").to_numpy()
        t = ev.time.to_numpy()
        on_duty = on_duty_step(site).at(t)
        assert np.all(serving[starts] <= on_duty[starts]), site.name
        assert on_duty.min(initial=site.capacity) >= 0


def test_home_desk_capacity_drops_during_its_popup_visits(four_weeks):
    s, rec = four_weeks
    records = {r.name: r for r in rec.sites}
    drops = 0
    for p in s.popups:
        if p.mobile_team:
            continue
        home = records[p.home]
        duty = on_duty_step(home)
        day = WEEKDAYS.index(p.day)
        roster = s.sites[[d.name for d in s.sites].index(p.home)].engineers_by_weekday()[day]
        windows = rec.plan.sites[p.name].windows
        for opens in windows[windows[:, 1] <= rec.horizon_min, 0].tolist():  # not the run-out
            t0 = opens - p.start_min
            before = duty.at(t0 + p.start_min - p.travel_min - 10)  # 09:00: all there
            during = duty.at(t0 + p.start_min + 60)  # 10:30: the pop-up engineer is away
            # back once the visit has closed, its last visitor is seen and the journey made
            ends = np.asarray(records[p.name].visits.end_min)
            ends = ends[(ends >= t0) & (ends < t0 + MIN_PER_DAY)]
            done = max(t0 + p.end_min, ends.max(initial=0.0))
            after = duty.at(done + p.travel_min + 1e-6)
            assert duty.at(done + p.travel_min - 1e-6) == roster - p.engineers
            assert before == roster and after == roster
            assert during == roster - p.engineers
            drops += 1
    # every visit staffed from a desk: 14 a week, less those on Christmas and Boxing Day
    closed = sum(p.day in ("Wed", "Thu") for p in s.popups if not p.mobile_team)
    assert drops == 14 * s.horizon_weeks - closed


def test_without_the_popup_the_home_desk_keeps_its_engineers():
    s = load_scenario(None, ["horizon_weeks=1", "popups=[]"])
    rec = run_replication(s, seed=5, replication=0)
    for site, cfg in zip(rec.sites, s.sites, strict=True):
        for d in cfg.day_indices:
            assert (
                on_duty_step(site).at(d * MIN_PER_DAY + 10.5 * 60)
                == (cfg.engineers_by_weekday()[d])
            )


def test_popups_draw_swaps_from_their_home_desk_stock(four_weeks):
    s, rec = four_weeks
    records = {r.name: r for r in rec.sites}
    for desk in s.sites:
        mine = [records[desk.name]] + [records[p.name] for p in s.popups if p.home == desk.name]
        assert all(r.stock is records[desk.name].stock for r in mine)
        for k, pool in enumerate(records[desk.name].stock):
            swapped = sum(
                ((np.asarray(r.visits.outcome) == SWAPPED) & (r.visits.device == k)).sum()
                for r in mine
            )
            assert pool.swaps == swapped


def test_popup_users_wait_for_the_visit_or_travel_to_their_desk():
    s = load_scenario(None, ["horizon_weeks=8"])
    popup = next(p for p in s.popups if p.reach_desk is not None)
    desk = next(d for d in s.sites if d.name == popup.reach_desk)
    options = [popup_option(s, popup), desk_option(s, desk)]
    out, tally = population_walkins(s, popup, options, Streams(4, 0))
    at_popup, at_desk = out[popup.name], out[desk.name]
    assert len(at_popup) > 0 and len(at_desk) > 0
    # waiting for the visit: within the pop-up deferral limit of its opening
    wait_h = (at_popup.time_min - at_popup.incident_min) / 60
    assert wait_h.max() <= s.demand.popup_max_defer_h + (popup.end_min - popup.start_min) / 60
    # those who went to the desk could not have been seen at a visit sooner than at the desk
    first_visit, visit_ok = first_opening(options[0], at_desk.incident_min)
    first_desk, desk_ok = first_opening(options[1], at_desk.incident_min)
    assert np.all(desk_ok & (~visit_ok | (first_desk < first_visit)))
    # and those at the visit could not have been at the desk sooner
    first_visit, _ = first_opening(options[0], at_popup.incident_min)
    first_desk, desk_ok = first_opening(options[1], at_popup.incident_min)
    assert np.all(~desk_ok | (first_visit <= first_desk))
    # without a desk in reach, no one travels
    out_alone, _ = population_walkins(s, popup, options[:1], Streams(4, 0))
    alone = out_alone[popup.name].incident_min
    # with the desk, some who would have waited for the visit go to the desk sooner; nobody new
    assert np.isin(at_popup.incident_min, alone).all()
    assert np.isin(alone, np.r_[at_popup.incident_min, at_desk.incident_min]).all()
    assert len(alone) > len(at_popup)
    assert tally.counts[:, 0].sum() == len(at_popup) + len(at_desk)


def _hm(day: int, hhmm: str) -> float:
    h, m = hhmm.split(":")
    return day * MIN_PER_DAY + int(h) * 60 + int(m)


@pytest.mark.parametrize(
    ("when", "max_defer_h", "goes_to"),
    [
        ((0, "10:00"), 24, "desk"),  # Monday: the desk is open now
        ((1, "07:30"), 24, "desk"),  # Tuesday early: the desk in an hour, the visit tomorrow
        ((2, "10:00"), 24, "popup"),  # Wednesday: both open now; the user's own location
        ((1, "18:00"), 24, "desk"),  # the desk opens at 08:30, the visit at 09:30
        ((0, "18:00"), 12, "popup"),  # the desk too far (14.5 h > 12 h); the visit in 39.5 h
        ((5, "10:00"), 12, None),  # Saturday: desk 46.5 h, visit 95.5 h: both too far
    ],
)
def test_users_go_to_the_earliest_place_they_can_reach(when, max_defer_h, goes_to):
    """MODEL.md §2: a user who can reach their pop-up location's visit (Wednesdays 09:30–16:30)
    and their desk (Mon–Fri 08:30–17:00) goes to whichever is open soonest."""
    s = load_scenario(None, ["horizon_weeks=2", f"demand.max_defer_h={max_defer_h}"])
    popup = next(p for p in s.popups if p.reach_desk is not None and p.day == "Wed")
    desk = next(d for d in s.sites if d.name == popup.reach_desk)
    assert (desk.open, desk.close, popup.start, popup.end) == ("08:30", "17:00", "09:30", "16:30")
    options = [popup_option(s, popup), desk_option(s, desk)]
    t = np.asarray([_hm(*when)])
    choice, _ = choose_option(options, t, np.ones(1, bool))
    expected = {"popup": 0, "desk": 1, None: -1}[goes_to]
    assert choice[0] == expected
