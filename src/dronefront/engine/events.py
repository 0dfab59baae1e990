"""The event log: every launch, detection, strike, bomb, shell, shot, loss and casualty.

Stages append whole arrays at a time; the log becomes one Arrow table at the end.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dronefront.scenario.models import SIDES

KINDS = (
    "launch", "detection", "spotted", "strike", "bomb", "call_for_fire", "shell", "shot",
    "shoot_down", "jam_loss", "crash", "return", "casualty", "decoy", "miss", "failure",
    "warned", "break", "evacuated", "autonomous", "misidentified", "intercept",
    "rf_detection", "site_destroyed",
)
KIND = {name: i for i, name in enumerate(KINDS)}
SIDE_NAMES = SIDES  # kept for importers: the names live in scenario.models
EXTRA_CAUSES = ("jamming", "link_range", "endurance")


class EventLog:
    """Columnar buffers of events; ``weapon`` and ``cause`` are codes into name lists."""

    _COLUMNS = ("step", "kind", "side", "x", "y", "weapon", "cause", "platoon", "actor",
                "target", "value")
    #: False for a log that discards everything: stages may skip building event columns.
    keeps = True

    def __init__(self) -> None:
        self._parts: dict[str, list] = {c: [] for c in self._COLUMNS}

    def add(
        self,
        step: int,
        kind: str,
        side: np.ndarray | int,
        x: np.ndarray,
        y: np.ndarray,
        *,
        weapon: np.ndarray | int = -1,
        cause: np.ndarray | int = -1,
        platoon: np.ndarray | int = -1,
        actor: np.ndarray | int = -1,
        target: np.ndarray | int = -1,
        value: np.ndarray | float = np.nan,
    ) -> None:
        x = np.atleast_1d(np.asarray(x, np.float64))
        n = x.shape[0]
        if n == 0:
            return
        values = (step, KIND[kind], side, x, y, weapon, cause, platoon, actor, target, value)
        for name, v in zip(self._COLUMNS, values, strict=True):
            # Scalars are kept as (value, count) and expanded once, in table().
            self._parts[name].append(v.copy() if isinstance(v, np.ndarray) and v.ndim
                                     else (v, n))

    def table(self, dt: float, weapon_names: list[str]) -> pa.Table:
        """The log as an Arrow table with readable string columns."""

        parts = self._parts
        # the events of each ``add`` (``x`` is always kept as an array)
        counts = np.array([p.shape[0] for p in parts["x"]], np.int64)

        def col(name: str, dtype) -> np.ndarray:
            return _column(parts[name], counts, np.dtype(dtype))

        step = col("step", np.int32)
        names = list(weapon_names)

        def labels(codes: np.ndarray, vocabulary: list[str] | tuple[str, ...]) -> pa.Array:
            vocab = pa.array(["", *vocabulary])
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32) + 1), vocab)

        return pa.table({
            "step": step,
            "time": (step * dt).astype(np.float64),
            "kind": labels(col("kind", np.int32), KINDS),
            "side": labels(col("side", np.int32), SIDES),
            "x": col("x", np.float32),
            "y": col("y", np.float32),
            "weapon": labels(col("weapon", np.int32), names),
            "cause": labels(col("cause", np.int32), [*names, *EXTRA_CAUSES]),
            "platoon": col("platoon", np.int32),
            "actor": col("actor", np.int64),
            "target": col("target", np.int64),
            "value": col("value", np.float64),
        })


def _column(parts: list, counts: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """One column of the log: ``parts`` (one per ``add``: an array, or ``(value, count)``
    for a scalar) expanded and cast to ``dtype``, with a few whole-array calls rather than
    one call per part. The values are those of casting each part on its own (an array's
    ``astype``, a scalar's ``np.full``)."""
    if not parts:
        return np.empty(0, dtype)
    # a part is a tuple (a scalar) or else an array (what ``add`` keeps)
    arrays = [p for p in parts if type(p) is not tuple]
    if len(arrays) == len(parts):
        return np.concatenate(arrays, dtype=dtype, casting="unsafe")
    try:
        scalars = np.array([p[0] if type(p) is tuple else 0 for p in parts], dtype)
    except (OverflowError, TypeError, ValueError):  # a value this dtype cannot take as is
        return np.concatenate([np.full(p[1], p[0], dtype) if type(p) is tuple
                               else p.astype(dtype) for p in parts])
    out = np.repeat(scalars, counts)
    if arrays:
        mask = np.repeat(np.array([type(p) is not tuple for p in parts]), counts)
        out[mask] = np.concatenate(arrays, dtype=dtype, casting="unsafe")
    return out
