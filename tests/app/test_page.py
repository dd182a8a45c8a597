"""The page driven as a user drives it (Streamlit's AppTest: the script runs, widgets are set,
the elements it shows are read back)."""

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sim.app import MAIN
from sim.app.text import plain

TIMEOUT_S = 600  # a generous bound for a loaded 2-core machine; the runs take seconds


@pytest.fixture
def page():
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, at.exception
    at.sidebar.number_input(key="reps").set_value(3)
    at.run()
    return at


def _table(at, column: str) -> pd.DataFrame:
    """The first table shown with `column`."""
    for d in at.dataframe:
        df = d.value.data if hasattr(d.value, "data") else d.value  # a Styler keeps .data
        if column in df.columns:
            return df
    raise AssertionError(f"no table with a column {column!r}")


def test_more_engineers_at_fresh_wharf_shortens_its_wait(page):
    at = page
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri"):
        at.number_input(key=f"eng|Fresh Wharf|{day}").set_value(4)
    at.text_input(key="whatif_name").set_value("4 engineers at Fresh Wharf")
    at.run()
    captions = [c.value.replace("\\", "") for c in at.main.caption]
    assert any("sites.0.engineers = [4, 4, 4, 4, 4]" in c for c in captions), captions
    at.button(key="run_whatif").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("4 engineers at Fresh Wharf" in h.value.replace("\\", "") for h in at.subheader)
    t = _table(at, "Verdict")
    wait = t[(t.Site == "Fresh Wharf") & t.KPI.str.startswith("Mean wait")].iloc[0]
    assert float(wait["What-if"]) < float(wait["Base"])
    assert wait.Verdict == "better"
    other = t[(t.Site == "Kentish Town") & t.KPI.str.startswith("Mean wait")].iloc[0]
    assert other.Verdict == "no change"  # another desk's incidents are the same (CRN)


def test_an_invalid_change_is_a_message_not_a_traceback(page):
    at = page
    at.time_input(key="open|Fresh Wharf").set_value(dt.time(18, 0))  # after closing
    at.run()
    at.button(key="run_whatif").click()
    at.run()
    assert not at.exception
    (err,) = at.error
    assert "open" in err.value and "close" in err.value


def test_a_bad_scenario_table_names_the_row_and_column(page):
    at = page
    at.sidebar.radio(key="page").set_value("Scenario table")
    at.run()
    bad = b"name,sites.0.engineers,sites.0.swap_stock.laptop\nok,3,\nbroken,,lots\n"
    at.file_uploader[0].upload("s.csv", bad, "text/csv")
    at.run()
    assert not at.exception
    (err,) = at.error
    text = err.value.replace("\\", "")
    assert "row 3 ('broken'), column 'sites.0.swap_stock.laptop'" in text


def test_markdown_typed_by_a_user_is_shown_as_text():
    shown = plain("**bold** [click](javascript:alert(1)) <b>x</b> :red[y] $x$")
    for c in "*[]()<>:$":
        assert c not in shown.replace("\\" + c, "")


def test_staffing_view_gives_a_roster_and_its_scenario(monkeypatch, mmc_path):
    """On the M/M/c desk (λ = 4/h, E[S] = 40 min) the roster for 80 % within 15 minutes is
    the Erlang C answer, which the sizing tests check; here: the view shows it, with its cost
    and a runnable scenario to download."""
    from sim.analytic import erlang_c_staffing
    from sim.app.context import SCENARIO_ENV

    monkeypatch.setenv(SCENARIO_ENV, str(mmc_path))
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT_S)
    at.run()
    at.sidebar.number_input(key="reps").set_value(3)
    at.sidebar.radio(key="page").set_value("Staffing")
    at.run()
    at.button(key="run_size").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    roster = _table(at, "Mon")
    want = erlang_c_staffing(4.0, 1.5, wait_target=0.25, service_level=0.8)  # per hour
    assert roster.loc["desk"].tolist() == [want] * 7
    assert any(m.label.startswith("£") or "£" in m.value for m in at.metric)
    at.sidebar.radio(key="page").set_value("Business case")
    at.run()
    assert any("no ranges file" in i.value for i in at.info)
