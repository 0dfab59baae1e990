"""Calibration: fit chosen parameters to interval observations of a daily model output.

A calibration file names a model (kind + scenario), the parameters to fit (each a ``range``
or ``levels``, exactly like experiment factors), and a CSV of dated observations::

    name: fit-toy
    kind: toy-attrition
    parameters:
      rate: {range: [0.005, 0.05], log: true}
      learning: {range: [0.0, 0.1]}
    observed:
      file: observations.csv         # relative to this file
      date: date                     # column with ISO dates
      window: window                 # "cumulative" or "past-N-days" per row (optional column)
      series:
        - {model: cumulative_casualties, low: casualties_low, high: casualties_high}
        - {model: cumulative_killed, low: killed_low, high: killed_high}
    trials: 60                       # Optuna trials (TPE sampler, seeded)
    batch: 8                         # trials asked at once and run in parallel
    replicates: 2                    # seeds per trial: seed, seed + 1, ...
    seed: 1
    top: 0.1                         # report the spread over the best 10% of trials

Each observation is an interval ``[low, high]`` (either end may be empty = open) on a model
column at a date: the column's value at that date (``cumulative``) or its increase over the
N days before it (``past-N-days``: ``col(date) - col(date - N days)``), so model columns
must be cumulative. The model value is the mean over the trial's replicates. The loss of
one observation is 0 inside the interval and the squared relative distance to the violated
bound outside it, ``((bound - value) / bound)^2``; a trial's loss is the weighted mean over
observations. The model must return a daily table with a ``date`` column as its time series.

Trials run through the same executors and store as experiments: each trial is a design
point (its number), each replicate a run, so an interrupted calibration resumes (the seeded
sampler asks the same parameters again and the stored runs answer them).

>>> interval_loss(50.0, 100.0, None), interval_loss(150.0, 100.0, 120.0)
(0.25, 0.0625)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Field, field_validator, model_validator

from dronefront import limits
from dronefront.errors import UserError
from dronefront.experiments.executors import Executor, Output, Task, make_executor
from dronefront.experiments.models import ModelKind
from dronefront.experiments.runner import (
    assignment,
    check_overrides,
    execute,
    file_paths,
    resolve_model,
)
from dronefront.experiments.spec import Factor, Lines, SpecModel, read_yaml, validate_model
from dronefront.experiments.store import DEFAULT_STORE, Store, StoredExperiment, open_store
from dronefront.io.jsonable import jsonable
from dronefront.io.paths import inside, text_problem
from dronefront.io.rundir import sha256_of
from dronefront.limits import Count

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WINDOW = re.compile(r"^past[-_ ]?(\d+)[-_ ]?days?$")


class ObservedSeries(SpecModel):
    """One observed quantity: a cumulative model column and the CSV columns bounding it."""

    model: str = Field(description="Cumulative column of the model's daily table.")
    low: str | None = Field(None, description="CSV column with the lower bound.")
    high: str | None = Field(None, description="CSV column with the upper bound.")
    label: str | None = None
    weight: float = Field(1.0, gt=0)


class Observed(SpecModel):
    """Where the observations are and how to read them."""

    file: str
    date: str = "date"
    window: str | None = Field("window", description="Column: cumulative or past-N-days.")
    series: list[ObservedSeries] = Field(min_length=1)
    about: float = Field(0.0, ge=0, lt=1, description=(
        "Relative half-width given to point estimates (rows with low == high): 'about N' "
        "is read as [N (1 - about), N (1 + about)]."))


class Calibration(SpecModel):
    """A calibration file."""

    name: str
    description: str = ""
    scenario: str | None = None
    kind: str | None = None
    overrides: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Factor]
    observed: Observed
    trials: Count = Field(50, ge=1)
    batch: int = Field(8, ge=1)
    startup_trials: int = Field(10, ge=1, description="Random trials before TPE starts.")
    replicates: Count = Field(1, ge=1)
    seed: int = Field(0, ge=0)
    top: float = Field(0.1, gt=0, le=1)

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Factor]) -> dict[str, Factor]:
        if not value:
            raise ValueError("at least one parameter to fit is needed")
        return value

    @model_validator(mode="after")
    def _sizes(self) -> Calibration:
        limits.require("replicates", self.replicates, "replicates")
        limits.require("runs", self.trials * self.replicates, "trials", unit=f"runs "
                       f"({limits.fmt(self.trials)} trials x {self.replicates} replicates)")
        return self


@dataclass(frozen=True)
class Observation:
    """One interval observation of one model column."""

    index: int
    line: int
    date: dt.date
    window: int | None
    model: str
    low: float | None
    high: float | None
    weight: float = 1.0
    label: str = ""
    estimate: float | None = None  # the reported point estimate, when widened by ``about``

    @property
    def metric(self) -> str:
        return f"obs.{self.index}"

    @property
    def window_text(self) -> str:
        return "cumulative" if self.window is None else f"past-{self.window}-days"


def interval_loss(value: float, low: float | None, high: float | None) -> float:
    """0 inside ``[low, high]``, else the squared relative distance to the violated bound.

    >>> interval_loss(3.0, None, 2.0), interval_loss(1.0, 0.0, None)
    (0.25, 0.0)
    """
    if not math.isfinite(value):
        return float("inf")
    if low is not None and value < low:
        return ((low - value) / max(abs(low), 1e-12)) ** 2
    if high is not None and value > high:
        return ((value - high) / max(abs(high), 1e-12)) ** 2
    return 0.0


def _number(text: str | None, file: str, line: int, column: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise UserError("not a number", file=file, line=line, field=column) from None
    if not math.isfinite(value):
        raise UserError("not a finite number", file=file, line=line, field=column)
    return value


def read_observations(spec: Observed, base_dir: Path, *, file: str | None = None,
                      line: int | None = None) -> tuple[list[Observation], str]:
    """Read the observation CSV; every problem is a UserError naming its line and column.

    ``spec.file`` is relative to ``base_dir`` (the calibration file's folder) and must stay
    inside it; ``file`` and ``line`` say where the calibration file names it. Messages say
    what was expected and where, never what the file holds.
    """
    path = inside(spec.file, base_dir, file=file, line=line, field="observed.file")
    display = str(path)
    needed = [spec.date] + ([spec.window] if spec.window else [])
    needed += [c for s in spec.series for c in (s.low, s.high) if c]
    expected = f"a CSV with columns {','.join(dict.fromkeys(needed))}"
    problem = text_problem(path)
    if problem == "no such file":
        raise UserError(f"no such observations file {spec.file[:200]!r}", file=file,
                        line=line, field="observed.file")
    if problem is not None:
        raise UserError(f"not {expected}: {problem}", file=display)
    limits.check_file_size(path, display, "input_bytes")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return _observations(csv.DictReader(fh), spec, needed, expected, display)
    except (UnicodeDecodeError, csv.Error):
        raise UserError(f"not {expected}: binary or malformed file", file=display) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc.__class__.__name__}",
                        file=display) from None


def _observations(reader: csv.DictReader, spec: Observed, needed: list[str], expected: str,
                  display: str) -> tuple[list[Observation], str]:
    header = reader.fieldnames or []
    for column in needed:
        if column not in header:
            raise UserError(f"not {expected}: its first line has no column {column!r}",
                            file=display, line=1, field=column)
    out: list[Observation] = []
    for row in reader:
        line = reader.line_num
        try:
            date = dt.date.fromisoformat((row[spec.date] or "").strip())
        except (ValueError, AttributeError, TypeError):
            raise UserError("not an ISO date (YYYY-MM-DD)", file=display, line=line,
                            field=spec.date) from None
        window: int | None = None
        text = (row.get(spec.window) or "").strip().lower() if spec.window else ""
        if text and text != "cumulative":
            match = WINDOW.match(text)
            if not match or int(match.group(1)) < 1:
                raise UserError("window must be 'cumulative' or 'past-N-days'", file=display,
                                line=line, field=spec.window)
            window = int(match.group(1))
        for s in spec.series:
            low = _number(row.get(s.low) if s.low else None, display, line, s.low or "")
            high = _number(row.get(s.high) if s.high else None, display, line,
                           s.high or "")
            if low is None and high is None:
                continue
            if low is not None and high is not None and low > high:
                raise UserError(f"low {low:g} is above high {high:g}", file=display,
                                line=line, field=s.low)
            estimate = None
            if spec.about and low is not None and low == high:
                estimate = low
                low, high = low * (1 - spec.about), high * (1 + spec.about)
            out.append(Observation(len(out), line, date, window, s.model, low, high,
                                   s.weight, s.label or s.model, estimate))
    if not out:
        raise UserError("no observations with a bound", file=display)
    return out, display


def conflicts(observations: list[Observation]) -> list[str]:
    """Pairs of observations that no non-decreasing cumulative curve can satisfy together.

    A cumulative count cannot fall, so a lower bound on one date must not exceed an upper
    bound on a later date; and an increase over ``past-N-days`` cannot exceed an upper bound
    on (or after) its date minus a lower bound on (or before) the start of its window.

    >>> d = dt.date
    >>> obs = [Observation(0, 2, d(2025, 1, 1), None, "c", 3000, None),
    ...        Observation(1, 3, d(2025, 1, 20), None, "c", 2500, 2600)]
    >>> conflicts(obs)
    ['c: line 2 (>= 3000 on 2025-01-01) and line 3 (<= 2600 on 2025-01-20) need the count to fall']
    """
    out: list[str] = []
    for column in dict.fromkeys(o.model for o in observations):
        cum = [o for o in observations if o.model == column and o.window is None]
        for a in cum:
            for b in cum:
                if (a.low is not None and b.high is not None and a.date <= b.date
                        and a.low > b.high):
                    out.append(f"{column}: line {a.line} (>= {a.low:g} on {a.date}) and line "
                               f"{b.line} (<= {b.high:g} on {b.date}) need the count to fall")
        for w in observations:
            if w.model != column or w.window is None or w.low is None:
                continue
            start = w.date - dt.timedelta(days=w.window)
            floors = [(o.low, o) for o in cum if o.low is not None and o.date <= start]
            floor, below = max(floors, key=lambda t: t[0], default=(0.0, None))
            for b in cum:
                if b.high is not None and b.date >= w.date and b.high - floor < w.low:
                    since = "" if below is None else f" and line {below.line} (>= {floor:g} " \
                        f"on {below.date})"
                    out.append(f"{column}: line {w.line} (+{w.low:g} in the {w.window} days "
                               f"to {w.date}){since} exceed line {b.line} (<= {b.high:g} on "
                               f"{b.date})")
    return out


def implied_rates(observations: list[Observation]) -> pd.DataFrame:
    """Daily increase each column must average between consecutive cumulative dates.

    For dates ``a < b`` with the tightest bounds on each, the mean daily increase lies in
    ``[max(0, low_b - high_a), high_b - low_a] / (b - a)`` (open bounds give NaN): a quick
    read of what the data ask of any model before fitting one.
    """
    rows = []
    for column in dict.fromkeys(o.model for o in observations):
        by_date: dict[dt.date, list[float | None]] = {}
        for o in observations:
            if o.model == column and o.window is None:
                low, high = by_date.setdefault(o.date, [None, None])
                by_date[o.date] = [
                    o.low if low is None or (o.low is not None and o.low > low) else low,
                    o.high if high is None or (o.high is not None and o.high < high) else high]
        dates = sorted(by_date)
        for a, b in zip(dates, dates[1:], strict=False):
            (low_a, high_a), (low_b, high_b) = by_date[a], by_date[b]
            days = (b - a).days
            least = max(0.0, low_b - high_a) if low_b is not None and high_a is not None \
                else 0.0
            most = (high_b - (low_a or 0.0)) if high_b is not None else float("nan")
            rows.append({"series": column, "from": a, "to": b, "days": days,
                         "min_per_day": least / days, "max_per_day": most / days})
    return pd.DataFrame(rows, columns=["series", "from", "to", "days", "min_per_day",
                                       "max_per_day"])


def model_values(daily: Any, observations: list[Observation]) -> dict[str, float]:
    """The model's value for each observation from a daily table (Arrow or pandas)."""
    frame = daily.to_pandas() if hasattr(daily, "to_pandas") else daily
    if "date" not in frame.columns:
        raise UserError("the model's daily table has no 'date' column", field="observed")
    dates = [d if isinstance(d, dt.date) else pd.Timestamp(d).date() for d in frame["date"]]
    index = {d: i for i, d in enumerate(dates)}
    first, last = (min(dates), max(dates)) if dates else (None, None)
    out: dict[str, float] = {}
    for obs in observations:
        if obs.model not in frame.columns:
            raise UserError(f"the model's daily table has no column {obs.model!r} "
                            f"(columns: {', '.join(map(str, frame.columns))})",
                            field="observed.series")
        column = frame[obs.model].to_numpy(dtype=float)
        if obs.date not in index:
            raise UserError(f"observation of {obs.date} (line {obs.line}) is outside the "
                            f"model's days {first}..{last}", field="observed")
        value = float(column[index[obs.date]])
        if obs.window is not None:
            before = obs.date - dt.timedelta(days=obs.window)
            value -= float(column[index[before]]) if before in index else 0.0
        out[obs.metric] = value
    return out


@dataclass
class CalibrationPlan:
    """A loaded calibration file."""

    spec: Calibration
    file: str
    lines: Lines
    model: ModelKind
    scenario: str
    observations: list[Observation]
    observed_file: str
    fixed: list[str] = field(default_factory=list)
    key: str = ""

    @property
    def columns(self) -> list[str]:
        """Daily-table columns kept for each run."""
        return ["date", "day", *dict.fromkeys(o.model for o in self.observations)]


def load_calibration(path: str | os.PathLike) -> CalibrationPlan:
    """Read and check a calibration file and its observations."""
    data, lines, display = read_yaml(path, "calibration")
    spec: Calibration = validate_model(data, Calibration, file=display, lines=lines,
                                       what="calibration")
    base_dir = Path(path).resolve().parent
    model, scenario = resolve_model(data, lines, display, base_dir, spec.kind, spec.scenario)
    overrides, parameters = file_paths(spec.overrides, spec.parameters, base_dir, display,
                                       lines, section="parameters")
    if (overrides, parameters) != (spec.overrides, spec.parameters):
        spec = spec.model_copy(update={"overrides": overrides, "parameters": parameters})
    fixed = [assignment(p, v) for p, v in spec.overrides.items()]
    check_overrides(model, scenario, fixed, spec.parameters, display, lines,
                    section="parameters")
    observations, observed_file = read_observations(
        spec.observed, base_dir, file=display, line=lines.get(("observed", "file")))
    plan = CalibrationPlan(spec, display, lines, model, scenario, observations,
                           observed_file, fixed)
    fingerprint = model.fingerprint(scenario) if model.fingerprint and scenario else scenario
    plan.key = sha256_of(jsonable({
        "format": 1, "calibration": True, "kind": model.name, "scenario": fingerprint,
        "overrides": fixed, "parameters": {p: f.model_dump(mode="json")
                                           for p, f in spec.parameters.items()},
        "observations": [[o.date, o.window, o.model, o.low, o.high, o.weight]
                         for o in observations], "seed": spec.seed,
        "batch": spec.batch, "startup": spec.startup_trials, "replicates": spec.replicates,
        "sampler": "tpe"}))
    return plan


# --------------------------------------------------------------------------- results
@dataclass
class CalibrationResult:
    """Trials, best parameters, spread over the best trials and the fit per observation.

    ``trials``: one row per trial (``trial``, ``loss`` and each parameter's value);
    ``spread``: each parameter over the best ``top`` share of trials; ``fit``: one row per
    observation (interval, the best trial's mean, min and max over replicates, loss);
    ``curves``: the daily tables of the best trials; ``note``: what a result read back from
    a store (:func:`stored_calibration`) had to assume, else empty.
    """

    plan: CalibrationPlan
    trials: pd.DataFrame
    best_trial: int
    best_params: dict[str, Any]
    best_loss: float
    spread: pd.DataFrame
    fit: pd.DataFrame
    curves: pd.DataFrame
    seconds: float = 0.0
    ran: int = 0
    note: str = ""

    def plot(self, path: str | os.PathLike | None = None) -> Figure:
        """The best trial's curves (each replicate and the mean) against the observations,
        with the best ``top`` share of trials' mean curves in grey; PNG if ``path``."""
        import matplotlib.dates as mdates
        from matplotlib.figure import Figure

        groups = list(dict.fromkeys((o.model, o.window) for o in self.plan.observations))
        fig = Figure(figsize=(8, 3.2 * len(groups)), layout="constrained")
        axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
        curves = self.curves
        for ax, (column, window) in zip(axes, groups, strict=True):
            def shaped(frame: pd.DataFrame, col: str = column,
                       win: int | None = window) -> list[float]:
                return windowed(list(frame["date"]), frame[col].to_numpy(dtype=float), win)

            others = curves[curves.trial != self.best_trial]
            for i, (_, group) in enumerate(others.groupby("trial")):
                mean = group.groupby("date")[column].mean().reset_index()
                ax.plot(pd.to_datetime(mean["date"]), shaped(mean), color="0.75", lw=0.8,
                        label=f"other top {self.plan.spec.top:.0%} trials" if i == 0 else None)
            best = curves[curves.trial == self.best_trial]
            for _, rep in best.groupby("replicate"):
                ax.plot(pd.to_datetime(rep["date"]), shaped(rep), color="#2e86c1",
                        lw=0.7, alpha=0.6)
            mean = best.groupby("date")[column].mean().reset_index()
            ax.plot(pd.to_datetime(mean["date"]), shaped(mean), color="#1b4f72",
                    lw=2, label=f"best trial {self.best_trial}")
            span = max(ax.get_ylim()[1] - ax.get_ylim()[0], 1e-9)
            labelled = False
            for obs in self.plan.observations:
                if (obs.model, obs.window) != (column, window):
                    continue
                x = pd.Timestamp(obs.date)
                style = {"color": "#c0392b", "label": None if labelled else "reported interval"}
                labelled = True
                if obs.low is not None and obs.high is not None:
                    ax.plot([x, x], [obs.low, obs.high], lw=3, solid_capstyle="butt", **style)
                    ax.plot([x, x], [obs.low, obs.high], "_", color="#c0392b", ms=10, mew=2)
                    continue
                bound = obs.low if obs.low is not None else obs.high
                step = 0.08 * span * (1 if obs.low is not None else -1)
                ax.plot([x], [bound], "_", ms=12, mew=2, **style)
                ax.annotate("", xy=(x, bound + step), xytext=(x, bound),
                            arrowprops={"arrowstyle": "->", "color": "#c0392b"})
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.set_title(column + ("" if window is None else f", past {window} days"))
            ax.set_ylabel(column)
            ax.legend(loc="upper left", fontsize=8)
        fig.suptitle(f"{self.plan.spec.name}: loss {self.best_loss:.4g}")
        if path is not None:
            from dronefront.io.outputs import save_figure

            save_figure(fig, path, dpi=120)
        return fig


def windowed(dates: list[Any], values: Any, window: int | None) -> list[float]:
    """A cumulative series as is (``window`` None) or as its increase over ``window`` days.

    >>> d = [dt.date(2025, 1, i) for i in range(1, 5)]
    >>> windowed(d, [1.0, 3.0, 6.0, 10.0], 2)
    [1.0, 3.0, 5.0, 7.0]
    """
    days = [x if isinstance(x, dt.date) else pd.Timestamp(x).date() for x in dates]
    vals = [float(v) for v in values]
    if window is None:
        return vals
    at = dict(zip(days, vals, strict=True))
    return [v - at.get(d - dt.timedelta(days=window), 0.0) for d, v in zip(days, vals,
                                                                             strict=True)]


def _distributions(spec: Calibration) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for path, f in spec.parameters.items():
        if f.levels is not None:
            out[path] = CategoricalDistribution(list(range(len(f.levels))))
        elif f.integer:
            out[path] = IntDistribution(int(f.range[0]), int(f.range[1]), log=f.log)  # type: ignore[index]
        else:
            out[path] = FloatDistribution(f.range[0], f.range[1], log=f.log)  # type: ignore[index]
    return out


def _values(spec: Calibration, params: dict[str, Any]) -> tuple[dict[str, Any], list[float]]:
    values: dict[str, Any] = {}
    unit: list[float] = []
    for path, f in spec.parameters.items():
        raw = params[path]
        if f.levels is not None:
            values[path] = f.levels[int(raw)]
            unit.append((int(raw) + 0.5) / len(f.levels))
        else:
            low, high = f.range  # type: ignore[misc]
            values[path] = int(raw) if f.integer else float(raw)
            if f.log:
                unit.append((math.log(raw) - math.log(low)) / (math.log(high) - math.log(low)))
            else:
                unit.append((float(raw) - low) / (high - low))
    return values, unit


def calibrate(
    calibration: CalibrationPlan | str | os.PathLike,
    *,
    executor: str | Executor = "local",
    store: str | os.PathLike | Store = DEFAULT_STORE,
    workers: int | None = None,
    ray_address: str | None = None,
    trials: int | None = None,
    progress: Any = None,
) -> CalibrationResult:
    """Fit the parameters with Optuna's seeded TPE sampler; trials run through an executor.

    ``progress(done, total)`` counts runs (trials x replicates). Results are identical on
    every executor: trials are asked in fixed batches of ``batch``.
    """
    import optuna

    from dronefront import __version__

    plan = calibration if isinstance(calibration, CalibrationPlan) \
        else load_calibration(calibration)
    spec = plan.spec
    n_trials = trials or spec.trials
    limits.check("runs", n_trials * spec.replicates, field="trials", unit=f"runs "
                 f"({limits.fmt(n_trials)} trials x {spec.replicates} replicates)")
    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=spec.seed, multivariate=True,
                                             constant_liar=True,
                                             n_startup_trials=spec.startup_trials)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    dists = _distributions(spec)
    own_store = not isinstance(store, Store)
    db = Store(store) if own_store else store  # type: ignore[arg-type]
    ex: Executor | None = None
    ran = 0
    total = n_trials * spec.replicates
    try:
        db.register(plan.key, {
            "name": spec.name, "kind": plan.model.name, "scenario": plan.scenario,
            "file": plan.file, "spec": spec.model_dump(mode="json", exclude_unset=True),
            "factors": {p: f.model_dump(mode="json") for p, f in spec.parameters.items()},
            "design": {"type": "calibration", "sampler": "tpe", "seed": spec.seed},
            "replicates": spec.replicates, "version": __version__}, [])
        finished = db.finished(plan.key)
        done = sum(1 for p, r in finished if p < n_trials and r < spec.replicates)
        if progress is not None:
            progress(done, total)
        checked = [False]

        def on_output(out: Output) -> tuple[dict[str, float | None], Any]:
            if out.series is None:
                raise UserError(f"model kind {plan.model.name!r} returned no daily table",
                                file=plan.file, field="kind")
            try:
                values = model_values(out.series, plan.observations)
            except UserError as exc:
                raise UserError(exc.message, file=plan.file,
                                line=plan.lines.get((exc.field or "observed",)),
                                field=exc.field) from None
            checked[0] = True
            return dict(values), out.series

        for first in range(0, n_trials, spec.batch):
            asked = []
            for _ in range(min(spec.batch, n_trials - first)):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    trial = study.ask(dists)
                values, unit = _values(spec, trial.params)
                if not db.add_point(plan.key, trial.number, values, unit):
                    db.replace_point(plan.key, trial.number, values, unit)
                    finished = {k for k in finished if k[0] != trial.number}
                asked.append((trial, values))
            tasks = [Task(t.number, r, spec.seed + r,
                          plan.fixed + [assignment(p, v) for p, v in values.items()])
                     for r in range(spec.replicates) for t, values in asked
                     if (t.number, r) not in finished]
            if tasks:
                if ex is None:
                    ex = executor if isinstance(executor, Executor) else make_executor(
                        executor, workers=workers, ray_address=ray_address)

                def tick(n: int) -> None:
                    nonlocal done
                    done += n
                    if progress is not None:
                        progress(done, total)

                ran += execute(store=db, key=plan.key, model=plan.model,
                               scenario=plan.scenario, tasks=tasks, executor=ex,
                               file=plan.file, on_output=on_output, want_series=True,
                               columns=plan.columns, progress=tick)
            long = db.metrics(plan.key, points=[t.number for t, _ in asked],
                              replicates=spec.replicates)
            for trial, _ in asked:
                study.tell(trial, trial_loss(plan, long[long.point == trial.number]))
        result = _result(plan, db, [(t.number, _values(spec, t.params)[0], t.value)
                                    for t in study.trials[:n_trials]])
        result.seconds = time.perf_counter() - started
        result.ran = ran
        return result
    finally:
        if ex is not None and not isinstance(executor, Executor):
            ex.close()
        if own_store:
            db.close()


