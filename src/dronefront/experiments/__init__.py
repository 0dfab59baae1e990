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

from dronefront.lazy import lazy_exports

_EXPORTS = {
    "analysis": ["PairedDifference", "morris_indices", "paired_difference", "paired_table",
                 "point_stats",
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
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
