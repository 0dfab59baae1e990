"""Forecasts with predictive intervals from a posterior.

A :class:`Posterior` is weighted parameter sets plus what to run them on (model kind,
scenario, fixed overrides) and the observations they were fitted to. It comes from an ABC
calibration in an experiment store (:func:`load_posterior` with the calibration's name) or
from a posterior file (YAML: the particles and their provenance; the shipped
``kursk-campaign`` posterior is one, see :func:`builtin_posterior`).

:func:`forecast` draws ``draws`` parameter sets from the posterior (weighted, with
replacement, seeded), runs each once with its own seed (``seed + i``; the default seed
10,000 keeps clear of the calibration's seeds ``seed + replicate``) through an executor to
``until``, and reports per date and series the median and the 50% and 90% predictive
intervals (quantiles 25-75% and 5-95% over the draws). The intervals therefore hold both
the parameter uncertainty and the campaign's own randomness.

>>> q = quantile_table(pd.DataFrame({"draw": [0, 1, 2, 3], "date": [dt.date(2025, 1, 1)] * 4,
...     "cumulative_casualties": [1.0, 2.0, 3.0, 4.0]}), ["cumulative_casualties"])
>>> float(q.loc[0, "median"]), float(q.loc[0, "q05"])
(2.5, 1.15)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from dronefront.errors import UserError
from dronefront.experiments.calibration import Observation
from dronefront.experiments.executors import Executor, Task, make_executor
from dronefront.experiments.models import ATTRITION_DEFAULTS, ModelKind, get_model
from dronefront.experiments.runner import assignment, raise_run_error

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Series a forecast reports (cumulative daily-table columns).
SERIES = ("cumulative_casualties", "cumulative_killed")
#: Quantiles: 90% interval, 50% interval and the median.
QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
FORECAST_SEED = 10_000


@dataclass
class Posterior:
    """Weighted parameter sets and what to run them on."""

    name: str
    kind: str
    scenario: str
    fixed: list[str]
    particles: pd.DataFrame  # ``weight`` and one column per parameter path
    parameters: list[str]
    observations: list[Observation] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> ModelKind:
        return get_model(self.kind)

    def medians(self) -> dict[str, Any]:
        """The weighted median of each numeric parameter, the weighted mode of the others."""
        from dronefront.experiments.abc import weighted_quantile

        w = self.particles["weight"].to_numpy(float)
        out: dict[str, Any] = {}
        for p in self.parameters:
            col = self.particles[p]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                value = float(weighted_quantile(col.to_numpy(float), w, [0.5])[0])
                out[p] = int(round(value)) if pd.api.types.is_integer_dtype(col) else value
            else:
                shares = self.particles.groupby(col.map(json.dumps))["weight"].sum()
                out[p] = json.loads(shares.idxmax())
        return out

    def draw(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` parameter sets drawn with replacement in proportion to the weights."""
        rng = np.random.default_rng([seed, 31337])
        w = self.particles["weight"].to_numpy(float)
        idx = rng.choice(len(w), size=n, replace=True, p=w / w.sum())
        rows = self.particles.iloc[idx]
        return [{p: _plain(r[p]) for p in self.parameters} for _, r in rows.iterrows()]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- loading
def load_posterior(source: str | os.PathLike, store: str | os.PathLike | None = None
                   ) -> Posterior:
    """A posterior from a posterior file (YAML) or an ABC calibration in ``store`` (its
    name or the start of its hash)."""
    path = Path(source)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return read_posterior_file(path)
    from dronefront.experiments.calibration import stored_plan
    from dronefront.experiments.store import DEFAULT_STORE, open_store

    db = open_store(store or DEFAULT_STORE)
    try:
        found = [e for e in db.select(str(source))
                 if e.design.get("sampler") == "abc-smc"]
        if not found:
            raise UserError(f"no ABC calibration {str(source)[:80]!r} in this store (run "
                            "dronefront calibrate FILE --method abc)", file=str(db.path))
        e = found[-1]
        stored = db.posterior(e.key)
        if stored is None:
            raise UserError(f"calibration {e.name!r} has no stored posterior yet (rerun it "
                            "to finish)", file=str(db.path))
        plan, _ = stored_plan(e, db.path)
    finally:
        db.close()
    particles, _ = stored
    until = e.design.get("until")
    observations = plan.observations
    return Posterior(e.name, e.kind, e.scenario, plan.fixed,
                     particles[["weight", *plan.spec.parameters]], list(plan.spec.parameters),
                     observations, {"store": str(store or DEFAULT_STORE), "calibration": e.key,
                                    "until": until})


