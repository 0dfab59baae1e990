"""Numba kernels for the per-step drone work: launch readiness and plans, link losses, flight.

Each kernel loops over the drone slots once and does, per slot, exactly the arithmetic (and
the random draws) that ``drones.py`` describes, so results are bit-identical to array code.
Kernels write slot lists into a caller's ``out`` buffer and return counts; the Python side
calls the rare helpers (target selection, ``end_sorties``, strikes) only when a count is
non-zero. Drone slots are processed independently, so one pass per slot is equivalent to
the stage-wide mask operations it replaces.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.formulas import fresh_track, jam_keep, miss_probability
from dronefront.engine.rng import normals, uniform
from dronefront.engine.state import (
    ATTACK,
    BOMBER,
    DENSEST,
    FLYING,
    FPV,
    IDLE,
    ISR,
    KILLED,
    LAUNCHED,
    LOITERING,
    MOVING,
    NEAREST,
    ON_STATION,
    RANDOM,
    RETURN,
    TRANSIT,
    WEIGHTED,
    WOUNDED,
    Bodies,
    Drones,
    Jammers,
    Positions,
    Tracks,
)

NIGHT_ACQUIRE_FACTOR = 0.3  # assumption: day-only cameras at night

_jit = nb.njit(cache=True, error_model="numpy")


class Performance(NamedTuple):
    """Kernel view: the drone type columns (by type) that flight, launch and strikes read."""

    role: np.ndarray
    speed: np.ndarray
    endurance: np.ndarray
    link_range: np.ndarray
    acquire_range: np.ndarray
    night_capable: np.ndarray
    bombs: np.ndarray
    bomb_interval: np.ndarray
    aim_error: np.ndarray


class Readiness(NamedTuple):
    """Kernel view: the drone slot columns that decide whether a team may launch."""

    state: np.ndarray
    ready_step: np.ndarray
    inventory: np.ndarray
    active_from: np.ndarray
    active_until: np.ndarray
    dtype: np.ndarray


class Sorties(NamedTuple):
    """Kernel view: the drone slot columns a step of flight reads and writes."""

    state: np.ndarray
    dtype: np.ndarray
    side: np.ndarray
    phase: np.ndarray
    x: np.ndarray
    y: np.ndarray
    home_x: np.ndarray
    home_y: np.ndarray
    battery_end: np.ndarray
    target: np.ndarray
    track: np.ndarray
    aim_x: np.ndarray
    aim_y: np.ndarray
    targeting_omniscient: np.ndarray
    committed_decoy: np.ndarray
    station_x: np.ndarray
    next_bomb: np.ndarray
    strikes_fallen: np.ndarray


class Tethers(NamedTuple):
    """Kernel view: the drone slot columns that decide whether a link holds."""

    state: np.ndarray
    dtype: np.ndarray
    side: np.ndarray
    x: np.ndarray
    y: np.ndarray
    home_x: np.ndarray
    home_y: np.ndarray


class Cruise(NamedTuple):
    """Kernel view: the drone type columns (by type) a step of flight reads."""

    role: np.ndarray
    speed: np.ndarray
    acquire_range: np.ndarray
    night_capable: np.ndarray


class Links(NamedTuple):
    """Kernel view: the drone type columns (by type) of its control link."""

    link_range: np.ndarray
    radio: np.ndarray
    link_resistance: np.ndarray


class Terminal(NamedTuple):
    """Kernel view: the drone type columns (by type) of a terminal dive's miss probability."""

    radio: np.ndarray
    operator_skill: np.ndarray
    terminal_miss: np.ndarray
    miss_per_speed: np.ndarray
    miss_per_jamming: np.ndarray
    miss_under_fire: np.ndarray
    autonomy_range: np.ndarray
    autonomy_miss: np.ndarray


class Dives(NamedTuple):
    """Kernel view: the drone slot columns a terminal dive reads."""

    dtype: np.ndarray
    side: np.ndarray
    sortie: np.ndarray
    target: np.ndarray
    fire_step: np.ndarray
    fire_shooters: np.ndarray


class Anchors(NamedTuple):
    """Kernel view: the platoon columns launch plans read."""

    side: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    value: np.ndarray


