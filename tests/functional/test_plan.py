"""The plan of who is where, and the run that follows it: checked from the engineer log and the
visit records of a week of the default scenario."""

import random

import numpy as np
import pytest

from sim.calendar import MIN_PER_DAY, MIN_PER_WEEK, WEEKDAYS
from sim.kpis import on_duty_step
from sim.model import run_replication
from sim.plan import AT_SITE, BREAK, TRAVEL, compile_plan, components
from sim.scenario import load_scenario
from sim.stepfn import StepFn


@pytest.fixture(scope="module")
def week():
    s = load_scenario(None, ["horizon_weeks=1"])
    return s, run_replication(s, seed=3, replication=0)


def _level(log, mask) -> StepFn:
    return StepFn.from_changes(log.time[mask], log.delta[mask].astype(float))


def _sample_times(s) -> np.ndarray:
    """Every 3 minutes from the first opening to the end of the week, and every log time ± ε
    (just before and just after each change)."""
    first = min(site.open_min for site in s.sites)
    return np.arange(first + 0.5, MIN_PER_WEEK, 3.0)


def test_engineers_somewhere_always_add_up_to_the_roster(week):
    """Engineers on duty at desks and pop-ups + travelling + on breaks = rostered, at every
    sampled moment, for each desk's engineers and each mobile team."""
    s, rec = week
    log, plan = rec.engineers, rec.plan
    t = _sample_times(s)
    t = np.sort(np.r_[t, log.time - 1e-6, log.time + 1e-6])
    t = t[(t >= min(x.open_min for x in s.sites)) & (t < MIN_PER_WEEK)]
    records = {r.name: r for r in rec.sites}
    for desk in s.sites:
        somewhere = _level(log, log.home == desk.name).at(t)
        roster = StepFn(records[desk.name].roster_times, records[desk.name].roster_values).at(t)
        assert np.array_equal(somewhere, roster), desk.name
        assert np.array_equal(somewhere, plan.headcount(desk.name, t)), desk.name
        # and each state is counted: at desks and pop-ups, travelling, on a break
        parts = sum(
            _level(log, (log.home == desk.name) & (log.state == st)).at(t)
            for st in (AT_SITE, TRAVEL, BREAK)
        )
        assert np.array_equal(parts, roster)
        assert somewhere.min() >= 0
    for p in s.popups:
        if not p.mobile_team:
            continue
        team = _level(log, log.home == p.name).at(t)
        day = WEEKDAYS.index(p.day) * MIN_PER_DAY
        in_slot = (t >= day + p.start_min) & (t < day + p.end_min)
        assert np.all(team[in_slot] == p.engineers), p.name
        assert np.array_equal(team[in_slot], plan.headcount(p.name, t[in_slot]))
        assert team.max() == p.engineers and team[t < day + p.start_min].max(initial=0) == 0


def test_home_desk_keeps_its_planned_engineers_on_a_popup_day(week):
    """While its engineer is away, the home desk has on duty, or on a break, every engineer the
    plan leaves at the desk (never fewer); exactly that many while the visit runs."""
    s, rec = week
    log = rec.engineers
    records = {r.name: r for r in rec.sites}
    checked = 0
    for desk in s.sites:
        away = [p for p in s.popups if p.home == desk.name and not p.mobile_team]
        on_duty = on_duty_step(records[desk.name])
        on_break = _level(log, (log.site == desk.name) & (log.state == BREAK))
        for d in desk.day_indices:
            sent = sum(p.engineers for p in away if WEEKDAYS.index(p.day) == d)
            if not sent:
                continue
            t0 = d * MIN_PER_DAY
            at_desk = desk.engineers_by_weekday()[d] - sent  # the plan's engineers at the desk
            t = np.arange(t0 + desk.open_min, t0 + desk.close_min, 1.0)
            there = on_duty.at(t) + on_break.at(t)
            assert there.min() >= at_desk, (desk.name, d)
            visits = [p for p in away if WEEKDAYS.index(p.day) == d]
            running = (t >= t0 + max(p.start_min for p in visits)) & (
                t < t0 + min(p.end_min for p in visits)
            )
            assert np.all(there[running] == at_desk), (desk.name, d)
            checked += 1
    assert checked == 14  # the default's 14 pop-ups staffed from a desk, one per desk-day


def test_popup_engineer_returns_after_the_last_visitor_and_the_journey():
    s = load_scenario(None, ["horizon_weeks=4"])
    rec = run_replication(s, seed=3, replication=0)
    log = rec.engineers
    records = {r.name: r for r in rec.sites}
    visits = overran = 0
    for p in s.popups:
        if p.mobile_team:
            continue
        at = (log.site == p.name) & (log.state == TRAVEL)
        set_off, back = log.time[at & (log.delta == 1)], log.time[at & (log.delta == -1)]
        home_back = log.time[(log.site == p.home) & (log.state == AT_SITE) & (log.delta == 1)]
        ends = np.asarray(records[p.name].visits.end_min)
        windows = rec.plan.sites[p.name].windows
        for opens, close in windows[windows[:, 1] <= rec.horizon_min].tolist():  # not run-out
            t0 = opens - p.start_min
            # journeys back: those setting off after the slot closed (not the way out)
            leave = set_off[(set_off >= close) & (set_off < t0 + MIN_PER_DAY)]
            assert len(leave) == p.engineers
            ret = back[np.searchsorted(back, leave)]  # the end of each journey
            assert ret == pytest.approx(leave + p.travel_min)
            mine = ends[(ends >= t0) & (ends < t0 + MIN_PER_DAY)]
            last_end = mine.max(initial=-np.inf)
            assert np.all(ret >= last_end + p.travel_min), p.name
            # an event: as soon as the visit has closed and its last visitor is seen, + travel
            assert ret == pytest.approx(max(close, last_end) + p.travel_min), p.name
            assert np.isin(ret, home_back).all()  # on duty at the home desk from then
            visits += 1
            overran += last_end > close
    # the 14 weekly visits staffed from a desk, less those on Christmas and Boxing Day
    assert visits == 14 * s.horizon_weeks - sum(
        p.day in ("Wed", "Thu") for p in s.popups if not p.mobile_team
    )
    # the check has teeth: some visits ran past their slot, so a fixed return time would fail
    assert overran > 0


