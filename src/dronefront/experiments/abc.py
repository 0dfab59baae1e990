"""Bayesian calibration: a posterior over the fitted parameters by pyABC's ABC-SMC.

``dronefront calibrate FILE --method abc`` reads the same calibration file as the Optuna
point fit (:mod:`dronefront.experiments.calibration`) and returns weighted particles that
approximate the posterior of the parameters given the interval observations.

How it works (details and defaults in ``docs/experiments.md``):

- Every parameter is mapped to a unit coordinate ``u`` in [0, 1] (a ``log`` range on the
  log scale, ``levels`` as equal slices, integers rounded), with a uniform prior on ``u``.
  So the prior is the file's range, flat on the scale the file asks for.
- The distance of a particle is the calibration loss: the weighted mean over observations
  of :func:`~dronefront.experiments.calibration.interval_loss` of the mean over
  ``replicates`` seeds. It is 0 when the replicate mean lies in every interval, so at
  epsilon 0 the posterior is the prior restricted to where the model reproduces the data.
- Epsilon: infinity in generation 0 (a prior sample), then the weighted median of the last
  generation's distances (pyABC's ``QuantileEpsilon``); stop at epsilon 0, after
  ``generations`` generations, when the acceptance rate falls below ``min_acceptance``, or
  when ``max_runs`` runs are spent (a run is one replicate; a proposal runs ``replicates``).
  The budget holds inside a generation: one it cuts short is dropped, never stored, and
  the posterior is the last finished generation. Proposals: pyABC's multivariate normal
  kernel.
- Simulations run through dronefront's executors (local, processes, Ray) and are stored in
  the experiment store as trials of the calibration (one design point per distinct
  parameter set, replicate ``r`` with seed ``seed + r``), so a rerun after Ctrl-C answers
  every simulation it already ran from the store. pyABC's own history (generations,
  epsilons, particles) is an SQLite file beside the store, and a rerun continues after its
  last finished generation (``ABCSMC.load``).
- Determinism: :class:`_StoreSampler` seeds NumPy's global generator (which pyABC draws
  from) with ``(seed, generation)`` at the start of each generation and asks for
  simulations in batches of at most ``batch`` parameter sets, whatever the executor and
  its number of workers. When pyABC asks for a parameter set that has not been simulated,
  the sampler notes it and the next proposals (drawing on from the same generator state;
  no more new sets than the generation will still evaluate or the budget allows), runs
  them as one batch, then rewinds the generator to just before the missed proposal and
  goes on; so the particles are exactly those of a sequential run.

Identification: for each parameter, the ratio of the posterior's weighted 5-95% interval
width to the prior's (0.9 in unit coordinates). A ratio below :data:`IDENTIFIED` (0.5) says
the data pin the parameter down to under half of its range; above it, the data say little.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dronefront import limits
from dronefront.errors import UserError
from dronefront.experiments.calibration import (
    CalibrationPlan,
    Observation,
    load_calibration,
    model_values,
    trial_loss,
)
from dronefront.experiments.executors import Executor, Output, Task, make_executor
from dronefront.experiments.runner import assignment, execute
from dronefront.experiments.spec import Factor
from dronefront.experiments.store import DEFAULT_STORE, Store
from dronefront.io.jsonable import jsonable
from dronefront.io.rundir import sha256_of

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Posterior/prior 90% interval width ratio under which a parameter counts as identified.
IDENTIFIED = 0.5


# --------------------------------------------------------------------------- coordinates
def decode(factor: Factor, u: float) -> Any:
    """The parameter value at unit coordinate ``u`` (clipped to [0, 1]).

    >>> decode(Factor(range=[1.0, 100.0], log=True), 0.5)
    10.000000000000002
    >>> levels, count = Factor(levels=["a", "b", "c"]), Factor(range=[1, 6], integer=True)
    >>> decode(levels, 0.99), decode(count, 0.5)
    ('c', 4)
    """
    u = min(max(float(u), 0.0), 1.0)
    if factor.levels is not None:
        return factor.levels[min(int(u * len(factor.levels)), len(factor.levels) - 1)]
    low, high = factor.range  # type: ignore[misc]
    if factor.log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    return int(round(value)) if factor.integer else float(value)


def encode(factor: Factor, value: Any) -> float:
    """The unit coordinate of a parameter value (the centre of its slice for levels).

    >>> encode(Factor(range=[0.0, 2.0]), 0.5)
    0.25
    """
    if factor.levels is not None:
        index = [json.dumps(jsonable(v)) for v in factor.levels].index(
            json.dumps(jsonable(value)))
        return (index + 0.5) / len(factor.levels)
    low, high = factor.range  # type: ignore[misc]
    if factor.log:
        return (math.log(float(value)) - math.log(low)) / (math.log(high) - math.log(low))
    return (float(value) - low) / (high - low)


def until_plan(plan: CalibrationPlan, until: dt.date | None) -> CalibrationPlan:
    """The plan with only the observations dated on or before ``until`` (renumbered)."""
    if until is None:
        return plan
    kept = [dataclasses.replace(o, index=i) for i, o in
            enumerate(o for o in plan.observations if o.date <= until)]
    if not kept:
        raise UserError(f"no observation is dated on or before {until}", file=plan.file,
                        field="until")
    return dataclasses.replace(plan, observations=kept,
                               key=sha256_of({"plan": plan.key, "until": until.isoformat()}))


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ABCSettings:
    """ABC-SMC settings (defaults: see ``docs/experiments.md``)."""

    population: int = 20
    generations: int = 5
    min_acceptance: float = 0.04
    max_runs: int = 1300
    batch: int = 8

    def check(self) -> None:
        """Raise a UserError on a setting out of bounds."""
        if self.population < 4:
            raise UserError("population must be at least 4", field="population")
        if self.generations < 1:
            raise UserError("generations must be at least 1", field="generations")
        if not 0 <= self.min_acceptance < 1:
            raise UserError("min_acceptance must be in [0, 1)", field="min_acceptance")
        if self.batch < 1:
            raise UserError("batch must be at least 1", field="batch")
        limits.check("runs", self.max_runs, field="max_runs", unit="runs")


def abc_key(plan: CalibrationPlan, settings: ABCSettings) -> str:
    """The store key of an ABC calibration: the plan's content, its observations (after
    ``--until``) and the settings that change which particles are drawn."""
    base = json.loads(json.dumps(jsonable({
        "format": 1, "abc": True, "plan": plan.key, "observations": [
            [o.date, o.window, o.model, o.low, o.high, o.weight] for o in plan.observations],
        "population": settings.population, "batch": settings.batch,
        "seed": plan.spec.seed, "replicates": plan.spec.replicates})))
    return sha256_of(base)


# --------------------------------------------------------------------------- simulations
class _Missing(Exception):
    """pyABC asked for a parameter set that has not been simulated yet."""


class _Oracle:
    """Losses of parameter sets: from the store, or simulated in batches through an executor."""

    def __init__(self, plan: CalibrationPlan, key: str, db: Store, executor: Any,
                 workers: int | None, ray_address: str | None, progress: Any) -> None:
        self.plan, self.key, self.db = plan, key, db
        self.executor_arg, self.workers, self.ray_address = executor, workers, ray_address
        self.executor: Executor | None = None
        self.progress = progress
        self.params = list(plan.spec.parameters.items())
        self.points: dict[str, int] = {}
        self.losses: dict[str, float] = {}
        self.recording = False
        self.wanted: dict[str, dict[str, Any]] = {}
        self.ran = 0
        self.asked = 0
        reps = plan.spec.replicates
        long = db.metrics(key, replicates=reps)
        finished = db.finished(key)
        for row in db.points(key).itertuples(index=False):
            text = self.text(row.values)
            self.points[text] = int(row.point)
            if all((int(row.point), r) in finished for r in range(reps)):
                self.losses[text] = trial_loss(plan, long[long.point == row.point])

    def values(self, unit: dict[str, float]) -> dict[str, Any]:
        return {p: decode(f, unit[p]) for p, f in self.params}

    @staticmethod
    def text(values: dict[str, Any]) -> str:
        return json.dumps(jsonable(values), sort_keys=True)

    def loss(self, unit: dict[str, float]) -> float:
        values = self.values(unit)
        text = self.text(values)
        self.asked += 1
        if text in self.losses:
            return self.losses[text]
        if self.recording:
            self.wanted.setdefault(text, values)
            return math.inf
        self.wanted.setdefault(text, values)
        raise _Missing(text)

    def run_wanted(self) -> None:
        """Simulate every wanted parameter set (all replicates) and store the runs."""
        plan, spec = self.plan, self.plan.spec
        wanted, self.wanted = self.wanted, {}
        points = []
        finished = self.db.finished(self.key)
        for text, values in wanted.items():
            point = self.points.get(text)
            if point is None:
                point = len(self.points)
                unit = [encode(f, values[p]) for p, f in self.params]
                if not self.db.add_point(self.key, point, json.loads(text), unit):
                    raise UserError("the store holds another trial under this number; use a "
                                    "new store", file=str(self.db.path))
                self.points[text] = point
            points.append(point)
        tasks = [Task(point, r, spec.seed + r,
                      plan.fixed + [assignment(p, v) for p, v in wanted[text].items()])
                 for text, point in ((t, self.points[t]) for t in wanted)
                 for r in range(spec.replicates) if (point, r) not in finished]
        if tasks:
            if self.executor is None:
                self.executor = self.executor_arg if isinstance(self.executor_arg, Executor) \
                    else make_executor(self.executor_arg, workers=self.workers,
                                       ray_address=self.ray_address)

            def on_output(out: Output) -> tuple[dict[str, float | None], Any]:
                if out.series is None:
                    raise UserError(f"model kind {plan.model.name!r} returned no daily table",
                                    file=plan.file, field="kind")
                try:
                    return dict(model_values(out.series, plan.observations)), out.series
                except UserError as exc:
                    raise UserError(exc.message, file=plan.file,
                                    line=plan.lines.get((exc.field or "observed",)),
                                    field=exc.field) from None

            def tick(n: int) -> None:
                self.ran += n
                if self.progress is not None:
                    self.progress(self.ran)

            execute(store=self.db, key=self.key, model=plan.model, scenario=plan.scenario,
                    tasks=tasks, executor=self.executor, file=plan.file, on_output=on_output,
                    want_series=True, columns=plan.columns, progress=tick)
        long = self.db.metrics(self.key, points=points, replicates=spec.replicates)
        for text in wanted:
            self.losses[text] = trial_loss(plan, long[long.point == self.points[text]])

    def close(self) -> None:
        if self.executor is not None and not isinstance(self.executor_arg, Executor):
            self.executor.close()


def _sampler_class() -> type:
    """pyABC's Sampler subclass (built lazily: pyabc is an optional dependency)."""
    import pyabc

    class StoreSampler(pyabc.sampler.Sampler):
        """Deterministic batches through an :class:`_Oracle` (see the module docstring)."""

        def __init__(self, oracle: _Oracle, seed: int, batch: int) -> None:
            super().__init__()
            self.oracle, self.seed, self.batch = oracle, seed, batch
            self.calls = 0
            #: the generation the budget cut short: (t, evaluations, accepted), else None
            self.cut: tuple[int, int, int] | None = None

        def sample_until_n_accepted(self, n: int, simulate_one: Any, t: int, *,
                                    max_eval: float = np.inf, all_accepted: bool = False,
                                    ana_vars: Any = None) -> Any:
            # pyABC draws from NumPy's legacy global generator, so that is what is seeded
            np.random.seed([self.seed, 104729, t + 1, self.calls])  # noqa: NPY002
            self.calls += 1
            # The budget holds inside a generation: pyABC's AnalysisVars carry the total
            # budget and what the stored generations spent; at most the rest is evaluated,
            # and a generation that reaches it short of n particles is returned not ok,
            # which pyABC drops (never stored) before it stops.
            budget = np.inf
            if ana_vars is not None and not all_accepted:
                budget = (ana_vars.max_total_nr_simulations
                          - ana_vars.prev_total_nr_simulations)
            limit = min(max_eval, budget)
            sample = self._create_empty_sample()
            evaluations = 0
            while sample.n_accepted < n and evaluations < limit:
                state = np.random.get_state()  # noqa: NPY002
                try:
                    particle = simulate_one()
                except _Missing:
                    # the batch: the missed proposal and the next ones, never more new
                    # parameter sets than the generation will evaluate (each evaluation
                    # accepts at most one particle) or the budget has left, so that every
                    # simulation a fresh fit runs is one pyABC counts
                    size = int(min(self.batch, n - sample.n_accepted, limit - evaluations))
                    self.oracle.recording = True
                    try:
                        while len(self.oracle.wanted) < size:
                            simulate_one()
                    finally:
                        self.oracle.recording = False
                    self.oracle.run_wanted()
                    np.random.set_state(state)  # noqa: NPY002
                    continue
                sample.append(particle)
                evaluations += 1
            self.nr_evaluations_ = evaluations
            if sample.n_accepted < n:
                sample.ok = False
                if evaluations >= budget:  # not the min_acceptance stop
                    self.cut = (t, evaluations, int(sample.n_accepted))
            return sample

    return StoreSampler


