"""The public read API of the experiment store, calibrations read back from it, and hostile
stores given to everything that reads one (``report``, ``experiment status|results``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dronefront.errors import UserError
from dronefront.experiments import calibrate, results, run_experiment
from dronefront.experiments.calibration import stored_calibration
from dronefront.experiments.models import attrition
from dronefront.experiments.runner import plan_from_store
from dronefront.experiments.store import SCHEMA, StoredExperiment, open_store
from tests.safety.hostile import MARKER, Hostile, check

NOISE = """\
name: noise
kind: toy-noise
factors:
  x: {levels: [0.0, 1.0, 2.0]}
  sigma: {levels: [0.5]}
design: full_factorial
replicates: 2
seed: 3
metrics: [y]
"""

CALIBRATION = """\
name: fit-toy
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.06], log: true}
  learning: {range: [0.0, 0.1]}
observed:
  file: obs.csv
  series:
    - {model: cumulative_casualties, low: cas_low, high: cas_high}
trials: 6
batch: 3
startup_trials: 3
replicates: 2
seed: 3
top: 0.5
"""


def _observations(folder: Path) -> None:
    daily = attrition("", 0, ["rate=0.02", "learning=0.03"])[1].to_pandas()
    lines = ["date,window,cas_low,cas_high"]
    for day in (5, 15, 30):
        c = daily.cumulative_casualties.iloc[day]
        lines.append(f"{daily.date.iloc[day]},cumulative,{c * 0.95:.1f},{c * 1.05:.1f}")
    (folder / "obs.csv").write_text("\n".join(lines) + "\n")


def _noise_store(folder: Path) -> Path:
    """A store holding the ``noise`` experiment (3 points x 2 replicates)."""
    (folder / "e.yaml").write_text(NOISE)
    run_experiment(folder / "e.yaml", store=folder / "s.duckdb")
    return folder / "s.duckdb"


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("store-read")
    path = _noise_store(root)
    _observations(root)
    (root / "cal.yaml").write_text(CALIBRATION)
    fitted = calibrate(root / "cal.yaml", store=path)
    return {"root": root, "path": path, "fitted": fitted}


# --------------------------------------------------------------------------- the read API
def test_experiments_are_listed_with_their_progress(stored: dict) -> None:
    with open_store(stored["path"]) as db:
        found = db.experiments()
        assert [e.name for e in found] == ["noise", "fit-toy"]
        noise, fit = found
        assert isinstance(noise, StoredExperiment) and not noise.is_calibration
        assert (noise.kind, noise.points, noise.replicates, noise.runs, noise.total) == (
            "toy-noise", 3, 2, 6, 6)
        assert noise.design["type"] == "full_factorial" and noise.spec["seed"] == 3
        assert fit.is_calibration and fit.points == 6 and fit.runs == 12
        assert [e.name for e in db.calibrations()] == ["fit-toy"]
        assert db.select(noise.key[:6]) == [noise] and db.select("fit-toy") == [fit]
        assert db.select(None) == found
        with pytest.raises(UserError, match="no experiment 'nosie'.*did you mean 'noise'"):
            db.select("nosie")


def test_points_runs_and_a_tidy_metrics_table(stored: dict) -> None:
    with open_store(stored["path"]) as db:
        key = db.select("noise")[0].key
        points = db.points(key)
        assert list(points["point"]) == [0, 1, 2]
        assert [v["x"] for v in points["values"]] == [0.0, 1.0, 2.0]
        runs = db.runs(key)
        assert list(zip(runs.point, runs.replicate, runs.seed, strict=True)) == [
            (p, r, 3 + r) for p in range(3) for r in range(2)]
        assert (runs.seconds >= 0).all()
        metrics = db.metrics(key)
        assert list(metrics.columns) == ["point", "replicate", "metric", "value"]
        assert len(metrics) == 6 and set(metrics.metric) == {"y"}
        some = db.metrics(key, points=[0, 2], replicates=1)
        assert list(zip(some.point, some.replicate, strict=True)) == [(0, 0), (2, 0)]
        assert some.value.tolist() == metrics.query(
            "point != 1 and replicate == 0").value.tolist()


def test_a_store_opened_for_reading_cannot_be_written(stored: dict) -> None:
    with open_store(stored["path"]) as db, pytest.raises(duckdb.Error):
        db.con.execute("DELETE FROM runs")
    with open_store(stored["path"]) as db:
        assert db.experiments()[0].runs == 6


def test_a_plan_from_the_store_gives_the_same_results_as_the_file(stored: dict) -> None:
    with open_store(stored["path"]) as db:
        plan = plan_from_store(db, db.select("noise")[0])
        assert plan.model is None  # reading never imports the recorded model kind
        from_store = results(plan, db)
    from_file = results(stored["root"] / "e.yaml", stored["path"])
    # the store keeps a point's values with sorted keys, so its factor columns are sorted
    pd.testing.assert_frame_equal(from_store[from_file.columns], from_file)


def test_a_stored_calibration_equals_the_fitted_one(stored: dict) -> None:
    fitted = stored["fitted"]
    again = stored_calibration(stored["path"], "fit-toy")
    assert again.note == ""
    assert (again.best_trial, again.best_params, again.best_loss) == (
        fitted.best_trial, fitted.best_params, fitted.best_loss)
    pd.testing.assert_frame_equal(again.trials, fitted.trials)
    pd.testing.assert_frame_equal(again.spread, fitted.spread)
    pd.testing.assert_frame_equal(again.fit, fitted.fit)
    assert len(again.curves) == len(fitted.curves) > 0


def test_a_moved_calibration_is_rebuilt_or_refused(stored: dict, tmp_path: Path) -> None:
    root, copy = stored["root"], tmp_path / "copy.duckdb"
    shutil.copy(stored["path"], copy)
    with pytest.raises(UserError, match="cannot read the stored time series"):
        stored_calibration(copy, "fit-toy")  # the file is found, the series are not
    away = tmp_path / "away"
    away.mkdir()
    for name in ("cal.yaml", "obs.csv"):
        (root / name).rename(away / name)
    try:
        with pytest.raises(UserError, match="observations file 'obs.csv'.*was not found"):
            stored_calibration(copy, "fit-toy")
        shutil.copy(away / "obs.csv", tmp_path / "obs.csv")
        shutil.copytree(root / "s.duckdb.series", tmp_path / "copy.duckdb.series")
        rebuilt = stored_calibration(copy, "fit-toy")
    finally:
        for name in ("cal.yaml", "obs.csv"):
            (away / name).rename(root / name)
    assert "has changed or moved" in rebuilt.note
    assert (rebuilt.best_trial, rebuilt.best_loss) == (stored["fitted"].best_trial,
                                                       stored["fitted"].best_loss)
    with pytest.raises(UserError, match="'noise' is a designed experiment, not a calibration"):
        stored_calibration(stored["path"], "noise")


# --------------------------------------------------------------------------- hostile stores
def _tables_only(sandbox: Path) -> None:
    with duckdb.connect(str(sandbox / "s.duckdb")) as con:
        con.execute("CREATE TABLE notes (text VARCHAR)")
        con.execute("INSERT INTO notes VALUES (?)", [MARKER])


def _wrong_type(sandbox: Path) -> None:
    with duckdb.connect(str(sandbox / "s.duckdb")) as con:
        con.execute(SCHEMA.replace('"values" JSON', '"values" VARCHAR'))


def _noise(sandbox: Path) -> None:
    _noise_store(sandbox)


def _tampered(sql: str) -> object:
    def setup(sandbox: Path) -> None:
        path = _noise_store(sandbox)
        with duckdb.connect(str(path)) as con:
            con.execute(sql.replace("{dir}", str(sandbox)))
    return setup


def _points(sandbox: Path) -> None:
    with open_store(sandbox / "s.duckdb") as db:
        db.points(db.experiments()[0].key)


def _series(sandbox: Path) -> None:
    with open_store(sandbox / "s.duckdb") as db:
        db.timeseries(db.experiments()[0].key)


REPORT = ["report", "{dir}/s.duckdb", "-o", "{dir}/r.html"]
RESULTS = ["experiment", "results", "{dir}/e.yaml", "--store", "{dir}/s.duckdb"]
STATUS = ["experiment", "status", "{dir}/e.yaml", "--store", "{dir}/s.duckdb"]
SPEC = {"e.yaml": NOISE}

CASES = [
    Hostile("report-missing-store", args=REPORT, expect=("s.duckdb", "no such file")),
    Hostile("report-text-file", args=REPORT, files={"s.duckdb": f"not a store {MARKER}\n"},
            expect=("s.duckdb", "not a valid DuckDB database")),
    Hostile("report-empty-file", args=REPORT, files={"s.duckdb": b""},
            expect=("s.duckdb", "not a valid DuckDB database")),
    Hostile("report-other-database", args=REPORT, setup=_tables_only,
            expect=("s.duckdb", "not an experiment store")),
    Hostile("report-column-of-another-type", args=REPORT, setup=_wrong_type,
            expect=("not an experiment store", "design_points.values")),
    Hostile("report-unknown-experiment", args=[*REPORT, "--experiment", "nope"],
            setup=_noise, expect=("no experiment 'nope'", "noise"),
),
    Hostile("report-never-imports-the-recorded-kind", args=REPORT,
            files={"evil_kind.py": "open('imported.txt', 'w').write('x')\ndef f(): pass\n"},
            setup=_tampered("UPDATE experiments SET kind = 'evil_kind:f'"), code=0,
            may_create=("r.html",)),
    Hostile("report-point-values-not-an-object", args=REPORT,
            setup=_tampered("""UPDATE design_points SET "values" = '[1, 2]'"""), code=0,
            may_create=("r.html",)),
    Hostile("points-not-an-object", call=_points,
            setup=_tampered("""UPDATE design_points SET "values" = '"text"'"""),
            expect=("damaged store", "design point 0")),
    Hostile("series-outside-the-store", call=_series,
            setup=_tampered("UPDATE runs SET timeseries = '../../outside.txt'"),
            expect=("damaged store", "not in s.duckdb.series")),
    Hostile("series-absolute-path", call=_series,
            setup=_tampered("UPDATE runs SET timeseries = '{dir}/precious/notes.txt'"),
            expect=("damaged store",)),
    Hostile("results-missing-store", args=RESULTS, files=SPEC,
            expect=("s.duckdb", "no such store")),
    Hostile("results-text-file", args=RESULTS,
            files={**SPEC, "s.duckdb": f"{MARKER}\n" * 50}, expect=("not a valid DuckDB",)),
    Hostile("results-other-database", args=RESULTS, files=SPEC, setup=_tables_only,
            expect=("not an experiment store",)),
    Hostile("status-other-database", args=STATUS, files=SPEC, setup=_tables_only,
            expect=("not an experiment store",)),
    Hostile("status-column-of-another-type", args=STATUS, files=SPEC, setup=_wrong_type,
            expect=("design_points.values",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_stores_fail_safely(case: Hostile, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # the sandbox is importable, so a store naming a module in it could run it if read
    monkeypatch.syspath_prepend(str(tmp_path / "sandbox"))
    check(case, tmp_path)


def test_a_damaged_point_is_reported_in_the_page(tmp_path: Path) -> None:
    from dronefront.viz import build_report

    _tampered("""UPDATE design_points SET "values" = '[1, 2]'""")(tmp_path)
    page = build_report(tmp_path / "s.duckdb")
    assert "Cannot analyse this experiment" in page and "damaged store" in page
