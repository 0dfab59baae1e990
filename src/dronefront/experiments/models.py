"""Model kinds: what one run of an experiment calls.

A model kind maps ``(scenario, seed, overrides)`` to ``(summary, timeseries)``, where
``summary`` is a (nested) dict of plain values and ``timeseries`` an Arrow table or ``None``.
``overrides`` are ``"dotted.path=value"`` strings (values in YAML/JSON syntax), exactly as on
the command line. Built-in kinds:

- ``engagement``: :func:`dronefront.run` (timeseries: per-step series per side);
- ``campaign``: :func:`dronefront.run_campaign` (timeseries: the daily table);
- ``toy-ishigami``: the Ishigami function of ``x1, x2, x3`` (``a=7, b=0.1``) for testing
  sensitivity analysis through the same code path;
- ``toy-noise``: ``y = x + e_common(seed) + sigma * e_own(seed, x)`` for testing common
  random numbers;
- ``toy-attrition``: a daily attrition curve with known parameters for testing calibration.

A file's ``kind`` is only ever looked up in this registry: files are data, and a name in
a file never imports or calls anything else. Add a kind from Python with
:func:`register_model` before loading the file. Worker processes of the ``processes`` and
``ray`` executors receive the callable itself (pickled by reference, not looked up by
name), so a kind registered in the driver works there too, provided its function is
defined at module level in an importable module.

>>> summary, _ = get_model("toy-ishigami").fn("", 1, ["x1=0", "x2=0", "x3=0"])
>>> summary["y"]
0.0
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from dronefront.errors import UserError
from dronefront.io.jsonable import jsonable

ModelFn = Callable[[str, int, list[str]], tuple[dict, "pa.Table | None"]]
#: ``ensemble(scenario, seeds, overrides, series) -> [(summary, timeseries | None), ...]``:
#: the replicates of one design point (one per seed, in order) run together; entry ``r``
#: equals ``fn(scenario, seeds[r], overrides)`` (time series only where ``series``).
EnsembleFn = Callable[[str, list[int], list[str], bool], list[tuple[dict, "pa.Table | None"]]]


@dataclass(frozen=True)
class ModelKind:
    """A registered model kind.

    ``fn(scenario, seed, overrides) -> (summary, timeseries | None)`` runs the model;
    ``check(scenario, overrides)`` (optional) validates one design point cheaply before any
    run and raises :class:`UserError`; ``fingerprint(scenario)`` (optional) returns text that
    changes whenever the scenario's content does (it goes into the experiment hash);
    ``needs_scenario`` says whether the experiment file must name a scenario;
    ``ensemble`` (optional, an :data:`EnsembleFn`) runs several replicates of one design point
    at once, faster per replicate and with exactly the results of ``fn``: executors then
    send each worker chunks of replicates of one point. A :class:`UserError` it raises
    applies to every replicate it was given; any other error makes the executor run those
    replicates one by one with ``fn``, so that only the failing ones fail.
    """

    name: str
    fn: ModelFn
    check: Callable[[str, list[str]], None] | None = None
    fingerprint: Callable[[str], str] | None = None
    needs_scenario: bool = True
    description: str = ""
    ensemble: EnsembleFn | None = None


_REGISTRY: dict[str, ModelKind] = {}


def register_model(
    name: str,
    fn: ModelFn,
    *,
    check: Callable[[str, list[str]], None] | None = None,
    fingerprint: Callable[[str], str] | None = None,
    needs_scenario: bool = True,
    description: str = "",
    ensemble: EnsembleFn | None = None,
) -> ModelKind:
    """Register (or replace) a model kind under ``name`` and return it.

    Experiment and calibration files then name it as ``kind: NAME``.

    >>> def constant(scenario, seed, overrides):
    ...     return {"y": 1.0}, None
    >>> register_model("constant", constant, needs_scenario=False).name
    'constant'
    >>> get_model("constant").fn("", 1, [])[0]
    {'y': 1.0}
    """
    if not isinstance(name, str) or not name or ":" in name or name != name.strip():
        raise ValueError(f"a model kind name is a non-empty word without ':' (got {name!r})")
    if not callable(fn):
        raise TypeError(f"fn must be callable (got {type(fn).__name__})")
    if ensemble is not None and not callable(ensemble):
        raise TypeError(f"ensemble must be callable (got {type(ensemble).__name__})")
    kind = ModelKind(name, fn, check, fingerprint, needs_scenario, description, ensemble)
    _REGISTRY[name] = kind
    return kind


def model_kinds() -> list[str]:
    """Names of the registered kinds."""
    return sorted(_REGISTRY)


def get_model(name: str) -> ModelKind:
    """The kind registered as ``name``; anything else is a :class:`UserError` listing them.

    Nothing is imported: ``module:function`` is refused like any unknown name.

    >>> try:
    ...     get_model("os:system")
    ... except UserError as exc:
    ...     print(exc.field, exc.message.startswith("unknown model kind 'os:system'"))
    kind True
    """
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    import difflib

    text = str(name)[:60]
    close = difflib.get_close_matches(text, list(_REGISTRY), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    extra = (" (a file cannot name Python code; register a custom kind with "
             "dronefront.experiments.register_model)") if ":" in text else ""
    raise UserError(f"unknown model kind {text!r}{hint} (known: {', '.join(model_kinds())})"
                    f"{extra}", field="kind")


# --------------------------------------------------------------------------- helpers
def parse_overrides(overrides: list[str], known: dict[str, Any], model: str) -> dict[str, Any]:
    """Parse ``name=value`` overrides of a toy model against its parameter defaults.

    >>> parse_overrides(["b=0.2"], {"a": 7.0, "b": 0.1}, "toy")
    {'a': 7.0, 'b': 0.2}
    """
    values = dict(known)
    for assignment in overrides:
        name, sep, raw = assignment.partition("=")
        name = name.strip()
        if not sep:
            raise UserError(f"expected NAME=VALUE, got {assignment!r}", file=model)
        if name not in known:
            raise UserError(f"unknown parameter of {model} (known: {', '.join(known)})",
                            file=model, field=name)
        value = yaml.safe_load(raw)
        default = known[name]
        try:
            if isinstance(default, dt.date):
                value = value if isinstance(value, dt.date) else dt.date.fromisoformat(raw)
            elif isinstance(default, int | float) and not isinstance(default, bool):
                value = type(default)(value) if isinstance(default, float) else int(value)
        except (TypeError, ValueError):
            raise UserError(f"not a {type(default).__name__}: {raw!r}", file=model,
                            field=name) from None
        values[name] = value
    return values


def _raw_fingerprint(scenario: str) -> str:
    from dronefront.io.rundir import sha256_of
    from dronefront.scenario.loader import load_raw

    data, _, _ = load_raw(scenario)
    return sha256_of(jsonable(data))


# --------------------------------------------------------------------------- engagement
def engagement(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, pa.Table]:
    """One engagement: :func:`dronefront.run`'s summary and per-step time series."""
    from dronefront.engine.sim import Sim

    result = Sim(_loaded(scenario, tuple(overrides)), seed=seed, events=False).run()
    return result.summary, result.timeseries


