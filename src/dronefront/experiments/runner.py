"""Load an experiment file into a plan, run it through an executor into the store, read it back.

Seed policy (common random numbers): replicate ``r`` runs with seed ``seed + r`` at *every*
design point, so differences between points are not blurred by different random draws.
The experiment's identity is a hash of what determines its results: model kind, the
scenario's content, fixed overrides, the design's points, base seed, metrics and whether
time series are kept. ``replicates`` is not part of it: raising it extends an experiment.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "e.yaml").write_text('''
... name: demo
... kind: toy-ishigami
... factors: {x1: {levels: [0, 1.5707963267948966]}}
... design: full_factorial
... metrics: [y]
... ''')
>>> report = run_experiment(d / "e.yaml", store=d / "s.duckdb")
>>> report.ran, report.skipped
(2, 0)
>>> results(d / "e.yaml", store=d / "s.duckdb")[["x1", "y"]].values.tolist()
[[0.0, 0.0], [1.5707963267948966, 1.0]]
>>> run_experiment(d / "e.yaml", store=d / "s.duckdb").skipped
2
"""

from __future__ import annotations

import difflib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dronefront.errors import UserError
from dronefront.experiments.designs import Points, experiment_points
from dronefront.experiments.executors import (
    Executor,
    Output,
    Task,
    check_chunk,
    make_executor,
)
from dronefront.experiments.models import ModelKind, get_model
from dronefront.experiments.spec import (
    DESIGN_FIELDS,
    Experiment,
    Factor,
    Lines,
    display_field,
    read_yaml,
    validate_model,
)
from dronefront.experiments.store import (
    DEFAULT_STORE,
    FinishedRun,
    Store,
    StoredExperiment,
    open_store,
    read_progress,
    write_progress,
)
from dronefront.io.jsonable import jsonable
from dronefront.io.paths import inside
from dronefront.io.rundir import sha256_of
from dronefront.scenario.loader import scenario_ref

Progress = Callable[[int, int], None]
HASH_FORMAT = 1


def assignment(path: str, value: Any) -> str:
    """A ``path=value`` override with the value in JSON (a subset of YAML).

    >>> assignment("a.b", [1, "x"]), assignment("c", 0.1)
    ('a.b=[1, "x"]', 'c=0.1')
    """
    return f"{path}={json.dumps(jsonable(value))}"


def resolve_scenario(ref: str, base_dir: Path) -> str:
    """A file's scenario reference: a built-in name as is, or a path inside ``base_dir``
    (the file's folder) made absolute (see :mod:`dronefront.io.paths`)."""
    return str(scenario_ref(ref, base_dir))


#: Scenario fields whose values are paths: written in an experiment or calibration file
#: (``overrides``, factor or parameter ``levels``), they resolve against that file's folder.
PATH_FIELDS = ("terrain.raster_file", "engagement")


def file_paths(values: dict[str, Any], factors: dict[str, Factor], base_dir: Path,
               file: str, lines: Lines, section: str = "factors"
               ) -> tuple[dict[str, Any], dict[str, Factor]]:
    """Overrides and factors with path fields resolved inside ``base_dir``."""
    from dronefront.scenario.loader import check_raster

    def resolve(value: Any, *loc: Any) -> Any:
        if not isinstance(value, str):
            return value
        at = {"file": file, "line": _line(lines, *loc), "field": display_field(loc)}
        if loc[-1] == "engagement":  # a campaign's template: a scenario reference
            return str(scenario_ref(value, base_dir, **at))
        return str(check_raster(inside(value, base_dir, **at), **at))

    values = {p: resolve(v, "overrides", p) if p in PATH_FIELDS else v
              for p, v in values.items()}
    factors = {p: f.model_copy(update={"levels": [resolve(v, section, p) for v in f.levels]})
               if p in PATH_FIELDS and f.levels is not None else f
               for p, f in factors.items()}
    return values, factors


