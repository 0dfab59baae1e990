"""A disk that fills up while runs are stored: one error line, nothing half-stored, and the
same command resumes where it stopped.

The full disk is simulated in-process: the store's connection refuses a ``COMMIT`` after a
number of runs the way DuckDB does on ENOSPC, or the time-series writer raises ENOSPC.
"""

from __future__ import annotations

import errno

import duckdb
import pyarrow.parquet as pq
import pytest

from dronefront.errors import UserError
from dronefront.experiments import runner
from dronefront.experiments.runner import commit_batches, results, run_experiment
from dronefront.experiments.store import FinishedRun, Store
from tests.experiments.experiment_helpers import small_engagement

POINTS, REPLICATES = 4, 2


class _FillingConnection:
    """A DuckDB connection whose ``COMMIT`` fails once ``room`` commits have gone through."""

    def __init__(self, con: duckdb.DuckDBPyConnection, room: int) -> None:
        self._con, self.room = con, room

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            if self.room <= 0:
                raise duckdb.TransactionException(
                    'TransactionContext Error: Failed to commit: Could not write file '
                    '"x.duckdb.wal": No space left on device')
            self.room -= 1
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


@pytest.fixture
def experiment(tmp_path):
    path = small_engagement(tmp_path, points=POINTS, replicates=REPLICATES, timeseries=True)
    reference = tmp_path / "reference.duckdb"
    run_experiment(path, store=reference)
    return path, results(path, reference)


@pytest.mark.parametrize("where", ["commit", "series"])
def test_full_disk_is_one_line_and_the_run_resumes(experiment, tmp_path, monkeypatch, where):
    path, expected = experiment
    monkeypatch.setattr(runner, "BATCH_RUNS", 1)  # a commit per run: the disk fills mid-way
    store_path = tmp_path / "full.duckdb"
    store = Store(store_path)
    if where == "commit":
        store.con = _FillingConnection(store.con, room=3)
    else:
        real, calls = pq.write_table, {"n": 0}

        def filling(table, target, **kwargs):
            calls["n"] += 1
            if calls["n"] > 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(table, target, **kwargs)

        monkeypatch.setattr(pq, "write_table", filling)
    with pytest.raises(UserError) as info:
        run_experiment(path, store=store)
    store.close()
    message = str(info.value)
    assert "\n" not in message and "No space left on device" in message, message
    assert "run the same command again" in message
    monkeypatch.undo()
    partial = Store(store_path, read_only=True)
    try:
        stored = len(partial.finished(next(e.key for e in partial.experiments())))
    finally:
        partial.close()
    assert 0 < stored < POINTS * REPLICATES
    series = list((tmp_path / "full.duckdb.series").rglob("*"))
    assert not [p for p in series if p.name.endswith(".tmp")], series
    report = run_experiment(path, store=store_path)
    assert report.ran == POINTS * REPLICATES - stored
    assert results(path, store_path).equals(expected)


def _runs(n: int) -> list[FinishedRun]:
    return [FinishedRun(point=i, replicate=0, seed=i, seconds=0.01, summary={"y": i},
                        metrics={"y": float(i)}) for i in range(n)]


def _registered(tmp_path) -> Store:
    store = Store(tmp_path / "b.duckdb")
    store.register("k" * 16, {"name": "batches"}, [(i, {"x": i}, [0.0]) for i in range(8)])
    return store


def test_runs_are_committed_in_batches_each_all_or_nothing(tmp_path):
    store = _registered(tmp_path)
    store.con = counting = _FillingConnection(store.con, room=2)  # the third commit fails
    with pytest.raises(UserError):
        commit_batches(store, "k" * 16, _runs(8), batch_runs=3, batch_seconds=60)
    assert counting.room == 0  # two batches committed, the third refused
    assert sorted(p for p, _ in store.finished("k" * 16)) == [0, 1, 2, 3, 4, 5]
    rows = store.con.execute("SELECT count(*) FROM metrics").fetchone()[0]
    assert rows == 6  # nothing of the refused batch, not even its metrics
    store.close()


def test_a_resumed_batch_adds_only_the_missing_runs(tmp_path):
    store = _registered(tmp_path)
    assert commit_batches(store, "k" * 16, _runs(5), batch_runs=2, batch_seconds=60) == 5
    assert commit_batches(store, "k" * 16, _runs(8), batch_runs=3, batch_seconds=60) == 3
    assert len(store.finished("k" * 16)) == 8
    summary = store.con.execute("SELECT summary FROM runs WHERE point = 2").fetchone()[0]
    assert summary == '{"y": 2}'  # the first record is kept
    store.close()
