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
