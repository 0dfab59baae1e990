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
def _locate(who, frames, lo, hi, cell_of):
    """The cell of each soldier ``lo..hi-1`` on its side's grid (``cell_of``; -1 for the
    absent), without branches, so that the compiler vectorises the divisions: the side
    picks the frame, presence picks the cell or -1."""
    x, y, status, side, phase, dead, gone = who
    origin, size, cell = frames
    ax0, ay0, anx, any_ = origin[0, 0], origin[0, 1], size[0, 0], size[0, 1]
    bx0, by0, bnx, bny = origin[1, 0], origin[1, 1], size[1, 0], size[1, 1]
    if phase.shape[0] > 0:  # two loops: a test of ``phased`` inside would stop vectorising
        for i in range(lo, hi):
            first = side[i] == 0
            nx = anx if first else bnx
            cx = min(max(int((x[i] - (ax0 if first else bx0)) / cell), 0), nx - 1)
            cy = min(max(int((y[i] - (ay0 if first else by0)) / cell), 0),
                     (any_ if first else bny) - 1)
            present = status[i] != dead and phase[i] != gone
            cell_of[i] = cy * nx + cx if present else -1
    else:
        for i in range(lo, hi):
            first = side[i] == 0
            nx = anx if first else bnx
            cx = min(max(int((x[i] - (ax0 if first else bx0)) / cell), 0), nx - 1)
            cy = min(max(int((y[i] - (ay0 if first else by0)) / cell), 0),
                     (any_ if first else bny) - 1)
            cell_of[i] = cy * nx + cx if status[i] != dead else -1


@nb.njit(cache=True)
def _scatter(side, cell_of, lo, hi, fill0, fill1, items0, items1):
    """Put soldiers ``lo..hi-1`` (ascending) at their cells' cursors, advancing them.

    Neighbours in index order mostly share a cell, so each side's current cell keeps its
    cursor in a register and writes it back only when the cell changes: a load, increment
    and store of the cursor per soldier would chain every soldier of a cell through a
    store-to-load forwarding (most of the old loop's time)."""
    last0 = last1 = -1
    at0 = at1 = 0
    for i in range(lo, hi):
        c = cell_of[i]
        if c < 0:
            continue
        if side[i] == 0:
            if c != last0:
                if last0 >= 0:
                    fill0[last0] = at0
                last0 = c
                at0 = fill0[c]
            items0[at0] = i
            at0 += 1
        else:
            if c != last1:
                if last1 >= 0:
                    fill1[last1] = at1
                last1 = c
                at1 = fill1[c]
            items1[at1] = i
            at1 += 1
    if last0 >= 0:
        fill0[last0] = at0
    if last1 >= 0:
        fill1[last1] = at1


@nb.njit(cache=True)
def empty_box():
    """Both sides' ``(lo_x, lo_y, hi_x, hi_y)`` before any soldier widens them."""
    box = np.empty((2, 4))
    box[:, :2] = np.inf
    box[:, 2:] = -np.inf
    return box


@nb.njit(cache=True)
def _frame(origin, size, starts, frames):
    """Write both sides' ``(x0, y0, nx, ny, indexed)`` into ``frames`` (float64 ``(2, 5)``);
    ``indexed`` is -1 for a side whose cells do not fit its ``starts`` buffer. Returns
    whether both fit."""
    fits = True
    for s in range(2):
        cells = size[s, 0] * size[s, 1]
        frames[s, 0] = origin[s, 0]
        frames[s, 1] = origin[s, 1]
        frames[s, 2] = size[s, 0]
        frames[s, 3] = size[s, 1]
        frames[s, 4] = -1.0
        if cells + 2 > starts[s].shape[0]:
            fits = False
    return fits


@nb.njit(cache=True)
def _prefix(start, cells):
    """Counts at ``start[c + 2]`` summed so that ``start[c + 1]`` is where cell ``c`` begins."""
    total = start[1]
    for c in range(2, cells + 2):  # the running sum in a register, not reloaded per cell
        total += start[c]
        start[c] = total


