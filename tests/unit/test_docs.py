"""The README documents every KPI with the unit defined in sim/kpis.py."""

from pathlib import Path

from sim.kpis import KPIS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_kpi_with_its_unit_and_meaning():
    text = README.read_text(encoding="utf-8")
    for k in KPIS.values():
        assert f"| `{k.name}` | {k.unit} | {k.meaning} |" in text, k.name


def test_readme_shows_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text
