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

import numba as nb
import numpy as np

from dronefront.engine.events import EXTRA_CAUSES, EventLog
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.targeting import DENSEST, acquire, densest_overall
from dronefront.engine.state import (
    ATTACK,
    CRASHED,
    EXPENDED,
    IDLE,
    JAMMED,
    RETURNED,
    State,
)

FAR = 1e15


def _side_doctrine(state: State, side: int):
    return getattr(state.scenario.sides, ("attacker", "defender")[side]).drone_doctrine


def _visibility(state: State) -> np.ndarray:
    """(N,) probability that each soldier is seen when in a camera's reach (this step)."""
    vis = state.cache.get("visibility")
    if vis is None:
        s = state.soldiers
        vis = state.cache["visibility"] = _visibility_of(
            state.terrain.concealment, state.posture_concealment, state.platoons.discipline,
            s.terrain, s.posture, s.platoon,
        )
    return vis


@nb.njit(cache=True)
def _visibility_of(concealment, posture_concealment, discipline, terrain, posture, platoon):
    out = np.empty(terrain.shape[0])
    for j in range(terrain.shape[0]):
        out[j] = ((1.0 - concealment[terrain[j]]) * (1.0 - posture_concealment[posture[j]])
                  * (1.0 - discipline[platoon[j]]))
    return out


def select_targets(state: State, slots: np.ndarray, px: np.ndarray, py: np.ndarray,
                   reach: np.ndarray, omniscient: np.ndarray) -> np.ndarray:
    """A soldier target for each slot (or -1): by the slot's policy around ``(px, py)``."""
    d, s = state.drones, state.soldiers
    out = np.full(slots.size, -1, np.int64)
    if slots.size == 0:
        return out
    global_densest = omniscient & (d.policy[slots] == DENSEST)
    if global_densest.any():
        cache = state.cache.setdefault("densest", {})
        for i in _nz(global_densest):
            key = (1 - int(d.side[slots[i]]), float(d.density_radius[slots[i]]))
            if key not in cache:
                grid = state.cache["grids"][key[0]]
                cache[key] = densest_overall(
                    key[1], s.x, s.y, s.status, grid.start, grid.items, grid.x0, grid.y0,
                    grid.cell, grid.nx, grid.ny,
                )
            out[i] = cache[key]
        if global_densest.all():
            return out
    g0, g1 = state.cache["grids"]
    _acquire_many(
        out, global_densest, slots, px, py, reach, omniscient, d.policy, d.density_radius,
        d.side, _visibility(state), s.x, s.y, s.status, state.platoons.value, s.platoon,
        g0.start, g0.items, g0.x0, g0.y0, g0.cell, g0.nx, g0.ny,
        g1.start, g1.items, g1.x0, g1.y0, g1.cell, g1.nx, g1.ny,
        state.streams["drones.acquire"], state.step,
    )
    return out


@nb.njit(cache=True)
def _acquire_many(out, skip, slots, px, py, reach, omniscient, policy, radius, side, vis, x, y,
                  status, value, platoon, start0, items0, x00, y00, cell0, nx0, ny0, start1,
                  items1, x01, y01, cell1, nx1, ny1, key, step):
    """``out[i]``: ``acquire`` for slot ``slots[i]`` over the grid of its enemy side.

    Omniscient slots see every soldier at any range.
    """
    ones = np.ones(0)
    for i in range(slots.shape[0]):
        if skip[i]:
            continue
        slot = slots[i]
        visibility, r = vis, reach[i]
        if omniscient[i]:
            if ones.shape[0] == 0:
                ones = np.ones_like(vis)
            visibility, r = ones, FAR
        if side[slot] == 1:
            out[i] = acquire(px[i], py[i], r, policy[slot], radius[slot], visibility, x, y,
                             status, value, platoon, start0, items0, x00, y00, cell0, nx0, ny0,
                             key, step, slot)
        else:
            out[i] = acquire(px[i], py[i], r, policy[slot], radius[slot], visibility, x, y,
                             status, value, platoon, start1, items1, x01, y01, cell1, nx1, ny1,
                             key, step, slot)
    return out


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


def _fresh_tracks(state: State, side: int) -> np.ndarray:
    """(G,) mask of enemy platoons this side has seen within its track lifetime."""
    tr = state.tracks
    return ((state.platoons.side != side) & (tr.n[side] > 0)
            & (state.step - tr.step[side] <= _track_ttl(state)[side]))


def _scratch(state: State) -> tuple[np.ndarray, np.ndarray]:
    """Reusable buffers the kernels write slot lists (5 per slot) and ranges (1 per slot) to."""
    buf = state.cache.get("drones.scratch")
    if buf is None:
        n = state.drones.n
        buf = state.cache["drones.scratch"] = (np.empty(5 * n, np.int64), np.empty(n))
    return buf


def _track_ttl(state: State) -> np.ndarray:
    """(2,) each side's track lifetime in steps."""
    ttl = state.cache.get("drones.track_ttl")
    if ttl is None:
        ttl = state.cache["drones.track_ttl"] = np.array(
            [_side_doctrine(state, side).track_ttl / state.dt for side in (0, 1)])
    return ttl


