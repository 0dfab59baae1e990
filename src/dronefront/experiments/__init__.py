"""Experiments at scale: designs, replicates on common random numbers, executors, a DuckDB
store that resumes, sensitivity analysis and calibration.

>>> from dronefront.experiments import load_experiment, run_experiment, results
>>> # plan = load_experiment("examples/spacing-vs-drill.yaml")
>>> # run_experiment(plan, executor="processes"); results(plan).head()

Names are imported on first use, so worker processes that only need the executors and the
model kinds do not pay for SciPy, SALib or Optuna. See docs/experiments.md for the file
format, designs, seed policy, store schema, executors, analysis and calibration loss.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "analysis": ["PairedDifference", "morris_indices", "paired_difference", "point_stats",
                 "sensitivity", "sobol_indices", "tornado"],
    "calibration": ["CalibrationResult", "calibrate", "interval_loss", "load_calibration",
                    "stored_calibration"],
    "designs": ["full_factorial", "latin_hypercube", "nolh", "ye_olh"],
    "executors": ["Task", "make_executor"],
    "models": ["ModelKind", "get_model", "model_kinds", "register_model"],
    "runner": ["Plan", "RunReport", "load_experiment", "plan_from_store", "results",
               "run_experiment", "status"],
    "store": ["Store", "StoredExperiment", "is_experiment_store", "open_store"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
