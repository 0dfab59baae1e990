"""Plane geometry for the engine: which points lie inside a polygon."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def points_in_polygon(
    x: np.ndarray, y: np.ndarray, polygon: Sequence[Sequence[float]]
) -> np.ndarray:
    """Whether each point (x, y) lies inside ``polygon`` (even-odd rule, closed implicitly).

    A horizontal ray is cast from each point and the edges it crosses are counted. The
    crossing test is the one matplotlib's ``Path.contains_points`` uses, so results
    (including the points exactly on an edge) are the same without importing matplotlib.

    >>> square = [(0, 0), (10, 0), (10, 10), (0, 10)]
    >>> points_in_polygon(np.array([5.0, 15.0, 5.0]), np.array([5.0, 5.0, -1.0]), square)
    array([ True, False, False])
    """
    px = np.asarray(x, dtype=np.float64)
    py = np.asarray(y, dtype=np.float64)
    vertices = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    inside = np.zeros(px.shape, dtype=bool)
    sx, sy = vertices[-1]  # the closing edge runs from the last vertex to the first
    start_above = py <= sy
    for ex, ey in vertices:
        end_above = py <= ey
        # The edge (sx, sy) -> (ex, ey) crosses the point's row; it counts when the crossing
        # lies to the right of the point (a sign test, so no division by the edge's height).
        right = ((ey - py) * (sx - ex) >= (ex - px) * (sy - ey)) == end_above
        inside ^= (start_above != end_above) & right
        sx, sy, start_above = ex, ey, end_above
    return inside