def test_no_desk_break_on_a_day_away_on_a_popup(week):
    """Breaks at a desk are taken by the engineers at the desk that day, and the pop-up
    engineer takes the pop-up's breaks instead (plan and run agree)."""
    s, rec = week
    log, plan = rec.engineers, rec.plan
    for desk in s.sites:
        for d in desk.day_indices:
            day = (log.time >= d * MIN_PER_DAY) & (log.time < (d + 1) * MIN_PER_DAY)
            sent = [
                p
                for p in s.popups
                if p.home == desk.name and not p.mobile_team and WEEKDAYS.index(p.day) == d
            ]
            at_desk = desk.engineers_by_weekday()[d] - sum(p.engineers for p in sent)
            taken = day & (log.site == desk.name) & (log.state == BREAK) & (log.delta == 1)
            assert taken.sum() == at_desk * len(desk.breaks), (desk.name, d)
            for p in sent:
                at_popup = day & (log.site == p.name) & (log.state == BREAK) & (log.delta == 1)
                assert (log.home[at_popup] == desk.name).all()
                assert at_popup.sum() == p.engineers * len(p.breaks)
    # in the plan: an engineer-slot with a pop-up visit has no break at its desk (14 such
    # slots in the week of the horizon, and as many in the run-out week the plan goes on into)
    visiting = [sh for sh in plan.shifts if any(iv.site != sh.home for iv in sh.intervals)]
    assert sum(sh.day * MIN_PER_DAY < plan.horizon_min for sh in visiting) == 14
    for sh in visiting:
        assert not any(iv.state == BREAK and iv.site == sh.home for iv in sh.intervals)
        assert any(iv.state == BREAK and iv.site != sh.home for iv in sh.intervals)
    staying = [sh for sh in plan.shifts if sh.home in plan.order[: len(s.sites)]]
    assert all(sum(iv.state == BREAK for iv in sh.intervals) == 1 for sh in staying)


def test_popup_runs_short_handed_during_its_break(week):
    s, rec = week
    log = rec.engineers
    records = {r.name: r for r in rec.sites}
    for p in s.popups:
        starts = log.time[(log.site == p.name) & (log.state == BREAK) & (log.delta == 1)]
        starts = starts[starts < rec.horizon_min]  # the week's visit, not the run-out's
        assert len(starts) == p.engineers  # one lunch each (the default, labelled [A])
        day = WEEKDAYS.index(p.day) * MIN_PER_DAY
        planned = day + p.start_min + 180 + 30 * np.arange(p.engineers)  # 12:30, staggered
        assert np.all(np.sort(starts) >= planned)
        duty = on_duty_step(records[p.name])
        assert np.all(duty.at(starts + 1e-6) <= p.engineers - 1)


def test_popup_breaks_can_be_set_or_removed():
    s = load_scenario(None, ["horizon_weeks=1", "popups.0.breaks=[]"])
    assert s.popups[0].breaks == [] and len(s.popups[1].breaks) == 1
    plan = compile_plan(s)
    assert plan.sites[s.popups[0].name].breaks == ()
    in_horizon = [b for b in plan.sites[s.popups[1].name].breaks if b[0] < plan.horizon_min]
    assert len(in_horizon) == s.popups[1].engineers  # one each on the week's visit


def test_components_join_popups_to_their_home_and_reach_desks():
    s = load_scenario(None, ["horizon_weeks=1"])
    plan = compile_plan(s)
    comps = plan.components()
    assert sorted(n for c in comps for n in c) == sorted(plan.order)  # a partition
    where = {n: i for i, c in enumerate(comps) for n in c}
    for p in s.popups:
        assert where[p.name] == where[p.home]
        if p.reach_desk is not None:
            assert where[p.name] == where[p.reach_desk]
    # every default pop-up has a home desk, and desks link only through pop-ups
    assert len(comps) == len({where[d.name] for d in s.sites}) == len(s.sites)
    assert [c[0] for c in comps] == [d.name for d in s.sites]
    # deterministic: the same whatever the order of the links
    links = list(plan.links)
    random.Random(0).shuffle(links)
    assert components(plan.order, links) == comps


def test_components_close_over_chains_of_links():
    order = ["A", "B", "C", "p", "q", "r"]
    # p: home A, reaches B; q: home C; r: home B → {A, B, p, r}, {C, q}
    links = [("p", "A"), ("p", "B"), ("q", "C"), ("r", "B")]
    assert components(order, links) == [["A", "B", "p", "r"], ["C", "q"]]
    assert components(order, []) == [[n] for n in order]
