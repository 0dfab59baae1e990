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
from dronefront.engine.rng import normals, pair_uniforms, uniforms
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.targeting import DENSEST, RANDOM, acquire, densest_overall
from dronefront.engine.state import (
    ATTACK,
    BOMBER,
    CRASHED,
    EXPENDED,
    FLYING,
    FPV,
    IDLE,
    ISR,
    JAMMED,
    KILLED,
    LAUNCHED,
    LOITERING,
    ON_STATION,
    RETURN,
    RETURNED,
    TRANSIT,
    State,
)

NIGHT_ACQUIRE_FACTOR = 0.3  # assumption: day-only cameras at night
FAR = 1e15


def _side_doctrine(state: State, side: int):
    return getattr(state.scenario.sides, ("attacker", "defender")[side]).drone_doctrine


def _visibility(state: State) -> np.ndarray:
    vis = state.cache.get("visibility")
    if vis is None:
        s = state.soldiers
        vis = ((1.0 - state.terrain.concealment[s.terrain])
               * (1.0 - state.posture_concealment[s.posture])
               * (1.0 - state.platoons.discipline[s.platoon]))
        state.cache["visibility"] = vis
    return vis


def select_targets(state: State, slots: np.ndarray, px: np.ndarray, py: np.ndarray,
                   reach: np.ndarray, omniscient: np.ndarray) -> np.ndarray:
    """A soldier target for each slot (or -1): by the slot's policy around ``(px, py)``."""
    d, s = state.drones, state.soldiers
    out = np.full(slots.size, -1, np.int64)
    if slots.size == 0:
        return out
    policy = d.policy[slots]
    radius = d.density_radius[slots]
    enemy = 1 - d.side[slots]
    global_densest = omniscient & (policy == DENSEST)
    cache = state.cache.setdefault("densest", {})
    for i in _nz(global_densest):
        key = (int(enemy[i]), float(radius[i]))
        if key not in cache:
            grid = state.cache["grids"][key[0]]
            cache[key] = densest_overall(
                key[1], s.x, s.y, s.status, grid.start, grid.items, grid.x0, grid.y0,
                grid.cell, grid.nx, grid.ny,
            )
        out[i] = cache[key]
    rest = _nz(~global_densest)
    if rest.size:
        vis = _visibility(state)
        ones = np.ones_like(vis)
        key = state.streams["drones.acquire"]
        for side in (0, 1):
            sel = rest[enemy[rest] == side]
            if sel.size == 0:
                continue
            grid = state.cache["grids"][side]
            out[sel] = _acquire_many(
                px[sel], py[sel], np.where(omniscient[sel], FAR, reach[sel]), policy[sel],
                radius[sel], omniscient[sel], vis, ones, s.x, s.y, s.status,
                state.platoons.value, s.platoon, grid.start, grid.items, grid.x0, grid.y0,
                grid.cell, grid.nx, grid.ny, key, state.step, slots[sel],
            )
    return out


@nb.njit(cache=True)
def _acquire_many(px, py, reach, policy, radius, omniscient, vis, ones, x, y, status, value,
                  platoon, start, items, x0, y0, cell, nx, ny, key, step, drone):
    out = np.empty(px.shape[0], np.int64)
    for i in range(px.shape[0]):
        visibility = ones if omniscient[i] else vis
        out[i] = acquire(px[i], py[i], reach[i], policy[i], radius[i], visibility, x, y, status,
                         value, platoon, start, items, x0, y0, cell, nx, ny, key, step, drone[i])
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
    if kind is not None:
        log.add(state.step, kind, d.side[slots], d.x[slots], d.y[slots],
                weapon=d.dtype[slots], cause=cause, actor=d.sortie[slots])
    d.state[slots] = IDLE
    d.ready_step[slots] = state.step + d.turnaround[slots]
    d.target[slots] = -1
    d.track[slots] = -1
    d.committed_decoy[slots] = False


def _fresh_tracks(state: State, side: int) -> np.ndarray:
    """(G,) mask of enemy platoons this side has seen within its track lifetime."""
    ttl = _side_doctrine(state, side).track_ttl / state.dt
    tr = state.tracks
    return (state.platoons.side != side) & (tr.n[side] > 0) & (state.step - tr.step[side] <= ttl)


