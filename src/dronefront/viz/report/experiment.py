"""The report of an experiment store: an overview, then each designed experiment (design,
per-point statistics, paired differences, sensitivity) and each calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dronefront.errors import UserError
from dronefront.experiments.runner import metric_columns, plan_from_store, results
from dronefront.experiments.store import Store, StoredExperiment, open_store
from dronefront.viz.report.calibration import calibration_parts
from dronefront.viz.report.html import (
    design_text,
    esc,
    factor_text,
    fig_html,
    figure_img,
    note,
    num,
    page,
    section,
    sub,
    table,
    value_text,
)

#: Most design points listed in a table (the plots show all of them).
MAX_TABLE_POINTS = 40
#: Most metrics drawn in the per-point and paired-difference plots and analysed for
#: sensitivity (the tables list every metric).
MAX_PLOT_METRICS = 6


def render_experiment_store(path: str | Path, experiment: str | None = None) -> str:
    """The report of an experiment store: every experiment in it, or the ones ``experiment``
    names (a name or the start of a hash)."""
    path = Path(path)
    db = open_store(path)
    try:
        chosen = db.select(experiment)
        sections = []
        if len(chosen) > 1 or experiment is None:
            sections.append(("store", "Store", _store_overview(chosen)))
        for e in chosen:
            sections.append((e.ident, e.name, _experiment_block(db, e)))
    finally:
        db.close()
    count = f"{len(chosen)} experiment{'s' if len(chosen) != 1 else ''}"
    subtitle = f"store <code>{esc(path)}</code> &middot; {esc(count)}"
    title = (f"dronefront experiment report: {chosen[0].name}" if len(chosen) == 1
             else "dronefront experiment report")
    return page(title, subtitle, sections)


def _store_overview(experiments: list[StoredExperiment]) -> str:
    rows = [(f"{e.name}", "calibration" if e.is_calibration else design_text(e.design),
             e.kind, e.points, e.replicates, e.runs, e.key[:12], str(e.created)[:19])
            for e in experiments]
    links = "".join(f'<li><a href="#{esc(e.ident)}">{esc(e.name)}</a> '
                    f"<code>{esc(e.key[:12])}</code></li>" for e in experiments)
    body = (table(["experiment", "design", "model kind", "points", "replicates",
                   "finished runs", "hash", "created"], rows) + f"<ul>{links}</ul>")
    if not experiments:
        body = "<p>The store holds no experiments.</p>"
    return section("store", "Experiments in this store", body)


def _experiment_block(db: Store, e: StoredExperiment) -> str:
    try:
        if e.is_calibration:
            parts = calibration_parts(db, e)
        else:
            parts = _experiment_parts(db, e)
    except UserError as exc:
        parts = [sub(f"{e.ident}-error", "Cannot analyse this experiment", note(exc.message))]
    head = (f"<p class=\"meta\">experiment <code>{esc(e.key[:16])}</code> &middot; "
            f"model {esc(e.kind)}{' ' + esc(e.scenario) if e.scenario else ''} &middot; "
            f"{esc(e.runs)} finished runs &middot; created {esc(str(e.created)[:19])}"
            + (f" &middot; dronefront {esc(e.version)}" if e.version else "") + "</p>")
    what = "Calibration" if e.is_calibration else "Experiment"
    return (f'<section id="{esc(e.ident)}"><h2>{what}: {esc(e.name)}</h2>{head}'
            f"{''.join(parts)}</section>")


# ---------------------------------------------------------------- designed experiments
def _point_labels(plan: Any) -> dict[int, str]:
    names = plan.factor_columns()
    labels = {}
    for i, values in enumerate(plan.points.values):
        text = ", ".join(f"{names.get(p, p)}={value_text(v)}" for p, v in values.items())
        labels[i] = f"{i}: {text}" if text else f"point {i}"
    return labels


def _experiment_parts(db: Store, e: StoredExperiment) -> list[str]:
    plan = plan_from_store(db, e)
    frame = results(plan, db)
    metrics = metric_columns(plan, frame)
    labels = _point_labels(plan)
    parts = [_design_part(e, plan, frame)]
    if frame.empty or not metrics:
        parts.append(sub(f"{e.ident}-points", "Design points",
                          "<p>No finished runs with metrics yet.</p>"))
        return parts
    parts.append(_points_part(e, plan, frame, metrics, labels))
    parts.append(_paired_part(e, plan, frame, metrics, labels))
    if plan.spec.design.type in ("sobol", "morris"):
        parts.append(_sensitivity_part(e, plan, frame, metrics))
    return parts


def _design_part(e: StoredExperiment, plan: Any, frame: Any) -> str:
    spec = plan.spec
    n_points = len(plan.points)
    total = n_points * spec.replicates
    seeds = sorted({int(s) for s in frame["seed"]}) if not frame.empty else []
    seed_text = (f"common random numbers: replicate r runs with seed {spec.seed} + r at "
                 f"every design point")
    if seeds:
        seed_text += f" (seeds used: {seeds[0]}..{seeds[-1]})"
    rows = [("model kind", e.kind), ("scenario", e.scenario or "-"),
            ("experiment file", e.file or "-"), ("design", design_text(e.design)),
            ("design points", n_points), ("replicates", spec.replicates),
            ("finished runs", f"{len(frame)} of {total}"), ("seed policy", seed_text),
            ("metrics", ", ".join(spec.metrics)),
            ("fixed overrides", ", ".join(f"{k}={value_text(v)}"
                                          for k, v in spec.overrides.items()) or "-"),
            ("time series kept", "yes" if spec.timeseries else "no")]
    names = plan.factor_columns()
    factor_rows = [(names[p], p, factor_text(f.model_dump(mode="json")))
                   for p, f in spec.factors.items()]
    body = table(["setting", "value"], rows)
    body += (table(["factor", "path", "values"], factor_rows) if factor_rows
             else "<p>No factors: one point, replicated.</p>")
    if spec.description:
        body = f"<p>{esc(spec.description)}</p>" + body
    missing = total - len(frame)
    if missing > 0:
        body += note(f"{missing} of {total} runs are not finished; run the same "
                      "experiment again to resume. The statistics below use the finished "
                      "runs only.")
    return sub(f"{e.ident}-design", "Design", body)


def _points_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str],
                 labels: dict[int, str]) -> str:
    from dronefront.experiments.analysis import point_stats
    from dronefront.viz import plots

    names = list(plan.factor_columns().values())
    stats = {m: point_stats(frame, m) for m in metrics}
    parts = []
    shown = min(len(plan.points), MAX_TABLE_POINTS)
    if len(plan.points) > shown:
        parts.append(note(f"The tables list the first {shown} of {len(plan.points)} "
                           "design points; the plot shows them all."))
    for metric, st in stats.items():
        rows = []
        for d in st.head(shown).to_dict("records"):
            ci = ("-" if not np.isfinite(d["ci_low"]) else
                  f"[{num(d['ci_low'])}, {num(d['ci_high'])}]")
            rows.append((int(d["point"]), *(value_text(d[n]) if n in d else "-"
                                            for n in names),
                         int(d["n"]), num(d["mean"]), ci, num(d["std"]),
                         num(d.get("q0.05")), num(d.get("q0.5")), num(d.get("q0.95"))))
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["point", *names, "n", "mean", "95% CI", "std", "q5%", "median", "q95%"], rows))
    drawn = dict(list(stats.items())[:MAX_PLOT_METRICS])
    more = (f" The first {MAX_PLOT_METRICS} of {len(stats)} metrics are drawn."
            if len(stats) > MAX_PLOT_METRICS else "")
    parts.append(fig_html(
        plots.experiment_point_stats(drawn, labels), "Mean and spread per design point",
        "Dots and dark bars: the mean over replicates and its 95% Student-t confidence "
        "interval; light bars: the 5-95% quantiles of the replicates." + more))
    if plan.spec.replicates < 2:
        parts.insert(0, note("One replicate per point: no confidence intervals."))
    return sub(f"{e.ident}-points", "Design points: mean, CI and quantiles", *parts)


def _paired_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str],
                 labels: dict[int, str]) -> str:
    from dronefront.experiments.analysis import paired_difference
    from dronefront.viz import plots

    title = "Paired differences against the baseline point"
    base = 0
    n_points = len(plan.points)
    if n_points < 2:
        return sub(f"{e.ident}-paired", title, "<p>One design point: nothing to compare.</p>")
    if plan.spec.replicates < 2:
        return sub(f"{e.ident}-paired", title, note(
            "Paired differences need at least 2 replicates per point (the same seeds at "
            "each point); this experiment has 1."))
    shown = list(range(1, min(n_points, MAX_TABLE_POINTS + 1)))
    diffs: dict[str, list[Any]] = {}
    skipped: list[str] = []
    for metric in metrics:
        out = []
        for b in shown:
            try:
                out.append(paired_difference(frame, metric, base, b))
            except UserError as exc:
                skipped.append(f"{metric} point {b}: {exc.message}")
        diffs[metric] = out
    parts = [f"<p>Each point minus point {base} (<i>{esc(labels.get(base, ''))}</i>), "
             "matched replicate by replicate: replicate r runs on the same seed at every "
             "point. <b>CRN variance reduction</b> = 1 - var(b - a) / (var a + var b), the "
             "share of the difference's variance that common random numbers removed "
             "compared with independent seeds; <b>efficiency</b> = how many times more "
             "replicates independent seeds would need for the same precision.</p>"]
    if n_points - 1 > len(shown):
        parts.append(note(f"The first {len(shown)} of {n_points - 1} comparisons are "
                           "shown."))
    for metric, rows in diffs.items():
        if not rows:
            continue
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["point", "n", "mean (base)", "mean (point)", "difference", "95% CI",
             "CRN variance reduction", "efficiency", "correlation"],
            [(labels.get(d.b, d.b), d.n, num(d.mean_a), num(d.mean_b),
              num(d.mean_difference),
              "-" if not np.isfinite(d.ci_low) else f"[{num(d.ci_low)}, {num(d.ci_high)}]",
              "-" if not np.isfinite(d.variance_reduction) else f"{d.variance_reduction:.1%}",
              num(d.efficiency, 3), num(d.correlation, 3)) for d in rows]))
    if skipped:
        parts.append(note(f"{len(skipped)} comparisons skipped, e.g. {skipped[0]}"))
    drawn = dict(list(diffs.items())[:MAX_PLOT_METRICS])
    if any(drawn.values()):
        parts.append(fig_html(
            plots.experiment_paired_differences(drawn, labels),
            f"Differences from point {base}",
            "Dots and bars: the mean paired difference and its 95% CI (red where the CI "
            "excludes 0); right: the variance reduction bought by common random numbers."))
    return sub(f"{e.ident}-paired", title, *parts)


def _sensitivity_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str]) -> str:
    from dronefront.experiments.analysis import sensitivity, tornado

    kind = "Sobol" if plan.spec.design.type == "sobol" else "Morris"
    parts = [f"<p>{kind} indices of each metric over the design "
             + ("(first-order S1 and total-order ST, with bootstrap 95% confidence "
                "half-widths)" if kind == "Sobol" else
                "(mu*: mean absolute elementary effect per full factor range, with its 95% "
                "confidence half-width; sigma: spread of the effects, i.e. interactions or "
                "non-linearity)")
             + ", on the mean over replicates at each point.</p>"]
    for metric in metrics[:MAX_PLOT_METRICS]:
        try:
            indices = sensitivity(plan, frame, metric)
        except UserError as exc:
            parts.append(f"<h4>{esc(metric)}</h4>" + note(exc.message))
            continue
        cols = [c for c in indices.columns if c != "factor"]
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["factor", *cols], [(r[0], *(num(v, 3) for v in r[1:]))
                                for r in indices[["factor", *cols]].itertuples(index=False)]))
        parts.append(figure_img(tornado(indices, title=metric),
                                f"{kind} tornado of {metric}: bars sorted by "
                                + ("total-order index." if kind == "Sobol" else "mu*."),
                                alt=f"{kind} tornado: {metric}"))
    if len(metrics) > MAX_PLOT_METRICS:
        parts.append(note(f"The first {MAX_PLOT_METRICS} of {len(metrics)} metrics are "
                           "analysed."))
    return sub(f"{e.ident}-sensitivity", f"Sensitivity ({kind})", *parts)


