"""Helpers for stages' batched calls in an ensemble (``engine/ensemble.py``).

A batched call advances every replicate of an ensemble by one stage in one kernel call: it
passes the stacked arrays (leading replicate axis) of the columns it reads and writes, and
the kernel loops over replicates, calling the single-run kernel on row ``r`` of each
(``rows``: cheap views inside Numba). It is offered only where every per-run constant the
stage passes is equal across replicates (``same``), so replicate 0's stand for all.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import chain

import numpy as np
from numba.extending import overload

from dronefront.engine.state import lent_grids

__all__ = ["MemoBatch", "Replicates", "epochs", "grid_rows", "in_place", "offer_grids",
           "packed_grids", "rows", "same", "stacked", "stacked_view", "steps"]


class Replicates(list):
    """An ensemble's states (one per replicate, in order) with ``steps``: int64 ``(R,)``,
    each replicate's ``State.step``, kept equal to them by the ensemble. Replicates are on
    different steps after one was reset (``Ensemble.reset``)."""

    steps: np.ndarray


def steps(states: Sequence) -> np.ndarray:
    """Each replicate's step (int64 ``(R,)``): an ensemble's ``Replicates.steps``, else read
    from the states. A batched call that passes ``steps(states)`` to its kernel (step ``r``
    for replicate ``r``) may set ``call.any_step = True``: the ensemble then uses it also
    when replicates are on different steps.

    >>> class S: step = 4
    >>> steps([S(), S()]).tolist()
    [4, 4]
    """
    out = getattr(states, "steps", None)
    if out is None:
        out = epochs(states, "step")
    return out


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


#: dtype kinds whose equal bytes mean equal values (NaN equal to NaN, as ``same`` wants)
_BITWISE = frozenset("biufc")


def _equal(a, b) -> bool:
    if a is b:  # the same object (a NaN included: NaN counts as equal to NaN)
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape):
            return False
        # Equal bytes are equal values; unequal bytes may still be (0.0 and -0.0, NaNs with
        # other payloads), so only a match is taken from the bytes.
        if a.dtype.kind in _BITWISE and a.tobytes() == b.tobytes():
            return True
        return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
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



#: Per thread: the last ``packed_grids`` answer (the grids it packed and the packing) and
#: the buffers it packs into, grown as needed and reused: a fresh array each step would be
#: a fresh mapping whose every page faults on first touch (larger grids: most of the cost).
_PACKED = threading.local()
#: Grid cells (both sides) of replicate 0 above which ``packed_grids`` declines: copying
#: the cell starts then costs more than the per-replicate calls it would save
#: (measured on kursk-assault and fortified-line-breach ensembles).
PACK_LIMIT = 2048


def packed_grids(states: Sequence) -> tuple | None:
    """Every replicate's neighbour grids (``State.grids``) for a batched kernel, in one of
    two layouts that ``grid_rows(packed, r)`` reads alike (in a kernel it gives replicate
    ``r``'s grids as ``grid_columns`` gives them to a single run):

    - **in place** (every state's grids are still lent to the store movement's batched
      call last offered, ``offer_grids``, read or not): ``(frames, cell, start0, start1,
      items0, items1)``, the ``spatial.GridStore``'s own buffers, read where they lie
      (nothing copied, no size limit);
    - **packed** (otherwise): ``(scalars, offsets, starts, items)``, float64
      ``scalars[:, 2r + side]`` = ``(x0, y0, cell, nx, ny)``, the ``start`` and ``items``
      arrays of all grids concatenated and ``offsets[:, 2r + side]`` where each begins (row
      0: starts, row 1: items, one more column at the end), copied into per-thread buffers
      that are reused. None where replicate 0's grids hold more than ``PACK_LIMIT`` cells:
      the caller then calls the single-run kernel per replicate (the same results, by
      another path).

    A later call with the same grid objects gets the same answer, valid until the next
    packing in this thread or the next movement call. Grids lent to the offered store
    (``state.lend_grids``) are recognised without making them (``state.lent_grids``).

    >>> from dronefront.engine.spatial import Grid
    >>> class S:
    ...     grids = (Grid(0.0, 0.0, 10.0, 1, 1, np.array([0, 2]), np.array([4, 7])),
    ...              Grid(5.0, 0.0, 10.0, 1, 1, np.array([0, 1]), np.array([3])))
    >>> scalars, offsets, starts, items = packed_grids([S()])
    >>> scalars[:, 1].tolist(), offsets.tolist(), items.tolist()
    ([5.0, 0.0, 10.0, 1.0, 1.0], [[0, 2, 4], [0, 2, 3]], [4, 7, 3])
    """
    offered = getattr(_PACKED, "offered", None)
    if offered is not None and len(offered.lent) == len(states) \
            and lent_grids(states, offered):
        return in_place(offered)
    grids = [state.grids for state in states]
    last = getattr(_PACKED, "grids", ())
    if len(last) == len(grids) and all(a is b for a, b in zip(last, grids, strict=True)):
        return _PACKED.packing
    # Judged on replicate 0's grids alone (replicates of one scenario are alike): touching
    # every replicate's to decline would cost much of what declining saves.
    if grids[0][0].start.shape[0] + grids[0][1].start.shape[0] > PACK_LIMIT:
        _PACKED.grids, _PACKED.packing = grids, None
        return None
    cols = list(zip(*chain.from_iterable(grids), strict=True))
    n = len(cols[0])
    offsets = np.zeros((2, n + 1), np.int64)
    offsets[:, 1:].flat = [len(a) for a in cols[5] + cols[6]]
    offsets.cumsum(axis=1, out=offsets)
    ends = offsets[:, -1].tolist()
    starts = _buffer("starts", ends[0])
    items = _buffer("items", ends[1])
    np.concatenate(cols[5], out=starts)
    np.concatenate(cols[6], out=items)
    packing = (np.array(cols[:5], np.float64), offsets, starts, items)
    _PACKED.grids, _PACKED.packing = grids, packing
    return packing


def offer_grids(store) -> None:
    """Movement's batched call has just lent each replicate's ``State.grids`` to ``store``
    (a ``spatial.GridStore``; ``state.lend_grids``): until the next offer in this thread,
    ``packed_grids`` of states whose grids are still lent to it answers the store's buffers,
    read in place (``in_place``), without making any ``Grid``."""
    _PACKED.offered = store


def in_place(store) -> tuple:
    """``packed_grids``'s in-place layout of the grids ``store.grids(r)`` gives every
    replicate: ``(frames, cell, start0, start1, items0, items1)``, the store's own arrays
    (replicate ``r``'s side ``s`` is ``start_s[r, :nx * ny + 1]`` and
    ``items_s[r, :indexed]`` with ``(x0, y0, nx, ny, indexed) = frames[r, s]``)."""
    start0, start1 = store.start
    items0, items1 = store.items
    return store.frames, store.cell, start0, start1, items0, items1


def _buffer(name: str, size: int) -> np.ndarray:
    """The first ``size`` items of this thread's int64 buffer ``name`` (grown by half again
    when too small)."""
    block = getattr(_PACKED, name, None)
    if block is None or block.shape[0] < size:
        block = np.empty(max(size, 1024, int(1.5 * (0 if block is None else block.shape[0]))),
                         np.int64)
        setattr(_PACKED, name, block)
    return block[:size]


def grid_rows(packed: tuple, r: int) -> tuple:
    """Replicate ``r``'s two grids out of ``packed_grids`` (either layout; in Numba: views,
    no copies), as ``spatial.grid_columns`` gives a single run's."""
    if len(packed) == 6:
        frames, cell, start0, start1, items0, items1 = packed
        out = []
        for s, (start, items) in enumerate(((start0, items0), (start1, items1))):
            x0, y0, nx, ny, indexed = frames[r, s].tolist()
            out.append((x0, y0, float(cell), int(nx), int(ny), start[r, :int(nx * ny) + 1],
                        items[r, :int(indexed)]))
        return tuple(out)
    scalars, offsets, starts, items = packed
    out = []
    for k in (2 * r, 2 * r + 1):
        s = scalars[:, k]
        out.append((float(s[0]), float(s[1]), float(s[2]), int(s[3]), int(s[4]),
                    starts[offsets[0, k]:offsets[0, k + 1]],
                    items[offsets[1, k]:offsets[1, k + 1]]))
    return tuple(out)


