"""Commands: ``dronefront experiment run|status|results``, ``sensitivity`` and ``calibrate``.

Mounted by :func:`register`. User mistakes raise :class:`UserError` (one line, exit 2);
Ctrl-C stops a run cleanly: finished runs stay in the store and the same command resumes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dronefront.errors import UserError
from dronefront.extras import require
from dronefront.terminal import console, err, progress_bar
from dronefront.text import markup_safe, printable

FileArg = Annotated[Path, typer.Argument(help="Experiment YAML file.", dir_okay=False)]
StoreOpt = Annotated[Path, typer.Option("--store", help="DuckDB store (created if needed).")]
ExecutorOpt = Annotated[str, typer.Option(
    "--executor", help="Where runs execute: local (in-process), processes or ray.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", help="Worker processes / Ray CPUs (default: all cores).")]
ChunkOpt = Annotated[int | None, typer.Option(
    "--chunk", help="Runs sent to a worker at a time; for engagements, replicates of one "
    "design point run as one ensemble (default: the file's chunk, else sized from the run "
    "time). Results do not depend on it.")]
RayOpt = Annotated[str | None, typer.Option(
    "--ray-address", help="Join this Ray cluster (e.g. ray://head:10001 or auto).")]

DEFAULT_STORE = Path("experiments.duckdb")
#: What ``--output`` may be called, by format.
DATA_SUFFIXES = {"csv": (".csv", ".txt"), "parquet": (".parquet", ".pq")}


def _check_plot(plot: Path | None) -> None:
    from dronefront.io.outputs import check_output, plot_suffixes

    if plot is not None:
        check_output(plot, "--plot", suffixes=plot_suffixes())


def _write_frame(frame: Any, output: Path, format: str) -> None:
    from dronefront.io.outputs import atomic_file

    with atomic_file(output) as tmp:
        if format == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


def _interrupts() -> tuple[type[BaseException], ...]:
    """Ctrl-C arrives as KeyboardInterrupt, as DuckDB's own exception inside a query, or as a
    plain RuntimeError("Query interrupted") when it lands in a COMMIT.

    A function, so that DuckDB is imported only once a command has used the store.
    """
    import duckdb

    return (KeyboardInterrupt, duckdb.InterruptException, RuntimeError)


def _needs(command: str, executor: str = "local", plot: Path | None = None) -> None:
    """Stop with one line, before the store is touched, if an extra ``command`` needs is
    missing."""
    require(f"dronefront {command}", "experiments")
    if executor == "ray":
        require(f"dronefront {command} --executor ray", "ray")
    if plot is not None:
        require(f"dronefront {command} --plot", "plots", "matplotlib")


def _is_interrupt(exc: BaseException) -> bool:
    if isinstance(exc, RuntimeError):
        return "query interrupted" in str(exc).lower()
    return True


def _interrupted(store: Path, what: str) -> None:
    err.print(f"interrupted: finished {what} are kept in {printable(store)}; run the same command "
              f"again to resume", markup=False)
    sys.exit(130)  # not typer.Exit: the top-level CLI would add a second "interrupted" line


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.4g}"
    return markup_safe(value)


def _table(frame: Any, title: str | None = None) -> Table:
    table = Table(title=None if title is None else markup_safe(title), box=None)
    for col in frame.columns:
        table.add_column(markup_safe(col), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    return table


def _run_stored(plan: Any, executor: str, store: Path, workers: int | None,
                ray_address: str | None, chunk: int | None = None) -> Any:
    """Run or resume ``plan`` with a progress bar; Ctrl-C keeps finished runs, exits 130."""
    from dronefront.experiments.runner import run_experiment

    try:
        with progress_bar(plan.spec.name, rate="runs", keep=True) as update:
            return run_experiment(plan, executor=executor, store=store, workers=workers,
                                  ray_address=ray_address, progress=update, chunk=chunk)
    except _interrupts() as exc:
        if not _is_interrupt(exc):
            raise
        _interrupted(store, "runs")


# --------------------------------------------------------------------------- experiment
experiment_app = typer.Typer(help="Run designed experiments into a DuckDB store.",
                             no_args_is_help=True)


@experiment_app.command("run")
def run_cmd(
    file: FileArg,
    executor: ExecutorOpt = "local",
    store: StoreOpt = DEFAULT_STORE,
    ray_address: RayOpt = None,
    workers: WorkersOpt = None,
    chunk: ChunkOpt = None,
) -> None:
    """Run (or resume) an experiment: every design point x replicate, stored run by run."""
    _needs("experiment run", executor)
    from dronefront.experiments.executors import check_chunk
    from dronefront.experiments.runner import load_experiment

    check_chunk(chunk, "--chunk")
    plan = load_experiment(file)
    err.print(f"{printable(plan.spec.name)}: {len(plan.points)} points x "
              f"{plan.spec.replicates} replicates = {plan.total} runs of "
              f"{printable(plan.model.name)} (experiment {plan.key[:12]}, store "
              f"{printable(store)})", markup=False)
    report = _run_stored(plan, executor, store, workers, ray_address, chunk)
    rate = f", {report.rate:.2f} runs/s" if report.ran else ""
    console.print(f"{report.ran} runs in {report.seconds:.1f} s on "
                  f"{printable(report.executor)}{rate}; "
                  f"{report.skipped} already stored; {report.skipped + report.ran}/"
                  f"{report.total} finished", markup=False)


@experiment_app.command("status")
def status_cmd(file: FileArg, store: StoreOpt = DEFAULT_STORE) -> None:
    """How far an experiment has got in the store."""
    _needs("experiment status")
    from dronefront.experiments.runner import status

    info = status(file, store)
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    from dronefront.experiments.spec import DESIGN_FIELDS

    shown = DESIGN_FIELDS.get(info["design"]["type"], set()) | {
        "construction", "runs", "max_abs_corr"}
    design = info["design"]["type"] + "".join(
        f", {k}={v}" for k, v in info["design"].items() if k in shown and v is not None)
    for key, value in (
        ("experiment", f"{info['name']} ({info['experiment'][:16]})"),
        ("model", f"{info['kind']} {info['scenario']}".strip()),
        ("design", design),
        ("runs", f"{info['finished']}/{info['total']} finished "
                 f"({info['points']} points x {info['replicates']} replicates)"),
        ("per replicate", " ".join(str(n) for n in info["per_replicate"][:20])
         + (" ..." if len(info["per_replicate"]) > 20 else "")),
        ("model time", f"{info['run_seconds']:.1f} s"),
        ("last run", info["last"] or "-"),
        ("store", str(store)),
    ):
        if key == "runs" and info.get("running"):
            run = info["running"]
            value = (f"{value}; a driver (pid {run['pid']}) is running it, last update "
                     f"{run['updated']}" if "pid" in run else f"{value}; {run['note']}")
        table.add_row(key, markup_safe(value))
    console.print(table)


@experiment_app.command("results")
def results_cmd(
    file: FileArg,
    format: Annotated[str, typer.Option("--format", help="csv, parquet or table.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", help="Write here (csv: default "
                                                "stdout; parquet: required).")] = None,
    store: StoreOpt = DEFAULT_STORE,
    stats: Annotated[str | None, typer.Option(
        "--stats", help="Instead of runs: per-point mean, CI and quantiles of this metric.")]
    = None,
    paired: Annotated[int | None, typer.Option(
        "--paired", help="With --stats: every other point minus this point, paired by "
        "replicate (common random numbers), with its 95% CI.")] = None,
) -> None:
    """Export the stored runs (one row per run, sorted by point and replicate)."""
    _needs("experiment results")
    from dronefront.experiments.analysis import paired_table, point_stats
    from dronefront.experiments.runner import results
    from dronefront.io.outputs import check_output

    if format not in ("csv", "parquet", "table"):
        raise UserError(f"--format must be csv, parquet or table (got {format!r})",
                        field="format")
    if format == "parquet" and output is None:
        raise UserError("--format parquet needs --output FILE", field="output")
    if format == "table" and output is not None:
        raise UserError("--format table prints to the terminal; use csv or parquet with it",
                        field="--output")
    if paired is not None and stats is None:
        raise UserError("--paired needs --stats METRIC", field="--paired")
    if output is not None:
        check_output(output, "--output", suffixes=DATA_SUFFIXES[format])
    frame = results(file, store)
    if paired is not None:
        frame = paired_table(frame, stats, paired)
    elif stats is not None:
        frame = point_stats(frame, stats)
    if format == "table":
        console.print(_table(frame))
    elif output is None:
        frame.to_csv(sys.stdout, index=False)
    else:
        _write_frame(frame, output, format)
        err.print(f"{len(frame)} rows -> {printable(output)}", markup=False)


# --------------------------------------------------------------------------- sensitivity
def sensitivity_cmd(
    file: FileArg,
    metric: Annotated[str, typer.Option("--metric", help="Metric to analyse.")],
    plot: Annotated[Path | None, typer.Option("--plot", help="Save a tornado plot (PNG).")]
    = None,
    executor: ExecutorOpt = "local",
    store: StoreOpt = DEFAULT_STORE,
    ray_address: RayOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Sobol (first/total order) or Morris indices of a metric; runs what is missing first."""
    _needs("sensitivity", executor, plot)
    from dronefront.experiments.analysis import sensitivity, tornado
    from dronefront.experiments.runner import load_experiment, results

    _check_plot(plot)
    plan = load_experiment(file)
    if plan.spec.design.type not in ("sobol", "morris"):
        raise UserError(f"sensitivity needs design type sobol or morris (this is "
                        f"{plan.spec.design.type})", file=plan.file,
                        line=plan.lines.get(("design",)), field="design")
    _run_stored(plan, executor, store, workers, ray_address)
    indices = sensitivity(plan, results(plan, store), metric)
    kind = "Sobol" if plan.spec.design.type == "sobol" else "Morris"
    console.print(_table(indices, f"{kind} indices of {metric} ({len(plan.points)} points x "
                                  f"{plan.spec.replicates} replicates)"))
    if plot is not None:
        tornado(indices, title=f"{plan.spec.name}: {metric}", path=plot)
        err.print(f"tornado plot -> {printable(plot)}", markup=False)


