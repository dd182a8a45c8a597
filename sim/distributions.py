"""Distribution specs: validated scenario data that turn into samplers on a numpy Generator.

A spec is a TOML inline table with a ``dist`` key, e.g.
``{dist = "lognormal", mean = 30, cv = 0.9}``.
Lognormal and gamma are given by mean and coefficient of variation (cv = sd / mean), the way
service times are usually quoted; every spec knows its mean and squared cv for analytic checks.
"""

from __future__ import annotations

import math
import warnings
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator

NonNegFloat = Annotated[float, Field(ge=0)]
MAX_MAGNITUDE = 1e12
"""No number in a distribution may exceed this (in its own unit: minutes or days): far beyond any
real service or repair time, and small enough that sampling and sums never overflow."""


def _finite_positive(name: str, x: float, what: str) -> None:
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{what} gives {name} = {x!r}, not a finite positive number")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounded(self):
        for name, value in self:
            values = value if isinstance(value, list) else [value]
            big = [v for v in values if isinstance(v, int | float) and abs(v) > MAX_MAGNITUDE]
            if big:
                key = type(self).model_fields[name].alias or name
                raise ValueError(f"{key} must be at most {MAX_MAGNITUDE:g}; got {big[0]!r}")
        self._derived()
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                mean, scv = self.mean, self.scv
            except (ZeroDivisionError, OverflowError):  # e.g. a mean so small its square is 0
                mean, scv = self.mean, math.inf
        if not (math.isfinite(mean) and math.isfinite(scv)):
            raise ValueError(f"mean ({mean!r}) and variability ({scv!r}) must be finite")
        return self

    def _derived(self) -> None:
        """Check the parameters the sampler derives (finite, positive); raise ValueError."""

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

    def _params(self) -> tuple[float, float]:
        sigma2 = math.log1p(self.cv**2)
        return math.log(self.mean_) - sigma2 / 2, sigma2

    def _derived(self) -> None:
        mu, sigma2 = self._params()
        _finite_positive("sigma²", sigma2, f"cv {self.cv!r} (too small: use a fixed distribution)")
        if not math.isfinite(mu):
            raise ValueError(f"mean {self.mean_!r} and cv {self.cv!r} give a non-finite mu")

    def sample(self, rng, n):
        mu, sigma2 = self._params()
        return rng.lognormal(mu, math.sqrt(sigma2), n)


class Gamma(_MeanCV):
    dist: Literal["gamma"]

    def _params(self) -> tuple[float, float]:
        cv2 = self.cv**2
        shape = 1.0 / cv2 if cv2 > 0 else math.inf
        return shape, self.mean_ / shape

    def _derived(self) -> None:
        shape, scale = self._params()
        what = f"cv {self.cv!r} (too small: use a fixed distribution)"
        _finite_positive("shape", shape, what)
        _finite_positive("scale", scale, f"mean {self.mean_!r} with cv {self.cv!r}")

    def sample(self, rng, n):
        shape, scale = self._params()
        return rng.gamma(shape, scale, n)


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
