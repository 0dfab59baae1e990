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
def _widen(who, lo, hi, box):
    """Widen ``box[side] = (lo_x, lo_y, hi_x, hi_y)`` by the present soldiers ``lo..hi-1``.

    ``who`` is ``(x, y, status, side, phase, dead, gone)``: a soldier is present unless its
    status is ``dead`` or its ``phase`` (empty: none) is ``gone``. Min and max do not depend
    on the order they are taken in, so chunks may be widened apart and merged.
    """
    x, y, status, side, phase, dead, gone = who
    phased = phase.shape[0] > 0
    # in scalars: stores to ``box`` inside the loop could not be kept in registers
    a0, a1, a2, a3 = box[0, 0], box[0, 1], box[0, 2], box[0, 3]
    b0, b1, b2, b3 = box[1, 0], box[1, 1], box[1, 2], box[1, 3]
    for i in range(lo, hi):
        if status[i] == dead or (phased and phase[i] == gone):
            continue
        if side[i] == 0:
            a0 = min(a0, x[i])
            a1 = min(a1, y[i])
            a2 = max(a2, x[i])
            a3 = max(a3, y[i])
        else:
            b0 = min(b0, x[i])
            b1 = min(b1, y[i])
            b2 = max(b2, x[i])
            b3 = max(b3, y[i])
    box[0, 0], box[0, 1], box[0, 2], box[0, 3] = a0, a1, a2, a3
    box[1, 0], box[1, 1], box[1, 2], box[1, 3] = b0, b1, b2, b3


@nb.njit(cache=True)
def _frames(box, cell):
    """Per side, the grid's origin ``(x0, y0)`` and size ``(nx, ny)`` over ``box`` (as
    ``grid_buckets``: one empty cell of margin; a single cell where the side has no one)."""
    origin = np.zeros((2, 2))
    size = np.ones((2, 2), np.int64)
    for s in range(2):
        if np.isfinite(box[s, 0]):
            origin[s, 0] = box[s, 0] - cell
            origin[s, 1] = box[s, 1] - cell
            size[s, 0] = int((box[s, 2] - origin[s, 0]) / cell) + 2
            size[s, 1] = int((box[s, 3] - origin[s, 1]) / cell) + 2
    return origin, size


@nb.njit(cache=True)
def _bucket(who, frames, lo, hi, cell_of, counts0, counts1):
    """Cell of each present soldier ``lo..hi-1`` on its side's grid (``cell_of``, -1 for
    the absent) and one count per soldier in ``counts0`` or ``counts1`` (by side)."""
    x, y, status, side, phase, dead, gone = who
    origin, size, cell = frames
    # each side's frame in scalars: loads from the small arrays would be repeated per soldier
    ax0, ay0, anx, any_ = origin[0, 0], origin[0, 1], size[0, 0], size[0, 1]
    bx0, by0, bnx, bny = origin[1, 0], origin[1, 1], size[1, 0], size[1, 1]
    phased = phase.shape[0] > 0
    for i in range(lo, hi):
        if status[i] == dead or (phased and phase[i] == gone):
            cell_of[i] = -1
            continue
        if side[i] == 0:
            cx = min(max(int((x[i] - ax0) / cell), 0), anx - 1)
            cy = min(max(int((y[i] - ay0) / cell), 0), any_ - 1)
            c = cy * anx + cx
            counts0[c] += 1
        else:
            cx = min(max(int((x[i] - bx0) / cell), 0), bnx - 1)
            cy = min(max(int((y[i] - by0) / cell), 0), bny - 1)
            c = cy * bnx + cx
            counts1[c] += 1
        cell_of[i] = c


@nb.njit(cache=True)
def _locate(who, frames, lo, hi, cell_of):
    """``_bucket`` without the counts: the cells of soldiers ``lo..hi-1`` only.

    Kept as a near-copy on purpose: ``_bucket`` as ``_locate`` plus a counting pass
    measured ~3% slower at N = 300,000 (62.0-62.9 against 63.7-66.6 M soldier-steps/s).
    """
    x, y, status, side, phase, dead, gone = who
    origin, size, cell = frames
    ax0, ay0, anx, any_ = origin[0, 0], origin[0, 1], size[0, 0], size[0, 1]
    bx0, by0, bnx, bny = origin[1, 0], origin[1, 1], size[1, 0], size[1, 1]
    phased = phase.shape[0] > 0
    for i in range(lo, hi):
        if status[i] == dead or (phased and phase[i] == gone):
            cell_of[i] = -1
        elif side[i] == 0:
            cx = min(max(int((x[i] - ax0) / cell), 0), anx - 1)
            cy = min(max(int((y[i] - ay0) / cell), 0), any_ - 1)
            cell_of[i] = cy * anx + cx
        else:
            cx = min(max(int((x[i] - bx0) / cell), 0), bnx - 1)
            cy = min(max(int((y[i] - by0) / cell), 0), bny - 1)
            cell_of[i] = cy * bnx + cx


@nb.njit(cache=True)
def _scatter(side, cell_of, lo, hi, fill0, fill1, items0, items1):
    """Put soldiers ``lo..hi-1`` (ascending) at their cells' cursors, advancing them."""
    for i in range(lo, hi):
        c = cell_of[i]
        if c < 0:
            continue
        if side[i] == 0:
            items0[fill0[c]] = i
            fill0[c] += 1
        else:
            items1[fill1[c]] = i
            fill1[c] += 1


