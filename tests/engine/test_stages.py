"""Each stage pinned by one exact case on a tiny state (tests/engine/stage_builder.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronefront.engine.events import EventLog
from dronefront.engine.spatial import GRID_CELL, build_side_grids
from dronefront.engine.stages.artillery import Artillery
from dronefront.engine.stages.counterdrone import CounterDrone
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.drones import Jamming
from dronefront.engine.stages.movement import Movement
from dronefront.engine.state import (
    ATTACK,
    CRASHED,
    FLYING,
    HEALTHY,
    IDLE,
    KILLED,
    SHOT_DOWN,
    State,
)
from tests.engine.stage_builder import events_of, small_state


def _regrid(state: State) -> None:
    s = state.soldiers
    state.grids = build_side_grids(s.x, s.y, s.status, s.side, KILLED, GRID_CELL)


def _fly(state: State, slot: int, x: float, y: float) -> None:
    """Put the airframe of ``slot`` in the air at ``(x, y)`` as if just launched."""
    d = state.drones
    d.state[slot], d.phase[slot] = FLYING, ATTACK
    d.x[slot], d.y[slot] = x, y
    d.sortie[slot] = state.next_sortie
    d.battery_end[slot] = 10**6
    state.next_sortie += 1


def test_a_blast_kills_everyone_inside_its_kill_one_ring_and_no_one_outside():
    state = small_state()
    s = state.soldiers
    s.x[:] = np.arange(10) * 3.0  # 0, 3, ..., 27 m east of the blast
    s.y[:] = 0.0
    _regrid(state)
    rings = np.array([[[10.0, 1.0, 0.0]]])  # one ring: 10 m, kill 1
    log = EventLog()
    n = resolve_blasts(state, log, np.array([0.0]), np.array([0.0]), rings,
                       np.array([7]), np.array([0]), np.array([0.0]), "damage.test")
    inside = s.x <= 10.0
    assert n == int(inside.sum()) == 4
    assert (s.status[inside] == KILLED).all() and (s.status[~inside] == HEALTHY).all()
    assert (s.cause[inside] == 0).all() and (s.cause[~inside] == -1).all()
    assert state.casualty_epoch == 1
    assert sorted(e["target"] for e in events_of(log, state, "casualty")) == [0, 1, 2, 3]


def test_an_anchor_advances_by_pace_times_dt_along_its_route():
    state = small_state(sides={"attacker": {"units": [{
        "name": "platoon", "count": 10, "start": [0.0, 0.0], "posture": "moving",
        "waypoints": [[0.0, 1000.0]], "doctrine": {"formation": "line", "spacing": 2.0,
                                                   "pace": 1.5}}]}})
    p = state.platoons
    ax, ay = p.ax[0], p.ay[0]
    Movement(state)(state, EventLog())
    step_length = p.pace[0] * state.terrain.movement[state.terrain.default] * state.dt
    assert step_length == pytest.approx(3.0)  # 1.5 m/s on open ground, 2 s
    assert p.ax[0] == ax
    assert p.ay[0] - ay == pytest.approx(step_length, rel=1e-12)
    assert p.advanced[0] == pytest.approx(step_length, rel=1e-12)
    # the grids handed to later stages index the soldiers where they now stand
    assert sorted(state.grids[0].items.tolist()) == list(range(10))


def test_a_shell_lands_after_its_latency_and_not_before():
    latency = 30.0  # seconds: 15 steps of 2 s
    state = small_state(sides={"defender": {"batteries": [{
        "name": "guns", "position": [0.0, -5000.0], "latency": latency, "rounds": 1,
        "rounds_per_mission": 1, "min_group": 1}]}})
    tr = state.tracks
    tr.x[1, 0], tr.y[1, 0], tr.n[1, 0], tr.step[1, 0] = 0.0, 0.0, 10, 0
    stage, log = Artillery(state), EventLog()
    fell_at = []
    for step in range(30):
        state.step = step
        before = int(state.counters.shells[1])
        stage(state, log)
        if state.counters.shells[1] > before:
            fell_at.append(step)
    assert [e["step"] for e in events_of(log, state, "call_for_fire")] == [0]
    assert fell_at == [int(latency / state.dt)]
    assert [e["step"] for e in events_of(log, state, "shell")] == fell_at


def test_a_radio_link_is_lost_just_past_its_range_and_kept_just_inside():
    state = small_state(sides={"defender": {"teams": [{
        "drone": "test_fpv", "count": 2, "position": [0.0, 3000.0], "inventory": 2}]}})
    link = state.types.link_range[state.drones.dtype[0]]
    _fly(state, 0, 0.0, 3000.0 - link * 1.001)  # past its range
    _fly(state, 1, 0.0, 3000.0 - link * 0.999)  # inside it
    log = EventLog()
    Jamming(state)(state, log)
    d = state.drones
    assert d.state.tolist() == [IDLE, FLYING]
    assert state.counters.fates[1, d.dtype[0], CRASHED] == 1
    (crash,) = events_of(log, state, "crash")
    assert crash["cause"] == "link_range" and crash["actor"] == d.sortie[0]


@pytest.mark.parametrize("seed", range(1, 41))  # a miss on any seed means p < 1
def test_a_shot_with_hit_probability_one_brings_the_drone_down(seed):
    state = small_state(
        seed,
        counter_drone={"fire": "per_step", "detect_prob": 1.0, "range_falloff": 0.0,
                       "reference_speed": 50.0},
        sides={"attacker": {"units": [{
            "name": "platoon", "count": 10, "start": [0.0, 0.0], "posture": "halted",
            "doctrine": {"formation": "line", "spacing": 2.0, "drill": ["engage"],
                         "shooters": 1},
            "skills": {"marksmanship": 1.0}}]},
            "defender": {"teams": [{"drone": "test_fpv", "count": 1,
                                    "position": [0.0, 500.0]}]}},
    )
    _fly(state, 0, 0.0, 10.0)
    log = EventLog()
    CounterDrone(state)(state, log)
    d = state.drones
    assert d.state[0] == IDLE
    assert state.counters.fates[1, d.dtype[0], SHOT_DOWN] == 1
    assert state.counters.shots[0] == 1  # the one shooter fired once
    assert [e["actor"] for e in events_of(log, state, "shoot_down")] == [0]
    assert math.isclose(events_of(log, state, "shot")[0]["value"], 1.0)


def _two_platoons(drill: tuple[str, ...] = ("freeze",), **counter_drone) -> State:
    """Platoon 0 at the origin, platoon 1 (drill: freeze) 200 m east, an enemy FPV flying
    10 m from platoon 0 and 190 m from platoon 1 (out of its soldiers' 100 m reach)."""
    unit = {"count": 10, "posture": "moving",
            "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5,
                         "drill": list(drill)}}
    state = small_state(
        counter_drone={"detect_prob": 1.0, "warning_delay": 10.0, **counter_drone},
        sides={"attacker": {"units": [{"name": "a", "start": [0.0, 0.0], **unit},
                                      {"name": "b", "start": [200.0, 0.0], **unit}]},
               "defender": {"teams": [{"drone": "test_fpv", "count": 1,
                                       "position": [0.0, 500.0]}]}},
    )
    _fly(state, 0, 0.0, 10.0)
    return state


