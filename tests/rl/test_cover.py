"""The cover index against the plain scan it replaced (every cell of the anchor's window),
on random rasters and anchors: inside, on cell edges, off the raster, with and without
cover in reach."""

from __future__ import annotations

from types import SimpleNamespace

import numba as nb
import numpy as np
import pytest

from dronefront.rl.core import CoverIndex


@nb.njit(cache=False)
def scan_cover(cells, x0, y0, cell, r, ax, ay):  # pragma: no cover - compiled
    """Centre of the nearest cover cell within ``r`` of each anchor (found, x, y), among the
    cells of the anchor's square window; of equal distances the first in row-major order.

    Rows are scanned outwards from the anchor's and a row (or the rest of one) is skipped
    once its offset alone exceeds ``r`` or the best distance so far; ties compare (row,
    column), so the scan order does not change the answer."""
    ny, nx = cells.shape
    n = ax.shape[0]
    found = np.zeros(n, np.bool_)
    out_x = np.zeros(n)
    out_y = np.zeros(n)
    for k in range(n):
        c0 = max(np.int64((ax[k] - r - x0) // cell), 0)
        c1 = min(np.int64((ax[k] + r - x0) // cell) + 1, nx)
        r0 = max(np.int64((ay[k] - r - y0) // cell), 0)
        r1 = min(np.int64((ay[k] + r - y0) // cell) + 1, ny)
        if c0 >= c1 or r0 >= r1:
            continue
        best, brow, bcol = np.inf, -1, -1
        mid_r = min(max(np.int64((ay[k] - y0) // cell), r0), r1 - 1)
        mid_c = min(max(np.int64((ax[k] - x0) // cell), c0), c1 - 1)
        for step in range(2 * (r1 - r0)):
            row = mid_r + (step + 1) // 2 if step % 2 else mid_r - step // 2
            if row < r0 or row >= r1:
                continue
            y = y0 + (row + 0.5) * cell
            dy = abs(y - ay[k])
            if dy > r or dy > best:
                continue
            for side in range(2):  # columns from the anchor's outwards, each way
                col = mid_c if side == 0 else mid_c + 1
                while c0 <= col < c1:
                    x = x0 + (col + 0.5) * cell
                    if abs(x - ax[k]) > best or abs(x - ax[k]) > r:
                        break
                    if cells[row, col]:
                        d = np.hypot(x - ax[k], y - ay[k])
                        if d < best or (d == best and (row < brow
                                                       or (row == brow and col < bcol))):
                            best, brow, bcol = d, row, col
                            out_x[k], out_y[k] = x, y
                    col = col - 1 if side == 0 else col + 1
        found[k] = best <= r
    return found, out_x, out_y


def _terrain(rng: np.random.Generator, ny: int, nx: int, share: float, cell: float):
    cover = np.array([0.0, 0.5])
    grid = (rng.random((ny, nx)) < share).astype(np.int64)
    return SimpleNamespace(cover=cover, grid=grid, x0=-37.5, y0=12.25, cell=cell)


def _anchors(rng: np.random.Generator, t, n: int) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = t.grid.shape
    w, h = nx * t.cell, ny * t.cell
    ax = t.x0 - 0.3 * w + 1.6 * w * rng.random(n)
    ay = t.y0 - 0.3 * h + 1.6 * h * rng.random(n)
    edge = rng.random(n) < 0.3  # on cell edges and corners
    ax[edge] = t.x0 + rng.integers(-3, nx + 3, edge.sum()) * t.cell
    ay[edge[::-1]] = t.y0 + rng.integers(-3, ny + 3, edge.sum()) * t.cell
    mid = rng.random(n) < 0.1  # on cell centres (ties between neighbours)
    ax[mid] = t.x0 + (rng.integers(0, nx, mid.sum()) + 0.5) * t.cell
    return ax, ay


@pytest.mark.parametrize("seed", range(6))
def test_cover_index_is_the_scan(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ny, nx = rng.integers(1, 60, 2)
    share = [0.0, 0.004, 0.02, 0.2, 0.9, 1.0][seed]
    cell = float(rng.choice([1.0, 2.5, 10.0]))
    t = _terrain(rng, int(ny), int(nx), share, cell)
    ax, ay = _anchors(rng, t, 4000)
    cells = t.cover[t.grid] >= 0.3
    found_any = 0
    for radius in (0.4 * cell, cell, 3.0 * cell, 7.5 * cell, 25.0 * cell):
        want = scan_cover(cells, t.x0, t.y0, cell, radius, ax, ay)
        got = CoverIndex(t, 0.3, radius).search(ax, ay)
        for w, g in zip(want, got, strict=True):
            assert np.array_equal(w, g)
        found_any += int(want[0].sum())
    if cells.any():
        assert found_any > 0  # the comparison saw answers, not only misses


def test_cover_index_on_kursk_assault() -> None:
    """The built-in terrain: treelines, forest, village; anchors over the whole field."""
    from dronefront.engine.terrain import rasterize
    from dronefront.scenario.loader import load_scenario

    t = rasterize(load_scenario("kursk-assault").terrain)
    rng = np.random.default_rng(7)
    ax, ay = _anchors(rng, t, 3000)
    cells = t.cover[t.grid] >= 0.3
    want = scan_cover(cells, float(t.x0), float(t.y0), float(t.cell), 200.0, ax, ay)
    got = CoverIndex(t, 0.3, 200.0).search(ax, ay)
    assert 0 < want[0].sum() < ax.size
    for w, g in zip(want, got, strict=True):
        assert np.array_equal(w, g)
