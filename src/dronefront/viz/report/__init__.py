"""HTML reports: one offline file of tables and inline PNG plots.

:func:`build_report` looks at what PATH is and hands it to the matching *report kind*. Three
kinds are built in, one module each: run folders (:mod:`.run`), campaign folders
(:mod:`.campaign`) and experiment stores (:mod:`.experiment`, with the calibrations of a
store in :mod:`.calibration`), the ``.duckdb`` files written by ``dronefront experiment
run`` and ``dronefront calibrate``. Other kinds add their own with
:func:`register_report_kind` (a ``detect(path) -> bool`` and a ``render(path) -> html``),
reusing :func:`page`, :func:`section`, :func:`table` and :func:`figure_img` of
:mod:`.html`. A kind registered with ``compare=True`` also takes
``render(path, compare=[...])``, the folders given with ``--compare``; one registered with
``options=("experiment",)`` also receives those keyword options of :func:`build_report`
(``--experiment`` on the command line) when they are given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dronefront.extras import missing, require
from dronefront.viz.report.campaign import (
    CAMPAIGN_METRICS,
    campaign_counterparts,
    campaign_report,
    is_campaign_folder,
    render_campaign_dir,
)
from dronefront.viz.report.dispatch import (
    ReportKind,
    build_report,
    register_report_kind,
    report_kinds,
    write_report,
)
from dronefront.viz.report.forecast import is_forecast_folder, render_forecast_dir
from dronefront.viz.report.html import CSS, esc, figure_img, fmt, page, section, table
from dronefront.viz.report.run import is_run_folder, render_run_dir, run_report

register_report_kind("run_folder", is_run_folder, render_run_dir)
register_report_kind("campaign_folder", is_campaign_folder, render_campaign_dir, compare=True)
register_report_kind("forecast_folder", is_forecast_folder, render_forecast_dir)

# Experiment stores need the ``experiments`` extra (DuckDB): imported only when one is reported.
_LAZY = {
    "StoredExperiment": "dronefront.experiments.store",
    "is_experiment_store": "dronefront.experiments.store",
    "open_store": "dronefront.experiments.store",
    "MAX_PLOT_METRICS": "dronefront.viz.report.experiment",
    "MAX_TABLE_POINTS": "dronefront.viz.report.experiment",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _detect_store(path: Path) -> bool:
    if missing("duckdb"):  # cannot look inside; the render step says what to install
        return path.suffix.lower() in (".duckdb", ".ddb")
    from dronefront.experiments.store import is_experiment_store

    return is_experiment_store(path)


def render_experiment_store(path: str | Path, experiment: str | None = None) -> str:
    """The report of an experiment store (see :mod:`.experiment`)."""
    require("a report on an experiment store", "experiments")
    from dronefront.viz.report.experiment import render_experiment_store as render

    return render(path, experiment)


register_report_kind("experiment_store", _detect_store, render_experiment_store,
                     options=("experiment",))

__all__ = ["CAMPAIGN_METRICS", "CSS", "MAX_PLOT_METRICS", "MAX_TABLE_POINTS", "ReportKind",
           "StoredExperiment", "build_report", "campaign_counterparts", "campaign_report",
           "esc", "figure_img", "fmt", "is_experiment_store", "open_store",
           "page", "register_report_kind", "render_experiment_store", "report_kinds",
           "run_report", "section", "table", "write_report"]