@nb.njit(cache=True)
def grids_into(who, box, cell, buffers, frames):
    """Both sides' grids of the present soldiers (``who`` as ``_widen``), whose bounding
    boxes ``box`` are known, written into ``buffers``: ``(cell_of, start0, start1, items0,
    items1)``, int64, ``cell_of`` one per soldier, ``items0``/``items1`` at least each side's
    soldiers, ``start0``/``start1`` at least a side's cells + 2. Side ``s``'s grid is then
    ``Grid(*frames[s, :2], cell, nx, ny, start_s[:nx * ny + 1], items_s[:indexed])`` with
    ``frames[s] = (x0, y0, nx, ny, indexed)``. Returns 0, or 1 where some side's cells did
    not fit its ``start`` buffer (nothing is written then but ``frames``, with ``indexed``
    -1: grow that buffer to ``nx * ny + 2`` and call again).

    A counting sort without a scratch cursor array: counts go to ``start[c + 2]``, their
    running sum makes ``start[c + 1]`` cell ``c``'s first slot, and filling the cells in
    soldier order advances it to cell ``c + 1``'s first: each cell lists its soldiers in
    ascending order, as ``grid_buckets`` does.
    """
    side = who[3]
    n = side.shape[0]
    cell_of, start0, start1, items0, items1 = buffers
    origin, size = _frames(box, cell)
    if not _frame(origin, size, (start0, start1), frames):
        return 1
    k0 = size[0, 0] * size[0, 1]
    k1 = size[1, 0] * size[1, 1]
    _locate(who, (origin, size, cell), 0, n, cell_of)
    start0[:k0 + 2] = 0
    start1[:k1 + 2] = 0
    _count(side, cell_of, start0[2:], start1[2:])
    _prefix(start0, k0)
    _prefix(start1, k1)
    _scatter(side, cell_of, 0, n, start0[1:], start1[1:], items0, items1)
    frames[0, 4] = start0[k0]
    frames[1, 4] = start1[k1]
    return 0


@nb.njit(cache=True)
def _count(side, cell_of, counts0, counts1):
    """One count per located soldier in its side's ``counts`` at its cell (runs of one
    cell counted in a register, as ``_scatter`` keeps its cursor)."""
    last0 = last1 = -1
    run0 = run1 = 0
    for i in range(side.shape[0]):
        c = cell_of[i]
        if c < 0:
            continue
        if side[i] == 0:
            if c != last0:
                if last0 >= 0:
                    counts0[last0] += run0
                last0 = c
                run0 = 0
            run0 += 1
        else:
            if c != last1:
                if last1 >= 0:
                    counts1[last1] += run1
                last1 = c
                run1 = 0
            run1 += 1
    if last0 >= 0:
        counts0[last0] += run0
    if last1 >= 0:
        counts1[last1] += run1


@nb.njit(cache=True)
def _fresh(who, box, cell):
    """Buffers that fit the grids over ``box`` exactly, for a one-off build."""
    side = who[3]
    origin, size = _frames(box, cell)
    n0 = 0
    for i in range(side.shape[0]):
        n0 += side[i] == 0
    return (np.empty(side.shape[0], np.int64), np.empty(size[0, 0] * size[0, 1] + 2, np.int64),
            np.empty(size[1, 0] * size[1, 1] + 2, np.int64), np.empty(n0, np.int64),
            np.empty(side.shape[0] - n0, np.int64))


@nb.njit(cache=True)
def _fields(buffers, frames, cell):
    """Both sides' ``Grid`` fields over ``buffers`` as ``grids_into`` left them."""
    start0, start1, items0, items1 = buffers[1], buffers[2], buffers[3], buffers[4]
    a0, a1, b0, b1 = int(frames[0, 2]), int(frames[0, 3]), int(frames[1, 2]), int(frames[1, 3])
    return ((frames[0, 0], frames[0, 1], cell, a0, a1, start0[:a0 * a1 + 1],
             items0[:int(frames[0, 4])]),
            (frames[1, 0], frames[1, 1], cell, b0, b1, start1[:b0 * b1 + 1],
             items1[:int(frames[1, 4])]))


@nb.njit(cache=True)
def side_grids(who, cell):
    """Both sides' grids of the present soldiers (``who`` as ``_widen``), as ``Grid`` fields,
    in fresh arrays.

    One pass finds both bounding boxes, then ``grids_into`` locates, counts and fills: the
    same grids as ``grid_buckets`` over each side's mask.
    """
    box = empty_box()
    _widen(who, 0, who[0].shape[0], box)
    buffers = _fresh(who, box, cell)
    frames = np.empty((2, 5))
    grids_into(who, box, cell, buffers, frames)
    return _fields(buffers, frames, cell)


