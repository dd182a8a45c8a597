"""A table of named scenarios: validated as --set is, refused with the row and column named,
nothing evaluated."""

import io
import zipfile

import pytest
import xlsxwriter

from sim.app.uploads import MAX_BYTES, TableError, read_table, scenarios_from_table


def table(text: str):
    return scenarios_from_table(read_table("s.csv", text.encode()), None)


def test_rows_become_named_what_ifs_of_the_base():
    got = table(
        "name,sites.0.engineers,sites.*.open,popups.*.engineers\n"
        "three,3,,\nearly,,08:00,\nbig pop-ups,,,2\n"
    )
    assert [s.name for s in got] == ["three", "early", "big pop-ups"]
    assert got[0].scenario.sites[0].engineers == 3
    assert {s.open for s in got[1].scenario.sites} == {"08:00"}
    assert {p.engineers for p in got[2].scenario.popups} == {2}
    assert got[0].scenario.sites[0].open != "08:00"  # a blank cell keeps the base


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("name,sites.0.engineerz\nx,3\n", r"row 2 \('x'\), column 'sites\.0\.engineerz'"),
        ("name,sites.0.engineers\nx,-1\n", r"row 2 \('x'\), column 'sites\.0\.engineers'"),
        ("name,sites.0.open\nx,25:00\n", r"column 'sites\.0\.open'"),
        ("name,sites..x\nx,1\n", r"column 'sites\.\.x'"),
        ("sites.0.engineers\n3\n", "needs a 'name' column"),
        ("name,horizon_weeks\nx,4\nx,5\n", "row 3: the name 'x' is used by an earlier row"),
        ("name,horizon_weeks\n,4\n", "row 2: the 'name' cell is empty"),
        ("name,horizon_weeks,horizon_weeks\nx,4,5\n", "appears twice"),
        ("name,horizon_weeks\n", "no scenarios"),
    ],
)
def test_bad_tables_are_refused_naming_the_place(text, named):
    with pytest.raises(TableError, match=named):
        table(text)


def test_size_and_type_limits():
    with pytest.raises(TableError, match="at most"):
        read_table("s.csv", b"x" * (MAX_BYTES + 1))
    with pytest.raises(TableError, match=r"\.csv or \.xlsx"):
        read_table("s.xls", b"name\nx\n")
    with pytest.raises(TableError, match="not an .xlsx"):
        read_table("s.xlsx", b"name\nx\n")


def _xlsx(rows, tmp_path) -> bytes:
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if isinstance(v, str) and v.startswith("="):
                ws.write_formula(r, c, v)
            else:
                ws.write(r, c, v)
    wb.close()
    return path.read_bytes()


def test_xlsx_values_are_read_and_formulas_refused_not_computed(tmp_path):
    good = _xlsx([["name", "sites.0.engineers", "sites.0.open"], ["x", 4, "08:00"]], tmp_path)
    (s,) = scenarios_from_table(read_table("s.xlsx", good), None)
    assert s.scenario.sites[0].engineers == 4 and s.scenario.sites[0].open == "08:00"
    bad = _xlsx([["name", "sites.0.engineers"], ["x", "=1+3"]], tmp_path)
    with pytest.raises(TableError, match=r"row 2, cell B2: a formula \(=1\+3\)"):
        read_table("s.xlsx", bad)


def test_a_workbook_that_unpacks_huge_is_refused_before_it_is_opened():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * 30_000_000)  # ~30 kB compressed
    assert len(buf.getvalue()) < MAX_BYTES
    with pytest.raises(TableError, match="too large once unpacked"):
        read_table("s.xlsx", buf.getvalue())