@dataclass
class Plan:
    """A loaded experiment: the file's model, its resolved scenario, design points and hash."""

    spec: Experiment
    file: str
    lines: Lines
    model: ModelKind
    scenario: str
    points: Points
    key: str = ""
    fixed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.points) * self.spec.replicates

    def overrides(self, point: int) -> list[str]:
        """Fixed overrides plus this point's factor values."""
        return self.fixed + [assignment(p, v) for p, v in self.points.values[point].items()]

    def tasks(self, skip: set[tuple[int, int]] = frozenset()) -> list[Task]:  # type: ignore[assignment]
        """Every (point, replicate) not in ``skip``, replicate by replicate."""
        return [Task(p, r, self.spec.seed + r, self.overrides(p))
                for r in range(self.spec.replicates) for p in range(len(self.points))
                if (p, r) not in skip]

    def factor_columns(self) -> dict[str, str]:
        return self.spec.factor_names()

    def meta(self) -> dict[str, Any]:
        from dronefront import __version__

        return {"name": self.spec.name, "kind": self.model.name, "scenario": self.scenario,
                "file": self.file, "spec": self.spec.model_dump(mode="json", exclude_unset=True),
                "factors": {p: {"name": self.factor_columns()[p], **f.model_dump(mode="json")}
                            for p, f in self.spec.factors.items()},
                "design": {**self.spec.design.model_dump(mode="json"), **self.points.info},
                "replicates": self.spec.replicates, "version": __version__}


def _line(lines: Lines, *path: Any) -> int | None:
    for cut in range(len(path), 0, -1):
        if tuple(path[:cut]) in lines:
            return lines[tuple(path[:cut])]
    return None


def resolve_model(data: dict, lines: Lines, file: str, base_dir: Path,
                  kind: str | None, scenario: str | None) -> tuple[ModelKind, str]:
    """The model kind and resolved scenario of an experiment or calibration file."""
    resolved = ""
    model = None
    if kind is not None:  # first: a file naming code fails before anything else is read
        model = _kind(kind, file, lines)
    if scenario is not None:
        try:
            resolved = resolve_scenario(scenario, base_dir)
        except UserError as exc:
            raise UserError(exc.message, file=file, line=_line(lines, "scenario"),
                            field="scenario") from None
    if model is None:
        kind = "engagement"
        if resolved:
            try:
                from dronefront.scenario.loader import load_raw

                if load_raw(resolved)[0].get("kind") == "campaign":
                    kind = "campaign"
            except UserError:
                pass
        model = _kind(kind, file, lines)
    if model.needs_scenario and not resolved:
        raise UserError(f"model kind {model.name!r} needs a scenario", file=file,
                        line=_line(lines, "kind"), field="scenario")
    return model, resolved


def _kind(name: Any, file: str, lines: Lines) -> ModelKind:
    try:
        return get_model(name)
    except UserError as exc:
        raise UserError(exc.message, file=file, line=_line(lines, "kind"), field="kind") \
            from None


def check_overrides(model: ModelKind, scenario: str, fixed: list[str],
                    factors: dict[str, Factor], file: str, lines: Lines,
                    section: str = "factors") -> None:
    """Validate the fixed overrides, then each factor at its range ends or at each level.

    Only the model's cheap ``check`` runs (for engagements: loading the scenario), so a
    mistake is reported before any run, at the factor's line.
    """
    if model.check is None:
        return
    try:
        model.check(scenario, fixed)
    except UserError as exc:
        where = next((k for k in _fixed_paths(fixed) if exc.field and (
            exc.field == k or exc.field.startswith(k + ".") or k.startswith(exc.field + "."))),
            None)
        loc = ("overrides", where) if where else ("scenario",)
        raise UserError(exc.message if where else str(exc), file=file,
                        line=_line(lines, *loc), field=display_field(loc)) from None
    for path, factor in factors.items():
        values: list[Any] = []
        for v in (factor.levels if factor.levels is not None
                  else [factor.value(0.0), factor.value(1.0)]):
            if v not in values:
                values.append(v)
        for value in values:
            try:
                model.check(scenario, [*fixed, assignment(path, value)])
            except UserError as exc:
                raise UserError(f"value {jsonable(value)!r}: {exc.message}", file=file,
                                line=_line(lines, section, path),
                                field=display_field((section, path))) from None


def _fixed_paths(fixed: list[str]) -> list[str]:
    return [a.partition("=")[0] for a in fixed]


