"""What-if: change desks, pop-ups and service-wide inputs; see the differences from the base."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from sim import ScenarioError
from sim.app import results
from sim.app.context import Context
from sim.app.controls import (
    Controls,
    DeskControls,
    PopupControls,
    ServiceControls,
    base_controls,
    overrides,
)
from sim.app.runs import run_scenario, whatif_scenario
from sim.app.text import plain

MAX_ENGINEERS = 20
MAX_STOCK = 100


def _time(text: str) -> dt.time:
    h, m = (int(x) for x in text.split(":"))
    return dt.time(h % 24, m)


def _desk_controls(ctx: Context, base: Controls) -> dict[str, DeskControls]:
    out = {}
    for i, site in enumerate(ctx.base.sites):
        was = base.desks[site.name]
        with st.expander(plain(f"{site.name} — {site.bcu}" if site.bcu else site.name)):
            cols = st.columns(len(was.engineers))
            engineers = {
                day: int(
                    col.number_input(
                        f"{day}: engineers",
                        min_value=1, max_value=MAX_ENGINEERS, value=n, step=1,
                        key=f"eng|{site.name}|{day}",
                        help=ctx.about(f"sites.{i}.engineers"),
                    )
                )
                for col, (day, n) in zip(cols, was.engineers.items(), strict=True)
            }  # fmt: skip
            left, right = st.columns(2)
            opens = left.time_input(
                "Opens", _time(was.open), step=900, key=f"open|{site.name}",
                help=ctx.about(f"sites.{i}.open"),
            )  # fmt: skip
            closes = right.time_input(
                "Closes", _time(was.close), step=900, key=f"close|{site.name}",
                help=ctx.about(f"sites.{i}.close"),
            )  # fmt: skip
            stock_cols = st.columns(max(1, len(was.swap_stock)))
            stock = {
                device: int(
                    col.number_input(
                        f"Swap stock: {device}s (units)",
                        min_value=0, max_value=MAX_STOCK, value=units, step=1,
                        key=f"stock|{site.name}|{device}",
                        help=ctx.about(f"sites.{i}.swap_stock.{device}"),
                    )
                )
                for col, (device, units) in zip(stock_cols, was.swap_stock.items(), strict=False)
            }  # fmt: skip
        out[site.name] = DeskControls(
            engineers, opens.strftime("%H:%M"), closes.strftime("%H:%M"), stock
        )
    return out


def _popup_controls(ctx: Context, base: Controls) -> dict[str, PopupControls]:
    if not ctx.base.popups:
        return {}
    table = pd.DataFrame(
        [
            {
                "Pop-up": p.name,
                "Home desk": p.home,
                "Day": base.popups[p.name].day,
                "Engineers": base.popups[p.name].engineers,
                "Mobile team": base.popups[p.name].mobile_team,
            }
            for p in ctx.base.popups
        ]
    )
    edited = st.data_editor(
        table,
        key="popups",
        hide_index=True,
        disabled=["Pop-up", "Home desk"],
        column_config={
            "Day": st.column_config.SelectboxColumn(
                "Day", options=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], required=True
            ),
            "Engineers": st.column_config.NumberColumn(
                "Engineers", min_value=1, max_value=MAX_ENGINEERS, step=1, required=True
            ),
            "Mobile team": st.column_config.CheckboxColumn(
                "Mobile team", help=ctx.about("popups.0.mobile_team")
            ),
        },
        width="stretch",
    )
    return {
        r["Pop-up"]: PopupControls(str(r["Day"]), int(r["Engineers"]), bool(r["Mobile team"]))
        for r in edited.to_dict("records")
    }


def _service_controls(ctx: Context, was: ServiceControls) -> ServiceControls:
    a, b, c = st.columns(3)
    patience = None
    if was.patience_mean_min is not None:
        patience = a.number_input(
            "Mean patience (minutes)", min_value=1.0, max_value=480.0,
            value=was.patience_mean_min, step=5.0, key="patience",
            help=ctx.about("service.patience_min"),
        )  # fmt: skip
    start = b.number_input(
        "Adoption at the start (share of eventual walk-ins)", min_value=0.01, max_value=1.0,
        value=was.adoption_start, step=0.05, key="adoption_start",
        help=ctx.about("demand.adoption.start"),
    )  # fmt: skip
    full = c.number_input(
        "Weeks to full adoption", min_value=0.0, max_value=104.0,
        value=was.adoption_full_after_weeks, step=1.0, key="adoption_weeks",
        help=ctx.about("demand.adoption.full_after_weeks"),
    )  # fmt: skip
    d, e, f = st.columns(3)
    propensity = d.number_input(
        "Walk-in propensity (× base)", min_value=0.1, max_value=3.0, value=1.0, step=0.05,
        key="propensity", help="Scales every category's share of incidents taken to a desk. "
        + ctx.about("categories.laptop.walkin_propensity"),
    )  # fmt: skip
    service_time = e.number_input(
        "Service time (× base)", min_value=0.1, max_value=5.0, value=1.0, step=0.05,
        key="service_time", help="Scales every tier's engineer time per visit. "
        + ctx.about("tiers.L1.service_min"),
    )  # fmt: skip
    hours = f.number_input(
        "Hours lost per day of downtime", min_value=0.0, max_value=24.0,
        value=was.hours_lost_per_downtime_day, step=0.25, key="hours_lost",
        help=ctx.about("value.hours_lost_per_downtime_day"),
    )  # fmt: skip
    return ServiceControls(
        None if patience is None else float(patience),
        float(start),
        float(full),
        float(propensity),
        float(service_time),
        float(hours),
    )


def render(ctx: Context) -> None:
    st.header("What-if")
    st.write(
        "Change any control and press **Run**: the what-if is run beside the base at the same "
        "seed, and every desk's difference is shown with its 95 % confidence interval. "
        "Hover over a control for its base value and source."
    )
    base = base_controls(ctx.base)
    assert base.service is not None
    desk_tab, popup_tab, service_tab = st.tabs(["Desks", "Pop-up visits", "Service-wide"])
    with desk_tab:
        desks = _desk_controls(ctx, base)
    with popup_tab:
        popups = _popup_controls(ctx, base)
    with service_tab:
        service = _service_controls(ctx, base.service)
    controls = Controls(desks, popups, service)
    changes = overrides(ctx.base, controls)
    name = st.text_input("Name of the what-if (optional)", key="whatif_name", max_chars=80)
    if changes:
        st.caption(
            "Changes from the base: " + plain("; ".join(f"{k} = {v}" for k, v in changes.items()))
        )
    else:
        st.caption("No changes from the base yet: Run shows the base alone.")
    if st.button("Run", type="primary", key="run_whatif"):
        try:
            scenario = whatif_scenario(ctx.path, changes, name.strip() or None)
        except ScenarioError as exc:
            st.error("These inputs cannot be run: " + plain(exc))
            return
        base_run = run_scenario(ctx.base, ctx.seed, ctx.reps, "Base", ctx.workers)
        what_run = run_scenario(scenario, ctx.seed, ctx.reps, "What-if", ctx.workers)
        st.session_state["whatif_result"] = (scenario.name, changes, base_run, what_run)
    if "whatif_result" in st.session_state:
        _show(*st.session_state["whatif_result"])


def _show(name, changes, base_run, what_run) -> None:
    import sim

    st.subheader("Results: " + (plain(name) if changes else "the base"))
    comparison = sim.compare(base_run, what_run)
    words = results.changes_in_words(comparison)
    if changes:
        if words:
            st.markdown("\n".join(f"- {plain(w)}" for w in words))
        else:
            st.info("No headline KPI changed significantly (95 % paired confidence intervals).")
    table = results.difference_table(comparison)
    st.dataframe(results.verdict_style(table), hide_index=True, width="stretch")
    sites = list(dict.fromkeys(table.Site))
    moved = comparison[comparison.significant & comparison.site_kind.eq("desk")].site
    first = moved.iloc[0] if len(moved) else sites[0]
    site = st.selectbox("Figures for", sites, index=sites.index(first) if first in sites else 0)
    left, mid, right = st.columns(3)
    with left:
        st.caption("Mean queue by clock hour (visitors waiting)")
        q = results.overlay(base_run.queue_profile(), what_run.queue_profile(), site, "hour")
        if q.empty:
            st.caption("(not kept for pooled rows: choose a desk)")
        else:
            st.line_chart(q)
    with mid:
        st.caption("Share of visitors by wait (minutes, from)")
        st.bar_chart(
            results.overlay(
                base_run.wait_distribution(), what_run.wait_distribution(), site, "wait_from_min"
            ),
            stack=False,
        )
    with right:
        st.caption("Share of service-desk calls taken, by week")
        wb = base_run.weekly_series()
        ww = what_run.weekly_series()
        share = "sd_share_taken"
        st.line_chart(results.overlay(wb[wb.metric == share], ww[ww.metric == share], site, "week"))
