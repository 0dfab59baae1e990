"""The one JSON sanitiser: any summary, spec or result made safe for ``json.dumps``."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``: numpy scalars and arrays become plain values and
    lists, tuples become lists, dates ISO text, dict keys strings, and NaN and infinities
    None (JSON has no such numbers). Anything else goes through ``str``.

    The result is what ``json.loads(json.dumps(result))`` gives back, so it is also the
    form a value is compared and hashed in.

    >>> jsonable({"a": np.int64(2), "d": dt.date(2025, 1, 2), "t": (1, 2)})
    {'a': 2, 'd': '2025-01-02', 't': [1, 2]}
    >>> jsonable([float("nan"), np.float32(0.5), np.array([1, 2]), {3: -float("inf")}])
    [None, 0.5, [1, 2], {'3': None}]
    """
    kind = type(value)  # exact types first: most of a summary's leaves are plain values
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.loads(json.dumps(value, default=str))


def tree_copy(value: Any) -> Any:
    """A deep copy of plain data (dicts, lists and immutable scalars), several times faster
    than :func:`copy.deepcopy` on such trees; any other container goes through
    ``deepcopy``. Values shared within ``value`` (YAML aliases) become separate copies.

    >>> a = {"x": [1, {"y": 2.0}], "d": None}
    >>> b = tree_copy(a)
    >>> b == a, b["x"] is a["x"], b["x"][1] is a["x"][1]
    (True, False, False)
    """
    kind = type(value)
    if kind is dict:
        return {k: tree_copy(v) for k, v in value.items()}
    if kind is list:
        return [tree_copy(v) for v in value]
    if value is None or kind in _IMMUTABLE:
        return value
    import copy

    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool, dt.date, dt.datetime})
