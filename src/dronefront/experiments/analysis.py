"""Analysis of stored experiments: per-point statistics, paired differences, Sobol and Morris.

>>> import pandas as pd
>>> frame = pd.DataFrame({"point": [0, 0, 1, 1], "replicate": [0, 1, 0, 1],
...                       "y": [1.0, 3.0, 2.0, 5.0]})
>>> point_stats(frame, "y")[["point", "n", "mean"]].values.tolist()
[[0.0, 2.0, 2.0], [1.0, 2.0, 3.5]]
>>> d = paired_difference(frame, "y", 0, 1)
>>> d.mean_difference, d.var_difference
(1.5, 0.5)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from dronefront.errors import UserError
from dronefront.experiments.designs import unit_problem

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dronefront.experiments.runner import Plan


def _column(frame: pd.DataFrame, metric: str) -> pd.Series:
    if metric not in frame.columns:
        skip = {"point", "replicate", "seed", *frame.attrs.get("factors", [])}
        metrics = [c for c in frame.columns if c not in skip]
        import difflib

        close = difflib.get_close_matches(metric, metrics, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"no metric {metric!r} in the results{hint} "
                        f"(columns: {', '.join(metrics)})", field="metric")
    return frame[metric].astype(float)


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95
               ) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval of a sample.

    >>> [round(x, 3) for x in t_interval([1.0, 2.0, 3.0])]
    [2.0, -0.484, 4.484]
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    mean = float(arr.mean()) if arr.size else float("nan")
    if arr.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, arr.size - 1) * arr.std(ddof=1)
                 / np.sqrt(arr.size))
    return mean, mean - half, mean + half


def point_stats(frame: pd.DataFrame, metric: str, *, confidence: float = 0.95,
                quantiles: Sequence[float] = (0.05, 0.5, 0.95),
                by: Sequence[str] = ("point",),
                factors: Sequence[str] | None = None) -> pd.DataFrame:
    """Per design point: n, mean, std, standard error, t confidence interval, quantiles.

    The factor columns (``factors``, by default those :func:`results` recorded in
    ``frame.attrs["factors"]``) are kept alongside.
    """
    values = _column(frame, metric)
    rows = []
    keys = list(by)
    for key, group in frame.assign(_v=values).groupby(keys, sort=True):
        v = group["_v"].to_numpy(dtype=float)
        v = v[np.isfinite(v)]
        mean, low, high = t_interval(v, confidence)
        row: dict[str, Any] = dict(zip(keys, key if isinstance(key, tuple) else (key,),
                                       strict=True))
        row.update(n=float(v.size), mean=mean,
                   std=float(v.std(ddof=1)) if v.size > 1 else float("nan"),
                   sem=float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan"),
                   ci_low=low, ci_high=high)
        for q in quantiles:
            row[f"q{q:g}"] = float(np.quantile(v, q)) if v.size else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    keep = [c for c in (factors if factors is not None else frame.attrs.get("factors", []))
            if c in frame.columns and c not in keys]
    if keep:
        first = frame.groupby(keys, sort=True)[keep].first().reset_index()
        out = first.merge(out, on=keys)
    return out


@dataclass(frozen=True)
class PairedDifference:
    """Point ``b`` minus point ``a`` over replicates run on the same seeds.

    ``variance_reduction`` is ``1 - var(b - a) / (var(a) + var(b))``: the share of the
    variance of a difference that common random numbers removed compared with independent
    seeds (0: none; negative: CRN hurt). ``efficiency`` is the equivalent factor in runs:
    independent seeds would need that many times more replicates for the same precision.
    """

    metric: str
    a: int
    b: int
    n: int
    mean_a: float
    mean_b: float
    mean_difference: float
    ci_low: float
    ci_high: float
    var_a: float
    var_b: float
    var_difference: float
    variance_reduction: float
    efficiency: float
    correlation: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_difference(frame: pd.DataFrame, metric: str, a: int, b: int, *,
                      confidence: float = 0.95) -> PairedDifference:
    """Paired difference of a metric between points ``a`` and ``b`` (matched by replicate)."""
    values = _column(frame, metric)
    data = frame.assign(_v=values)
    left = data[data.point == a].set_index("replicate")["_v"]
    right = data[data.point == b].set_index("replicate")["_v"]
    for p, side in ((a, left), (b, right)):
        if side.empty:
            raise UserError(f"point {p} has no finished runs", field="point")
    pairs = pd.concat([left.rename("a"), right.rename("b")], axis=1, join="inner").dropna()
    if len(pairs) < 2:
        raise UserError(f"points {a} and {b} share fewer than 2 replicates", field="point")
    d = (pairs.b - pairs.a).to_numpy()
    mean, low, high = t_interval(d, confidence)
    var_a = float(pairs.a.var(ddof=1))
    var_b = float(pairs.b.var(ddof=1))
    var_d = float(np.var(d, ddof=1))
    total = var_a + var_b
    corr = float(np.corrcoef(pairs.a, pairs.b)[0, 1]) if var_a > 0 and var_b > 0 \
        else float("nan")
    return PairedDifference(
        metric, a, b, len(pairs), float(pairs.a.mean()), float(pairs.b.mean()), mean, low,
        high, var_a, var_b, var_d,
        1.0 - var_d / total if total > 0 else float("nan"),
        total / var_d if var_d > 0 else float("inf"), corr)


def paired_table(frame: pd.DataFrame, metric: str, base: int = 0, *,
                 confidence: float = 0.95, factors: Sequence[str] | None = None
                 ) -> pd.DataFrame:
    """Every other point against point ``base``, paired by replicate: one row per point with
    the two means, the mean difference (point minus base), its t confidence interval, and
    the variance reduction and efficiency common random numbers bought.

    The factor columns (``factors``, by default ``frame.attrs["factors"]``) are kept.

    >>> frame = pd.DataFrame({"point": [0, 0, 0, 1, 1, 1], "replicate": [0, 1, 2] * 2,
    ...                       "y": [1.0, 3.0, 2.0, 2.0, 5.0, 3.0]})
    >>> paired_table(frame, "y")[["point", "mean_base", "mean", "difference"]].values.tolist()
    [[1.0, 2.0, 3.3333333333333335, 1.3333333333333333]]
    """
    points = sorted(int(p) for p in frame["point"].unique())
    if base not in points:
        raise UserError(f"point {base} has no finished runs (points: "
                        f"{', '.join(map(str, points))})", field="paired")
    rows = []
    for point in points:
        if point == base:
            continue
        d = paired_difference(frame, metric, base, point, confidence=confidence)
        rows.append({"point": point, "base": base, "n": d.n, "mean_base": d.mean_a,
                     "mean": d.mean_b, "difference": d.mean_difference,
                     "ci_low": d.ci_low, "ci_high": d.ci_high,
                     "variance_reduction": d.variance_reduction,
                     "efficiency": d.efficiency})
    out = pd.DataFrame(rows, columns=["point", "base", "n", "mean_base", "mean", "difference",
                                      "ci_low", "ci_high", "variance_reduction",
                                      "efficiency"])
    keep = [c for c in (factors if factors is not None else frame.attrs.get("factors", []))
            if c in frame.columns]
    if keep and not out.empty:
        first = frame.groupby("point", sort=True)[keep].first().reset_index()
        out = first.merge(out, on="point")
    return out


# --------------------------------------------------------------------------- global SA
def _point_means(plan: Plan, frame: pd.DataFrame, metric: str) -> np.ndarray:
    values = _column(frame, metric)
    means = frame.assign(_v=values).groupby("point")["_v"].mean()
    n = len(plan.points)
    missing = sorted(set(range(n)) - set(means.index[np.isfinite(means.to_numpy())]))
    if missing:
        raise UserError(f"metric {metric!r} is missing at {len(missing)} of {n} design points "
                        f"(first: {missing[0]}); run the experiment to the end first",
                        file=plan.file, field="metric")
    return means.reindex(range(n)).to_numpy(dtype=float)


def _problem(plan: Plan) -> dict[str, Any]:
    names = list(plan.factor_columns().values())
    return unit_problem(len(names), names)


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 1:
        raise UserError(f"the bootstrap seed must be an integer of at least 1 (got {seed!r})",
                        field="seed")


def sobol_indices(plan: Plan, frame: pd.DataFrame, metric: str, *,
                  confidence: float = 0.95, resamples: int = 1000,
                  seed: int = 1) -> pd.DataFrame:
    """First-order and total Sobol indices (with bootstrap confidence half-widths).

    Needs a ``sobol`` design; replicates are averaged per point first. Columns: factor,
    S1, S1_conf, ST, ST_conf (rows in factor order). ``seed`` seeds the bootstrap, so the
    half-widths repeat exactly; it must be at least 1 (SALib reads 0 as "unseeded").
    """
    from SALib.analyze import sobol as sobol_analyze

    _check_seed(seed)
    if plan.spec.design.type != "sobol":
        raise UserError(f"Sobol indices need design type sobol (this is "
                        f"{plan.spec.design.type})", file=plan.file,
                        line=plan.lines.get(("design",)), field="design")
    y = _point_means(plan, frame, metric)
    if np.ptp(y) == 0:
        raise UserError(f"metric {metric!r} does not vary over the design", field="metric")
    res = sobol_analyze.analyze(_problem(plan), y,
                                calc_second_order=plan.spec.design.second_order,
                                num_resamples=resamples, conf_level=confidence, seed=seed)
    return pd.DataFrame({"factor": _problem(plan)["names"], "S1": res["S1"],
                         "S1_conf": res["S1_conf"], "ST": res["ST"],
                         "ST_conf": res["ST_conf"]})


def morris_indices(plan: Plan, frame: pd.DataFrame, metric: str, *,
                   confidence: float = 0.95, resamples: int = 1000,
                   seed: int = 1) -> pd.DataFrame:
    """Morris elementary-effect indices per factor in unit (0-1 of range) coordinates.

    Columns: factor, mu, mu_star, mu_star_conf, sigma. ``seed`` (at least 1) seeds the
    bootstrap of ``mu_star_conf``.
    """
    from SALib.analyze import morris as morris_analyze

    _check_seed(seed)
    if plan.spec.design.type != "morris":
        raise UserError(f"Morris indices need design type morris (this is "
                        f"{plan.spec.design.type})", file=plan.file,
                        line=plan.lines.get(("design",)), field="design")
    y = _point_means(plan, frame, metric)
    res = morris_analyze.analyze(_problem(plan), plan.points.unit, y, num_resamples=resamples,
                                 conf_level=confidence, num_levels=plan.spec.design.levels,
                                 seed=seed)
    return pd.DataFrame({"factor": _problem(plan)["names"], "mu": res["mu"],
                         "mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"],
                         "sigma": res["sigma"]})


def sensitivity(plan: Plan, frame: pd.DataFrame, metric: str, **kwargs: Any) -> pd.DataFrame:
    """Sobol or Morris indices, whichever the plan's design supports."""
    if plan.spec.design.type == "morris":
        return morris_indices(plan, frame, metric, **kwargs)
    return sobol_indices(plan, frame, metric, **kwargs)