def read_posterior_file(path: str | os.PathLike) -> Posterior:
    """A posterior file: ``name``, ``kind``, ``scenario``, ``overrides``, ``parameters``
    (paths), ``particles`` (``[weight, value, value, ...]`` rows), optional
    ``observations`` (as :func:`write_posterior_file` writes them) and ``provenance``."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read the posterior file ({exc.__class__.__name__})",
                        file=str(path)) from None
    try:
        params = [str(p) for p in data["parameters"]]
        rows = [[float(r[0]), *r[1:]] for r in data["particles"]]
        if not rows or any(len(r) != len(params) + 1 for r in rows):
            raise ValueError
        frame = pd.DataFrame(rows, columns=["weight", *params])
        if (frame["weight"] < 0).any() or frame["weight"].sum() <= 0:
            raise ValueError
        obs = [Observation(i, 0, dt.date.fromisoformat(str(o["date"])), o.get("window"),
                           o["model"], o.get("low"), o.get("high"), 1.0,
                           o.get("label", o["model"]))
               for i, o in enumerate(data.get("observations") or [])]
        fixed = [assignment(k, v) for k, v in (data.get("overrides") or {}).items()]
        return Posterior(str(data["name"]), str(data["kind"]), str(data.get("scenario") or ""),
                         fixed, frame, params, obs, dict(data.get("provenance") or {}))
    except (KeyError, TypeError, ValueError, IndexError):
        raise UserError("not a posterior file (name, kind, parameters and particles rows of "
                        "weight and one value per parameter)", file=str(path)) from None


def write_posterior_file(path: str | os.PathLike, posterior: Posterior,
                         overrides: dict[str, Any]) -> Path:
    """Write a posterior as a YAML posterior file, atomically."""
    import yaml

    from dronefront.io.jsonable import jsonable
    from dronefront.io.outputs import write_text

    data = {
        "name": posterior.name, "kind": posterior.kind, "scenario": posterior.scenario,
        "provenance": jsonable(posterior.provenance), "overrides": jsonable(overrides),
        "parameters": posterior.parameters,
        "observations": [{"date": o.date.isoformat(), "window": o.window, "model": o.model,
                          "low": o.low, "high": o.high, "label": o.label}
                         for o in posterior.observations],
        "particles": [[round(float(r["weight"]), 8), *(jsonable(_plain(r[p]))
                                                       for p in posterior.parameters)]
                      for _, r in posterior.particles.iterrows()],
    }
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return write_text(path, text)


def builtin_posterior(name: str) -> Posterior:
    """The posterior shipped for a built-in campaign (``builtin/posteriors/<name>.yaml``)."""
    from importlib import resources

    ref = resources.files("dronefront.scenario") / "builtin" / "posteriors" / f"{name}.yaml"
    if not ref.is_file():
        raise UserError(f"no posterior is shipped for {name!r}", field="posterior")
    with resources.as_file(ref) as path:
        return read_posterior_file(path)


# --------------------------------------------------------------------------- running
def horizon_overrides(kind: str, values: dict[str, Any], fixed: list[str],
                      until: dt.date) -> list[str]:
    """Overrides that make one run of ``kind`` reach ``until``: a campaign's ``end``, the
    synthetic ``toy-attrition``'s ``days``."""
    if kind == "campaign":
        return [f"end={until.isoformat()}"]
    if kind == "toy-attrition":
        start = values.get("start")
        for text in fixed:
            if text.startswith("start="):
                start = text.split("=", 1)[1]
        start = start or ATTRITION_DEFAULTS["start"]
        start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
        return [f"days={(until - start).days + 1}"]
    raise UserError(f"a forecast needs a model kind with dated days (campaign, "
                    f"toy-attrition), not {kind!r}", field="kind")


