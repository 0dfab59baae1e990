"""Counter-drone: soldiers detect drones, run their platoon's drill, and shoot drones down.

Detection: a healthy soldier ``j`` can notice a drone within ``r_j = signature * spotting_j
* (spotter_bonus if a posted spotter) * (night_factor at night)`` (3-D distance, the drone
at its cruise altitude). A platoon with ``n`` soldiers in range gains contact with
probability ``1 - (1 - detect_prob)^n`` per step and keeps it while anyone stays in range.

Drill on a new contact: freeze (halt and conceal for ``freeze_time``), disperse (open the
formation by ``disperse_factor`` at a sprint for ``disperse_time``), decoy (an attack drone
bound for the platoon commits to the decoy soldier with the drone side's ``decoy_commit``
probability, while the decoy runs ``decoy_distance`` metres out), engage (fire).

Fire: each healthy shooter of an engaging platoon in contact, within ``engage_range``, hits
with ``p_j = marksmanship_j * (1 - range_falloff * d / engage_range) * min(1,
(reference_speed / speed) ** speed_exponent) * (decoy_hit_bonus if committed to a decoy)``;
the drone falls with probability ``1 - prod_j (1 - p_j)`` (one draw per drone and step).

Warnings: a platoon's first contact with a sortie warns every other platoon of its side whose
anchor lies within ``warning_radius``; ``warning_delay`` later each warned platoon still out
of contact with that drone runs its drill as if it had spotted it (``State.warnings``).

Enemy interceptor drones (``Layers.interceptors``) are seen, drilled against and fired at by
the same kernels, with contacts of their own (``Layers.contacts``) and their own streams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.batch import grid_rows, packed_grids, rows, same, stacked_view, steps
from dronefront.engine.events import EventLog
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import (
    Grid,
    bounding_box,
    disc_rows,
    grid_buckets,
    grid_columns,
    row_cells,
)
from dronefront.engine.stages.drones import end_sorties
from dronefront.engine.stages.layers import ground_interceptors
from dronefront.engine.state import (
    A_DECOY,
    A_DISPERSE,
    A_ENGAGE,
    A_FREEZE,
    A_GROUND,
    BOMBER,
    DECOY,
    FLYING,
    FPV,
    HEALTHY,
    INTERCEPTOR,
    LOITERING,
    NEVER,
    PRONE,
    RETURN,
    RIFLEMAN,
    SHOOTER,
    SHOT_DOWN,
    SPOTTER,
    TRANSIT,
    Airframes,
    Bodies,
    Drill,
    Marksmanship,
    Spotting,
    State,
    columns,
)
from dronefront.scenario.models import SIDES

#: ``_commit``'s answer when a drone commits to a platoon's dummy (no soldier).
DUMMY = -2

# Per-call overhead, not arithmetic, dominates on arrays this small: a step is one kernel
# call, more only on the rare steps with new contacts or contacts to fire at. Powers and
# expm1 stay in NumPy (tables built once per run, or calls on the rare steps that need
# them) so that results match NumPy's SIMD loops bit for bit.


class Profiles(NamedTuple):
    """Kernel view: how each drone type shows itself to soldiers (by type)."""

    altitude: np.ndarray  # float64 m
    signature: np.ndarray  # float64 m at which a soldier with spotting 1 may notice it
    speed_factor: np.ndarray  # float64 factor on hit probability for its speed


class Rules(NamedTuple):
    """Kernel view: the run's counter-drone parameters."""

    night: float  # factor on spotting ranges
    spotter_bonus: float
    engage_range: float  # m
    falloff: float  # share of hit probability lost at the edge of engage range
    decoy_bonus: float  # factor on hit probability against a drone chasing a decoy
    n_groups: int  # contact keys are sortie * n_groups + platoon
    p_detect: np.ndarray  # float64 platoon detection probability by soldiers in range
    decoy_commit: np.ndarray  # float64 by drone side
    decoy_distance: float  # m
    decoy_steps: int
    dt: float  # s per step
    hold_steps: np.ndarray  # int64 (G, 5) steps each drill step lasts (freeze, disperse, ground)


class Drills(NamedTuple):
    """Kernel view: the platoon columns the drills read and write."""

    frozen_until: np.ndarray
    dispersed_until: np.ndarray
    grounded_until: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    decoy_dx: np.ndarray
    decoy_dy: np.ndarray
    decoy_until: np.ndarray
    decoy_dummy: np.ndarray


class Paths(NamedTuple):
    """Kernel view: the drone slot columns that say where a drone flies next step."""

    state: np.ndarray
    side: np.ndarray
    dtype: np.ndarray
    sortie: np.ndarray
    x: np.ndarray
    y: np.ndarray
    target: np.ndarray
    committed_decoy: np.ndarray
    phase: np.ndarray
    aim_x: np.ndarray
    aim_y: np.ndarray
    home_x: np.ndarray
    home_y: np.ndarray


class Exposure(NamedTuple):
    """Kernel view: the drone type columns (by type) of its exposure to fire."""

    altitude: np.ndarray
    speed: np.ndarray
    role: np.ndarray


class Guns(NamedTuple):
    """Kernel view: the weapon classes (by class ``C``) and their factors by drone type."""

    rate: np.ndarray  # float64 (C,) rounds per second
    hit_prob: np.ndarray  # float64 (C,) per shot, trained shooter, reference range and drone
    reference_range: np.ndarray  # float64 (C,) m
    range_exponent: np.ndarray  # float64 (C,)
    max_range: np.ndarray  # float64 (C,) m
    drone_factor: np.ndarray  # float64 (C, K) speed and size factors on hit probability


class Shooters(NamedTuple):
    """Kernel view: the soldier columns of who shoots at drones, with what and how well."""

    shoots: np.ndarray  # bool (N,)
    skill: np.ndarray  # float64 (N,) factor on per-shot hit probability
    weapon: np.ndarray  # int8 (N,) weapon class
    rounds: np.ndarray  # int64 (N,) rounds left


@nb.njit(cache=True)
def _member(value, sorted_values):
    pos = np.searchsorted(sorted_values, value)
    return pos < sorted_values.shape[0] and sorted_values[pos] == value


