"""The experiment store: an embedded DuckDB database plus Parquet time series beside it.

Tables (one database holds any number of experiments, keyed by their hash)::

    experiments   (experiment PK, name, kind, scenario, file, spec JSON, factors JSON,
                   design JSON, points, replicates, created, version)
    design_points (experiment, point, values JSON, unit DOUBLE[])        PK (experiment, point)
    runs          (experiment, point, replicate, seed, seconds, finished, worker,
                   summary JSON, timeseries)                PK (experiment, point, replicate)
    metrics       (experiment, point, replicate, metric, value)
    posteriors    (experiment, particle, weight, distance, "values" JSON, unit JSON)
                  the last generation of an ABC calibration (created on first write;
                  stores written before it read as having no posterior)
    abc_generations (experiment, generation, epsilon, particles, simulations, acceptance)

Each finished run is written by the driver process only, in one transaction of its own
(run row + its metrics), after its time series file (if any) has been renamed into place.
A run is finished exactly when its ``runs`` row exists, so a process killed at any moment
loses no finished run and leaves no partial one; resuming skips exactly those rows. The
primary key on ``runs`` refuses a second copy of a run, and with it (same transaction) a
second copy of its metrics.
Time series live in ``<store>.series/<experiment[:16]>/p<point>-r<replicate>.parquet``.

Reading is public and read-only: :func:`open_store` (a missing file or one that is not an
experiment store is a :class:`~dronefront.errors.UserError`), then :meth:`Store.experiments`
(:class:`StoredExperiment` records), :meth:`Store.select`, :meth:`Store.points`,
:meth:`Store.runs`, :meth:`Store.metrics` and :meth:`Store.timeseries`. Calibrations read
back through :func:`dronefront.experiments.calibration.stored_calibration`. No other module
sends SQL to a store.

>>> import tempfile, pathlib
>>> with Store(pathlib.Path(tempfile.mkdtemp()) / "x.duckdb") as s:
...     s.finished("abc")
set()
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import json
import os
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dronefront.arguments import check_path
from dronefront.errors import UserError

DEFAULT_STORE = "experiments.duckdb"

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiments (
    experiment VARCHAR PRIMARY KEY, name VARCHAR, kind VARCHAR, scenario VARCHAR,
    file VARCHAR, spec JSON, factors JSON, design JSON, points INTEGER, replicates INTEGER,
    created TIMESTAMP, version VARCHAR);
CREATE TABLE IF NOT EXISTS design_points (
    experiment VARCHAR, point INTEGER, "values" JSON, unit DOUBLE[],
    PRIMARY KEY (experiment, point));
CREATE TABLE IF NOT EXISTS runs (
    experiment VARCHAR, point INTEGER, replicate INTEGER, seed BIGINT, seconds DOUBLE,
    finished TIMESTAMP, worker VARCHAR, summary JSON, timeseries VARCHAR,
    PRIMARY KEY (experiment, point, replicate));
CREATE TABLE IF NOT EXISTS metrics (
    experiment VARCHAR, point INTEGER, replicate INTEGER, metric VARCHAR, value DOUBLE);
"""


POSTERIOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS posteriors (
    experiment VARCHAR, particle INTEGER, weight DOUBLE, distance DOUBLE, "values" JSON,
    unit JSON, PRIMARY KEY (experiment, particle));
CREATE TABLE IF NOT EXISTS abc_generations (
    experiment VARCHAR, generation INTEGER, epsilon DOUBLE, particles INTEGER,
    simulations INTEGER, acceptance DOUBLE, PRIMARY KEY (experiment, generation));
"""

#: The tables every experiment store holds.
STORE_TABLES = frozenset({"experiments", "design_points", "runs", "metrics"})
_COLUMNS = "SELECT table_name, column_name, data_type FROM information_schema.columns"


@functools.cache
def _schema_columns() -> frozenset[tuple[str, str, str]]:
    """(table, column, type) of every column :data:`SCHEMA` creates."""
    with duckdb.connect() as con:
        con.execute(SCHEMA)
        return frozenset(con.execute(_COLUMNS).fetchall())



def is_experiment_store(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like an experiment store: a ``.duckdb`` file, or any file with
    DuckDB's header (``DUCK`` at byte 8). Only sniffs; :func:`open_store` checks the tables.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "notes.txt").write_text("hello")
    >>> is_experiment_store(folder / "x.duckdb"), is_experiment_store(folder / "notes.txt")
    (False, False)
    """
    path = Path(path)
    if not path.is_file():
        return False
    if path.suffix.lower() in (".duckdb", ".ddb"):
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[8:12] == b"DUCK"


