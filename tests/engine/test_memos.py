"""Stage memos (docs/engine.md, the stage contract) are exact: a run with them gives the
same result, to the bit, as one whose stages recompute every step, and each memo is
invalidated by what it depends on.

- ``Launch.idle``: a slot found nothing to fly at while ``State.track_epoch`` stands is
  not planned again (sensing bumps the epoch whenever it updates a track);
- ``CasualtyCare.wake``: while READY casualties only wait for evacuation capacity, the
  stage sleeps until a platoon has it, accruing the slept steps one by one;
- ``Artillery.wake`` and ``watch``: an idle battery without a target looks again only when
  a track changes, an engagement lapses, a round is due or an outside order changes
  (``State.order_epoch``).

Ensembles mirror these memos by replicate (docs/engine.md, "Ensembles"): the built-ins'
ensembles are compared here with the runs that recompute every step too.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dronefront.engine.ensemble import Ensemble
from dronefront.engine.events import EventLog
from dronefront.engine.sim import Sim
from dronefront.engine.spatial import build_side_grids
from dronefront.engine.stages import artillery as artillery_module
from dronefront.engine.stages import care as care_module
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages.artillery import Artillery
from dronefront.engine.stages.care import CasualtyCare
from dronefront.engine.stages.drones import Launch
from dronefront.engine.stages.sensing import Sensing
from dronefront.engine.stages.targeting import Targeter
from dronefront.engine.state import (
    BATTERY_HOLD,
    BATTERY_RULE,
    EVACUATED,
    FLYING,
    IDLE,
    KILLED,
    OBSERVER,
    READY,
    WOUNDED,
)
from dronefront.scenario.loader import load_scenario
from tests.engine.stage_builder import TEST_FPV, events_of, small_state


class _Forgetful:
    """Wraps a stage and clears its memo before every call: the stage then recomputes
    whatever the memo would have let it skip."""

    def __init__(self, stage, forget) -> None:
        self.stage, self.forget, self.name = stage, forget, stage.name

    def __call__(self, state, log) -> None:
        self.forget(self.stage)
        self.stage(state, log)


def _forget_launch(stage: Launch) -> None:
    stage.idle.fill(-1)


def _forget_care(stage: CasualtyCare) -> None:
    stage.wake = 0  # called on every busy step, as before the memo


def _forget_artillery(stage: Artillery) -> None:
    stage.wake = 0  # looks at every step (a look is a pure function of the state)


def _run(name: str, seed: int, forget: bool):
    sim = Sim(load_scenario(name), seed=seed)
    if forget:
        wrappers = {"launch": _forget_launch, "care": _forget_care,
                    "artillery": _forget_artillery}
        sim.stages = [_Forgetful(s, wrappers[s.name]) if s.name in wrappers else s
                      for s in sim.stages]
    return sim.run()


def _bits(table: pa.Table) -> list:
    """A table's columns as comparable values: names, types, nulls and raw bytes (so that
    equal NaNs compare equal and nothing else is rounded)."""
    out = []
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        values = column.to_numpy(zero_copy_only=False)
        raw = values.tolist() if values.dtype == object else values.tobytes()
        out.append((name, str(column.type), raw, np.asarray(column.is_null()).tobytes()))
    return out


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of ``module.name`` (a kernel) from now on."""
    calls = [0]
    kernel = getattr(module, name)

    def counted(*args):
        calls[0] += 1
        return kernel(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("name", ["kursk-assault", "fortified-line-breach"])
def test_runs_with_memos_equal_runs_that_recompute_every_step(name, monkeypatch):
    # the ensemble path too: its batched calls mirror the memos by replicate (run before
    # the kernels are wrapped: a batched kernel compiled now must call the real ones)
    together = Ensemble(load_scenario(name), [1, 2, 3]).run()
    plans = _counting(monkeypatch, fk, "plan_launch")
    cares = _counting(monkeypatch, care_module, "_care")
    looks = _counting(monkeypatch, artillery_module, "_todo")
    for seed in (1, 2, 3):
        plans[0] = cares[0] = looks[0] = 0
        fast = _run(name, seed, forget=False)
        fast_calls = plans[0], cares[0], looks[0]
        plans[0] = cares[0] = looks[0] = 0
        slow = _run(name, seed, forget=True)
        for got in (fast, together[seed - 1]):
            assert got.summary == slow.summary
            assert _bits(got.timeseries) == _bits(slow.timeseries)
            assert _bits(got.events) == _bits(slow.events)
        # the memos did skip work (else this compares a run with itself)
        assert fast_calls[0] < plans[0] and fast_calls[2] < looks[0]
        if name == "kursk-assault":
            assert fast_calls[1] < cares[0]


def _stale_team() -> tuple:
    """One ready FPV team whose side's only track of the enemy is too old to fly at."""
    state = small_state(**{
        "drone_types": {"test_fpv": TEST_FPV},
        "sides": {"defender": {"teams": [{"drone": "test_fpv", "count": 1,
                                          "position": [0.0, 500.0], "inventory": 2}]}}})
    tr = state.tracks
    state.step = 1000
    tr.x[1, 0], tr.y[1, 0], tr.n[1, 0], tr.step[1, 0] = 0.0, 0.0, 10, 0  # stale
    return state, Launch(state, Targeter(state))


def test_a_team_with_nothing_to_fly_at_is_planned_again_only_when_a_track_changes(
        monkeypatch):
    state, launch = _stale_team()
    plans = _counting(monkeypatch, fk, "plan_launch")
    log = EventLog()
    for _ in range(5):
        launch(state, log)
        state.step += 1
    assert plans[0] == 1 and state.drones.state[0] == IDLE
    # Sensing saw the platoon again: a fresh track and a new epoch; the team flies now.
    tr = state.tracks
    tr.step[1, 0] = state.step
    state.track_epoch += 1
    launch(state, log)
    assert plans[0] == 2 and state.drones.state[0] == FLYING
    assert len(events_of(log, state, "launch")) == 1


def test_a_fresh_track_under_an_unchanged_epoch_would_be_missed():
    """The memo trusts the epoch: this pins that Launch reads it (a track written without
    a new epoch is not looked at), so that sensing's bump is what makes it exact."""
    state, launch = _stale_team()
    log = EventLog()
    launch(state, log)
    state.step += 1
    state.tracks.step[1, 0] = state.step  # fresh, but no new epoch
    launch(state, log)
    assert state.drones.state[0] == IDLE


def test_sensing_bumps_the_track_epoch_exactly_when_it_updates_a_track():
    state = small_state(**{"sides": {"defender": {"units": [{
        "name": "post", "count": 3, "start": [0.0, 100.0], "posture": "halted",
        "doctrine": {"formation": "line", "spacing": 2.0, "observers": 1}}],
        "drone_doctrine": {"observer_range": 300.0, "observer_detect_prob": 1.0}}}})
    assert (state.soldiers.role == OBSERVER).sum() == 1
    sensing = Sensing(state)
    log = EventLog()
    sensing(state, log)
    assert state.track_epoch == 1 and state.tracks.n[1, 0] > 0
    state.soldiers.x[state.soldiers.side == 0] += 5000.0  # out of sight: no update
    s = state.soldiers
    state.grids = build_side_grids(s.x, s.y, s.status, s.side, KILLED, 10.0)
    state.step += 1
    sensing(state, log)
    assert state.track_epoch == 1


def test_care_sleeps_until_capacity_and_evacuates_on_the_step_accrual_gives(monkeypatch):
    # 1 evacuation a minute, 1/30 a step of 2 s: thirty step-by-step sums fall short of 1
    # (30 times the rate does not), so capacity comes on step 31, not 30.
    rate = 1.0
    state = small_state(**{"sides": {"attacker": {"units": [{
        "name": "platoon", "count": 10, "start": [0.0, 0.0], "waypoints": [[0.0, 1000.0]],
        "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5,
                     "casualty_care": {"mode": "treat", "evacuation_rate": rate}}}]}}})
    s, care = state.soldiers, state.care
    s.status[4] = WOUNDED
    care.phase[4] = READY  # treated already: only waits for the rear
    care.since[4] = 0
    stage = CasualtyCare(state)
    state.casualty_epoch += 1
    calls = _counting(monkeypatch, care_module, "_care")
    log = EventLog()
    woken = {}
    for _ in range(200):
        if state.step in (7, 13, 19, 25):
            state.casualty_epoch += 1  # someone fell elsewhere: care wakes at once
        stage(state, log)
        if state.step in (7, 13, 19, 25):
            woken[state.step] = float(care.evac_credit[0])
        if care.phase[4] == EVACUATED:
            break
        state.step += 1
    # step-by-step accrual from the first call (step 0, nothing accrued yet)
    per_step = rate * state.dt / 60.0
    credit, due, sums = 0.0, 0, {}
    while credit < 1.0:
        credit = min(credit + per_step, max(1.0, per_step))
        due += 1
        sums[due] = credit
    assert woken == {k: sums[k] for k in woken}  # to the bit, as if called every step
    assert due == 31
    assert care.phase[4] == EVACUATED and state.step == due
    # the first step, the four wakes and the step capacity came: asleep in between
    assert calls[0] == 6
    assert [e["step"] for e in events_of(log, state, "evacuated")] == [due]
    assert care.evac_credit[0] == pytest.approx(credit - 1.0, abs=0.0)


