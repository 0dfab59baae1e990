"""Array kernels against brute force: grid queries, densest search, random streams."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dronefront.engine.rng import normals, stream_key, uniform, uniforms
from dronefront.engine.spatial import build_grid, count_within, within
from dronefront.engine.stages.targeting import densest_overall
from dronefront.engine.state import KILLED

points = st.integers(min_value=1, max_value=300).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(-200, 200, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.floats(-200, 200, allow_nan=False), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(points, st.floats(0.5, 60.0), st.sampled_from([2.0, 10.0, 25.0]))
def test_grid_queries_match_brute_force(pts, radius, cell):
    x, y, dead = (np.array(v) for v in pts)
    include = np.ones(x.size, bool)
    grid = build_grid(x, y, include, cell)
    mask = ~dead
    qx, qy = x[:20], y[:20]
    got = count_within(qx, qy, radius, x, y, mask, tuple(grid))
    d2 = (x[None, :] - qx[:, None]) ** 2 + (y[None, :] - qy[:, None]) ** 2
    expected = ((d2 <= radius * radius) & mask[None, :]).sum(axis=1)
    np.testing.assert_array_equal(got, expected)
    idx = within(qx[0], qy[0], radius, x, y, mask, tuple(grid))
    np.testing.assert_array_equal(idx, np.flatnonzero((d2[0] <= radius * radius) & mask))


@settings(max_examples=60, deadline=None)
@given(points, st.sampled_from([5.0, 10.0, 15.0]), st.sampled_from([10.0, 7.0]))
def test_densest_matches_brute_force(pts, radius, cell):
    x, y, dead = (np.array(v) for v in pts)
    # snap to a coarse lattice so that ties happen often
    x, y = np.round(x / 3) * 3, np.round(y / 3) * 3
    status = np.where(dead, KILLED, 0).astype(np.int8)
    grid = build_grid(x, y, status != KILLED, cell)
    got = densest_overall(radius, x, y, status, tuple(grid))
    alive = status != KILLED
    if not alive.any():
        assert got == -1
        return
    d2 = (x[None, :] - x[:, None]) ** 2 + (y[None, :] - y[:, None]) ** 2
    counts = ((d2 <= radius * radius) & alive[None, :]).sum(axis=1)
    counts[~alive] = -1
    assert got == int(np.argmax(counts))  # argmax: lowest index among ties


def test_streams_are_independent_of_each_other_and_of_order():
    a, b = stream_key(1, "a"), stream_key(1, "b")
    assert a != b and stream_key(1, "a") == a and stream_key(2, "a") != a
    ids = np.arange(1000, dtype=np.int64)
    forward = uniforms(a, 3, ids, 0)
    backward = uniforms(a, 3, ids[::-1].copy(), 0)[::-1]
    np.testing.assert_array_equal(forward, backward)
    assert uniform(a, 3, 7, 0) == forward[7]
    assert abs(np.corrcoef(forward, uniforms(b, 3, ids, 0))[0, 1]) < 0.1


def test_uniform_and_normal_moments():
    key = stream_key(5, "moments")
    u = uniforms(key, 0, np.arange(200_000, dtype=np.int64), 1)
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert u.min() >= 0.0 and u.max() < 1.0
    z = normals(key, 0, np.arange(100_000, dtype=np.int64), 2)
    assert np.all(np.abs(z.mean(axis=0)) < 0.02) and np.all(np.abs(z.std(axis=0) - 1) < 0.02)
    # neighbouring steps and entities are not correlated
    v = uniforms(key, 1, np.arange(200_000, dtype=np.int64), 1)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
