"""Helpers for stages' batched calls in an ensemble (``engine/ensemble.py``).

A batched call advances every replicate of an ensemble by one stage in one kernel call: it
passes the stacked arrays (leading replicate axis) of the columns it reads and writes, and
the kernel loops over replicates, calling the single-run kernel on row ``r`` of each
(``rows``: cheap views inside Numba). It is offered only where every per-run constant the
stage passes is equal across replicates (``same``), so replicate 0's stand for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

__all__ = ["MemoBatch", "PackedGrids", "epochs", "pack_grids", "packed_grid", "rows", "same",
           "stacked", "stacked_view"]


def stacked(views: Sequence[np.ndarray]) -> np.ndarray | None:
    """The stacked array whose rows ``views`` are (row ``r`` of it is ``views[r]``), or None
    where they are not the rows of one array (a column kept per replicate).

    >>> block = np.zeros((2, 3))
    >>> stacked([block[0], block[1]]) is block, stacked([block[1], block[0]]) is None
    (True, True)
    """
    first = views[0]
    block = first.base
    if not isinstance(block, np.ndarray) or block.shape != (len(views), *first.shape) \
            or not block.flags.c_contiguous:
        return None
    step = block.strides[0]
    origin = block.__array_interface__["data"][0]
    for r, view in enumerate(views):
        if view.base is not block or view.__array_interface__["data"][0] != origin + r * step:
            return None
    return block


def stacked_view(views: Sequence[tuple]) -> tuple | None:
    """Per replicate kernel views (tuples of columns, or of such tuples; one per
    replicate) as one tuple of stacked columns, nested alike, or None where some column is
    not stacked."""
    out = []
    for i in range(len(views[0])):
        items = [v[i] for v in views]
        block = stacked_view(items) if isinstance(items[0], tuple) else stacked(items)
        if block is None:
            return None
        out.append(block)
    return tuple(out)


def same(values: Sequence) -> bool:
    """Whether per-replicate constants are all equal (arrays by value, tuples item by item,
    NaN equal to NaN).

    >>> same([(np.arange(3), 1.0), (np.arange(3), 1.0)]), same([np.zeros(2), np.ones(2)])
    (True, False)
    """
    first = values[0]
    for other in values[1:]:
        if not _equal(first, other):
            return False
    return True


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b, strict=True)))
    return bool(a == b) or (a != a and b != b)


def rows(columns: tuple, r: int) -> tuple:
    """Row ``r`` of each stacked column (in Numba: views, no copies)."""
    return tuple(c[r] for c in columns)


@overload(rows)
def _rows(columns, r):
    n = len(columns)
    body = "".join(f"columns[{i}][r], " for i in range(n))
    source = f"def impl(columns, r):\n    return ({body})\n"
    scope: dict = {}
    exec(source, scope)  # noqa: S102 - a fixed-arity tuple of rows for this tuple type
    return scope["impl"]



def epochs(states: Sequence, name: str) -> np.ndarray:
    """The int field ``name`` (an epoch) of every replicate's ``State``, as an array."""
    return np.fromiter([getattr(s, name) for s in states], np.int64, len(states))


class MemoBatch:
    """A batched call whose stages keep memos (docs/engine.md, "Ensembles").

    The memos of every replicate's stage are mirrored in arrays by replicate, so that
    "anything to do this step?" is one vectorised check for all replicates
    (``__call__``); only the replicates with work are stepped, by their own stage (which
    stays the memos' owner), and their mirror rows are then refreshed (``pull``). Holds
    the lists ``stages`` and ``states`` it was built from: after the ensemble puts a
    rebuilt replicate's stage and state into them, ``reset(r)`` re-binds row ``r``.
    """

    def __init__(self, stages: list, states: list) -> None:
        self.stages, self.states = stages, states

    def pull(self, r: int) -> None:
        """Refresh the mirror row ``r`` from ``stages[r]`` (its memos after a call)."""

    def reset(self, r: int) -> None:
        """Re-bind replicate ``r`` to ``stages[r]`` and ``states[r]`` (after the ensemble
        rebuilt it in place); by default the memo mirror row is pulled again."""
        self.pull(r)


class PackedGrids(NamedTuple):
    """The neighbour grids (``State.grids``, rebuilt per replicate every step, of sizes of
    their own) of some replicates, end to end for a batched kernel: grid ``2 * j + side``
    is side ``side`` of the ``j``-th replicate packed (``packed_grid``)."""

    geometry: np.ndarray  # float64 (2k, 3): x0, y0, cell (m)
    shape: np.ndarray  # int64 (2k, 2): nx, ny
    start: np.ndarray  # int64: the grids' ``start`` arrays end to end
    items: np.ndarray  # int64: the grids' ``items`` arrays end to end
    bounds: np.ndarray  # int64 (2k + 1, 2): where each grid's start and items begin


def pack_grids(states: Sequence, replicates: Sequence[int]) -> tuple:
    """Both sides' grids of ``states[r]`` for each ``r`` in ``replicates``, packed
    (``PackedGrids``, as a plain tuple)."""
    geometry, sizes, starts, items = [], [(0, 0, 0, 0)], [], []
    for r in replicates:
        for g in states[r].grids:
            geometry.append((g.x0, g.y0, g.cell))
            sizes.append((g.nx, g.ny, g.start.shape[0], g.items.shape[0]))
            starts.append(g.start)
            items.append(g.items)
    size = np.array(sizes, np.int64)
    return (np.array(geometry, np.float64).reshape(-1, 3), size[1:, :2].copy(),
            np.concatenate(starts) if starts else np.empty(0, np.int64),
            np.concatenate(items) if items else np.empty(0, np.int64),
            np.cumsum(size[:, 2:], axis=0))


@nb.njit(cache=True)
def packed_grid(grids, j):
    """Grid ``j`` of packed grids (``pack_grids``) as the plain tuple a kernel takes; for
    ``j < 0`` an empty grid (one cell, nobody in it) of the same type."""
    p = PackedGrids(*grids)
    b = p.bounds
    if j < 0:
        return (0.0, 0.0, 1.0, np.int64(1), np.int64(1), b[:2, 0] * 0, p.items[0:0])
    return (p.geometry[j, 0], p.geometry[j, 1], p.geometry[j, 2], p.shape[j, 0],
            p.shape[j, 1], p.start[b[j, 0]:b[j + 1, 0]], p.items[b[j, 1]:b[j + 1, 1]])
