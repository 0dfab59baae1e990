"""Designs: full factorial counts, Latin hypercube strata, NOLH orthogonality, factor maps."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.experiments.designs import (
    build,
    full_factorial,
    latin_hypercube,
    max_abs_corr,
    nolh,
    ye_olh,
)
from dronefront.experiments.spec import Design, Factor


def test_full_factorial_has_every_combination_once():
    factors = {"a": Factor(levels=[1, 2, 3]), "b": Factor(levels=["x", "y"]),
               "c": Factor(levels=[[], ["freeze"], ["freeze", "engage"], [0.5]])}
    pts = build(Design(type="full_factorial"), factors)
    assert len(pts) == 3 * 2 * 4
    combos = {(v["a"], v["b"], tuple(v["c"])) for v in pts.values}
    assert len(combos) == 24
    assert full_factorial([2, 2, 2]).shape == (8, 3)


@pytest.mark.parametrize(("n", "k", "seed"), [(10, 3, 0), (37, 5, 4), (200, 2, 9)])
def test_latin_hypercube_has_one_point_per_stratum(n, k, seed):
    u = latin_hypercube(n, k, seed)
    assert u.shape == (n, k)
    assert ((u >= 0) & (u < 1)).all()
    for j in range(k):
        assert sorted(np.floor(u[:, j] * n).astype(int).tolist()) == list(range(n))


def test_latin_hypercube_design_maps_strata_onto_ranges():
    pts = build(Design(type="latin_hypercube", points=20, seed=3),
                {"x": Factor(range=(10.0, 30.0))})
    x = np.array([v["x"] for v in pts.values])
    assert sorted(np.floor((x - 10) / 20 * 20).astype(int).tolist()) == list(range(20))


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 7])
def test_ye_olh_is_an_orthogonal_latin_hypercube(m):
    x = ye_olh(m)
    q = 2 ** (m - 1)
    assert x.shape == (2 ** m + 1, 2 * m - 2)
    for j in range(x.shape[1]):
        assert sorted(x[:, j].tolist()) == list(range(-q, q + 1))
    assert max_abs_corr(x) < 1e-12
    # first-order columns are also orthogonal to every square and two-way product
    k = x.shape[1]
    second = np.column_stack([x[:, i] * x[:, j] for i in range(k) for j in range(i, k)])
    second = second - second.mean(axis=0)
    assert np.abs(x.T.astype(float) @ second).max() < 1e-6


@pytest.mark.parametrize(("k", "points", "limit"), [
    (2, None, 1e-12), (6, None, 1e-12), (10, None, 1e-12),  # pure Ye (1998)
    (7, 17, 0.03), (11, 33, 0.03), (16, 65, 0.03),        # Cioppa-Lucas sizes, searched
])
def test_nolh_max_abs_correlation_is_small(k, points, limit):
    u, info = nolh(k, points)
    assert u.shape[1] == k
    assert info["max_abs_corr"] <= limit
    assert max_abs_corr(u) <= limit + 1e-9
    n = u.shape[0]
    for j in range(k):  # still a Latin hypercube over n evenly spaced levels in [0, 1]
        assert sorted(np.round(u[:, j] * (n - 1)).astype(int).tolist()) == list(range(n))


def test_nolh_design_reports_construction_and_uses_full_ranges():
    pts = build(Design(type="nolh"), {"a": Factor(range=(0, 4)), "b": Factor(range=(-1, 1)),
                                      "c": Factor(range=(1, 100), log=True)})
    assert len(pts) == 9 and pts.info["construction"] == "ye1998"
    a = sorted(v["a"] for v in pts.values)
    assert a[0] == 0 and a[-1] == 4
    c = [v["c"] for v in pts.values]
    assert min(c) == pytest.approx(1) and max(c) == pytest.approx(100)


def test_sobol_and_morris_point_counts():
    factors = {f"x{i}": Factor(range=(0, 1)) for i in range(3)}
    assert len(build(Design(type="sobol", samples=64), factors)) == 64 * (3 + 2)
    assert len(build(Design(type="sobol", samples=64, second_order=True), factors)) \
        == 64 * (2 * 3 + 2)
    assert len(build(Design(type="morris", trajectories=7), factors)) == 7 * (3 + 1)


def test_factor_values_integer_and_levels_take_equal_shares():
    f = Factor(range=(0, 3), integer=True)
    values = [f.value(u) for u in np.linspace(0, 1, 4001)]
    counts = np.bincount(values)
    assert counts.tolist() and len(counts) == 4 and counts.min() >= 990
    g = Factor(levels=["a", "b", "c"])
    assert [g.value(u) for u in (0.0, 0.34, 0.99, 1.0)] == ["a", "b", "c", "c"]
