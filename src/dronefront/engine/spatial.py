"""Uniform-grid neighbour index: every radius query in the engine goes through it.

Soldiers are bucketed by a counting sort into square cells; a query visits the cells that
overlap the query disc. Build is O(N); a query costs the cells it touches plus the soldiers
in them. The grid covers the bounding box of the indexed soldiers, so it follows the fight.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

GRID_CELL = 10.0  # metres: the engine's neighbour-grid cell, sized to the typical density radius


@nb.njit(cache=True)
def _build(x, y, include, cell, x0, y0, nx, ny):
    n = x.shape[0]
    cell_of = np.full(n, -1, np.int64)
    counts = np.zeros(nx * ny + 1, np.int64)
    for i in range(n):
        if include[i]:
            cx = min(max(int((x[i] - x0) / cell), 0), nx - 1)
            cy = min(max(int((y[i] - y0) / cell), 0), ny - 1)
            c = cy * nx + cx
            cell_of[i] = c
            counts[c + 1] += 1
    start = np.cumsum(counts)
    fill = start[:-1].copy()
    items = np.empty(start[-1], np.int64)
    for i in range(n):
        c = cell_of[i]
        if c >= 0:
            items[fill[c]] = i
            fill[c] += 1
    return start, items


def nonzero(mask: np.ndarray) -> np.ndarray:
    """Indices where a 1-D mask is true (``np.flatnonzero`` without its per-call overhead)."""
    return mask.nonzero()[0]


class Grid(NamedTuple):
    """A built grid: soldiers of cell ``c = cy * nx + cx`` are ``items[start[c]:start[c + 1]]``.

    Kernels take grids as plain tuples (``tuple(grid)``, unboxed faster than a NamedTuple)
    and name them again with ``Grid(*raw)``.
    """

    x0: float  # metres: west edge of cell column 0
    y0: float  # metres: south edge of cell row 0
    cell: float  # metres: side of a square cell
    nx: int  # cell columns
    ny: int  # cell rows
    start: np.ndarray  # int64 (nx * ny + 1,): where each cell's soldiers begin in items
    items: np.ndarray  # int64 (indexed soldiers,): soldier indices, by cell, ascending within


@nb.njit(cache=True)
def bounding_box(x, y, include):
    """(lo_x, lo_y, hi_x, hi_y) of the included points (infinite where none is)."""
    lo_x, lo_y, hi_x, hi_y = np.inf, np.inf, -np.inf, -np.inf
    for i in range(x.shape[0]):
        if include[i]:
            lo_x = min(lo_x, x[i])
            hi_x = max(hi_x, x[i])
            lo_y = min(lo_y, y[i])
            hi_y = max(hi_y, y[i])
    return lo_x, lo_y, hi_x, hi_y


@nb.njit(cache=True)
def grid_buckets(x, y, include, cell):
    """Origin, size and buckets of the grid over the included soldiers' bounding box."""
    lo_x, lo_y, hi_x, hi_y = bounding_box(x, y, include)
    if np.isfinite(lo_x):
        x0, y0 = lo_x - cell, lo_y - cell
        nx = int((hi_x - x0) / cell) + 2
        ny = int((hi_y - y0) / cell) + 2
    else:
        x0, y0, nx, ny = 0.0, 0.0, 1, 1
    start, items = _build(x, y, include, cell, x0, y0, nx, ny)
    return x0, y0, nx, ny, start, items


def build_grid(x: np.ndarray, y: np.ndarray, include: np.ndarray, cell: float) -> Grid:
    """Index the soldiers where ``include`` is true into cells of side ``cell`` metres."""
    x0, y0, nx, ny, start, items = grid_buckets(x, y, include, float(cell))
    return Grid(x0, y0, cell, nx, ny, start, items)


@nb.njit(cache=True)
def side_grids(x, y, status, side, dead, cell):
    """Both sides' grids of the soldiers whose status is not ``dead``, as ``Grid`` fields."""
    out = []
    for which in range(2):
        x0, y0, nx, ny, start, items = grid_buckets(x, y, (side == which) & (status != dead), cell)
        out.append((x0, y0, cell, nx, ny, start, items))
    return out[0], out[1]


@nb.njit(cache=True)
def side_grids_present(x, y, status, side, dead, phase, gone, cell):
    """``side_grids`` leaving out, too, the soldiers whose ``phase`` is ``gone`` (evacuated)."""
    out = []
    for which in range(2):
        x0, y0, nx, ny, start, items = grid_buckets(
            x, y, (side == which) & (status != dead) & (phase != gone), cell)
        out.append((x0, y0, cell, nx, ny, start, items))
    return out[0], out[1]