def launch(state: State, log: EventLog) -> None:
    """Launch every ready team that has a reason to fly."""
    d, t, s, p, tr = state.drones, state.types, state.soldiers, state.platoons, state.tracks
    step = state.step
    ints, _ = _scratch(state)
    n = fk.ready_slots(step, state.scenario.night, d.state, d.ready_step, d.inventory,
                       d.active_from, d.active_until, d.dtype, t.role, t.night_capable, ints)
    if n == 0:
        return
    slots = ints[:n].copy()
    # ISR to its station or over the enemy; track-cued attack drones to a track by policy.
    go, track, aim_x, aim_y, omni = fk.plan_launch(
        step, state.streams["drones.task"], _track_ttl(state), slots, d.dtype, d.side,
        d.targeting_omniscient, d.policy, d.station_x, d.station_y, d.home_x, d.home_y,
        t.role, t.link_range, s.side, s.status, p.side, p.ax, p.ay, p.value, tr.x, tr.y, tr.n,
        tr.step,
    )
    target = np.full(n, -1, np.int64)
    # Omniscient attack drones: a soldier now.
    if omni.any():
        om = _nz(omni)
        picks = select_targets(state, slots[om], d.home_x[slots[om]], d.home_y[slots[om]],
                               np.full(om.size, FAR), np.ones(om.size, bool))
        target[om] = picks
        go[om] = picks >= 0
    first = int(state.cache.get("next_sortie", 0))
    launched = fk.launch_slots(
        step, state.dt, first, slots, go, target, track, aim_x, aim_y, d.dtype, d.side,
        d.state, d.phase, d.x, d.y, d.home_x, d.home_y, d.target, d.track, d.aim_x, d.aim_y,
        d.battery_end, d.bombs_left, d.next_bomb, d.inventory, d.committed_decoy, d.sortie,
        t.endurance, t.bombs, state.counters.fates,
    )
    if launched == 0:
        return
    state.cache["next_sortie"] = first + launched
    if log.keeps:
        slots = slots[go]
        log.add(step, "launch", d.side[slots], d.x[slots], d.y[slots], weapon=d.dtype[slots],
                actor=d.sortie[slots], target=target[go], platoon=track[go])


def jamming(state: State, log: EventLog) -> None:
    """Radio links break near enemy jammers; any link breaks beyond its range."""
    d, t, j = state.drones, state.types, state.jammers
    ints, _ = _scratch(state)
    n_range, n_jam = fk.link_losses(
        state.step, state.streams["ew.link_loss"], d.state, d.dtype, d.side, d.x, d.y,
        d.home_x, d.home_y, t.link_range, t.radio, t.link_resistance, j.active, j.side, j.x,
        j.y, j.radius, j.strength, ints,
    )
    if n_range:
        end_sorties(state, log, ints[:n_range].copy(), CRASHED, "crash",
                    len(state.weapon_names) + EXTRA_CAUSES.index("link_range"))
    if n_jam:
        n = d.n
        end_sorties(state, log, ints[n:n + n_jam].copy(), JAMMED, "jam_loss",
                    len(state.weapon_names) + EXTRA_CAUSES.index("jamming"))


def flight(state: State, log: EventLog) -> None:
    """Move every flying drone one step; collect and resolve strikes and bombs.

    Endurance: strike drones fall out of the sky; others turn home in time. Attack drones
    replace dead targets and acquire a soldier near their aim; ISR follows the largest fresh
    tracked group unless it has a fixed station. Then every drone moves towards its goal.
    """
    d, t, s, p, tr = state.drones, state.types, state.soldiers, state.platoons, state.tracks
    step, dt, n, ttl = state.step, state.dt, d.n, _track_ttl(state)
    ints, reach = _scratch(state)
    n_fly, n_flat, n_pick, n_home, n_strike, n_bomb = fk.flight_step(
        step, dt, state.scenario.night, ttl, d.state, d.dtype, d.side, d.phase, d.x, d.y,
        d.home_x, d.home_y, d.battery_end, d.target, d.track, d.aim_x, d.aim_y,
        d.targeting_omniscient, d.committed_decoy, d.station_x, d.next_bomb, t.role, t.speed,
        t.acquire_range, t.night_capable, s.x, s.y, s.status, p.side, tr.x, tr.y, tr.n,
        tr.step, ints, reach,
    )
    if n_flat:
        end_sorties(state, log, ints[:n_flat].copy(), CRASHED, "crash",
                    len(state.weapon_names) + EXTRA_CAUSES.index("endurance"))
    if n_fly == 0:
        return
    if n_pick:
        pick = ints[n:n + n_pick].copy()
        targets = select_targets(state, pick, d.x[pick], d.y[pick], reach[:n_pick].copy(),
                                 d.targeting_omniscient[pick])
        d.target[pick] = targets
        d.phase[pick[targets >= 0]] = ATTACK
        n_home, n_strike, n_bomb = fk.flight_move(
            step, dt, ttl, d.state, d.dtype, d.side, d.phase, d.x, d.y, d.home_x, d.home_y,
            d.battery_end, d.target, d.aim_x, d.aim_y, d.station_x, d.next_bomb, t.role,
            t.speed, s.x, s.y, p.side, tr.x, tr.y, tr.n, tr.step, ints,
        )
    if n_home:
        end_sorties(state, log, ints[2 * n:2 * n + n_home].copy(), RETURNED, "return")
    if n_strike or n_bomb:
        _strike(state, log, ints[3 * n:3 * n + n_strike].copy(),
                ints[4 * n:4 * n + n_bomb].copy())


def _strike(state: State, log: EventLog, strikers: np.ndarray, bombers: np.ndarray) -> None:
    d, t, s = state.drones, state.types, state.soldiers
    slots, kind, blast_id, target, bx, by = fk.strike(
        state.step, state.dt, state.streams["drones.aim"], strikers, bombers, d.dtype, d.side,
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
    resolve_blasts(state, log, bx, by, t.rings[kind], blast_id, kind, t.cover_penetration[kind],
                   "damage.drones")