def load_experiment(path: str | os.PathLike) -> Plan:
    """Read, validate and plan an experiment file (UserErrors name file, line and field)."""
    data, lines, display = read_yaml(path, "experiment")
    spec: Experiment = validate_model(data, Experiment, file=display, lines=lines,
                                      what="experiment")
    base_dir = Path(path).resolve().parent
    model, scenario = resolve_model(data, lines, display, base_dir, spec.kind, spec.scenario)
    overrides, factors = file_paths(spec.overrides, spec.factors, base_dir, display, lines)
    if (overrides, factors) != (spec.overrides, spec.factors):
        spec = spec.model_copy(update={"overrides": overrides, "factors": factors})
    fixed = [assignment(p, v) for p, v in spec.overrides.items()]
    check_overrides(model, scenario, fixed, spec.factors, display, lines)
    points = experiment_points(spec)
    plan = Plan(spec, display, lines, model, scenario, points, fixed=fixed)
    fingerprint = model.fingerprint(scenario) if model.fingerprint and scenario else scenario
    plan.key = sha256_of(jsonable({
        "format": HASH_FORMAT, "kind": model.name, "scenario": fingerprint,
        "overrides": fixed, "points": points.values, "seed": spec.seed,
        "metrics": spec.metrics, "timeseries": spec.timeseries}))
    return plan


def _plan(experiment: Plan | str | os.PathLike) -> Plan:
    return experiment if isinstance(experiment, Plan) else load_experiment(experiment)


# --------------------------------------------------------------------------- metrics
class MetricError(KeyError):
    """A metric path that the summary does not have."""

    def __init__(self, metric: str, message: str) -> None:
        super().__init__(message)
        self.metric = metric
        self.message = message


def extract_metrics(summary: Any, patterns: list[str]) -> dict[str, float | None]:
    """Numeric values at dotted paths of a summary; ``*`` matches any key at one level.

    >>> s = {"sides": {"a": {"killed": 3, "by": {}}, "b": {"killed": 1}}, "ratio": None}
    >>> extract_metrics(s, ["sides.*.killed", "ratio"])
    {'sides.a.killed': 3.0, 'sides.b.killed': 1.0, 'ratio': None}
    """
    out: dict[str, float | None] = {}
    for pattern in patterns:
        parts = pattern.split(".")
        matches: list[tuple[str, Any]] = []
        _walk(summary, parts, [], matches)
        wildcard = "*" in parts
        if not matches and not wildcard:
            raise MetricError(pattern, _missing(summary, parts))
        for name, value in matches:
            if value is None or isinstance(value, bool | int | float):
                out[name] = None if value is None else float(value)
            elif not wildcard:
                kind = "mapping" if isinstance(value, dict) else type(value).__name__
                keys = f": pick one of {', '.join(map(str, value))}" \
                    if isinstance(value, dict) else ""
                raise MetricError(pattern, f"{pattern} is a {kind}, not a number{keys}")
    return out


def _walk(node: Any, parts: list[str], path: list[str], out: list[tuple[str, Any]]) -> None:
    if not parts:
        out.append((".".join(path), node))
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
        for k in keys:
            _walk(node[k], rest, [*path, str(k)], out)
    elif isinstance(node, list):
        if head == "*":
            for i, item in enumerate(node):
                _walk(item, rest, [*path, str(i)], out)
        elif head.isdigit() and int(head) < len(node):
            _walk(node[int(head)], rest, [*path, head], out)


