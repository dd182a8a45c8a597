"""A table of named scenarios (CSV or XLSX) → validated what-ifs on the base.

Rows are scenarios, columns dotted scenario keys as ``--set`` takes them (``*`` and
``[field=value]`` filters allowed), and a ``name`` column. A cell is the value of that key in
the scenario, read as ``--set`` reads it (TOML: ``3``, ``"08:00"``, ``[3, 3, 2, 2, 2]``); a
blank cell leaves the base value. Nothing is evaluated: a spreadsheet formula is refused, not
computed, and files are size-limited before they are opened.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from sim import Scenario, ScenarioError, load_scenario

MAX_BYTES = 1_000_000  # an upload
MAX_UNZIPPED_BYTES = 20_000_000  # an XLSX's parts once unzipped (a zip bomb is refused)
MAX_ROWS = 200
MAX_COLUMNS = 100
NAME = "name"


class TableError(ValueError):
    """The table cannot be used; the message names the row and column."""


@dataclass(frozen=True)
class NamedScenario:
    row: int  # the spreadsheet's row number (the header is row 1)
    name: str
    sets: tuple[str, ...]  # KEY=VALUE, as --set takes them
    scenario: Scenario


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """The cells of a CSV or XLSX upload as text, header first."""
    if len(data) > MAX_BYTES:
        raise TableError(f"the file is {len(data):,} bytes; at most {MAX_BYTES:,} are accepted")
    lower = filename.lower()
    if lower.endswith(".csv"):
        rows = _read_csv(data)
    elif lower.endswith(".xlsx"):
        rows = _read_xlsx(data)
    else:
        raise TableError(f"'{filename}': give a .csv or .xlsx file")
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise TableError("the table is empty: give a header row of keys and a row per scenario")
    if len(rows) - 1 > MAX_ROWS:
        raise TableError(f"{len(rows) - 1} scenarios; at most {MAX_ROWS} per table")
    if len(rows[0]) > MAX_COLUMNS:
        raise TableError(f"{len(rows[0])} columns; at most {MAX_COLUMNS}")
    return rows


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableError("the CSV is not UTF-8 text; save it as 'CSV UTF-8'") from None
    try:
        return [list(r) for r in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise TableError(f"the CSV cannot be read: {exc}") from None


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED_BYTES:
                raise TableError("the workbook is too large once unpacked")
    except zipfile.BadZipFile:
        raise TableError("the file is not an .xlsx workbook") from None
    from openpyxl import load_workbook

    try:  # formulas are kept as their text (data_only=False) and refused below, never computed
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise TableError(f"the workbook cannot be read ({type(exc).__name__})") from None
    try:
        ws = wb.worksheets[0]
        rows = []
        for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if r > MAX_ROWS + 1:
                raise TableError(f"more than {MAX_ROWS} scenarios; at most {MAX_ROWS} per table")
            rows.append([_cell_text(v, r, c) for c, v in enumerate(row, start=1)])
        return rows
    finally:
        wb.close()


def _column_letter(c: int) -> str:
    s = ""
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


def _cell_text(v: Any, r: int, c: int) -> str:
    if v is None:
        return ""
    if isinstance(v, str) and v.startswith("="):
        raise TableError(
            f"row {r}, cell {_column_letter(c)}{r}: a formula ({v[:30]}); formulas are not "
            "computed here: type the value"
        )
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.strftime("%H:%M")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _set_text(key: str, cell: str) -> str:
    """KEY=VALUE as --set reads it; a time of day typed bare (08:00) is read as text."""
    value = cell.strip()
    if len(value) == 5 and value[2] == ":" and value.replace(":", "").isdigit():
        value = f'"{value}"'
    return f"{key}={value}"


def scenarios_from_table(rows: list[list[str]], base_path: str | None) -> list[NamedScenario]:
    """Each row as a what-if of the base, validated as the command line validates ``--set``.
    The first problem raises TableError naming its row and column."""
    header = [h.strip() for h in rows[0]]
    if NAME not in header:
        raise TableError("the header needs a 'name' column (each scenario's name)")
    for c, key in enumerate(header, start=1):
        if not key:
            raise TableError(f"column {_column_letter(c)}: the header cell is empty; give a key")
        if header.count(key) > 1:
            raise TableError(f"column '{key}' appears twice")
        if key != NAME:
            _check_column(key)
    out: list[NamedScenario] = []
    names: set[str] = set()
    for r, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, [*row, *[""] * (len(header) - len(row))], strict=False))
        name = cells[NAME].strip()
        if not name:
            raise TableError(f"row {r}: the 'name' cell is empty")
        if name in names:
            raise TableError(f"row {r}: the name '{name}' is used by an earlier row")
        names.add(name)
        sets = tuple(_set_text(k, v) for k, v in cells.items() if k != NAME and v.strip())
        for s in sets:
            key = s.split("=", 1)[0]
            try:
                load_scenario(base_path, [s])
            except ScenarioError as exc:
                raise TableError(f"row {r} ('{name}'), column '{key}': {exc}") from None
        try:
            scenario = load_scenario(base_path, list(sets), name=name)
        except ScenarioError as exc:
            raise TableError(f"row {r} ('{name}'): {exc}") from None
        out.append(NamedScenario(r, name, sets, scenario))
    if not out:
        raise TableError("the table has a header but no scenarios")
    return out


def _check_column(key: str) -> None:
    """A malformed key, found from the header alone (a well-formed key that the scenario does
    not have is found with the first value given for it, naming the row and column)."""
    from sim.scenario.keys import parse_key

    try:
        parse_key(key)
    except ScenarioError as exc:
        raise TableError(f"column '{key}': {exc}") from None
