"""Movement's fast paths (docs/engine.md, "Where the time goes"): a plain march, soldiers
indexed directly where a platoon's members are contiguous, and the grid count and scatter
with run-length cursors, each against the general path it stands in for, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.sim import Sim
from dronefront.engine.spatial import build_side_grids, grid_buckets
from dronefront.engine.stages.movement import CATCH_UP, Movement
from dronefront.engine.state import HEALTHY, KILLED, State
from dronefront.scenario.loader import load_scenario


def _state(seed: int) -> State:
    """A reference model of 300 soldiers mid-march: some off their slots (so some cannot
    reach them this step), some killed, some holding, some wounded."""
    scenario = load_scenario("reference-open-field", ["parameters.N=300"])
    state = Sim(scenario, seed, events=False).state
    s = state.soldiers
    rng = np.random.default_rng(seed)
    n = len(s.x)
    s.x[:] += rng.normal(0.0, 2.0, n)
    s.y[:] += rng.normal(0.0, 2.0, n)
    s.status[rng.random(n) < 0.1] = KILLED
    s.status[rng.random(n) < 0.05] = 1  # wounded: stays put, still in the grids
    s.holding[rng.random(n) < 0.1] = True
    state.step = 7
    return state


def _run(state: State, stage: Movement) -> None:
    stage.__call__(state, None)  # type: ignore[arg-type]


def _moved(state: State) -> tuple:
    s, p = state.soldiers, state.platoons
    return (s.x.copy(), s.y.copy(), s.posture.copy(), s.holding.copy(), p.lag.copy(),
            p.movers.copy())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_plain_march_matches_the_general_loop(seed):
    """A platoon 'dispersing' by a factor of 1 at a sprint equal to the catch-up factor
    takes the general loop and does exactly what a plain march does."""
    plain, general = _state(seed), _state(seed)
    general.platoons.dispersed_until[:] = general.step + 5
    general.platoons.disperse_factor[:] = 1.0
    stage_plain, stage_general = Movement(plain), Movement(general)
    stage_general.gaits[0] = CATCH_UP
    _run(plain, stage_plain)
    _run(general, stage_general)
    for a, b in zip(_moved(plain), _moved(general), strict=True):
        assert np.array_equal(a, b)
    assert (plain.platoons.lag > 0).any()  # some soldiers could not reach their slots
    for g, h in zip(plain.grids, general.grids, strict=True):
        assert np.array_equal(g.start, h.start) and np.array_equal(g.items, h.items)


def test_soldiers_out_of_platoon_order_move_as_in_order():
    """Soldiers listed out of platoon order (members gathered through the roster) move
    exactly as the same soldiers listed platoon by platoon (indexed directly)."""
    ordered = _state(4)
    shuffled = _state(4)
    n = len(ordered.soldiers.x)
    perm = np.random.default_rng(0).permutation(n)
    s = shuffled.soldiers
    for name in s._fields:
        column = getattr(s, name)
        if isinstance(column, np.ndarray) and column.shape[:1] == (n,):
            column[:] = column[perm]
    stage_ordered, stage_shuffled = Movement(ordered), Movement(shuffled)
    members = stage_shuffled.roster[0]
    assert not np.array_equal(members, np.arange(n))
    assert np.array_equal(stage_ordered.roster[0], np.arange(n))
    _run(ordered, stage_ordered)
    _run(shuffled, stage_shuffled)
    a, b = _moved(ordered), _moved(shuffled)
    for column_a, column_b in zip(a[:4], b[:4], strict=True):
        assert np.array_equal(column_a[perm], column_b)
    # a platoon's lag is summed in its members' order, which the shuffle changes
    assert np.allclose(a[4], b[4], rtol=1e-12, atol=0.0) and (a[4] > 0).any()
    assert np.array_equal(a[5], b[5])


def test_runs_of_one_cell_and_revisited_cells_are_bucketed_as_a_fresh_build():
    """Neighbours in index order sharing a cell, cells left and come back to, both sides
    interleaved and absent soldiers between: the grids are those of a per-side build."""
    rng = np.random.default_rng(5)
    n = 4000
    # runs of 1 to 8 soldiers in one spot, spots revisited at random
    spots = rng.uniform(0, 120, (40, 2))
    pick = rng.integers(0, 40, n)
    runs = np.repeat(rng.integers(0, 40, n // 3), rng.integers(1, 9, n // 3))[:n]
    pick[:runs.size] = runs
    x = spots[pick, 0] + rng.uniform(0, 3, n)
    y = spots[pick, 1] + rng.uniform(0, 3, n)
    side = (rng.random(n) < 0.3).astype(np.int8)
    side[: n // 2] = np.repeat(rng.integers(0, 2, n // 16), 8)[: n // 2].astype(np.int8)
    status = np.where(rng.random(n) < 0.1, KILLED, HEALTHY).astype(np.int8)
    grids = build_side_grids(x, y, status, side, KILLED, 10.0)
    for s, grid in enumerate(grids):
        x0, y0, nx, ny, start, items = grid_buckets(x, y, (status != KILLED) & (side == s),
                                                    10.0)
        assert (grid.x0, grid.y0, grid.nx, grid.ny) == (x0, y0, nx, ny)
        assert np.array_equal(grid.start, start) and np.array_equal(grid.items, items)

