"""Chunks of replicates of one design point run as ensembles; results never depend on it.

The engagement model runs each chunk's replicates of a point as one ``Ensemble``; whatever
the executor and the chunk size, the store holds the same metrics, summaries and series as
runs made one by one. A failing replicate fails alone; a bad scenario fails its group.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dronefront.errors import UserError
from dronefront.experiments.executors import (
    ENSEMBLE_REPLICATES,
    Chunk,
    Output,
    Task,
    _Queue,
    _Sizer,
    make_executor,
    run_chunk,
)
from dronefront.experiments.models import engagement, engagement_ensemble, get_model
from dronefront.experiments.runner import load_experiment, results, run_experiment
from dronefront.experiments.store import Store
from tests.experiments.experiment_helpers import small_engagement


# --------------------------------------------------------------------------- fake models
def _single(scenario, seed, overrides):
    if seed == 13:
        raise ValueError("seed 13 breaks the model")
    if overrides == ["bad"]:
        raise UserError("no such field", field="bad")
    return {"seed": seed, "point": overrides, "ensemble": 1}, None


def _together(scenario, seeds, overrides, series):
    """Like ``_single`` for each seed, but says how many ran together."""
    if 13 in seeds:
        raise ValueError("seed 13 breaks the ensemble")
    if overrides == ["bad"]:
        raise UserError("no such field", field="bad")
    return [({"seed": s, "point": overrides, "ensemble": len(seeds)}, None) for s in seeds]


def _tasks(points: dict[int, list[str]], seeds: list[int]) -> list[Task]:
    """Replicate by replicate, as ``Plan.tasks`` orders them."""
    return [Task(p, r, s, o) for r, s in enumerate(seeds) for p, o in points.items()]


# --------------------------------------------------------------------------- run_chunk
def test_a_chunk_runs_each_points_replicates_together_and_keeps_the_task_order():
    tasks = tuple(_tasks({0: ["a=1"], 1: ["a=2"]}, [1, 2, 3]))
    out = run_chunk(Chunk(_single, "s", tasks, False, ensemble=_together))
    assert [(o.point, o.replicate, o.seed) for o in out] == \
        [(t.point, t.replicate, t.seed) for t in tasks]
    assert [o.summary["ensemble"] for o in out] == [3] * 6
    assert all(o.summary["point"] == tasks[i].overrides for i, o in enumerate(out))
    assert all(o.error is None and o.seconds > 0 and o.cpu >= 0 for o in out)
    # without an ensemble path, or for a lone replicate, the model runs on its own
    alone = run_chunk(Chunk(_single, "s", tasks, False))
    assert [o.summary for o in alone] == [{**o.summary, "ensemble": 1} for o in out]
    lone = run_chunk(Chunk(_single, "s", tasks[:2], False, ensemble=_together))
    assert [o.summary["ensemble"] for o in lone] == [1, 1]


def test_a_failing_replicate_fails_alone_and_a_bad_point_fails_its_group():
    tasks = tuple(_tasks({0: ["a=1"]}, [11, 12, 13, 14]) + _tasks({1: ["bad"]}, [11, 12]))
    out = run_chunk(Chunk(_single, "s", tasks, False, ensemble=_together))
    by_seed = {(o.point, o.seed): o for o in out}
    broken = by_seed[(0, 13)]
    assert broken.summary is None and not broken.user_error
    assert "seed 13 breaks the model" in broken.error  # the run's own traceback
    for seed in (11, 12, 14):  # re-run one by one: their results are kept
        assert by_seed[(0, seed)].summary == {"seed": seed, "point": ["a=1"], "ensemble": 1}
    bad = [o for o in out if o.point == 1]
    assert [o.user_error for o in bad] == [True, True]
    assert all(o.error == "bad: no such field" for o in bad)


def test_queue_takes_one_points_replicates_per_chunk_points_in_turn():
    tasks = _tasks({0: ["a=1"], 1: ["a=2"]}, list(range(1, 11)))
    queue = _Queue(tasks, by_point=True)
    chunks = []
    while queue:
        chunks.append(queue.take(4))
    assert [(c[0].point, [t.replicate for t in c]) for c in chunks] == [
        (0, [0, 1, 2, 3]), (1, [0, 1, 2, 3]), (0, [4, 5, 6, 7]), (1, [4, 5, 6, 7]),
        (0, [8, 9]), (1, [8, 9])]
    plain = _Queue(tasks, by_point=False)
    assert plain.take(3) == tuple(tasks[:3])  # in the given order, points mixed
    assert plain.left == len(tasks) - 3


def test_ensemble_chunks_aim_at_many_replicates_but_keep_the_tail_balanced():
    warm = [Output(0, 0, 0, {}, None, 0.002, "w")] * 20
    sizer = _Sizer(workers=2, target=2.0, cap=ENSEMBLE_REPLICATES)
    assert sizer.size(1000) == 1  # nothing measured yet
    sizer.observe([Output(0, 0, 0, {}, None, 3.0, "w")])  # start-up: loading kernels
    assert sizer.size(1000) == 1
    sizer.observe(warm)  # the first warm run replaces the start-up estimate
    assert sizer.size(1000) == ENSEMBLE_REPLICATES
    assert sizer.size(40) == 10  # the last runs are shared between both workers
    assert _Sizer(workers=2, fixed=7).size(1000) == 7


# --------------------------------------------------------------------------- executors
@pytest.mark.parametrize("executor", ["local", "processes"])
def test_executors_send_replicates_of_one_point_as_one_ensemble(executor):
    tasks = _tasks({0: ["a=1"], 1: ["a=2"]}, list(range(21, 41)))
    with make_executor(executor, workers=2) as ex:
        out = list(ex.map(_single, "s", tasks, ensemble=_together, chunk=7))
    assert sorted((o.point, o.replicate) for o in out) == sorted(
        (t.point, t.replicate) for t in tasks)
    sizes = sorted(o.summary["ensemble"] for o in out if o.point == 0)
    assert sizes == [6] * 6 + [7] * 14  # chunks of 7, 7 and 6 replicates
    many = _tasks({0: ["a=1"], 1: ["a=2"]}, list(range(21, 121)))
    with make_executor(executor, workers=2) as ex:  # automatic: capped ensembles
        sizes = [o.summary["ensemble"] for o in ex.map(_single, "s", many, ensemble=_together)]
    assert len(sizes) == 200 and max(sizes) == ENSEMBLE_REPLICATES


def test_engagement_ensemble_equals_single_runs_with_series():
    overrides = ["parameters.N=60", "duration=90"]
    together = engagement_ensemble("reference-open-field", [3, 4, 5], overrides, True)
    for seed, (summary, series) in zip([3, 4, 5], together, strict=True):
        alone, alone_series = engagement("reference-open-field", seed, overrides)
        assert summary == alone
        assert series.equals(alone_series)
    assert get_model("engagement").ensemble is engagement_ensemble


# --------------------------------------------------------------------------- stores
@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """One experiment (3 points x 10 replicates, with series) stored once per way of
    running it: local one run at a time, then chunks of 7 and 64, then processes."""
    tmp = tmp_path_factory.mktemp("chunks")
    path = small_engagement(tmp, points=3, replicates=10, timeseries=True)
    out = {}
    for label, executor, chunk in (("local-1", "local", 1), ("local-7", "local", 7),
                                   ("local-64", "local", 64), ("local-auto", "local", None),
                                   ("processes-7", "processes", 7),
                                   ("processes-auto", "processes", None)):
        store = tmp / f"{label}.duckdb"
        report = run_experiment(path, executor=executor, store=store, workers=2, chunk=chunk)
        assert report.ran == 30
        out[label] = store
    return path, out


def _stored(path, store):
    key = load_experiment(path).key
    with Store(store, read_only=True) as db:
        return (results(path, db), db.summaries(key)["summary"].tolist(), db.timeseries(key),
                db.runs(key))


@pytest.mark.slow
def test_results_identical_for_every_chunk_size_and_executor(chunked):
    path, stores = chunked
    frame, summaries, series, _ = _stored(path, stores["local-1"])
    assert len(frame) == 30 and frame["sides.attacker.casualties"].sum() > 0
    assert frame["sides.attacker.casualties"].nunique() > 1  # the seeds differ
    for label, store in stores.items():
        other, other_summaries, other_series, runs = _stored(path, store)
        pd.testing.assert_frame_equal(other, frame, check_exact=True)
        assert other_summaries == summaries, label
        assert other_series.equals(series), label
        assert (runs.seconds > 0).all()
    # the file's chunk setting is used when none is given
    text = path.read_text().replace("replicates: 10", "replicates: 10\nchunk: 4")
    (path.parent / "chunk4.yaml").write_text(text)
    plan = load_experiment(path.parent / "chunk4.yaml")
    assert plan.spec.chunk == 4 and plan.key == load_experiment(path).key


@pytest.mark.slow
def test_a_chunked_experiment_resumes_without_repeating_a_run(tmp_path):
    path = small_engagement(tmp_path, points=2, replicates=12)
    store = tmp_path / "s.duckdb"
    text = path.read_text().replace("replicates: 12", "replicates: 5")
    short = tmp_path / "short.yaml"
    short.write_text(text)
    assert run_experiment(short, store=store, chunk=3).ran == 10
    report = run_experiment(path, store=store, chunk=64)  # the rest, replicates 5..11
    assert (report.skipped, report.ran) == (10, 14)
    fresh = tmp_path / "fresh.duckdb"
    run_experiment(path, store=fresh, chunk=1)
    pd.testing.assert_frame_equal(results(path, store), results(path, fresh), check_exact=True)


def test_chunk_setting_is_checked(tmp_path):
    path = small_engagement(tmp_path, points=2, replicates=1)
    with pytest.raises(UserError, match="chunk: must be at least 1"):
        run_experiment(path, store=tmp_path / "s.duckdb", chunk=0)
    from typer.testing import CliRunner

    from dronefront.cli import app

    out = CliRunner().invoke(app, ["experiment", "run", str(path), "--store",
                                   str(tmp_path / "s.duckdb"), "--chunk", "0"])
    assert isinstance(out.exception, UserError)  # the entry point prints it, exit 2
    assert str(out.exception) == "--chunk: must be at least 1, not 0"
    assert not (tmp_path / "s.duckdb").exists()  # refused before the store is touched