def engagement_ensemble(scenario: str, seeds: list[int], overrides: list[str],
                        series: bool) -> list[tuple[dict, pa.Table | None]]:
    """Replicates of one engagement design point, one per seed, as one
    :class:`~dronefront.engine.ensemble.Ensemble` (events off): entry ``r`` is
    :func:`engagement` ``(scenario, seeds[r], overrides)`` to the bit, its time series only
    where ``series`` (the table is not built otherwise).

    >>> both = engagement_ensemble("reference-open-field", [1, 2], ["parameters.N=60",
    ...                            "duration=60"], False)
    >>> both[1][0] == engagement("reference-open-field", 2, ["parameters.N=60",
    ...                          "duration=60"])[0], both[1][1] is None
    (True, True)
    """
    from dronefront.engine.ensemble import Ensemble
    from dronefront.engine.result import summarize

    ensemble = Ensemble(_loaded(scenario, tuple(overrides)), seeds, events=False)
    if series:
        return [(result.summary, result.timeseries) for result in ensemble.run()]
    while ensemble.states[0].step < ensemble.steps:
        ensemble.step()
    return [(summarize(sim.state, sim.seed), None) for sim in ensemble.sims]


@functools.lru_cache(maxsize=256)
def _loaded(scenario: str, overrides: tuple[str, ...]) -> Any:
    """Parsed and validated once per worker for every replicate of a design point (the
    engine only reads its scenario)."""
    from dronefront.scenario.loader import load_scenario

    return load_scenario(scenario, list(overrides))


def _check_engagement(scenario: str, overrides: list[str]) -> None:
    from dronefront.scenario.loader import load_scenario

    load_scenario(scenario, overrides)


# --------------------------------------------------------------------------- campaign
def campaign(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, pa.Table]:
    """One campaign: :func:`dronefront.run_campaign`'s summary and daily table."""
    import dronefront

    result = dronefront.run_campaign(scenario, seed=seed, overrides=overrides)
    return result.summary, result.daily


def _check_campaign(scenario: str, overrides: list[str]) -> None:
    from dronefront.campaign import load_campaign

    load_campaign(scenario, overrides)


def _campaign_fingerprint(scenario: str) -> str:
    from dronefront.io.rundir import sha256_of
    from dronefront.scenario.loader import load_raw

    data, _, _ = load_raw(scenario)
    parts = [jsonable(data)]
    engagement_ref = data.get("engagement") if isinstance(data, dict) else None
    if isinstance(engagement_ref, str):
        try:
            parts.append(jsonable(load_raw(engagement_ref)[0]))
        except UserError:
            pass
    return sha256_of(parts)