@nb.njit(cache=True)
def _merge(sorted_keys, keep, extra, n_extra):
    """``sorted_keys[keep]`` and the first ``n_extra`` of ``extra`` (disjoint), sorted.

    Written out rather than with ``np.sort``/``np.unique``: a cached kernel using them,
    loaded from numba's on-disk cache after targeting's cached ``np.argsort``, got linked
    to the wrong sort helpers and returned unsorted arrays.
    """
    add = extra[:n_extra].copy()
    for i in range(1, n_extra):  # insertion sort: a handful of new keys per step
        v = add[i]
        k = i - 1
        while k >= 0 and add[k] > v:
            add[k + 1] = add[k]
            k -= 1
        add[k + 1] = v
    n_keep = 0
    for i in range(sorted_keys.shape[0]):
        n_keep += keep[i]
    out = np.empty(n_keep + n_extra, np.int64)
    i = j = k = 0
    while k < out.shape[0]:
        while i < sorted_keys.shape[0] and not keep[i]:
            i += 1
        if j >= n_extra or (i < sorted_keys.shape[0] and sorted_keys[i] < add[j]):
            out[k] = sorted_keys[i]
            i += 1
        else:
            out[k] = add[j]
            j += 1
        k += 1
    return out


@nb.njit(cache=True)
def _detect(airframes, profiles, bodies, spotting, rules, contacts, grids, key, step):
    """This step's contacts and the new ones, packed as ``(out, n)``: ``out[:n]`` are the
    sorted contact keys, ``out[n:]`` the new contacts' slots, platoons and keys, one block
    each (``out`` is ``contacts`` itself when nothing changed: the common case, no copy).

    Pairs are visited drones of side 1 first (against side 0's soldiers), then side 0,
    each in slot order, its platoons in the order their soldiers are met in the grid.
    """
    a, t, b, sk, ru = (Airframes(*airframes), Profiles(*profiles), Bodies(*bodies),
                       Spotting(*spotting), Rules(*rules))
    state, side, dx, dy, dtype, sortie = a.state, a.side, a.x, a.y, a.dtype, a.sortie
    altitude, signature = t.altitude, t.signature
    x, y, status, platoon, role, spotting = b.x, b.y, b.status, b.platoon, sk.role, sk.spotting
    night, spotter_bonus, n_groups, p_detect = ru.night, ru.spotter_bonus, ru.n_groups, ru.p_detect
    max_spotting = 0.0
    for j in range(spotting.shape[0]):
        max_spotting = max(max_spotting, spotting[j] * night)
    counts = np.zeros(n_groups, np.int64)
    touched = np.empty(n_groups, np.int64)
    still = np.zeros(contacts.shape[0], np.bool_)  # old contacts kept
    n_still = 0
    new_f = []
    new_g = []
    new_k = []
    for soldiers_side in range(2):
        g_ = Grid(*grids[soldiers_side])
        start, nx, items = g_.start, g_.nx, g_.items
        for f in range(state.shape[0]):
            if state[f] != FLYING or side[f] == soldiers_side:
                continue
            alt = altitude[dtype[f]]
            sig = signature[dtype[f]]
            reach = sig * max_spotting * spotter_bonus
            horizontal = reach * reach - alt * alt
            if horizontal <= 0:
                continue
            n_touched = 0
            cx0, cx1, cy0, cy1 = disc_rows(g_, dx[f], dy[f], np.sqrt(horizontal))
            for cy in range(cy0, cy1 + 1):
                c0, c1 = row_cells(nx, cy, cx0, cx1)
                for k in range(start[c0], start[c1]):
                    j = items[k]
                    if status[j] != HEALTHY:
                        continue
                    r = sig * (spotting[j] * night)
                    if role[j] == SPOTTER:
                        r *= spotter_bonus
                    ddx = x[j] - dx[f]
                    ddy = y[j] - dy[f]
                    if ddx * ddx + ddy * ddy + alt * alt <= r * r:
                        g = platoon[j]
                        if counts[g] == 0:
                            touched[n_touched] = g
                            n_touched += 1
                        counts[g] += 1
            for i in range(n_touched):
                g = touched[i]
                pair = sortie[f] * n_groups + g
                pos = np.searchsorted(contacts, pair)
                if pos < contacts.shape[0] and contacts[pos] == pair:
                    still[pos] = True
                    n_still += 1
                elif uniform(key, step, sortie[f], g) < p_detect[counts[g]]:
                    new_f.append(f)
                    new_g.append(g)
                    new_k.append(pair)
                counts[g] = 0
    m = len(new_f)
    if m == 0 and n_still == contacts.shape[0]:
        return contacts, n_still
    merged = _merge(contacts, still, np.array(new_k, np.int64), m)
    n = merged.shape[0]
    out = np.empty(n + 3 * m, np.int64)
    out[:n] = merged
    for i in range(m):
        out[n + i] = new_f[i]
        out[n + m + i] = new_g[i]
        out[n + 2 * m + i] = new_k[i]
    return out, n


@nb.njit(cache=True)
def _detect_rows(airframes, profiles, bodies, spotting, rules, contacts, offsets, grids, keys,
                 steps, due, outputs):
    """``_detect`` for every replicate of an ensemble (stacked columns; replicate ``r``'s
    contacts at ``contacts[offsets[r]:offsets[r + 1]]``, its grids in ``grids`` from
    ``batch.packed_grids``; ``keys`` and ``steps`` by replicate). ``outputs`` =
    ``(ns, busy, changed)``: each replicate's
    contacts kept ``ns[r]``; the replicates with a step to settle (contacts changed or
    left, a warning or drill step ``due``) listed at ``busy[:n]``, ``changed[r]`` where the
    contacts changed. Returns ``n`` and ``_detect``'s answers of the changed replicates,
    in order."""
    ns, busy, changed = outputs
    outs = [contacts[:0]]
    outs.pop()
    n_busy = 0
    for r in range(keys.shape[0]):
        before = contacts[offsets[r]:offsets[r + 1]]
        out, n = _detect(rows(airframes, r), profiles, rows(bodies, r), rows(spotting, r),
                         rules, before, grid_rows(grids, r), keys[r], steps[r])
        ns[r] = n
        moved = not (out.shape[0] == n and n == before.shape[0])
        changed[r] = moved
        if moved:
            outs.append(out)
        if moved or n or due[r] <= steps[r]:
            busy[n_busy] = r
            n_busy += 1
    return n_busy, outs


@nb.njit(cache=True)
def _encounters(keys, groups, seen, status, platoon, encounters, n_groups):
    """Count an encounter for each healthy member of a platoon seeing a new sortie.

    Returns the updated sorted ``seen`` keys.
    """
    per_group = np.zeros(n_groups, np.int64)
    fresh = np.empty(keys.shape[0], np.int64)
    n_fresh = 0
    for i in range(keys.shape[0]):
        if not _member(keys[i], seen):
            fresh[n_fresh] = keys[i]
            n_fresh += 1
            per_group[groups[i]] += 1
    if n_fresh == 0:
        return seen
    for j in range(status.shape[0]):
        if status[j] == HEALTHY:
            encounters[j] += per_group[platoon[j]]
    return _merge(seen, np.ones(seen.shape[0], np.bool_), fresh, n_fresh)


