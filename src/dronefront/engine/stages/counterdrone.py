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
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.rng import pair_uniforms, uniforms
from dronefront.engine.spatial import cell_range
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.stages.drones import end_sorties
from dronefront.engine.state import (
    BOMBER,
    DECOY,
    FLYING,
    FPV,
    HEALTHY,
    LOITERING,
    SHOT_DOWN,
    SPOTTER,
    State,
)


@nb.njit(cache=True)
def _in_range(dx_, dy_, alt, signature, max_spotting, spotter_bonus, x, y, status, role,
              spotting, platoon, start, items, x0, y0, cell, nx, ny, n_groups):
    """Per drone, the platoons with soldiers able to notice it, and how many soldiers."""
    out_drone = []
    out_group = []
    out_count = []
    counts = np.zeros(n_groups, np.int64)
    touched = np.empty(n_groups, np.int64)
    for f in range(dx_.shape[0]):
        reach = signature[f] * max_spotting * spotter_bonus
        horizontal = reach * reach - alt[f] * alt[f]
        if horizontal <= 0:
            continue
        n_touched = 0
        cx0, cx1, cy0, cy1 = cell_range(dx_[f], dy_[f], np.sqrt(horizontal), x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                for k in range(start[c], start[c + 1]):
                    j = items[k]
                    if status[j] != HEALTHY:
                        continue
                    r = signature[f] * spotting[j]
                    if role[j] == SPOTTER:
                        r *= spotter_bonus
                    ddx = x[j] - dx_[f]
                    ddy = y[j] - dy_[f]
                    if ddx * ddx + ddy * ddy + alt[f] * alt[f] <= r * r:
                        g = platoon[j]
                        if counts[g] == 0:
                            touched[n_touched] = g
                            n_touched += 1
                        counts[g] += 1
        for i in range(n_touched):
            g = touched[i]
            out_drone.append(f)
            out_group.append(g)
            out_count.append(counts[g])
            counts[g] = 0
    return (np.array(out_drone, np.int64), np.array(out_group, np.int64),
            np.array(out_count, np.int64))


@nb.njit(cache=True)
def _fire(dx_, dy_, alt, sortie, speed_factor, bonus, contacts, n_groups, engage_range,
          falloff, x, y, status, shoots, marksmanship, platoon, engages, start, items, x0, y0,
          cell, nx, ny):
    """Per drone: log of the probability that no shooter hits, and the number of shooters."""
    log_miss = np.zeros(dx_.shape[0])
    shooters = np.zeros(dx_.shape[0], np.int64)
    r2 = engage_range * engage_range
    for f in range(dx_.shape[0]):
        horizontal = r2 - alt[f] * alt[f]
        if horizontal <= 0:
            continue
        cx0, cx1, cy0, cy1 = cell_range(dx_[f], dy_[f], np.sqrt(horizontal), x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                for k in range(start[c], start[c + 1]):
                    j = items[k]
                    if status[j] != HEALTHY or not shoots[j] or not engages[platoon[j]]:
                        continue
                    ddx = x[j] - dx_[f]
                    ddy = y[j] - dy_[f]
                    d2 = ddx * ddx + ddy * ddy + alt[f] * alt[f]
                    if d2 > r2:
                        continue
                    key = sortie[f] * n_groups + platoon[j]
                    pos = np.searchsorted(contacts, key)
                    if pos >= contacts.shape[0] or contacts[pos] != key:
                        continue
                    p = (marksmanship[j] * (1.0 - falloff * np.sqrt(d2) / engage_range)
                         * speed_factor[f] * bonus[f])
                    p = min(max(p, 0.0), 1.0)
                    if p >= 1.0:
                        log_miss[f] = -np.inf
                    else:
                        log_miss[f] += np.log1p(-p)
                    shooters[f] += 1
    return log_miss, shooters


def counterdrone(state: State, log: EventLog) -> None:
    """Detect drones, trigger drills on new contacts, and fire at drones in contact."""
    d, t, s, p = state.drones, state.types, state.soldiers, state.platoons
    cfg = state.scenario.counter_drone
    step = state.step
    n_groups = max(p.n, 1)
    flying = _nz(d.state == FLYING)
    if flying.size == 0:
        state.contacts = np.empty(0, np.int64)
        return
    kind = d.dtype[flying]
    alt = t.altitude[kind]
    night = cfg.night_factor if state.scenario.night else 1.0
    drone_idx, groups, counts = [], [], []
    for side in (0, 1):
        sel = _nz(d.side[flying] != side)
        if sel.size == 0:
            continue
        grid = state.cache["grids"][side]
        spotting = s.spotting * night
        f, g, c = _in_range(
            d.x[flying[sel]], d.y[flying[sel]], alt[sel], t.signature_range[kind[sel]],
            float(spotting.max(initial=0.0)),
            cfg.spotter_bonus, s.x, s.y, s.status, s.role, spotting, s.platoon, grid.start,
            grid.items, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny, n_groups,
        )
        drone_idx.append(sel[f])
        groups.append(g)
        counts.append(c)
    fi = np.concatenate(drone_idx) if drone_idx else np.empty(0, np.int64)
    gi = np.concatenate(groups) if groups else np.empty(0, np.int64)
    ci = np.concatenate(counts) if counts else np.empty(0, np.int64)
    keys = d.sortie[flying[fi]] * n_groups + gi
    kept = np.isin(keys, state.contacts)
    new_keys = keys[~kept]
    p_detect = 1.0 - (1.0 - cfg.detect_prob) ** ci[~kept]
    u = pair_uniforms(state.streams["counterdrone.detect"], step, d.sortie[flying[fi[~kept]]],
                       gi[~kept])
    gained = u < p_detect
    state.contacts = np.sort(np.concatenate([keys[kept], new_keys[gained]]))
    new_f = flying[fi[~kept][gained]]
    new_g = gi[~kept][gained]
    if new_f.size:
        log.add(step, "spotted", p.side[new_g], d.x[new_f], d.y[new_f], weapon=d.dtype[new_f],
                platoon=new_g, actor=d.sortie[new_f])
        _encounters(state, new_keys[gained], new_g)
        _drills(state, log, new_f, new_g)
    _shoot(state, log, flying)


def _encounters(state: State, keys: np.ndarray, groups: np.ndarray) -> None:
    """Count a drone encounter for each healthy member of a platoon seeing a new sortie."""
    fresh = ~np.isin(keys, state.seen)
    if not fresh.any():
        return
    state.seen = np.union1d(state.seen, keys[fresh])
    s = state.soldiers
    per_group = np.bincount(groups[fresh], minlength=state.platoons.n)
    s.encounters += np.where(s.status == HEALTHY, per_group[s.platoon], 0).astype(np.int32)


def _drills(state: State, log: EventLog, slots: np.ndarray, groups: np.ndarray) -> None:
    d, t, s, p = state.drones, state.types, state.soldiers, state.platoons
    step = state.step
    cfg = state.scenario.counter_drone
    freeze = groups[p.freeze[groups]]
    p.frozen_until[freeze] = np.maximum(
        p.frozen_until[freeze], step + np.ceil(p.freeze_time[freeze] / state.dt).astype(np.int64))
    disperse = groups[p.disperse[groups]]
    p.dispersed_until[disperse] = np.maximum(
        p.dispersed_until[disperse],
        step + np.ceil(p.disperse_time[disperse] / state.dt).astype(np.int64))
    # Decoy: an attack drone bound for this platoon may commit to the decoy soldier.
    role = t.role[d.dtype[slots]]
    target = d.target[slots]
    bound_here = np.where(target >= 0, s.platoon[np.maximum(target, 0)] == groups,
                          d.track[slots] == groups)
    cand = _nz(p.decoy[groups] & bound_here & ~d.committed_decoy[slots]
                          & ((role == FPV) | (role == LOITERING) | (role == BOMBER)))
    if cand.size == 0:
        return
    decoys = _nz((s.role == DECOY) & (s.status == HEALTHY))
    first_decoy = np.full(p.n, -1, np.int64)
    order = decoys[::-1]
    first_decoy[s.platoon[order]] = order  # lowest index wins (written last)
    decoy = first_decoy[groups[cand]]
    cand, decoy = cand[decoy >= 0], decoy[decoy >= 0]
    if cand.size == 0:
        return
    commit = np.array([
        getattr(state.scenario.sides, ("attacker", "defender")[int(sd)]).drone_doctrine
        .decoy_commit for sd in (0, 1)
    ])[d.side[slots[cand]]]
    u = uniforms(state.streams["counterdrone.decoy"], step, d.sortie[slots[cand]], 0)
    yes = u < commit
    slot, decoy, g = slots[cand[yes]], decoy[yes], groups[cand[yes]]
    if slot.size == 0:
        return
    d.target[slot] = decoy
    d.committed_decoy[slot] = True
    flank = np.where(uniforms(state.streams["counterdrone.decoy_side"], step,
                              g.astype(np.int64), 0) < 0.5, -1.0, 1.0)
    p.decoy_dx[g] = flank * cfg.decoy_distance * p.hy[g]
    p.decoy_dy[g] = -flank * cfg.decoy_distance * p.hx[g]
    p.decoy_until[g] = step + int(np.ceil(60.0 / state.dt))
    log.add(step, "decoy", p.side[g], s.x[decoy], s.y[decoy], weapon=d.dtype[slot],
            platoon=g, actor=d.sortie[slot], target=decoy)


def _shoot(state: State, log: EventLog, flying: np.ndarray) -> None:
    d, t, s, p = state.drones, state.types, state.soldiers, state.platoons
    cfg = state.scenario.counter_drone
    flying = flying[d.state[flying] == FLYING]
    if flying.size == 0 or state.contacts.size == 0:
        return
    kind = d.dtype[flying]
    speed_factor = np.minimum(1.0, (cfg.reference_speed / t.speed[kind]) ** cfg.speed_exponent)
    bonus = np.where(d.committed_decoy[flying], cfg.decoy_hit_bonus, 1.0)
    log_miss = np.zeros(flying.size)
    shooters = np.zeros(flying.size, np.int64)
    for side in (0, 1):
        sel = _nz(d.side[flying] != side)
        if sel.size == 0:
            continue
        grid = state.cache["grids"][side]
        lm, n = _fire(
            d.x[flying[sel]], d.y[flying[sel]], t.altitude[kind[sel]], d.sortie[flying[sel]],
            speed_factor[sel], bonus[sel], state.contacts, max(p.n, 1), cfg.engage_range,
            cfg.range_falloff, s.x, s.y, s.status, s.shoots, s.marksmanship, s.platoon,
            p.engage, grid.start, grid.items, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny,
        )
        log_miss[sel] += lm
        shooters[sel] += n
    engaged = _nz(shooters > 0)
    if engaged.size == 0:
        return
    slots = flying[engaged]
    np.add.at(state.counters.shots, 1 - d.side[slots], shooters[engaged])
    log.add(state.step, "shot", 1 - d.side[slots], d.x[slots], d.y[slots],
            weapon=len(state.weapon_names) - 1, actor=d.sortie[slots],
            value=shooters[engaged])
    u = uniforms(state.streams["counterdrone.fire"], state.step, d.sortie[slots], 0)
    down = slots[u < -np.expm1(log_miss[engaged])]
    if down.size:
        np.add.at(state.counters.decoy_downs, 1 - d.side[down], d.committed_decoy[down])
        gone = np.isin(state.contacts // max(p.n, 1), d.sortie[down])
        state.contacts = state.contacts[~gone]
    end_sorties(state, log, down, SHOT_DOWN, "shoot_down", len(state.weapon_names) - 1)
