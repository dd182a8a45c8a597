"""`techbar report` on a damaged run folder stops with exit 2 and "not a complete run folder:
FILE: problem", and writes nothing — never a traceback, never a report from half the data."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.cli import main

SHORT = ["--set", "horizon_weeks=3", "--reps", "2", "--quiet", "--no-cache", "--workers", "2"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, mmc_module_path) -> dict[str, Path]:
    """One pristine folder of each kind, reported once to show they are complete."""
    root = tmp_path_factory.mktemp("pristine")
    out = {
        "run": root / "run",
        "sweep": root / "sweep",
        "size": root / "size",
        "calibrate": root / "calibrate",
    }
    assert main(["run", *SHORT, "--out", str(out["run"])]) == 0
    exp = root / "e.toml"
    exp.write_text(
        f'name = "e"\nbase = "{mmc_module_path.as_posix()}"\nset = ["horizon_weeks=3"]\n'
        'reps = 2\n[grid]\n"sites.0.engineers" = [3, 4]\n'
    )
    assert main(["sweep", str(exp), "--out", str(out["sweep"]), *SHORT[4:]]) == 0
    size = ["size", str(mmc_module_path), "--target", "service_level>=0.8", *SHORT]
    assert main([*size, "--out", str(out["size"])]) == 0
    calibrate = ["calibrate", "--set", "horizon_weeks=10", *SHORT[2:]]  # Fresh Wharf only
    assert main([*calibrate, "--out", str(out["calibrate"])]) == 0
    for folder in out.values():
        assert main(["report", str(folder), "--quiet"]) == 0
        for report in ("report.xlsx", "report.html"):
            (folder / report).unlink()
    return out


@pytest.fixture(scope="module")
def mmc_module_path() -> Path:
    return Path(__file__).resolve().parents[2] / "experiments" / "validation" / "mmc.toml"


def _lines(f: Path) -> list[str]:
    return f.read_text(encoding="utf-8").splitlines(keepends=True)


def _edit_cell(f: Path, column: str, value: str, line: int = 2) -> None:
    lines = _lines(f)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[line - 1].rstrip("\n").split(",")
    assert len(cells) == len(header), "the test edits an unquoted line"
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells) + "\n"
    f.write_text("".join(lines), encoding="utf-8")


def _drop_column(f: Path, column: str) -> None:
    rows = [line.rstrip("\n").split(",") for line in _lines(f)]
    j = rows[0].index(column)
    f.write_text("".join(",".join(r[:j] + r[j + 1 :]) + "\n" for r in rows), encoding="utf-8")


def _manifest(f: Path, change: Callable[[dict], object]) -> None:
    m = json.loads(f.read_text(encoding="utf-8"))
    f.write_text(json.dumps(change(m)), encoding="utf-8")


def _set(key: str, value) -> Callable[[dict], dict]:
    def change(m: dict) -> dict:
        target = m
        *path, last = key.split(".")
        for k in path:
            target = target[k]
        target[last] = value
        return m

    return change


CASES: dict[str, tuple[str, str, Callable[[Path], None], str]] = {
    # id: (folder kind, damaged file, damage, words the message must hold)
    "summary missing": ("run", "summary.csv", Path.unlink, "missing"),
    "summary empty": ("run", "summary.csv", lambda f: f.write_text(""), "empty"),
    "summary header only": ("run", "summary.csv", lambda f: f.write_text(_lines(f)[0]), "no rows"),
    "summary cut mid-line": (
        "run",
        "summary.csv",
        lambda f: f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2]),
        "cut short",
    ),
    "summary cut at a line break": (
        "run",
        "summary.csv",
        lambda f: f.write_text("".join(_lines(f)[: len(_lines(f)) // 2])),
        "cut short",
    ),
    "summary last field lost": (
        "run",
        "summary.csv",
        lambda f: f.write_text("".join(_lines(f)[:-1]) + _lines(f)[-1].rsplit(",", 1)[0] + "\n"),
        "no value in column n",
    ),
    "summary mean not a number": (
        "run",
        "summary.csv",
        lambda f: _edit_cell(f, "mean", "abc", line=5),
        "line 5: column mean holds 'abc'",
    ),
    "summary n not a number": (
        "run",
        "summary.csv",
        lambda f: _edit_cell(f, "n", "two"),
        "column n holds 'two'",
    ),
    "summary column missing": (
        "run",
        "summary.csv",
        lambda f: _drop_column(f, "ci_high"),
        "column ci_high missing",
    ),
    "summary with semicolons": (
        "run",
        "summary.csv",
        lambda f: f.write_text(f.read_text().replace(",", ";")),
        "missing",
    ),
    "summary row repeated": (
        "run",
        "summary.csv",
        lambda f: f.write_text("".join(_lines(f)) + _lines(f)[1]),
        "repeats an earlier row",
    ),
    "summary not text": (
        "run",
        "summary.csv",
        lambda f: f.write_bytes(b"\xff\xfe\x00\x81garbage\n"),
        "summary.csv",
    ),
    "summary n disagrees with replications": (
        "run",
        "summary.csv",
        lambda f: _edit_cell(f, "n", "7"),
        "says n = 7",
    ),
    "replications value not a number": (
        "run",
        "replications.csv",
        lambda f: _edit_cell(f, "value", "1.5.2", line=9),
        "line 9: column value holds '1.5.2'",
    ),
    "replications extra field": (
        "run",
        "replications.csv",
        lambda f: _edit_cell(f, "value", "1,5"),
        "more fields than the header",
    ),
    "replications extra field further down": (
        "run",
        "replications.csv",
        lambda f: _edit_cell(f, "value", "1,5", line=30),
        "Expected 5 fields in line 30, saw 6",
    ),
    "queue_by_hour column missing": (
        "run",
        "queue_by_hour.csv",
        lambda f: _drop_column(f, "hour"),
        "column hour missing",
    ),
    "weekly n blank": ("run", "weekly.csv", lambda f: _edit_cell(f, "n", ""), "column n"),
    "stock mean not a number": (
        "run",
        "stock.csv",
        lambda f: _edit_cell(f, "mean", "lots"),
        "column mean holds 'lots'",
    ),
    "waits empty": ("run", "waits.csv", lambda f: f.write_text(""), "empty"),
    "manifest missing": ("run", "manifest.json", Path.unlink, "missing"),
    "manifest empty": ("run", "manifest.json", lambda f: f.write_text(""), "empty"),
    "manifest truncated": (
        "run",
        "manifest.json",
        lambda f: f.write_text(f.read_text()[:200]),
        "not valid JSON",
    ),
    "manifest a list": ("run", "manifest.json", lambda f: f.write_text("[1, 2]"), "holds a list"),
    "manifest scenario a string": (
        "run",
        "manifest.json",
        lambda f: _manifest(f, _set("scenario", "met_2019")),
        "'scenario' is a string",
    ),
    "manifest sites not a list": (
        "run",
        "manifest.json",
        lambda f: _manifest(f, _set("scenario.sites", {"name": "x"})),
        "'scenario.sites' is an object",
    ),
    "manifest without scenario": (
        "run",
        "manifest.json",
        lambda f: _manifest(f, lambda m: {k: v for k, v in m.items() if k != "scenario"}),
        "no 'scenario'",
    ),
    "sweep comparison missing": ("sweep", "comparison.csv", Path.unlink, "missing"),
    "sweep scenarios column missing": (
        "sweep",
        "scenarios.csv",
        lambda f: _drop_column(f, "overrides"),
        "column overrides missing",
    ),
    "sizing evidence missing": ("size", "evidence.csv", Path.unlink, "missing"),
    "sizing recommendation engineers mistyped": (
        "size",
        "recommendation.csv",
        lambda f: _edit_cell(f, "engineers", "five"),
        "column engineers holds 'five'",
    ),
    "calibration table missing": (
        "calibrate",
        "calibration.csv",
        Path.unlink,
        "missing (techbar calibrate writes it",
    ),
    "calibration value not a number": (
        "calibrate",
        "calibration.csv",
        lambda f: _edit_cell(f, "value", "abc"),
        "column value holds 'abc'",
    ),
    "calibration residuals column missing": (
        "calibrate",
        "calibration_residuals.csv",
        lambda f: _drop_column(f, "residual"),
        "column residual missing",
    ),
    "calibration record iterations mistyped": (
        "calibrate",
        "manifest.json",
        lambda f: _manifest(f, _set("calibration.iterations", "two")),
        "'calibration.iterations' is a string, not a whole number",
    ),
    "calibration record history garbled": (
        "calibrate",
        "manifest.json",
        lambda f: _manifest(f, _set("calibration.history", [{"theta": "x"}])),
        "'calibration.history[0]'",
    ),
    "sizing target garbled": (
        "size",
        "manifest.json",
        lambda f: _manifest(f, _set("targets", ["service_level>=high"])),
        "target 'service_level>=high'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_report_on_a_damaged_folder_exits_2_naming_file_and_problem(
    case, folders, tmp_path, capsys
):
    kind, file, damage, words = CASES[case]
    folder = tmp_path / kind
    shutil.copytree(folders[kind], folder)
    damage(folder / file)
    before = sorted(p.name for p in folder.iterdir())
    capsys.readouterr()

    assert main(["report", str(folder), "--quiet"]) == 2

    err = capsys.readouterr().err
    assert "not a complete run folder: " in err
    assert file in err and words in err, err
    assert "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == before, "nothing is written"


def test_every_pristine_folder_still_reports(folders, tmp_path):
    """The checks refuse damage, not the folders the commands write."""
    for kind, pristine in folders.items():
        folder = tmp_path / kind
        shutil.copytree(pristine, folder)
        assert main(["report", str(folder), "--quiet"]) == 0
        assert (folder / "report.xlsx").stat().st_size > 0
        assert (folder / "report.html").stat().st_size > 0


@pytest.mark.parametrize("make", ["nothing", "a file", "an empty folder"])
def test_report_on_something_that_is_no_run_folder_exits_2(make, tmp_path, capsys):
    target = tmp_path / "target"
    if make == "a file":
        target.write_text("summary")
    elif make == "an empty folder":
        target.mkdir()
    assert main(["report", str(target)]) == 2
    err = capsys.readouterr().err
    assert "not a complete run folder: " in err and str(target) in err
    assert not (tmp_path / "report.html").exists() and not (target / "report.html").exists()
