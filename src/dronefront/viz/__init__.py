"""See the battle: HTML replays, HTML reports and plots of engagements.

>>> from dronefront import viz
>>> sorted(viz.__all__)[:3]
['Recording', 'RunData', 'as_run_data']

Names are imported on first use, so ``dronefront`` starts fast when viz is not needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Recording": "record", "record_run": "record", "thinning": "record",
    "RunData": "data", "as_run_data": "data", "load_run": "data",
    "build_replay": "replay", "record_from_run_dir": "replay", "write_replay": "replay",
    "build_report": "report", "register_report_kind": "report", "write_report": "report",
    "plots": None,
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dronefront.viz' has no attribute {name!r}")
    module = _EXPORTS[name]
    if module is None:
        return importlib.import_module(f"dronefront.viz.{name}")
    return getattr(importlib.import_module(f"dronefront.viz.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
