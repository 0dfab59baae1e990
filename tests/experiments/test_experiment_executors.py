"""Every executor stores identical results; chunk sizes follow the measured run time."""

from __future__ import annotations

import pandas as pd
import pytest

from dronefront.experiments.executors import Output, _Sizer, make_executor
from dronefront.experiments.runner import load_experiment, results, run_experiment
from dronefront.experiments.store import Store
from tests.experiments.experiment_helpers import small_engagement


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("executors")
    path = small_engagement(tmp, points=6, replicates=3, timeseries=True)
    out = {}
    for name in ("local", "processes", "ray"):
        report = run_experiment(path, executor=name, store=tmp / f"{name}.duckdb", workers=2)
        assert report.ran == 18 and report.executor == name
        out[name] = tmp / f"{name}.duckdb"
    return path, out


@pytest.mark.slow
def test_identical_results_on_every_executor(stores):
    path, out = stores
    frames = {name: results(path, store) for name, store in out.items()}
    local = frames["local"]
    assert len(local) == 18
    assert local["sides.attacker.casualties"].notna().all()
    assert local["sides.attacker.casualties"].sum() > 0
    for name in ("processes", "ray"):
        pd.testing.assert_frame_equal(frames[name], local, check_exact=True)


def test_identical_summaries_and_series_on_every_executor(stores):
    path, out = stores
    key = load_experiment(path).key
    loaded = {}
    for name, store in out.items():
        with Store(store, read_only=True) as db:
            summaries = db.summaries(key)
            series = db.timeseries(key)
            workers = set(db.runs(key).worker)
        loaded[name] = (summaries, series, workers)
    local_summaries, local_series, _ = loaded["local"]
    assert local_series is not None and local_series.num_rows > 0
    for name in ("processes", "ray"):
        summaries, series, workers = loaded[name]
        assert summaries["summary"].tolist() == local_summaries["summary"].tolist()
        assert series.equals(local_series)
    # the pool executors really used other processes
    assert len(loaded["processes"][2]) >= 1
    assert loaded["processes"][2] != loaded["local"][2]


def test_seed_policy_is_common_random_numbers(stores):
    path, out = stores
    frame = results(path, out["local"])
    assert (frame.seed == 5 + frame.replicate).all()
    plan = load_experiment(path)
    assert [t.seed for t in plan.tasks() if t.point == 3] == [5, 6, 7]


def test_chunk_sizes_follow_run_time():
    sizer = _Sizer(workers=4, target=1.0)
    assert sizer.size(1000) == 1  # nothing measured yet
    sizer.observe([Output(0, 0, 0, {}, None, 0.001, "w")] * 50)
    assert sizer.size(100_000) == 1000  # ~1 s of work per chunk
    assert sizer.size(80) == 10  # near the end: keep every worker busy
    slow = _Sizer(workers=2)
    slow.observe([Output(0, 0, 0, {}, None, 3.0, "w")])
    assert slow.size(1000) == 1


def test_unknown_executor_and_bad_workers():
    from dronefront.errors import UserError

    with pytest.raises(UserError, match="unknown executor 'dask'"):
        make_executor("dask")
    with pytest.raises(UserError, match="at least 1"):
        make_executor("processes", workers=0)


def _interrupted_in_a_kernel(scenario, seed, overrides):
    """What a Ctrl-C landing while a compiled kernel returns looks like from Python."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as ki:
        raise SystemError("returned a result with an exception set") from ki


def _broken(scenario, seed, overrides):
    raise ValueError("a model bug")


def test_a_ctrl_c_inside_a_kernel_stops_the_chunk_while_model_errors_are_reported():
    from dronefront.experiments.executors import Chunk, Task, run_chunk

    tasks = (Task(0, 0, 1, []), Task(0, 1, 2, []))
    with pytest.raises(KeyboardInterrupt):
        run_chunk(Chunk(_interrupted_in_a_kernel, "s", tasks, False))
    out = run_chunk(Chunk(_broken, "s", tasks, False))
    assert [o.summary for o in out] == [None, None] and "a model bug" in out[0].error
