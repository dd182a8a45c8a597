import numpy as np
import pytest

from sim.stepfn import StepFn


def test_counter_integral_and_ties():
    f = StepFn.from_changes(np.array([0, 10, 10, 20]), np.array([1, 1, -1, -1]))
    assert f.at(5) == 1
    assert f.at(10) == 1  # +1 and -1 at the same moment cancel
    assert f.integral(0, 30) == pytest.approx(20)
    assert f.max_on(0, 30) == 1


def test_indicator_times_counter_restricts_area_to_windows():
    q = StepFn.from_changes(np.array([0.0, 100.0]), np.array([2.0, -2.0]))
    w = StepFn.indicator(np.array([[10.0, 20.0], [50.0, 60.0]]))
    assert (q * w).integral(0, 200) == pytest.approx(40)
    assert w.integral(0, 200) == pytest.approx(20)
    assert w.integral(15, 55) == pytest.approx(10)