class Plan(NamedTuple):
    """Kernel view: where each ready slot would fly (``plan_launch``) and its soldier."""

    slots: np.ndarray  # int64 ready slots
    go: np.ndarray  # bool: launches
    target: np.ndarray  # int64 soldier, -1 none
    track: np.ndarray  # int64 enemy platoon, -1 none
    aim_x: np.ndarray  # float64 m
    aim_y: np.ndarray  # float64 m


@_jit
def best_track(side, step, ttl, p_side, tr_n, tr_step):
    """The fresh enemy group with most soldiers that ``side`` tracks (lowest index on ties)."""
    best, best_n = -1, 0
    for g in range(p_side.shape[0]):
        if fresh_track(side, g, step, ttl, p_side, tr_n, tr_step):
            if best < 0 or tr_n[side, g] > best_n:
                best, best_n = g, tr_n[side, g]
    return best


@_jit
def ready_slots(step, night, readiness, role, night_capable, idle, epoch, out):
    """Write the idle slots that may launch now into ``out``; return how many. Slots with
    ``idle[i] == epoch`` are left out: ``Launch`` found nothing for them to fly at while the
    tracks stood as they stand now (``State.track_epoch``)."""
    d = Readiness(*readiness)
    state, ready_step, inventory, dtype = d.state, d.ready_step, d.inventory, d.dtype
    active_from, active_until = d.active_from, d.active_until
    n = 0
    for i in range(state.shape[0]):
        if (state[i] == IDLE and ready_step[i] <= step and inventory[i] > 0
                and active_from[i] <= step and step < active_until[i] and idle[i] != epoch):
            k = dtype[i]
            if night and role[k] == ISR and not night_capable[k]:
                continue
            out[n] = i
            n += 1
    return n


@_jit
def plan_launch(step, key, ttl, slots, drones, performance, s_side, s_status, anchors, tracks):
    """Where each ready slot would fly: (go, track, aim_x, aim_y, omni).

    ISR: its fixed station, else the mean anchor of the enemy's platoons (while any enemy
    lives). Track-cued attack drones: the best fresh track within 0.95 of link range by
    policy. Omniscient attack drones are only flagged: the caller picks their soldier.
    """
    d, perf, a, tr = Drones(*drones), Performance(*performance), Anchors(*anchors), Tracks(*tracks)
    dtype, side, omniscient, policy = d.dtype, d.side, d.targeting_omniscient, d.policy
    station_x, station_y, home_x, home_y = d.station_x, d.station_y, d.home_x, d.home_y
    role, link_range = perf.role, perf.link_range
    p_side, p_ax, p_ay, p_value = a.side, a.ax, a.ay, a.value
    tr_x, tr_y, tr_n, tr_step = tr.x, tr.y, tr.n, tr.step
    m = slots.shape[0]
    go = np.zeros(m, np.bool_)
    track = np.full(m, -1, np.int64)
    aim_x = np.zeros(m)
    aim_y = np.zeros(m)
    omni = np.zeros(m, np.bool_)
    # Over each side's platoon anchors: nan where a side has no platoon or nobody alive.
    # Summed in platoon order, as np.bincount does, so the means match to the bit.
    alive = np.zeros(2, np.bool_)
    for j in range(s_side.shape[0]):
        if s_status[j] != KILLED:
            alive[s_side[j]] = True
    sum_x, sum_y, count = np.zeros(2), np.zeros(2), np.zeros(2, np.int64)
    for g in range(p_side.shape[0]):
        sum_x[p_side[g]] += p_ax[g]
        sum_y[p_side[g]] += p_ay[g]
        count[p_side[g]] += 1
    for i in range(m):
        slot = slots[i]
        k = dtype[slot]
        enemy = 1 - side[slot]
        if role[k] == ISR:
            if np.isfinite(station_x[slot]):
                aim_x[i], aim_y[i] = station_x[slot], station_y[slot]
            elif alive[enemy] and count[enemy] > 0:
                aim_x[i], aim_y[i] = sum_x[enemy] / count[enemy], sum_y[enemy] / count[enemy]
            else:
                aim_x[i], aim_y[i] = np.nan, np.nan
            go[i] = np.isfinite(aim_x[i])
            continue
        if omniscient[slot]:
            omni[i] = True
            continue
        own = side[slot]
        reach = 0.95 * link_range[k]
        best, best_score = -1, -np.inf
        for g in range(p_side.shape[0]):
            if not fresh_track(own, g, step, ttl[own], p_side, tr_n, tr_step):
                continue
            dist = np.hypot(tr_x[own, g] - home_x[slot], tr_y[own, g] - home_y[slot])
            if not dist <= reach:
                continue
            if policy[slot] == NEAREST:
                score = -dist
            elif policy[slot] == DENSEST or policy[slot] == WEIGHTED:
                score = float(tr_n[own, g])
            elif policy[slot] == RANDOM:
                score = uniform(key, step, g, slot)
            else:
                score = p_value[g] * tr_n[own, g]
            if best < 0 or score > best_score:
                best, best_score = g, score
        if best >= 0 and np.isfinite(best_score):
            track[i] = best
            aim_x[i], aim_y[i] = tr_x[own, best], tr_y[own, best]
            go[i] = True
    return go, track, aim_x, aim_y, omni


