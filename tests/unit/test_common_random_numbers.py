"""Scenarios compared at the same seed see the same incidents and the same draws."""

import numpy as np

from sim.arrivals import desk_walkins
from sim.model import run_replication
from sim.scenario import load_scenario
from sim.streams import Streams


def test_incident_baselines_do_not_depend_on_staffing_or_stock():
    a = load_scenario(None, ["horizon_weeks=4"])
    b = load_scenario(
        None, ["horizon_weeks=4", "sites.0.engineers=5", "sites.0.swap_stock.laptop=0"]
    )
    wa, ta = desk_walkins(a, a.sites[0], Streams(3, 1))
    wb, tb = desk_walkins(b, b.sites[0], Streams(3, 1))
    assert np.array_equal(wa.time_min, wb.time_min)
    assert np.array_equal(wa.baseline_days, wb.baseline_days, equal_nan=True)
    assert np.array_equal(ta.incident_min, tb.incident_min)


def test_visit_draws_are_paired_across_staffing_levels():
    a = load_scenario(None, ["horizon_weeks=2"])
    b = load_scenario(None, ["horizon_weeks=2", "sites.1.engineers=4"])
    ra, rb = run_replication(a, 5, 0), run_replication(b, 5, 0)
    va, vb = ra.sites[1].visits, rb.sites[1].visits
    assert np.array_equal(va.service_min, vb.service_min)
    assert np.array_equal(va.fix_draw, vb.fix_draw)
    # more engineers at Kentish Town change nothing at the other desks
    assert ra.sites[0].visits.outcome == rb.sites[0].visits.outcome
    assert np.nanmean(np.asarray(vb.start_min) - vb.arrive_min) < np.nanmean(
        np.asarray(va.start_min) - va.arrive_min
    )


def test_replications_differ_and_repeat():
    s = load_scenario(None, ["horizon_weeks=1"])
    r0, r0_again, r1 = (run_replication(s, 9, r) for r in (0, 0, 1))
    assert np.array_equal(r0.sites[0].visits.arrive_min, r0_again.sites[0].visits.arrive_min)
    assert not np.array_equal(
        r0.sites[0].visits.service_min[:10], r1.sites[0].visits.service_min[:10]
    )