def trial_loss(plan: CalibrationPlan, long: pd.DataFrame) -> float:
    if long.empty:
        return float("inf")
    means = long.groupby("metric")["value"].mean()
    total = weight = 0.0
    for obs in plan.observations:
        value = float(means.get(obs.metric, float("nan")))
        total += obs.weight * interval_loss(value, obs.low, obs.high)
        weight += obs.weight
    return total / weight


def _result(plan: CalibrationPlan, db: Store,
            scored: list[tuple[int, dict[str, Any], float]]) -> CalibrationResult:
    """The result of ``scored`` trials, each ``(number, parameter values, loss)``."""
    spec = plan.spec
    trials = pd.DataFrame([{"trial": n, "loss": loss, **values} for n, values, loss in scored])
    order = trials.sort_values(["loss", "trial"], kind="stable")
    best = order.iloc[0]
    best_trial = int(best["trial"])
    k = max(1, int(math.ceil(spec.top * len(trials))))
    top = order.head(k)
    spread_rows = []
    for path, f in spec.parameters.items():
        col = top[path]
        if f.levels is None:
            v = col.astype(float)
            spread_rows.append({"parameter": path, "best": best[path], "mean": v.mean(),
                                "std": v.std(ddof=1) if len(v) > 1 else 0.0, "min": v.min(),
                                "q25": v.quantile(0.25), "median": v.median(),
                                "q75": v.quantile(0.75), "max": v.max(),
                                "range_share": (v.max() - v.min()) / (f.range[1] - f.range[0])})  # type: ignore[index]
        else:
            counts = col.map(lambda v: json.dumps(jsonable(v))).value_counts()
            spread_rows.append({"parameter": path, "best": best[path],
                                "mode": json.loads(counts.index[0]),
                                "share": counts.iloc[0] / len(col)})
    spread = pd.DataFrame(spread_rows)
    long = db.metrics(plan.key, points=[best_trial], replicates=spec.replicates)
    fit_rows = []
    for obs in plan.observations:
        vals = long[long.metric == obs.metric]["value"].to_numpy(dtype=float)
        mean = float(vals.mean()) if vals.size else float("nan")
        fit_rows.append({"line": obs.line, "date": obs.date, "window": obs.window_text,
                         "series": obs.label, "reported": obs.estimate,
                         "low": obs.low, "high": obs.high,
                         "model": mean, "model_min": float(vals.min()) if vals.size else None,
                         "model_max": float(vals.max()) if vals.size else None,
                         "loss": interval_loss(mean, obs.low, obs.high)})
    curves = []
    for trial in top["trial"].astype(int):
        table = db.timeseries(plan.key, int(trial))
        if table is not None:
            frame = table.to_pandas()
            frame = frame[frame.replicate < spec.replicates]
            curves.append(frame.rename(columns={"point": "trial"}))
    curve_frame = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["trial", "replicate", *plan.columns])
    return CalibrationResult(plan, trials, best_trial,
                             {p: jsonable(best[p]) for p in spec.parameters},
                             float(best["loss"]), spread, pd.DataFrame(fit_rows), curve_frame)