def _missing(summary: Any, parts: list[str]) -> str:
    node = summary
    for depth, key in enumerate(parts):
        if isinstance(node, dict) and key in node:
            node = node[key]
            continue
        where = ".".join(parts[:depth]) or "the summary"
        options = list(node) if isinstance(node, dict) else []
        close = difflib.get_close_matches(key, [str(o) for o in options], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = f" (has: {', '.join(map(str, options[:12]))})" if options else ""
        return f"{'.'.join(parts)}: {where} has no {key!r}{hint}{listing}"
    return f"{'.'.join(parts)}: not found"


# --------------------------------------------------------------------------- running
@dataclass
class RunReport:
    """What :func:`run_experiment` did."""

    key: str
    total: int
    skipped: int
    ran: int
    seconds: float
    executor: str

    @property
    def rate(self) -> float:
        """Runs per second of this call."""
        return self.ran / self.seconds if self.seconds > 0 else float("nan")


def raise_run_error(out: Output, file: str) -> None:
    """Turn a failed run into the error the driver raises."""
    where = f"point {out.point} replicate {out.replicate} (seed {out.seed})"
    if out.user_error:
        raise UserError(f"{where}: {out.error}", file=file)
    raise RuntimeError(f"{file}: {where} failed:\n{out.error}")


def execute(
    *,
    store: Store,
    key: str,
    model: ModelKind,
    scenario: str,
    tasks: list[Task],
    executor: Executor,
    file: str,
    on_output: Callable[[Output], tuple[dict[str, float | None], Any]],
    want_series: bool = False,
    columns: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int | None = None,
) -> int:
    """Run tasks through an executor and commit the finished runs (driver side).

    Runs are committed in batches, one transaction each (see :func:`commit_batches`).
    ``on_output`` turns an output into ``(metrics, series_to_store)``; it may raise.
    A model with an ensemble path runs replicates of one design point together, ``chunk``
    of them at a time (default: sized by the executor). Returns the number of runs
    committed.
    """
    def finished() -> Iterator[FinishedRun]:
        for out in executor.map(model.fn, scenario, tasks, want_series=want_series,
                                columns=columns, ensemble=model.ensemble, chunk=chunk):
            if out.error is not None:
                raise_run_error(out, file)
            metrics, series = on_output(out)
            yield FinishedRun(out.point, out.replicate, out.seed, out.seconds, out.summary,
                              metrics, series, out.worker)

    return commit_batches(store, key, finished(), progress=progress)


#: A batch is committed when it holds this many runs or its first run is this old.
BATCH_RUNS = 512
BATCH_SECONDS = 0.25


def commit_batches(store: Store, key: str, runs: Iterable[FinishedRun], *,
                   progress: Callable[[int], None] | None = None,
                   batch_runs: int | None = None, batch_seconds: float | None = None) -> int:
    """Commit runs as they finish, a batch per transaction; returns how many were added.

    One transaction per run costs a few milliseconds, which caps a driver at a few hundred
    runs a second; a batch of up to ``batch_runs`` runs, or of what finished within
    ``batch_seconds`` (default :data:`BATCH_RUNS`, :data:`BATCH_SECONDS`), costs about the
    same as one. Each batch is all-or-nothing, so an
    interrupted experiment never stores half a batch, and resuming it neither loses nor
    repeats a run. When the runs stop with an error or Ctrl-C, the runs that finished
    before it are committed first. ``progress(n)`` is called after each batch.
    """
    batch_runs = BATCH_RUNS if batch_runs is None else batch_runs
    batch_seconds = BATCH_SECONDS if batch_seconds is None else batch_seconds
    pending: list[FinishedRun] = []
    since = 0.0
    committed = 0

    def flush() -> None:
        nonlocal committed
        if not pending:
            return
        batch = pending.copy()
        pending.clear()  # a batch that fails to commit is not tried again
        try:
            committed += store.commit_runs(key, batch)
        except KeyboardInterrupt:  # Ctrl-C during the commit (rolled back): keep the runs
            committed += store.commit_runs(key, batch)
            raise
        if progress is not None:
            progress(len(batch))

    try:
        for run in runs:
            if not pending:
                since = time.monotonic()
            pending.append(run)
            if len(pending) >= batch_runs or time.monotonic() - since >= batch_seconds:
                flush()
    except BaseException:
        try:
            flush()
        except (UserError, KeyboardInterrupt):  # the disk is full, or a second Ctrl-C
            pass
        raise
    flush()
    return committed


def run_experiment(
    experiment: Plan | str | os.PathLike,
    *,
    executor: str | Executor = "local",
    store: str | os.PathLike | Store = DEFAULT_STORE,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Progress | None = None,
    chunk: int | None = None,
) -> RunReport:
    """Run (or resume) an experiment and store every run; return what was done.

    ``chunk`` fixes how many runs go to a worker at a time (for an engagement: how many
    replicates of one design point run as one ensemble); default: the file's ``chunk``, else
    sized from the measured run time. It never changes the results.
    ``progress(done, total)`` is called once at the start and after every stored run.
    Ctrl-C (``KeyboardInterrupt``) stops it; the runs stored so far stay, and calling this
    again resumes with the rest.
    """
    plan = _plan(experiment)
    chunk = check_chunk(plan.spec.chunk if chunk is None else chunk)
    started = time.perf_counter()
    own_store = not isinstance(store, Store)
    db = Store(store) if own_store else store  # type: ignore[arg-type]
    ex: Executor | None = None
    try:
        db.register(plan.key, plan.meta(),
                    ((i, v, list(plan.points.unit[i])) for i, v in enumerate(plan.points.values)))
        finished = {(p, r) for p, r in db.finished(plan.key)
                    if r < plan.spec.replicates and p < len(plan.points)}
        tasks = plan.tasks(finished)
        done = len(finished)
        if progress is not None:
            progress(done, plan.total)
        if tasks:  # from now on `experiment status` asks this driver, which holds the store
            write_progress(db.path, plan.key, done, plan.total)
            ex = executor if isinstance(executor, Executor) else make_executor(
                executor, workers=workers, ray_address=ray_address)
            checked = [False]

            def on_output(out: Output) -> tuple[dict[str, float | None], Any]:
                try:
                    metrics = extract_metrics(out.summary, plan.spec.metrics)
                except MetricError as exc:
                    if checked[0]:  # a later run lacks it: store it as missing
                        metrics = {}
                    else:
                        index = plan.spec.metrics.index(exc.metric)
                        raise UserError(exc.message, file=plan.file,
                                        line=_line(plan.lines, "metrics", index),
                                        field=f"metrics.{index}") from None
                checked[0] = True
                return metrics, out.series

            last = [0.0]

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(done, plan.total)
                now = time.monotonic()
                if now - last[0] > 1.0 or done == plan.total:
                    last[0] = now
                    write_progress(db.path, plan.key, done, plan.total)

            execute(store=db, key=plan.key, model=plan.model, scenario=plan.scenario,
                    tasks=tasks, executor=ex, file=plan.file, on_output=on_output,
                    want_series=plan.spec.timeseries, progress=tick, chunk=chunk)
        return RunReport(plan.key, plan.total, len(finished), len(tasks),
                         time.perf_counter() - started,
                         ex.name if ex is not None else str(executor))
    finally:
        if ex is not None and not isinstance(executor, Executor):
            ex.close()
        if own_store:
            db.close()


# --------------------------------------------------------------------------- reading
def _open(store: str | os.PathLike | Store) -> tuple[Store, bool]:
    if isinstance(store, Store):
        return store, False
    return open_store(store), True


def status(experiment: Plan | str | os.PathLike,
           store: str | os.PathLike | Store = DEFAULT_STORE) -> dict[str, Any]:
    """How far an experiment has got: total, finished and per-replicate counts.

    A :class:`UserError` (see :func:`not_stored`) if the store does not hold it.
    """
    plan = _plan(experiment)
    info: dict[str, Any] = {
        "name": plan.spec.name, "experiment": plan.key, "kind": plan.model.name,
        "scenario": plan.scenario, "points": len(plan.points),
        "replicates": plan.spec.replicates, "total": plan.total, "finished": 0,
        "design": {**plan.spec.design.model_dump(mode="json"), **plan.points.info},
        "per_replicate": [0] * plan.spec.replicates, "run_seconds": 0.0, "last": None,
    }
    if not isinstance(store, Store) and not Path(store).exists():
        raise not_stored(plan, None, store)
    try:
        db, own = _open(store)
    except UserError as exc:
        if "in use" not in exc.message:
            raise
        running = read_progress(store, plan.key)  # a driver holds the store: ask it
        if running is not None:
            info.update(finished=running["done"], running=running)
        else:
            info["running"] = {"note": "the store is in use by another process"}
        return info
    try:
        if not db.has_experiment(plan.key):
            raise not_stored(plan, db, store)
        runs = db.runs(plan.key)
        runs = runs[(runs.replicate < plan.spec.replicates)
                    & (runs.point < len(plan.points))]
        info["finished"] = len(runs)
        counts = runs.groupby("replicate").size()
        info["per_replicate"] = [int(counts.get(r, 0))
                                 for r in range(plan.spec.replicates)]
        info["run_seconds"] = float(runs.seconds.sum())
        info["last"] = None if runs.empty else str(runs.finished.max())
    finally:
        if own:
            db.close()
    return info


def plan_from_store(store: Store, experiment: StoredExperiment) -> Plan:
    """The plan of a stored experiment rebuilt from what its store recorded (spec, design
    points), so :func:`results` and the analysis functions work without the experiment
    file. Such a plan is for reading only: its ``model`` is None (the kind recorded in a
    store is never imported)."""
    from pydantic import ValidationError

    e = experiment
    data = dict(e.spec)
    design = data.get("design")
    if isinstance(design, dict) and design.get("type") in DESIGN_FIELDS:
        # a dumped spec holds every design field; the file format allows only the type's own
        keep = DESIGN_FIELDS[design["type"]] | {"type"}
        data["design"] = {k: v for k, v in design.items() if k in keep and v is not None}
    try:
        spec = Experiment.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"its recorded spec no longer validates (written by dronefront "
                        f"{e.version or '?'}): {str(exc).splitlines()[0]}") from None
    spec = spec.model_copy(update={"replicates": max(e.replicates, 1)})
    frame = store.points(e.key)
    try:
        unit = np.array([list(u) for u in frame["unit"]], dtype=float).reshape(
            len(frame), len(spec.factors))
    except (TypeError, ValueError):
        raise UserError("damaged store: the design points' unit coordinates do not match "
                        "the factors", file=str(store.path)) from None
    points = Points(unit, list(frame["values"]), dict(e.design))
    return Plan(spec, e.file or e.name, {}, None, e.scenario, points, key=e.key)  # type: ignore[arg-type]