@nb.njit(cache=True)
def _hold(g, act, start, p, ru):
    """Start a freeze, disperse or ground step of platoon ``g`` at step ``start``."""
    until = start + ru.hold_steps[g, act]
    if act == A_FREEZE:
        p.frozen_until[g] = max(p.frozen_until[g], until)
    elif act == A_DISPERSE:
        p.dispersed_until[g] = max(p.dispersed_until[g], until)
    elif act == A_GROUND:
        p.grounded_until[g] = max(p.grounded_until[g], until)


@nb.njit(cache=True)
def _commit(f, g, step, p, a, drone_role, b, role, ru, keys):
    """A decoy step of platoon ``g`` meets drone ``f``: the bait soldier it commits to,
    ``DUMMY`` if it commits to the platoon's dummy, or -1.

    An attack drone bound for the platoon commits with its side's ``decoy_commit``; the bait
    (the first healthy decoy, else the first healthy rifleman, who becomes the decoy) runs
    ``decoy_distance`` to a flank of the platoon's healthy designated shooters (of all its
    healthy soldiers without any), where they cover it. A platoon with ``decoy_dummy`` sets
    out a dummy at that spot instead: the drone drops its soldier and track and heads for
    the spot (``decoy_dx``, ``decoy_dy`` from the anchor; the caller sets its aim there);
    nobody runs.
    """
    dtype, target, track, sortie = a.dtype, a.target, a.track, a.sortie
    committed = a.committed_decoy
    platoon, status, x, y = b.platoon, b.status, b.x, b.y
    r = drone_role[dtype[f]]
    tg = target[f]
    bound_here = platoon[tg] == g if tg >= 0 else track[f] == g
    if committed[f] or not bound_here or not (r == FPV or r == LOITERING or r == BOMBER):
        return -1
    dummy = p.decoy_dummy[g]
    bait = -1
    spare = -1
    for j in range(platoon.shape[0]):
        if dummy:
            break
        if platoon[j] != g or status[j] != HEALTHY:
            continue
        if role[j] == DECOY:
            bait = j
            break
        if spare < 0 and role[j] == RIFLEMAN:
            spare = j
    if bait < 0:
        bait = spare
    if (bait < 0 and not dummy) or not uniform(keys[0], step, sortie[f],
                                               0) < ru.decoy_commit[a.side[f]]:
        return -1
    if dummy:
        target[f] = -1
        track[f] = -1
    else:
        role[bait] = DECOY
        target[f] = bait
    committed[f] = True
    cx = cy = 0.0
    n_s = n_all = 0
    ax = ay = 0.0
    for j in range(platoon.shape[0]):
        if platoon[j] != g or status[j] != HEALTHY or j == bait:
            continue
        ax += x[j]
        ay += y[j]
        n_all += 1
        if role[j] == SHOOTER:
            cx += x[j]
            cy += y[j]
            n_s += 1
    if n_s > 0:
        cx, cy = cx / n_s, cy / n_s
    elif n_all > 0:
        cx, cy = ax / n_all, ay / n_all
    else:
        cx, cy = p.ax[g], p.ay[g]
    flank = -1.0 if uniform(keys[1], step, g, 0) < 0.5 else 1.0
    p.decoy_dx[g] = cx - p.ax[g] + flank * ru.decoy_distance * p.hy[g]
    p.decoy_dy[g] = cy - p.ay[g] - flank * ru.decoy_distance * p.hx[g]
    if dummy:
        return DUMMY
    p.decoy_until[g] = step + ru.decoy_steps
    return bait


@nb.njit(cache=True)
def _drills(slots, groups, fresh, step, drills, plan, airframes, drone_role, bodies, spotting,
            rules, keys):
    """Start the drills of platoons with new contacts (``slots[i]`` met ``groups[i]``).

    Step ``i`` of a drill starts ``offset`` steps after the contact: at once it acts now,
    later it is scheduled (``Drill.due``). Engage is a standing order from its step's start;
    a platoon with no earlier contact (``fresh[i]``) restarts it. Returns the decoy
    commitments as (slot, bait soldier or ``DUMMY``, platoon).
    """
    p, d, a, b, ru = (Drills(*drills), Drill(*plan), Airframes(*airframes), Bodies(*bodies),
                      Rules(*rules))
    role = Spotting(*spotting).role
    offset, due, engage_from = d.offset, d.due, d.engage_from
    out_f = []
    out_bait = []
    out_g = []
    for i in range(slots.shape[0]):
        f, g = slots[i], groups[i]
        for act in range(offset.shape[1]):
            off = offset[g, act]
            if off < 0:
                continue
            start = step + off
            if act == A_ENGAGE:
                engage_from[g] = start if fresh[i] else min(engage_from[g], start)
            elif off > 0:
                if due[g, act] < 0:
                    due[g, act] = start
            elif act == A_DECOY:
                bait = _commit(f, g, step, p, a, drone_role, b, role, ru, keys)
                if bait != -1:
                    out_f.append(f)
                    out_bait.append(bait)
                    out_g.append(g)
            else:
                _hold(g, act, start, p, ru)
    return (np.array(out_f, np.int64), np.array(out_bait, np.int64),
            np.array(out_g, np.int64))


@nb.njit(cache=True)
def _due(step, contacts, drills, plan, airframes, drone_role, bodies, spotting, rules, keys):
    """Start the scheduled drill steps due by ``step``; a decoy step meets every flying drone
    in contact with its platoon (slot order). Returns the decoy commitments like ``_drills``
    and the next due step (``NEVER`` if none)."""
    p, d, a, b, ru = (Drills(*drills), Drill(*plan), Airframes(*airframes), Bodies(*bodies),
                      Rules(*rules))
    role = Spotting(*spotting).role
    due = d.due
    n_groups = ru.n_groups
    out_f = []
    out_bait = []
    out_g = []
    nxt = NEVER
    for g in range(due.shape[0]):
        for act in range(due.shape[1]):
            t = due[g, act]
            if t < 0:
                continue
            if t > step:
                nxt = min(nxt, t)
                continue
            due[g, act] = -1
            if act != A_DECOY:
                _hold(g, act, step, p, ru)
                continue
            for f in range(a.state.shape[0]):
                if a.state[f] == FLYING and _member(a.sortie[f] * n_groups + g, contacts):
                    bait = _commit(f, g, step, p, a, drone_role, b, role, ru, keys)
                    if bait != -1:
                        out_f.append(f)
                        out_bait.append(bait)
                        out_g.append(g)
    return (np.array(out_f, np.int64), np.array(out_bait, np.int64),
            np.array(out_g, np.int64), nxt)