@_jit
def launch_slots(step, dt, first, plan, drones, performance, fates):
    """Launch ``slots[go]`` in order with sorties numbered from ``first``; return how many.

    Each airframe leaves home with a full battery and bomb load, to ATTACK its soldier if
    it has one, else in TRANSIT to its aim point.
    """
    q, d, perf = Plan(*plan), Drones(*drones), Performance(*performance)
    slots, go, target, track, aim_x, aim_y = q.slots, q.go, q.target, q.track, q.aim_x, q.aim_y
    dtype, side, state, phase, x, y = d.dtype, d.side, d.state, d.phase, d.x, d.y
    home_x, home_y, d_target, d_track = d.home_x, d.home_y, d.target, d.track
    d_aim_x, d_aim_y, battery_end, bombs_left = d.aim_x, d.aim_y, d.battery_end, d.bombs_left
    next_bomb, inventory, committed_decoy, sortie = (d.next_bomb, d.inventory,
                                                     d.committed_decoy, d.sortie)
    endurance, bombs = perf.endurance, perf.bombs
    m = 0
    for i in range(slots.shape[0]):
        if not go[i]:
            continue
        slot = slots[i]
        k = dtype[slot]
        sortie[slot] = first + m
        m += 1
        state[slot] = FLYING
        phase[slot] = ATTACK if target[i] >= 0 else TRANSIT
        x[slot], y[slot] = home_x[slot], home_y[slot]
        d_target[slot], d_track[slot] = target[i], track[i]
        d_aim_x[slot], d_aim_y[slot] = aim_x[i], aim_y[i]
        battery_end[slot] = step + np.int64(np.ceil(endurance[k] / dt))
        bombs_left[slot] = bombs[k]
        next_bomb[slot] = step
        inventory[slot] -= 1
        committed_decoy[slot] = False
        fates[side[slot], k, LAUNCHED] += 1
    return m

@_jit
def link_losses(step, key, tethers, links, jammers, out):
    """Flying slots that lose their link: (beyond link range, jammed).

    Writes the first list at ``out[:n]`` and the second at ``out[n:]`` (``n`` slots). A
    radio link near hostile jammers survives with the product of ``1 - strength`` over
    them; it is lost with ``(1 - that) * (1 - resistance)``, one draw per exposed slot.
    """
    d, lk, jm = Tethers(*tethers), Links(*links), Jammers(*jammers)
    state, dtype, side, x, y = d.state, d.dtype, d.side, d.x, d.y
    home_x, home_y = d.home_x, d.home_y
    link_range, radio, resistance = lk.link_range, lk.radio, lk.link_resistance
    j_active, j_side, j_x, j_y, j_radius, j_strength = (jm.active, jm.side, jm.x, jm.y, jm.radius,
                                                        jm.strength)
    n = state.shape[0]
    n_range, n_jam = 0, 0
    for i in range(n):
        if state[i] != FLYING:
            continue
        k = dtype[i]
        if np.hypot(x[i] - home_x[i], y[i] - home_y[i]) > link_range[k]:
            out[n_range] = i
            n_range += 1
            continue
        if not radio[k]:
            continue
        p_keep = jam_keep(x[i], y[i], side[i], j_active, j_side, j_x, j_y, j_radius,
                          j_strength)
        p_loss = (1.0 - p_keep) * (1.0 - resistance[k])
        if p_loss > 0 and uniform(key, step, i, 0) < p_loss:
            out[n + n_jam] = i
            n_jam += 1
    return n_range, n_jam


