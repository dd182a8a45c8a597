"""A time-varying staffing schedule cross-checked against an independent simulator (ciw).

Pointwise Erlang C fails near saturation, so a roster that changes day by day is compared with
ciw's M/M/c under a server schedule. ciw replaces its whole set of servers at every shift change;
with ``preemption=False`` the outgoing servers finish their customers *while* the new shift starts
(a hand-over overlap this model does not have: here an engineer leaves once the visitor in hand is
done). With ``preemption="resample"`` capacity changes exactly at the shift boundary, and with
exponential service a resampled service is distributed as the remainder of the interrupted one,
so waits until first being seen are comparable.
"""

import ciw
import numpy as np

from sim.calendar import MIN_PER_DAY, MIN_PER_WEEK
from sim.scenario import load_scenario
from tests.validation.helpers import kpi_samples

LAM_PER_H, MEAN_SERVICE_MIN = 4.0, 40.0
ROSTER = [4, 3, 4, 3, 4, 3, 4]  # Mon..Sun: ρ = 0.67 on 4-engineer days, 0.89 on 3-engineer days
WEEKS, WARMUP_WEEKS, REPS = 10, 1, 20


def ciw_waits(seed: int) -> float:
    """Mean wait (min) until first seen, of customers arriving after the warm-up."""
    schedule = ciw.Schedule(
        numbers_of_servers=ROSTER,
        shift_end_dates=[MIN_PER_DAY * (d + 1) for d in range(7)],
        preemption="resample",
    )
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM_PER_H / 60)],
        service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_SERVICE_MIN)],
        number_of_servers=[schedule],
    )
    ciw.seed(seed)
    q = ciw.Simulation(network)
    q.simulate_until_max_time(WEEKS * MIN_PER_WEEK)
    first_seen: dict[int, float] = {}
    arrived: dict[int, float] = {}
    for r in q.get_all_records():  # an interrupted customer has a record per service spell
        if r.arrival_date >= WARMUP_WEEKS * MIN_PER_WEEK:
            first_seen[r.id_number] = min(first_seen.get(r.id_number, np.inf), r.service_start_date)
            arrived[r.id_number] = r.arrival_date
    return float(np.mean([first_seen[i] - arrived[i] for i in first_seen]))


def test_weekday_roster_matches_ciw_server_schedule(mmc_path):
    s = load_scenario(
        mmc_path,
        [
            f"sites.0.walkin_rate_per_hour={LAM_PER_H}",
            f"sites.0.engineers={ROSTER}",
            f'tiers.L1.service_min={{dist="exponential", mean={MEAN_SERVICE_MIN}}}',
            f"horizon_weeks={WEEKS}",
            f"warmup_weeks={WARMUP_WEEKS}",
        ],
    )
    ours = kpi_samples(s, reps=REPS)["wait_mean_min"]
    theirs = np.array([ciw_waits(seed) for seed in range(REPS)])
    se = np.sqrt(ours.var(ddof=1) / len(ours) + theirs.var(ddof=1) / len(theirs))
    diff = ours.mean() - theirs.mean()
    assert abs(diff) <= 3 * se + 0.02 * theirs.mean(), (ours.mean(), theirs.mean(), se)
    # the comparison has power: a constant roster of 3 or of 4 would be told apart
    const3 = kpi_samples(
        load_scenario(mmc_path, ["sites.0.engineers=3", f"horizon_weeks={WEEKS}"]), reps=5
    )["wait_mean_min"].mean()
    assert const3 > theirs.mean() + 6 * se
