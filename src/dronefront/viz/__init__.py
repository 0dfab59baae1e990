"""See the battle: HTML replays, HTML reports and plots of engagements.

>>> from dronefront import viz
>>> sorted(viz.__all__)[:3]
['Recording', 'RunData', 'as_run_data']

Names are imported on first use, so ``dronefront`` starts fast when viz is not needed.
"""

from __future__ import annotations

from dronefront.lazy import lazy_exports

_EXPORTS = {
    "record": ["Recording", "record_run", "thinning"],
    "data": ["RunData", "as_run_data", "load_run"],
    "replay": ["build_replay", "record_from_run_dir", "write_replay"],
    "report": ["build_report", "register_report_kind", "write_report"],
}
__all__ = sorted([*(name for names in _EXPORTS.values() for name in names), "plots"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), subpackages=True)