@_jit
def flight_begin(step, dt, night, sorties, cruise, s_status, tracks, out, reach_out):
    """Endurance, turning home and retargeting: (flying, flat, to acquire).

    Strike drones with a flat battery are listed at ``out[:n_flat]`` (the caller grounds
    them); others turn home when the way back takes the battery left. Attack drones drop
    dead targets (and wounded ones, unless ``strikes_fallen``) and follow their track;
    those that need a soldier and are near their aim
    (or omniscient) are listed at ``out[n:]`` with their acquire range in ``reach_out``.
    """
    d, perf, tr = Sorties(*sorties), Cruise(*cruise), Tracks(*tracks)
    state, dtype, side, phase, x, y = d.state, d.dtype, d.side, d.phase, d.x, d.y
    home_x, home_y, battery_end, target, track = (d.home_x, d.home_y, d.battery_end, d.target,
                                                  d.track)
    aim_x, aim_y, omniscient, committed_decoy = (d.aim_x, d.aim_y, d.targeting_omniscient,
                                                 d.committed_decoy)
    strikes_fallen = d.strikes_fallen
    role, speed, acquire_range, night_capable = (perf.role, perf.speed, perf.acquire_range,
                                                 perf.night_capable)
    tr_x, tr_y = tr.x, tr.y
    n = state.shape[0]
    n_fly, n_flat, n_pick = 0, 0, 0
    for i in range(n):
        if state[i] != FLYING:
            continue
        k = dtype[i]
        r = role[k]
        if r == FPV or r == LOITERING:
            if step >= battery_end[i]:
                out[n_flat] = i
                n_flat += 1
                continue
        elif phase[i] != RETURN:
            home_steps = np.hypot(x[i] - home_x[i], y[i] - home_y[i]) / (speed[k] * dt)
            if step + home_steps + 1 >= battery_end[i]:
                phase[i] = RETURN
                target[i] = -1
        n_fly += 1
        if r == ISR or phase[i] == RETURN:
            continue
        tg = target[i]
        # A policy that spares the fallen drops a target who fell wounded (docs/model.md §8.6).
        if tg >= 0 and (s_status[tg] == KILLED
                        or (s_status[tg] == WOUNDED and not strikes_fallen[i])):
            target[i] = -1
            committed_decoy[i] = False
            tg = -1
        if tg >= 0:
            continue
        # Track-cued drones keep flying at the latest sighting of their group.
        if not omniscient[i] and track[i] >= 0:
            aim_x[i] = tr_x[side[i], track[i]]
            aim_y[i] = tr_y[side[i], track[i]]
        reach = acquire_range[k] * (NIGHT_ACQUIRE_FACTOR if night and not night_capable[k]
                                    else 1.0)
        if omniscient[i] or np.hypot(aim_x[i] - x[i], aim_y[i] - y[i]) <= reach:
            out[n + n_pick] = i
            reach_out[n_pick] = reach
            n_pick += 1
    return n_fly, n_flat, n_pick


