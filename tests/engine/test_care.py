"""Casualty care and the weighted targeting policy (engine/stages/care.py, targeting.py,
docs/model.md §8.6 and §11b): exact cases on a tiny state, event checks over seeds."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.events import EventLog
from dronefront.engine.sim import Sim
from dronefront.engine.spatial import Grid
from dronefront.engine.stages.care import CasualtyCare
from dronefront.engine.stages.movement import Movement
from dronefront.engine.stages.targeting import Scoring, acquire
from dronefront.engine.state import (
    EVACUATED,
    HALTED,
    HEALTHY,
    KILLED,
    MOVING,
    READY,
    WEIGHTED,
    WOUNDED,
    Bodies,
    columns,
)
from dronefront.scenario.loader import load_scenario
from tests.engine.stage_builder import events_of, small_state

ROUTE = {"sides": {"attacker": {"units": [{
    "name": "platoon", "count": 10, "start": [0.0, 0.0], "waypoints": [[0.0, 1000.0]],
    "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5},
}]}}}


def _caring(mode: str, **care) -> dict:
    unit = dict(ROUTE["sides"]["attacker"]["units"][0])
    unit["doctrine"] = {**unit["doctrine"], "casualty_care": {"mode": mode, **care}}
    return {"sides": {"attacker": {"units": [unit]}}}


def _steps(state, stages, n, log=None):
    log = log if log is not None else EventLog()
    for _ in range(n):
        for stage in stages:
            stage(state, log)
        state.step += 1
    return log


def test_the_wounded_stop_where_they_fell():
    state = small_state(**ROUTE)
    s = state.soldiers
    s.status[3] = WOUNDED
    x0, y0 = s.x.copy(), s.y.copy()
    _steps(state, [CasualtyCare(state), Movement(state)], 10)
    assert (s.x[3], s.y[3]) == (x0[3], y0[3])
    assert np.all(s.y[np.arange(10) != 3] > y0[np.arange(10) != 3] + 10.0)


def test_treat_helpers_leave_the_advance_go_to_the_casualty_and_kneel():
    # dt 2 s, pace 1.5 m/s: the nearest comrades (2 m away) reach him in the first step
    state = small_state(**_caring("treat", helpers=2, treat_time=20.0, evacuation_rate=0.0))
    s, care = state.soldiers, state.care
    stages = [CasualtyCare(state), Movement(state)]
    s.status[4] = WOUNDED
    state.casualty_epoch += 1  # as the damage stages do: care sends helpers after a fall
    _steps(state, stages, 1)
    helpers = np.flatnonzero(care.helping == 4)
    assert sorted(helpers.tolist()) == [3, 5]  # the two nearest, ties to the lower index
    assert np.all(s.x[helpers] == s.x[4]) and np.all(s.y[helpers] == s.y[4])
    assert np.all(s.posture[helpers] == HALTED)
    _steps(state, stages, 8)  # 18 s of treatment: still at it, the platoon moves on
    assert care.phase[4] != READY and np.all(care.helping[helpers] == 4)
    assert np.all(s.y[helpers] == s.y[4])
    others = np.setdiff1d(np.arange(10), [3, 4, 5])
    assert np.all(s.y[others] > s.y[4] + 15.0)
    _steps(state, stages, 1)  # 20 s: done, the helpers go back to their places
    assert care.phase[4] == READY and np.all(care.helping == -1)
    _steps(state, stages, 1)
    assert np.all(s.posture[helpers] == MOVING) and np.all(s.y[helpers] > s.y[4])
    assert care.phase[4] == READY  # no evacuation capacity: he waits


def test_drag_moves_casualty_and_helpers_to_the_collection_point_then_evacuates():
    state = small_state(**_caring("drag", helpers=1, drag_speed=1.0, evacuation_rate=30.0,
                                  collection_point=[0.0, -20.0]))
    s, care = state.soldiers, state.care
    stages = [CasualtyCare(state), Movement(state)]
    s.status[0] = WOUNDED
    state.casualty_epoch += 1
    log = _steps(state, stages, 3)
    helper = int(np.flatnonzero(care.helping == 0)[0])
    assert s.y[0] < 0.0 and s.y[helper] == s.y[0]  # dragged south, together
    log = _steps(state, stages, 20, log)
    assert care.phase[0] == EVACUATED and care.helping[helper] == -1
    assert (s.x[0], s.y[0]) == (0.0, -20.0)
    assert 0 not in state.grids[0].items.tolist()  # off the field
    assert s.status[0] == WOUNDED
    evac = events_of(log, state, "evacuated")
    assert [e["target"] for e in evac] == [0]


def test_helpers_are_released_when_the_casualty_dies():
    state = small_state(**_caring("treat", treat_time=100.0))
    s, care = state.soldiers, state.care
    stages = [CasualtyCare(state), Movement(state)]
    s.status[2] = WOUNDED
    state.casualty_epoch += 1
    _steps(state, stages, 2)
    assert (care.helping == 2).sum() == 1
    s.status[2] = KILLED
    state.casualty_epoch += 1
    _steps(state, stages, 1)
    assert np.all(care.helping == -1)


def _pick(policy: int, weights: list[float]) -> tuple[int, object]:
    """A wounded soldier at the origin among three upright ones bunched 2 m north of him;
    one lone upright soldier 3 m south. Which does a drone right above pick?"""
    state = small_state()
    s = state.soldiers
    s.x[:] = 500.0  # out of reach
    s.y[:] = 500.0
    s.x[:5] = [0.0, 0.0, 1.0, -1.0, 0.0]
    s.y[:5] = [0.0, 2.0, 2.0, 2.0, -3.0]
    s.status[0] = WOUNDED
    s.posture[:] = MOVING
    from dronefront.engine.spatial import build_side_grids
    g0, _ = build_side_grids(s.x, s.y, s.status, s.side, KILLED, 10.0)
    scoring = Scoring(value=state.platoons.value, weights=np.array([weights]),
                      last_shot=np.empty(0, np.int32))
    b = columns(Bodies, s)
    pick = acquire(0.0, 0.0, 50.0, policy, 10.0, np.ones(s.n), Bodies(*b), scoring,
                   Grid(*g0), (1, 0, 0), (np.empty(0), np.empty(0), 0, 0.0))
    return pick, state


def test_weighted_spares_the_fallen_at_weight_zero_and_may_strike_them_above():
    #            moving still prone shooting fallen bunched memory
    spare = [1.0, 0.5, 0.25, 1.0, 0.0, 0.25, 6.0]
    pick, _ = _pick(WEIGHTED, spare)
    assert pick in (1, 2, 3)  # the bunched upright men, not the wounded one nearest
    prey = [1.0, 0.5, 0.25, 1.0, 10.0, 0.25, 6.0]
    pick, _ = _pick(WEIGHTED, prey)
    assert pick == 0
    lone = [1.0, 0.5, 0.25, 1.0, 0.0, 0.0, 6.0]  # no bunching weight: all upright tie
    pick, _ = _pick(WEIGHTED, lone)
    assert pick == 1  # the nearest upright man (2 m), not the lone one (3 m)


def _strikes_on_wounded(sets: list[str], seeds: range) -> tuple[int, int]:
    """(strikes and bombs, of which at a soldier already wounded), over ``seeds``."""
    spec = load_scenario("kursk-assault", sets)
    total = on_wounded = 0
    for seed in seeds:
        rows = Sim(spec, seed=seed).run().events.to_pylist()
        wounded: set[int] = set()
        for e in rows:
            if e["side"] == "attacker" and e["kind"] == "casualty" and e["value"] == WOUNDED:
                wounded.add(e["target"])
            elif e["side"] == "defender" and e["kind"] in ("strike", "bomb"):
                total += 1
                on_wounded += e["target"] in wounded
    return total, on_wounded


def test_with_fallen_weight_zero_no_strike_or_bomb_targets_a_wounded_soldier():
    # kursk-assault: FPV teams weighted with fallen 0, the bomber densest (upright only)
    total, on_wounded = _strikes_on_wounded([], range(1, 9))
    assert total > 100 and on_wounded == 0


def test_with_a_positive_fallen_weight_some_strikes_target_the_wounded():
    sets = [f"sides.defender.teams.{k}.weights.fallen=2" for k in (2, 3)]
    total, on_wounded = _strikes_on_wounded(sets, range(1, 9))
    assert total > 100 and on_wounded >= 5


def test_the_evacuated_are_never_struck_again_nor_hit():
    spec = load_scenario("kursk-assault")
    evacuated_total = 0
    for seed in range(1, 9):
        result = Sim(spec, seed=seed).run()
        gone: set[int] = set()
        for e in result.events.to_pylist():
            if e["kind"] == "evacuated":
                gone.add(e["target"])
            elif e["kind"] in ("strike", "bomb", "casualty", "launch", "miss"):
                assert e["target"] not in gone, (seed, e)
        evacuated_total += len(gone)
        assert result.summary["sides"]["attacker"]["evacuated"] == len(gone)
        phase = result.state.care.phase
        assert np.all(result.state.soldiers.status[phase == EVACUATED] == WOUNDED)
    assert evacuated_total > 20


def _same(a, b) -> bool:
    """Tables equal value for value (NaN equal to NaN, as pandas compares)."""
    return a.to_pandas().equals(b.to_pandas())


def test_care_runs_are_deterministic():
    spec = load_scenario("kursk-assault")
    a, b = Sim(spec, seed=5).run(), Sim(spec, seed=5).run()
    assert a.summary == b.summary
    assert _same(a.events, b.events) and _same(a.timeseries, b.timeseries)


def test_care_off_leaves_the_run_unchanged_whatever_its_parameters():
    base = "sides.attacker.units.0.doctrine.casualty_care"
    off = load_scenario("kursk-assault", [f"{base}.mode=none"])
    tuned = load_scenario("kursk-assault", [f"{base}.mode=none", f"{base}.helpers=4",
                                            f"{base}.radius=80", f"{base}.evacuation_rate=9"])
    a, b = Sim(off, seed=3).run(), Sim(tuned, seed=3).run()
    assert _same(a.events, b.events) and a.summary == b.summary
    assert a.summary["sides"]["attacker"]["evacuated"] == 0
    assert a.state.care.helping.size == 0  # no care columns at all


@pytest.mark.parametrize("mode", ["treat", "drag"])
def test_caring_costs_the_helpers_exposure_and_saves_wounded_from_a_second_strike(mode):
    """Over 80 seeds: with care the wounded are evacuated and fewer of the killed had been
    wounded before (they are taken out of the beaten zone); without it none leave. (Shells
    and bombs kill 12-16 % of the men they hit (model.md §11), so a second strike on a
    wounded man kills less often than it did, and treating, which keeps the wounded where
    they lie for a while, saves ~4 of ~29 a run: 80 seeds give the 3-SE rule its power.)"""
    base = "sides.attacker.units.0.doctrine.casualty_care.mode"
    rows = {}
    for m in ("none", mode):
        spec = load_scenario("kursk-assault", [f"{base}={m}"])
        rows[m] = np.array([[a["killed_after_wounded"], a["evacuated"]] for a in (
            Sim(spec, seed=seed, events=False).run().summary["sides"]["attacker"]
            for seed in range(1, 81))], float)
    assert rows["none"][:, 1].sum() == 0
    assert rows[mode][:, 1].mean() > 5.0
    diff = rows["none"][:, 0] - rows[mode][:, 0]
    assert diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_killed_after_wounded_counts_soldiers_killed_while_wounded():
    state = small_state()
    care = state.care
    s = state.soldiers
    s.status[[1, 2]] = KILLED
    care.wounded_step[2] = 0  # wounded first, killed later
    s.status[3] = WOUNDED
    care.wounded_step[3] = 0
    from dronefront.engine.result import summarize
    side = summarize(state, 1)["sides"]["attacker"]
    assert side["killed_after_wounded"] == 1 and side["killed"] == 2
    assert s.status[0] == HEALTHY
