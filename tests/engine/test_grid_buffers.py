"""Neighbour grids written into buffers that movement owns (docs/engine.md, "Threads" and
"Ensembles"): the same grids as a fresh build, bit for bit, step after step, when the
buffers must grow, and for every replicate of an ensemble, with no arrays made per step."""

from __future__ import annotations

import numpy as np

from dronefront.engine.ensemble import Ensemble
from dronefront.engine.sim import Sim
from dronefront.engine.spatial import (
    GridStore,
    build_side_grids,
    empty_box,
    grid_buckets,
    grids_into,
    side_grids_into,
)
from dronefront.engine.stages.movement import Movement, MovementBatch
from dronefront.engine.state import EVACUATED, KILLED
from dronefront.scenario.loader import load_scenario


def _fresh(state):
    """Both sides' grids of ``state``'s present soldiers, built from scratch per side."""
    s = state.soldiers
    present = s.status != KILLED
    if state.care.phase.size:
        present &= state.care.phase != EVACUATED
    out = []
    for side in range(2):
        out.append(grid_buckets(s.x, s.y, present & (s.side == side), 10.0))
    return out


def _equal(grids, fresh) -> None:
    for grid, (x0, y0, nx, ny, start, items) in zip(grids, fresh, strict=True):
        assert (grid.x0, grid.y0, grid.nx, grid.ny) == (x0, y0, nx, ny)
        assert np.array_equal(grid.start, start) and np.array_equal(grid.items, items)
        assert grid.start.flags.c_contiguous and grid.items.flags.c_contiguous


def _population(n: int, seed: int, spread: float):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, spread, n)
    y = rng.normal(500.0, spread / 3, n)
    side = (rng.random(n) < 0.3).astype(np.int8)
    status = rng.integers(0, 3, n).astype(np.int8)  # 2: dead
    phase = rng.integers(0, 3, n).astype(np.int8)  # 2: gone
    return x, y, status, side, phase


def _shrunk(store: GridStore) -> GridStore:
    """``store`` with room for one cell per side: the next build must grow it."""
    store.start = tuple(np.zeros((len(store.cell_of), 3), np.int64) for _ in range(2))
    store._bind()
    return store


def test_a_store_rebuilt_many_times_and_grown_gives_fresh_grids():
    x, y, status, side, phase = _population(4000, 1, 20.0)
    store = _shrunk(GridStore([side], [build_side_grids(x, y, status, side, 2, 10.0)], 10.0))
    small = store.start[0].shape[1]
    for k, spread in enumerate((20.0, 25.0, 400.0, 30.0, 2000.0, 5.0)):
        x, y, status, _, phase = _population(4000, k + 2, spread)
        who = (x, y, status, side, phase, 2, 2)
        if side_grids_into(who, 10.0, store.rows[0], store.frames[0]):
            store.grow(0, who)
        present = (status != 2) & (phase != 2)
        fresh = [grid_buckets(x, y, present & (side == s), 10.0) for s in range(2)]
        _equal(store.grids(0), fresh)
    assert store.start[0].shape[1] > small  # the wide spreads grew the buffer


def test_movement_writes_the_grids_into_its_own_buffers_every_step():
    scenario = load_scenario("kursk-assault")
    sim = Sim(scenario, 2, events=False)
    stage = next(s for s in sim.stages if s.name == "movement")
    for _ in range(60):
        sim.step()
        grids = sim.state.grids
        _equal(grids, _fresh(sim.state))
        for side in range(2):  # views of the stage's buffers, not arrays of their own
            assert np.shares_memory(grids[side].items, stage.store.items[side])
            assert np.shares_memory(grids[side].start, stage.store.start[side])


def test_movement_grows_its_buffers_when_a_box_outgrows_them():
    scenario = load_scenario("kursk-assault")
    grown, plain = Sim(scenario, 3, events=False), Sim(scenario, 3, events=False)
    stage = next(s for s in grown.stages if s.name == "movement")
    grown.step()
    state = grown.state
    stage._bind(_shrunk(stage.store))
    assert stage.store.start[0].shape[1] < state.grids[0].nx * state.grids[0].ny
    plain.step()
    for _ in range(30):
        grown.step()
        plain.step()
        _equal(grown.state.grids, _fresh(grown.state))
    assert stage.store.start[0].shape[1] > 3  # it grew
    assert grown.run().summary == plain.run().summary


def test_an_ensembles_grids_are_views_of_its_batch_buffers():
    scenario = load_scenario("kursk-assault")
    ensemble = Ensemble(scenario, [1, 2, 3], events=False)
    k = [s.name for s in ensemble.sims[0].stages].index("movement")
    call = ensemble.calls[k]
    assert isinstance(call, MovementBatch)
    for _ in range(40):
        ensemble.step()
        for r, state in enumerate(ensemble.states):
            _equal(state.grids, _fresh(state))
            for side in range(2):
                assert np.shares_memory(state.grids[side].items, call.store.items[side][r])
    # grow every replicate's buffers mid-run: the grids stay right
    states = ensemble.states
    _shrunk(call.store)
    for _ in range(5):
        ensemble.step()
        for state in states:
            _equal(state.grids, _fresh(state))


