"""Helpers for stages' batched calls in an ensemble (``engine/ensemble.py``).

A batched call advances every replicate of an ensemble by one stage in one kernel call: it
passes the stacked arrays (leading replicate axis) of the columns it reads and writes, and
the kernel loops over replicates, calling the single-run kernel on row ``r`` of each
(``rows``: cheap views inside Numba). It is offered only where every per-run constant the
stage passes is equal across replicates (``same``), so replicate 0's stand for all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba.extending import overload

__all__ = ["Replicates", "rows", "same", "stacked", "stacked_view", "steps"]


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
        out = np.fromiter((s.step for s in states), np.int64, len(states))
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