def launch(state: State, log: EventLog) -> None:
    """Launch every ready team that has a reason to fly."""
    d, t, s = state.drones, state.types, state.soldiers
    step = state.step
    ready = (
        (d.state == IDLE) & (d.ready_step <= step) & (d.inventory > 0)
        & (d.active_from <= step) & (step < d.active_until)
    )
    role = t.role[d.dtype]
    if state.scenario.night:
        ready &= ~((role == ISR) & ~t.night_capable[d.dtype])
    slots = _nz(ready)
    if slots.size == 0:
        return
    alive_by_side = [_nz((s.status != KILLED) & (s.side == side)) for side in (0, 1)]
    go = np.zeros(slots.size, bool)
    track = np.full(slots.size, -1, np.int64)
    target = np.full(slots.size, -1, np.int64)
    aim_x = np.zeros(slots.size)
    aim_y = np.zeros(slots.size)
    srole = role[slots]
    omni = d.targeting_omniscient[slots] & (srole != ISR)
    enemy = 1 - d.side[slots]
    # ISR: to the fixed station, else over the enemy's platoon anchors (prior intelligence).
    isr = _nz(srole == ISR)
    if isr.size:
        p = state.platoons
        # Over each side's platoon anchors: nan where a side has no platoon or nobody alive.
        count = np.bincount(p.side, minlength=2)
        alive = np.array([a.size > 0 for a in alive_by_side])
        with np.errstate(invalid="ignore", divide="ignore"):
            over_x = np.where(alive, np.bincount(p.side, p.ax, minlength=2) / count, np.nan)
            over_y = np.where(alive, np.bincount(p.side, p.ay, minlength=2) / count, np.nan)
        fixed = np.isfinite(d.station_x[slots[isr]])
        aim_x[isr] = np.where(fixed, d.station_x[slots[isr]], over_x[enemy[isr]])
        aim_y[isr] = np.where(fixed, d.station_y[slots[isr]], over_y[enemy[isr]])
        go[isr] = np.isfinite(aim_x[isr])
    # Omniscient attack drones: a soldier now.
    om = _nz(omni)
    if om.size:
        picks = select_targets(state, slots[om], d.home_x[slots[om]], d.home_y[slots[om]],
                               np.full(om.size, FAR), np.ones(om.size, bool))
        target[om] = picks
        go[om] = picks >= 0
    # Track-cued attack drones: a tracked group by policy, within link range.
    cued = _nz((srole != ISR) & ~omni)
    if cued.size:
        tr = state.tracks
        for side in (0, 1):
            sel = cued[d.side[slots[cued]] == side]
            fresh = _nz(_fresh_tracks(state, side))
            if sel.size == 0 or fresh.size == 0:
                continue
            tx, ty, tn = tr.x[side, fresh], tr.y[side, fresh], tr.n[side, fresh]
            hx, hy = d.home_x[slots[sel]], d.home_y[slots[sel]]
            dist = np.hypot(tx[None, :] - hx[:, None], ty[None, :] - hy[:, None])
            policy = d.policy[slots[sel]][:, None]
            value = state.platoons.value[fresh][None, :] * tn[None, :]
            u = pair_uniforms(
                state.streams["drones.task"], step,
                np.broadcast_to(fresh.astype(np.int64), dist.shape).ravel(),
                np.repeat(slots[sel].astype(np.int64), fresh.size),
            ).reshape(dist.shape)
            score = np.select(
                [policy == 0, policy == DENSEST, policy == RANDOM],
                [-dist, np.broadcast_to(tn, dist.shape).astype(float), u], value,
            )
            score = np.where(dist <= 0.95 * t.link_range[d.dtype[slots[sel]]][:, None],
                             score, -np.inf)
            best = np.argmax(score, axis=1)
            ok = np.isfinite(score[np.arange(sel.size), best])
            track[sel[ok]] = fresh[best[ok]]
            aim_x[sel[ok]] = tx[best[ok]]
            aim_y[sel[ok]] = ty[best[ok]]
            go[sel[ok]] = True
    slots, track, target = slots[go], track[go], target[go]
    if slots.size == 0:
        return
    kind = d.dtype[slots]
    first = int(state.cache.get("next_sortie", 0))
    d.sortie[slots] = first + np.arange(slots.size)
    state.cache["next_sortie"] = first + slots.size
    d.state[slots] = FLYING
    d.phase[slots] = np.where(target >= 0, ATTACK, TRANSIT)
    d.x[slots], d.y[slots] = d.home_x[slots], d.home_y[slots]
    d.target[slots], d.track[slots] = target, track
    d.aim_x[slots], d.aim_y[slots] = aim_x[go], aim_y[go]
    d.battery_end[slots] = step + np.ceil(t.endurance[kind] / state.dt).astype(np.int64)
    d.bombs_left[slots] = t.bombs[kind]
    d.next_bomb[slots] = step
    d.inventory[slots] -= 1
    d.committed_decoy[slots] = False
    np.add.at(state.counters.fates[:, :, LAUNCHED], (d.side[slots], kind), 1)
    log.add(step, "launch", d.side[slots], d.x[slots], d.y[slots], weapon=kind,
            actor=d.sortie[slots], target=target, platoon=track)


