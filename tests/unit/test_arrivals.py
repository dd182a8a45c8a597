"""Incident generation, channel choice and deferral."""

import numpy as np
import pytest

from sim.arrivals import (
    CH_NOT_RAISED,
    CH_SERVICE_DESK,
    CH_WALKIN,
    WEEKS_PER_YEAR,
    adoption,
    annual_incidents,
    desk_walkins,
    hour_of_week_weights,
    rate_walkins,
    time_of_day_offsets,
)
from sim.calendar import MIN_PER_HOUR, MIN_PER_WEEK
from sim.plan import RUN_OUT_WEEKS, desk_windows, run_out_min
from sim.scenario import load_scenario
from sim.streams import Streams


def test_incident_counts_match_annual_rates():
    s = load_scenario(None, ["horizon_weeks=52"])
    site = s.sites[0]
    _, tally = desk_walkins(s, site, Streams(3, 0))
    expected = annual_incidents(s, site) * 52 / WEEKS_PER_YEAR
    got = tally.counts.sum(axis=1)
    # Poisson: within 4 standard deviations per category
    assert np.all(np.abs(got - expected) <= 4 * np.sqrt(expected) + 1)


def test_incidents_follow_hour_of_week_profile():
    s = load_scenario(None, ["horizon_weeks=52"])
    _, tally = desk_walkins(s, s.sites[0], Streams(5, 0))
    how = ((tally.incident_min % MIN_PER_WEEK) // MIN_PER_HOUR).astype(int)
    share = np.bincount(how, minlength=168) / len(how)
    w = hour_of_week_weights(s)
    assert np.abs(share - w).max() < 4 * np.sqrt(w.max() / len(how))


def test_walkins_arrive_only_while_open_and_not_before_their_incident():
    s = load_scenario(None, ["horizon_weeks=4"])
    site = s.sites[2]
    walkins, tally = desk_walkins(s, site, Streams(1, 0))
    # the incidents arise within the horizon; their visits may fall in the run-out after it
    horizon_min = s.horizon_weeks * MIN_PER_WEEK
    assert walkins.incident_min.max() < horizon_min < walkins.time_min.max()
    assert walkins.time_min.max() < horizon_min + run_out_min(s)
    win = desk_windows(s, site, s.horizon_weeks + RUN_OUT_WEEKS)
    i = np.searchsorted(win[:, 0], walkins.time_min, side="right") - 1
    assert np.all(i >= 0) and np.all(walkins.time_min < win[i, 1])
    assert np.all(walkins.time_min >= walkins.incident_min)
    defer_h = (walkins.time_min - walkins.incident_min) / 60
    # deferral is measured to the opening; the visit falls within that day's opening hours
    assert defer_h.max() <= s.demand.max_defer_h + 8.5
    assert np.all(np.diff(walkins.time_min) >= 0)
    assert tally.counts[:, CH_WALKIN].sum() == len(walkins)


def test_weekend_incidents_beyond_max_defer_go_to_service_desk():
    s = load_scenario(None, ["horizon_weeks=8", "demand.max_defer_h=20"])
    _, tally = desk_walkins(s, s.sites[0], Streams(2, 0))
    day = (tally.incident_min % MIN_PER_WEEK) // (24 * 60)
    sat_noon = (day == 5) & ((tally.incident_min % (24 * 60)) // 60 == 12)
    assert sat_noon.sum() > 0
    assert np.all(tally.channel[sat_noon] != CH_WALKIN)


def test_induced_incidents_never_count_as_service_desk_calls():
    s = load_scenario(None, ["horizon_weeks=8"])
    _, tally = desk_walkins(s, s.sites[0], Streams(2, 0))
    names = list(s.categories)
    k = names.index("howto_induced")
    assert tally.counts[k, CH_SERVICE_DESK] == 0
    assert tally.counts[k, CH_NOT_RAISED] > 0
    others = [i for i, n in enumerate(names) if not s.categories[n].induced]
    assert tally.counts[others, CH_NOT_RAISED].sum() == 0


def test_adoption_ramps_linearly_from_opening():
    s = load_scenario(None, ["demand.adoption.start=0.5", "demand.adoption.full_after_weeks=12"])
    new_site = s.sites[2]  # opens at go-live
    t = np.array([0, 6, 12, 20]) * MIN_PER_WEEK
    assert adoption(s, new_site, t) == pytest.approx([0.5, 0.75, 1.0, 1.0])
    trial = s.sites[0]  # open for a year before go-live
    assert adoption(s, trial, t) == pytest.approx([1, 1, 1, 1])


def test_time_of_day_offsets_stay_within_opening_hours():
    w = np.ones(24)
    x = time_of_day_offsets(np.random.default_rng(0).uniform(0, 1, 10_000), w, 510, 1020)
    assert x.min() >= 0 and x.max() <= 510
    assert x.mean() == pytest.approx(255, rel=0.03)


def test_rate_walkins_only_while_open(mmc_path):
    s = load_scenario(mmc_path, ["sites.0.open=09:00", "sites.0.close=17:00", "horizon_weeks=10"])
    w = rate_walkins(s, s.sites[0], Streams(1, 0))
    tod = w.time_min % (24 * 60)
    assert tod.min() >= 540 and tod.max() < 1020
    expected = 4.0 * 8 * 7 * 10
    assert abs(len(w) - expected) < 4 * np.sqrt(expected)