def not_stored(plan: Plan, db: Store | None, store: str | os.PathLike | Store) -> UserError:
    """The error for an experiment the store does not hold; it says when the store holds
    one of the same name under another key (the file or its base scenario changed)."""
    where = db.path if isinstance(db, Store) else store.path if isinstance(store, Store) \
        else Path(store)
    message = (f"experiment {plan.spec.name!r} ({plan.key[:12]}) has no stored runs in "
               f"{str(where)[-200:]}")
    if db is None and not Path(where).exists():
        message += ": no such store (nothing has been run yet)"
    if db is not None:
        others = [e.key for e in db.experiments()
                  if e.name == plan.spec.name and e.key != plan.key]
        if others:
            message += (f"; the store holds {plan.spec.name!r} as {others[-1][:12]}: the "
                        f"experiment file or its base scenario changed since that was run "
                        f"(now {plan.key[:12]})")
    return UserError(message, file=plan.file)


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def results(experiment: Plan | str | os.PathLike,
            store: str | os.PathLike | Store = DEFAULT_STORE) -> pd.DataFrame:
    """One row per finished run: point, replicate, seed, factor values, metrics.

    Sorted by (point, replicate), so the table is the same whichever executor ran it.
    List-valued factor levels appear as JSON text. A :class:`UserError` (see
    :func:`not_stored`) if the store does not hold the experiment.
    """
    plan = _plan(experiment)
    if not isinstance(store, Store) and not Path(store).exists():
        raise not_stored(plan, None, store)
    db, own = _open(store)
    try:
        if not db.has_experiment(plan.key):
            raise not_stored(plan, db, store)
        runs = db.runs(plan.key)[["point", "replicate", "seed"]]
        long = db.metrics(plan.key)
    finally:
        if own:
            db.close()
    runs = runs[(runs.replicate < plan.spec.replicates) & (runs.point < len(plan.points))]
    names = plan.factor_columns()
    factors = pd.DataFrame([{names[p]: _cell(v) for p, v in vals.items()}
                            for vals in plan.points.values])
    factors.insert(0, "point", np.arange(len(plan.points)))
    frame = runs.merge(factors, on="point", how="left")
    if not long.empty:
        wide = long.pivot(index=["point", "replicate"], columns="metric",
                          values="value").reset_index()
        wide.columns.name = None
        order = sorted((c for c in wide.columns if c not in ("point", "replicate")),
                       key=lambda c: (_pattern_index(c, plan.spec.metrics), c))
        frame = frame.merge(wide[["point", "replicate", *order]], on=["point", "replicate"],
                            how="left")
    frame = frame.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    frame["point"] = frame["point"].astype("int64")
    frame["replicate"] = frame["replicate"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    frame.attrs["factors"] = list(names.values())
    return frame


def _pattern_index(name: str, patterns: list[str]) -> int:
    parts = name.split(".")
    for i, pattern in enumerate(patterns):
        pat = pattern.split(".")
        if len(pat) == len(parts) and all(a in ("*", b) for a, b in zip(pat, parts, strict=True)):
            return i
    return len(patterns)


def metric_columns(plan: Plan, frame: pd.DataFrame) -> list[str]:
    """The metric columns of a results frame (everything but keys and factors)."""
    skip = {"point", "replicate", "seed", *plan.factor_columns().values()}
    return [c for c in frame.columns if c not in skip]