# --------------------------------------------------------------------------- reading back
def stored_calibration(store: Store | str | os.PathLike,
                       experiment: StoredExperiment | str) -> CalibrationResult:
    """A calibration read back from its store without running the model: each stored trial
    scored again against the observations, the best trial, the spread and the fit.

    ``experiment``: a record of :meth:`Store.experiments`, or a calibration's name or the
    start of its hash. The calibration file is used if it is still where it was recorded
    (as given, then beside the store) with the same hash; otherwise the plan is rebuilt from
    the spec recorded in the store and the observations are read again, which
    ``result.note`` says. A UserError says why when that is not possible (no observations
    file, no finished trial, unreadable time series).
    """
    import pyarrow as pa

    db = store if isinstance(store, Store) else open_store(store)
    try:
        if isinstance(experiment, str):
            found = db.select(experiment)
            experiment = ([e for e in found if e.is_calibration] or found)[-1]
        if not experiment.is_calibration:
            raise UserError(f"{experiment.name!r} is a designed experiment, not a calibration",
                            file=str(db.path))
        plan, note = stored_plan(experiment, db.path)
        long = db.metrics(experiment.key, replicates=plan.spec.replicates)
        scored = []
        for row in db.points(experiment.key).itertuples(index=False):
            mine = long[long.point == row.point]
            if mine.empty:
                continue
            values = {p: (row.values.get(p) if f.levels is not None
                          else int(row.values[p]) if f.integer else float(row.values[p]))
                      for p, f in plan.spec.parameters.items()}
            scored.append((int(row.point), values, trial_loss(plan, mine)))
        if not scored:
            raise UserError("no finished trials yet", file=str(db.path))
        try:
            result = _result(plan, db, scored)
        except (OSError, pa.ArrowException) as exc:  # the reader's text may quote the file
            raise UserError(f"cannot read the stored time series ({exc.__class__.__name__})",
                            file=str(db.series_dir)) from None
    finally:
        if db is not store:
            db.close()
    result.note = note
    return result


