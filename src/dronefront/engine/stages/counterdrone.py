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
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

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
from dronefront.engine.state import (
    BOMBER,
    DECOY,
    FLYING,
    FPV,
    HEALTHY,
    LOITERING,
    PRONE,
    SHOT_DOWN,
    SPOTTER,
    Airframes,
    Bodies,
    Marksmanship,
    Spotting,
    State,
    columns,
)
from dronefront.scenario.models import SIDES

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


class Drills(NamedTuple):
    """Kernel view: the platoon columns the drills read and write."""

    freeze: np.ndarray
    freeze_time: np.ndarray
    frozen_until: np.ndarray
    disperse: np.ndarray
    disperse_time: np.ndarray
    dispersed_until: np.ndarray
    decoy: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    decoy_dx: np.ndarray
    decoy_dy: np.ndarray
    decoy_until: np.ndarray


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
def _drills(slots, groups, step, dt, drills, airframes, drone_role, bodies, spotting, rules,
            keys):
    """Run the drills of platoons with new contacts (``slots[i]`` met ``groups[i]``);
    returns the decoy commitments as (slot, decoy soldier, platoon)."""
    p, a, b, ru = Drills(*drills), Airframes(*airframes), Bodies(*bodies), Rules(*rules)
    freeze, freeze_time, frozen_until = p.freeze, p.freeze_time, p.frozen_until
    disperse, disperse_time, dispersed_until = p.disperse, p.disperse_time, p.dispersed_until
    decoy_drill, hx, hy, decoy_dx, decoy_dy = p.decoy, p.hx, p.hy, p.decoy_dx, p.decoy_dy
    decoy_until = p.decoy_until
    dtype, target, track, sortie = a.dtype, a.target, a.track, a.sortie
    committed = a.committed_decoy
    drone_side, platoon, status, role = a.side, b.platoon, b.status, Spotting(*spotting).role
    commit, decoy_distance, decoy_steps = ru.decoy_commit, ru.decoy_distance, ru.decoy_steps
    key_decoy, key_side = keys
    n = slots.shape[0]
    for i in range(n):
        g = groups[i]
        if freeze[g]:
            frozen_until[g] = max(frozen_until[g],
                                  step + np.int64(np.ceil(freeze_time[g] / dt)))
    for i in range(n):
        g = groups[i]
        if disperse[g]:
            dispersed_until[g] = max(dispersed_until[g],
                                     step + np.int64(np.ceil(disperse_time[g] / dt)))
    # Decoy: an attack drone bound for this platoon may commit to the decoy soldier.
    # Candidates are judged on the state before any commitment of this step.
    cand = np.zeros(n, np.bool_)
    any_cand = False
    for i in range(n):
        f, g = slots[i], groups[i]
        r = drone_role[dtype[f]]
        if target[f] >= 0:
            bound_here = platoon[target[f]] == g
        else:
            bound_here = track[f] == g
        cand[i] = (decoy_drill[g] and bound_here and not committed[f]
                   and (r == FPV or r == LOITERING or r == BOMBER))
        any_cand |= cand[i]
    out_f = []
    out_decoy = []
    out_g = []
    if not any_cand:
        return (np.array(out_f, np.int64), np.array(out_decoy, np.int64),
                np.array(out_g, np.int64))
    first_decoy = np.full(freeze.shape[0], -1, np.int64)
    for j in range(role.shape[0]):
        if role[j] == DECOY and status[j] == HEALTHY and first_decoy[platoon[j]] < 0:
            first_decoy[platoon[j]] = j
    for i in range(n):
        f, g = slots[i], groups[i]
        if not cand[i] or first_decoy[g] < 0:
            continue
        if uniform(key_decoy, step, sortie[f], 0) < commit[drone_side[f]]:
            out_f.append(f)
            out_decoy.append(first_decoy[g])
            out_g.append(g)
    for i in range(len(out_f)):
        f, g = out_f[i], out_g[i]
        target[f] = out_decoy[i]
        committed[f] = True
        flank = -1.0 if uniform(key_side, step, g, 0) < 0.5 else 1.0
        decoy_dx[g] = flank * decoy_distance * hy[g]
        decoy_dy[g] = -flank * decoy_distance * hx[g]
        decoy_until[g] = step + decoy_steps
    return (np.array(out_f, np.int64), np.array(out_decoy, np.int64),
            np.array(out_g, np.int64))


