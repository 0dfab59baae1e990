"""The stages of a step. Each is built once per run from the state and called each step.

>>> from dronefront.engine.stages.movement import Movement
>>> isinstance(Movement, type) and Movement.name
'movement'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from dronefront.engine.events import EventLog
    from dronefront.engine.state import State


class Stage(Protocol):
    """The stage contract: ``__init__`` takes the state (and reads per-run constants from
    it); a call advances the state by this stage's part of one step, reading and writing
    only state fields and appending events to the log."""

    name: ClassVar[str]

    def __call__(self, state: State, log: EventLog) -> None: ...


def identical(a: Any, b: Any) -> bool:
    """Whether two per-run constants (arrays, tuples of them, scalars) are the same to the
    bit: the check a batched call's ``reset`` hook runs on a restarted replicate's
    constants. The same object answers at once; arrays compare their bytes (stricter than
    ``batch.same``: -0.0 and 0.0 differ, so a False only costs a rebuilt call).

    >>> identical((np.arange(3), 1.0), (np.arange(3), 1.0)), identical(np.zeros(2), np.ones(2))
    (True, False)
    """
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(identical(x, y) for x, y in zip(a, b, strict=True)))
    return bool(a == b) or (a != a and b != b)
