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
    assert np.array_equal(ra.sites[0].visits.outcome, rb.sites[0].visits.outcome)
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


def _draws_by_incident(rec) -> dict[float, tuple]:
    """Every walk-in of a replication, keyed by its incident's time (unique: continuous draws),
    with every draw its incident carries."""
    out = {}
    for site in rec.sites:
        v = site.visits
        for i in range(len(v)):
            out[float(v.incident_min[i])] = (
                int(v.category[i]),
                int(v.tier[i]),
                float(v.service_min[i]),
                float(v.patience_min[i]),
                float(v.swap_min[i]),
                float(v.fix_draw[i]),
                repr(float(v.baseline_days[i])),  # NaN (no baseline) equals itself as text
            )
    return out


def test_every_incident_keeps_its_draws_whatever_the_demand_schedule_or_hours():
    """Issue: common random numbers for every change. A walk-in propensity, a pop-up's day and
    a desk's opening hours change which incidents walk in and where and when they are seen; an
    incident that walks in under both scenarios carries identical draws (all of them)."""
    base = load_scenario(None, ["horizon_weeks=3"])
    changed = load_scenario(
        None,
        [
            "horizon_weeks=3",
            "categories.software.walkin_propensity=0.5",
            "popups.0.day=Thu",
            "sites.0.open=10:00",
            "sites.0.close=16:00",
        ],
    )
    a = _draws_by_incident(run_replication(base, 4, 0))
    b = _draws_by_incident(run_replication(changed, 4, 0))
    both = a.keys() & b.keys()
    assert len(both) > 0.8 * min(len(a), len(b))  # most walk in under both …
    assert len(b.keys() - a.keys()) > 0.02 * len(a)  # … but the changes did change who does
    assert len(a.keys() - b.keys()) > 0
    assert all(a[k] == b[k] for k in both)


def test_a_propensity_sweep_is_paired():
    """More walk-ins from a higher propensity: the paired CI of the difference is narrower
    than the unpaired one (independent runs' variances added), for walk-ins and waits."""
    from sim.experiment.runner import run
    from sim.experiment.sweep import paired_comparison

    base = load_scenario(None, ["horizon_weeks=4"])
    more = load_scenario(None, ["horizon_weeks=4", "categories.software.walkin_propensity=0.5"])
    ra, rb = run(base, 2, 6, workers=1), run(more, 2, 6, workers=1)
    comp = paired_comparison(ra, [rb]).set_index(["site", "metric"])
    for metric in ("walkins", "wait_mean_min"):
        va = ra.kpis[(ra.kpis.site == "ALL_DESKS") & (ra.kpis.metric == metric)].value
        vb = rb.kpis[(rb.kpis.site == "ALL_DESKS") & (rb.kpis.metric == metric)].value
        unpaired_se = np.sqrt(va.var(ddof=1) / len(va) + vb.var(ddof=1) / len(vb))
        row = comp.loc[("ALL_DESKS", metric)]
        paired_half = (row.diff_ci_high - row.diff_ci_low) / 2
        assert row.diff_mean > 0, metric
        # the paired t half-width (5 degrees of freedom) against the unpaired one (≈10)
        assert paired_half < 2.571 * unpaired_se, metric