@overload(grid_rows)
def _grid_rows(packed, r):
    if len(packed) == 6:  # in place: the GridStore's rows
        def in_place_impl(packed, r):
            frames, cell, start0, start1, items0, items1 = packed
            f = frames[r]
            nx0, ny0 = np.int64(f[0, 2]), np.int64(f[0, 3])
            nx1, ny1 = np.int64(f[1, 2]), np.int64(f[1, 3])
            # row r, then a slice of it: C-contiguous views, typed as a single run's grids
            return ((f[0, 0], f[0, 1], cell, nx0, ny0, start0[r][:nx0 * ny0 + 1],
                     items0[r][:np.int64(f[0, 4])]),
                    (f[1, 0], f[1, 1], cell, nx1, ny1, start1[r][:nx1 * ny1 + 1],
                     items1[r][:np.int64(f[1, 4])]))
        return in_place_impl

    def impl(packed, r):
        scalars, offsets, starts, items = packed
        a, b = 2 * r, 2 * r + 1
        return ((scalars[0, a], scalars[1, a], scalars[2, a], np.int64(scalars[3, a]),
                 np.int64(scalars[4, a]), starts[offsets[0, a]:offsets[0, a + 1]],
                 items[offsets[1, a]:offsets[1, a + 1]]),
                (scalars[0, b], scalars[1, b], scalars[2, b], np.int64(scalars[3, b]),
                 np.int64(scalars[4, b]), starts[offsets[0, b]:offsets[0, b + 1]],
                 items[offsets[1, b]:offsets[1, b + 1]]))
    return impl