@_jit
def flight_move(step, dt, ttl, sorties, cruise, s_x, s_y, p_side, tracks, out):
    """Aim ISR, move every flying drone one step and sort the arrivals: (home, strike, bomb).

    Roaming ISR follows the largest fresh tracked group. A drone flies at its home (RETURN),
    else its soldier, else its aim point; it arrives when the goal is within one step's
    reach. Lists: home ``out[2n:]``, strikers ``out[3n:]``, bombers ``out[4n:]`` (``n``
    slots). Strike drones with a flat battery (still FLYING until the caller grounds them)
    are skipped.
    """
    d, perf, tr = Sorties(*sorties), Cruise(*cruise), Tracks(*tracks)
    state, dtype, side, phase, x, y = d.state, d.dtype, d.side, d.phase, d.x, d.y
    home_x, home_y, battery_end, target = d.home_x, d.home_y, d.battery_end, d.target
    aim_x, aim_y, station_x, next_bomb = d.aim_x, d.aim_y, d.station_x, d.next_bomb
    role, speed = perf.role, perf.speed
    tr_x, tr_y, tr_n, tr_step = tr.x, tr.y, tr.n, tr.step
    n = state.shape[0]
    n_home, n_strike, n_bomb = 0, 0, 0
    best = np.full(2, -2, np.int64)  # -2: not looked up yet
    for i in range(n):
        if state[i] != FLYING:
            continue
        k = dtype[i]
        r = role[k]
        striker = r == FPV or r == LOITERING
        if striker and step >= battery_end[i]:
            continue
        going_home = phase[i] == RETURN
        if r == ISR and not going_home and not np.isfinite(station_x[i]):
            sd = side[i]
            if best[sd] == -2:
                best[sd] = best_track(sd, step, ttl[sd], p_side, tr_n, tr_step)
            if best[sd] >= 0:
                aim_x[i] = tr_x[sd, best[sd]]
                aim_y[i] = tr_y[sd, best[sd]]
        tg = target[i]
        if going_home:
            gx, gy = home_x[i], home_y[i]
        elif tg >= 0:
            gx, gy = s_x[tg], s_y[tg]
        else:
            gx, gy = aim_x[i], aim_y[i]
        dx, dy = gx - x[i], gy - y[i]
        dist = np.hypot(dx, dy)
        reach = speed[k] * dt
        if not dist <= reach:
            frac = reach / dist
            x[i] = x[i] + dx * frac
            y[i] = y[i] + dy * frac
            continue
        x[i], y[i] = gx, gy
        if going_home:
            out[2 * n + n_home] = i
            n_home += 1
            continue
        if r == ISR:
            phase[i] = ON_STATION
        if tg >= 0:
            if striker:
                out[3 * n + n_strike] = i
                n_strike += 1
            elif r == BOMBER and next_bomb[i] <= step:
                out[4 * n + n_bomb] = i
                n_bomb += 1
    return n_home, n_strike, n_bomb


@_jit
def flight_step(step, dt, night, ttl, sorties, cruise, positions, p_side, tracks, out,
                reach_out):
    """``flight_begin``, then ``flight_move`` unless some drone needs a target acquired.

    Returns (flying, flat, to acquire, home, strikers, bombers); the last three are -1 when
    the move is left to the caller (after it has acquired targets).
    """
    b = Positions(*positions)
    n_fly, n_flat, n_pick = flight_begin(step, dt, night, sorties, cruise, b.status, tracks,
                                         out, reach_out)
    if n_fly == 0 or n_pick > 0:
        return n_fly, n_flat, n_pick, -1, -1, -1
    n_home, n_strike, n_bomb = flight_move(step, dt, ttl, sorties, cruise, b.x, b.y, p_side,
                                           tracks, out)
    return n_fly, n_flat, n_pick, n_home, n_strike, n_bomb


