"""Staffing: targets in plain words → the weekday roster per desk that meets them with 95 %
confidence, its cost, and the evidence (from ``techbar size``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sim
from sim import ScenarioError
from sim.app.context import Context
from sim.app.text import plain

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def targets_in_words(sl: float, within_min: float, wait: float | None, util: float | None):
    """The targets as ``techbar size --target`` takes them, and as a sentence."""
    targets = [f"service_level>={sl / 100:g}"]
    words = [f"{sl:g} % of visitors seen within {within_min:g} minutes"]
    if wait is not None:
        targets.append(f"wait_mean_min<={wait:g}")
        words.append(f"a mean wait of at most {wait:g} minutes")
    if util is not None:
        targets.append(f"utilisation<={util / 100:g}")
        words.append(f"engineers busy at most {util:g} % of their time on duty")
    return targets, ", ".join(words)


def render(ctx: Context) -> None:
    st.header("Staffing")
    st.write(
        "Say what the service must achieve; the simulation finds, for every desk and weekday, "
        "the fewest engineers for which the one-sided 95 % confidence bound meets every "
        "target. The roster counts the engineers a desk must roster, including those it sends "
        "to pop-up visits."
    )
    a, b, c, d = st.columns(4)
    sl = a.number_input("Seen within the target wait (%)", 1.0, 99.0, 80.0, 5.0, key="sl")
    within = b.number_input(
        "Target wait (minutes)", 1.0, 240.0, float(ctx.base.service.sl_target_min), 1.0,
        key="sl_min", help=ctx.about("service.sl_target_min"),
    )  # fmt: skip
    wait = c.number_input("Mean wait at most (minutes; 0 = no target)", 0.0, 240.0, 0.0, 1.0)
    util = d.number_input("Utilisation at most (%; 0 = no target)", 0.0, 100.0, 85.0, 5.0)
    targets, words = targets_in_words(sl, within, wait or None, util or None)
    st.caption(f"Targets: {words}.")
    if st.button("Find the roster", type="primary", key="run_size"):
        changes = {}
        if within != ctx.base.service.sl_target_min:
            changes["service.sl_target_min"] = float(within)
        try:
            with st.spinner("Sizing every desk and weekday (about a minute on 2 cores)…"):
                result = sim.size(
                    ctx.path, targets, reps=ctx.reps, seed=ctx.seed, workers=ctx.workers,
                    overrides=changes or None, cache=True,
                )  # fmt: skip
        except ScenarioError as exc:
            st.error("The targets cannot be used: " + plain(exc))
            return
        st.session_state["sizing"] = (words, result)
    if "sizing" in st.session_state:
        _show(*st.session_state["sizing"])


def _show(words: str, result) -> None:
    rec: pd.DataFrame = result.recommendation
    met = bool(rec["targets_met"].all())
    (st.success if met else st.warning)(
        f"{'Every' if met else 'Not every'} desk and weekday meets the targets ({words})."
    )
    roster = rec.pivot(index="site", columns="day", values="rostered")
    roster = roster[[d for d in WEEKDAYS if d in roster.columns]]
    roster = roster.loc[list(dict.fromkeys(rec.site))]
    st.subheader("Roster: engineers per desk and weekday")
    st.dataframe(roster, width="stretch")
    cost = result.cost
    money = {k: v for k, v in cost.items() if "gbp" in k}
    if money:
        cols = st.columns(len(money))
        for col, (k, v) in zip(cols, money.items(), strict=True):
            col.metric(k.replace("_", " ").replace("gbp", "£"), f"£{v:,.0f}")
    st.subheader("Which target binds, and by how much it is met")
    detail = rec[
        ["site", "day", "at_desk", "away_on_popups", "rostered", "binding_target", "bound",
         "margin", "erlang_c_estimate", "sipp_estimate"]
    ]  # fmt: skip
    st.dataframe(detail, hide_index=True, width="stretch")
    st.download_button(
        "Download the roster as a scenario (recommended.toml)",
        result.recommended_toml(),
        file_name="recommended.toml",
        mime="application/toml",
    )
    st.download_button(
        "Download the roster (recommendation.csv)",
        rec.to_csv(index=False),
        file_name="recommendation.csv",
        mime="text/csv",
    )
    curve: pd.DataFrame = result.tradeoff
    if len(curve):
        st.subheader("Trade-off: service level against engineer-days, per desk")
        st.caption(
            "Each desk's plan, and 1–2 engineers fewer or more every open day (the rest held "
            "as planned). The cost of a service-level point is the extra annual cost over the "
            "next smaller roster divided by the points gained (paired 95 % CI)."
        )
        wide = curve.pivot_table(
            index="engineer_days_per_week", columns="site", values="service_level_mean"
        )
        st.line_chart(wide, x_label="engineer-days per week", y_label="service level")
        show = curve[
            ["site", "engineer_days_per_week", "plan", "annual_gbp", "service_level_mean",
             "service_level_ci_low", "service_level_ci_high", "utilisation_mean",
             "sl_points_gained", "annual_gbp_per_sl_point"]
        ]  # fmt: skip
        st.dataframe(show, hide_index=True, width="stretch")
