"""Direct fire: aimed small-arms fire between platoons (the Lanchester square-law limit).

Each healthy soldier of a platoon with ``direct_fire`` fires ``rate * dt`` shots per step
(the integer part, plus one more with the fractional part as probability) at a healthy
enemy soldier drawn uniformly from those within ``range`` of its platoon's centre. Each
shot kills with ``kill_prob * f`` or wounds with ``wound_prob * f``, where
``f = (1 - cover[terrain]) * (1 - protection[posture])`` of the target, as for blasts.
All shots of a step are aimed before any lands, so fire is simultaneous. Soldiers gone to
ground (posture ``prone``: suppressed, or their broken platoon went to ground) do not fire.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba as nb
import numpy as np

from dronefront.engine.batch import rows, same, stacked_view, steps
from dronefront.engine.events import EventLog
from dronefront.engine.formulas import Shelter, exposure
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import nonzero
from dronefront.engine.stages import identical
from dronefront.engine.stages.damage import mark_wounded
from dronefront.engine.state import (
    HEALTHY,
    KILLED,
    PRONE,
    SHOCK_FALLEN,
    WOUNDED,
    Bodies,
    State,
    columns,
)

# Squared distances this far (relative) from range squared decide "in range" exactly as
# hypot would; only the few in between need the (slower) hypot itself.
_MARGIN = 1e-9


@nb.njit(cache=True)
def _in_range(dx, dy, r, r2_in, r2_out):
    """``hypot(dx, dy) <= r``, deciding by the squared distance where it is unambiguous."""
    d2 = dx * dx + dy * dy
    if d2 < r2_in:
        return True
    if d2 > r2_out:
        return False
    return math.hypot(dx, dy) <= r


@nb.njit(cache=True)
def _rosters(status, platoon, side, count, n_side0):
    """Healthy soldiers, ascending: by platoon, ``members[first[g]:first[g + 1]]``, and by
    side, side 0's in ``by_side[:n_side0]`` and side 1's after them."""
    first = np.zeros(count.shape[0] + 1, np.int64)
    first[1:] = np.cumsum(count)
    fill = first[:-1].copy()
    members = np.empty(first[-1], np.int64)
    by_side = np.empty(first[-1], np.int64)
    fill_side = np.array([0, n_side0])
    for i in range(status.shape[0]):
        if status[i] == HEALTHY:
            members[fill[platoon[i]]] = i
            fill[platoon[i]] += 1
            by_side[fill_side[side[i]]] = i
            fill_side[side[i]] += 1
    return first, members, by_side


@nb.njit(cache=True)
def _fire_rows(armed, fire, bodies, p_side, shelter, keys, steps, direct_shots, busy,
               last_shot, outputs):
    """``_fire`` for every replicate of an ensemble (stacked columns, ``keys`` and
    ``steps`` by replicate): ``outputs`` = ``(hits, counts, replicates)``: replicate ``r``'s hits at
    ``hits[r, :counts[r]]``, the replicates with hits listed first in ``replicates``;
    returns how many have hits."""
    hits, counts, replicates = outputs
    n = 0
    for r in range(keys.shape[0]):
        hit = _fire(armed, fire, rows(bodies, r), p_side[r], shelter, keys[r], steps[r],
                    direct_shots[r], busy[r], last_shot[r])
        counts[r] = hit.shape[0]
        hits[r, :hit.shape[0]] = hit
        if hit.shape[0]:
            replicates[n] = r
            n += 1
    return n


@nb.njit(cache=True)
def _fire(armed, fire, bodies, p_side, shelter, keys, step, direct_shots, busy, last_shot):
    """Aim every shot of the step, then land them; returns the soldiers hit, ascending.

    ``fire`` rows, per platoon: shots per soldier per step, kill and wound probabilities,
    range. Soldiers helping a casualty (``busy[i] >= 0``) do not fire; ``last_shot`` records
    the step each shooter fired. Both are empty when unused.
    """
    caring, recording = busy.shape[0] > 0, last_shot.shape[0] > 0
    b = Bodies(*bodies)
    sh = Shelter(*shelter)
    status, platoon, side, x, y = b.status, b.platoon, b.side, b.x, b.y
    terrain, posture, cover, protection = b.terrain, b.posture, sh.cover, sh.protection
    n, n_groups = status.shape[0], p_side.shape[0]
    count = np.zeros(n_groups, np.int64)
    centre = np.zeros((2, n_groups))
    lo = np.full((2, 2), np.inf)  # per side, per axis: bounds of the healthy soldiers
    hi = np.full((2, 2), -np.inf)
    n_side0 = 0
    for i in range(n):  # in soldier order, as np.bincount sums
        if status[i] == HEALTHY:
            g, f = platoon[i], side[i]
            n_side0 += f == 0
            count[g] += 1
            centre[0, g] += x[i]
            centre[1, g] += y[i]
            lo[f, 0], hi[f, 0] = min(lo[f, 0], x[i]), max(hi[f, 0], x[i])
            lo[f, 1], hi[f, 1] = min(lo[f, 1], y[i]), max(hi[f, 1], y[i])
    rosters = False
    first = members = by_side = enemies = np.empty(0, np.int64)
    newly = np.zeros(0, np.int8)  # what this step's shots do; status changes after all land
    n_hit = 0
    for g in armed:
        if count[g] == 0:
            continue
        ex = centre[0, g] / count[g]
        ey = centre[1, g] / count[g]
        r = fire[3, g]
        if 1e-100 < r < 1e100:  # no under- or overflow in the squares
            r2_in, r2_out = r * r * (1.0 - _MARGIN), r * r * (1.0 + _MARGIN)
            # No enemy is nearer than the enemy's bounding box (rounding is monotonic).
            f = 1 - p_side[g]
            gx = max(lo[f, 0] - ex, ex - hi[f, 0], 0.0)
            gy = max(lo[f, 1] - ey, ey - hi[f, 1], 0.0)
            if gx * gx + gy * gy > r2_out:
                continue
        else:
            r2_in, r2_out = -1.0, -1.0
        if not rosters:  # only on steps where someone may fire
            rosters = True
            first, members, by_side = _rosters(status, platoon, side, count, n_side0)
            enemies = np.empty(by_side.shape[0], np.int64)
            newly = np.zeros(n, np.int8)
        foes = by_side[n_side0:] if p_side[g] == 0 else by_side[:n_side0]
        m = 0
        for e in foes:
            if _in_range(x[e] - ex, y[e] - ey, r, r2_in, r2_out):
                enemies[m] = e
                m += 1
        if m == 0:
            continue
        expected = fire[0, g]
        whole = int(expected)
        frac = expected % 1.0
        for i in members[first[g]:first[g + 1]]:
            if posture[i] == PRONE:  # suppressed or gone to ground: not shooting
                continue
            if caring and busy[i] >= 0:  # busy with a casualty
                continue
            shots = whole + (1 if uniform(keys[0], step, i, 0) < frac else 0)
            if recording and shots > 0:
                last_shot[i] = step
            for k in range(shots):
                shot = i * 64 + k
                target = enemies[int(uniform(keys[1], step, shot, 0) * m)]
                direct_shots[side[i]] += 1
                u = uniform(keys[2], step, shot, 0)
                shield = exposure(cover[terrain[target]], protection[posture[target]], 1.0)
                if u < fire[1, g] * shield:
                    effect = KILLED
                elif u < (fire[1, g] + fire[2, g]) * shield:
                    effect = WOUNDED
                else:
                    continue
                if newly[target] == 0:
                    n_hit += 1
                newly[target] = max(newly[target], effect)
    hit = np.empty(n_hit, np.int64)
    if n_hit:
        m = 0
        for i in range(n):
            if newly[i]:
                hit[m] = i
                m += 1
                status[i] = max(status[i], newly[i])
    return hit


class DirectFire:
    """Resolve one step of aimed fire for every platoon that has it."""

    name = "direct_fire"

    def __init__(self, state: State) -> None:
        # Fire parameters never change: find the armed platoons once.
        p = state.platoons
        self.armed = nonzero(p.fire_rate > 0)
        self.fire = np.stack([p.fire_rate * state.dt, p.fire_kill, p.fire_wound, p.fire_range])
        self.keys = np.array([state.streams[f"direct_fire.{name}"]
                              for name in ("shots", "aim", "effect")], np.uint64)
        self.bodies = columns(Bodies, state.soldiers)
        self.shelter = tuple(Shelter.of(state))

    def __call__(self, state: State, log: EventLog) -> None:
        if self.armed.size == 0:
            return
        care = state.care
        hit = _fire(self.armed, self.fire, self.bodies, state.platoons.side, self.shelter,
                    self.keys, state.step, state.counters.direct_shots, care.helping,
                    care.last_shot)
        if hit.size:
            land(state, log, hit)

    @classmethod
    def batch(cls, stages: list[DirectFire], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One kernel call that fires for every replicate (``engine/batch.py``); hits are
        landed per replicate, only in replicates with hits. None where the armed platoons
        or fire parameters differ or a column is not stacked."""
        first = stages[0]
        if first.armed.size == 0 or not same([(s.armed, s.fire, s.shelter) for s in stages]):
            return None
        columns_ = stacked_view([(s.bodies, (st.platoons.side, st.counters.direct_shots,
                                             st.care.helping, st.care.last_shot))
                                 for s, st in zip(stages, states, strict=True)])
        if columns_ is None:
            return None
        bodies, (p_side, direct_shots, helping, last_shot) = columns_
        keys = np.stack([s.keys for s in stages])
        hits = np.empty((len(stages), states[0].soldiers.n), np.int64)
        counts = np.zeros(len(stages), np.int64)
        busy = np.zeros(len(stages), np.int64)
        armed, fire, shelter = first.armed, first.fire, first.shelter
        outputs = (hits, counts, busy)

        def call(states: list[State], logs: list[EventLog]) -> None:
            n = _fire_rows(armed, fire, bodies, p_side, shelter, keys, steps(states),
                           direct_shots, helping, last_shot, outputs)
            for r in busy[:n].tolist():
                land(states[r], logs[r], hits[r, :counts[r]].copy())

        def reset(r: int, stage: DirectFire, state: State) -> bool:
            """Replicate ``r`` restarted: its random stream keys, if the armed platoons and
            fire parameters are still those of the others."""
            if not identical((armed, fire, shelter), (stage.armed, stage.fire, stage.shelter)):
                return False
            keys[r] = stage.keys
            return True

        call.any_step = True  # type: ignore[attr-defined]
        call.reset = reset  # type: ignore[attr-defined]
        return call


def land(state: State, log: EventLog, hit: np.ndarray) -> None:
    """This step's direct-fire hits (soldiers, ascending) become casualties: causes, wound
    history, the casualty epoch, shocks and events."""
    s = state.soldiers
    code = state.small_arms_code
    mark_wounded(state, hit[s.status[hit] == WOUNDED])
    s.cause[hit] = code
    state.casualty_epoch += 1
    state.shocks.append((s.x[hit], s.y[hit], SHOCK_FALLEN))
    if log.keeps:
        log.add(state.step, "casualty", s.side[hit], s.x[hit], s.y[hit], weapon=code,
                cause=code, platoon=s.platoon[hit], target=hit, value=s.status[hit])