@dataclass(frozen=True)
class StoredExperiment:
    """One experiment (or calibration) as its store recorded it, JSON columns decoded."""

    key: str
    name: str
    kind: str
    scenario: str
    file: str
    spec: dict[str, Any]
    factors: dict[str, Any]
    design: dict[str, Any]
    points: int
    replicates: int
    created: Any
    version: str
    runs: int = 0

    @property
    def is_calibration(self) -> bool:
        """Whether ``dronefront calibrate`` wrote it (its points are trials)."""
        return self.design.get("type") == "calibration"

    @property
    def total(self) -> int:
        """Runs in the whole design: points x replicates."""
        return self.points * self.replicates

    @property
    def ident(self) -> str:
        """A short id safe in URLs and HTML anchors: the name's slug and the hash's start.

        >>> StoredExperiment("0123456789ab", "Fit toy!", "", "", "", {}, {}, {}, 1, 1,
        ...                  None, "").ident
        'fit-toy-01234567'
        """
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "experiment"
        return f"{slug}-{self.key[:8]}"


def open_store(path: str | os.PathLike) -> Store:
    """Open an experiment store read-only (close it, or use it as a context manager).

    A missing file, a file that is not a DuckDB database, one without the store's tables,
    and a store that a running driver holds are each a one-line UserError.
    """
    return Store(path, read_only=True)


def _decoded(text: Any) -> dict[str, Any]:
    """A JSON column as a dict ({} when empty or unreadable: reading never fails on it)."""
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def progress_path(store: str | os.PathLike) -> Path:
    """A small JSON file beside the store that a running driver keeps up to date."""
    path = Path(store)
    return path.with_name(path.name + ".progress.json")


def write_progress(store: str | os.PathLike, key: str, done: int, total: int) -> None:
    """Record a driver's progress (readable while DuckDB's lock keeps the store closed)."""
    target = progress_path(store)
    try:
        data = json.loads(target.read_text()) if target.exists() else {}
    except (OSError, ValueError):
        data = {}
    data[key] = {"done": done, "total": total, "pid": os.getpid(),
                 "updated": dt.datetime.now().isoformat(timespec="seconds")}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def read_progress(store: str | os.PathLike, key: str) -> dict | None:
    """The last progress a driver recorded for an experiment, if any."""
    try:
        return json.loads(progress_path(store).read_text()).get(key)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class FinishedRun:
    """One finished run as the driver stores it (see :meth:`Store.commit_runs`)."""

    point: int
    replicate: int
    seed: int
    seconds: float
    summary: Any
    metrics: Mapping[str, float | None]
    series: pa.Table | None = None
    worker: str = ""


