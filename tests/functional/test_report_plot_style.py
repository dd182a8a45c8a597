"""The report's figures keep their look to themselves: importing the plotting module or drawing
with it leaves matplotlib's settings (a notebook user's style) exactly as they were."""

import os
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

# names are drawn as typed: were they parsed as mathtext, this one would fail to draw
SITES = ["desk A", r"desk $\nocommand$"]


def _changed(before: dict, after: dict) -> dict:
    return {k: (before.get(k), after.get(k)) for k in before.keys() | after.keys()
            if before.get(k) != after.get(k)}  # fmt: skip


def _summary_rows(keys: dict[str, list], rng) -> pd.DataFrame:
    index = pd.MultiIndex.from_product(list(keys.values()), names=list(keys))
    df = index.to_frame(index=False)
    df["mean"] = rng.uniform(1, 2, len(df))
    df["std"] = 0.1
    df["ci_low"], df["ci_high"], df["n"] = df["mean"] - 0.2, df["mean"] + 0.2, 5
    return df


def _every_figure(plots) -> None:
    rng = np.random.default_rng(0)
    queue = _summary_rows({"site": SITES, "hour": list(range(8, 17))}, rng)
    per_rep = queue.loc[queue.index.repeat(5), ["site", "hour"]].assign(
        replication=np.tile(range(5), len(queue)), queue_len_mean=rng.uniform(0, 2, 5 * len(queue))
    )
    waits = _summary_rows({"site": ["ALL"], "wait_from_min": [0.0, 5.0]}, rng)
    waits["wait_to_min"] = [5.0, np.inf]
    metrics = ["downtime_saved_days_per_ticket"] + [
        f"downtime_saved_days_per_ticket_{d}" for d in ("laptop", "tablet", "smartphone")
    ]
    summary = _summary_rows({"site": ["ALL", "ALL_DESKS"], "metric": metrics}, rng)
    weekly = _summary_rows({"site": ["ALL"], "metric": ["sd_share_taken"], "week": [1, 2, 3]}, rng)
    stock = _summary_rows({"site": SITES, "device": ["laptop"], "week": [1, 2, 3]}, rng)
    evidence = _summary_rows(
        {"site": SITES, "engineers": [2, 3], "metric": ["service_level", "utilisation"]}, rng
    )
    comparison = pd.DataFrame(
        {"scenario": ["=1+1", "b"], "site": "ALL", "metric": "wait_mean_min", "diff_mean": [1, -1]}
    ).assign(diff_ci_low=lambda d: d.diff_mean - 0.5, diff_ci_high=lambda d: d.diff_mean + 0.5)
    figures = [
        plots.queue_by_hour(queue, SITES),
        plots.queue_by_hour(per_rep, SITES),
        plots.wait_distribution(waits),
        plots.downtime_by_device(summary),
        plots.weekly_share(weekly),
        plots.stock_on_hand(stock),
        plots.staffing_curves(evidence, {"service_level": 0.8}),
        plots.comparison_forest(comparison),
    ]
    for fig in figures:
        assert len(plots.to_png(fig)) > 5_000


def test_importing_and_drawing_leave_rcparams_unchanged_in_a_fresh_interpreter():
    code = textwrap.dedent(
        """
        import json, matplotlib
        matplotlib.use("Agg")
        before = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        from sim.report import plots
        after_import = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        from tests.functional.test_report_plot_style import _every_figure
        _every_figure(plots)
        after_drawing = {k: repr(v) for k, v in matplotlib.rcParams.items()}
        print(json.dumps([before, after_import, after_drawing]))
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    import json

    before, after_import, after_drawing = json.loads(res.stdout.strip().splitlines()[-1])
    assert _changed(before, after_import) == {}, "importing restyles matplotlib"
    assert _changed(before, after_drawing) == {}, "drawing restyles matplotlib"


def test_drawing_in_a_user_style_leaves_it_and_uses_our_own():
    import matplotlib.pyplot as plt

    from sim.report import plots

    with plt.style.context("dark_background"), plt.rc_context({"font.size": 17.0}):
        before = dict(matplotlib.rcParams)
        fig = plots.queue_by_hour(
            _summary_rows({"site": SITES, "hour": [8, 9]}, np.random.default_rng(1)), SITES
        )
        assert _changed(before, dict(matplotlib.rcParams)) == {}
        # our figure has seaborn's whitegrid look, not the user's dark background
        assert matplotlib.colors.to_hex(fig.axes[0].get_facecolor()) == "#ffffff"
        assert fig.axes[0].xaxis.label.get_fontsize() != pytest.approx(17.0)
        plt.close(fig)