@nb.njit(cache=True)
def _fire(airframes, profiles, bodies, marksmen, rules, contacts, engage_from, grids, shots, key,
          step):
    """Flying drones under fire (slot order): slots, shooter counts, log-probability that
    every shooter misses, and the fire draw. Adds the shots to ``shots``."""
    a, t, b, sk, ru = (Airframes(*airframes), Profiles(*profiles), Bodies(*bodies),
                       Marksmanship(*marksmen), Rules(*rules))
    state, side, dx, dy, dtype, sortie = a.state, a.side, a.x, a.y, a.dtype, a.sortie
    committed, altitude, speed_factor = a.committed_decoy, t.altitude, t.speed_factor
    x, y, status, platoon, posture = b.x, b.y, b.status, b.platoon, b.posture
    shoots, marksmanship = sk.shoots, sk.marksmanship
    engage_range, falloff, decoy_bonus, n_groups = (ru.engage_range, ru.falloff, ru.decoy_bonus,
                                                    ru.n_groups)
    r2 = engage_range * engage_range
    out_f = []
    out_n = []
    out_log_miss = []
    out_u = []
    for f in range(state.shape[0]):
        if state[f] != FLYING:
            continue
        g = Grid(*grids[1 - side[f]])
        start, nx, items = g.start, g.nx, g.items
        alt = altitude[dtype[f]]
        horizontal = r2 - alt * alt
        if horizontal <= 0:
            continue
        bonus = decoy_bonus if committed[f] else 1.0
        log_miss = 0.0
        shooters = 0
        cx0, cx1, cy0, cy1 = disc_rows(g, dx[f], dy[f], np.sqrt(horizontal))
        for cy in range(cy0, cy1 + 1):
            c0, c1 = row_cells(nx, cy, cx0, cx1)
            for k in range(start[c0], start[c1]):
                j = items[k]
                if (status[j] != HEALTHY or not shoots[j] or engage_from[platoon[j]] > step
                        or posture[j] == PRONE):  # gone to ground: not shooting
                    continue
                ddx = x[j] - dx[f]
                ddy = y[j] - dy[f]
                d2 = ddx * ddx + ddy * ddy + alt * alt
                if d2 > r2 or not _member(sortie[f] * n_groups + platoon[j], contacts):
                    continue
                p = (marksmanship[j] * (1.0 - falloff * np.sqrt(d2) / engage_range)
                     * speed_factor[dtype[f]] * bonus)
                p = min(max(p, 0.0), 1.0)
                if p >= 1.0:
                    log_miss = -np.inf
                else:
                    log_miss += np.log1p(-p)
                shooters += 1
        if shooters > 0:
            shots[1 - side[f]] += shooters
            out_f.append(f)
            out_n.append(shooters)
            out_log_miss.append(log_miss)
            out_u.append(uniform(key, step, sortie[f], 0))
    return (np.array(out_f, np.int64), np.array(out_n, np.int64),
            np.array(out_log_miss, np.float64), np.array(out_u, np.float64))


@nb.njit(cache=True)
def _chord(px, py, ux, uy, length, r2):
    """Where a path ``p + s u`` (``0 <= s <= length``) lies within horizontal radius
    ``sqrt(r2)`` of the origin: ``(s0, s1)``, empty when ``s1 <= s0``."""
    half_b = px * ux + py * uy
    disc = half_b * half_b - (px * px + py * py - r2)
    if disc <= 0.0:
        return 0.0, 0.0
    root = np.sqrt(disc)
    return max(-half_b - root, 0.0), min(-half_b + root, length)


@nb.njit(cache=True)
def _shot_p(c, k, d, skill, guns, bonus):
    """Per-shot hit probability of weapon class ``c`` at 3-D range ``d`` on drone type ``k``."""
    ref = guns.reference_range[c]
    p = guns.hit_prob[c] * skill * guns.drone_factor[c, k] * bonus
    if d > ref:
        p *= (ref / d) ** guns.range_exponent[c]
    return min(p, 1.0)