# --------------------------------------------------------------------------- calibrate
def _date(text: str | None, option: str) -> Any:
    import datetime as dt

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} must be an ISO date (YYYY-MM-DD), got {text[:40]!r}",
                        field=option.lstrip("-")) from None


def calibrate_cmd(
    file: Annotated[Path, typer.Argument(help="Calibration YAML file.", dir_okay=False)],
    method: Annotated[str, typer.Option(
        "--method", help="optimize (Optuna point fit) or abc (ABC-SMC posterior).")]
    = "optimize",
    until: Annotated[str | None, typer.Option(
        "--until", help="Fit only the observations dated on or before this date.")] = None,
    executor: ExecutorOpt = "local",
    store: StoreOpt = DEFAULT_STORE,
    ray_address: RayOpt = None,
    workers: WorkersOpt = None,
    trials: Annotated[int | None, typer.Option("--trials", help="Override the file's trials.")]
    = None,
    population: Annotated[int, typer.Option(
        "--population", help="abc: particles per generation.")] = 20,
    generations: Annotated[int, typer.Option(
        "--generations", help="abc: most generations (a rerun with more continues).")] = 5,
    max_runs: Annotated[int, typer.Option(
        "--max-runs", help="abc: simulation budget in runs (one replicate each); a "
        "generation it cuts short is dropped.")] = 1300,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Save the fit plot (optimize) or the marginals (abc) (PNG).")] = None,
    pairs: Annotated[Path | None, typer.Option(
        "--pairs", help="abc: save the pairwise posterior plot (PNG).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write all trials (optimize) or the particles (abc) (CSV).")] = None,
) -> None:
    """Fit parameters to interval observations: an Optuna point fit or an ABC-SMC posterior;
    the runs go through the executor and the store, and a rerun resumes."""
    if method not in ("optimize", "abc"):
        raise UserError(f"--method must be optimize or abc, got {method[:40]!r}",
                        field="method")
    _needs("calibrate", executor, plot or pairs)
    if method == "abc":
        require("dronefront calibrate --method abc", "calibration")
    from dronefront.experiments.abc import until_plan
    from dronefront.experiments.calibration import (
        calibrate,
        conflicts,
        implied_rates,
        load_calibration,
    )
    from dronefront.io.outputs import check_output

    _check_plot(plot)
    _check_plot(pairs)
    if output is not None:
        check_output(output, "--output", suffixes=DATA_SUFFIXES["csv"])
    plan = until_plan(load_calibration(file), _date(until, "--until"))
    if trials is not None and trials < 1:
        raise UserError(f"--trials must be at least 1 (got {trials})", field="trials")
    n = trials or plan.spec.trials
    what = (f"ABC-SMC, {population} particles, up to {generations} generations"
            if method == "abc" else f"{n} trials")
    err.print(f"{printable(plan.spec.name)}: {what} x {plan.spec.replicates} replicates "
              f"of {printable(plan.model.name)}, {len(plan.observations)} observations from "
              f"{printable(plan.observed_file)}", markup=False)
    for text in conflicts(plan.observations):
        err.print(f"warning: the observations contradict each other: {printable(text)}",
                  markup=False)
    rates = implied_rates(plan.observations)
    if not rates.empty:
        rates["from"], rates["to"] = rates["from"].astype(str), rates["to"].astype(str)
        err.print(_table(rates, "mean daily increase the observations allow"))
    if method == "abc":
        _calibrate_abc(plan, _date(until, "--until"), executor, store, workers, ray_address,
                       population, generations, max_runs, plot, pairs, output)
        return
    try:
        with progress_bar(plan.spec.name, rate="runs", keep=True) as update:
            result = calibrate(plan, executor=executor, store=store, workers=workers,
                               ray_address=ray_address, trials=trials, progress=update)
    except _interrupts() as exc:
        if not _is_interrupt(exc):
            raise
        _interrupted(store, "trial runs")
    best = Table("parameter", "best", box=None, title=f"best trial {result.best_trial}: loss "
                 f"{result.best_loss:.4g}")
    for key, value in result.best_params.items():
        best.add_row(markup_safe(key),
                     _fmt(value) if not isinstance(value, list) else json.dumps(value))
    console.print(best)
    k = max(1, math.ceil(plan.spec.top * len(result.trials)))
    spread = result.spread.drop(columns=["mean", "std", "range_share"], errors="ignore")
    console.print(_table(spread, f"spread over the best {k} trials ({plan.spec.top:.0%})"))
    fit = result.fit.drop(columns=["line"])
    if fit["reported"].isna().all():
        fit = fit.drop(columns=["reported"])
    if plan.spec.replicates == 1:
        fit = fit.drop(columns=["model_min", "model_max"])
    fit["date"] = fit["date"].astype(str)
    fit["window"] = fit["window"].str.replace("cumulative", "cum.")
    inside = int((result.fit["loss"] == 0).sum())
    console.print(_table(fit, f"fit of the best trial: inside {inside} of {len(fit)} "
                              f"intervals"))
    console.print(f"{result.ran} runs in {result.seconds:.1f} s", markup=False)
    if output is not None:
        _write_frame(result.trials, output, "csv")
        err.print(f"trials -> {printable(output)}", markup=False)
    if plot is not None:
        result.plot(plot)
        err.print(f"fit plot -> {printable(plot)}", markup=False)