@dataclass
class Forecast:
    """Predictive quantiles per date and series, and the draws they came from."""

    posterior: Posterior
    until: dt.date
    draws: int
    seed: int
    quantiles: pd.DataFrame  # date, series, q05, q25, median, q75, q95
    runs: pd.DataFrame  # draw, seed, date and the series columns
    parameters: list[dict[str, Any]]

    def at(self, date: dt.date, series: str = "cumulative_casualties") -> dict[str, float]:
        """The quantiles of ``series`` on ``date``."""
        row = self.quantiles[(self.quantiles.date == date) & (self.quantiles.series == series)]
        if row.empty:
            raise KeyError(f"{series} on {date}")
        return {k: float(row.iloc[0][k]) for k in QUANTILES}

    def checks(self) -> pd.DataFrame:
        """Each cumulative observation against the 90% predictive interval: the model
        interval [q05, q95] overlaps the observed interval (``hit``) or not."""
        rows = []
        for o in self.posterior.observations:
            if o.window is not None or o.date > self.until or o.model not in SERIES:
                continue
            try:
                q = self.at(o.date, o.model)
            except KeyError:
                continue
            low = -math.inf if o.low is None else o.low
            high = math.inf if o.high is None else o.high
            rows.append({"date": o.date, "series": o.label, "low": o.low, "high": o.high,
                         "q05": q["q05"], "median": q["median"], "q95": q["q95"],
                         "hit": bool(q["q95"] >= low and q["q05"] <= high)})
        return pd.DataFrame(rows, columns=["date", "series", "low", "high", "q05", "median",
                                           "q95", "hit"])

    def plot(self, path: str | os.PathLike | None = None) -> Figure:
        """Median and 50%/90% bands per series with the observed intervals over them."""
        import matplotlib.dates as mdates
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 3.2 * len(SERIES)), layout="constrained")
        axes = fig.subplots(len(SERIES), 1, squeeze=False)[:, 0]
        for ax, s in zip(axes, SERIES, strict=True):
            q = self.quantiles[self.quantiles.series == s]
            x = pd.to_datetime(q["date"])
            ax.fill_between(x, q.q05, q.q95, color="#aed6f1", label="90% interval")
            ax.fill_between(x, q.q25, q.q75, color="#5dade2", label="50% interval")
            ax.plot(x, q["median"], color="#1b4f72", lw=2, label="median")
            first = True
            for o in self.posterior.observations:
                if o.model != s or o.window is not None:
                    continue
                xo = pd.Timestamp(o.date)
                low = o.low if o.low is not None else o.high
                high = o.high if o.high is not None else o.low
                ax.plot([xo, xo], [low, high], color="#c0392b", lw=3,
                        marker="_" if o.low is not None and o.high is not None else "^"
                        if o.high is None else "v", ms=10,
                        label="reported" if first else None)
                first = False
            locator = mdates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.set_ylabel(s.replace("_", " "))
            ax.legend(loc="upper left", fontsize=8)
        fig.suptitle(f"{self.posterior.name}: forecast to {self.until} ({self.draws} "
                     "posterior draws)")
        if path is not None:
            from dronefront.io.outputs import save_figure

            save_figure(fig, path, dpi=110)
        return fig

    def write(self, out: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the forecast folder atomically: manifest, quantiles, draws, checks, plot."""
        from dronefront import __version__
        from dronefront.io.outputs import stamp
        from dronefront.io.rundir import atomic_dir, write_json, write_parquet

        with atomic_dir(out, "forecast", force=force) as tmp:
            write_json(tmp / "manifest.json", {
                "written_by": stamp("forecast"), "dronefront_version": __version__,
                "name": self.posterior.name, "kind": self.posterior.kind,
                "scenario": self.posterior.scenario, "until": self.until.isoformat(),
                "draws": self.draws, "seed": self.seed,
                "provenance": _jsonable(self.posterior.provenance),
                "parameters": _jsonable(self.parameters)})
            self.quantiles.to_csv(tmp / "forecast.csv", index=False)
            self.checks().to_csv(tmp / "checks.csv", index=False)
            write_parquet(tmp / "draws.parquet", pa.Table.from_pandas(self.runs,
                                                                      preserve_index=False))
            self.plot(tmp / "forecast.png")
        return Path(out)


def _jsonable(value: Any) -> Any:
    from dronefront.io.jsonable import jsonable

    return json.loads(json.dumps(jsonable(value), default=str))


def quantile_table(runs: pd.DataFrame, series: list[str]) -> pd.DataFrame:
    """Per date and series, the :data:`QUANTILES` over draws (linear interpolation)."""
    rows = []
    for s in series:
        grouped = runs.groupby("date")[s]
        table = grouped.quantile(list(QUANTILES.values())).unstack()
        table.columns = list(QUANTILES)
        table = table.reset_index()
        table.insert(1, "series", s)
        rows.append(table)
    return pd.concat(rows, ignore_index=True)


def forecast(
    posterior: Posterior | str | os.PathLike,
    until: dt.date,
    *,
    draws: int = 40,
    seed: int = FORECAST_SEED,
    store: str | os.PathLike | None = None,
    executor: str | Executor = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Any = None,
) -> Forecast:
    """Run ``draws`` posterior draws to ``until`` and return the predictive quantiles.

    Identical for a seed on every executor: the draws and their seeds are fixed first.
    """
    if draws < 2:
        raise UserError("a forecast needs at least 2 draws", field="draws")
    post = posterior if isinstance(posterior, Posterior) else load_posterior(posterior, store)
    params = post.draw(draws, seed)
    model = post.model
    columns = ["date", *SERIES]
    tasks = [Task(i, 0, seed + i, post.fixed + [assignment(p, v) for p, v in values.items()]
                  + horizon_overrides(post.kind, values, post.fixed, until))
             for i, values in enumerate(params)]
    ex = executor if isinstance(executor, Executor) else make_executor(
        executor, workers=workers, ray_address=ray_address)
    frames: dict[int, pd.DataFrame] = {}
    try:
        for out in ex.map(model.fn, post.scenario, tasks, want_series=True, columns=columns):
            if out.error is not None:
                raise_run_error(out, post.name)
            frame = out.series.to_pandas()
            frame.insert(0, "seed", out.seed)
            frame.insert(0, "draw", out.point)
            frames[out.point] = frame
            if progress is not None:
                progress(len(frames), draws)
    finally:
        if not isinstance(executor, Executor):
            ex.close()
    runs = pd.concat([frames[i] for i in sorted(frames)], ignore_index=True)
    runs["date"] = [d if isinstance(d, dt.date) else pd.Timestamp(d).date()
                    for d in runs["date"]]
    runs = runs[runs.date <= until]
    return Forecast(post, until, draws, seed, quantile_table(runs, list(SERIES)), runs,
                    params)


__all__ = ["FORECAST_SEED", "Forecast", "Posterior", "QUANTILES", "SERIES",
           "builtin_posterior", "forecast", "horizon_overrides", "load_posterior",
           "quantile_table", "read_posterior_file", "write_posterior_file"]
