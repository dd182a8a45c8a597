"""Queueing formulas: oracles for validating the simulation, and quick staffing estimates.

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