def jamming(state: State, log: EventLog) -> None:
    """Radio links break near enemy jammers; any link breaks beyond its range."""
    d, t, j = state.drones, state.types, state.jammers
    flying = _nz(d.state == FLYING)
    if flying.size == 0:
        return
    kind = d.dtype[flying]
    out_of_range = np.hypot(d.x[flying] - d.home_x[flying],
                            d.y[flying] - d.home_y[flying]) > t.link_range[kind]
    end_sorties(state, log, flying[out_of_range], CRASHED, "crash",
                len(state.weapon_names) + EXTRA_CAUSES.index("link_range"))
    flying = flying[~out_of_range]
    kind = d.dtype[flying]
    radio = t.radio[kind]
    jammers = _nz(j.active)
    if jammers.size == 0 or not radio.any():
        return
    slots = flying[radio]
    dist = np.hypot(d.x[slots][:, None] - j.x[jammers][None, :],
                    d.y[slots][:, None] - j.y[jammers][None, :])
    hostile = j.side[jammers][None, :] != d.side[slots][:, None]
    p_each = np.where(hostile & (dist <= j.radius[jammers][None, :]),
                      j.strength[jammers][None, :], 0.0)
    p_keep = np.prod(1.0 - p_each, axis=1)
    p_loss = (1.0 - p_keep) * (1.0 - t.link_resistance[d.dtype[slots]])
    exposed = p_loss > 0
    u = uniforms(state.streams["ew.link_loss"], state.step, slots[exposed].astype(np.int64), 0)
    lost = slots[exposed][u < p_loss[exposed]]
    end_sorties(state, log, lost, JAMMED, "jam_loss",
                len(state.weapon_names) + EXTRA_CAUSES.index("jamming"))