def _calibrate_abc(plan: Any, until: Any, executor: str, store: Path, workers: int | None,
                   ray_address: str | None, population: int, generations: int,
                   max_runs: int, plot: Path | None, pairs: Path | None,
                   output: Path | None) -> None:
    from dronefront.experiments.abc import ABCSettings, calibrate_abc, posterior_predictive
    from dronefront.experiments.store import Store

    settings = ABCSettings(population=population, generations=generations,
                           max_runs=max_runs, batch=plan.spec.batch)
    try:
        with progress_bar(f"{plan.spec.name} (abc)", rate="runs", keep=True) as update:
            result = calibrate_abc(plan, settings=settings, executor=executor, store=store,
                                   workers=workers, ray_address=ray_address,
                                   progress=update)
    except _interrupts() as exc:
        if not _is_interrupt(exc):
            raise
        _interrupted(store, "simulations")
    gens = result.generations.copy()
    console.print(_table(gens, "ABC-SMC generations (epsilon: the loss a particle had to "
                               "beat)"))
    ident = result.identification.copy()
    ident["identified"] = ident["identified"].map({True: "yes", False: "no"})
    console.print(_table(ident, "posterior per parameter (width ratio: posterior 5-95% "
                                "interval over the prior's; identified when under 0.5)"))
    with Store(store) as db:
        pred = posterior_predictive(result, db)
    pred["date"] = pred["date"].astype(str)
    console.print(_table(pred.drop(columns=["line"]), "posterior predictive of each "
                                                      "observation (replicate means)"))
    if result.cut is not None:
        cut = result.cut
        console.print(f"generation {cut['generation']} reached --max-runs with "
                      f"{cut['accepted']} of {population} particles after {cut['proposals']} "
                      f"proposals and was dropped: the posterior is generation "
                      f"{cut['generation'] - 1}'s (a larger --max-runs finishes it from the "
                      "stored runs)", markup=False)
    console.print(f"{result.ran} runs in {result.seconds:.1f} s; posterior stored in "
                  f"{printable(store)} as {printable(plan.spec.name)} ({result.key[:12]})",
                  markup=False)
    if output is not None:
        _write_frame(result.particles, output, "csv")
        err.print(f"particles -> {printable(output)}", markup=False)
    if plot is not None:
        result.plot_marginals(plot)
        err.print(f"marginals plot -> {printable(plot)}", markup=False)
    if pairs is not None:
        result.plot_pairs(pairs)
        err.print(f"pairs plot -> {printable(pairs)}", markup=False)


