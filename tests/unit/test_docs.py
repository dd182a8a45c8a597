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


def test_every_kpi_has_a_title_with_its_unit_or_period_and_a_direction():
    from sim.kpis import KPIS

    for k in KPIS.values():
        assert k.title and not k.title[0].islower(), k.name  # a sentence, not an id
        assert k.direction in (-1, 0, 1), k.name
    assert KPIS["wait_mean_min"].direction == -1
    assert KPIS["service_level"].direction == 1
