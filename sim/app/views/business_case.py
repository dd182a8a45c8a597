"""Business case: the value-for-money figures with their CIs, and how they move with each
ranged input (one at a time: tornado and switching values; from ``techbar sensitivity``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sim
from sim import ScenarioError
from sim.app import results
from sim.app.context import Context
from sim.app.runs import run_scenario
from sim.app.text import plain

MONEY = (
    "net_benefit_gbp_per_year",
    "benefit_gbp_per_year",
    "cost_gbp_per_year",
    "benefit_cost_ratio",
    "npv_gbp",
)
NET = "net_benefit_gbp_per_year"


def _has_ranges(ctx: Context) -> bool:
    from sim.scenario.uncertainty import default_ranges_path

    return default_ranges_path(ctx.path) is not None


def render(ctx: Context) -> None:
    st.header("Business case")
    st.write(
        "Value for money of the base scenario, force-wide, with 95 % confidence intervals over "
        "replications. These intervals cover simulation noise only; the sensitivity analysis "
        "below shows how far each uncertain input moves the answer."
    )
    if st.button("Show the value for money", key="run_money"):
        st.session_state["money_run"] = run_scenario(
            ctx.base, ctx.seed, ctx.reps, "Base", ctx.workers
        )
    run = st.session_state.get("money_run")
    if run is not None:
        s = run.summary()
        s = s[(s.site == "ALL") & s.metric.isin(MONEY)].set_index("metric")
        titles = results.titles()
        cols = st.columns(len(MONEY))
        for col, m in zip(cols, MONEY, strict=True):
            if m not in s.index:
                continue
            r = s.loc[m]
            fmt = "{:,.2f}" if m == "benefit_cost_ratio" else "£{:,.0f}"
            col.metric(titles.get(m, m), fmt.format(r["mean"]))
            col.caption(f"95 % CI {fmt.format(r.ci_low)} to {fmt.format(r.ci_high)}")
    st.subheader("Sensitivity")
    if not _has_ranges(ctx):
        st.info(
            "This scenario has no ranges file beside it (SCENARIO.uncertainty.toml), so there "
            "is nothing to vary; see the README's business case section."
        )
        return
    reps = int(
        st.number_input(
            "Replications per point", 2, 50, 3, 1, key="sens_reps",
            help="Each input is run at its low and high value with this many replications, "
            "paired with the base. The published analysis uses 10 (techbar sensitivity).",
        )
    )  # fmt: skip
    if st.button("Run the sensitivity analysis", key="run_sens"):
        try:
            with st.spinner("Running each ranged input at its low and high value…"):
                result = sim.sensitivity(ctx.path, reps=reps, seed=ctx.seed, workers=ctx.workers)
        except ScenarioError as exc:
            st.error("The sensitivity analysis cannot run: " + plain(exc))
            return
        st.session_state["sensitivity"] = result
    if "sensitivity" in st.session_state:
        _show(st.session_state["sensitivity"])


def _show(result) -> None:
    tornado: pd.DataFrame = result.summary()
    net = tornado[tornado.output == NET].head(12)
    if not net.empty:
        st.caption("Tornado: change in net benefit (£ per year) at each input's low and high")
        chart = net.set_index("input")[["low_diff_mean", "high_diff_mean"]].rename(
            columns={"low_diff_mean": "at low", "high_diff_mean": "at high"}
        )
        st.bar_chart(chart, horizontal=True, stack=False)
        st.dataframe(
            net[["rank", "input", "low_value", "base_value", "high_value", "swing_mean",
                 "swing_ci_low", "swing_ci_high", "reason"]],
            hide_index=True, width="stretch",
        )  # fmt: skip
    sw: pd.DataFrame = result.switching
    if not sw.empty:
        st.caption("Switching values: where net benefit reaches zero (blank: none in range)")
        keep = [c for c in ("input", "switching_value", "base_value", "low_value", "high_value",
                            "in_words", "sentence") if c in sw.columns]  # fmt: skip
        st.dataframe(sw[keep], hide_index=True, width="stretch")
