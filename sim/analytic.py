"""Queueing formulas: oracles for validating the simulation, and quick staffing estimates;
and one desk day with clock-hour demand solved exactly as a finite Markov chain (`desk_day`).

Notation (as in VALIDATION): λ arrivals per hour, μ = 1/E[S] per engineer per hour, c engineers,
a = λ/μ offered load (Erlangs), ρ = a/c. Waits are returned in the time unit of 1/λ (hours when
rates are per hour); helpers ending in ``_min`` convert to minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (Erlang loss), by the stable recursion."""
    if c < 0 or a < 0:
        raise ValueError("erlang_b needs c >= 0 and a >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in M/M/c (Erlang C); 1 when a >= c (unstable)."""
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


@dataclass(frozen=True)
class MMc:
    """Steady-state M/M/c measures."""

    lam: float
    mu: float
    c: int

    @property
    def a(self) -> float:
        return self.lam / self.mu

    @property
    def rho(self) -> float:
        return self.a / self.c

    @property
    def p_wait(self) -> float:
        return erlang_c(self.c, self.a)

    @property
    def wq(self) -> float:
        if self.rho >= 1:
            return math.inf
        return self.p_wait / (self.c * self.mu - self.lam)

    @property
    def lq(self) -> float:
        return self.lam * self.wq

    def p_wait_longer(self, t: float) -> float:
        """P(Wq > t)."""
        return self.p_wait * math.exp(-(self.c * self.mu - self.lam) * t)

    def service_level(self, t: float) -> float:
        """P(Wq <= t)."""
        return 1 - self.p_wait_longer(t)


def scv_of_mixture(p: list[float], means: list[float], scvs: list[float]) -> float:
    """Squared CV of a mixture of service times (tiers): E[S²]/E[S]² − 1."""
    p_, m, c2 = map(np.asarray, (p, means, scvs))
    es = float(p_ @ m)
    es2 = float(p_ @ ((1 + c2) * m**2))
    return es2 / es**2 - 1


def allen_cunneen_wq(lam: float, mu: float, c: int, scv_service: float, scv_arrival=1.0) -> float:
    """M/G/c (G/G/c) mean wait ≈ Wq(M/M/c) · (ca² + cs²)/2."""
    return MMc(lam, mu, c).wq * (scv_arrival + scv_service) / 2


def pollaczek_khinchine_wq(lam: float, es: float, es2: float) -> float:
    """Exact M/G/1 mean wait: λE[S²] / (2(1 − ρ))."""
    rho = lam * es
    if rho >= 1:
        return math.inf
    return lam * es2 / (2 * (1 - rho))


class MMcK:
    """M/M/c/K: at most K in the system (c serving, K − c waiting); arrivals finding it full are
    lost. The desk's balking at ``balk_queue`` waiting is this queue with K = c + balk_queue."""

    def __init__(self, lam: float, mu: float, c: int, k: int):
        if k < c:
            raise ValueError("K must be at least c")
        self.lam, self.mu, self.c, self.k = lam, mu, c, k
        n = np.arange(k + 1)
        log_terms = np.cumsum(np.r_[0.0, np.log(lam / (mu * np.minimum(n[1:], c)))])
        w = np.exp(log_terms - log_terms.max())
        self.p = w / w.sum()  # stationary distribution of the number in the system

    @property
    def p_block(self) -> float:
        return float(self.p[self.k])

    @property
    def lq(self) -> float:
        n = np.arange(self.k + 1)
        return float((np.maximum(n - self.c, 0) * self.p).sum())

    @property
    def wq_admitted(self) -> float:
        """Mean wait of those admitted (Little's law on the admitted stream)."""
        return self.lq / (self.lam * (1 - self.p_block))


@dataclass(frozen=True)
class ErlangA:
    """M/M/c+M: exponential patience with rate θ; solved as a truncated birth–death chain."""

    lam: float
    mu: float
    c: int
    theta: float

    def _pi(self) -> np.ndarray:
        # truncate where the tail is negligible: queue beyond which departures dwarf arrivals
        n_max = self.c + 50
        while True:
            k = np.arange(n_max + 1)
            death = np.minimum(k, self.c) * self.mu + np.maximum(k - self.c, 0) * self.theta
            logp = np.zeros(n_max + 1)
            logp[1:] = np.cumsum(np.log(self.lam) - np.log(death[1:]))
            p = np.exp(logp - logp.max())
            p /= p.sum()
            if p[-1] < 1e-15 or n_max > 100_000:
                return p
            n_max *= 2

    @property
    def p_wait(self) -> float:
        return float(self._pi()[self.c :].sum())

    @property
    def lq(self) -> float:
        p = self._pi()
        return float((np.maximum(np.arange(len(p)) - self.c, 0) * p).sum())

    @property
    def wq(self) -> float:
        """Mean time in queue over all arrivals (served and abandoning)."""
        return self.lq / self.lam

    @property
    def p_abandon(self) -> float:
        return self.theta * self.wq


def halfin_whitt_alpha(beta: float) -> float:
    """Delay probability in the QED regime for c = a + β√a: [1 + βΦ(β)/φ(β)]⁻¹."""
    return 1 / (1 + beta * stats.norm.cdf(beta) / stats.norm.pdf(beta))


def square_root_staffing(a: float, p_wait_target: float) -> int:
    """Engineers by the square-root rule c = ⌈a + β√a⌉ with α(β) = the delay target."""
    beta = optimize.brentq(lambda b: halfin_whitt_alpha(b) - p_wait_target, 1e-9, 20)
    return max(1, math.ceil(a + beta * math.sqrt(a)))


def erlang_c_staffing(
    lam: float,
    mu: float,
    *,
    max_p_wait: float | None = None,
    wait_target: float | None = None,
    service_level: float | None = None,
) -> int:
    """Fewest engineers c (stable) with P(wait) ≤ max_p_wait and/or P(Wq ≤ wait_target) ≥
    service_level (times in the unit of 1/λ)."""
    c = max(1, math.floor(lam / mu) + 1)
    while True:
        q = MMc(lam, mu, c)
        ok = True
        if max_p_wait is not None:
            ok &= q.p_wait <= max_p_wait
        if service_level is not None and wait_target is not None:
            ok &= q.service_level(wait_target) >= service_level
        if ok:
            return c
        c += 1


# ---------------------------------------------------------------- a desk day, solved exactly

MIN_PER_HOUR = 60


def desk_generator(lam: float, mu: float, c: int, theta: float, k: int) -> np.ndarray:
    """Generator (per hour) of the number in the system, 0..K, of a desk with c engineers:
    arrivals λ join unless K are there; departures min(n, c)μ served + (n − c)⁺θ reneging."""
    n = np.arange(k + 1)
    q = np.zeros((k + 1, k + 1))
    q[n[:-1], n[1:]] = lam
    q[n[1:], n[:-1]] = np.minimum(n[1:], c) * mu + np.maximum(n[1:] - c, 0) * theta
    q[n, n] = -q.sum(axis=1)
    return q


def propagate(p: np.ndarray, q: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The distribution after time t from `p` under generator `q`, and the expected time spent
    in each state on the way (∫₀ᵗ p e^{Qs} ds), by uniformisation (Jensen 1953): with Λ at
    least every exit rate and P = I + Q/Λ, p e^{Qt} = Σₖ Pois(k; Λt) p Pᵏ and
    ∫₀ᵗ p e^{Qs} ds = Σₖ P(Pois(Λt) > k) p Pᵏ / Λ. The sums stop where the Poisson tail is
    below 1e-15, so both are exact to rounding."""
    rate = float(-q.diagonal().min())
    if rate <= 0 or t <= 0:
        return p.copy(), p * max(t, 0.0)
    step = np.eye(len(p)) + q / rate
    mean = rate * t
    k = np.arange(int(stats.poisson.isf(1e-15, mean)) + 2)
    weight, tail = stats.poisson.pmf(k, mean), stats.poisson.sf(k, mean)
    v, at_t, occupancy = p.astype(float), np.zeros(len(p)), np.zeros(len(p))
    for w, s in zip(weight, tail, strict=True):
        at_t += w * v
        occupancy += s * v
        v = v @ step
    return at_t, occupancy / rate


def empty_after_close(c: int, mu: float, theta: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """With arrivals stopped, from each number in the system n = 0..K: the expected number who
    renege before the desk is empty, and the expected time (hours) until it is. Whenever anyone
    is there an engineer is serving, so the last to leave is served and the time to empty is
    the time of the last service end. First-step analysis of the pure-death chain."""
    reneges, hours = np.zeros(k + 1), np.zeros(k + 1)
    for n in range(1, k + 1):
        serving, waiting = min(n, c) * mu, max(n - c, 0) * theta
        reneges[n] = reneges[n - 1] + waiting / (serving + waiting)
        hours[n] = hours[n - 1] + 1 / (serving + waiting)
    return reneges, hours


@dataclass(frozen=True)
class DeskDay:
    """Expected outcomes of one desk day (counts per day, times in minutes)."""

    hours: np.ndarray  # clock hours the desk is open in (those it opens or closes in included)
    open_min_by_hour: np.ndarray  # minutes open in each
    waiting_by_hour: np.ndarray  # time-average expected number waiting in each, while open
    arrivals: float
    served: float
    reneged: float  # while open, and after closing by those still queueing
    balked: float
    overtime_min: float  # expected time past closing until the last service ends
    p_close: np.ndarray  # distribution of the number in the system at closing

    @property
    def waiting_mean(self) -> float:
        """Time-average expected number waiting while open."""
        return float(np.average(self.waiting_by_hour, weights=self.open_min_by_hour))


def desk_day(
    rate_per_hour: list[float] | np.ndarray,
    open_min: float,
    close_min: float,
    engineers: int,
    service_mean_min: float,
    balk_queue: int,
    patience_mean_min: float | None = None,
) -> DeskDay:
    """One desk day solved exactly as a finite continuous-time Markov chain.

    Walk-ins arrive as a Poisson process at `rate_per_hour[h]` during clock hour h (24 rates)
    while the desk is open [open_min, close_min); `engineers` serve for exponential times, first
    come first served; a walk-in finding `balk_queue` waiting leaves at once (K = c + balk_queue
    in the system); one waiting gives up after an exponential patience (none if None). The desk
    opens empty; at closing the doors close to new arrivals and those queueing are served (or
    give up) by the same engineers. The distribution of the number in the system is carried
    through each clock hour (a piecewise-constant generator) by `propagate`; flows follow from
    rates × expected time in each state: balked = ∫λ P(N = K), reneged = ∫θ E[(N − c)⁺] while
    open, plus those who give up after closing (`empty_after_close`); everyone else is served,
    as the desk always empties.
    """
    rates = np.asarray(rate_per_hour, float)
    if len(rates) != 24 or (rates < 0).any():
        raise ValueError("desk_day needs 24 non-negative clock-hour rates")
    if not 0 <= open_min < close_min <= 24 * MIN_PER_HOUR:
        raise ValueError("desk_day needs 0 <= open_min < close_min <= 1440")
    if engineers < 1 or balk_queue < 1 or service_mean_min <= 0:
        raise ValueError("desk_day needs at least one engineer, a queue cap and a service time")
    c, k = engineers, engineers + balk_queue
    mu = MIN_PER_HOUR / service_mean_min
    theta = 0.0 if patience_mean_min is None else MIN_PER_HOUR / patience_mean_min
    waiting = np.maximum(np.arange(k + 1) - c, 0).astype(float)

    first, last = int(open_min // MIN_PER_HOUR), int(-(-close_min // MIN_PER_HOUR))
    hours = np.arange(first, last)
    edges = np.clip(np.r_[hours, last] * MIN_PER_HOUR, open_min, close_min).astype(float)
    p = np.zeros(k + 1)
    p[0] = 1.0
    by_hour = np.zeros(len(hours))
    arrivals = balked = reneged = 0.0
    for i, h in enumerate(hours):
        dt = (edges[i + 1] - edges[i]) / MIN_PER_HOUR
        lam = float(rates[h])
        p, occupancy = propagate(p, desk_generator(lam, mu, c, theta, k), dt)
        by_hour[i] = occupancy @ waiting / dt
        arrivals += lam * dt
        balked += lam * occupancy[k]
        reneged += theta * occupancy @ waiting
    after_reneges, after_hours = empty_after_close(c, mu, theta, k)
    reneged += float(p @ after_reneges)
    return DeskDay(
        hours=hours,
        open_min_by_hour=np.diff(edges),
        waiting_by_hour=by_hour,
        arrivals=arrivals,
        served=arrivals - balked - reneged,
        reneged=reneged,
        balked=balked,
        overtime_min=float(p @ after_hours) * MIN_PER_HOUR,
        p_close=p,
    )
