"""Scenario table: upload named scenarios (CSV or XLSX), run them as one sweep against the
base, download the comparison, the workbook, the HTML report and each scenario as TOML."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st
import tomlkit

import sim
from sim import ScenarioError
from sim.app import results
from sim.app.context import Context
from sim.app.text import plain
from sim.app.uploads import MAX_BYTES, NamedScenario, TableError, read_table, scenarios_from_table

TEMPLATE = (
    "name,sites.0.engineers,sites.*.open,popups.*.engineers\n"
    "3 engineers at desk 1,3,,\n"
    "open at 08:00,,08:00,\n"
    "two-engineer pop-ups,,,2\n"
)


def scenario_toml(s: NamedScenario) -> str:
    """A named scenario as a file `techbar run` takes: the resolved scenario, its changes in
    the header."""
    head = "".join(f"#   {t}\n" for t in s.sets)
    return f"# {s.name}: the base scenario with\n{head}" + tomlkit.dumps(
        sim.scenario_to_dict(s.scenario)
    )


def experiment_toml(named: list[NamedScenario], base: str | None, reps: int, seed: int) -> str:
    doc = tomlkit.document()
    doc["name"] = "scenario table"
    if base is not None:
        doc["base"] = str(Path(base).resolve())
    doc["reps"] = reps
    doc["seed"] = seed
    aot = tomlkit.aot()
    for s in named:
        t = tomlkit.table()
        t["name"] = s.name
        t["set"] = list(s.sets)
        aot.append(t)
    doc["scenarios"] = aot
    return tomlkit.dumps(doc)


def render(ctx: Context) -> None:
    st.header("Scenario table")
    st.write(
        "Upload a table with one row per scenario: a **name** column, and one column per "
        "scenario key (as `techbar run --set` takes it; `*` reaches every desk or pop-up). A "
        "cell is that key's value in the scenario; a blank cell keeps the base value. "
        "Formulas are not computed."
    )
    st.download_button("Download a template (CSV)", TEMPLATE, "scenarios.csv", "text/csv")
    up = st.file_uploader(
        f"Scenarios (CSV or XLSX, at most {MAX_BYTES // 1000:,} kB)", type=["csv", "xlsx"]
    )
    if up is None:
        return
    try:
        named = scenarios_from_table(read_table(up.name, up.getvalue()), ctx.path)
    except TableError as exc:
        st.error("The table cannot be used: " + plain(exc))
        return
    st.success(f"{len(named)} scenarios, all valid.")
    st.dataframe(
        {"Row": [s.row for s in named], "Scenario": [s.name for s in named],
         "Changes": ["; ".join(s.sets) for s in named]},
        hide_index=True, width="stretch",
    )  # fmt: skip
    if st.button("Run them all", type="primary", key="run_table"):
        _run(ctx, named)
    if "table_result" in st.session_state:
        _show(*st.session_state["table_result"])


def _run(ctx: Context, named: list[NamedScenario]) -> None:
    bar = st.progress(0.0, text="Sweep: starting")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Sweep: {done} of {total} simulations")

    with tempfile.TemporaryDirectory(prefix="techbar-app-") as tmp:
        exp = Path(tmp) / "scenarios.toml"
        exp.write_text(experiment_toml(named, ctx.path, ctx.reps, ctx.seed), encoding="utf-8")
        try:
            result = sim.sweep(exp, workers=ctx.workers, cache=True, on_progress=progress)
        except ScenarioError as exc:
            st.error("The scenarios cannot be run: " + plain(exc))
            return
        out = result.write(Path(tmp) / "sweep")
        xlsx, html = sim.report(out)  # type: ignore[operator]  # a callable module
        files = {
            "comparison.csv": (out / "comparison.csv").read_bytes(),
            "report.html": Path(html).read_bytes(),
            "report.xlsx": Path(xlsx).read_bytes(),
        }
    bar.empty()
    tomls = io.BytesIO()
    with zipfile.ZipFile(tomls, "w", zipfile.ZIP_DEFLATED) as z:
        for s in named:
            z.writestr(f"{s.row:03d}.toml", scenario_toml(s))
    files["scenarios.zip"] = tomls.getvalue()
    st.session_state["table_result"] = (result.comparison(), files)


def _show(comparison, files: dict[str, bytes]) -> None:
    st.subheader("Each scenario against the base")
    for name, group in comparison.groupby("scenario", sort=False):
        with st.expander(plain(name), expanded=False):
            words = results.changes_in_words(group)
            st.markdown("\n".join(f"- {plain(w)}" for w in words) or "No significant change.")
            st.dataframe(
                results.verdict_style(results.difference_table(group)),
                hide_index=True, width="stretch",
            )  # fmt: skip
    cols = st.columns(len(files))
    mimes = {
        "comparison.csv": "text/csv",
        "report.html": "text/html",
        "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "scenarios.zip": "application/zip",
    }
    for col, (fname, data) in zip(cols, files.items(), strict=True):
        col.download_button(f"Download {fname}", data, fname, mimes[fname])
