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
