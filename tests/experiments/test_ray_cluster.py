"""A real Ray cluster: two nodes on this machine, joined through ``--ray-address``.

The driver (the CLI, in its own process) keeps the DuckDB store; the two nodes' workers run
the chunks and return results. The stored metrics and summaries must equal a ``local`` run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dronefront.experiments.runner import load_experiment, results, run_experiment
from dronefront.experiments.store import Store
from tests.experiments.experiment_helpers import small_engagement

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_node_cluster_through_ray_address_matches_local(tmp_path):
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    path = small_engagement(tmp_path, points=4, replicates=3)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")])}
    saved = dict(os.environ)
    os.environ.update(env)  # the nodes start from this process: their workers import the same code
    cluster = cluster_utils.Cluster(initialize_head=True,
                                    head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        store = tmp_path / "cluster.duckdb"
        done = subprocess.run(
            [sys.executable, "-m", "dronefront", "experiment", "run", str(path), "--executor",
             "ray", "--ray-address", cluster.address, "--store", str(store)],
            env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        cluster.shutdown()
        os.environ.clear()
        os.environ.update(saved)
    local = tmp_path / "local.duckdb"
    assert run_experiment(path, executor="local", store=local).ran == 12
    pd.testing.assert_frame_equal(results(path, store), results(path, local), check_exact=True)
    key = load_experiment(path).key
    with Store(store, read_only=True) as db, Store(local, read_only=True) as ref:
        assert db.summaries(key)["summary"].tolist() == ref.summaries(key)["summary"].tolist()
        workers = set(db.runs(key).worker)
        assert set(ref.runs(key).worker).isdisjoint(workers)  # none ran in the driver
    assert len(workers) >= 2  # one worker per one-CPU node, at least
