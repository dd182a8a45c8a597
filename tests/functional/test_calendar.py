"""The calendar: a desk opening during the horizon, public holidays, and when deferred visits
fall (MODEL.md §2)."""

import datetime as dt

import numpy as np
import pytest

from sim.arrivals import CH_SERVICE_DESK, CH_WALKIN, adoption, desk_walkins
from sim.calendar import MIN_PER_DAY, MIN_PER_WEEK
from sim.kpis import on_duty_step, replication_kpis
from sim.model import run_replication
from sim.plan import compile_plan
from sim.scenario import load_scenario
from sim.streams import Streams

LATE = ["horizon_weeks=6", "sites.2.opened=2019-12-23"]  # week 4 of a run from 2 Dec 2019
OPENS_MIN = 21 * MIN_PER_DAY


@pytest.fixture(scope="module")
def late_desk():
    s = load_scenario(None, LATE)
    return s, run_replication(s, seed=2, replication=0)


def test_a_desk_opened_during_the_horizon_sees_nothing_before_it(late_desk):
    s, rec = late_desk
    site = s.sites[2]
    record = next(r for r in rec.sites if r.name == site.name)
    assert record.windows[0, 0] == OPENS_MIN + site.open_min  # its first opening
    v = record.visits
    assert len(v) > 0 and v.arrive_min.min() >= OPENS_MIN + site.open_min
    # nobody from elsewhere (pop-up users who may travel to it) came earlier either
    assert v.incident_min.min() >= OPENS_MIN
    # no engineers before it opens
    duty = on_duty_step(record)
    assert duty.at(np.arange(0, OPENS_MIN + site.open_min, 30.0)).max() == 0
    assert duty.at(np.asarray([OPENS_MIN + site.open_min + 1.0]))[0] > 0
    # its pop-ups are not visited before it opens
    for p in s.popups:
        if p.home == site.name and not p.mobile_team:
            assert rec.plan.sites[p.name].windows[:, 0].min() > OPENS_MIN, p.name


def test_its_users_call_the_service_desk_until_it_opens():
    s = load_scenario(None, LATE)
    site = s.sites[2]
    _, tally = desk_walkins(s, site, Streams(2, 0))
    before = tally.incident_min < OPENS_MIN
    assert before.sum() > 100
    assert not (tally.channel[before] == CH_WALKIN).any()
    assert (tally.channel[before] == CH_SERVICE_DESK).sum() > 0
    assert (tally.channel[~before] == CH_WALKIN).sum() > 0
    # the adoption ramp starts at the opening
    t = np.asarray([OPENS_MIN, OPENS_MIN + 6 * MIN_PER_WEEK])
    a = s.demand.adoption
    assert adoption(s, site, t) == pytest.approx([a.start, a.start + (1 - a.start) / 2])


def test_its_kpis_count_only_the_weeks_it_is_open(late_desk):
    s, rec = late_desk
    kpis = replication_kpis(s, rec).set_index(["site", "metric"])["value"]
    name = s.sites[2].name
    # walk-ins are counted until the horizon (the default has no warm-up); visits made in the
    # run-out after it are not
    assert rec.warmup_min == 0
    arrive = rec.sites[2].visits.arrive_min
    assert kpis[(name, "walkins")] == (arrive < rec.horizon_min).sum() < len(arrive)
    assert 0 < kpis[(name, "utilisation")] <= 1
    assert np.isfinite(kpis[(name, "wait_mean_min")])


def test_a_desk_that_opens_after_the_horizon_is_closed_throughout():
    s = load_scenario(None, ["horizon_weeks=2", "sites.2.opened=2021-01-04"])
    rec = run_replication(s, seed=1, replication=0)
    record = rec.sites[2]
    assert len(record.windows) == 0 and len(record.visits) == 0
    assert record.capacity == 0
    kpis = replication_kpis(s, rec).set_index(["site", "metric"])["value"]
    assert kpis[(record.name, "walkins")] == 0
    assert kpis[("ALL", "walkins")] == sum(
        (r.visits.arrive_min < rec.horizon_min).sum() for r in rec.sites
    )


def test_bank_holidays_close_every_desk_and_popup():
    """The default closes on England and Wales bank holidays [S] gov.uk: over the first five
    weeks, Christmas Day, Boxing Day and New Year's Day (days 23, 24 and 30)."""
    s = load_scenario(None, ["horizon_weeks=5"])
    assert dt.date(2019, 12, 25) in s.calendar.closed_dates
    assert len(s.calendar.closed_dates) == 8
    rec = run_replication(s, seed=1, replication=0)
    closed = [(d - s.start_date).days for d in s.calendar.closed_dates]
    closed = [d for d in closed if d < 35]
    assert closed == [23, 24, 30]
    for r in rec.sites:
        day = (np.asarray(r.visits.arrive_min) // MIN_PER_DAY).astype(int)
        assert not np.isin(day, closed).any(), r.name
        opened_days = set((r.windows[:, 0] // MIN_PER_DAY).astype(int).tolist())
        assert not opened_days & set(closed), r.name
    # the same scenario without the holidays opens those days
    open_all = load_scenario(None, ["horizon_weeks=5", "calendar.closed_dates=[]"])
    plan = compile_plan(open_all)
    desk = plan.sites[s.sites[0].name]
    assert set(closed) <= set((desk.windows[:, 0] // MIN_PER_DAY).astype(int).tolist())
    assert len(desk.windows) == len(rec.plan.sites[s.sites[0].name].windows) + 3


def test_a_closed_date_is_a_date_not_a_weekday_and_may_not_repeat():
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="calendar.closed_dates"):
        load_scenario(None, ['calendar.closed_dates=["2019-12-25", "2019-12-25"]'])
    with pytest.raises(ScenarioError, match="calendar.closed_dates"):
        load_scenario(None, ['calendar.closed_dates=["Christmas"]'])


@pytest.mark.parametrize("shape", ["hour_profile", "after_opening"])
def test_deferred_visits_fall_as_the_scenario_says(shape):
    """With `after_opening`, a user who waited overnight visits soon after opening (a truncated
    exponential, mean 30 min here); with the hour profile, across the day."""
    s = load_scenario(
        None,
        [
            "horizon_weeks=8",
            f"demand.deferred_visit={shape}",
            "demand.deferred_rush_mean_min=30",
        ],
    )
    site = s.sites[0]
    w, _ = desk_walkins(s, site, Streams(5, 0))
    deferred = w.time_min - w.incident_min > 0
    offset = (w.time_min[deferred] % MIN_PER_DAY) - site.open_min
    assert deferred.sum() > 300 and offset.min() >= 0
    length = site.close_min - site.open_min
    if shape == "after_opening":
        tail = np.exp(-length / 30)
        mean = 30 - length * tail / (1 - tail)  # truncated exponential on [0, length)
        # 4 standard errors of the sample mean (sd ≤ the untruncated one, 30)
        assert abs(offset.mean() - mean) < 4 * 30 / np.sqrt(len(offset))
    else:
        assert offset.mean() > 3 * 60  # spread over the 8.5-hour day
