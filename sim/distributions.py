"""Distribution specs: validated scenario data that turn into samplers on a numpy Generator.

A spec is a TOML inline table with a ``dist`` key, e.g.
``{dist = "lognormal", mean = 30, cv = 0.9}``.
Lognormal and gamma are given by mean and coefficient of variation (cv = sd / mean), the way
service times are usually quoted; every spec knows its mean and squared cv for analytic checks.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

NonNegFloat = Annotated[float, Field(ge=0)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    @property
    def mean(self) -> float:  # pragma: no cover
        raise NotImplementedError

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (variance / mean²)."""
        raise NotImplementedError  # pragma: no cover


class Exponential(_Spec):
    dist: Literal["exponential"]
    mean_: PositiveFloat = Field(alias="mean")

    def sample(self, rng, n):
        return rng.exponential(self.mean_, n)

    @property
    def mean(self):
        return self.mean_

    @property
    def scv(self):
        return 1.0


class _MeanCV(_Spec):
    """Parametrised by mean and coefficient of variation (sd / mean)."""

    mean_: PositiveFloat = Field(alias="mean")
    cv: PositiveFloat

    @property
    def mean(self):
        return self.mean_

    @property
    def scv(self):
        return self.cv**2


class LogNormal(_MeanCV):
    dist: Literal["lognormal"]

    def sample(self, rng, n):
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean_) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_MeanCV):
    dist: Literal["gamma"]

    def sample(self, rng, n):
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean_ / shape, n)


class Triangular(_Spec):
    dist: Literal["triangular"]
    low: NonNegFloat
    mode: NonNegFloat
    high: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self):
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def sample(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)

    @property
    def mean(self):
        return (self.low + self.mode + self.high) / 3

    @property
    def scv(self):
        a, c, b = self.low, self.mode, self.high
        var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
        return var / self.mean**2


class Uniform(_Spec):
    dist: Literal["uniform"]
    low: NonNegFloat
    high: PositiveFloat

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError("uniform needs low < high")
        return self

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def scv(self):
        return ((self.high - self.low) ** 2 / 12) / self.mean**2


class Fixed(_Spec):
    dist: Literal["fixed"]
    value: NonNegFloat

    def sample(self, rng, n):
        return np.full(n, float(self.value))

    @property
    def mean(self):
        return self.value

    @property
    def scv(self):
        return 0.0


class Empirical(_Spec):
    """Resample observed values, optionally with weights (e.g. a histogram's counts)."""

    dist: Literal["empirical"]
    values: list[NonNegFloat] = Field(min_length=1)
    weights: list[NonNegFloat] | None = None

    @model_validator(mode="after")
    def _weights_match(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("empirical weights must be as many as values")
            if sum(self.weights) <= 0:
                raise ValueError("empirical weights must not all be zero")
        return self

    def _p(self) -> np.ndarray | None:
        if self.weights is None:
            return None
        w = np.asarray(self.weights, float)
        return w / w.sum()

    def sample(self, rng, n):
        return rng.choice(np.asarray(self.values, float), size=n, p=self._p())

    @property
    def mean(self):
        p = self._p()
        v = np.asarray(self.values, float)
        return float(v.mean() if p is None else v @ p)

    @property
    def scv(self):
        p = self._p()
        v = np.asarray(self.values, float)
        p = np.full(len(v), 1 / len(v)) if p is None else p
        m = float(v @ p)
        return float(((v - m) ** 2) @ p) / m**2 if m > 0 else 0.0


DistSpec = Annotated[
    Exponential | LogNormal | Gamma | Triangular | Uniform | Fixed | Empirical,
    Field(discriminator="dist"),
]
