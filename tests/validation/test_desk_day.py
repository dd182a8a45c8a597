"""A realistic desk day against its exact solution (VALIDATION.md, "Time-varying demand").

Walk-ins arrive by the clock hour, the desk opens empty at 08:30 and closes its doors at 17:00,
when those queueing are still served (``at_close = "serve"``) by the day's engineers; a walk-in
who finds ``balk_queue`` waiting leaves, and one waiting gives up after an exponential patience.
With exponential service and no breaks that day is a finite continuous-time Markov chain, solved
exactly by `sim.analytic.desk_day`. Pointwise-stationary formulas do not hold here (the morning
starts empty, the peak saturates two engineers), so this is the oracle for the opening build-up,
the peak and closing.

Each replication is 200 such days (Mon–Fri); the desk empties overnight, so the days are
independent copies of the one the chain describes.
"""

import numpy as np
import pytest
from scipy import stats

from sim.analytic import desk_day
from sim.experiment.runner import run
from sim.scenario import load_scenario
from tests.validation.helpers import assert_agrees, samples_of

SERVICE_MEAN_MIN, PATIENCE_MEAN_MIN, BALK_QUEUE = 20.0, 30.0, 3
PEAK_PER_HOUR = 6.0  # peak-hour offered load 6 × 20/60 = 2 Erlangs: two engineers saturated
OPEN, CLOSE = "08:30", "17:00"  # the live desks' hours (MODEL.md)
OPEN_MIN, CLOSE_MIN = 8.5 * 60, 17 * 60
WEEKS, REPS = 40, 20
# VALIDATION.md: 3 standard errors plus ≈2 % for an exact formula (the standard error itself is
# estimated from 20 replications, so 3 estimated standard errors can fall short of 3 true ones)
REL_SLACK = 0.02


def clock_hour_rates() -> list[float]:
    """The default scenario's hour-of-day profile of incidents, scaled to the peak rate."""
    w = np.asarray(load_scenario(None).demand.hour_weights, float)
    return (w / w.max() * PEAK_PER_HOUR).tolist()


def desk_day_scenario(mmc_path, rates: list[float], engineers: int):
    return load_scenario(
        mmc_path,
        [
            f"sites.0.walkin_rate_per_hour={rates}",
            f"sites.0.engineers={engineers}",
            'sites.0.days=["Mon", "Tue", "Wed", "Thu", "Fri"]',
            f'sites.0.open="{OPEN}"',
            f'sites.0.close="{CLOSE}"',
            f'tiers.L1.service_min={{dist="exponential", mean={SERVICE_MEAN_MIN}}}',
            f'service.patience_min={{dist="exponential", mean={PATIENCE_MEAN_MIN}}}',
            f"service.balk_queue={BALK_QUEUE}",
            'service.at_close="serve"',
            "warmup_weeks=0",
            f"horizon_weeks={WEEKS}",
        ],
    )


@pytest.mark.parametrize(
    "engineers",
    [
        pytest.param(2, id="two-engineers-saturated-at-peak"),
        pytest.param(3, id="three-engineers-peak-rho0.67"),
    ],
)
def test_desk_day_matches_its_exact_markov_chain_by_hour_and_per_day(mmc_path, engineers):
    rates = clock_hour_rates()
    s = desk_day_scenario(mmc_path, rates, engineers)
    assert not s.sites[0].breaks
    exact = desk_day(
        rates,
        OPEN_MIN,
        CLOSE_MIN,
        engineers,
        SERVICE_MEAN_MIN,
        BALK_QUEUE,
        PATIENCE_MEAN_MIN,
    )
    k, by_hour = samples_of(run(s, 11, REPS, workers=2))
    days = len(s.sites[0].days) * s.horizon_weeks

    # per day: walk-ins (the clock-hour rates), those seen, reneging, balking; overtime
    assert_agrees(k["walkins"] / days, exact.arrivals, REL_SLACK, "walk-ins a day")
    assert_agrees(k["served"] / days, exact.served, REL_SLACK, "seen a day")
    assert_agrees(k["reneged"] / days, exact.reneged, REL_SLACK, "reneged a day")
    assert_agrees(k["balked"] / days, exact.balked, REL_SLACK, "balked a day")
    assert_agrees(k["overtime_min"], exact.overtime_min, REL_SLACK, "overtime (min a day)")
    assert_agrees(k["queue_len_mean"], exact.waiting_mean, REL_SLACK, "mean number waiting")

    # the number waiting, clock hour by clock hour: nine comparisons at once, so each gets the
    # multiple of its standard error that keeps the chance of a false alarm among all nine
    # to that of one 3-standard-error check (Bonferroni)
    assert list(by_hour.columns) == exact.hours.tolist()
    sim_mean = by_hour.mean().to_numpy()
    sim_se = by_hour.sem().to_numpy()
    z = stats.norm.isf(stats.norm.sf(3) / len(exact.hours))  # 3.62 for nine hours
    tol = z * sim_se + REL_SLACK * exact.waiting_by_hour
    assert (np.abs(sim_mean - exact.waiting_by_hour) <= tol).all(), np.c_[
        exact.hours, sim_mean, sim_se, exact.waiting_by_hour
    ]

    # the check has power: in the opening hour (empty at 08:30) the exact answer is far from
    # the pointwise-stationary one (that hour's rate held for ever), and the simulation with it
    opening = desk_day(
        [rates[exact.hours[0]]] * 24,
        0,
        24 * 60,
        engineers,
        SERVICE_MEAN_MIN,
        BALK_QUEUE,
        PATIENCE_MEAN_MIN,
    ).waiting_by_hour[-1]
    assert abs(sim_mean[0] - opening) > 5 * tol[0]