@nb.njit(cache=True)
def side_grids(who, cell):
    """Both sides' grids of the present soldiers (``who`` as ``_widen``), as ``Grid`` fields.

    One pass finds both bounding boxes, one counts soldiers per cell, one fills the cells:
    the same grids as ``grid_buckets`` over each side's mask.
    """
    x, side = who[0], who[3]
    n = x.shape[0]
    box = np.empty((2, 4))
    box[:, :2] = np.inf
    box[:, 2:] = -np.inf
    _widen(who, 0, n, box)
    origin, size = _frames(box, cell)
    cell_of = np.empty(n, np.int64)
    start0 = np.zeros(size[0, 0] * size[0, 1] + 1, np.int64)
    start1 = np.zeros(size[1, 0] * size[1, 1] + 1, np.int64)
    _bucket(who, (origin, size, cell), 0, n, cell_of, start0[1:], start1[1:])
    for c in range(1, start0.shape[0]):
        start0[c] += start0[c - 1]
    for c in range(1, start1.shape[0]):
        start1[c] += start1[c - 1]
    items0 = np.empty(start0[-1], np.int64)
    items1 = np.empty(start1[-1], np.int64)
    _scatter(side, cell_of, 0, n, start0[:-1].copy(), start1[:-1].copy(), items0, items1)
    return ((origin[0, 0], origin[0, 1], cell, size[0, 0], size[0, 1], start0, items0),
            (origin[1, 0], origin[1, 1], cell, size[1, 0], size[1, 1], start1, items1))


@nb.njit(cache=True)
def _fill(side, cell_of, starts):
    """Count the located soldiers per cell into ``starts`` (shifted by one), turn the counts
    into cell starts and fill each side's items in ascending soldier order."""
    start0, start1 = starts
    n = side.shape[0]
    for i in range(n):
        c = cell_of[i]
        if c < 0:
            continue
        if side[i] == 0:
            start0[c + 1] += 1
        else:
            start1[c + 1] += 1
    for c in range(1, start0.shape[0]):
        start0[c] += start0[c - 1]
    for c in range(1, start1.shape[0]):
        start1[c] += start1[c - 1]
    items0 = np.empty(start0[-1], np.int64)
    items1 = np.empty(start1[-1], np.int64)
    _scatter(side, cell_of, 0, n, start0[:-1].copy(), start1[:-1].copy(), items0, items1)
    return items0, items1


@nb.njit(cache=True, parallel=True)
def side_grids_parallel(who, cell, threads):
    """``side_grids`` with the bounding boxes and every soldier's cell (the divisions)
    found on ``threads`` chunks in parallel; counting and filling the cells stay one pass
    each. The same grids, bit for bit, for any number of chunks or threads: min and max
    merge exactly, and each soldier's cell is its own."""
    x, side = who[0], who[3]
    n = x.shape[0]
    chunks = max(min(threads, n // 1024), 1)
    bounds = np.linspace(0, n, chunks + 1).astype(np.int64)
    boxes = np.empty((chunks, 2, 4))
    boxes[:, :, :2] = np.inf
    boxes[:, :, 2:] = -np.inf
    for t in nb.prange(chunks):
        _widen(who, bounds[t], bounds[t + 1], boxes[t])
    box = boxes[0]
    for t in range(1, chunks):
        for s in range(2):
            box[s, 0] = min(box[s, 0], boxes[t, s, 0])
            box[s, 1] = min(box[s, 1], boxes[t, s, 1])
            box[s, 2] = max(box[s, 2], boxes[t, s, 2])
            box[s, 3] = max(box[s, 3], boxes[t, s, 3])
    origin, size = _frames(box, cell)
    cell_of = np.empty(n, np.int64)
    for t in nb.prange(chunks):
        _locate(who, (origin, size, cell), bounds[t], bounds[t + 1], cell_of)
    start0 = np.zeros(size[0, 0] * size[0, 1] + 1, np.int64)
    start1 = np.zeros(size[1, 0] * size[1, 1] + 1, np.int64)
    items0, items1 = _fill(side, cell_of, (start0, start1))
    return ((origin[0, 0], origin[0, 1], cell, size[0, 0], size[0, 1], start0, items0),
            (origin[1, 0], origin[1, 1], cell, size[1, 0], size[1, 1], start1, items1))


def build_side_grids(x: np.ndarray, y: np.ndarray, status: np.ndarray, side: np.ndarray,
                     dead: int, cell: float) -> tuple[Grid, Grid]:
    """One grid per side of the soldiers whose status is not ``dead`` (as ``build_grid``).

    >>> xs = np.array([0.0, 5.0, 50.0]); side = np.array([0, 1, 0], np.int8)
    >>> grids = build_side_grids(xs, xs, np.zeros(3, np.int8), side, 2, 10.0)
    >>> [g.items.tolist() for g in grids]
    [[0, 2], [1]]
    """
    who = (x, y, status, side, np.empty(0, np.int8), dead, -1)
    g0, g1 = side_grids(who, float(cell))
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