def stored_plan(e: StoredExperiment, store: Path) -> tuple[CalibrationPlan, str]:
    """The plan of a stored calibration and a note on what it had to assume (see
    :func:`stored_calibration`)."""
    from pydantic import ValidationError

    recorded = Path(e.file) if e.file else None
    folder = store.resolve().parent
    candidates = [] if recorded is None else [recorded, folder / recorded,
                                              folder / recorded.name]
    for candidate in candidates:
        if candidate.is_file():
            try:
                plan = load_calibration(candidate)
            except UserError:
                continue
            if plan.key == e.key:
                return plan, ""
    try:
        spec = Calibration.model_validate(e.spec)
    except ValidationError as exc:
        raise UserError(f"its recorded spec no longer validates: "
                        f"{str(exc).splitlines()[0]}", file=str(store)) from None
    spec = spec.model_copy(update={"replicates": max(e.replicates, 1)})
    for base in dict.fromkeys([*(c.parent for c in candidates), folder]):
        try:
            observations, observed_file = read_observations(spec.observed, base)
        except UserError:
            continue
        plan = CalibrationPlan(spec, e.file or e.name, {}, None, e.scenario,  # type: ignore[arg-type]
                               observations, observed_file,
                               [f"{k}={v}" for k, v in spec.overrides.items()], e.key)
        return plan, (f"The calibration file {e.file or '?'} has changed or moved; the fit "
                      f"is scored against the observations in {observed_file} as they are "
                      "now.")
    raise UserError(f"the observations file {spec.observed.file!r} (relative to "
                    f"{e.file or 'the calibration file'}) was not found, so losses and the "
                    "fit cannot be shown", file=str(store))


__all__ = ["Calibration", "CalibrationPlan", "CalibrationResult", "Observation", "calibrate",
           "conflicts", "implied_rates", "interval_loss", "load_calibration", "model_values",
           "read_observations", "stored_calibration"]