class Store:
    """An open experiment store: one connection, read-write for the driver process only,
    or read-only (see :func:`open_store`) for everything that only reads."""

    def __init__(self, path: str | os.PathLike = DEFAULT_STORE, *, read_only: bool = False):
        self.path = check_path(path, "store")
        if read_only and not self.path.exists():
            raise UserError("no such store (nothing has been run yet)", file=str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc).splitlines()[0]
            if "lock" in text.lower():
                raise UserError("the store is in use by another process (one experiment "
                                "driver at a time per store)", file=str(self.path)) from None
            raise UserError(f"cannot open store: {text}", file=str(self.path)) from None
        except duckdb.Error as exc:
            raise UserError(f"not a DuckDB store: {str(exc).splitlines()[0]}",
                            file=str(self.path)) from None
        if not read_only:
            self.con.execute(SCHEMA)
            self.con.execute(POSTERIOR_SCHEMA)
            return
        try:
            columns = set(self.con.execute(_COLUMNS).fetchall())
        except duckdb.Error:
            columns = set()
        tables = {table for table, _, _ in columns}
        if not STORE_TABLES <= tables:
            self.con.close()
            raise UserError("not an experiment store (a DuckDB file without the experiments, "
                            "design_points, runs and metrics tables)", file=str(self.path))
        wrong = sorted(f"{t}.{c}" for t, c, _ in _schema_columns() - columns)
        if wrong:
            self.con.close()
            raise UserError(f"not an experiment store: column {wrong[0]} is missing or of "
                            "another type", file=str(self.path))

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection (committed runs are already durable)."""
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def series_dir(self) -> Path:
        """Folder of the Parquet time series beside the database."""
        return self.path.with_name(self.path.name + ".series")

    # ------------------------------------------------------------------ experiments
    def has_experiment(self, key: str) -> bool:
        """Whether the store holds the experiment with this hash."""
        return self.con.execute("SELECT count(*) FROM experiments WHERE experiment = ?",
                                [key]).fetchone()[0] > 0  # type: ignore[index]

    def register(self, key: str, meta: Mapping[str, Any],
                 points: Iterable[tuple[int, dict, list[float]]]) -> None:
        """Record an experiment and its design points (once; later calls update replicates)."""
        if self.has_experiment(key):
            self.con.execute("UPDATE experiments SET replicates = ? WHERE experiment = ?",
                             [meta.get("replicates"), key])
            return
        rows = list(points)
        frame = pd.DataFrame({
            "experiment": [key] * len(rows),
            "point": [p for p, _, _ in rows],
            "values": [json.dumps(v, sort_keys=True, default=str) for _, v, _ in rows],
            "unit": [list(map(float, u)) for _, _, u in rows],
        })
        self.con.execute("BEGIN")
        try:
            self.con.execute(
                "INSERT INTO experiments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [key, meta.get("name"), meta.get("kind"), meta.get("scenario"),
                 meta.get("file"), json.dumps(meta.get("spec"), default=str),
                 json.dumps(meta.get("factors"), default=str),
                 json.dumps(meta.get("design"), default=str), len(rows),
                 meta.get("replicates"), dt.datetime.now(), meta.get("version")])
            if rows:
                self.con.register("_points", frame)
                self.con.execute('INSERT INTO design_points SELECT experiment, point, "values", '
                                 "unit FROM _points")
                self.con.unregister("_points")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def add_point(self, key: str, point: int, values: dict, unit: list[float]) -> bool:
        """Record one design point (calibration trials); False if it exists with other values."""
        text = json.dumps(values, sort_keys=True, default=str)
        row = self.con.execute('SELECT "values" FROM design_points WHERE experiment = ? AND '
                               "point = ?", [key, point]).fetchone()
        if row is not None:
            return json.loads(row[0]) == json.loads(text)
        self.con.execute("INSERT INTO design_points VALUES (?, ?, ?, ?)",
                         [key, point, text, list(map(float, unit))])
        self.con.execute("UPDATE experiments SET points = (SELECT count(*) FROM design_points "
                         "WHERE experiment = ?) WHERE experiment = ?", [key, key])
        return True

    def replace_point(self, key: str, point: int, values: dict, unit: list[float]) -> None:
        """Replace a design point and drop its runs, in one transaction."""
        self.con.execute("BEGIN")
        try:
            for table in ("metrics", "runs", "design_points"):
                self.con.execute(f"DELETE FROM {table} WHERE experiment = ? AND point = ?",
                                 [key, point])
            self.con.execute("INSERT INTO design_points VALUES (?, ?, ?, ?)",
                             [key, point, json.dumps(values, sort_keys=True, default=str),
                              list(map(float, unit))])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def save_posterior(self, key: str, particles: pd.DataFrame,
                       generations: pd.DataFrame) -> None:
        """Replace an ABC calibration's posterior (one transaction): ``particles`` has
        ``weight``, ``distance``, each parameter's value and ``u:<parameter>`` columns."""
        params = [c for c in particles.columns if c not in ("weight", "distance")
                  and not c.startswith("u:")]
        rows = [(key, i, float(r["weight"]), float(r["distance"]),
                 json.dumps({p: r[p] for p in params}, sort_keys=True, default=str),
                 json.dumps({p: float(r[f"u:{p}"]) for p in params}, sort_keys=True))
                for i, (_, r) in enumerate(particles.iterrows())]
        self.con.execute("BEGIN")
        try:
            for table in ("posteriors", "abc_generations"):
                self.con.execute(f"DELETE FROM {table} WHERE experiment = ?", [key])
            self.con.executemany("INSERT INTO posteriors VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.con.executemany("INSERT INTO abc_generations VALUES (?, ?, ?, ?, ?, ?)", [
                (key, int(g.generation), float(g.epsilon), int(g.particles),
                 int(g.simulations), float(g.acceptance))
                for g in generations.itertuples(index=False)])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def posterior(self, key: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """An ABC calibration's particles and generations as :meth:`save_posterior` took
        them, or None when the store holds none for ``key``."""
        try:
            rows = self.con.execute(
                'SELECT weight, distance, "values", unit FROM posteriors WHERE experiment = ? '
                "ORDER BY particle", [key]).fetchall()
            gens = self.con.execute(
                "SELECT generation, epsilon, particles, simulations, acceptance FROM "
                "abc_generations WHERE experiment = ? ORDER BY generation", [key]).df()
        except duckdb.CatalogException:  # a store written before posteriors existed
            return None
        if not rows:
            return None
        out = []
        for weight, distance, values, unit in rows:
            values, unit = json.loads(values), json.loads(unit)
            out.append({"weight": weight, "distance": distance, **values,
                        **{f"u:{p}": u for p, u in unit.items()}})
        return pd.DataFrame(out), gens

    def experiments(self) -> list[StoredExperiment]:
        """Every experiment and calibration in the store, oldest first, with its count of
        finished runs."""
        rows = self.con.execute(
            "SELECT e.experiment, e.name, e.kind, e.scenario, e.file, e.spec, e.factors, "
            "e.design, e.points, e.replicates, e.created, e.version, "
            "(SELECT count(*) FROM runs r WHERE r.experiment = e.experiment), "
            "(SELECT count(*) FROM design_points d WHERE d.experiment = e.experiment) "
            "FROM experiments e ORDER BY e.created, e.experiment").fetchall()
        return [StoredExperiment(
            key=r[0], name=r[1] or "experiment", kind=r[2] or "", scenario=r[3] or "",
            file=r[4] or "", spec=_decoded(r[5]), factors=_decoded(r[6]),
            design=_decoded(r[7]), points=max(int(r[8] or 0), int(r[13])),
            replicates=int(r[9] or 1), created=r[10], version=r[11] or "", runs=int(r[12]))
            for r in rows]

    def calibrations(self) -> list[StoredExperiment]:
        """The calibrations among :meth:`experiments` (read their results with
        :func:`dronefront.experiments.calibration.stored_calibration`)."""
        return [e for e in self.experiments() if e.is_calibration]

    def select(self, wanted: str | None) -> list[StoredExperiment]:
        """The experiments named ``wanted`` (a name, or the start of a hash of at least 4
        characters); all of them when None. None found is a UserError naming the closest
        name and listing the store's names."""
        experiments = self.experiments()
        if wanted is None:
            return experiments
        found = [e for e in experiments if e.name == wanted]
        if not found and len(wanted) >= 4:
            found = [e for e in experiments if e.key.startswith(wanted.lower())]
        if not found:
            names = list(dict.fromkeys(e.name for e in experiments))
            close = difflib.get_close_matches(wanted, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"no experiment {wanted!r} in this store{hint} (it holds: "
                            f"{', '.join(names) or 'none'})", file=str(self.path),
                            field="--experiment")
        return found

    # ------------------------------------------------------------------ runs
    def finished(self, key: str) -> set[tuple[int, int]]:
        """(point, replicate) of every finished run of an experiment."""
        rows = self.con.execute("SELECT point, replicate FROM runs WHERE experiment = ?",
                                [key]).fetchall()
        return {(int(p), int(r)) for p, r in rows}

    def commit_run(self, key: str, point: int, replicate: int, seed: int, seconds: float,
                   summary: Any, metrics: Mapping[str, float | None],
                   series: pa.Table | None = None, worker: str = "") -> bool:
        """Store one finished run in its own transaction; False if it was already there."""
        run = FinishedRun(point, replicate, seed, seconds, summary, metrics, series, worker)
        return self.commit_runs(key, [run]) == 1

    def commit_runs(self, key: str, runs: Sequence[FinishedRun]) -> int:
        """Store finished runs in one transaction: all of them or, on any failure, none.

        A run already stored (or given twice) keeps its first record and is skipped;
        returns how many runs were added. Time series are written first, each to its own
        file, so a committed run always has its series.
        """
        stored = self._stored_among(key, runs)
        new: list[FinishedRun] = []
        for run in runs:
            if (run.point, run.replicate) not in stored:
                stored.add((run.point, run.replicate))
                new.append(run)
        if not new:
            return 0
        paths = [self._write_series(key, run) for run in new]
        hostname = socket.gethostname()
        now = dt.datetime.now()
        con = self.con
        runs_table = pa.table({
            "experiment": [key] * len(new),
            "point": pa.array([run.point for run in new], pa.int32()),
            "replicate": pa.array([run.replicate for run in new], pa.int32()),
            "seed": pa.array([run.seed for run in new], pa.int64()),
            "seconds": pa.array([run.seconds for run in new], pa.float64()),
            "finished": pa.array([now] * len(new), pa.timestamp("us")),
            "worker": [run.worker or hostname for run in new],
            "summary": [json.dumps(run.summary, sort_keys=True, default=str) for run in new],
            "timeseries": pa.array(paths, pa.string()),
        })
        metric_rows = [(run.point, run.replicate, name, value) for run in new
                       for name, value in run.metrics.items()]
        metrics_table = pa.table({
            "experiment": [key] * len(metric_rows),
            "point": pa.array([m[0] for m in metric_rows], pa.int32()),
            "replicate": pa.array([m[1] for m in metric_rows], pa.int32()),
            "metric": pa.array([m[2] for m in metric_rows], pa.string()),
            "value": pa.array([None if m[3] is None else float(m[3]) for m in metric_rows],
                              pa.float64()),
        })
        con.execute("BEGIN")
        try:
            # one statement per table for the whole batch (row by row costs ~5x more)
            con.register("_batch_runs", runs_table)
            con.register("_batch_metrics", metrics_table)
            con.execute("INSERT INTO runs SELECT * FROM _batch_runs")
            con.execute("INSERT INTO metrics SELECT * FROM _batch_metrics")
            con.execute("COMMIT")
        except duckdb.InterruptException:  # Ctrl-C inside DuckDB: the same as outside it
            self._rollback()
            raise KeyboardInterrupt from None
        except RuntimeError as exc:  # a COMMIT interrupted by Ctrl-C says so in plain words
            self._rollback()
            if "interrupted" in str(exc).lower():
                raise KeyboardInterrupt from None
            raise
        except duckdb.Error as exc:  # a full disk, an I/O error: nothing of this batch is kept
            self._rollback()
            raise self._write_failed(exc) from None
        except BaseException:
            self._rollback()
            raise
        finally:
            for view in ("_batch_runs", "_batch_metrics"):
                with contextlib.suppress(duckdb.Error):
                    con.unregister(view)
        return len(new)

    def _stored_among(self, key: str, runs: Sequence[FinishedRun]) -> set[tuple[int, int]]:
        """(point, replicate) of those ``runs`` already stored: a look-up of the batch's
        keys, not of every run of the experiment."""
        if not runs:
            return set()
        keys = pa.table({"point": pa.array([r.point for r in runs], pa.int32()),
                         "replicate": pa.array([r.replicate for r in runs], pa.int32())})
        self.con.register("_batch_keys", keys)
        try:
            rows = self.con.execute(
                "SELECT r.point, r.replicate FROM runs r JOIN _batch_keys k "
                "ON r.point = k.point AND r.replicate = k.replicate WHERE r.experiment = ?",
                [key]).fetchall()
        finally:
            self.con.unregister("_batch_keys")
        return {(int(p), int(r)) for p, r in rows}

    def _write_series(self, key: str, run: FinishedRun) -> str | None:
        """Write a run's time series to its own file (atomically); its path in the store."""
        if run.series is None:
            return None
        rel = f"{key[:16]}/p{run.point:06d}-r{run.replicate:04d}.parquet"
        target = self.series_dir / rel
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(run.series, tmp, compression="zstd")
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise self._write_failed(exc) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return rel

    def _write_failed(self, exc: BaseException) -> UserError:
        """The one-line error for a write the disk refused; the runs stored so far stay, and
        running the same command again resumes."""
        if isinstance(exc, OSError):
            reason = exc.strerror or exc.__class__.__name__
        else:
            text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            reason = "No space left on device" if "no space left" in text.lower() else (
                text.rsplit(": ", 1)[-1][:200])
        return UserError(f"cannot write to the store: {reason} (the runs stored so far are "
                         "kept; run the same command again to resume)", file=str(self.path))

    def _rollback(self) -> None:
        """Roll back the open transaction, if any (it may have committed or never begun)."""
        try:
            self.con.execute("ROLLBACK")
        except duckdb.Error:
            pass

    # ------------------------------------------------------------------ reading
    def points(self, key: str) -> pd.DataFrame:
        """Design points: point, values (dict) and unit coordinates, sorted by point."""
        frame = self.con.execute('SELECT point, "values", unit FROM design_points '
                                 "WHERE experiment = ? ORDER BY point", [key]).df()
        frame["values"] = [self._object(v, f"design point {p}")
                           for p, v in zip(frame["point"], frame["values"], strict=True)]
        return frame

    def runs(self, key: str) -> pd.DataFrame:
        """Finished runs (without summaries) sorted by (point, replicate)."""
        return self.con.execute(
            "SELECT point, replicate, seed, seconds, finished, worker, timeseries FROM runs "
            "WHERE experiment = ? ORDER BY point, replicate", [key]).df()

    def summaries(self, key: str) -> pd.DataFrame:
        """point, replicate and the full summary dict of each run, sorted."""
        frame = self.con.execute("SELECT point, replicate, summary FROM runs WHERE "
                                 "experiment = ? ORDER BY point, replicate", [key]).df()
        frame["summary"] = [json.loads(s) for s in frame["summary"]]
        return frame

    def _object(self, text: Any, what: str) -> dict[str, Any]:
        """A JSON column that must hold an object; anything else is a damaged store."""
        value = json.loads(text) if isinstance(text, str) else text
        if not isinstance(value, dict):
            raise UserError(f"damaged store: {what} is not a JSON object", file=str(self.path))
        return value

    def metrics(self, key: str, points: Iterable[int] | None = None,
                replicates: int | None = None) -> pd.DataFrame:
        """Tidy table of the stored metrics: one row per (point, replicate, metric) with its
        value, sorted; only the given ``points`` and the first ``replicates`` if given."""
        sql = "SELECT point, replicate, metric, value FROM metrics WHERE experiment = ?"
        args: list[Any] = [key]
        if points is not None:
            sql += " AND list_contains(?::INTEGER[], point)"
            args.append([int(p) for p in points])
        if replicates is not None:
            sql += " AND replicate < ?"
            args.append(replicates)
        return self.con.execute(sql + " ORDER BY point, replicate, metric", args).df()

    def timeseries(self, key: str, point: int | None = None) -> pa.Table | None:
        """Stored time series, concatenated, with ``point`` and ``replicate`` columns."""
        sql = ("SELECT point, replicate, timeseries FROM runs WHERE experiment = ? AND "
               "timeseries IS NOT NULL")
        args: list[Any] = [key]
        if point is not None:
            sql += " AND point = ?"
            args.append(point)
        rows = self.con.execute(sql + " ORDER BY point, replicate", args).fetchall()
        if not rows:
            return None
        tables = []
        folder = self.series_dir.resolve()
        for p, r, rel in rows:
            path = (folder / rel).resolve()
            if not path.is_relative_to(folder):  # a store's paths never lead outside it
                raise UserError(f"damaged store: the time series of run {p}-{r} is not in "
                                f"{self.series_dir.name}", file=str(self.path))
            table = pq.read_table(path)
            table = table.add_column(0, "replicate", pa.array([r] * table.num_rows, pa.int32()))
            tables.append(table.add_column(0, "point", pa.array([p] * table.num_rows,
                                                                 pa.int32())))
        return pa.concat_tables(tables, promote_options="permissive")