def test_a_warning_starts_a_neighbours_drill_after_the_delay_and_not_before():
    state = _two_platoons(warning_radius=300.0)
    stage, log, p = CounterDrone(state), EventLog(), state.platoons
    freeze_steps = math.ceil(60.0 / state.dt)
    for step in range(6):  # the 10 s delay is 5 steps of 2 s
        state.step = step
        stage(state, log)
        assert p.frozen_until[0] == freeze_steps  # platoon 0 froze on its own contact
        assert p.frozen_until[1] == (5 + freeze_steps if step >= 5 else -1)
    (warned,) = events_of(log, state, "warned")
    assert (warned["step"], warned["platoon"], warned["actor"]) == (5, 1, 0)
    assert state.warnings.shape == (4, 0)  # delivered once, then gone
    assert list(state.contacts) == [0 * 2 + 0]  # a warning is not a contact: no fire, no sight


@pytest.mark.parametrize(("radius", "drill"), [(0.0, ("freeze",)), (199.0, ("freeze",)),
                                               (300.0, ("engage",))])
def test_no_warning_beyond_the_radius_with_warnings_off_or_to_a_drill_that_only_fires(
        radius, drill):
    state = _two_platoons(drill, warning_radius=radius)
    stage, log = CounterDrone(state), EventLog()
    for step in range(10):
        state.step = step
        stage(state, log)
    assert state.platoons.frozen_until[1] == -1
    assert events_of(log, state, "warned") == []


def test_a_warning_about_a_drone_already_down_is_dropped():
    state = _two_platoons(warning_radius=300.0)
    stage, log = CounterDrone(state), EventLog()
    stage(state, log)
    state.drones.state[0] = IDLE  # the sortie ended before the warning arrived
    for step in range(1, 8):
        state.step = step
        stage(state, log)
    assert state.platoons.frozen_until[1] == -1
    assert state.warnings.shape == (4, 0)