@_jit
def strike(step, dt, key, strikers, bombers, drones, performance, s_x, s_y, strikes):
    """Strikers detonate and bombers drop on their soldier: (slots, kind, blast_id, target, bx, by).

    A blast lands at the target plus a normal aim error; blast ids are ``sortie * 64`` plus
    the bomb number. Each drone is moved onto its target; bombers reload, drop the target
    and turn home when out of bombs. Counts ``strikes``.
    """
    d, perf = Drones(*drones), Performance(*performance)
    dtype, side, sortie, target = d.dtype, d.side, d.sortie, d.target
    x, y, phase = d.x, d.y, d.phase
    bombs_left, next_bomb = d.bombs_left, d.next_bomb
    bombs, bomb_interval, aim_error = perf.bombs, perf.bomb_interval, perf.aim_error
    ns = strikers.shape[0]
    m = ns + bombers.shape[0]
    slots = np.concatenate((strikers, bombers))
    kind = np.empty(m, np.int64)
    blast_id = np.empty(m, np.int64)
    tgt = np.empty(m, np.int64)
    for i in range(m):
        slot = slots[i]
        kind[i] = dtype[slot]
        blast_id[i] = sortie[slot] * 64 + (0 if i < ns else bombs[kind[i]] - bombs_left[slot])
        tgt[i] = target[slot]
    err = normals(key, step, blast_id, 0)
    bx = np.empty(m)
    by = np.empty(m)
    for i in range(m):
        slot, k, tg = slots[i], kind[i], tgt[i]
        bx[i] = s_x[tg] + err[i, 0] * aim_error[k]
        by[i] = s_y[tg] + err[i, 1] * aim_error[k]
        x[slot], y[slot] = s_x[tg], s_y[tg]
        strikes[side[slot], k] += 1
        if i >= ns:
            bombs_left[slot] -= 1
            next_bomb[slot] = step + np.int64(np.ceil(bomb_interval[k] / dt))
            target[slot] = -1
            if bombs_left[slot] <= 0:
                phase[slot] = RETURN
    return slots, kind, blast_id, tgt, bx, by


@_jit
def terminal_misses(step, key, strikers, dives, terminal, bodies, pace, jammers):
    """Whether each striker's terminal dive misses its soldier (bool, ``strikers`` order).

    The miss probability is ``formulas.miss_probability`` of the type's base miss and skill
    and three hazards: ``miss_per_speed`` times the target's speed (its platoon's pace while
    its posture is moving, else 0), ``miss_per_jamming`` times the hostile jamming at the
    target (``1 - jam_keep``; radio links only: fibre sees no jamming) and
    ``miss_under_fire`` times ``ln(1 + shooters)``, the soldiers that fired at the drone in
    the latest step (each more shooter spoils the dive less). A type with autonomous terminal
    guidance (``autonomy_range > 0``) dives on its own: base ``autonomy_miss``, skill 1 and
    no jamming hazard. One draw per striker, keyed by its sortie.
    """
    d, tm, b, jm = Dives(*dives), Terminal(*terminal), Bodies(*bodies), Jammers(*jammers)
    dtype, side, sortie, target = d.dtype, d.side, d.sortie, d.target
    fire_step, fire_shooters = d.fire_step, d.fire_shooters
    radio = tm.radio
    skill, base, per_speed, per_jam, per_fire = (tm.operator_skill, tm.terminal_miss,
                                                    tm.miss_per_speed, tm.miss_per_jamming,
                                                    tm.miss_under_fire)
    auto_range, auto_miss = tm.autonomy_range, tm.autonomy_miss
    s_x, s_y, s_platoon, s_posture = b.x, b.y, b.platoon, b.posture
    j_active, j_side, j_x, j_y, j_radius, j_strength = (jm.active, jm.side, jm.x, jm.y, jm.radius,
                                                        jm.strength)
    m = strikers.shape[0]
    miss = np.zeros(m, np.bool_)
    for i in range(m):
        slot = strikers[i]
        k, tg = dtype[slot], target[slot]
        speed = pace[s_platoon[tg]] if s_posture[tg] == MOVING else 0.0
        jam = 0.0
        if radio[k] and per_jam[k] > 0 and auto_range[k] <= 0:
            jam = 1.0 - jam_keep(s_x[tg], s_y[tg], side[slot], j_active, j_side, j_x, j_y,
                                 j_radius, j_strength)
        shooters = fire_shooters[slot] if fire_step[slot] >= step - 1 else 0
        if auto_range[k] > 0:
            p = miss_probability(auto_miss[k], 1.0, per_speed[k] * speed, 0.0,
                                 per_fire[k] * np.log1p(shooters))
        else:
            p = miss_probability(base[k], skill[k], per_speed[k] * speed, per_jam[k] * jam,
                                 per_fire[k] * np.log1p(shooters))
        miss[i] = p > 0 and uniform(key, step, sortie[slot], 0) < p
    return miss