@nb.njit(cache=True)
def merge_box(box, other):
    """Widen ``box`` by ``other`` (both ``(2, 4)``, as ``_widen``): exact in any order."""
    for s in range(2):
        box[s, 0] = min(box[s, 0], other[s, 0])
        box[s, 1] = min(box[s, 1], other[s, 1])
        box[s, 2] = max(box[s, 2], other[s, 2])
        box[s, 3] = max(box[s, 3], other[s, 3])


def build_side_grids(x: np.ndarray, y: np.ndarray, status: np.ndarray, side: np.ndarray,
                     dead: int, cell: float) -> tuple[Grid, Grid]:
    """One grid per side of the soldiers whose status is not ``dead`` (as ``build_grid``).

    >>> xs = np.array([0.0, 5.0, 50.0]); side = np.array([0, 1, 0], np.int8)
    >>> grids = build_side_grids(xs, xs, np.zeros(3, np.int8), side, 2, 10.0)
    >>> [g.items.tolist() for g in grids]
    [[0, 2], [1]]
    """
    who = (x, y, status, side, np.empty(0, np.int8), dead, -1)
    cell = float(cell)
    box = empty_box()
    _widen(who, 0, x.shape[0], box)
    buffers = _fresh(who, box, cell)
    frames = np.empty((2, 5))
    grids_into(who, box, cell, buffers, frames)  # as GridStore.grow calls it (compiled here)
    g0, g1 = _fields(buffers, frames, cell)
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


def side_grids_into(who: tuple, cell: float, buffers: tuple, frames: np.ndarray) -> int:
    """``grids_into`` with the bounding boxes found first (one pass): what a caller that
    has not tracked the boxes while moving the soldiers calls (``GridStore.grow``). The
    same compiled kernels as ``build_side_grids``, which every run's set-up calls, so this
    rare path compiles nothing new inside a timed run."""
    box = empty_box()
    _widen(who, 0, who[0].shape[0], box)
    return int(grids_into(who, box, float(cell), buffers, frames))


def _room(cells: int) -> int:
    """A ``start`` buffer's length for ``cells`` cells, with headroom so that a box that
    grows a little does not reallocate every step."""
    return cells + cells // 4 + 66


