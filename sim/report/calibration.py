"""The reports of a calibration folder (``techbar calibrate``): which inputs were fitted to which
trial figures, by which method, whether the fit converged and in how many steps, the fitted values
with their standard errors, the residuals, the first-time-fix rise in both readings and the
iterations. One view for the page (``sections/calibration.html.j2``), the executive summary (the
page's and the workbook's Summary sheet) and the workbook's Calibration iterations sheet (its
Calibration and Calibration residuals sheets are the folder's tables, as for a backtest)."""

from __future__ import annotations

import math

import pandas as pd

from sim.report.folder import RunFolder

RISE_METRICS = {
    "ftf_rise_points": ("points", "percentage points over the service desk's rate"),
    "ftf_rise_relative": ("relative", "per cent of the service desk's rate"),
}


def _num(x: object, decimals: int = 4, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{float(x):{'+' if sign else ''},.{decimals}f}"  # type: ignore[arg-type]


def _fitted_to(params: pd.DataFrame) -> list[str]:
    """The trial figure each input was fitted to: the folder's own column, or (a folder written
    before it recorded one) the fit's fixed pairing of inputs and figures."""
    if "fitted_to" in params.columns:
        return [str(x) for x in params["fitted_to"].fillna("")]
    from sim.experiment.calibrate import FITTED_TO, PARAMETERS

    figure = {name: f.figure for (name, _, _), f in zip(PARAMETERS, FITTED_TO, strict=True)}
    return [figure.get(str(p), "") for p in params["parameter"]]


def _figures(res: pd.DataFrame) -> pd.DataFrame:
    """The residuals' rows of the figures fitted (not the first-time-fix rise's readings)."""
    return res[~res["metric"].isin(RISE_METRICS)]


def rise_rows(res: pd.DataFrame) -> list[dict]:
    """The first-time-fix rise over the service desk's own rate in both readings, a model output
    (the reading fitted to has a target)."""
    out = []
    for r in res[res["metric"].isin(RISE_METRICS)].to_dict("records"):
        reading, unit = RISE_METRICS[r["metric"]]
        word = "points" if reading == "points" else "%"
        target = r["target"]
        out.append(
            {
                "reading": reading,
                "rise": f"{r['simulated_mean'] * 100:+.1f} {word}",
                "se": _num(r["se"] * 100, 2),
                "target": "not fitted"
                if pd.isna(target)
                else f"fitted to {target * 100:+.0f} {word}",
                "unit": unit,
            }
        )
    return out


def iterations_table(run: RunFolder) -> pd.DataFrame | None:
    """Newton's steps from the record: each step's inputs and the residual of each figure."""
    history = run.calibration.get("history")
    params, res = run.get("calibration"), run.get("calibration_residuals")
    if not history or params is None or res is None:
        return None
    names = [str(p) for p in params["parameter"]]
    figures = [str(m) for m in _figures(res)["metric"]]
    rows: list[dict[str, object]] = []
    for step in history:
        theta, residual = step.get("theta", []), step.get("residual", [])
        row: dict[str, object] = {"iteration": step.get("iteration", len(rows))}
        row.update(
            {n: float(v) for n, v in zip(_labels(names, len(theta), "input"), theta, strict=True)}
        )
        row.update(
            {
                f"residual {m}": float(v)
                for m, v in zip(_labels(figures, len(residual), "figure"), residual, strict=True)
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _labels(names: list[str], n: int, what: str) -> list[str]:
    return names if len(names) == n else [f"{what} {i + 1}" for i in range(n)]


def calibration_summary(run: RunFolder) -> list[str]:
    """The executive summary of a calibration folder, in sentences."""
    params, res, rec = run.get("calibration"), run.get("calibration_residuals"), run.calibration
    if params is None or res is None:
        return []
    seed, reps = run.manifest.get("seed", rec.get("seed")), run.manifest.get("replications")
    reps = reps if reps is not None else rec.get("replications")
    pairs = "; ".join(
        f"{r['sets']} ({r['parameter']}) to {to}"
        for r, to in zip(params.to_dict("records"), _fitted_to(params), strict=True)
    )
    out = [
        f"{len(params)} inputs with no published value were fitted on the trial scenario "
        f"{run.name} to the trial figures, at seed {seed} with {reps} replications per "
        f"evaluation: {pairs}."
    ]
    if rec.get("method"):
        out.append(f"Method: {rec['method']}.")
    steps, evaluations = rec.get("iterations"), rec.get("evaluations")
    done = f"{steps} Newton step{'s' if steps != 1 else ''} ({evaluations} evaluations)"
    if rec.get("converged") is True:
        out.append(
            f"The fit converged after {done}: every residual is below a tenth of its standard "
            "error or 0.001."
        )
    elif rec.get("converged") is False:
        out.append(
            f"The fit did NOT converge in {done}: the values below are its last step's; run it "
            "again with more replications."
        )
    fitted = "; ".join(
        f"{r['parameter']} {_num(r['value'])} ± {_num(r['se'])} {r['unit']} "
        f"(from {_num(r['start'])})"
        for r in params.to_dict("records")
    )
    out.append(f"Fitted values ± standard errors (delta method): {fitted}.")
    figs = _figures(res)
    worst = figs.assign(z=(figs["residual"] / figs["se"]).abs()).dropna(subset=["z"])
    if len(worst):
        w = worst.loc[worst["z"].idxmax()]
        out.append(
            f"The largest residual, relative to its standard error, is that of {w['figure']}: "
            f"{_num(w['residual'], sign=True)} against a standard error of {_num(w['se'])}."
        )
    rise = res.set_index("metric")
    if {"ftf_rate", *RISE_METRICS} <= set(rise.index):
        ftf = rise.loc["ftf_rate", "simulated_mean"]
        points = rise.loc["ftf_rise_points", "simulated_mean"]
        relative = rise.loc["ftf_rise_relative", "simulated_mean"]
        reading = rec.get("ftf_reading", "points")
        out.append(
            f"At the fit the desks fix {ftf * 100:.1f} % first time against the service desk's "
            f"{(ftf - points) * 100:.1f} %: a rise of {points * 100:+.1f} points, which is "
            f"{relative * 100:+.1f} % relative (fitted to +10 "
            f"{'points' if reading == 'points' else '% relative'}; the other reading is an "
            "output)."
        )
    return out


def calibration_view(run: RunFolder) -> dict:
    """What the page's calibration section shows (None for a folder that is no calibration)."""
    params, res = run.get("calibration"), run.get("calibration_residuals")
    if run.kind != "calibration" or params is None or res is None:
        return {"calibration": None}
    iterations = iterations_table(run)
    return {
        "calibration": {
            "parameters": [
                {
                    "parameter": r["parameter"],
                    "sets": r["sets"],
                    "fitted_to": to,
                    "unit": r["unit"],
                    "start": _num(r["start"]),
                    "value": _num(r["value"]),
                    "se": _num(r["se"]),
                }
                for r, to in zip(params.to_dict("records"), _fitted_to(params), strict=True)
            ],
            "residuals": [
                {
                    "figure": r["figure"],
                    "target": _num(r["target"]),
                    "simulated": _num(r["simulated_mean"]),
                    "se": _num(r["se"]),
                    "residual": _num(r["residual"], sign=True),
                    "source": r.get("source", ""),
                }
                for r in _figures(res).to_dict("records")
            ],
            "rise": rise_rows(res),
            "iteration_headers": [] if iterations is None else list(iterations.columns),
            "iterations": []
            if iterations is None
            else [
                [str(int(v)) if c == "iteration" else _num(v) for c, v in row.items()]
                for row in iterations.to_dict("records")
            ],
            "fragment": (run.path / "calibrated.toml").is_file(),
        }
    }