def test_a_casualty_falling_while_care_sleeps_wakes_it(monkeypatch):
    state = small_state(**{"sides": {"attacker": {"units": [{
        "name": "platoon", "count": 10, "start": [0.0, 0.0],
        "doctrine": {"formation": "line", "spacing": 2.0,
                     "casualty_care": {"mode": "treat", "helpers": 1,
                                       "evacuation_rate": 0.1}}}]}}})
    s, care = state.soldiers, state.care
    s.status[4] = WOUNDED
    care.phase[4] = READY
    stage = CasualtyCare(state)
    state.casualty_epoch += 1
    log = EventLog()
    stage(state, log)
    state.step += 1
    assert stage.busy and stage.wake > state.step + 5  # asleep
    s.status[0] = WOUNDED  # a new casualty: a helper goes to him at once
    state.casualty_epoch += 1
    stage(state, log)
    assert (care.helping == 0).sum() == 1
    assert care.phase[4] == READY


def _battery() -> tuple:
    """An idle defender battery and a fresh track of the attacking platoon in its range."""
    state = small_state(sides={"defender": {"batteries": [{
        "name": "guns", "position": [0.0, -5000.0], "latency": 2.0, "rounds": 4,
        "rounds_per_mission": 1, "min_group": 1}]}})
    tr = state.tracks
    tr.x[1, 0], tr.y[1, 0], tr.n[1, 0], tr.step[1, 0] = 0.0, 0.0, 10, 0
    return state, Artillery(state)


