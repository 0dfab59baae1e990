"""Large-N movement: the parallel path gives the serial path's results, on any thread count.

From ``movement.PARALLEL_MIN`` soldiers the soldiers move (and the grids' bounding boxes are
found) in chunks of whole platoons on every Numba thread (docs/engine.md, "Threads"). Here
the threshold is lowered so that small built-ins take that path, and whole runs are compared
bit for bit against the serial path, with one and with two threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dronefront.engine.spatial import grid_buckets, side_grids
from dronefront.engine.stages.movement import roster

ROOT = Path(__file__).resolve().parents[2]


def _population(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 300.0, n)
    y = rng.normal(500.0, 80.0, n)
    side = (rng.random(n) < 0.3).astype(np.int8)
    status = rng.integers(0, 3, n).astype(np.int8)  # 2: dead
    phase = rng.integers(0, 3, n).astype(np.int8)  # 2: gone
    return x, y, status, side, phase


@pytest.mark.parametrize("n", [0, 1, 5000, 20011])
@pytest.mark.parametrize("phased", [False, True])
def test_the_grid_builder_matches_a_grid_per_side(n, phased):
    x, y, status, side, phase = _population(n, n)
    if not phased:
        phase = np.empty(0, np.int8)
    who = (x, y, status, side, phase, 2, 2)
    present = (status != 2) & ((phase != 2) if phased else True)
    serial = side_grids(who, 10.0)
    for which in range(2):
        x0, y0, nx, ny, start, items = grid_buckets(x, y, present & (side == which), 10.0)
        assert serial[which][:2] == (x0, y0)
        assert serial[which][3:5] == (nx, ny)
        assert np.array_equal(serial[which][5], start)
        assert np.array_equal(serial[which][6], items)
        assert len(items) == int((present & (side == which)).sum())


def test_roster_chunks_are_whole_platoons_covering_everyone():
    platoon = np.repeat(np.arange(40, dtype=np.int32), 30)[::-1].copy()
    members, first, spans = roster(platoon, 40, 100)
    assert sorted(members.tolist()) == list(range(len(platoon)))
    for g in range(40):
        mine = members[first[g]:first[g + 1]]
        assert (platoon[mine] == g).all() and (np.diff(mine) > 0).all()
    assert spans[0] == 0 and spans[-1] == 40 and (np.diff(spans) > 0).all()
    sizes = np.diff(first[spans])
    assert (sizes[:-1] > 100 - 30).all() and (sizes < 100 + 30).all()


RUNS = """
import hashlib, json, sys
from dronefront.engine.stages import movement
from dronefront.engine.sim import Sim
from dronefront.scenario.loader import load_scenario

movement.PARALLEL_MIN = int(sys.argv[1])
out = {}
for name, overrides in (("kursk-assault", []), ("swarm-breach", []),
                        ("reference-open-field", ["parameters.N=900", "duration=300"])):
    sim = Sim(load_scenario(name, overrides), seed=4)
    result = sim.run()
    h = hashlib.sha256(json.dumps(result.summary, sort_keys=True).encode())
    for table in (result.timeseries, result.events):
        for column in table.columns:
            h.update(str(column.to_pylist()).encode())
    out[name] = [sim.stages[1].parallel, h.hexdigest()]
print(json.dumps(out))
"""


def _runs(parallel_min: int, threads: int) -> dict:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", RUNS, str(parallel_min)], env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_parallel_path_matches_serial_with_one_and_two_threads():
    serial = _runs(10**12, 2)
    one = _runs(0, 1)
    two = _runs(0, 2)
    assert all(not flag for flag, _ in serial.values())
    assert all(flag for flag, _ in one.values()) and all(flag for flag, _ in two.values())
    assert {k: v[1] for k, v in one.items()} == {k: v[1] for k, v in serial.items()}
    assert {k: v[1] for k, v in two.items()} == {k: v[1] for k, v in serial.items()}
