"""The techbar-sim page: ``techbar app [SCENARIO.toml]`` serves it (Streamlit).

Four views on one base scenario: a what-if beside the base, the staffing a set of targets
needs, the business case's sensitivity, and a table of named scenarios run as one sweep.
Everything goes through the public API and the scenario model's validation; nothing typed or
uploaded is rendered as HTML or evaluated.
"""

from __future__ import annotations

import sys

import streamlit as st

from sim.app import views
from sim.app.context import Context, parse_args
from sim.app.text import plain

st.set_page_config(page_title="techbar-sim", layout="wide")

args = parse_args(sys.argv[1:])
ctx = Context.load(args.scenario)
if ctx is None:
    st.stop()

PAGES = {
    "What-if": views.whatif,
    "Staffing": views.staffing,
    "Business case": views.business_case,
    "Scenario table": views.scenario_table,
}
with st.sidebar:
    st.title("techbar-sim")
    choice = st.radio("Page", list(PAGES), key="page")
    st.caption(f"Base scenario: **{plain(ctx.base.name)}** ({plain(ctx.source_label)})")
    ctx.reps = int(
        st.number_input(
            "Replications",
            min_value=2,
            max_value=100,
            value=10,
            step=1,
            key="reps",
            help="Independent simulated years; more give narrower confidence intervals.",
        )
    )
    ctx.seed = int(
        st.number_input(
            "Seed",
            min_value=0,
            max_value=2**31 - 1,
            value=1,
            step=1,
            key="seed",
            help="Base and what-if share it, so they see the same incidents (common random "
            "numbers) and differences are paired.",
        )
    )
    st.caption("Stop (top right) cancels a run between replications.")

PAGES[choice](ctx)
