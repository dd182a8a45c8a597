"""``techbar sensitivity``: one at a time with switching values, and optionally probabilistic."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sim.cli.commands import _check_work, _heading, _load, _prepare, _where, _write, quiet
from sim.cli.console import WIDTH, wrap
from sim.experiment import limits
from sim.experiment.calibrate import TRIAL_SCENARIO
from sim.experiment.fit_drift import (
    ONE_AT_A_TIME,
    PROBABILISTIC,
    drift,
    fit_tables,
    one_at_a_time_points,
    sample_points,
    trial_fit,
)
from sim.experiment.sensitivity import (
    NET_BENEFIT,
    OUTPUTS,
    Probabilistic,
    one_at_a_time,
    probabilistic,
    switching_values,
    tables,
    with_units,
)
from sim.experiment.sweep import known_metric
from sim.report.assumptions import register_for, unit_of
from sim.report.run_folder import provenance, run_tables, write_file_atomically
from sim.report.words import percent
from sim.scenario import ScenarioError, load_whatif, scenario_to_dict
from sim.scenario.uncertainty import default_ranges_path, load_ranges, resolved_data

TOP = 10  # inputs shown per output in the terminal


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def parse_switch(text: str) -> tuple[str, float]:
    """'KPI=VALUE' → (KPI, VALUE): the output whose switching values are searched, and where."""
    kpi, sep, raw = text.partition("=")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not sep or value != value or abs(value) == float("inf"):
        raise ScenarioError(
            f"--switch '{text}': expected KPI=VALUE, e.g. net_benefit_gbp_per_year=0 or "
            "service_level=0.8"
        )
    return known_metric(kpi.strip()), value


def _gbp(x: float) -> str:
    return f"−£{-x:,.0f}" if x < 0 else f"£{x:,.0f}"


def format_sensitivity(
    tornado: pd.DataFrame, switching: pd.DataFrame, psa: pd.DataFrame | None, reps: int
) -> str:
    lines = [
        wrap(
            f"One at a time, paired with the base over {reps} replications (common random "
            "numbers): each output's largest swings (high − low, with the 95% CI)."
        )
    ]
    for output, t in tornado.groupby("output", sort=False):
        lines += ["", f"{output}: base {_number(t['base_mean'].iloc[0])}"]
        for _, r in t.head(TOP).iterrows():
            label = r["input"] + (" ×" if r["scale"] else "")
            ci = f"[{_number(r['swing_ci_low'])}, {_number(r['swing_ci_high'])}]"
            text = f"  {r['rank']:>2} {label[:48]:<48} {_number(r['swing_mean']):>12} {ci}"
            lines.append(text[:WIDTH])
    if len(switching):
        first = switching.iloc[0]
        lines += ["", f"Switching values ({first['output']} at {first['target']:g}):"]
    found = switching[switching["within_range"]]
    lines += [wrap("  " + s) for s in found["sentence"]]
    none = switching.loc[~switching["within_range"], "input"]
    if len(none):
        lines.append(wrap("  none within the range of: " + ", ".join(none)))
    if psa is not None:
        for _, p in psa[psa["output"] == NET_BENEFIT].iterrows():
            lines += [
                "",
                wrap(
                    f"Probabilistic: {p['samples']} samples × {p['replications_per_sample']} "
                    f"replications: mean net benefit {_gbp(p['mean'])} a year, "
                    f"{p['interval']:.0%} interval {_gbp(p['p_low'])} to {_gbp(p['p_high'])}; "
                    f"P(net benefit > 0) = {percent(p['p_above_target'])}; "
                    + (
                        f"{percent(p['input_share'])} of the spread is input uncertainty, "
                        f"{percent(p['noise_share'])} simulation noise."
                        if pd.notna(p["input_share"])
                        else "(2 or more --psa-reps split the spread into input and noise)."
                    )
                ),
            ]
    return "\n".join(lines)


def _sensitivity(args: argparse.Namespace, argv: list[str] | None) -> int:
    scenario, record = _load(args)
    base = resolved_data(scenario)
    path = args.ranges or default_ranges_path(args.scenario)
    if path is None:
        raise ScenarioError(
            "no ranges for this scenario: give --ranges FILE (an [uncertainty] table; see "
            "sim/scenarios/met_2019.uncertainty.toml)"
        )
    ranges = load_ranges(path, base)
    seed = 1 if args.seed is None else args.seed
    reps = args.reps or 10
    _check_work(args, [scenario], reps)
    if args.psa:  # every sample's replications count against the limit on replications
        limits.check_replications(args.psa * args.psa_reps, "--psa × --psa-reps")
    out_dir, options = _prepare(args, scenario.name, "sensitivity")
    t0 = time.perf_counter()
    switch_on, switch_at = parse_switch(args.switch)
    outputs = (*OUTPUTS, switch_on) if switch_on not in OUTPUTS else OUTPUTS
    oat = one_at_a_time(base, ranges, seed, reps, outputs, **options)
    switching = switching_values(base, oat, target=switch_at, output=switch_on, **options)
    switching = with_units(switching, unit_of)
    fit = trial_fit(load_whatif(args.trial or TRIAL_SCENARIO)[0], ranges)
    drifts = [drift(fit, one_at_a_time_points(fit, ranges), seed, reps, ONE_AT_A_TIME, options)]
    psa = None
    if args.psa:
        psa = probabilistic(base, ranges, args.psa, seed, args.psa_reps, **options)
        points = sample_points(fit, ranges, psa.design)
        drifts.append(drift(fit, points, seed, args.psa_reps, PROBABILISTIC, options))
    out = tables(ranges, oat, switching, psa)
    out.update(fit_tables(fit, ranges, pd.concat(drifts, ignore_index=True)))
    if oat.base_run is not None:  # the base as a run folder has it: `techbar report` reads it
        out.update(run_tables(oat.base_run))
    out["assumptions.csv"] = register_for(args.scenario, scenario, args.overrides)
    meta = {
        "scenario_name": scenario.name,
        **record,
        "ranges_file": str(path),
        "seed": seed,
        "replications": reps,
        "switch": {"output": switch_on, "target": switch_at},
        "points_one_at_a_time": 1 + 2 * len(ranges),
        "trial_fit": {"scenario": fit.trial.name, "method": "held: drift reported per point"},
        **({"psa_samples": args.psa, "psa_replications": args.psa_reps} if psa else {}),
        **provenance(time.perf_counter() - t0, argv),
        "scenario": scenario_to_dict(scenario),
    }
    _write(out_dir, out, meta, options["store"])
    _figures(out_dir, out["tornado.csv"], psa)
    if not quiet(args):
        print(_heading(scenario, record))
        print(format_sensitivity(out["tornado.csv"], switching, out.get("psa_summary.csv"), reps))
        print()
    _where(out_dir)
    return 0


def _figures(out_dir: Path, tornado: pd.DataFrame, psa: Probabilistic | None) -> None:
    from sim.report.sensitivity_plots import figures  # plotting loads only when drawing

    means = psa.sample_means(NET_BENEFIT) if psa is not None else None
    for name, png in figures(tornado, means, NET_BENEFIT).items():
        write_file_atomically(out_dir / name, _writer(png))


def _writer(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    return write
