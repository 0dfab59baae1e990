"""Drones: launch from operator teams, jamming, flight, strikes and bombs.

Lifecycle of a slot (one operator team): IDLE until ``ready_step`` → launch → TRANSIT to a
track (or station, for ISR) → ATTACK a soldier it acquired → strike (FPV, loitering) or drop
bombs every ``bomb_interval`` (bomber) → RETURN home, or shot down, or jammed, or out of
battery → turnaround → IDLE. Attack drones with ``targeting: omniscient`` pick their
soldier at launch from the whole enemy force; with ``tracks`` they fly to a tracked group
(seen within ``track_ttl``, within 0.95 of link range) chosen by policy, and acquire a
visible soldier within ``acquire_range`` (ties: nearest, then lowest index).
"""

from __future__ import annotations

import numpy as np

from dronefront.engine.events import EXTRA_CAUSES, EventLog
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.targeting import FAR, Targeter
from dronefront.engine.state import (
    ATTACK,
    CRASHED,
    EXPENDED,
    IDLE,
    JAMMED,
    RETURNED,
    State,
)


def end_sorties(state: State, log: EventLog, slots: np.ndarray, fate: int, kind: str | None,
                cause: int = -1) -> None:
    """Ground the airframes of ``slots`` with ``fate`` and start each team's turnaround.

    ``kind`` is the event to log, or None when the caller has logged it already.
    """
    if slots.size == 0:
        return
    d = state.drones
    np.add.at(state.counters.fates[:, :, fate], (d.side[slots], d.dtype[slots]), 1)
    if fate == RETURNED:
        d.inventory[slots] += 1
    if kind is not None and log.keeps:
        log.add(state.step, kind, d.side[slots], d.x[slots], d.y[slots],
                weapon=d.dtype[slots], cause=cause, actor=d.sortie[slots])
    d.state[slots] = IDLE
    d.ready_step[slots] = state.step + d.turnaround[slots]
    d.target[slots] = -1
    d.track[slots] = -1
    d.committed_decoy[slots] = False


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Buffers the kernels write slot lists (5 per slot) and ranges (1 per slot) to."""
    return np.empty(5 * n, np.int64), np.empty(n)


class Launch:
    """Launch every ready team that has a reason to fly."""

    name = "launch"

    def __init__(self, state: State, targeter: Targeter) -> None:
        self.targeter = targeter
        self.ints, _ = _scratch(state.drones.n)
        self.task_key = state.streams["drones.task"]

    def __call__(self, state: State, log: EventLog) -> None:
        d, t, s, p, tr = state.drones, state.types, state.soldiers, state.platoons, state.tracks
        step = state.step
        ints = self.ints
        n = fk.ready_slots(step, state.scenario.night, d.state, d.ready_step, d.inventory,
                           d.active_from, d.active_until, d.dtype, t.role, t.night_capable, ints)
        if n == 0:
            return
        slots = ints[:n].copy()
        # ISR to its station or over the enemy; track-cued attack drones to a track by policy.
        go, track, aim_x, aim_y, omni = fk.plan_launch(
            step, self.task_key, state.track_ttl, slots, d.dtype, d.side,
            d.targeting_omniscient, d.policy, d.station_x, d.station_y, d.home_x, d.home_y,
            t.role, t.link_range, s.side, s.status, p.side, p.ax, p.ay, p.value, tr.x, tr.y,
            tr.n, tr.step,
        )
        target = np.full(n, -1, np.int64)
        # Omniscient attack drones: a soldier now.
        if omni.any():
            om = _nz(omni)
            picks = self.targeter.select(state, slots[om], d.home_x[slots[om]],
                                         d.home_y[slots[om]], np.full(om.size, FAR),
                                         np.ones(om.size, bool))
            target[om] = picks
            go[om] = picks >= 0
        first = state.next_sortie
        launched = fk.launch_slots(
            step, state.dt, first, slots, go, target, track, aim_x, aim_y, d.dtype, d.side,
            d.state, d.phase, d.x, d.y, d.home_x, d.home_y, d.target, d.track, d.aim_x,
            d.aim_y, d.battery_end, d.bombs_left, d.next_bomb, d.inventory, d.committed_decoy,
            d.sortie, t.endurance, t.bombs, state.counters.fates,
        )
        if launched == 0:
            return
        state.next_sortie = first + launched
        if log.keeps:
            slots = slots[go]
            log.add(step, "launch", d.side[slots], d.x[slots], d.y[slots],
                    weapon=d.dtype[slots], actor=d.sortie[slots], target=target[go],
                    platoon=track[go])


class Jamming:
    """Radio links break near enemy jammers; any link breaks beyond its range."""

    name = "jamming"

    def __init__(self, state: State) -> None:
        self.ints, _ = _scratch(state.drones.n)
        self.key = state.streams["ew.link_loss"]
        self.range_cause = len(state.weapon_names) + EXTRA_CAUSES.index("link_range")
        self.jam_cause = len(state.weapon_names) + EXTRA_CAUSES.index("jamming")

    def __call__(self, state: State, log: EventLog) -> None:
        d, t, j = state.drones, state.types, state.jammers
        ints = self.ints
        n_range, n_jam = fk.link_losses(
            state.step, self.key, d.state, d.dtype, d.side, d.x, d.y, d.home_x, d.home_y,
            t.link_range, t.radio, t.link_resistance, j.active, j.side, j.x, j.y, j.radius,
            j.strength, ints,
        )
        if n_range:
            end_sorties(state, log, ints[:n_range].copy(), CRASHED, "crash", self.range_cause)
        if n_jam:
            n = d.n
            end_sorties(state, log, ints[n:n + n_jam].copy(), JAMMED, "jam_loss",
                        self.jam_cause)


class Flight:
    """Move every flying drone one step; collect and resolve strikes and bombs.

    Endurance: strike drones fall out of the sky; others turn home in time. Attack drones
    replace dead targets and acquire a soldier near their aim; ISR follows the largest fresh
    tracked group unless it has a fixed station. Then every drone moves towards its goal.
    """

    name = "flight"

    def __init__(self, state: State, targeter: Targeter) -> None:
        self.targeter = targeter
        self.ints, self.reach = _scratch(state.drones.n)
        self.flat_cause = len(state.weapon_names) + EXTRA_CAUSES.index("endurance")
        self.aim_key = state.streams["drones.aim"]

    def __call__(self, state: State, log: EventLog) -> None:
        d, t, s, p, tr = state.drones, state.types, state.soldiers, state.platoons, state.tracks
        step, dt, n, ttl = state.step, state.dt, d.n, state.track_ttl
        ints, reach = self.ints, self.reach
        n_fly, n_flat, n_pick, n_home, n_strike, n_bomb = fk.flight_step(
            step, dt, state.scenario.night, ttl, d.state, d.dtype, d.side, d.phase, d.x, d.y,
            d.home_x, d.home_y, d.battery_end, d.target, d.track, d.aim_x, d.aim_y,
            d.targeting_omniscient, d.committed_decoy, d.station_x, d.next_bomb, t.role,
            t.speed, t.acquire_range, t.night_capable, s.x, s.y, s.status, p.side, tr.x, tr.y,
            tr.n, tr.step, ints, reach,
        )
        if n_flat:
            end_sorties(state, log, ints[:n_flat].copy(), CRASHED, "crash", self.flat_cause)
        if n_fly == 0:
            return
        if n_pick:
            pick = ints[n:n + n_pick].copy()
            targets = self.targeter.select(state, pick, d.x[pick], d.y[pick],
                                           reach[:n_pick].copy(), d.targeting_omniscient[pick])
            d.target[pick] = targets
            d.phase[pick[targets >= 0]] = ATTACK
            n_home, n_strike, n_bomb = fk.flight_move(
                step, dt, ttl, d.state, d.dtype, d.side, d.phase, d.x, d.y, d.home_x,
                d.home_y, d.battery_end, d.target, d.aim_x, d.aim_y, d.station_x, d.next_bomb,
                t.role, t.speed, s.x, s.y, p.side, tr.x, tr.y, tr.n, tr.step, ints,
            )
        if n_home:
            end_sorties(state, log, ints[2 * n:2 * n + n_home].copy(), RETURNED, "return")
        if n_strike or n_bomb:
            self._strike(state, log, ints[3 * n:3 * n + n_strike].copy(),
                         ints[4 * n:4 * n + n_bomb].copy())

    def _strike(self, state: State, log: EventLog, strikers: np.ndarray,
                bombers: np.ndarray) -> None:
        d, t, s = state.drones, state.types, state.soldiers
        slots, kind, blast_id, target, bx, by = fk.strike(
            state.step, state.dt, self.aim_key, strikers, bombers, d.dtype, d.side,
            d.sortie, d.target, d.x, d.y, d.phase, d.bombs_left, d.next_bomb, t.bombs,
            t.bomb_interval, t.aim_error, s.x, s.y, state.counters.strikes,
        )
        if log.keeps:
            is_bomb = np.arange(slots.size) >= strikers.size
            for label, mask in (("strike", ~is_bomb), ("bomb", is_bomb)):
                log.add(state.step, label, d.side[slots[mask]], bx[mask], by[mask],
                        weapon=kind[mask], actor=d.sortie[slots[mask]], target=target[mask],
                        platoon=s.platoon[target[mask]])
        end_sorties(state, log, strikers, EXPENDED, None)
        resolve_blasts(state, log, bx, by, t.rings[kind], blast_id, kind,
                       t.cover_penetration[kind], "damage.drones")
