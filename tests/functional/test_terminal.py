"""What the terminal shows fits 100 columns: run (desks with their engineers, then the pooled
rows, pop-ups in one line or listed with --all-sites), sweep and backtest; the output folder is
the last line."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from sim.cli import main
from sim.cli.console import Col, cell, difference, number, table

WIDTH = 100
SHORT = ["--set", "horizon_weeks=2", "--reps", "2", "--workers", "1", "--no-cache"]


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def _fits(lines: list[str]) -> None:
    long = [(len(line), line) for line in lines if len(line) > WIDTH]
    assert not long, long


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One short run of the default scenario, printed with and without --all-sites."""
    import io
    from contextlib import redirect_stdout

    printed = {}
    for flag in ([], ["--all-sites"]):
        out = tmp_path_factory.mktemp("run") / "o"
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            assert main(["run", *SHORT, "--out", str(out), *flag]) == 0
        printed[bool(flag)] = (buffer.getvalue().splitlines(), out)
    return printed


def test_the_run_summary_fits_100_columns_and_ends_with_the_folder(default_run):
    for lines, out in default_run.values():
        _fits(lines)
        assert lines[-1] == f"results in {out}"


def test_desks_come_first_with_their_engineers_then_the_pooled_rows(default_run):
    lines, _ = default_run[False]
    start = lines.index("Queues")
    block = lines[start : lines.index("", start)]
    assert "engineers" in block[1] and "walk-ins" in block[1]
    assert re.search(r"\bmin\b", block[2]) and "%" in block[2] and "visitors" in block[2]
    rows = [line.split("  ")[0].strip() for line in block[3:] if not line.startswith("---")]
    assert rows == [
        "Fresh Wharf",
        "Kentish Town",
        "Central East",
        "North West",
        "South East",
        "West Area",
        "South Area",
        "ALL_DESKS",
        "ALL_POPUPS",
        "ALL",
    ]
    fresh_wharf = next(line for line in block if line.startswith("Fresh Wharf"))
    assert "3/3/2/2/2" in fresh_wharf  # its engineers on each open day


def test_pop_ups_are_one_line_unless_all_sites(default_run):
    short, _ = default_run[False]
    text = "\n".join(short)
    assert "Wimbledon" not in text
    (line,) = [x for x in short if x.startswith("35 pop-ups")]
    assert "mean wait" in line and "utilisation" in line and "--all-sites" in line
    full, _ = default_run[True]
    listed = [x for x in full if x.startswith(("Wimbledon", "Romford", "Putney"))]
    assert len(listed) >= 3 and "Mon" in next(x for x in listed if x.startswith("Romford"))


def test_money_has_pounds_and_thousands_separators_and_shares_are_per_cent(default_run):
    lines, _ = default_run[False]
    all_rows = [x for x in lines if x.startswith("ALL ")]
    assert any(re.search(r"£\d{1,3}(,\d{3})+ ± [\d,]+", x) for x in all_rows), all_rows
    assert any(re.search(r"\b\d{2}\.\d ± \d+\.\d\b", x) for x in all_rows)  # e.g. 92.4 ± 1.3


def test_long_site_names_are_cut_to_fit(tmp_path, mmc_path, capsys):
    name = "A desk with a very long name " * 6
    args = ["run", str(mmc_path), *SHORT, "--set", f"sites.0.name={name}", "--out", "o"]
    assert main(args) == 0
    lines = _lines(capsys)
    _fits(lines)
    assert any(x.startswith("A desk with a very long") and "…" in x for x in lines)


def test_the_sweep_comparison_fits_100_columns(tmp_path, mmc_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        f'name = "long names"\nbase = "{mmc_path}"\nset = ["horizon_weeks=2"]\nreps = 2\n'
        '[grid]\n"sites.0.engineers" = [[4, 4, 4, 4, 4, 3, 3], [5, 5, 5, 5, 5, 3, 3]]\n'
        '"tiers.L1.service_min" = [{dist = "lognormal", mean = 30, cv = 0.9}]\n'
    )
    assert main(["sweep", str(exp), "--out", "sw", "--no-cache", "--workers", "1"]) == 0
    lines = _lines(capsys)
    _fits(lines)
    assert lines[-1] == "results in sw"
    assert any(x.startswith("  1  sites.0.engineers=[4, 4, 4, 4, 4, 3, 3]") for x in lines)
    assert any("% points" in x for x in lines)


def test_the_backtest_fits_100_columns_in_a_fitted_and_a_predicted_table(tmp_path, capsys):
    code = main(["backtest", *SHORT, "--out", "bt"])
    assert code in (0, 1)
    lines = _lines(capsys)
    _fits(lines)
    assert lines[-1] == "results in bt"
    text = " ".join(lines)
    assert "round to the published figure" in text
    fitted, predicted = text.index("fitted to (trial)"), text.index("predicted (live, not fitted)")
    assert fitted < text.index("downtime saved per tablet") < predicted
    assert predicted < text.index("first-time fix rate")
    table_rows = [
        x for x in lines if x.startswith(("first-time fix", "downtime saved per")) and "[" in x
    ]
    assert len(table_rows) >= 2
    # each figure says whether it is out of sample: only the live first-time fix is
    ftf = next(x for x in table_rows if x.startswith("first-time fix rate"))
    assert ftf.split()[-1] == "yes"
    assert all(x.split()[-1] == "no" for x in table_rows if x.startswith("downtime saved"))
    assert "Not out of sample — share of service-desk calls" in text


# --------------------------------------------------------------------------- formatting


def test_cells_carry_their_unit_and_never_show_minus_zero():
    assert cell(130318.4, 31905.2, Col("value_saved_gbp_per_year", "", "")) == "£130,318 ± 31,905"
    assert cell(0.9243, 0.0131, Col("service_level", "", "")) == "92.4 ± 1.3"
    assert cell(2506.0, 267.0) == "2,506 ± 267"
    assert cell(float("nan"), 1.0) == "–"
    assert number(-0.0001, 2, sign=True) == "+0.00"
    col = Col("service_level", "", "")
    assert difference(-0.038, -0.055, -0.021, True, col) == "-3.8 [-5.5, -2.1]*"


def test_tables_wider_than_the_terminal_continue_in_blocks_that_repeat_the_labels():
    header = [("", "site")] + [(f"kpi {i}", "unit") for i in range(12)]
    rows = [["Fresh Wharf"] + [f"{i * 1000:,} ± 12" for i in range(12)], None, ["ALL"] + ["1"] * 12]
    text = table(header, rows, title="T", width=60)
    lines = text.splitlines()
    assert all(len(x) <= 60 for x in lines)
    assert sum(x == "T" or x == "T (continued)" for x in lines) >= 3
    assert sum(x.startswith("Fresh Wharf") for x in lines) == sum(x.startswith("T") for x in lines)
    frame = pd.DataFrame({"line": lines})
    assert frame["line"].str.startswith("---").sum() >= 3  # the rule before the pooled rows