class GridStore:
    """Buffers that movement writes the neighbour grids of ``R`` replicates into, every step,
    and the ``Grid`` views of them that ``state.grids`` reads.

    Allocated once: ``cell_of`` ``(R, N)`` (scratch), per side ``items`` ``(R, soldiers of
    that side)`` and ``start`` ``(R, cells + 2)`` with headroom; a ``start`` buffer grows
    (rarely) when a side's bounding box outgrows it (``grow``). ``frames[r, s]`` is
    replicate ``r``'s side ``s`` as the kernel left it, ``(x0, y0, nx, ny, indexed)``
    (``grids_into``). A replicate's grids are views of its rows: the arrays are made again
    only when its number of cells or of indexed soldiers changes. ``lent[r]`` is what a
    batched movement call leaves in replicate ``r``'s state instead of its grids
    (``state.lend_grids``): they are made from the store only when something reads them.

    >>> side = np.array([0, 1, 0], np.int8); xs = np.array([0.0, 5.0, 50.0])
    >>> store = GridStore([side], [build_side_grids(xs, xs, np.zeros(3, np.int8), side, 2,
    ...                                             10.0)], 10.0)
    >>> who = (xs, xs, np.zeros(3, np.int8), side, np.empty(0, np.int8), 2, -1)
    >>> side_grids_into(who, 10.0, store.rows[0], store.frames[0])
    0
    >>> [g.items.tolist() for g in store.grids(0)]
    [[0, 2], [1]]
    """

    def __init__(self, sides: list[np.ndarray], grids: list[tuple[Grid, Grid]],
                 cell: float) -> None:
        replicates, n = len(sides), len(sides[0])
        n0 = max(int(np.count_nonzero(s == 0)) for s in sides)
        n1 = max(len(s) - int(np.count_nonzero(s == 0)) for s in sides)
        self.cell = float(cell)
        self.cell_of = np.empty((replicates, n), np.int64)
        self.items = (np.empty((replicates, n0), np.int64), np.empty((replicates, n1), np.int64))
        self.start = tuple(np.zeros((replicates, _room(max(g[s].nx * g[s].ny for g in grids))),
                                    np.int64) for s in range(2))
        self.frames = np.zeros((replicates, 2, 5))
        self._held: list[tuple | None] = [None] * replicates
        #: per replicate, the token a batched movement call lends its state (``Lent``)
        self.lent = [Lent(self, r) for r in range(replicates)]
        self._bind()

    def _bind(self) -> None:
        #: the stacked buffers, as ``grids_into`` takes them (leading replicate axis)
        self.stacked = (self.cell_of, self.start[0], self.start[1], self.items[0],
                        self.items[1])
        #: replicate ``r``'s rows of them
        self.rows = [tuple(b[r] for b in self.stacked) for r in range(len(self.cell_of))]
        self._held = [None] * len(self.cell_of)

    def forget(self, r: int) -> None:
        """Make replicate ``r``'s grid arrays again at the next ``grids(r)``."""
        self._held[r] = None

    def grow(self, r: int, who: tuple) -> None:
        """Replicate ``r``'s grids did not fit (``frames[r, s, 4]`` is -1): widen the
        ``start`` buffers to the cells ``frames`` asks for, then build them again from
        ``who`` (the soldiers as they now stand, as ``_widen``)."""
        frames = self.frames[r]
        self._room_for([int(frames[s, 2] * frames[s, 3]) + 2 for s in range(2)])
        if side_grids_into(who, self.cell, self.rows[r], frames):
            raise AssertionError("grid buffers still too small")  # pragma: no cover

    def _room_for(self, need: list[int]) -> None:
        """Widen each side's ``start`` buffers to at least ``need[s]`` (cells + 2)."""
        start = list(self.start)
        for s in range(2):
            if need[s] > start[s].shape[1]:
                wider = np.zeros((start[s].shape[0], _room(need[s])), np.int64)
                wider[:, :start[s].shape[1]] = start[s]  # the rows other replicates use
                start[s] = wider
        if start[0] is not self.start[0] or start[1] is not self.start[1]:
            self.start = (start[0], start[1])
            self._bind()

    def adopt(self, r: int, grids: tuple[Grid, Grid]) -> bool:
        """Copy ``grids`` (a restarted replicate's fresh ones, as ``build_side_grids`` makes
        them) into replicate ``r``'s rows and ``frames``, so that ``grids(r)`` gives them
        and they can be lent like the others until the next movement call. False (nothing
        copied) where they do not fit this store's layout."""
        for s, g in enumerate(grids):
            if g.cell != self.cell or g.start.shape[0] != g.nx * g.ny + 1 \
                    or g.items.shape[0] > self.items[s].shape[1]:
                return False
        self._room_for([g.start.shape[0] + 1 for g in grids])
        for s, g in enumerate(grids):
            self.start[s][r, :g.start.shape[0]] = g.start
            self.items[s][r, :g.items.shape[0]] = g.items
            self.frames[r, s] = (g.x0, g.y0, g.nx, g.ny, g.items.shape[0])
        self._held[r] = None
        return True

    def grids(self, r: int) -> tuple[Grid, Grid]:
        """Replicate ``r``'s grids, as ``frames[r]`` describes them (views of its rows; new
        ``Grid`` objects at every call)."""
        (x0, y0, nx, ny, n), (x1, y1, mx, my, m) = self.frames[r].tolist()
        key = (nx * ny, n, mx * my, m)
        held = self._held[r]
        if held is None or held[0] != key:
            start0, start1, items0, items1 = self.rows[r][1:]
            held = (key, start0[:int(nx * ny) + 1], items0[:int(n)], start1[:int(mx * my) + 1],
                    items1[:int(m)])
            self._held[r] = held
        cell = self.cell
        return (Grid(x0, y0, cell, int(nx), int(ny), held[1], held[2]),
                Grid(x1, y1, cell, int(mx), int(my), held[3], held[4]))


class Lent:
    """Replicate ``r``'s grids left in ``store`` by a batched movement call: what a state
    holds instead of its grids until something reads them (``state.lend_grids``).

    ``pair`` is the pair ``grids()`` made last (None before): a state whose ``grids`` are
    that very pair still holds the store's grids, as they were made from it.
    """

    __slots__ = ("store", "r", "pair")

    def __init__(self, store: GridStore, r: int) -> None:
        self.store, self.r = store, r
        self.pair: tuple[Grid, Grid] | None = None

    def grids(self) -> tuple[Grid, Grid]:
        """The store's grids of replicate ``r`` as they now stand (``GridStore.grids``)."""
        pair = self.pair = self.store.grids(self.r)
        return pair