# --------------------------------------------------------------------------- toys
ISHIGAMI_DEFAULTS: dict[str, float] = {"x1": 0.0, "x2": 0.0, "x3": 0.0, "a": 7.0, "b": 0.1}


def ishigami(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, None]:
    """The Ishigami function ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` (deterministic).

    Analytic Sobol indices for ``a=7, b=0.1`` on ``[-pi, pi]^3``: S1 = 0.3139, 0.4424, 0;
    ST = 0.5576, 0.4424, 0.2437.
    """
    p = parse_overrides(overrides, ISHIGAMI_DEFAULTS, "toy-ishigami")
    y = (math.sin(p["x1"]) + p["a"] * math.sin(p["x2"]) ** 2
         + p["b"] * p["x3"] ** 4 * math.sin(p["x1"]))
    return {"y": y, "x1": p["x1"], "x2": p["x2"], "x3": p["x3"]}, None


NOISE_DEFAULTS: dict[str, float] = {"x": 0.0, "sigma": 0.5}


def noisy(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, None]:
    """``y = x + e_common + sigma * e_own``: e_common depends on the seed only.

    With common random numbers the paired difference of two points keeps only the own
    noise, so the variance reduction is ``1 - sigma^2 / (1 + sigma^2)``.
    """
    p = parse_overrides(overrides, NOISE_DEFAULTS, "toy-noise")
    common = np.random.default_rng([seed, 0]).standard_normal()
    key = int(np.frombuffer(np.float64(p["x"]).tobytes(), np.uint64)[0])
    own = np.random.default_rng([seed, 1, key]).standard_normal()
    y = p["x"] + float(common) + p["sigma"] * float(own)
    return {"y": y, "x": p["x"]}, None


ATTRITION_DEFAULTS: dict[str, Any] = {
    "strength": 11000.0, "rate": 0.02, "learning": 0.03, "kill_share": 0.25,
    "noise": 0.0, "days": 60, "start": dt.date(2024, 12, 5),
}


def attrition(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, pa.Table]:
    """A synthetic campaign: on day t, ``strength_t * rate * exp(-learning t)`` casualties.

    A share ``kill_share`` of them are killed; ``noise`` multiplies each day's casualties by
    a seeded log-normal factor. Returns the same daily columns a campaign does (``date``,
    ``day``, ``casualties``, ``killed``, ``cumulative_casualties``, ``cumulative_killed``,
    ``strength``), so calibration can be tested against known parameters.
    """
    p = parse_overrides(overrides, ATTRITION_DEFAULTS, "toy-attrition")
    days = int(p["days"])
    rng = np.random.default_rng([seed, 7])
    factor = np.exp(p["noise"] * rng.standard_normal(days) - p["noise"] ** 2 / 2)
    strength = float(p["strength"])
    cas = np.zeros(days)
    left = np.zeros(days)
    for t in range(days):
        cas[t] = strength * p["rate"] * math.exp(-p["learning"] * t) * factor[t]
        strength -= cas[t]
        left[t] = strength
    killed = cas * p["kill_share"]
    start: dt.date = p["start"]
    daily = pa.table({
        "date": pa.array([start + dt.timedelta(days=t) for t in range(days)], pa.date32()),
        "day": pa.array(np.arange(days), pa.int64()),
        "casualties": cas, "killed": killed,
        "cumulative_casualties": np.cumsum(cas), "cumulative_killed": np.cumsum(killed),
        "strength": left,
    })
    summary = {"casualties": float(cas.sum()), "killed": float(killed.sum()),
               "final_strength": strength}
    return summary, daily


def _check_toy(defaults: dict[str, Any], name: str) -> Callable[[str, list[str]], None]:
    def check(scenario: str, overrides: list[str]) -> None:
        parse_overrides(overrides, defaults, name)

    return check


register_model("engagement", engagement, check=_check_engagement,
               fingerprint=_raw_fingerprint, description="one engagement (dronefront.run)",
               ensemble=engagement_ensemble)
register_model("campaign", campaign, check=_check_campaign, fingerprint=_campaign_fingerprint,
               description="one campaign (dronefront.run_campaign); timeseries = daily table")
register_model("toy-ishigami", ishigami, check=_check_toy(ISHIGAMI_DEFAULTS, "toy-ishigami"),
               needs_scenario=False, description="Ishigami test function of x1, x2, x3")
register_model("toy-noise", noisy, check=_check_toy(NOISE_DEFAULTS, "toy-noise"),
               needs_scenario=False, description="x plus common and own normal noise")
register_model("toy-attrition", attrition,
               check=_check_toy(ATTRITION_DEFAULTS, "toy-attrition"), needs_scenario=False,
               description="synthetic daily attrition curve for calibration tests")
