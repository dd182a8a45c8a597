"""Every what-if is compared with its base: paired differences per desk, pop-up and pooled
group in comparison.csv, the changes that matter first in the terminal, `techbar compare` of two
run folders (and its refusals), the same through the API, and the per-desk table in the report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sim
import sim.experiment.components as components
from sim.cli import main
from sim.experiment.sweep import COMPARISON_COLUMNS, changes_first

SHORT = ["--set", "horizon_weeks=2", "--reps", "2", "--workers", "1"]
MORE = "sites.0.engineers=5"  # the first desk (Fresh Wharf) with more engineers


def _mmc(path, out, *more: str) -> list[str]:
    args = ["run", str(path), "--set", "horizon_weeks=3", "--reps", "3", "--workers", "1"]
    return [*args, *more, "--out", str(out), "-q"]


@pytest.fixture(scope="module")
def whatif(tmp_path_factory):
    """The base, then a one-desk what-if of the default (2 weeks, 2 replications)."""
    root = tmp_path_factory.mktemp("whatif")
    cache = ["--cache", str(root / "cache")]
    assert main(["run", *SHORT, *cache, "--out", str(root / "base"), "-q"]) == 0
    calls = []
    real = components.simulate_component

    def counted(*args, **kwargs):
        calls.append(([s.name for s in args[0].sites], args[0].name))
        return real(*args, **kwargs)

    components.simulate_component = counted
    try:
        assert main(["run", *SHORT, *cache, "--set", MORE, "--out", str(root / "w"), "-q"]) == 0
    finally:
        components.simulate_component = real
    return root, calls


def test_a_what_if_run_writes_paired_differences_per_desk_popup_and_pooled_group(whatif):
    root, _ = whatif
    c = pd.read_csv(root / "w" / "comparison.csv")
    assert list(c.columns) == COMPARISON_COLUMNS
    assert set(c["site_kind"]) == {"desk", "pooled", "popup"}
    assert {"ALL", "ALL_DESKS", "ALL_POPUPS", "Fresh Wharf"} <= set(c["site"])
    base = pd.read_csv(root / "base" / "summary.csv").set_index(["site", "metric"])
    new = pd.read_csv(root / "w" / "summary.csv").set_index(["site", "metric"])
    row = c.set_index(["site", "metric"]).loc[("Fresh Wharf", "engineer_days_per_year")]
    assert row["base_mean"] == pytest.approx(base.loc[row.name, "mean"])
    assert row["scenario_mean"] == pytest.approx(new.loc[row.name, "mean"])
    assert row["diff_mean"] > 0 and row["direction"] == 0 and row["verdict"] == "changed"
    cost = c.set_index(["site", "metric"]).loc[("Fresh Wharf", "cost_engineers_gbp_per_year")]
    assert cost["significant"] and cost["verdict"] == "worse"
    untouched = c[(c["site"] == "North West") & (c["metric"] == "walkins")].iloc[0]
    assert untouched["diff_mean"] == 0 and untouched["verdict"] == "no change"
    m = json.loads((root / "w" / "manifest.json").read_text())
    assert m["compared_with"] == {"scenario": "met_2019", "seed": 1, "replications": 2}


def test_the_base_of_a_what_if_comes_from_the_store_when_already_run(whatif):
    _, calls = whatif
    # only the what-if ran, and of it only the component of the desk it changes (its base and
    # every other component were served from the store)
    assert calls == [(["Fresh Wharf"], "horizon_weeks=2, sites.0.engineers=5")] * 2


def test_a_run_without_overrides_has_no_comparison(whatif):
    root, _ = whatif
    assert not (root / "base" / "comparison.csv").exists()


def test_changes_come_significant_first_desks_before_popups_largest_relative_first():
    c = pd.DataFrame(
        {
            "site": ["pop", "d1", "ALL", "d2", "d3"],
            "site_kind": ["popup", "desk", "pooled", "desk", "desk"],
            "metric": ["wait_mean_min"] * 5,
            "diff_mean": [5.0, 1.0, 2.0, 3.0, 9.0],
            "relative_change": [0.9, 0.1, 0.2, 0.3, 0.9],
            "significant": [True, True, True, True, False],
        }
    )
    assert list(changes_first(c)["site"]) == ["d2", "d1", "ALL", "pop", "d3"]


def test_the_terminal_shows_significant_changes_marked_by_direction_in_100_columns(
    tmp_path, mmc_path, capsys
):
    assert main(_mmc(mmc_path, tmp_path / "b")) == 0
    capsys.readouterr()
    args = _mmc(mmc_path, tmp_path / "w", "--set", "sites.0.engineers=4")
    assert main([a for a in args if a != "-q"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 100 for line in out.splitlines())
    changes = out[out.index("Significant changes from mmc") : out.index("own results")]
    lines = [ln for ln in changes.splitlines() if ln.startswith("desk ")]
    assert lines and all(ln.rstrip().endswith(("better", "WORSE", "changed")) for ln in lines)
    assert any("Mean wait of those seen" in ln and ln.endswith("better") for ln in lines)


def test_compare_of_two_folders_matches_the_what_if_comparison(tmp_path, mmc_path, capsys):
    assert main(_mmc(mmc_path, tmp_path / "b")) == 0
    assert main(_mmc(mmc_path, tmp_path / "w", "--set", "sites.0.engineers=4")) == 0
    table = tmp_path / "c.csv"
    args = ["compare", str(tmp_path / "b"), str(tmp_path / "w"), "--csv", str(table)]
    assert main(args) == 0
    got = pd.read_csv(table).drop(columns="scenario")
    want = pd.read_csv(tmp_path / "w" / "comparison.csv").drop(columns="scenario")
    pd.testing.assert_frame_equal(got, want)
    assert "Significant changes from" in capsys.readouterr().out
    api = sim.compare(tmp_path / "b", tmp_path / "w")
    pd.testing.assert_frame_equal(api.drop(columns="scenario"), want)


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (["--seed", "2"], "different seeds (1 and 2)"),
        (["--reps", "2"], "different replications (3 and 2)"),
        (["--set", "horizon_weeks=4"], "different horizon_weeks (3 and 4)"),
    ],
)
def test_compare_refuses_folders_that_cannot_be_paired(tmp_path, mmc_path, capsys, other, reason):
    assert main(_mmc(mmc_path, tmp_path / "a")) == 0
    assert main([*_mmc(mmc_path, tmp_path / "b"), *other]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "cannot compare" in err and reason in err


def test_compare_refuses_what_is_not_a_run_folder(tmp_path, mmc_path, capsys):
    assert main(_mmc(mmc_path, tmp_path / "a")) == 0
    (tmp_path / "empty").mkdir()
    for other, reason in (("nowhere", "no such folder"), ("empty", "manifest.json")):
        assert main(["compare", str(tmp_path / "a"), str(tmp_path / other)]) == 2
        assert reason in capsys.readouterr().err
    with pytest.raises(sim.ScenarioError, match="no such folder"):
        sim.compare(tmp_path / "a", tmp_path / "nowhere")


def test_the_report_of_a_what_if_shows_the_per_desk_comparison_coloured(whatif):
    root, _ = whatif
    sim.report(root / "w")
    html = (root / "w" / "report.html").read_text()
    assert "Changes from the base by desk" in html and "What changed" in html
    section = html[html.index('id="comparison-by-desk"') :]
    assert "Fresh Wharf" in section and 'class="better"' in section
    import openpyxl

    ws = openpyxl.load_workbook(root / "w" / "report.xlsx")["Comparison with base"]
    header = [c.value for c in ws[1]]
    assert "verdict" in header and ws[2][header.index("significant")].value is True
    assert sum(len(cf.rules) for cf in ws.conditional_formatting) == 2  # better, worse


def test_a_sweep_lists_each_scenarios_changes_by_desk(tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'name = "two"\nset = ["horizon_weeks=2"]\nreps = 2\n'
        '[[scenarios]]\nname = "more at Fresh Wharf"\nset = ["sites.0.engineers=5"]\n'
    )
    assert main(["sweep", str(exp), "--workers", "1", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 100 for line in out.splitlines())
    by_desk = out[out.index("By desk and pop-up") :]
    assert "more at Fresh Wharf:" in by_desk and "Fresh Wharf " in by_desk
    c = pd.read_csv(tmp_path / "s" / "comparison.csv")
    assert list(c.columns) == COMPARISON_COLUMNS and "popup" in set(c["site_kind"])


def test_a_scenario_file_naming_a_base_is_found_beside_it_or_by_name(tmp_path, mmc_path):
    from sim.cli.commands import file_base

    (tmp_path / "b.toml").write_text(mmc_path.read_text())
    child = tmp_path / "child.toml"
    child.write_text('base = "b.toml"\nname = "child"\n')
    assert file_base(child) == tmp_path / "b.toml"
    child.write_text('base = "met_2019"\n')
    assert file_base(child) == "met_2019"
    assert file_base(mmc_path) is None and file_base(None) is None
