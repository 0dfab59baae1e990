"""The calibration part of an experiment-store report: set-up, best parameters, the fit
against the observations and the search history, read back without running the model."""

from __future__ import annotations

import numpy as np

from dronefront.errors import UserError
from dronefront.experiments.calibration import stored_calibration
from dronefront.experiments.store import Store, StoredExperiment
from dronefront.viz.report.html import (
    design_text,
    esc,
    factor_text,
    fig_html,
    note,
    num,
    sub,
    table,
    value_text,
)


def calibration_parts(db: Store, e: StoredExperiment) -> list[str]:
    """The sub-sections of a stored calibration; what cannot be shown is said in a note."""
    from dronefront.viz import plots

    spec = e.spec
    try:
        result = stored_calibration(db, e)
    except UserError as exc:
        result, why = None, exc.message
    else:
        why = result.note
    observed = spec.get("observed") or {}
    rows = [("model kind", e.kind), ("scenario", e.scenario or "-"),
            ("calibration file", e.file or "-"),
            ("search", design_text(e.design) + f", batches of {spec.get('batch')}, "
                       f"{spec.get('startup_trials')} random start-up trials"),
            ("trials stored", e.points), ("replicates per trial", e.replicates),
            ("seed policy", f"replicate r of every trial runs with seed {spec.get('seed')} "
                            "+ r (common random numbers)"),
            ("observations", observed.get("file", "-") if result is None else
             f"{len(result.plan.observations)} intervals from "
             f"{result.plan.observed_file}"),
            ("fixed overrides", ", ".join(f"{k}={value_text(v)}" for k, v in
                                          (spec.get("overrides") or {}).items()) or "-")]
    param_rows = [(p, factor_text(f)) for p, f in (spec.get("parameters") or {}).items()]
    design = (table(["setting", "value"], rows) + table(["parameter", "values"], param_rows))
    if spec.get("description"):
        design = f"<p>{esc(spec['description'])}</p>" + design
    parts = [sub(f"{e.ident}-design", "Calibration set-up", design)]
    if result is None:
        parts.append(sub(f"{e.ident}-best", "Best parameters", note(f"Not shown: {why}.")))
        return parts
    top = result.plan.spec.top
    k = max(1, int(np.ceil(top * len(result.trials))))
    best_rows = [(p, value_text(v)) for p, v in result.best_params.items()]
    spread = result.spread
    spread_cols = [c for c in spread.columns if c != "parameter"]
    best = (
        (note(why) if why else "")
        + f"<p>Best trial <b>{result.best_trial}</b> of {len(result.trials)}: loss "
          f"<b>{esc(num(result.best_loss))}</b> (0 = every model value inside its "
          "interval).</p>"
        + table(["parameter", "best"], best_rows)
        + f"<h4>Spread over the best {k} trials ({top:.0%})</h4>"
        + "<p>A wide spread means the data do not pin that parameter down.</p>"
        + table(["parameter", *spread_cols],
                [(r[0], *(num(v) if isinstance(v, float) else value_text(v)
                          for v in r[1:])) for r in spread.itertuples(index=False)])
        + fig_html(plots.calibration_parameters(result.trials,
                                                 list(result.plan.spec.parameters),
                                                 result.best_trial, top),
                    "Loss against each parameter",
                    f"Grey: all trials; blue: the best {top:.0%}; red star: the best trial."))
    parts.append(sub(f"{e.ident}-best", "Best parameters", best))
    fit = result.fit
    fit_rows = [(r.date, r.window, r.series, num(r.low), num(r.high), num(r.model),
                 num(r.model_min), num(r.model_max), num(r.loss))
                for r in fit.itertuples(index=False)]
    fit_html = table(["date", "window", "series", "low", "high", "model (mean)",
                      "model min", "model max", "loss"], fit_rows)
    if result.curves.empty:
        fit_html += note("The best trials' daily tables are not in the store's time-series "
                          "folder, so the curves cannot be drawn.")
    else:
        fit_html += fig_html(
            result.plot(), "Best trials against the reported intervals",
            "Blue: the best trial (thin: each replicate; thick: their mean); grey: the mean "
            f"curves of the other best {top:.0%} trials; red: the reported intervals "
            "(arrows: open bounds).")
    parts.append(sub(f"{e.ident}-fit", "Fit against the observed data", fit_html))
    parts.append(sub(f"{e.ident}-trials", "Search history", fig_html(
        plots.calibration_trials(result.trials, result.best_trial), "Loss per trial",
        "Grey: each trial's loss (mean model value over its replicates scored against "
        "every interval); blue: the best loss so far.")))
    return parts