def tornado(indices: pd.DataFrame, *, title: str = "",
            path: str | os.PathLike | None = None) -> Figure:
    """A tornado plot of Sobol (S1 and ST) or Morris (mu* and sigma) indices.

    Bars are sorted by the total (or mu*) index, largest on top, with confidence bars.
    Saved as PNG when ``path`` is given; the matplotlib Figure is returned either way.
    """
    from matplotlib.figure import Figure

    sobol = "ST" in indices.columns
    main, conf = ("ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf")
    data = indices.sort_values(main, ascending=True).reset_index(drop=True)
    y = np.arange(len(data))
    fig = Figure(figsize=(7, 0.45 * len(data) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    h = 0.38
    ax.barh(y + h / 2, data[main], h, xerr=data[conf], color="#c0392b", alpha=0.85,
            label="total order (ST)" if sobol else "mu* (mean |effect|)", capsize=3)
    if sobol:
        ax.barh(y - h / 2, data["S1"], h, xerr=data["S1_conf"], color="#2e86c1",
                alpha=0.85, label="first order (S1)", capsize=3)
    else:
        ax.barh(y - h / 2, data["sigma"], h, color="#7f8c8d", alpha=0.85,
                label="sigma (interactions / non-linearity)")
    ax.set_yticks(y, data["factor"])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Sobol index" if sobol else "elementary effect per full range")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    if path is not None:
        from dronefront.io.outputs import save_figure

        save_figure(fig, path, dpi=120)
    return fig
