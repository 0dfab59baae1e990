"""Suppression, going to ground and platoon cohesion (engine/stages/morale.py, docs/model.md
§11a): exact cases on a tiny state, and the direction of the effect over seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronefront.engine.events import EventLog
from dronefront.engine.formulas import exposure, visibility
from dronefront.engine.rng import uniform
from dronefront.engine.sim import Sim
from dronefront.engine.spatial import GRID_CELL, build_side_grids
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.morale import Morale
from dronefront.engine.stages.movement import CATCH_UP, Movement
from dronefront.engine.state import (
    HEALTHY,
    KILLED,
    MOVING,
    PRONE,
    SHOCK_BLAST,
    WOUNDED,
    State,
)
from dronefront.scenario.loader import load_scenario
from tests.conftest import mean_se
from tests.engine.stage_builder import events_of, small_scenario, small_state

ROUTE = {"sides": {"attacker": {"units": [{
    "name": "platoon", "count": 10, "start": [0.0, 0.0], "waypoints": [[0.0, 1000.0]],
    "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5},
}]}}}


def _regrid(state: State) -> None:
    s = state.soldiers
    state.grids = build_side_grids(s.x, s.y, s.status, s.side, KILLED, GRID_CELL)


def test_a_blast_suppresses_by_distance_and_suppression_decays_with_tau():
    state = small_state(**ROUTE)  # radius 30 m, blast weight 1, tau 60 s, dt 2 s
    s = state.soldiers
    s.x[:] = np.arange(10) * 5.0  # 0, 5, ..., 45 m east of the blast
    s.y[:] = 0.0
    _regrid(state)
    morale = Morale(state)
    state.shocks.append((np.array([0.0]), np.array([0.0]), SHOCK_BLAST))
    morale(state, EventLog())
    expected = np.maximum(0.0, 1.0 - s.x / 30.0)
    np.testing.assert_allclose(s.suppression, expected, rtol=1e-12)
    assert state.platoons.shaken[0] == int((expected > 0.5).sum()) == 3  # 0, 5, 10 m
    assert state.shocks == []
    morale(state, EventLog())  # no new event: only decay
    np.testing.assert_allclose(s.suppression, expected * math.exp(-2.0 / 60.0), rtol=1e-12)


def test_a_suppressed_soldier_goes_prone_and_crawls_the_rest_march_on():
    state = small_state(**ROUTE)
    s = state.soldiers
    s.suppression[:5] = 0.9  # above the threshold 0.5
    state.platoons.shaken[0] = 5  # as the morale stage counts them
    x0, y0 = s.x.copy(), s.y.copy()
    Movement(state)(state, EventLog())
    moved = np.hypot(s.x - x0, s.y - y0)
    assert (s.posture[:5] == PRONE).all() and (s.posture[5:] == MOVING).all()
    # Every soldier heads for his slot (ahead by a step of the anchor); a crawler covers
    # crawl (0.2) times a walker's catching-up reach, a walker reaches his slot.
    reach = 1.5 * CATCH_UP * 2.0 * state.terrain.movement[s.terrain[0]]
    np.testing.assert_allclose(moved[:5], 0.2 * reach, rtol=1e-12)
    assert (moved[5:] > 0.2 * reach + 1.0).all()


def test_a_prone_soldier_is_harder_to_see_and_to_hit():
    state = small_state()
    s = state.soldiers
    s.x[:] = np.arange(10) * 0.5
    s.y[:] = 0.0
    s.posture[:5] = PRONE
    _regrid(state)
    cover = state.terrain.cover[s.terrain]
    conceal = state.terrain.concealment[s.terrain]
    standing = visibility(conceal[0], state.posture_concealment[MOVING], 0.0)
    assert visibility(conceal[0], state.posture_concealment[PRONE], 0.0) == pytest.approx(
        standing * (1 - 0.4))
    rings = np.array([[[10.0, 1.0, 0.0]]])  # kills everyone standing within 10 m
    resolve_blasts(state, EventLog(), np.array([0.0]), np.array([0.0]), rings,
                   np.array([3]), np.array([0]), np.array([0.0]), "damage.test")
    key = state.streams["damage.test"]
    f = exposure(cover[0], state.posture_protection[PRONE], 1.0)
    assert f == pytest.approx(0.6 * (1 - cover[0]))
    survives = [uniform(key, 0, 3, j) >= f for j in range(5)]
    assert ((s.status[:5] == HEALTHY) == survives).all()
    assert (s.status[5:] == KILLED).all()


def _broken_at(losses: int, on_break: str = "halt") -> tuple[State, float, float]:
    """A marching platoon (breakpoint 0.3 of 10) after ``losses`` wounded and 20 steps."""
    spec = {"sides": {"attacker": {"units": [{
        **ROUTE["sides"]["attacker"]["units"][0],
        "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5, "on_break": on_break},
    }]}}}
    state = small_state(**spec)
    movement, morale = Movement(state), Morale(state)
    for _ in range(10):  # march 10 steps first
        movement(state, EventLog())
        state.step += 1
    state.soldiers.status[:losses] = WOUNDED
    state.casualty_epoch += 1
    log = EventLog()
    morale(state, log)
    ax, ay = state.platoons.ax[0], state.platoons.ay[0]
    for _ in range(20):
        movement(state, log)
        morale(state, log)
        state.step += 1
    return state, ax, ay


def test_a_platoon_past_its_breakpoint_stops_advancing_one_short_of_it_marches_on():
    broken, ax, ay = _broken_at(3)
    assert broken.platoons.broken[0]
    assert (broken.platoons.ax[0], broken.platoons.ay[0]) == (ax, ay)
    intact, ax2, ay2 = _broken_at(2)
    assert not intact.platoons.broken[0]
    assert intact.platoons.ay[0] == pytest.approx(ay2 + 20 * 1.5 * 2.0)


def test_a_broken_platoon_goes_to_ground_or_withdraws_as_its_doctrine_says():
    grounded, ax, ay = _broken_at(3, "ground")
    healthy = grounded.soldiers.status == HEALTHY
    assert (grounded.soldiers.posture[healthy] == PRONE).all()
    assert grounded.platoons.ay[0] == ay
    back, ax, ay = _broken_at(3, "withdraw")
    assert back.platoons.ay[0] == pytest.approx(max(ay - 20 * 1.5 * 2.0, 0.0))


def test_breaking_is_logged_once():
    spec = {"sides": {"attacker": {"units": [ROUTE["sides"]["attacker"]["units"][0]]}}}
    state = small_state(**spec)
    morale, log = Morale(state), EventLog()
    state.soldiers.status[:4] = WOUNDED
    state.casualty_epoch += 1
    morale(state, log)
    state.soldiers.status[4] = KILLED
    state.casualty_epoch += 1
    morale(state, log)
    assert [e["platoon"] for e in events_of(log, state, "break")] == [0]


def _duel(enabled: bool, seed: int) -> int:
    """Two halted companies 200 m apart trading aimed fire for 200 s (before either side is
    mostly down, which would hide any difference); casualties of both."""
    unit = {"count": 60, "platoon_size": 30, "posture": "halted",
            "doctrine": {"formation": "line", "spacing": 5.0, "breakpoint": 1.0},
            "direct_fire": {"rate": 6, "kill_prob": 0.02, "wound_prob": 0.04, "range": 400}}
    spec = small_scenario(
        duration=200.0, suppression={"enabled": enabled},
        sides={"attacker": {"units": [{**unit, "name": "a", "start": [0.0, 0.0]}]},
               "defender": {"units": [{**unit, "name": "d", "start": [0.0, 200.0]}]}},
    )
    sides = Sim(spec, seed=seed, events=False).run().summary["sides"]
    return sides["attacker"]["casualties"] + sides["defender"]["casualties"]


@pytest.mark.slow
def test_suppression_cuts_casualties_of_a_firefight_by_more_than_three_se():
    """Casualties nearby put soldiers down, and soldiers down neither shoot nor stand to be
    hit: the same seeds with suppression on lose fewer men."""
    seeds = range(1, 21)
    on = mean_se([_duel(True, seed) for seed in seeds])
    off = mean_se([_duel(False, seed) for seed in seeds])
    gap = off[0] - on[0]
    assert gap > 3 * math.hypot(on[1], off[1]), (on, off)


@pytest.mark.slow
def test_kursk_assault_platoons_break_and_not_every_seed_loses_every_attacker():
    spec = load_scenario("kursk-assault")
    attackers = [Sim(spec, seed=seed, events=False).run().summary["sides"]["attacker"]
                 for seed in range(1, 11)]
    assert any(a["casualties"] < a["initial"] for a in attackers)
    assert sum(a["broken_platoons"] for a in attackers) > 0