def test_reset_of_the_movement_batch_rebinds_one_replicate():
    scenario = load_scenario("kursk-assault")
    ensemble = Ensemble(scenario, [1, 2], events=False)
    k = [s.name for s in ensemble.sims[0].stages].index("movement")
    call = ensemble.calls[k]
    for _ in range(10):
        ensemble.step()
    stage, state = ensemble.sims[1].stages[k], ensemble.states[1]
    for s in ensemble.states:  # read: the store makes both replicates' grid arrays
        assert s.grids is not None
    assert call.reset(1, stage, state) is True
    assert call.store._held[1] is None and call.store._held[0] is not None
    ensemble.step()
    _equal(ensemble.states[1].grids, _fresh(ensemble.states[1]))
    # another scenario's movement constants: the hook answers False (the ensemble then
    # builds the batched call again)
    other = Sim(load_scenario("swarm-breach"), 1).state
    assert call.reset(1, Movement(other), other) is False


def test_growing_compiles_nothing_that_the_set_up_did_not():
    from dronefront.engine.spatial import _widen

    state = Sim(load_scenario("kursk-assault"), 1).state  # set-up builds the first grids
    kernels = (grids_into, _widen, empty_box)
    before = [len(k.signatures) for k in kernels]
    s = state.soldiers
    who = (s.x, s.y, s.status, s.side, state.care.phase, KILLED, EVACUATED)
    store = _shrunk(GridStore([s.side], [state.grids], 10.0))
    assert side_grids_into(who, 10.0, store.rows[0], store.frames[0]) == 1
    store.grow(0, who)
    _equal(store.grids(0), _fresh(state))
    assert [len(k.signatures) for k in kernels] == before


def test_a_batched_step_makes_no_grid_nobody_reads_and_a_read_gives_the_single_runs(
        monkeypatch):
    # movement's batched call lends every replicate's grids to its store: a Grid is made
    # only where something reads state.grids (per-replicate Python paths), and what a read
    # gives is exactly the grids the single run has at that step
    from dronefront.engine import batch, spatial

    made = [0]
    reads: list[int] = []

    class Counted(spatial.Grid):
        def __new__(cls, *fields):
            made[0] += 1
            return super().__new__(cls, *fields)

    original = spatial.Lent.grids

    def read(self):
        reads.append(self.r)
        return original(self)

    monkeypatch.setattr(spatial, "Grid", Counted)
    monkeypatch.setattr(spatial.Lent, "grids", read)
    scenario = load_scenario("kursk-assault", ["duration=600"])
    seeds = [1, 2, 3, 4]
    ensemble = Ensemble(scenario, seeds, events=False)
    assert "movement" in ensemble.batched
    sims = [Sim(scenario, seed, events=False) for seed in seeds]
    unread = 0
    for step in range(ensemble.steps):
        made[0], reads[:] = 0, []
        ensemble.step()
        assert made[0] == 2 * len(reads)  # a pair per read, nothing else
        unread += len(seeds) - len(set(reads))
        for sim in sims:
            sim.step()
        if step % 7:
            continue
        for state, sim in zip(ensemble.states, sims, strict=True):
            got = state.grids
            assert state.grids is got  # made once, then kept until the next movement call
            for g, w in zip(got, sim.state.grids, strict=True):
                assert tuple(g[:5]) == tuple(w[:5])
                assert [type(v) for v in g[:5]] == [type(v) for v in w[:5]]
                assert np.array_equal(g.start, w.start) and np.array_equal(g.items, w.items)
        # read or not, the states' grids are still the store's: consumers read it in place
        assert len(batch.packed_grids(ensemble.states)) == 6
    # most replicate-steps read no grid at all (kursk-assault: blasts, care and targeting
    # are the per-replicate readers)
    assert unread > ensemble.steps * len(seeds) // 2
    assert [r.summary for r in ensemble.results()] == [s.result().summary for s in sims]


def test_a_restarted_replicates_fresh_grids_are_lent_to_the_store_like_the_others():
    # Ensemble.reset builds fresh grids for the restarted replicate; the movement call's
    # reset hook copies them into the store and lends them, so care (before the next
    # movement call) still reads every replicate's grids in place, and they are the
    # fresh run's grids
    from dronefront.engine import batch

    scenario = load_scenario("kursk-assault")
    ensemble = Ensemble(scenario, [1, 2, 3], events=False)
    for _ in range(25):
        ensemble.step()
    ensemble.reset(1, 9)
    assert len(batch.packed_grids(ensemble.states)) == 6
    want = Sim(scenario, 9, events=False).state.grids
    for g, w in zip(ensemble.states[1].grids, want, strict=True):
        assert tuple(g[:5]) == tuple(w[:5])
        assert np.array_equal(g.start, w.start) and np.array_equal(g.items, w.items)
    assert len(batch.packed_grids(ensemble.states)) == 6  # read, still lent