def epochs(states: Sequence, name: str) -> np.ndarray:
    """The int field ``name`` (an epoch) of every replicate's ``State``, as an array."""
    return np.fromiter([getattr(s, name) for s in states], np.int64, len(states))


class MemoBatch:
    """A batched call whose stages keep memos (docs/engine.md, "Ensembles").

    The memos of every replicate's stage live in arrays by replicate, owned by the batched
    call while the ensemble runs, so that "anything to do this step?" is one check for all
    replicates (in its kernel, or a few array operations) and only the replicates with
    work are stepped. ``pull(r)`` takes stage ``r``'s memos (when the call is built and at
    ``reset``); ``push(r)`` hands them back before a replicate is stepped by its own stage
    (where a step needs what is not stacked, such as the neighbour grids), and ``pull(r)``
    takes them again after. Holds the lists ``stages`` and ``states`` it was built from:
    after the ensemble puts a rebuilt replicate's stage and state into them, ``reset(r)``
    re-binds row ``r``.
    """

    def __init__(self, stages: list, states: list) -> None:
        self.stages, self.states = stages, states

    def pull(self, r: int) -> None:
        """Take the memos of ``stages[r]`` into row ``r``."""

    def push(self, r: int) -> None:
        """Hand row ``r``'s memos to ``stages[r]`` (before its own call)."""

    def reset(self, r: int, stage=None, state=None) -> bool:
        """Re-bind replicate ``r`` to its rebuilt ``stage`` and ``state`` (after the
        ensemble rebuilt it in place; None: already in ``stages`` and ``states``): the memo
        row is pulled again. True: rebound (the ensemble's hook contract)."""
        if stage is not None:
            self.stages[r] = stage
        if state is not None:
            self.states[r] = state
        self.pull(r)
        return True