# --------------------------------------------------------------------------- forecast
def forecast_cmd(
    calibration: Annotated[str, typer.Argument(
        help="An ABC calibration in --store (name or hash start) or a posterior YAML file.")],
    until: Annotated[str, typer.Option("--until", help="Last date (YYYY-MM-DD).")],
    store: StoreOpt = DEFAULT_STORE,
    draws: Annotated[int, typer.Option("--draws", help="Posterior draws (one run each).")]
    = 40,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws and their runs.")]
    = 10_000,
    out: Annotated[Path | None, typer.Option("--out", help="Forecast folder.")] = None,
    executor: ExecutorOpt = "local",
    workers: WorkersOpt = None,
    ray_address: RayOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace whatever is at --out.")]
    = False,
) -> None:
    """Run posterior draws to a date: median, 50% and 90% predictive intervals per date."""
    _needs("forecast", executor, Path("plot"))
    from dronefront.experiments.forecast import forecast
    from dronefront.io.outputs import check_output, safe_name

    day = _date(until, "--until")
    folder = out or Path("runs") / f"forecast-{safe_name(Path(calibration).stem)}-{day}"
    check_output(folder, "--out", folder="forecast", force=force, make_parents=True)
    with progress_bar("forecast draws", draws) as update:
        result = forecast(calibration, day, draws=draws, seed=seed, store=store,
                          executor=executor, workers=workers, ray_address=ray_address,
                          progress=update)
    result.write(folder, force=force)
    q = result.quantiles
    dates = sorted(set(q.date))
    shown = sorted({o.date for o in result.posterior.observations if o.date <= day}
                   | {dates[-1]})
    table = q[q.date.isin(shown)].copy()
    table["date"] = table["date"].astype(str)
    console.print(_table(table, f"{printable(result.posterior.name)}: forecast ({draws} draws;"
                                " 50% = q25-q75, 90% = q05-q95)"))
    checks = result.checks()
    if not checks.empty:
        checks["date"] = checks["date"].astype(str)
        console.print(_table(checks, "observations against the 90% predictive interval"))
    console.print(f"forecast folder: {printable(folder)}", markup=False)


def register(app: typer.Typer) -> None:
    """Mount ``experiment``, ``sensitivity`` and ``calibrate`` on the main app."""
    app.add_typer(experiment_app, name="experiment")
    app.command("sensitivity")(sensitivity_cmd)
    app.command("calibrate")(calibrate_cmd)
    app.command("forecast")(forecast_cmd)