def build_side_grids(x: np.ndarray, y: np.ndarray, status: np.ndarray, side: np.ndarray,
                     dead: int, cell: float) -> tuple[Grid, Grid]:
    """One grid per side of the soldiers whose status is not ``dead`` (as ``build_grid``).

    >>> xs = np.array([0.0, 5.0, 50.0]); side = np.array([0, 1, 0], np.int8)
    >>> grids = build_side_grids(xs, xs, np.zeros(3, np.int8), side, 2, 10.0)
    >>> [g.items.tolist() for g in grids]
    [[0, 2], [1]]
    """
    g0, g1 = side_grids(x, y, status, side, dead, float(cell))
    return Grid(*g0), Grid(*g1)


def grid_columns(grids: tuple[Grid, Grid]) -> tuple[tuple, tuple]:
    """Both sides' grids as plain tuples, for a kernel (which names them with ``Grid(*g)``)."""
    return tuple(grids[0]), tuple(grids[1])


@nb.njit(inline="always", cache=True)
def cell_range(px, py, radius, x0, y0, cell, nx, ny):
    """Inclusive cell index bounds of the disc ``(px, py, radius)``."""
    cx0 = max(int((px - radius - x0) / cell), 0)
    cx1 = min(int((px + radius - x0) / cell), nx - 1)
    cy0 = max(int((py - radius - y0) / cell), 0)
    cy1 = min(int((py + radius - y0) / cell), ny - 1)
    return cx0, cx1, cy0, cy1


@nb.njit(inline="always", cache=True)
def disc_rows(g, px, py, radius):
    """The cells a disc query visits on grid ``g``: ``(cx0, cx1, cy0, cy1)``, inclusive.

    A disc scan is, for each row ``cy`` in ``cy0..cy1``, the items of ``row_cells``: cells
    ``cx0..cx1`` of a row are contiguous in ``items``, so this visits exactly the soldiers,
    in exactly the order, of a cell-by-cell scan.
    """
    return cell_range(px, py, radius, g.x0, g.y0, g.cell, g.nx, g.ny)


@nb.njit(inline="always", cache=True)
def row_cells(nx, cy, cx0, cx1):
    """``(c0, c1)``: row ``cy``'s cells ``cx0..cx1`` (of a grid ``nx`` cells wide) hold
    ``items[start[c0]:start[c1]]``; ``c0 == c1`` when there are none.

    Scalars in, scalars out: a helper handed an array costs a reference-count pair per call,
    which in a hot loop doubles its time. Kernels take a grid's arrays out of it once.
    """
    if cx0 > cx1:
        return 0, 0
    return cy * nx + cx0, cy * nx + cx1 + 1


@nb.njit(cache=True)
def count_within(qx, qy, radius, x, y, mask, grid):
    """For each query point, the number of indexed soldiers with ``mask`` within ``radius``."""
    g = Grid(*grid)
    start, nx, items = g.start, g.nx, g.items
    out = np.zeros(qx.shape[0], np.int64)
    r2 = radius * radius
    for q in range(qx.shape[0]):
        cx0, cx1, cy0, cy1 = disc_rows(g, qx[q], qy[q], radius)
        n = 0
        for cy in range(cy0, cy1 + 1):
            c0, c1 = row_cells(nx, cy, cx0, cx1)
            for k in range(start[c0], start[c1]):
                j = items[k]
                if mask[j]:
                    dx = x[j] - qx[q]
                    dy = y[j] - qy[q]
                    if dx * dx + dy * dy <= r2:
                        n += 1
        out[q] = n
    return out


@nb.njit(cache=True)
def within(px, py, radius, x, y, mask, grid):
    """Indices (ascending) of indexed soldiers with ``mask`` within ``radius`` of a point."""
    g = Grid(*grid)
    start, nx, items = g.start, g.nx, g.items
    cx0, cx1, cy0, cy1 = disc_rows(g, px, py, radius)
    r2 = radius * radius
    found = []
    for cy in range(cy0, cy1 + 1):
        c0, c1 = row_cells(nx, cy, cx0, cx1)
        for k in range(start[c0], start[c1]):
            j = items[k]
            if mask[j]:
                dx = x[j] - px
                dy = y[j] - py
                if dx * dx + dy * dy <= r2:
                    found.append(j)
    out = np.array(found, dtype=np.int64) if len(found) else np.empty(0, np.int64)
    out.sort()
    return out