def test_an_idle_battery_looks_again_when_an_engagement_lapses(monkeypatch):
    state, artillery = _battery()
    state.tracks.engaged_until[1, 0] = 5  # engaged up to step 5: free to fire on at 6
    looks = _counting(monkeypatch, artillery_module, "_todo")
    log = EventLog()
    for step in range(9):
        state.step = step
        artillery(state, log)
    assert [e["step"] for e in events_of(log, state, "call_for_fire")] == [6]
    assert looks[0] < 9  # slept while the engagement held


def test_an_idle_battery_looks_again_when_a_track_changes(monkeypatch):
    state, artillery = _battery()
    tr = state.tracks
    tr.n[1, 0] = 0  # no track yet
    looks = _counting(monkeypatch, artillery_module, "_todo")
    log = EventLog()
    for step in range(5):
        state.step = step
        if step == 4:  # sensing sees the platoon
            tr.n[1, 0], tr.step[1, 0] = 10, step
            state.track_epoch += 1
        artillery(state, log)
    assert [e["step"] for e in events_of(log, state, "call_for_fire")] == [4]
    assert looks[0] == 2  # the first step and the step the track changed


def test_an_outside_order_alone_wakes_a_sleeping_battery(monkeypatch):
    # No track, no engagement: the idle battery sleeps until a track changes. An order
    # (``State.order_epoch``) wakes it too, with no track change. (A whole run cannot
    # single this out: ``_todo`` ignores orders, so a held battery with a target looks
    # every step and the order's lifting is seen at once: see the next test.)
    state, artillery = _battery()
    state.tracks.n[1, 0] = 0
    looks = _counting(monkeypatch, artillery_module, "_todo")
    log = EventLog()
    for step in range(6):
        state.step = step
        if step == 3:
            state.batteries.order[0] = BATTERY_HOLD
            state.order_epoch += 1
        artillery(state, log)
    assert looks[0] == 2  # the first step and the step of the order


def test_a_held_battery_with_a_target_looks_every_step_and_fires_once_released(monkeypatch):
    state, artillery = _battery()
    state.batteries.order[0] = BATTERY_HOLD
    state.order_epoch += 1
    looks = _counting(monkeypatch, artillery_module, "_todo")
    log = EventLog()
    for step in range(6):
        state.step = step
        state.tracks.step[1, 0] = step  # seen every step, no new epoch
        if step == 4:
            state.batteries.order[0] = BATTERY_RULE
            state.order_epoch += 1
        artillery(state, log)
    assert looks[0] == 6
    assert [e["step"] for e in events_of(log, state, "call_for_fire")] == [4]
