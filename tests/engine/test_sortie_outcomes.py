"""Sortie outcomes: technical failure at launch, terminal misses, and every sortie counted once.

Exact cases on a tiny state (tests/engine/stage_builder.py) pin each mechanic; the miss
factors are checked with common random numbers (the same draw per sortie), so raising a
factor can only add misses: a factor that moves the wrong way, or not at all, fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.events import EventLog
from dronefront.engine.formulas import miss_probability
from dronefront.engine.rng import uniform
from dronefront.engine.sim import Sim
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages.counterdrone import CounterDrone
from dronefront.engine.stages.drones import Flight, Launch
from dronefront.engine.stages.targeting import Targeter
from dronefront.engine.state import (
    ATTACK,
    EXPENDED,
    FAILED,
    FATES,
    FLYING,
    HALTED,
    HEALTHY,
    IDLE,
    LAUNCHED,
    MISSED,
    MOVING,
    State,
)
from dronefront.scenario.loader import load_scenario
from tests.engine.stage_builder import TEST_FPV, events_of, small_state

SLOTS = 400  # operator teams in the miss tests: one dive each, one draw per sortie


def _teams(count: int, **fpv) -> dict:
    """Sections for a defender with ``count`` test FPV teams of the given parameters."""
    return {"drone_types": {"test_fpv": {**TEST_FPV, **fpv}},
            "sides": {"defender": {"teams": [{"drone": "test_fpv", "count": count,
                                              "position": [0.0, 500.0], "inventory": 1}]}}}


def _diving(state: State) -> np.ndarray:
    """Every slot in the air over soldier 0, attacking it, with sorties 0, 1, ..."""
    d = state.drones
    m = d.n
    d.state[:], d.phase[:] = FLYING, ATTACK
    d.x[:], d.y[:] = state.soldiers.x[0], state.soldiers.y[0]
    d.target[:] = 0
    d.sortie[:] = np.arange(m)
    d.battery_end[:] = 10**6
    state.next_sortie = m
    return np.arange(m, dtype=np.int64)


def _misses(state: State) -> np.ndarray:
    """The terminal-miss decisions of every slot diving at soldier 0, via the Flight stage's
    own kernel views."""
    flight = Flight(state, Targeter(state))
    return fk.terminal_misses(state.step, flight.miss_key, _diving(state), flight.dives,
                              flight.terminal, flight.bodies, flight.pace, flight.jammers)


def _posture(state: State, posture: int) -> State:
    state.soldiers.posture[:] = posture
    return state


BASE = {"terminal_miss": 0.2, "miss_per_speed": 0.3, "miss_per_jamming": 1.0,
        "miss_under_fire": 0.3}
JAMMER = {"sides": {"attacker": {"jammers": [{"name": "ew", "position": [0.0, 0.0],
                                              "radius": 500.0, "strength": 0.5}]}}}


def _state(jammer: bool = False, **fpv) -> State:
    sections = _teams(SLOTS, **{**BASE, **fpv})
    if jammer:
        sections["sides"]["attacker"] = JAMMER["sides"]["attacker"]
    return _posture(small_state(**sections), HALTED)


def test_the_miss_decision_is_the_formula_of_its_factors_against_the_sortie_draw():
    state = _posture(_state(jammer=True), MOVING)
    state.step = 7
    d = state.drones
    d.fire_step[:], d.fire_shooters[:] = 6, 3
    miss = _misses(state)
    pace = state.platoons.pace[0]
    p = miss_probability(0.2, 1.0, 0.3 * pace, 1.0 * 0.5, 0.3 * np.log(4.0))
    assert p == pytest.approx(1 - 0.8 * np.exp(-(0.3 * pace + 0.5 + 0.3 * np.log(4.0))),
                              rel=1e-12)
    key = state.streams["drones.miss"]
    expected = [uniform(key, 7, s, 0) < p for s in range(SLOTS)]
    assert miss.tolist() == expected
    assert 0.3 < miss.mean() < 0.9  # the draws spread: neither all nor none


@pytest.mark.parametrize("factor", ["speed", "jamming", "fire", "skill"])
def test_each_factor_moves_the_miss_probability_its_own_way(factor):
    if factor == "speed":  # a moving target against a halted one
        low, high = _state(), _posture(_state(), MOVING)
    elif factor == "jamming":  # a hostile jammer covering the target
        low, high = _state(), _state(jammer=True)
    elif factor == "skill":  # a better operator misses less
        low, high = _state(operator_skill=2.0), _state()
    else:  # four soldiers fired at the drone in the step before its dive
        low, high = _state(), _state()
        high.step = low.step = 5
        high.drones.fire_step[:], high.drones.fire_shooters[:] = 4, 4
    few, many = _misses(low), _misses(high)
    assert not (few & ~many).any()  # common draws: a higher probability only adds misses
    assert many.sum() > few.sum() + 20  # and adds many, over 400 dives


def test_fire_only_counts_in_the_step_just_before_the_dive():
    fresh, stale, calm = _state(), _state(), _state()
    for state, fired in ((fresh, 4), (stale, 2), (calm, -1)):
        state.step = 5
        state.drones.fire_step[:], state.drones.fire_shooters[:] = fired, 4
    assert _misses(stale).tolist() == _misses(calm).tolist() != _misses(fresh).tolist()


def test_fibre_links_see_no_jamming_at_the_target():
    radio, fibre = _state(), _state(jammer=True, link="fibre")
    assert _misses(fibre).tolist() == _misses(radio).tolist()


def test_a_dive_that_misses_harms_no_one_and_ends_the_sortie_as_missed():
    state = small_state(**_teams(1, terminal_miss=1.0))
    _diving(state)
    log = EventLog()
    Flight(state, Targeter(state))(state, log)
    d, c, k = state.drones, state.counters, state.drones.dtype[0]
    assert d.state[0] == IDLE
    assert c.fates[1, k, MISSED] == 1 and c.fates[1, k, EXPENDED] == 0
    assert c.strikes[1, k] == 0
    assert (state.soldiers.status == HEALTHY).all()
    (miss,) = events_of(log, state, "miss")
    assert miss["actor"] == 0 and miss["target"] == 0
    assert events_of(log, state, "strike") == []


def test_a_dive_that_cannot_miss_strikes():
    state = small_state(**_teams(1))
    _diving(state)
    log = EventLog()
    Flight(state, Targeter(state))(state, log)
    k = state.drones.dtype[0]
    assert state.counters.fates[1, k, EXPENDED] == 1 and state.counters.strikes[1, k] == 1
    assert events_of(log, state, "miss") == []


def _launch_all(failure_prob: float) -> tuple[State, EventLog]:
    state = small_state(**_teams(SLOTS, failure_prob=failure_prob))
    tr = state.tracks  # the defender tracks the attacking platoon right under its teams
    tr.x[1, 0], tr.y[1, 0], tr.n[1, 0], tr.step[1, 0] = 0.0, 0.0, 10, 0
    log = EventLog()
    Launch(state, Targeter(state))(state, log)
    return state, log


def test_a_failed_sortie_loses_its_airframe_at_launch():
    state, log = _launch_all(1.0)
    d, k = state.drones, state.drones.dtype[0]
    assert state.counters.fates[1, k, LAUNCHED] == SLOTS
    assert state.counters.fates[1, k, FAILED] == SLOTS
    assert (d.state == IDLE).all() and (d.inventory == 0).all()
    assert (d.ready_step == d.turnaround).all()  # the team turns round as after any loss
    assert len(events_of(log, state, "failure")) == SLOTS


def test_the_failure_probability_sets_the_share_of_failed_sorties():
    state, log = _launch_all(0.25)
    d, k = state.drones, state.drones.dtype[0]
    failed = int(state.counters.fates[1, k, FAILED])
    assert 0.15 * SLOTS < failed < 0.35 * SLOTS
    assert int((d.state == FLYING).sum()) == SLOTS - failed
    assert sorted(e["actor"] for e in events_of(log, state, "failure")) == sorted(
        d.sortie[d.state == IDLE].tolist())


def test_counter_drone_fire_is_recorded_on_the_drone_it_was_aimed_at():
    state = small_state(
        counter_drone={"detect_prob": 1.0}, **{
            "sides": {"attacker": {"units": [{
                "name": "platoon", "count": 10, "start": [0.0, 0.0], "posture": "halted",
                "doctrine": {"formation": "line", "spacing": 2.0, "drill": ["engage"],
                             "shooters": 3},
                "skills": {"marksmanship": 0.0}}]},
                "defender": {"teams": [{"drone": "test_fpv", "count": 2,
                                        "position": [0.0, 500.0]}]}}})
    d = state.drones
    _diving(state)
    d.x[1], d.y[1] = 0.0, 1900.0  # far out of reach of any rifle
    state.step = 3
    CounterDrone(state)(state, EventLog())
    assert d.fire_step.tolist() == [3, -1]
    # Per-shot fire: of the 3 shooters, those whose draw gave a round in the dive's 1.5 s.
    assert 1 <= d.fire_shooters[0] <= 3 and d.fire_shooters[1] == 0


def test_every_sortie_ends_in_one_outcome_or_is_still_flying():
    spec = load_scenario("kursk-assault", ["duration=900"])
    for seed in (1, 2):
        sim = Sim(spec, seed=seed, events=False)
        result = sim.run()
        d = sim.state.drones
        for side_name, types in result.summary["drones"].items():
            side = 0 if side_name == "attacker" else 1
            for name, row in types.items():
                k = sim.state.types.names.index(name)
                flying = int(((d.side == side) & (d.dtype == k) & (d.state == FLYING)).sum())
                outcomes = sum(row[f] for f in FATES[1:])
                assert outcomes + row["in_flight"] == row["launched"]
                assert row["in_flight"] == flying
                shares = row["shares"]
                assert sum(shares.values()) == pytest.approx(1.0)
                assert shares["missed"] == pytest.approx(row["missed"] / row["launched"])


@pytest.mark.slow
def test_kursk_assault_fpv_sorties_fail_and_miss_and_better_operators_hit_more():
    """Seeds 1-10: not every radio FPV strikes; failures and misses both occur; with twice
    the operator skill (paired seeds) the share that hits rises."""
    def shares(overrides: list[str]) -> tuple[int, int, int, int]:
        spec = load_scenario("kursk-assault", overrides)
        launched = hits = missed = failed = 0
        for seed in range(1, 11):
            row = Sim(spec, seed=seed, events=False).run().summary["drones"]["defender"][
                "fpv_radio"]
            launched += row["launched"]
            hits += row["expended"]
            missed += row["missed"]
            failed += row["failed"]
        return launched, hits, missed, failed

    launched, hits, missed, failed = shares([])
    assert hits < launched
    assert missed > 0.1 * launched and failed > 0.03 * launched
    skilled, skilled_hits, skilled_missed, _ = shares(
        ["drone_types.fpv_radio.operator_skill=2.0"])
    assert skilled_missed / skilled < missed / launched - 0.05
    assert skilled_hits / skilled > hits / launched
