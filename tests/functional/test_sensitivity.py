"""Sensitivity analyses: paired with the base by common random numbers, switching values equal
to the closed form where the net benefit is linear in the input, a reproducible probabilistic
analysis, and bad ranges refused with exit 2 naming the key."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.runner import run
from sim.experiment.sensitivity import (
    NET_BENEFIT,
    latin_hypercube,
    one_at_a_time,
    probabilistic,
    switching_values,
)
from sim.kpis import ALL
from sim.scenario import load_scenario
from sim.scenario.uncertainty import check_ranges, resolved_data

SHORT = {"horizon_weeks": 2}
SEED, REPS = 3, 2


@pytest.fixture(scope="module")
def base():
    return resolved_data(load_scenario(overrides=SHORT))


@pytest.fixture(scope="module")
def ranges(base):
    entries = [
        ("value.gbp_per_officer_hour", {"low": 0, "high": 60}),
        ("value.hours_lost_per_downtime_day", {"low": 0, "high": 4}),
        ("service.patience_min.mean", {"low": 10, "high": 60}),
    ]
    return check_ranges([(k, {**e, "reason": "test"}) for k, e in entries], base)


@pytest.fixture(scope="module")
def oat(base, ranges):
    return one_at_a_time(base, ranges, SEED, REPS, workers=1, store=None)


def test_money_inputs_change_no_simulated_output_under_common_random_numbers(oat):
    t = oat.tornado()
    money = t[t["input"].str.startswith("value.") & (t["output"] == "service_level")]
    assert (money["swing_mean"] == 0).all() and (money["swing_ci_low"] == 0).all()
    assert (t.groupby("output")["rank"].min() == 1).all()


def test_switching_values_equal_the_closed_form_where_net_benefit_is_linear(base, ranges, oat):
    scenario = load_scenario(overrides=SHORT)
    kpis = run(scenario, SEED, REPS, workers=1).kpis
    at_all = kpis[kpis["site"] == ALL].groupby("metric")["value"].mean()
    nb, value = at_all[NET_BENEFIT], at_all["value_saved_gbp_per_year"]
    # net benefit = nb + value × (x / x0 − 1): zero at x = x0 (1 − nb / value)
    closed = {
        "value.gbp_per_officer_hour": 36.51 * (1 - nb / value),
        "value.hours_lost_per_downtime_day": 1.0 * (1 - nb / value),
    }
    sw = switching_values(base, oat, workers=1).set_index("input")
    for key, expected in closed.items():
        assert sw.loc[key, "switching_value"] == pytest.approx(expected, rel=1e-6)
        assert "unless" in sw.loc[key, "sentence"]


def test_a_search_without_a_crossing_says_none_within_the_range(base, ranges, oat):
    sw = switching_values(base, oat, target=-1e12, workers=1).set_index("input")
    assert sw["switching_value"].isna().all()
    assert "no switching value" in sw.loc["service.patience_min.mean", "sentence"]


def test_probabilistic_design_is_reproducible_from_the_seed(base, ranges):
    a, b = latin_hypercube(ranges, 6, 7), latin_hypercube(ranges, 6, 7)
    pd.testing.assert_frame_equal(a, b)
    for j, r in enumerate(ranges):  # a Latin hypercube: one sample in each sixth of the range
        u = (a.iloc[:, j] - r.low) / (r.high - r.low)
        assert sorted((u * 6).astype(int).clip(0, 5)) == list(range(6))


def test_probabilistic_summary_splits_input_uncertainty_from_noise(base, ranges):
    psa = probabilistic(base, ranges, 8, SEED, REPS, outputs=[NET_BENEFIT], workers=1)
    s = psa.summary().iloc[0]
    assert s["samples"] == 8 and 0 <= s["p_above_target"] <= 1
    assert s["p_low"] <= s["mean"] <= s["p_high"]
    assert s["input_share"] + s["noise_share"] == pytest.approx(1)
    imp = psa.importance()
    assert list(imp["rank"]) == [1, 2, 3] and set(imp["input"]) == {r.key for r in ranges}
    # any sample is reproducible from (seed, sample index): its own replications
    from sim.experiment.runner import one_replication
    from sim.experiment.sensitivity import PSA_STRIDE
    from sim.scenario.uncertainty import scenario_at

    i = 5
    values = list(psa.design.iloc[i])
    alone = scenario_at(base, list(zip(ranges, values, strict=True)), "alone")
    k = one_replication(alone, SEED, i * PSA_STRIDE + 1).kpis
    expected = k[(k["site"] == ALL) & (k["metric"] == NET_BENEFIT)]["value"].item()
    got = psa.results[psa.results["sample"] == i][NET_BENEFIT].iloc[1]
    assert got == expected


def test_cli_writes_tornado_switching_and_psa_tables(tmp_path):
    ranges = tmp_path / "r.toml"
    ranges.write_text(
        "[uncertainty]\n"
        '"value.gbp_per_officer_hour" = { low = 0, high = 60, reason = "t" }\n'
        '"costs.sd_usd_per_call" = { low = 10, high = 40, reason = "t" }\n'
    )
    out = tmp_path / "s"
    argv = ["sensitivity", "--set", "horizon_weeks=1", "--ranges", str(ranges), "--reps", "2"]
    argv += ["--psa", "4", "--workers", "1", "--out", str(out), "--quiet"]
    argv += ["--switch", "service_level=0.5"]
    assert main(argv) == 0
    assert set(pd.read_csv(out / "switching.csv")["output"]) == {"service_level"}
    for name in ("tornado.csv", "switching.csv", "psa_summary.csv", "tornado_npv_gbp.png"):
        assert (out / name).exists()
    assert main(argv) == 0  # again, from the results store, into the same folder
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert 'id="sensitivity"' in page and "Switching values" in page and "P(&gt; 0)" in page
    assert "P(net benefit &gt; 0) = " in page and "simulation noise" in page
    assert page.count("over the samples</figcaption>") == 2  # histogram and CDF
    fit = pd.read_csv(out / "fit_by_input.csv").set_index("input")
    assert set(fit["trial_fit"]) == {"not in the fit"}  # money inputs: the trial never reads them
    from openpyxl import load_workbook

    book = load_workbook(out / "report.xlsx")
    assert {"Costs", "Sensitivity", "Switching values", "Uncertainty"} <= set(book.sheetnames)
    costs = {row[1]: row[2] for row in book["Costs"].iter_rows(values_only=True)}
    assert costs["costs.discount_rate"] == 0.035


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ('"value.hours_lost_per_downtime_day" = { low = 3, high = 2, reason = "t" }', "value."),
        ('"value.hours_lost_per_downtime_day" = { low = 2, high = 3, reason = "t" }', "value."),
        ('"service.at_close" = { low = 0, high = 1, reason = "t" }', "service.at_close"),
        ('"value.no_such_input" = { low = 0, high = 1, reason = "t" }', "value.no_such_input"),
    ],
)
def test_cli_bad_range_exits_2_naming_the_key(tmp_path, capsys, entry, key):
    ranges = tmp_path / "r.toml"
    ranges.write_text(f"[uncertainty]\n{entry}\n")
    argv = ["sensitivity", "--ranges", str(ranges), "--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"'{key}" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_api_sensitivity_takes_ranges_as_data_and_writes_the_folder(tmp_path):
    import sim

    result = sim.sensitivity(
        overrides={"horizon_weeks": 1},
        ranges={"costs.desk_gbp_per_year": {"low": 2000, "high": 15000, "reason": "t"}},
        reps=2,
    )
    t = result.summary()
    nb = t[t["output"] == NET_BENEFIT].iloc[0]
    assert nb["swing_mean"] < 0 and nb["swing_ci_low"] == pytest.approx(nb["swing_mean"])
    out = result.write(tmp_path / "s")
    assert (out / "tornado.csv").exists() and (out / "switching.csv").exists()


def test_money_variants_share_a_simulation_and_equal_their_own_replications(base, tmp_path):
    from sim.experiment.runner import one_replication
    from sim.experiment.sensitivity import replicate_variants, run_points, simulation_key
    from sim.experiment.store import ResultStore
    from sim.scenario.uncertainty import scenario_at

    (r,) = check_ranges([("costs.sd_usd_per_call", {"low": 10, "high": 40, "reason": "t"})], base)
    (p,) = check_ranges(
        [("service.patience_min.mean", {"low": 10, "high": 60, "reason": "t"})], base
    )
    points = [
        scenario_at(base, [], "b"),
        scenario_at(base, [(r, 40.0)], "money"),
        scenario_at(base, [(p, 10.0)], "patience"),
    ]
    assert simulation_key(points[0]) == simulation_key(points[1]) != simulation_key(points[2])
    shared = replicate_variants(tuple(points[:2]), SEED, 1)
    for s, out in zip(points[:2], shared, strict=True):
        own = one_replication(s, SEED, 1)
        for name in ("kpis", "queue_by_hour", "weekly", "waits", "stock"):
            pd.testing.assert_frame_equal(getattr(out, name), getattr(own, name))
    store = ResultStore(tmp_path / "cache")
    one = run_points(points, SEED, 2, workers=1, store=store)
    two = run_points(points, SEED, 2, workers=2, store=None)
    again = run_points(points, SEED, 2, workers=1, store=store)  # all from the store
    for a, b, c in zip(one, two, again, strict=True):
        for x, y, z in zip(a, b, c, strict=True):
            pd.testing.assert_frame_equal(x.kpis, y.kpis)
            pd.testing.assert_frame_equal(x.kpis, z.kpis)


@pytest.mark.parametrize("switch", ["no_such_kpi=0", "service_level", "service_level=high"])
def test_cli_bad_switch_exits_2_naming_it(tmp_path, capsys, switch):
    argv = ["sensitivity", "--switch", switch, "--out", str(tmp_path / "o"), "--quiet"]
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_shared_simulations_are_identical_on_a_dask_cluster(base):
    distributed = pytest.importorskip("distributed")
    from sim.experiment.sensitivity import run_points
    from sim.scenario.uncertainty import scenario_at

    (r,) = check_ranges([("costs.sd_usd_per_call", {"low": 10, "high": 40, "reason": "t"})], base)
    points = [scenario_at(base, [], "b"), scenario_at(base, [(r, 10.0)], "money")]
    serial = run_points(points, SEED, 2, workers=1)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = run_points(points, SEED, 2, dask=cluster.scheduler_address)
    for a, b in zip(serial, on_dask, strict=True):
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x.kpis, y.kpis)


def test_switching_sentences_give_each_input_its_unit(base, ranges, oat):
    from sim.experiment.sensitivity import with_units
    from sim.report.assumptions import unit_of

    sw = with_units(switching_values(base, oat, workers=1), unit_of).set_index("input")
    assert sw.loc["value.gbp_per_officer_hour", "unit"] == "£ per hour"
    assert sw.loc["service.patience_min.mean", "unit"] == "minutes"
    hours = sw.loc["value.hours_lost_per_downtime_day"]
    x = hours["switching_value"]
    assert f"below {x:.4g} hours per day ({x * 60:.0f} minutes)" in hours["sentence"]
    assert "(it is 1 hours per day;" in hours["sentence"]


def test_the_trial_fit_is_held_and_its_drift_is_paired_with_the_fit(base):
    from sim.experiment.fit_drift import (
        FITTED,
        HELD,
        NOT_IN_FIT,
        drift,
        one_at_a_time_points,
        trial_fit,
    )
    from sim.scenario import load_whatif

    trial = load_whatif("met_trial_2018", {"horizon_weeks": 4})[0]
    entries = [
        ("value.gbp_per_officer_hour", {"low": 0, "high": 60}),
        ("service.patience_min.mean", {"low": 10, "high": 60}),
        ("categories.laptop.sd_resolution_days.mean", {"se": 0.05}),
    ]
    rs = check_ranges([(k, {**e, "reason": "t"}) for k, e in entries], base)
    fit = trial_fit(trial, rs)
    assert [fit.treatment[r.key] for r in rs] == [NOT_IN_FIT, HELD, FITTED]
    t = drift(fit, one_at_a_time_points(fit, rs), SEED, REPS, "one at a time", {"workers": 1})
    assert set(t["input"]) == {"", "service.patience_min.mean", rs[2].key}  # money: not run
    base_rows = t[t["level"] == "base"].set_index("metric")
    for _, row in t.iterrows():  # drift = simulated − published; change = paired with the fit
        assert row["drift"] == pytest.approx(row["simulated_mean"] - row["published"])
        assert row["change_from_fit"] == pytest.approx(
            row["simulated_mean"] - base_rows.loc[row["metric"], "simulated_mean"]
        )
    laptop = t[(t["input"] == rs[2].key) & (t["metric"] == "downtime_saved_days_per_ticket_laptop")]
    # a longer service-desk route for laptops saves more downtime per laptop ticket
    assert (
        laptop.set_index("level").loc["high", "drift"]
        > laptop.set_index("level").loc["low", "drift"]
    )