@nb.njit(cache=True)
def _shots(paths, exposure, bodies, shooters, guns, rules, contacts, engage_from, grids, shots,
           keys, step):
    """Per-shot fire at the drones in contact, along the path each flies next step.

    A drone flies ``min(speed * dt, distance)`` straight to its goal (home, its soldier or its
    aim point) and then hovers there for the rest of the step, unless it is a striker that
    arrives: it dives from its altitude (``altitude / speed`` s at the goal) onto the soldier,
    or an interceptor: at its goal it meets its quarry or lands, and is gone.
    Each ready shooter fires ``rate * t`` rounds, ``t`` the time the drone spends within
    its class's ``max_range`` (whole rounds: the fraction drawn), each hitting with
    ``_shot_p`` at the range mid-chord (or of the hover point); the drone falls unless every
    round misses (one draw per drone). Returns slots, shooters that fired, whether it fell,
    and the weapon class credited (drawn by each class's share of the hazard; -1 if it did
    not fall). Adds the rounds to ``shots``.
    """
    a, e, b, sh, gn, ru = (Paths(*paths), Exposure(*exposure), Bodies(*bodies),
                           Shooters(*shooters), Guns(*guns), Rules(*rules))
    state, side, dtype, sortie, dx, dy = a.state, a.side, a.dtype, a.sortie, a.x, a.y
    target, committed, phase = a.target, a.committed_decoy, a.phase
    altitude, speed, drone_role = e.altitude, e.speed, e.role
    x, y, status, platoon, posture = b.x, b.y, b.status, b.platoon, b.posture
    shoots, skill, weapon, rounds = sh.shoots, sh.skill, sh.weapon, sh.rounds
    rate, max_range = gn.rate, gn.max_range
    dt, decoy_bonus, n_groups = ru.dt, ru.decoy_bonus, ru.n_groups
    key_fire, key_rounds = keys
    reach_max = 0.0
    for c in range(max_range.shape[0]):
        reach_max = max(reach_max, max_range[c])
    n_classes = max_range.shape[0]
    hazard = np.zeros(n_classes)
    out_f = []
    out_n = []
    out_down = []
    out_c = []
    for f in range(state.shape[0]):
        if state[f] != FLYING:
            continue
        k = dtype[f]
        alt = altitude[k]
        if alt >= reach_max:
            continue
        if phase[f] == RETURN:
            gx, gy = a.home_x[f], a.home_y[f]
        elif target[f] >= 0:
            gx, gy = x[target[f]], y[target[f]]
        else:
            gx, gy = a.aim_x[f], a.aim_y[f]
        ux, uy = gx - dx[f], gy - dy[f]
        dist = np.sqrt(ux * ux + uy * uy)
        length = min(speed[k] * dt, dist)
        if dist > 0:
            ux, uy = ux / dist, uy / dist
        t_fly = length / speed[k]
        r = drone_role[k]
        striker = (r == FPV or r == LOITERING) and target[f] >= 0
        # A striker that reaches its soldier dives from its altitude (exposed at the goal for
        # ``altitude / speed``); anything else hovers there for the rest of the step.
        t_hover = alt / speed[k] if striker and dist <= speed[k] * dt else dt - t_fly
        if r == INTERCEPTOR:
            t_hover = 0.0
        ex, ey = dx[f] + ux * length, dy[f] + uy * length
        bonus = decoy_bonus if committed[f] else 1.0
        g = Grid(*grids[1 - side[f]])
        start, nx, items = g.start, g.nx, g.items
        radius = np.sqrt(reach_max * reach_max - alt * alt) + 0.5 * length
        cx0, cx1, cy0, cy1 = disc_rows(g, dx[f] + ux * 0.5 * length, dy[f] + uy * 0.5 * length,
                                       radius)
        hazard[:] = 0.0
        n_fired = 0
        for cy in range(cy0, cy1 + 1):
            c0, c1 = row_cells(nx, cy, cx0, cx1)
            for kk in range(start[c0], start[c1]):
                j = items[kk]
                if (status[j] != HEALTHY or not shoots[j] or rounds[j] <= 0
                        or engage_from[platoon[j]] > step or posture[j] == PRONE):
                    continue
                if not _member(sortie[f] * n_groups + platoon[j], contacts):
                    continue
                c = weapon[j]
                r2 = max_range[c] * max_range[c] - alt * alt
                if r2 <= 0:
                    continue
                px, py = dx[f] - x[j], dy[f] - y[j]
                s0, s1 = _chord(px, py, ux, uy, length, r2) if length > 0 else (0.0, 0.0)
                t_in = 0.0
                p_time = 0.0  # time-weighted per-shot probability
                if s1 > s0:
                    t_in = (s1 - s0) / speed[k]
                    sm = 0.5 * (s0 + s1)
                    mx, my = px + ux * sm, py + uy * sm
                    d = np.sqrt(mx * mx + my * my + alt * alt)
                    p_time += t_in * _shot_p(c, k, d, skill[j], gn, bonus)
                if t_hover > 0:
                    hx, hy = ex - x[j], ey - y[j]
                    if hx * hx + hy * hy <= r2:
                        d = np.sqrt(hx * hx + hy * hy + alt * alt)
                        t_in += t_hover
                        p_time += t_hover * _shot_p(c, k, d, skill[j], gn, bonus)
                if t_in <= 0:
                    continue
                expect = rate[c] * t_in
                n = np.int64(np.floor(expect))
                if uniform(key_rounds, step, sortie[f], j) < expect - n:
                    n += 1
                n = min(n, rounds[j])
                if n <= 0:
                    continue
                p = p_time / t_in
                rounds[j] -= n
                shots[1 - side[f]] += n
                n_fired += 1
                hazard[c] += np.inf if p >= 1.0 else -n * np.log1p(-p)
        if n_fired == 0:
            continue
        total = 0.0
        for c in range(n_classes):
            total += hazard[c]
        u = uniform(key_fire, step, sortie[f], 0)
        p_down = 1.0 if np.isinf(total) else -np.expm1(-total)
        down = u < p_down
        credit = -1
        if down:
            # u / p_down is uniform on [0, 1) given the fall: split it by hazard shares
            v = u / p_down * total
            credit = 0
            acc = 0.0
            for c in range(n_classes):
                if hazard[c] <= 0:
                    continue
                credit = c
                acc += hazard[c]
                if np.isinf(total) or v < acc:
                    break
        out_f.append(f)
        out_n.append(n_fired)
        out_down.append(down)
        out_c.append(credit)
    return (np.array(out_f, np.int64), np.array(out_n, np.int64), np.array(out_down, np.bool_),
            np.array(out_c, np.int64))


class Anchors(NamedTuple):
    """Kernel view: where each platoon is and whose it is, for warnings."""

    ax: np.ndarray
    ay: np.ndarray
    side: np.ndarray


@nb.njit(cache=True)
def _warn(slots, groups, sortie, seen, anchors, reacts, radius, n_groups):
    """Warnings of the first contacts among ``slots[i]`` met ``groups[i]`` (keys not in the
    sorted ``seen``): one per (sortie, platoon of the same side within ``radius`` of the
    spotting platoon's anchor, itself excepted, with a drill that ``reacts``), as an int64
    ``(4, n)`` block with rows due (left 0), slot, sortie, platoon."""
    an = Anchors(*anchors)
    ax, ay, side = an.ax, an.ay, an.side
    # Anchors bucketed by cells of at least the radius (fewer than ~10^6 cells): a query
    # scans a few cells instead of every platoon.
    everyone = np.ones(ax.shape[0], np.bool_)
    lo_x, lo_y, hi_x, hi_y = bounding_box(ax, ay, everyone)
    cell = max(radius, max(hi_x - lo_x, hi_y - lo_y) / 1000.0, 1e-3)
    x0, y0, nx, ny, start, items = grid_buckets(ax, ay, everyone, cell)
    g_ = Grid(x0, y0, cell, nx, ny, start, items)
    r2 = radius * radius
    # The sortie each platoon was last warned of in this call: ``_detect`` lists new contacts
    # drone by drone, so one marker per platoon keeps warnings one per (sortie, platoon).
    last = np.full(ax.shape[0], -1, np.int64)
    out_f = []
    out_s = []
    out_h = []
    for i in range(slots.shape[0]):
        f, g = slots[i], groups[i]
        s = sortie[f]
        if _member(s * n_groups + g, seen):
            continue
        cx0, cx1, cy0, cy1 = disc_rows(g_, ax[g], ay[g], radius)
        for cy in range(cy0, cy1 + 1):
            c0, c1 = row_cells(nx, cy, cx0, cx1)
            for k in range(start[c0], start[c1]):
                h = items[k]
                if h == g or not reacts[h] or side[h] != side[g] or last[h] == s:
                    continue
                dx = ax[h] - ax[g]
                dy = ay[h] - ay[g]
                if dx * dx + dy * dy <= r2:
                    last[h] = s
                    out_f.append(f)
                    out_s.append(s)
                    out_h.append(h)
    out = np.zeros((4, len(out_f)), np.int64)
    for k in range(len(out_f)):
        out[1, k] = out_f[k]
        out[2, k] = out_s[k]
        out[3, k] = out_h[k]
    return out


