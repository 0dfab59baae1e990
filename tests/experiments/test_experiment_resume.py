"""A driver killed with SIGKILL (or stopped with Ctrl-C) loses no finished run, repeats none.

The experiment runs in a real ``python -m dronefront.cli experiment run`` subprocess; the
test waits until runs are being stored, kills it, checks that the store holds a strict part
of the experiment, runs the same command again and compares with an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dronefront.experiments.runner import load_experiment, results, run_experiment, status
from dronefront.experiments.store import Store
from tests.experiments.experiment_helpers import small_engagement

pytestmark = pytest.mark.slow

POINTS, REPLICATES = 64, 2  # long enough to stop between two batch commits
TOTAL = POINTS * REPLICATES


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The experiment file and its uninterrupted results (in-process)."""
    tmp = tmp_path_factory.mktemp("resume")
    path = small_engagement(tmp, points=POINTS, replicates=REPLICATES, timeseries=True)
    store = tmp / "reference.duckdb"
    assert run_experiment(path, store=store).ran == TOTAL
    return path, results(path, store)


def _start(path: Path, store: Path, executor: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dronefront.cli", "experiment", "run", str(path),
           "--store", str(store), "--executor", executor, "--workers", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_series(store: Path, proc: subprocess.Popen, count: int) -> None:
    """Wait until ``count`` time series files exist (each precedes its run's commit)."""
    folder = store.with_name(store.name + ".series")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the experiment ended before it was interrupted: {proc.stderr.read()}")
        if folder.exists() and sum(1 for _ in folder.rglob("*.parquet")) >= count:
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no runs were stored within 90 s")


def _descendants(pid: int) -> set[int]:
    """Process ids below ``pid`` (Linux /proc), e.g. a pool's server and workers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def _gone(pids: set[int], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return True
        time.sleep(0.1)
    return False


def _check_complete(path: Path, store: Path, expected: pd.DataFrame) -> None:
    key = load_experiment(path).key
    with Store(store, read_only=True) as db:
        per_run = db.con.execute(
            "SELECT count(*) AS n FROM runs WHERE experiment = ? GROUP BY point, replicate",
            [key]).df()
        metric_rows = db.con.execute(
            "SELECT count(*) AS n FROM metrics WHERE experiment = ? "
            "GROUP BY point, replicate, metric", [key]).df()
    assert len(per_run) == TOTAL and (per_run.n == 1).all()  # every run, exactly once
    assert (metric_rows.n == 1).all()  # no metric stored twice
    pd.testing.assert_frame_equal(results(path, store), expected, check_exact=True)


def _running_status(path: Path, store: Path) -> dict:
    """``status`` once the driver's progress file counts a committed batch (runs are
    committed in batches, a fraction of a second apart)."""
    deadline = time.monotonic() + 30
    while True:
        info = status(path, store)
        if info.get("finished", 0) > 0 and "pid" in info.get("running", {}):
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.02)


def _stored(path: Path, store: Path) -> int:
    with Store(store, read_only=True) as db:
        return len(db.finished(load_experiment(path).key))


@pytest.mark.parametrize("executor", ["local", "processes"])
def test_sigkill_mid_experiment_then_resume(tmp_path, reference, executor):
    path, expected = reference
    store = tmp_path / "killed.duckdb"
    proc = _start(path, store, executor)
    _wait_for_series(store, proc, 6)
    workers = _descendants(proc.pid)
    if executor == "processes":
        assert len(workers) >= 2  # the pool is running
    running = _running_status(path, store)  # the driver holds DuckDB's lock: its progress
    assert running["running"]["pid"] == proc.pid and 0 < running["finished"] < TOTAL
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _gone(workers), "pool workers outlived their killed driver"
    stored = _stored(path, store)
    assert 0 < stored < TOTAL, stored
    report = run_experiment(path, store=store)  # resume
    assert report.skipped == stored and report.ran == TOTAL - stored
    _check_complete(path, store, expected)


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path, reference):
    path, expected = reference
    store = tmp_path / "interrupted.duckdb"
    proc = _start(path, store, "local")
    _wait_for_series(store, proc, 6)
    _running_status(path, store)  # a batch is committed
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "resume" in err
    stored = _stored(path, store)
    assert 0 < stored < TOTAL
    proc = _start(path, store, "local")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"{stored} already stored" in out
    _check_complete(path, store, expected)
