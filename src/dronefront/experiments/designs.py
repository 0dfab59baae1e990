"""Experimental designs: the points of the factor space an experiment runs.

Every design is first built in unit coordinates (an ``n x k`` matrix in [0, 1]) and then
mapped to factor values by :meth:`Factor.value`, so ranges, integer ranges, log ranges and
level lists all work in every design (a level list is split into equal shares of [0, 1]).

- :func:`full_factorial`: every combination of levels (first factor varies slowest).
- :func:`latin_hypercube`: random Latin hypercube: each column has exactly one point in
  each of ``n`` equal strata.
- :func:`nolh`: nearly orthogonal Latin hypercube. For ``k <= 2m - 2`` factors it is Ye's
  (1998) *orthogonal* Latin hypercube with ``n = 2^m + 1`` runs: columns are exactly
  uncorrelated with each other and with all squares and two-way products. For more factors
  than that run size allows, the extra columns are found by a swap search that minimises
  the largest absolute correlation with the columns already there (the Cioppa & Lucas 2007
  criterion: max |rho| <= 0.03 is "nearly orthogonal").
- :func:`saltelli` and :func:`morris_design`: SALib's Sobol (Saltelli) and Morris samples.

>>> latin_hypercube(4, 2, seed=0).shape
(4, 2)
>>> u, info = nolh(4)
>>> u.shape, info["construction"], info["max_abs_corr"]
((9, 4), 'ye1998', 0.0)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np

from dronefront.experiments.spec import Design, Experiment, Factor, nolh_order


@dataclass(frozen=True)
class Points:
    """A concrete design: unit coordinates, factor values per point and design notes."""

    unit: np.ndarray
    values: list[dict[str, Any]]
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)


def full_factorial(counts: list[int]) -> np.ndarray:
    """Level indices of every combination, first factor slowest.

    >>> full_factorial([2, 3]).tolist()
    [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    """
    rows = list(itertools.product(*(range(c) for c in counts)))
    return np.array(rows, dtype=int).reshape(len(rows), len(counts))


def latin_hypercube(n: int, k: int, seed: int = 0) -> np.ndarray:
    """A random Latin hypercube in [0, 1)^k: one point per stratum ``[i/n, (i+1)/n)``.

    >>> u = latin_hypercube(5, 1, seed=1)
    >>> sorted((u[:, 0] * 5).astype(int).tolist())
    [0, 1, 2, 3, 4]
    """
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [(rng.permutation(n) + rng.random(n)) / n for _ in range(k)]
    ).reshape(n, k)


def ye_olh(m: int) -> np.ndarray:
    """Ye's (1998) orthogonal Latin hypercube: ``2^m + 1`` runs, ``2m - 2`` columns.

    Levels are the integers ``-q..q`` with ``q = 2^(m-1)``; the design is ``[T; 0; -T]``
    where ``T = M * S`` combines permutation columns ``M`` (built from Kronecker products of
    the identity and the 2x2 reversal) with sign columns ``S``.

    >>> x = ye_olh(3)
    >>> x.shape, int(np.abs(np.corrcoef(x.T) - np.eye(4)).max())
    ((9, 4), 0)
    """
    if m < 2:
        raise ValueError("m must be at least 2")
    q = 2 ** (m - 1)
    index = np.arange(q)
    e = index + 1
    # M_k = I x ... x I x R x ... x R (k reversals last) is a permutation matrix: applied to
    # a vector it flips the k lowest bits of the index, so no q x q matrix is built.
    cols = [e] + [e[index ^ ((1 << k) - 1)] for k in range(1, m)]
    cols += [e[index ^ (q - 1) ^ ((1 << k) - 1)] for k in range(1, m - 1)]
    ones = np.ones(2, dtype=int)
    alpha = np.array([-1, 1])

    def a_sign(k: int) -> np.ndarray:
        return reduce(np.kron, [alpha if i == m - k else ones for i in range(1, m)])

    signs = [np.ones(q, dtype=int)] + [a_sign(k) for k in range(1, m)]
    signs += [a_sign(1) * a_sign(k) for k in range(2, m)]
    t = np.column_stack(cols) * np.column_stack(signs)
    return np.vstack([t, np.zeros((1, t.shape[1]), dtype=int), -t])


def max_abs_corr(x: np.ndarray) -> float:
    """Largest absolute pairwise correlation between the columns of ``x``."""
    if x.shape[1] < 2:
        return 0.0
    c = np.corrcoef(np.asarray(x, dtype=float).T)
    return float(np.abs(c - np.eye(len(c))).max())


def _search_column(existing: np.ndarray, levels: np.ndarray, rng: np.random.Generator,
                   iterations: int = 4000, batch: int = 64) -> np.ndarray:
    """A permutation of ``levels`` nearly uncorrelated with every column of ``existing``."""
    x = existing - existing.mean(axis=0)
    norms = np.sqrt((x ** 2).sum(axis=0)) * np.sqrt(((levels - levels.mean()) ** 2).sum())
    col = rng.permutation(levels).astype(float)
    dots = (col - col.mean()) @ x
    score = np.abs(dots / norms).max()
    n = len(col)
    for _ in range(iterations):
        if score < 1e-12:
            break
        i = rng.integers(n, size=batch)
        j = rng.integers(n, size=batch)
        delta = (col[j] - col[i])[:, None] * (x[i] - x[j])
        cand = np.abs((dots + delta) / norms).max(axis=1)
        best = int(np.argmin(cand))
        if cand[best] < score - 1e-15:
            a, b = i[best], j[best]
            dots = dots + delta[best]
            col[a], col[b] = col[b], col[a]
            score = cand[best]
    return col


def nolh(k: int, points: int | None = None, seed: int = 0) -> tuple[np.ndarray, dict]:
    """A nearly orthogonal Latin hypercube for ``k`` factors in [0, 1] (levels evenly spaced).

    The run size is ``2^m + 1`` for the smallest ``m`` with ``2m - 2 >= k``, or, when
    ``points`` is given, for the smallest ``m`` with ``2^m + 1 >= points``. Where that run
    size has fewer than ``k`` orthogonal columns, the missing ones come from a swap search.

    >>> u, info = nolh(3, points=17)
    >>> u.shape, sorted(np.round(u[:, 0] * 16).astype(int).tolist()) == list(range(17))
    ((17, 3), True)
    """
    if k < 1:
        raise ValueError("need at least one factor")
    m = nolh_order(k, points)
    base = ye_olh(m).astype(float)
    q = 2 ** (m - 1)
    if k <= base.shape[1]:
        x = base[:, :k]
        construction = "ye1998"
    else:
        rng = np.random.default_rng(seed)
        cols = [base[:, j] for j in range(base.shape[1])]
        levels = np.arange(-q, q + 1, dtype=float)
        while len(cols) < k:
            cols.append(_search_column(np.column_stack(cols), levels, rng))
        x = np.column_stack(cols)
        construction = "ye1998+swap-search"
    u = (x + q) / (2 * q)
    return u, {"construction": construction, "runs": int(x.shape[0]),
               "max_abs_corr": round(max_abs_corr(x), 12)}


def saltelli(k: int, samples: int, second_order: bool, seed: int) -> np.ndarray:
    """SALib's Saltelli/Sobol sample in [0, 1]^k: ``samples * (k + 2)`` points
    (``samples * (2k + 2)`` with second order)."""
    from SALib.sample import sobol as sobol_sample

    problem = unit_problem(k)
    return sobol_sample.sample(problem, samples, calc_second_order=second_order,
                               scramble=True, seed=seed)


def morris_design(k: int, trajectories: int, levels: int, seed: int) -> np.ndarray:
    """SALib's Morris trajectories in [0, 1]^k: ``trajectories * (k + 1)`` points."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(unit_problem(k), trajectories, num_levels=levels, seed=seed)


def unit_problem(k: int, names: list[str] | None = None) -> dict[str, Any]:
    """A SALib problem over the unit cube."""
    return {"num_vars": k, "names": names or [f"x{i}" for i in range(k)],
            "bounds": [[0.0, 1.0]] * k}


def build(design: Design, factors: dict[str, Factor]) -> Points:
    """The concrete points of ``design`` over ``factors`` (path -> Factor).

    >>> from dronefront.experiments.spec import Design, Factor
    >>> pts = build(Design(type="full_factorial"),
    ...             {"a": Factor(levels=[1, 2]), "b": Factor(levels=["x", "y", "z"])})
    >>> len(pts), pts.values[1]
    (6, {'a': 1, 'b': 'y'})
    """
    paths = list(factors)
    k = len(paths)
    info: dict[str, Any] = {"type": design.type}
    if design.type == "full_factorial":
        counts = [len(factors[p].levels or []) for p in paths]
        index = full_factorial(counts)
        values = [{p: factors[p].levels[i] for p, i in zip(paths, row, strict=True)}  # type: ignore[index]
                  for row in index]
        unit = index / np.maximum(np.array(counts) - 1, 1)
        return Points(unit.astype(float), values, info)
    if design.type == "latin_hypercube":
        unit = latin_hypercube(int(design.points or 0), k, design.seed)
    elif design.type == "nolh":
        unit, extra = nolh(k, design.points, design.seed)
        info.update(extra)
    elif design.type == "sobol":
        unit = saltelli(k, design.samples, design.second_order, design.seed)
        info.update(samples=design.samples, second_order=design.second_order)
    elif design.type == "morris":
        unit = morris_design(k, design.trajectories, design.levels, design.seed)
        info.update(trajectories=design.trajectories, levels=design.levels)
    else:  # pragma: no cover - the Design model rejects other types
        raise ValueError(design.type)
    values = [{p: factors[p].value(u) for p, u in zip(paths, row, strict=True)} for row in unit]
    return Points(np.asarray(unit, dtype=float), values, info)


def experiment_points(exp: Experiment) -> Points:
    """The points of an experiment's design."""
    return build(exp.design, exp.factors)
