"""The point-in-polygon test agrees with matplotlib's, edges and vertices included."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.geometry import points_in_polygon
from dronefront.engine.terrain import points_in_area, rasterize
from dronefront.scenario.models import Terrain


def test_simple_shapes():
    square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    x = np.array([5.0, -1.0, 11.0, 5.0, 5.0])
    y = np.array([5.0, 5.0, 5.0, 11.0, np.nan])
    assert points_in_polygon(x, y, square).tolist() == [True, False, False, False, False]
    # An L shape: its notch is outside.
    ell = [(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)]
    inside = points_in_polygon(np.array([2.0, 7.0, 7.0]), np.array([8.0, 2.0, 7.0]), ell)
    assert inside.tolist() == [True, True, False]
    # A bow tie crosses itself: even-odd keeps both lobes.
    bow = [(0, 0), (10, 10), (10, 0), (0, 10)]
    assert points_in_polygon(np.array([1.0, 9.0, 5.0]), np.array([5.0, 5.0, 1.0]),
                             bow).tolist() == [True, True, False]


def test_same_as_matplotlib_including_points_on_edges():
    path = pytest.importorskip("matplotlib.path")
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(-1, 11, 0.5), np.arange(-1, 11, 0.5))
    for trial in range(400):
        k = int(rng.integers(3, 9))
        poly = (rng.integers(0, 10, (k, 2)).astype(float) if trial % 2
                else rng.uniform(-5, 15, (k, 2)))
        if trial % 3 == 0:
            poly = np.vstack([poly, poly[:1]])  # explicitly closed
        x = np.concatenate([gx.ravel(), rng.uniform(-2, 12, 100)])
        y = np.concatenate([gy.ravel(), rng.uniform(-2, 12, 100)])
        want = path.Path(poly).contains_points(np.column_stack([x, y]))
        got = points_in_polygon(x, y, poly.tolist())
        assert np.array_equal(got, want), (trial, poly.tolist())


def test_terrain_and_areas_use_it():
    terrain = Terrain(bounds=(0, 0, 100, 100), cell_size=10,
                      features=[{"terrain": "forest", "polygon": [[0, 0], [100, 0], [0, 100]]}])
    raster = rasterize(terrain)
    forest = raster.classes.index("forest")
    cells = raster.grid == forest
    # 45 cell centres lie below the diagonal x + y = 100 and 10 on it; the crossing test
    # (like matplotlib's) counts those on this edge as inside.
    assert cells.sum() == 55
    assert cells[0, 0] and not cells[9, 9]
    tri = [[0, 0], [100, 0], [0, 100]]
    assert points_in_area(np.array([10.0, 90.0]), np.array([10.0, 90.0]), None,
                          tri).tolist() == [True, False]


def test_docstring_example_runs():
    import doctest

    import dronefront.engine.geometry

    failures, tried = doctest.testmod(dronefront.engine.geometry)
    assert failures == 0 and tried >= 1
