"""What-ifs end to end: service-wide `--set`, names in the folder, manifest, report title and
terminal; `sweep --set`; the same through the Python API; bad input writes nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import sim
from sim.cli import main

SHORT = ["--set", "horizon_weeks=2", "--reps", "2", "--workers", "1", "--no-cache"]
EA = 'sites[bcu="East Area (EA)"].engineers=3'


def _manifest(folder) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_a_named_what_if_names_its_folder_summary_manifest_and_terminal(tmp_path, capsys):
    args = ["run", *SHORT, "--set", EA, "--set", "sites.*.open=08:00"]
    assert main([*args, "--name", "3 engineers in East Area"]) == 0
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert folder.name.startswith("3-engineers-in-east-area-")
    m = _manifest(folder)
    assert m["scenario_name"] == "3 engineers in East Area"
    assert m["whatif"]["name"] == "3 engineers in East Area" and m["whatif"]["base"] == "met_2019"
    overrides = {o["key"]: o for o in m["whatif"]["overrides"]}
    assert overrides[EA.split("=3")[0]]["applied_to"] == ["sites.0.engineers"]
    assert overrides["sites.*.open"]["applied_to"] == [f"sites.{i}.open" for i in range(7)]
    assert overrides["sites.*.open"]["value"] == "08:00"
    assert (
        m["scenario"]["sites"][0]["engineers"] == 3 and m["scenario"]["sites"][6]["open"] == "08:00"
    )
    assert set(pd.read_csv(folder / "summary.csv")["scenario"]) == {"3 engineers in East Area"}
    register = pd.read_csv(folder / "assumptions.csv").set_index("key")
    assert register.loc["sites.3.open", "label"] == "[set]"
    assert register.loc["sites.1.engineers", "label"] != "[set]"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("What-if '3 engineers in East Area': met_2019 with horizon_weeks=2")
    assert out[-1] == f"results in {folder.relative_to(tmp_path)}"


def test_without_a_name_the_what_if_is_named_after_its_overrides(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", *SHORT, "--set", "sites.*.swap_stock.laptop=1", "--out", str(out)]) == 0
    m = _manifest(out)
    assert m["whatif"]["name"] == "horizon_weeks=2, sites.*.swap_stock.laptop=1"
    assert m["scenario_name"] == m["whatif"]["name"]
    assert {s["swap_stock"]["laptop"] for s in m["scenario"]["sites"]} == {1}
    assert "What-if: met_2019 with horizon_weeks=2, sites.*.swap_stock.laptop=1" in (
        capsys.readouterr().out
    )


def test_the_report_title_names_the_what_if(tmp_path):
    out = sim.run(overrides={"horizon_weeks": 2, "sites.*.open": "08:00"}, reps=2, name="Early")
    folder = out.write(tmp_path / "r")
    _, html = sim.report(folder)
    text = html.read_text()
    assert "<h1>Tech Bar simulation — what-if &#39;Early&#39; of met_2019</h1>" in text
    assert "<code>sites.*.open=08:00</code>" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", 'sites[bcu="Nowhere"].engineers=3'], 'sites[bcu="Nowhere"].engineers: no entry'),
        (["--set", "sites.*.engneers=3"], "unknown key 'sites.0.engneers' (and 6 more"),
        (["--set", "sites.*.open=25:00"], "(set by --set sites.*.open)"),
        (["--set", "sites[bcu=x.open=1"], "is not closed"),
        (["--name", ""], "--name: the name is empty"),
        (["--name", "a\nb"], "--name: the name holds a line break"),
        (["--name", "one", "--set", "name=two"], "disagree"),
    ],
)
def test_bad_what_ifs_exit_2_naming_the_key_and_write_nothing(tmp_path, capsys, args, message):
    assert main(["run", *SHORT, *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") <= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_wildcard_matching_nothing_in_a_file_without_pop_ups_exits_2(tmp_path, mmc_path, capsys):
    assert main(["run", str(mmc_path), "--set", "popups.*.engineers=2", "--out", "o"]) == 2
    err = capsys.readouterr().err
    assert "--set popups.*.engineers: 'popups.*' matches nothing: 'popups' is empty" in err
    assert not (tmp_path / "o").exists()


GRID = """
name = "stock"
base = "{base}"
set = ["horizon_weeks=2", "warmup_weeks=0"]
reps = 2

[grid]
"sites.0.engineers" = [2, 3]
"""


def test_sweep_set_changes_the_base_of_every_scenario_and_is_recorded(tmp_path, mmc_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(GRID.format(base=mmc_path))
    args = ["sweep", str(exp), "--set", "sites.*.walkin_rate_per_hour=2", "--out", "sw"]
    assert main([*args, "--no-cache", "--workers", "1"]) == 0
    m = _manifest(tmp_path / "sw")
    assert {s["sites"][0]["walkin_rate_per_hour"] for s in m["scenarios"].values()} == {2.0}
    assert m["base_overrides"] == [
        {
            "key": "sites.*.walkin_rate_per_hour",
            "value": 2,
            "applied_to": ["sites.0.walkin_rate_per_hour"],
        }
    ]
    assert "base changed by --set sites.*.walkin_rate_per_hour=2" in capsys.readouterr().out
    bad = ["sweep", str(exp), "--set", 'sites[name="nowhere"].engineers=1', "--out", "bad"]
    assert main([*bad, "--no-cache"]) == 2
    assert "no entry of 'sites' has name = \"nowhere\"" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_the_api_takes_the_same_keys_and_records_the_what_if(tmp_path, mmc_path):
    r = sim.run(
        mmc_path,
        overrides={"horizon_weeks": 2, 'sites[name="desk"].engineers': 4},
        reps=2,
        name="four",
    )
    assert r.scenario.sites[0].engineers == 4 and r.scenario.name == "four"
    m = _manifest(r.write(tmp_path / "api"))
    assert m["whatif"]["overrides"][1]["applied_to"] == ["sites.0.engineers"]
    exp = tmp_path / "exp.toml"
    exp.write_text(GRID.format(base=mmc_path))
    w = sim.sweep(exp, overrides={"sites.*.walkin_rate_per_hour": 2})
    assert {s.sites[0].walkin_rate_per_hour for s in w.output.plan.scenarios} == {2}
    assert _manifest(w.write(tmp_path / "sw"))["base_overrides"][0]["key"] == (
        "sites.*.walkin_rate_per_hour"
    )
    with pytest.raises(sim.ScenarioError, match="matches nothing"):
        sim.run(mmc_path, overrides={"popups.*.engineers": 1}, reps=2)