def _move(d, slots: np.ndarray, gx: np.ndarray, gy: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """Fly ``slots`` towards goals; returns which arrived (distance before moving <= reach)."""
    dx, dy = gx - d.x[slots], gy - d.y[slots]
    dist = np.hypot(dx, dy)
    arrive = dist <= reach
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(arrive, 1.0, reach / dist)
    d.x[slots] = np.where(arrive, gx, d.x[slots] + dx * frac)
    d.y[slots] = np.where(arrive, gy, d.y[slots] + dy * frac)
    return arrive


def flight(state: State, log: EventLog) -> None:
    """Move every flying drone one step; collect and resolve strikes and bombs."""
    d, t, s = state.drones, state.types, state.soldiers
    step = state.step
    flying = _nz(d.state == FLYING)
    if flying.size == 0:
        return
    kind = d.dtype[flying]
    role = t.role[kind]
    reach = t.speed[kind] * state.dt
    # Endurance: strike drones fall out of the sky; others turn home in time.
    home_steps = np.hypot(d.x[flying] - d.home_x[flying], d.y[flying] - d.home_y[flying]) / (
        t.speed[kind] * state.dt)
    striker = (role == FPV) | (role == LOITERING)
    flat = striker & (step >= d.battery_end[flying])
    end_sorties(state, log, flying[flat], CRASHED, "crash",
                len(state.weapon_names) + EXTRA_CAUSES.index("endurance"))
    turn = ~striker & (d.phase[flying] != RETURN) & (step + home_steps + 1 >= d.battery_end[flying])
    d.phase[flying[turn]] = RETURN
    d.target[flying[turn]] = -1
    keep = ~flat
    flying, kind, role, reach = flying[keep], kind[keep], role[keep], reach[keep]
    if flying.size == 0:
        return
    attackers = flying[(role != ISR) & (d.phase[flying] != RETURN)]
    _retarget(state, attackers)
    # ISR follows the largest fresh tracked group unless it has a fixed station.
    isr = flying[(role == ISR) & (d.phase[flying] != RETURN) & ~np.isfinite(d.station_x[flying])]
    if isr.size:
        for side in (0, 1):
            sel = isr[d.side[isr] == side]
            if sel.size == 0:
                continue
            fresh = _nz(_fresh_tracks(state, side))
            if fresh.size:
                best = fresh[np.argmax(state.tracks.n[side, fresh])]
                d.aim_x[sel] = state.tracks.x[side, best]
                d.aim_y[sel] = state.tracks.y[side, best]
    has_target = d.target[flying] >= 0
    gx = np.where(has_target, s.x[np.maximum(d.target[flying], 0)], d.aim_x[flying])
    gy = np.where(has_target, s.y[np.maximum(d.target[flying], 0)], d.aim_y[flying])
    going_home = d.phase[flying] == RETURN
    gx = np.where(going_home, d.home_x[flying], gx)
    gy = np.where(going_home, d.home_y[flying], gy)
    arrive = _move(d, flying, gx, gy, reach)
    returned = flying[arrive & going_home]
    end_sorties(state, log, returned, RETURNED, "return")
    d.phase[flying[arrive & (role == ISR) & ~going_home]] = ON_STATION
    hit = arrive & has_target & ~going_home
    strikers = flying[hit & ((role == FPV) | (role == LOITERING))]
    bombers = flying[hit & (role == BOMBER)]
    bombers = bombers[d.next_bomb[bombers] <= step]
    _strike(state, log, strikers, bombers)


def _retarget(state: State, slots: np.ndarray) -> None:
    """Replace dead targets; let track-cued drones near their aim acquire a soldier."""
    d, t, s = state.drones, state.types, state.soldiers
    if slots.size == 0:
        return
    dead = (d.target[slots] >= 0) & (s.status[np.maximum(d.target[slots], 0)] == KILLED)
    d.target[slots[dead]] = -1
    d.committed_decoy[slots[dead]] = False
    need = slots[d.target[slots] < 0]
    if need.size == 0:
        return
    omni = d.targeting_omniscient[need]
    cued = need[~omni]
    # Track-cued drones keep flying at the latest sighting of their group.
    has_track = cued[d.track[cued] >= 0]
    tr = state.tracks
    side = d.side[has_track]
    d.aim_x[has_track] = tr.x[side, d.track[has_track]]
    d.aim_y[has_track] = tr.y[side, d.track[has_track]]
    kind = d.dtype[need]
    acquire_range = t.acquire_range[kind] * np.where(
        state.scenario.night & ~t.night_capable[kind], NIGHT_ACQUIRE_FACTOR, 1.0)
    near = omni | (np.hypot(d.aim_x[need] - d.x[need], d.aim_y[need] - d.y[need])
                   <= acquire_range)
    pick = need[near]
    targets = select_targets(state, pick, d.x[pick], d.y[pick], acquire_range[near], omni[near])
    d.target[pick] = targets
    d.phase[pick[targets >= 0]] = ATTACK


def _strike(state: State, log: EventLog, strikers: np.ndarray, bombers: np.ndarray) -> None:
    d, t, s = state.drones, state.types, state.soldiers
    step = state.step
    slots = np.concatenate([strikers, bombers])
    if slots.size == 0:
        return
    kind = d.dtype[slots]
    n_bomb = t.bombs[kind] - d.bombs_left[slots]
    blast_id = d.sortie[slots] * 64 + np.where(np.arange(slots.size) < strikers.size, 0, n_bomb)
    err = normals(state.streams["drones.aim"], step, blast_id, 0) * t.aim_error[kind][:, None]
    target = d.target[slots]
    bx, by = s.x[target] + err[:, 0], s.y[target] + err[:, 1]
    d.x[slots], d.y[slots] = s.x[target], s.y[target]
    np.add.at(state.counters.strikes, (d.side[slots], kind), 1)
    is_bomb = np.arange(slots.size) >= strikers.size
    for label, mask in (("strike", ~is_bomb), ("bomb", is_bomb)):
        log.add(step, label, d.side[slots[mask]], bx[mask], by[mask], weapon=kind[mask],
                actor=d.sortie[slots[mask]], target=target[mask],
                platoon=s.platoon[target[mask]])
    end_sorties(state, log, strikers, EXPENDED, None)
    if bombers.size:
        d.bombs_left[bombers] -= 1
        d.next_bomb[bombers] = step + np.ceil(
            t.bomb_interval[d.dtype[bombers]] / state.dt).astype(np.int64)
        d.target[bombers] = -1
        d.phase[bombers[d.bombs_left[bombers] <= 0]] = RETURN
    resolve_blasts(state, log, bx, by, t.rings[kind], blast_id, kind.astype(np.int64),
                   t.cover_penetration[kind], "damage.drones")