# --------------------------------------------------------------------------- results
@dataclass
class ABCResult:
    """A posterior: weighted particles of the last generation, with what led to them.

    ``particles``: one row per particle (``weight``, ``distance``, each parameter's value,
    and ``u:<parameter>``, its unit coordinate); ``generations``: per generation its epsilon,
    particles, simulations and acceptance rate; ``identification``: per parameter the
    posterior median, 5% and 95% quantiles, width ratio and verdict.
    """

    plan: CalibrationPlan
    key: str
    settings: ABCSettings
    particles: pd.DataFrame
    generations: pd.DataFrame
    identification: pd.DataFrame
    until: dt.date | None = None
    seconds: float = 0.0
    ran: int = 0
    history: str = ""
    #: the generation the budget stopped before it had ``population`` particles (dropped:
    #: ``generation``, ``proposals`` evaluated, ``accepted``), or None
    cut: dict[str, int] | None = None

    @property
    def medians(self) -> dict[str, Any]:
        """The posterior's weighted median of each parameter (levels: the weighted mode)."""
        return {r.parameter: r.median for r in self.identification.itertuples(index=False)}

    def plot_marginals(self, path: str | os.PathLike | None = None) -> Figure:
        """Each parameter's weighted posterior histogram over its prior range."""
        from matplotlib.figure import Figure

        params = list(self.plan.spec.parameters)
        cols = min(3, len(params))
        rows = math.ceil(len(params) / cols)
        fig = Figure(figsize=(3.6 * cols, 2.6 * rows), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        w = self.particles["weight"].to_numpy(float)
        for ax, p in zip(axes, params, strict=False):
            u = self.particles[f"u:{p}"].to_numpy(float)
            ax.hist(u, bins=12, range=(0, 1), weights=w, color="#2e86c1", alpha=0.8)
            ax.axhline(1 / 12, color="0.5", ls="--", lw=1, label="prior")
            row = self.identification.set_index("parameter").loc[p]
            ax.set_title(f"{_short(p)}\nwidth ratio {row.width_ratio:.2f}", fontsize=8)
            f = self.plan.spec.parameters[p]
            ax.set_xticks([0, 0.5, 1], [_tick(f, 0), _tick(f, 0.5), _tick(f, 1)], fontsize=7)
        for ax in axes[len(params):]:
            ax.set_visible(False)
        fig.suptitle(f"{self.plan.spec.name}: posterior marginals")
        _save(fig, path)
        return fig

    def plot_pairs(self, path: str | os.PathLike | None = None) -> Figure:
        """Pairwise scatter of the particles in unit coordinates, size by weight."""
        from matplotlib.figure import Figure

        params = list(self.plan.spec.parameters)
        k = len(params)
        fig = Figure(figsize=(1.8 * k + 1, 1.8 * k + 1), layout="constrained")
        axes = fig.subplots(k, k, squeeze=False)
        w = self.particles["weight"].to_numpy(float)
        size = 4 + 60 * w / max(w.max(), 1e-12)
        for i, pi in enumerate(params):
            for j, pj in enumerate(params):
                ax = axes[i, j]
                if i == j:
                    ax.hist(self.particles[f"u:{pi}"], bins=12, range=(0, 1), weights=w,
                            color="#2e86c1")
                else:
                    ax.scatter(self.particles[f"u:{pj}"], self.particles[f"u:{pi}"], s=size,
                               alpha=0.5, color="#1b4f72")
                    ax.set_ylim(0, 1)
                ax.set_xlim(0, 1)
                ax.tick_params(labelsize=6)
                if i == k - 1:
                    ax.set_xlabel(_short(pj), fontsize=7)
                if j == 0:
                    ax.set_ylabel(_short(pi), fontsize=7)
        fig.suptitle(f"{self.plan.spec.name}: posterior pairs (unit coordinates of the prior "
                     "range)", fontsize=9)
        _save(fig, path)
        return fig


def _short(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[-3:]) if len(parts) > 3 else path


def _tick(f: Factor, u: float) -> str:
    v = decode(f, u)
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _save(fig: Any, path: str | os.PathLike | None) -> None:
    if path is not None:
        from dronefront.io.outputs import save_figure

        save_figure(fig, path, dpi=110)


def weighted_quantile(values: Any, weights: Any, q: Any) -> np.ndarray:
    """Quantiles of a weighted sample (midpoint interpolation of the weighted CDF).

    >>> weighted_quantile([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], [0.5]).round(6).tolist()
    [2.5]
    """
    v = np.asarray(values, float)
    w = np.asarray(weights, float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.atleast_1d(q), cdf, v)


def identification(plan: CalibrationPlan, particles: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: the posterior's median, 5% and 95% quantiles (values), the width of its
    5-95% interval over the prior's (unit coordinates) and whether that is under
    :data:`IDENTIFIED`."""
    rows = []
    w = particles["weight"].to_numpy(float)
    for p, f in plan.spec.parameters.items():
        u = particles[f"u:{p}"].to_numpy(float)
        q05, q50, q95 = weighted_quantile(u, w, [0.05, 0.5, 0.95])
        if f.levels is not None:
            shares = particles.groupby(particles[p].map(lambda v: json.dumps(jsonable(v))))[
                "weight"].sum()
            median: Any = json.loads(shares.idxmax())
        else:
            median = decode(f, q50)
        ratio = (q95 - q05) / 0.9
        rows.append({"parameter": p, "median": median, "q05": decode(f, q05),
                     "q95": decode(f, q95), "width_ratio": float(ratio),
                     "identified": bool(ratio < IDENTIFIED)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- running
def history_path(store: str | os.PathLike, key: str) -> Path:
    """pyABC's SQLite history of a calibration: ``<store>.abc/<key[:16]>.db``."""
    store = Path(store)
    return store.with_name(store.name + ".abc") / f"{key[:16]}.db"


def calibrate_abc(
    calibration: CalibrationPlan | str | os.PathLike,
    *,
    settings: ABCSettings | None = None,
    until: dt.date | None = None,
    executor: str | Executor = "local",
    store: str | os.PathLike | Store = DEFAULT_STORE,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Any = None,
) -> ABCResult:
    """Run (or continue) an ABC-SMC calibration and store its posterior.

    ``until`` keeps only the observations dated on or before it. ``progress(runs)`` is
    called with the number of simulations run so far. A rerun with the same file, settings
    and store continues where the last one stopped and gives the same particles.
    """
    import logging

    import pyabc

    settings = settings or ABCSettings()
    settings.check()
    plan = calibration if isinstance(calibration, CalibrationPlan) \
        else load_calibration(calibration)
    plan = until_plan(plan, until)
    spec = plan.spec
    if trial_budget(settings, spec.replicates) < settings.population:
        raise UserError(f"max_runs must cover generation 0: at least population x "
                        f"replicates = {settings.population * spec.replicates} runs",
                        field="max_runs")
    key = abc_key(plan, settings)
    started = time.perf_counter()
    own_store = not isinstance(store, Store)
    db = Store(store) if own_store else store  # type: ignore[arg-type]
    oracle: _Oracle | None = None
    logging.getLogger("ABC").setLevel(logging.WARNING)
    try:
        from dronefront import __version__

        db.register(key, {
            "name": spec.name, "kind": plan.model.name, "scenario": plan.scenario,
            "file": plan.file, "spec": spec.model_dump(mode="json", exclude_unset=True),
            "factors": {p: f.model_dump(mode="json") for p, f in spec.parameters.items()},
            "design": {"type": "calibration", "sampler": "abc-smc", "seed": spec.seed,
                       "until": until, "settings": dataclasses.asdict(settings)},
            "replicates": spec.replicates, "version": __version__}, [])
        oracle = _Oracle(plan, key, db, executor, workers, ray_address, progress)
        names = list(spec.parameters)
        prior = pyabc.Distribution(**{_pname(i): pyabc.RV("uniform", 0, 1)
                                      for i in range(len(names))})

        def model(pars: dict[str, float]) -> dict[str, float]:
            return {"loss": oracle.loss({p: pars[_pname(i)] for i, p in enumerate(names)})}

        def distance(x: dict, x0: dict) -> float:
            return float(x["loss"])

        hist = history_path(db.path, key)
        hist.parent.mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + str(hist.resolve())
        done = -1
        if hist.exists():
            try:
                h = pyabc.History(url, _id=1)
                done = h.max_t if h.n_populations else -1
            except Exception:  # an unreadable or foreign file: start again
                done = -1
            if done < 0:
                hist.unlink()
        sampler = _sampler_class()(oracle, spec.seed, settings.batch)
        # generation 0 accepts every prior draw; a resumed run takes its first epsilon from
        # the last stored generation, exactly as an uninterrupted run would have
        eps = pyabc.QuantileEpsilon(initial_epsilon="from_sample" if done >= 0 else math.inf,
                                    alpha=0.5)
        abc = pyabc.ABCSMC(model, prior, distance, population_size=settings.population,
                           sampler=sampler, eps=eps)
        if done >= 0:
            abc.load(url, 1, observed_sum_stat={"loss": 0.0})
            sampler.calls = done + 1
        else:
            abc.new(url, {"loss": 0.0})
        left = settings.generations - (done + 1)
        history = abc.history
        if left > 0 and not _stopped(history, settings, spec.replicates):
            with warnings.catch_warnings():  # pyABC compares inf - inf after generation 0
                warnings.simplefilter("ignore", RuntimeWarning)
                # pyABC counts simulations over all stored generations: the whole budget
                history = abc.run(minimum_epsilon=0.0, max_nr_populations=left,
                                  min_acceptance_rate=settings.min_acceptance,
                                  max_total_nr_simulations=trial_budget(settings,
                                                                        spec.replicates))
        result = _abc_result(plan, key, settings, history, names)
        result.cut = None if sampler.cut is None else dict(zip(
            ("generation", "proposals", "accepted"), sampler.cut, strict=True))
        result.until = until
        db.save_posterior(key, result.particles, result.generations)
        result.seconds = time.perf_counter() - started
        result.ran = oracle.ran
        result.history = str(hist)
        return result
    finally:
        if oracle is not None:
            oracle.close()
        if own_store:
            db.close()


def _pname(i: int) -> str:
    return f"p{i}"


def trial_budget(settings: ABCSettings, replicates: int) -> int:
    """The budget in proposals (pyABC's simulations): each runs ``replicates`` campaigns, so
    ``max_runs // replicates``.

    >>> trial_budget(ABCSettings(max_runs=1000), 5)
    200
    """
    return settings.max_runs // replicates


def _stopped(history: Any, settings: ABCSettings, replicates: int) -> bool:
    """Whether a resumed history had already met a stopping rule."""
    if history.n_populations == 0:
        return False
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    last = pops.iloc[-1]
    return bool(last.epsilon <= 0
                or history.total_nr_simulations >= trial_budget(settings, replicates))


def _abc_result(plan: CalibrationPlan, key: str, settings: ABCSettings, history: Any,
                names: list[str]) -> ABCResult:
    frame, w = history.get_distribution(m=0, t=history.max_t)
    pops = history.get_all_populations()
    pops = pops[pops.t >= 0]
    particles = pd.DataFrame({"weight": np.asarray(w, float) / np.sum(w)})
    dist = history.get_weighted_distances(t=history.max_t)
    particles["distance"] = dist["distance"].to_numpy(float)
    for i, p in enumerate(names):
        f = plan.spec.parameters[p]
        u = frame[_pname(i)].to_numpy(float)
        particles[p] = [decode(f, x) for x in u]
        particles[f"u:{p}"] = u
    generations = pd.DataFrame({
        "generation": pops.t.astype(int).to_numpy(),
        "epsilon": pops.epsilon.astype(float).to_numpy(),
        "particles": [int(history.get_nr_particles_per_population().get(t, 0))
                      for t in pops.t],
        "simulations": pops.samples.astype(int).to_numpy() * plan.spec.replicates,
    })
    generations["acceptance"] = generations.particles / (generations.simulations
                                                         / plan.spec.replicates)
    return ABCResult(plan, key, settings, particles, generations,
                     identification(plan, particles))


def posterior_predictive(result: ABCResult, db: Store) -> pd.DataFrame:
    """Per observation: its interval and the weighted 5%, 50% and 95% quantiles, over the
    posterior particles, of the replicate-mean model value (read from the store)."""
    plan = result.plan
    texts = [_Oracle.text({p: row[p] for p in plan.spec.parameters})
             for _, row in result.particles.iterrows()]
    points = {}
    for row in db.points(result.key).itertuples(index=False):
        points[_Oracle.text(row.values)] = int(row.point)
    long = db.metrics(result.key, replicates=plan.spec.replicates)
    means = long.groupby(["point", "metric"])["value"].mean()
    rows = []
    w = result.particles["weight"].to_numpy(float)
    for o in plan.observations:
        vals = np.array([means.get((points.get(t, -1), o.metric), np.nan) for t in texts])
        ok = np.isfinite(vals)
        q = weighted_quantile(vals[ok], w[ok], [0.05, 0.5, 0.95]) if ok.any() \
            else [np.nan] * 3
        rows.append({"line": o.line, "date": o.date, "window": o.window_text,
                     "series": o.label, "low": o.low, "high": o.high, "q05": q[0],
                     "median": q[1], "q95": q[2]})
    return pd.DataFrame(rows)


def _observation_rows(observations: list[Observation]) -> list[dict[str, Any]]:
    return [{"date": o.date.isoformat(), "window": o.window, "model": o.model,
             "low": o.low, "high": o.high, "label": o.label} for o in observations]


__all__ = ["ABCResult", "ABCSettings", "IDENTIFIED", "abc_key", "calibrate_abc", "decode",
           "encode", "history_path", "identification", "posterior_predictive", "trial_budget",
           "until_plan", "weighted_quantile"]
