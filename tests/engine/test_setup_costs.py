"""The cheaper set-up, restart and result paths give what the plain ones give."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dronefront.engine.ensemble import Ensemble
from dronefront.engine.events import EventLog, _column
from dronefront.engine.sim import Sim
from dronefront.engine.stages import identical
from dronefront.scenario.loader import load_scenario


def _plain_column(parts: list, dtype) -> np.ndarray:
    """What the event log built before: one ``np.full`` or ``astype`` per part."""
    return np.concatenate([np.full(p[1], p[0], dtype) if isinstance(p, tuple)
                           else p.astype(dtype) for p in parts])


def test_event_columns_equal_one_cast_per_part():
    rng = np.random.default_rng(5)
    for dtype in (np.int32, np.int64, np.float32, np.float64):
        parts, counts = [], []
        for _ in range(40):
            n = int(rng.integers(1, 6))
            counts.append(n)
            if rng.random() < 0.5:
                parts.append((rng.choice([-1, 3, 7.25, np.nan, np.int64(9)]), n))
            else:
                parts.append(rng.normal(0, 1e3, n) if rng.random() < 0.5
                             else rng.integers(-5, 10**6, n))
        if np.dtype(dtype).kind == "i":
            parts = [(-1, p[1]) if isinstance(p, tuple) and p[0] != p[0] else p
                     for p in parts]
        got = _column(parts, np.array(counts, np.int64), np.dtype(dtype))
        want = _plain_column(parts, dtype)
        assert got.dtype == want.dtype
        assert got.tobytes() == want.tobytes()
    assert _column([], np.zeros(0, np.int64), np.dtype(np.int32)).shape == (0,)


def test_event_table_of_a_run_equals_the_plain_build():
    sim = Sim(load_scenario("kursk-assault"), 3)
    sim.run()
    log = sim.log
    counts = np.array([p.shape[0] for p in log._parts["x"]], np.int64)
    assert counts.size > 50  # many adds, scalars and arrays mixed
    for name, dtype in (("step", np.int32), ("kind", np.int32), ("weapon", np.int32),
                        ("actor", np.int64), ("value", np.float64), ("x", np.float32)):
        assert (_column(log._parts[name], counts, np.dtype(dtype)).tobytes()
                == _plain_column(log._parts[name], dtype).tobytes())
    empty = EventLog().table(1.0, ["rifle"])
    assert empty.num_rows == 0 and empty.schema == sim.result().events.schema


def test_timeseries_table_equals_strided_columns():
    sim = Sim(load_scenario("kursk-assault"), 2, events=False)
    result = sim.run()
    from dronefront.engine.series import SERIES

    steps = sim.state.step
    for k, name in enumerate(SERIES):
        column = result.timeseries.column(name).to_numpy()
        assert np.array_equal(column, sim.series[:steps, :, k].reshape(-1))
    assert result.timeseries.schema.field("killed").type == pa.int64()


def test_identical_compares_to_the_bit():
    a = (np.arange(4.0), (1, np.array([np.nan])), "x")
    assert identical(a, (np.arange(4.0), (1, np.array([np.nan])), "x"))
    assert not identical(a, (np.arange(4.0), (2, np.array([np.nan])), "x"))
    assert not identical(np.zeros(2), np.zeros(2, np.float32))
    assert not identical(np.zeros(2), np.zeros(3))
    assert not identical(np.array([0.0]), np.array([-0.0]))  # conservative: rebuild
    assert not identical((1,), 1)


def test_restart_keeps_the_movement_and_direct_fire_calls():
    """A restarted replicate of one template passes the cheap hooks: the batched calls are
    kept (not rebuilt), and the replicate runs on as a single run."""
    scenario = load_scenario("kursk-assault")
    ensemble = Ensemble(scenario, [1, 2, 3], events=False)
    ensemble.step()
    names = list(ensemble.names)
    kept = {name: ensemble.calls[names.index(name)] for name in ("movement", "direct_fire")}
    assert all(call is not None for call in kept.values())
    ensemble.reset(1, 11)
    for name, call in kept.items():
        assert ensemble.calls[names.index(name)] is call
    results = ensemble.run()
    single = Sim(scenario, 11, events=False).run()
    assert results[1].summary == single.summary
    assert results[1].timeseries.equals(single.timeseries)
