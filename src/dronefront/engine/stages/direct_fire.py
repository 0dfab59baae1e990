"""Direct fire: aimed small-arms fire between platoons (the Lanchester square-law limit).

Each healthy soldier of a platoon with ``direct_fire`` fires ``rate * dt`` shots per step
(the integer part, plus one more with the fractional part as probability) at a healthy
enemy soldier drawn uniformly from those within ``range`` of its platoon's centre. Each
shot kills with ``kill_prob * f`` or wounds with ``wound_prob * f``, where
``f = (1 - cover[terrain]) * (1 - protection[posture])`` of the target, as for blasts.
All shots of a step are aimed before any lands, so fire is simultaneous.
"""

from __future__ import annotations

import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.rng import uniforms
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.state import HEALTHY, KILLED, WOUNDED, State


def direct_fire(state: State, log: EventLog) -> None:
    """Resolve one step of aimed fire for every platoon that has it."""
    s, p = state.soldiers, state.platoons
    armed = _nz(p.fire_rate > 0)
    if armed.size == 0:
        return
    step, dt = state.step, state.dt
    healthy = s.status == HEALTHY
    count = np.bincount(s.platoon[healthy], minlength=p.n)
    cx = np.bincount(s.platoon[healthy], weights=s.x[healthy], minlength=p.n)
    cy = np.bincount(s.platoon[healthy], weights=s.y[healthy], minlength=p.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx, cy = cx / count, cy / count
    shooter_all, target_all = [], []
    foes = [_nz(healthy & (s.side != side)) for side in (0, 1)]
    for g in armed[count[armed] > 0]:
        enemies = foes[p.side[g]]
        if enemies.size == 0:
            continue
        enemies = enemies[np.hypot(s.x[enemies] - cx[g], s.y[enemies] - cy[g]) <= p.fire_range[g]]
        if enemies.size == 0:
            continue
        shooters = _nz(healthy & (s.platoon == g))
        expected = p.fire_rate[g] * dt
        extra = uniforms(state.streams["direct_fire.shots"], step, shooters, 0) < expected % 1.0
        shots = np.repeat(shooters, int(expected) + extra.astype(np.int64))
        if shots.size == 0:
            continue
        k = np.arange(shots.size) - np.repeat(np.cumsum(int(expected) + extra) - (
            int(expected) + extra), int(expected) + extra)
        pick = uniforms(state.streams["direct_fire.aim"], step, shots * 64 + k, 0)
        shooter_all.append(shots * 64 + k)
        target_all.append(enemies[(pick * enemies.size).astype(np.int64)])
    if not shooter_all:
        return
    shot_id = np.concatenate(shooter_all)
    target = np.concatenate(target_all)
    shooter = shot_id // 64
    np.add.at(state.counters.direct_shots, s.side[shooter], 1)
    u = uniforms(state.streams["direct_fire.effect"], step, shot_id, 0)
    g = s.platoon[shooter]
    shield = ((1.0 - state.terrain.cover[s.terrain[target]])
              * (1.0 - state.posture_protection[s.posture[target]]))
    kill = u < p.fire_kill[g] * shield
    wound = ~kill & (u < (p.fire_kill[g] + p.fire_wound[g]) * shield)
    newly = np.zeros(s.n, np.int8)
    np.maximum.at(newly, target[wound], WOUNDED)
    np.maximum.at(newly, target[kill], KILLED)
    hit = _nz(newly)
    if hit.size == 0:
        return
    s.status[hit] = np.maximum(s.status[hit], newly[hit])
    s.cause[hit] = state.small_arms_code
    state.cache.pop("densest", None)
    log.add(step, "casualty", s.side[hit], s.x[hit], s.y[hit], weapon=state.small_arms_code,
            cause=state.small_arms_code, platoon=s.platoon[hit], target=hit,
            value=s.status[hit])
