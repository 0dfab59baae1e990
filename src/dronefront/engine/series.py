"""The per-step time series: its columns (``SERIES``) and the kernel that fills one row.

One row per step and side; columns are soldier counts by status, drone slots by state,
cumulative drone fates (all types) and rounds fired (shells, counter-drone and direct-fire
shots).

>>> SERIES[:5]
('healthy', 'wounded', 'killed', 'drones_idle', 'drones_flying')
"""

from __future__ import annotations

from collections.abc import Callable

import numba as nb
import numpy as np

from dronefront.engine.batch import stacked
from dronefront.engine.state import FATES, FLYING, HEALTHY, IDLE, KILLED, WOUNDED, State

SERIES = ("healthy", "wounded", "killed", "drones_idle", "drones_flying", *FATES,
          "rounds_fired")


def record_row(row: np.ndarray, state: State) -> None:
    """Fill ``row`` (2, len(SERIES)) with the counts of ``state`` as it stands now."""
    Recorder(state, row[np.newaxis])(state, 0)


class Recorder:
    """Fills the rows of one run's series (``(steps, 2, len(SERIES))``); the state's tables
    are viewed once (they are never rebound during a run)."""

    def __init__(self, state: State, series: np.ndarray) -> None:
        s, d, c = state.soldiers, state.drones, state.counters
        self.series = series
        self.columns = (s.side, s.status, d.side, d.state, c.fates,
                        (c.shells, c.shots, c.direct_shots))

    def __call__(self, state: State, row: int) -> None:
        """Fill row ``row`` with the counts of ``state`` as it stands now."""
        _record_row(self.series, row, self.columns)


def batch_recorder(states: list[State], series: np.ndarray
                   ) -> Callable[[int], None] | None:
    """For an ensemble (``engine/ensemble.py``): a call ``record(at)`` that fills row
    ``at[r]`` of replicate ``r``'s series (``series``: ``(R, steps, 2, len(SERIES))``;
    ``at``: int64 ``(R,)``, each replicate's step) in one kernel call, as ``Recorder`` fills
    each; None where a column it reads is not stacked."""
    blocks = [stacked([getattr(getattr(s, table), name) for s in states])
              for table, name in (("soldiers", "side"), ("soldiers", "status"),
                                  ("drones", "side"), ("drones", "state"),
                                  ("counters", "fates"), ("counters", "shells"),
                                  ("counters", "shots"), ("counters", "direct_shots"))]
    if any(b is None for b in blocks):
        return None
    columns = (*blocks[:5], tuple(blocks[5:]))

    def record(at: np.ndarray) -> None:
        _record_rows(series, at, columns)

    return record


@nb.njit(cache=True)
def _record_rows(series, at, columns):
    """``_record_row`` for every replicate, at row ``at[r]`` of replicate ``r``: ``series``
    and the columns have a leading replicate axis."""
    soldier_side, status, drone_side, drone_state, fates, rounds = columns
    shells, shots, direct_shots = rounds
    for r in range(series.shape[0]):
        _record_row(series[r], at[r], (soldier_side[r], status[r], drone_side[r],
                                    drone_state[r], fates[r],
                                    (shells[r], shots[r], direct_shots[r])))


@nb.njit(cache=True)
def _record_row(series, at, columns):
    """``columns``: soldier side and status, drone side and state, fates, and the shells,
    counter-drone shots and direct-fire shots by side."""
    soldier_side, status, drone_side, drone_state, fates, rounds = columns
    shells, shots, direct_shots = rounds
    row = series[at]
    row[:] = 0
    for i in range(soldier_side.shape[0]):
        k = status[i]
        column = 0 if k == HEALTHY else (1 if k == WOUNDED else (2 if k == KILLED else -1))
        if column >= 0:
            row[soldier_side[i], column] += 1
    for i in range(drone_side.shape[0]):
        if drone_state[i] == IDLE:
            row[drone_side[i], 3] += 1
        elif drone_state[i] == FLYING:
            row[drone_side[i], 4] += 1
    for side in range(2):
        for t in range(fates.shape[1]):
            for f in range(fates.shape[2]):
                row[side, 5 + f] += fates[side, t, f]
        row[side, row.shape[1] - 1] = shells[side] + shots[side] + direct_shots[side]
