"""Sentences of the report: verbs agree with the KPI they are about."""

import pandas as pd
import pytest

from sim.report.executive import _move


def _row(base: float, whatif: float) -> pd.Series:
    d = whatif - base
    return pd.Series(
        {
            "base_mean": base,
            "scenario_mean": whatif,
            "diff_mean": d,
            "diff_ci_low": d - 1,
            "diff_ci_high": d + 1,
        }
    )


@pytest.mark.parametrize(
    ("metric", "base", "whatif", "expected"),
    [
        ("reneged", 85.0, 11.7, "visitors who gave up waiting at Fresh Wharf fall from"),
        ("walkins", 100.0, 120.0, "walk-ins at Fresh Wharf rise from"),
        ("wait_mean_min", 3.2, 0.7, "mean wait of those seen at Fresh Wharf falls from"),
        (
            "service_level",
            0.8,
            0.9,
            "share of walk-ins seen within the target wait at Fresh Wharf rises",
        ),
    ],
)
def test_a_change_sentence_agrees_with_its_subject(metric, base, whatif, expected):
    assert _move(metric, _row(base, whatif), "Fresh Wharf").startswith(expected)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, "0%"),
        (0.001, "<1%"),
        (0.005, "<1%"),
        (0.0051, "1%"),
        (0.25, "25%"),
        (0.994, "99%"),
        (0.996, ">99%"),
        (0.9999, ">99%"),
        (1.0, "100%"),
    ],
)
def test_a_percentage_never_rounds_a_part_away(x, expected):
    """A noise share of 0.2 % is "<1%", not "0%"; P = 99.7 % is ">99%", not "100%"."""
    from sim.report.words import percent

    assert percent(x) == expected