@nb.njit(cache=True)
def _fire(airframes, profiles, bodies, marksmen, rules, contacts, engages, grids, shots, key,
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
                if (status[j] != HEALTHY or not shoots[j] or not engages[platoon[j]]
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


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which ``values`` occur in ``sorted_keys`` (binary search, no sort).

    >>> _in_sorted(np.array([3, 4]), np.array([1, 3, 9])).tolist()
    [True, False]
    """
    pos = np.searchsorted(sorted_keys, values)
    pos[pos == sorted_keys.shape[0]] = 0
    return sorted_keys[pos] == values if sorted_keys.size else np.zeros(values.shape, bool)


class CounterDrone:
    """Detect drones, trigger drills on new contacts, and fire at drones in contact."""

    name = "counterdrone"

    def __init__(self, state: State) -> None:
        # Per-run constants: the scenario, the drone types and the platoons do not change.
        cfg = state.scenario.counter_drone
        sides = state.scenario.sides
        self.cfg = cfg
        #: platoon detection probability by the number of its soldiers in range
        self.p_detect = 1.0 - (1.0 - cfg.detect_prob) ** np.arange(state.soldiers.n + 1)
        #: hit-probability factor by drone type
        self.speed_factor = np.minimum(
            1.0, (cfg.reference_speed / state.types.speed) ** cfg.speed_exponent)
        self.decoy_commit = np.array([getattr(sides, name).drone_doctrine.decoy_commit
                                      for name in SIDES])
        self.decoy_steps = int(np.ceil(60.0 / state.dt))
        self.night = cfg.night_factor if state.scenario.night else 1.0  # on spotting ranges
        self.n_groups = max(state.platoons.n, 1)
        self.detect_key = state.streams["counterdrone.detect"]
        self.rules = tuple(Rules(
            night=self.night, spotter_bonus=cfg.spotter_bonus, engage_range=cfg.engage_range,
            falloff=cfg.range_falloff, decoy_bonus=cfg.decoy_hit_bonus, n_groups=self.n_groups,
            p_detect=self.p_detect, decoy_commit=self.decoy_commit,
            decoy_distance=cfg.decoy_distance, decoy_steps=self.decoy_steps))
        t = state.types
        self.profiles = tuple(Profiles(altitude=t.altitude, signature=t.signature_range,
                                       speed_factor=self.speed_factor))
        self.airframes = columns(Airframes, state.drones)
        self.bodies = columns(Bodies, state.soldiers)
        self.spotting = columns(Spotting, state.soldiers)
        self.marksmen = columns(Marksmanship, state.soldiers)
        self.drills = columns(Drills, state.platoons)
        p = state.platoons
        self.radius = cfg.warning_radius
        self.warn_steps = int(np.ceil(cfg.warning_delay / state.dt))
        # Only freeze, disperse and decoy act on a warning (fire needs sight of the drone).
        self.reacts = p.freeze | p.disperse | p.decoy
        self.warns = self.radius > 0 and p.n > 1 and bool(self.reacts.any())
        self.anchors = columns(Anchors, p)

    def __call__(self, state: State, log: EventLog) -> None:
        d, s = state.drones, state.soldiers
        out, n = _detect(self.airframes, self.profiles, self.bodies, self.spotting, self.rules,
                         state.contacts, grid_columns(state.grids), self.detect_key, state.step)
        if out.shape[0] == n:
            state.contacts = out
        else:
            state.contacts = out[:n]
            new_f, new_g, new_keys = out[n:].reshape(3, -1)
            if log.keeps:
                log.add(state.step, "spotted", state.platoons.side[new_g], d.x[new_f],
                        d.y[new_f], weapon=d.dtype[new_f], platoon=new_g, actor=d.sortie[new_f])
            if self.warns:  # judged on the contacts made before this step's
                heard = _warn(new_f, new_g, d.sortie, state.seen, self.anchors, self.reacts,
                              self.radius, self.n_groups)
            state.seen = _encounters(new_keys, new_g, state.seen, s.status, s.platoon,
                                     s.encounters, self.n_groups)
            self._run_drills(state, log, new_f, new_g)
            if self.warns and heard.shape[1]:
                heard[0] = state.step + self.warn_steps
                state.warnings = np.concatenate([state.warnings, heard], axis=1)
        if state.warnings.shape[1] and state.warnings[0, 0] <= state.step:
            self._deliver_warnings(state, log)
        if n:
            self._shoot(state, log)

    def _run_drills(self, state: State, log: EventLog, slots: np.ndarray,
                    groups: np.ndarray) -> None:
        d, s, p = state.drones, state.soldiers, state.platoons
        keys = (state.streams["counterdrone.decoy"], state.streams["counterdrone.decoy_side"])
        slot, decoy, g = _drills(slots, groups, state.step, state.dt, self.drills,
                                 self.airframes, state.types.role, self.bodies, self.spotting,
                                 self.rules, keys)
        if slot.size and log.keeps:
            log.add(state.step, "decoy", p.side[g], s.x[decoy], s.y[decoy],
                    weapon=d.dtype[slot], platoon=g, actor=d.sortie[slot], target=decoy)

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
        self._run_drills(state, log, slot, g)

    def _shoot(self, state: State, log: EventLog) -> None:
        d = state.drones
        slots, shooters, log_miss, u = _fire(
            self.airframes, self.profiles, self.bodies, self.marksmen, self.rules, state.contacts,
            state.platoons.engage, grid_columns(state.grids), state.counters.shots,
            state.streams["counterdrone.fire"], state.step)
        if slots.size == 0:
            return
        # Fire spoils a terminal dive next step (Flight: ``terminal_misses``).
        d.fire_step[slots] = state.step
        d.fire_shooters[slots] = shooters
        if log.keeps:
            log.add(state.step, "shot", 1 - d.side[slots], d.x[slots], d.y[slots],
                    weapon=len(state.weapon_names) - 1, actor=d.sortie[slots], value=shooters)
        down = slots[u < -np.expm1(log_miss)]
        if down.size:
            np.add.at(state.counters.decoy_downs, 1 - d.side[down], d.committed_decoy[down])
            gone = np.isin(state.contacts // self.n_groups, d.sortie[down])
            state.contacts = state.contacts[~gone]
            end_sorties(state, log, down, SHOT_DOWN, "shoot_down", len(state.weapon_names) - 1)