def _spotted(state: State, log: EventLog, fleet, out: np.ndarray, n: int
             ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
    """``_detect``'s answer ``(out, n)`` for airframes of ``fleet`` (drones or
    interceptors): the contacts now, and the new contacts' slots, platoons and keys (None
    if none), each logged as ``spotted``."""
    if out.shape[0] == n:
        return out, None
    new_f, new_g, new_keys = out[n:].reshape(3, -1)
    if log.keeps:
        log.add(state.step, "spotted", state.platoons.side[new_g], fleet.x[new_f],
                fleet.y[new_f], weapon=fleet.dtype[new_f], platoon=new_g,
                actor=fleet.sortie[new_f])
    return out[:n], (new_f, new_g, new_keys)


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which ``values`` occur in ``sorted_keys`` (binary search, no sort).

    >>> _in_sorted(np.array([3, 4]), np.array([1, 3, 9])).tolist()
    [True, False]
    """
    pos = np.searchsorted(sorted_keys, values)
    pos[pos == sorted_keys.shape[0]] = 0
    return sorted_keys[pos] == values if sorted_keys.size else np.zeros(values.shape, bool)


@nb.njit(cache=True)
def _of_sorties(contacts, n_groups, sorties):  # pragma: no cover - compiled
    """Which contacts (keys ``sortie * n_groups + platoon``) are with one of ``sorties``
    (``np.isin`` of the contacts' sorties, without its per-call overhead: a step downs a
    few drones)."""
    out = np.zeros(contacts.shape[0], np.bool_)
    for i in range(contacts.shape[0]):
        sortie = contacts[i] // n_groups
        for j in range(sorties.shape[0]):
            if sorties[j] == sortie:
                out[i] = True
                break
    return out


class CounterDrone:
    """Detect drones, run drills on new contacts (and scheduled drill steps), and fire at
    drones in contact."""

    name = "counterdrone"

    def __init__(self, state: State) -> None:
        # Per-run constants: the scenario, the drone types and the platoons do not change.
        cfg = state.scenario.counter_drone
        sides = state.scenario.sides
        self.cfg = cfg
        #: platoon detection probability by the number of its soldiers in range
        self.p_detect = 1.0 - (1.0 - cfg.detect_prob) ** np.arange(state.soldiers.n + 1)
        t = state.types
        #: hit-probability factor by drone type (per-step fire)
        self.speed_factor = np.minimum(1.0, (cfg.reference_speed / t.speed) ** cfg.speed_exponent)
        self.decoy_commit = np.array([getattr(sides, name).drone_doctrine.decoy_commit
                                      for name in SIDES])
        self.decoy_steps = int(np.ceil(60.0 / state.dt))
        self.night = cfg.night_factor if state.scenario.night else 1.0  # on spotting ranges
        self.n_groups = max(state.platoons.n, 1)
        self.detect_key = state.streams["counterdrone.detect"]
        p = state.platoons
        hold = np.zeros(state.drill.offset.shape, np.int64)
        ground_time = np.zeros(p.n)
        units = [u for name in SIDES for u in getattr(sides, name).units]
        for u, unit in enumerate(units):
            ground_time[p.unit == u] = unit.doctrine.ground_time
        for col, seconds in ((A_FREEZE, p.freeze_time), (A_DISPERSE, p.disperse_time),
                             (A_GROUND, ground_time)):
            hold[:, col] = np.ceil(seconds / state.dt).astype(np.int64)
        self.rules = tuple(Rules(
            night=self.night, spotter_bonus=cfg.spotter_bonus, engage_range=cfg.engage_range,
            falloff=cfg.range_falloff, decoy_bonus=cfg.decoy_hit_bonus, n_groups=self.n_groups,
            p_detect=self.p_detect, decoy_commit=self.decoy_commit,
            decoy_distance=cfg.decoy_distance, decoy_steps=self.decoy_steps,
            dt=float(state.dt), hold_steps=hold))
        self.profiles = tuple(Profiles(altitude=t.altitude, signature=t.signature_range,
                                       speed_factor=self.speed_factor))
        self.airframes = columns(Airframes, state.drones)
        self.bodies = columns(Bodies, state.soldiers)
        self.spotting = columns(Spotting, state.soldiers)
        self.marksmen = columns(Marksmanship, state.soldiers)
        self.drills = columns(Drills, p)
        self.plan = tuple(state.drill)
        self.per_shot = cfg.fire == "per_shot"
        if self.per_shot:
            self._arm(state)
        self.radius = cfg.warning_radius
        self.warn_steps = int(np.ceil(cfg.warning_delay / state.dt))
        # Only the steps that need no sight of the drone act on a warning; engage waits.
        self.reacts = (state.drill.offset[:, [A_FREEZE, A_DISPERSE, A_GROUND, A_DECOY]]
                       >= 0).any(axis=1)
        self.warns = self.radius > 0 and p.n > 1 and bool(self.reacts.any())
        self.anchors = columns(Anchors, p)
        self._sight_interceptors(state)

    def _sight_interceptors(self, state: State) -> None:
        """Views of the enemy interceptors for the detection, drill and fire kernels, where
        some side's soldiers face interceptors of the other (``self.hunts``)."""
        layers = state.layers
        ic = layers.interceptors if layers is not None else None
        sides = np.unique(state.soldiers.side)
        self.hunts = (ic is not None and state.scenario.counter_drone.engage_interceptors
                      and bool(np.isin(1 - ic.side, sides).any()))
        if not self.hunts:
            return
        n = ic.n
        # Interceptors hold no soldier target or track and cannot be decoyed; their goal
        # next step (quarry or home) is written into ``aim`` before each fire call.
        none, calm = np.full(n, -1, np.int64), np.zeros(n, bool)
        self.ic_aim = (np.zeros(n), np.zeros(n))
        self.ic_airframes = tuple(Airframes(
            state=ic.state, side=ic.side, dtype=ic.dtype, sortie=ic.sortie, x=ic.x, y=ic.y,
            target=none, track=none.copy(), committed_decoy=calm))
        self.ic_paths = tuple(Paths(
            state=ic.state, side=ic.side, dtype=ic.dtype, sortie=ic.sortie, x=ic.x, y=ic.y,
            target=none, committed_decoy=calm, phase=np.full(n, TRANSIT, np.int8),
            aim_x=self.ic_aim[0], aim_y=self.ic_aim[1], home_x=ic.home_x, home_y=ic.home_y))
        self.ic_keys = (state.streams["counterdrone.interceptor_detect"],
                        state.streams["counterdrone.interceptor_fire"],
                        state.streams["counterdrone.interceptor_rounds"])

    def _arm(self, state: State) -> None:
        """Kernel tables of per-shot fire: weapon classes, their factors by drone type, and
        each soldier's skill factor."""
        cfg, t, arms = state.scenario.counter_drone, state.types, state.arms
        classes = [state.scenario.all_weapons()[name] for name in arms.names]
        speed = np.minimum(1.0, cfg.reference_speed / t.speed)
        size = t.signature_range / cfg.reference_signature
        self.guns = tuple(Guns(
            rate=np.array([w.rate / 60.0 for w in classes]),
            hit_prob=np.array([w.hit_prob for w in classes]),
            reference_range=np.array([w.reference_range for w in classes]),
            range_exponent=np.array([w.range_exponent for w in classes]),
            max_range=np.array([w.max_range for w in classes]),
            drone_factor=np.array([speed ** w.speed_exponent * size ** w.size_exponent
                                   for w in classes]).reshape(len(classes), t.speed.shape[0])))
        skill = (state.soldiers.marksmanship / cfg.skill_reference) ** cfg.skill_exponent
        self.shooters = tuple(Shooters(shoots=state.soldiers.shoots, skill=skill,
                                       weapon=arms.weapon, rounds=arms.rounds))
        self.paths = columns(Paths, state.drones)
        self.exposure = (t.altitude, t.speed, t.role)

    def __call__(self, state: State, log: EventLog) -> None:
        out, n = _detect(self.airframes, self.profiles, self.bodies, self.spotting, self.rules,
                         state.contacts, grid_columns(state.grids), self.detect_key, state.step)
        self.settle(state, log, out, n)

    @classmethod
    def batch(cls, stages: list[CounterDrone], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One kernel call that detects drones for every replicate (``engine/batch.py``);
        the rest of the step (``settle``: new contacts, warnings, drills, fire,
        interceptors) runs per replicate, only in replicates whose contacts changed, that
        have contacts to fire at or warnings or drill steps due (or, where soldiers hunt
        interceptors, in every replicate). None where the per-run rules differ or a column
        is not stacked."""
        first = stages[0]
        if not same([(s.profiles, s.rules) for s in stages]):
            return None
        columns_ = stacked_view([(s.airframes, s.bodies, s.spotting) for s in stages])
        if columns_ is None:
            return None
        airframes, bodies, spotting = columns_
        stages = list(stages)
        r_n = len(stages)
        keys = np.zeros(r_n, np.uint64)
        due = np.zeros(r_n, np.int64)  # the first step a warning or drill step is due
        ns = np.zeros(r_n, np.int64)
        busy = np.zeros(r_n, np.int64)
        changed = np.zeros(r_n, np.bool_)
        # Every replicate's contacts, concatenated (``offsets``), repacked after a step
        # that replaced some replicate's: only ``settle`` replaces them.
        packed: list = [[], np.zeros(0, np.int64), np.zeros(r_n + 1, np.int64)]
        hunts = any(s.hunts for s in stages)
        every = np.arange(r_n)
        profiles, rules = first.profiles, first.rules

        def next_due(state: State) -> int:
            w = state.warnings
            return min(state.drill_next, int(w[0, 0]) if w.shape[1] else NEVER)

        def rebind(r: int, stage: CounterDrone | None = None,
                   state: State | None = None) -> bool:
            if stage is not None:
                stages[r] = stage
            keys[r] = stages[r].detect_key
            if state is not None:
                due[r] = next_due(state)
                packed[0] = []  # repack
            return True

        def pull(r: int) -> None:  # after replicate r stepped through its own stage
            due[r] = next_due(states[r])

        for r, state in enumerate(states):
            rebind(r, None, state)

        def call(states: list[State], logs: list[EventLog]) -> None:
            grids = packed_grids(states)
            if grids is None:  # large grids: per replicate
                for stage, state, log in zip(stages, states, logs, strict=True):
                    stage(state, log)
                for r, state in enumerate(states):
                    due[r] = next_due(state)
                return
            held, contacts, offsets = packed
            if len(held) != r_n or any(a is not st.contacts
                                       for a, st in zip(held, states, strict=True)):
                held = [st.contacts for st in states]
                np.cumsum([c.shape[0] for c in held], out=offsets[1:])
                contacts = np.concatenate(held)
                packed[:2] = held, contacts
            n, outs = _detect_rows(airframes, profiles, bodies, spotting, rules, contacts,
                                   offsets, grids, keys, steps(states), due,
                                   (ns, busy, changed))
            if n == 0 and not hunts:
                return
            fresh = iter(outs)
            for r in (every.tolist() if hunts else busy[:n].tolist()):
                state = states[r]
                out = next(fresh) if changed[r] else state.contacts
                stages[r].settle(state, logs[r], out, int(ns[r]))
                due[r] = next_due(state)

        call.reset = rebind  # type: ignore[attr-defined]
        call.pull = pull  # type: ignore[attr-defined]
        call.any_step = True  # type: ignore[attr-defined]
        return call

    def settle(self, state: State, log: EventLog, out: np.ndarray, n: int) -> None:
        """The step after ``_detect`` (its answer ``out``, ``n``): new contacts and their
        warnings and drills, warnings and drill steps due, fire, interceptors."""
        d, s = state.drones, state.soldiers
        before = state.contacts
        state.contacts, new = _spotted(state, log, d, out, n)
        if new is not None:
            new_f, new_g, new_keys = new
            if self.warns:  # judged on the contacts made before this step's
                heard = _warn(new_f, new_g, d.sortie, state.seen, self.anchors, self.reacts,
                              self.radius, self.n_groups)
            state.seen = _encounters(new_keys, new_g, state.seen, s.status, s.platoon,
                                     s.encounters, self.n_groups)
            self._run_drills(state, log, new_f, new_g, before)
            if self.warns and heard.shape[1]:
                heard[0] = state.step + self.warn_steps
                state.warnings = np.concatenate([state.warnings, heard], axis=1)
        if state.warnings.shape[1] and state.warnings[0, 0] <= state.step:
            self._deliver_warnings(state, log)
        if state.drill_next <= state.step:
            self._due(state, log)
        if n:
            self._shoot(state, log)
        if self.hunts:
            self._interceptors(state, log)

    def _log_decoys(self, state: State, log: EventLog, slot: np.ndarray, bait: np.ndarray,
                    g: np.ndarray) -> None:
        """Aim drones committed to a dummy at it; log every commitment (a dummy's with
        target -1 at the dummy)."""
        if slot.size == 0:
            return
        d, s, p = state.drones, state.soldiers, state.platoons
        dummy = bait == DUMMY
        if dummy.any():
            d.aim_x[slot[dummy]] = p.ax[g[dummy]] + p.decoy_dx[g[dummy]]
            d.aim_y[slot[dummy]] = p.ay[g[dummy]] + p.decoy_dy[g[dummy]]
        if log.keeps:
            man = np.maximum(bait, 0)
            log.add(state.step, "decoy", p.side[g], np.where(dummy, d.aim_x[slot], s.x[man]),
                    np.where(dummy, d.aim_y[slot], s.y[man]), weapon=d.dtype[slot], platoon=g,
                    actor=d.sortie[slot], target=np.where(dummy, -1, bait))

    def _keys(self, state: State) -> tuple[int, int]:
        return state.streams["counterdrone.decoy"], state.streams["counterdrone.decoy_side"]

    def _run_drills(self, state: State, log: EventLog, slots: np.ndarray, groups: np.ndarray,
                    before: np.ndarray, airframes: tuple | None = None) -> None:
        """Start the drills of ``groups[i]`` on contact with ``slots[i]`` (of ``airframes``,
        the drones when None); a platoon with none of the ``before`` contacts (nor, for a
        drone, a contact with an interceptor) starts afresh."""
        had = np.zeros(self.n_groups, bool)
        had[before % self.n_groups] = True
        if airframes is None:
            airframes = self.airframes
            if self.hunts:
                had[state.layers.contacts % self.n_groups] = True
        slot, bait, g = _drills(slots, groups, ~had[groups], state.step, self.drills,
                                self.plan, airframes, state.types.role,
                                self.bodies, self.spotting, self.rules, self._keys(state))
        self._log_decoys(state, log, slot, bait, g)
        due = state.drill.due
        if (due >= 0).any():
            state.drill_next = int(due[due >= 0].min())

    def _due(self, state: State, log: EventLog) -> None:
        slot, bait, g, state.drill_next = _due(
            state.step, state.contacts, self.drills, self.plan, self.airframes,
            state.types.role, self.bodies, self.spotting, self.rules, self._keys(state))
        self._log_decoys(state, log, slot, bait, g)

    def _deliver_warnings(self, state: State, log: EventLog) -> None:
        """Warnings due this step start the drills of platoons not in contact with the drone."""
        w, d = state.warnings, state.drones
        n_due = int(np.searchsorted(w[0], state.step, side="right"))
        due, state.warnings = w[:, :n_due], w[:, n_due:]
        slot, sortie, g = due[1], due[2], due[3]
        live = ((d.state[slot] == FLYING) & (d.sortie[slot] == sortie)
                & ~_in_sorted(sortie * self.n_groups + g, state.contacts))
        slot, g = slot[live], g[live]
        if slot.size == 0:
            return
        if log.keeps:
            log.add(state.step, "warned", state.platoons.side[g], d.x[slot], d.y[slot],
                    weapon=d.dtype[slot], platoon=g, actor=d.sortie[slot])
        self._run_drills(state, log, slot, g, state.contacts)

    def _interceptors(self, state: State, log: EventLog) -> None:
        """Soldiers see enemy interceptors, drill on them and fire at them: the rules for
        drones, with the interceptors' own contacts (``Layers.contacts``) and streams. A
        downed interceptor's fate is ``shot_down``, tallied by the shooting side as
        ``interceptors_shot_down``."""
        layers = state.layers
        ic = layers.interceptors
        before = layers.contacts
        if before.size == 0 and not (ic.state == FLYING).any():
            return
        out, n = _detect(self.ic_airframes, self.profiles, self.bodies, self.spotting,
                         self.rules, before, grid_columns(state.grids), self.ic_keys[0],
                         state.step)
        layers.contacts, new = _spotted(state, log, ic, out, n)
        if new is not None:
            new_f, new_g, new_keys = new
            s = state.soldiers
            state.seen = _encounters(new_keys, new_g, state.seen, s.status, s.platoon,
                                     s.encounters, self.n_groups)
            self._run_drills(state, log, new_f, new_g, np.concatenate([state.contacts, before]),
                             self.ic_airframes)
        if n:
            self._shoot_interceptors(state, log)

    def _shoot_interceptors(self, state: State, log: EventLog) -> None:
        layers, d = state.layers, state.drones
        ic = layers.interceptors
        # Next step each flies at its quarry's position now, or home.
        chasing = ic.target >= 0
        quarry = np.maximum(ic.target, 0)
        self.ic_aim[0][:] = np.where(chasing, d.x[quarry], ic.home_x)
        self.ic_aim[1][:] = np.where(chasing, d.y[quarry], ic.home_y)
        if self.per_shot:
            slots, shooters, down_mask, _ = _shots(
                self.ic_paths, self.exposure, self.bodies, self.shooters, self.guns,
                self.rules, layers.contacts, state.drill.engage_from,
                grid_columns(state.grids), state.counters.shots, self.ic_keys[1:],
                state.step)
            down = slots[down_mask]
        else:
            slots, shooters, log_miss, u = _fire(
                self.ic_airframes, self.profiles, self.bodies, self.marksmen, self.rules,
                layers.contacts, state.drill.engage_from, grid_columns(state.grids),
                state.counters.shots, self.ic_keys[1], state.step)
            down = slots[u < -np.expm1(log_miss)]
        if slots.size == 0:
            return
        small_arms = len(state.weapon_names) - 1
        if log.keeps:
            log.add(state.step, "shot", 1 - ic.side[slots], ic.x[slots], ic.y[slots],
                    weapon=small_arms, actor=ic.sortie[slots], value=shooters)
        if down.size:
            np.add.at(layers.tallies["interceptors_shot_down"], 1 - ic.side[down], 1)
            gone = _of_sorties(layers.contacts, self.n_groups, ic.sortie[down])
            layers.contacts = layers.contacts[~gone]
            ground_interceptors(state, log, down, SHOT_DOWN, "shoot_down", small_arms)

    def _shoot(self, state: State, log: EventLog) -> None:
        d = state.drones
        if self.per_shot:
            slots, shooters, down_mask, credit = _shots(
                self.paths, self.exposure, self.bodies, self.shooters, self.guns, self.rules,
                state.contacts, state.drill.engage_from, grid_columns(state.grids),
                state.counters.shots, (state.streams["counterdrone.fire"],
                                       state.streams["counterdrone.rounds"]), state.step)
            if slots.size == 0:
                return
            down = slots[down_mask]
            if down.size:
                np.add.at(state.arms.downs, (1 - d.side[down], credit[down_mask]), 1)
        else:
            slots, shooters, log_miss, u = _fire(
                self.airframes, self.profiles, self.bodies, self.marksmen, self.rules,
                state.contacts, state.drill.engage_from, grid_columns(state.grids),
                state.counters.shots, state.streams["counterdrone.fire"], state.step)
            if slots.size == 0:
                return
            down = slots[u < -np.expm1(log_miss)]
        # Fire spoils a terminal dive next step (Flight: ``terminal_misses``).
        d.fire_step[slots] = state.step
        d.fire_shooters[slots] = shooters
        if log.keeps:
            log.add(state.step, "shot", 1 - d.side[slots], d.x[slots], d.y[slots],
                    weapon=len(state.weapon_names) - 1, actor=d.sortie[slots], value=shooters)
        if down.size:
            np.add.at(state.counters.decoy_downs, 1 - d.side[down], d.committed_decoy[down])
            gone = _of_sorties(state.contacts, self.n_groups, d.sortie[down])
            state.contacts = state.contacts[~gone]
            end_sorties(state, log, down, SHOT_DOWN, "shoot_down", len(state.weapon_names) - 1)
