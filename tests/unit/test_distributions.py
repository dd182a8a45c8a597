"""Distribution specs sample with the mean and variability they promise."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from sim.distributions import DistSpec

ADAPTER = TypeAdapter(DistSpec)
SPECS = [
    {"dist": "exponential", "mean": 20},
    {"dist": "lognormal", "mean": 30, "cv": 0.9},
    {"dist": "gamma", "mean": 30, "cv": 0.5},
    {"dist": "triangular", "low": 5, "mode": 10, "high": 30},
    {"dist": "uniform", "low": 5, "high": 15},
    {"dist": "fixed", "value": 7},
    {"dist": "empirical", "values": [1, 2, 10], "weights": [5, 3, 2]},
]


@pytest.mark.parametrize("raw", SPECS, ids=[s["dist"] for s in SPECS])
def test_sample_mean_and_scv_match_spec(raw):
    spec = ADAPTER.validate_python(raw)
    x = spec.sample(np.random.default_rng(7), 400_000)
    assert x.min() >= 0
    assert x.mean() == pytest.approx(spec.mean, rel=0.01)
    assert x.var() / x.mean() ** 2 == pytest.approx(spec.scv, rel=0.03, abs=1e-9)


@pytest.mark.parametrize(
    "raw",
    [
        {"dist": "weibull", "mean": 3},
        {"dist": "exponential", "mean": -1},
        {"dist": "lognormal", "mean": 10},
        {"dist": "triangular", "low": 5, "mode": 1, "high": 3},
        {"dist": "exponential", "mean": 1, "sd": 2},
        {"dist": "empirical", "values": [1, 2], "weights": [1]},
    ],
)
def test_bad_specs_are_rejected(raw):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"dist": "exponential", "mean": float("inf")}, "finite"),
        ({"dist": "fixed", "value": float("nan")}, "finite"),
        ({"dist": "empirical", "values": [1, float("inf")]}, "finite"),
        ({"dist": "lognormal", "mean": 1e308, "cv": 0.9}, "at most"),
        ({"dist": "gamma", "mean": 30, "cv": 1e300}, "at most"),
        ({"dist": "uniform", "low": 0, "high": 1e200}, "at most"),
        ({"dist": "lognormal", "mean": 10, "cv": 1e-200}, "too small"),  # cv² underflows to 0
        ({"dist": "gamma", "mean": 10, "cv": 1e-160}, "too small"),  # shape overflows
    ],
)
def test_non_finite_overflowing_and_degenerate_specs_are_refused(raw, expected):
    with pytest.raises(ValidationError, match=expected):
        ADAPTER.validate_python(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {"dist": "lognormal", "mean": 1e12, "cv": 1e12},
        {"dist": "lognormal", "mean": 1e-300, "cv": 1e-150},
        {"dist": "gamma", "mean": 1e12, "cv": 1e-12},
        {"dist": "gamma", "mean": 1e-300, "cv": 1e12},
        {"dist": "exponential", "mean": 1e12},
        {"dist": "triangular", "low": 0, "mode": 1e12, "high": 1e12},
        {"dist": "empirical", "values": [1e12, 1e12, 0], "weights": [1e12, 1, 1]},
    ],
)
def test_extreme_specs_that_are_accepted_sample_finite_values(raw):
    spec = ADAPTER.validate_python(raw)
    x = spec.sample(np.random.default_rng(3), 10_000)
    assert np.isfinite(x).all() and (x >= 0).all()
    assert np.isfinite(spec.mean) and np.isfinite(spec.scv)
