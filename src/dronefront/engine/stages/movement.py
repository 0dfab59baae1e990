"""Movement: platoon anchors follow their routes; soldiers keep formation around them.

Each platoon's anchor advances along its waypoints at ``pace * movement[terrain]`` while
the platoon is neither frozen nor holding still; it waits when its soldiers lag by more
than ``MAX_LAG`` metres on average. A soldier heads for its slot, ``anchor + R(heading) @
offset * scale`` (``scale`` is the disperse factor while dispersing), at ``pace *
movement[terrain]`` times the catch-up (or sprint, while dispersing or drawing a drone)
factor. Soldiers inside their objective stop and hold. Drills set postures.

A suppressed soldier (``suppression > threshold``, docs/model.md §11a) goes prone and
crawls (speed times ``crawl``). A broken platoon's anchor stops (``halt``, ``ground``: its
soldiers also go prone and stay put) or heads back to its start (``withdraw``).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.batch import offer_grids, rows, same, stacked_view, steps
from dronefront.engine.events import EventLog
from dronefront.engine.spatial import (
    GridStore,
    empty_box,
    grids_into,
    merge_box,
    nonzero,
)
from dronefront.engine.stages import identical
from dronefront.engine.state import (
    BREAK_GROUND,
    BREAK_HALT,
    BREAK_WITHDRAW,
    CONCEALED,
    DECOY,
    EVACUATED,
    HALTED,
    HEALTHY,
    KILLED,
    MOVING,
    PRONE,
    SHOOTER,
    Bodies,
    State,
    columns,
    lend_grids,
)
from dronefront.engine.terrain import Ground, points_in_area, raster_cell

MAX_LAG = 15.0  # metres; assumption
CATCH_UP = 1.5  # speed multiplier for a soldier behind its slot; assumption
#: Soldiers from which movement and the neighbour grids run on every Numba thread (below it
#: one thread: a parallel region costs microseconds to start, more than a small step takes).
PARALLEL_MIN = 20_000
#: Soldiers per chunk of whole platoons that one thread moves at a time (parallel path).
CHUNK = 4_096


class March(NamedTuple):
    """Kernel view: the platoon columns movement reads and writes (the state's arrays)."""

    base_posture: np.ndarray
    frozen_until: np.ndarray
    dispersed_until: np.ndarray
    decoy_until: np.ndarray
    disperse_factor: np.ndarray
    pace: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    hx: np.ndarray
    hy: np.ndarray
    decoy_dx: np.ndarray
    decoy_dy: np.ndarray
    objective: np.ndarray
    next_wp: np.ndarray
    n_waypoints: np.ndarray
    route_x: np.ndarray
    route_y: np.ndarray
    advanced: np.ndarray
    lag: np.ndarray
    movers: np.ndarray
    broken: np.ndarray
    on_break: np.ndarray
    shaken: np.ndarray
    rally_x: np.ndarray
    rally_y: np.ndarray
    grounded_until: np.ndarray


class Formation(NamedTuple):
    """Kernel view: the soldier columns that place a soldier in its platoon's formation."""

    ox: np.ndarray
    oy: np.ndarray
    role: np.ndarray
    holding: np.ndarray
    suppression: np.ndarray


@nb.njit(cache=True)
def _march(step, dt, gaits, march, bodies, formation, ground, movement_factor, rects, place,
           tending, roster):
    """Advance every anchor, then move every soldier (one step), and write the neighbour
    grids of the soldiers where they now stand into ``place``'s buffers (``grids_into``).
    ``gaits``: sprint factor, suppression threshold, crawl factor. ``tending``: casualty
    care's ``helping`` and ``phase`` columns (empty without care): helpers are left to the
    care stage and the evacuated leave the grids. ``roster``: ``(members, first, spans)``,
    the soldiers of platoon ``g`` are ``members[first[g]:first[g + 1]]`` (ascending).
    ``place``: ``(cell, flat, buffers, frames)``: the grid cell (m), whether the ground is
    one class everywhere (no lookup needed), the grid buffers and their ``frames``. Returns
    ``grids_into``'s flag."""
    p = March(*march)
    t = Ground(*ground)
    b = Bodies(*bodies)
    helping, phase = tending
    cell, flat, buffers, frames = place
    _advance(step, dt, p, t, movement_factor)
    box = empty_box()
    _move_platoons((0, p.lag.shape[0]), roster, step, dt, gaits, p, b, Formation(*formation),
                   (t, flat), movement_factor, rects, (helping, phase, box))
    return grids_into((b.x, b.y, b.status, b.side, phase, KILLED, EVACUATED), box, cell,
                      buffers, frames)


@nb.njit(cache=True)
def _march_rows(steps, dt, gaits, march, bodies, formation, ground, movement_factor, rects,
                place, tending, roster):
    """``_march`` for every replicate of an ensemble (replicate ``r`` at step ``steps[r]``):
    ``march``, ``bodies``, ``formation``,
    ``tending`` and ``place``'s buffers and frames are stacked (leading replicate axis).
    Returns how many replicates' grids did not fit their buffers (``frames[r, s, 4]`` -1)."""
    cell, flat, buffers, frames = place
    over = 0
    for r in range(bodies[0].shape[0]):
        over += _march(steps[r], dt, gaits, rows(march, r), rows(bodies, r), rows(formation, r),
                       ground, movement_factor, rects,
                       (cell, flat, rows(buffers, r), frames[r]), rows(tending, r),
                       roster)
    return over


@nb.njit(cache=True, parallel=True)
def _march_parallel(step, dt, gaits, march, bodies, formation, ground, movement_factor, rects,
                    place, tending, roster):
    """``_march`` with the soldiers moved (and the bounding boxes found) on every Numba
    thread: chunks of whole platoons (``roster[2]``), so each platoon's lag is summed in
    soldier order by one thread and the results do not depend on the number of threads."""
    p = March(*march)
    t = Ground(*ground)
    b = Bodies(*bodies)
    f = Formation(*formation)
    helping, phase = tending
    cell, flat, buffers, frames = place
    _advance(step, dt, p, t, movement_factor)
    spans = roster[2]
    chunks = spans.shape[0] - 1
    boxes = np.empty((chunks, 2, 4))
    for k in nb.prange(chunks):
        boxes[k] = empty_box()
        _move_platoons((spans[k], spans[k + 1]), roster, step, dt, gaits, p, b, f, (t, flat),
                       movement_factor, rects, (helping, phase, boxes[k]))
    box = empty_box()
    for k in range(chunks):
        merge_box(box, boxes[k])
    # the grids on one thread: at 2 threads a parallel build (cells located per thread,
    # then counted and filled per range of cells) measured slower than this serial one
    # (best of 30 at N = 300,000: 1.36-1.66 ms against 0.85 ms), the divisions being
    # vectorised here and a parallel region's start and end costing more than they save
    return grids_into((b.x, b.y, b.status, b.side, phase, KILLED, EVACUATED), box, cell,
                      buffers, frames)


@nb.njit(cache=True)
def _advance(step, dt, p, t, movement_factor):
    """Move each active platoon anchor along its route by its distance budget."""
    ax, ay, hx, hy, next_wp = p.ax, p.ay, p.hx, p.hy, p.next_wp
    route_x, route_y, advanced = p.route_x, p.route_y, p.advanced
    n_wp, frozen_until, base_posture, lag, movers = (p.n_waypoints, p.frozen_until,
                                                     p.base_posture, p.lag, p.movers)
    pace, grid = p.pace, t.grid
    broken, on_break, rally_x, rally_y = p.broken, p.on_break, p.rally_x, p.rally_y
    t_ny, t_nx = grid.shape
    for g in range(ax.shape[0]):
        withdraw = broken[g] and on_break[g] == BREAK_WITHDRAW
        if (frozen_until[g] > step or base_posture[g] != MOVING or lag[g] > MAX_LAG
                or movers[g] <= 0 or (broken[g] and not withdraw)
                or (next_wp[g] >= n_wp[g] and not withdraw)):
            continue
        cy, cx = raster_cell(ax[g], ay[g], t.x0, t.y0, t.cell, t_nx, t_ny)
        cls = grid[cy, cx] if cy >= 0 else t.default
        budget = pace[g] * movement_factor[cls] * dt
        if withdraw:  # back towards the start, facing the enemy still
            dx = rally_x[g] - ax[g]
            dy = rally_y[g] - ay[g]
            dist = np.hypot(dx, dy)
            frac = min(budget / dist, 1.0) if dist > 0 else 0.0
            ax[g] += dx * frac
            ay[g] += dy * frac
            continue
        while budget > 0 and next_wp[g] < n_wp[g]:
            w = next_wp[g]
            dx = route_x[g, w] - ax[g]
            dy = route_y[g, w] - ay[g]
            dist = np.hypot(dx, dy)
            if dist > 0:
                hx[g] = dx / dist
                hy[g] = dy / dist
            if dist <= budget:
                ax[g] = route_x[g, w]
                ay[g] = route_y[g, w]
                advanced[g] += dist
                budget -= dist
                next_wp[g] += 1
            else:
                frac = budget / dist
                ax[g] += dx * frac
                ay[g] += dy * frac
                advanced[g] += budget
                budget = 0.0


@nb.njit(cache=True)
def _move_platoons(span, roster, step, dt, gaits, p, b, f, land, movement_factor, rects, tend):
    """Move every healthy, mobile soldier of platoons ``span[0]..span[1] - 1`` towards its
    slot; hold inside rect objectives. ``land``: the ground and whether it is one class
    everywhere. ``tend``: ``(helping, phase, box)``: soldiers helping a casualty
    (``helping``, empty without care) are the care stage's; ``box`` (as ``spatial._widen``)
    is widened by every present soldier of these platoons (not killed, not evacuated:
    ``phase``, empty without care), where it now stands.

    Fills ``p.lag`` (mean distance still to go after moving, per platoon) and ``p.movers``
    (soldiers that moved, per platoon). A soldier's move reads only its platoon's row and
    writes only its own columns, so platoons may be moved in any order, or at once."""
    helping, phase, box = tend
    members, first = roster[0], roster[1]
    x, y, status, terrain, posture = b.x, b.y, b.status, b.terrain, b.posture
    ox, oy, role, holding, suppression = f.ox, f.oy, f.role, f.holding, f.suppression
    broken, on_break, shaken = p.broken, p.on_break, p.shaken
    sprint, threshold, crawl = gaits[0], gaits[1], gaits[2]
    base_posture, frozen_until, dispersed_until = p.base_posture, p.frozen_until, p.dispersed_until
    decoy_until, disperse_factor, pace = p.decoy_until, p.disperse_factor, p.pace
    ax, ay, hx, hy, decoy_dx, decoy_dy = p.ax, p.ay, p.hx, p.hy, p.decoy_dx, p.decoy_dy
    objective, lag, lag_n, grounded_until = p.objective, p.lag, p.movers, p.grounded_until
    t, flat = land
    grid = t.grid
    t_ny, t_nx = grid.shape
    caring = helping.shape[0] > 0
    side = b.side
    phased = phase.shape[0] > 0
    # the boxes in scalars: stores to ``box`` inside the loop could not be kept in registers
    a0, a1, a2, a3 = box[0, 0], box[0, 1], box[0, 2], box[0, 3]
    b0, b1, b2, b3 = box[1, 0], box[1, 1], box[1, 2], box[1, 3]
    for g in range(span[0], span[1]):
        lag[g] = 0.0
        lag_n[g] = 0
        lo, hi = first[g], first[g + 1]
        if base_posture[g] != MOVING:  # nobody moves: only the boxes
            for m in range(lo, hi):
                i = members[m]
                if status[i] == KILLED or (phased and phase[i] == EVACUATED):
                    continue
                if side[i] == 0:
                    a0, a1, a2, a3 = min(a0, x[i]), min(a1, y[i]), max(a2, x[i]), max(a3, y[i])
                else:
                    b0, b1, b2, b3 = min(b0, x[i]), min(b1, y[i]), max(b2, x[i]), max(b3, y[i])
            continue
        if not (broken[g] or shaken[g] > 0 or grounded_until[g] > step
                or frozen_until[g] > step or decoy_until[g] > step
                or dispersed_until[g] > step):
            # A plain march (the common case): nobody goes down, stands still, runs as bait
            # or disperses, so the platoon's tests leave the soldier loop (the general loop
            # below with those flags false: the same arithmetic, in the same order). Where
            # the platoon's members are ``lo..hi-1`` themselves (ascending, distinct), the
            # soldiers are indexed directly, without the gather.
            direct = hi > lo and members[lo] == lo and members[hi - 1] == hi - 1
            gx, gy, ghx, ghy = ax[g], ay[g], hx[g], hy[g]
            k = objective[g]
            rect = k >= 0 and rects[k, 4] > 0
            r0, r1, r2, r3 = (rects[k, 0], rects[k, 1], rects[k, 2], rects[k, 3]) if rect else (
                0.0, 0.0, 0.0, 0.0)
            gait = pace[g]
            owed = 0.0
            moved = 0
            for m in range(lo, hi):
                i = np.uint64(m) if direct else np.uint64(members[m])
                xi, yi = x[i], y[i]
                now = status[i]
                if now == HEALTHY and not (caring and helping[i] >= 0):
                    if holding[i]:
                        posture[i] = HALTED
                    else:
                        tx = gx + ox[i] * ghy + oy[i] * ghx  # scale 1: ox * 1.0 is ox
                        ty = gy - ox[i] * ghx + oy[i] * ghy
                        dx = tx - xi
                        dy = ty - yi
                        dist = np.sqrt(dx * dx + dy * dy)
                        reach = gait * movement_factor[terrain[i]] * CATCH_UP * dt
                        if dist <= reach:
                            xi = tx
                            yi = ty
                        else:
                            frac = reach / dist
                            xi += dx * frac
                            yi += dy * frac
                            owed += dist - reach
                        x[i] = xi
                        y[i] = yi
                        posture[i] = MOVING
                        moved += 1
                        if not flat:
                            cy, cx = raster_cell(xi, yi, t.x0, t.y0, t.cell, t_nx, t_ny)
                            terrain[i] = grid[cy, cx] if cy >= 0 else t.default
                        if rect and r0 <= xi <= r2 and r1 <= yi <= r3:
                            holding[i] = True
                if now == KILLED or (phased and phase[i] == EVACUATED):
                    continue
                if side[i] == 0:
                    a0, a1, a2, a3 = min(a0, xi), min(a1, yi), max(a2, xi), max(a3, yi)
                else:
                    b0, b1, b2, b3 = min(b0, xi), min(b1, yi), max(b2, xi), max(b3, yi)
            lag[g] = owed / max(moved, 1)
            lag_n[g] = moved
            continue
        grounded = broken[g] and on_break[g] == BREAK_GROUND
        halted = broken[g] and on_break[g] == BREAK_HALT
        shaky = shaken[g] > 0  # only then is a soldier's suppression read
        drill_ground = grounded_until[g] > step  # a 'ground' drill step: shooters stay up
        still = frozen_until[g] > step or drill_ground
        decoying = decoy_until[g] > step
        dispersing = dispersed_until[g] > step
        scale = disperse_factor[g] if dispersing else 1.0
        gx, gy, ghx, ghy = ax[g], ay[g], hx[g], hy[g]
        k = objective[g]
        rect = k >= 0 and rects[k, 4] > 0
        # the platoon's row in scalars: stores to the soldiers' columns would otherwise make
        # every one of them be loaded again for each soldier (the arrays might overlap)
        r0, r1, r2, r3 = (rects[k, 0], rects[k, 1], rects[k, 2], rects[k, 3]) if rect else (
            0.0, 0.0, 0.0, 0.0)
        gait, dgx, dgy = pace[g], decoy_dx[g], decoy_dy[g]
        owed = 0.0
        moved = 0
        for m in range(lo, hi):
            i = members[m]
            xi, yi = x[i], y[i]  # in scalars, so stores to other columns do not reload them
            if status[i] == HEALTHY and not (caring and helping[i] >= 0):
                down = grounded or (shaky and suppression[i] > threshold)
                running = decoying and role[i] == DECOY  # the bait runs even so
                if grounded or (still and not running):
                    posture[i] = (PRONE if down or (drill_ground and role[i] != SHOOTER)
                                  else CONCEALED)
                elif holding[i]:
                    posture[i] = PRONE if down else HALTED
                else:
                    stance = PRONE if down else MOVING
                    if running:
                        tx = gx + dgx
                        ty = gy + dgy
                        boost = sprint
                    else:
                        sx = ox[i] * scale
                        sy = oy[i] * scale
                        tx = gx + sx * ghy + sy * ghx
                        ty = gy - sx * ghx + sy * ghy
                        boost = sprint if dispersing else CATCH_UP
                    dx = tx - xi
                    dy = ty - yi
                    dist = np.sqrt(dx * dx + dy * dy)
                    reach = gait * movement_factor[terrain[i]] * boost * dt
                    if down:
                        reach *= crawl
                    if dist <= reach:
                        xi = tx
                        yi = ty
                        if halted and not down:
                            stance = HALTED
                    else:
                        frac = reach / dist
                        xi += dx * frac
                        yi += dy * frac
                        owed += dist - reach
                    x[i] = xi
                    y[i] = yi
                    posture[i] = stance
                    moved += 1
                    if not flat:  # on one class everywhere the class cannot change
                        cy, cx = raster_cell(xi, yi, t.x0, t.y0, t.cell, t_nx, t_ny)
                        terrain[i] = grid[cy, cx] if cy >= 0 else t.default
                    if rect and r0 <= xi <= r2 and r1 <= yi <= r3:
                        holding[i] = True
            if status[i] == KILLED or (phased and phase[i] == EVACUATED):
                continue
            # the boxes, by where the soldier now stands (while its columns are cached)
            if side[i] == 0:
                a0, a1, a2, a3 = min(a0, xi), min(a1, yi), max(a2, xi), max(a3, yi)
            else:
                b0, b1, b2, b3 = min(b0, xi), min(b1, yi), max(b2, xi), max(b3, yi)
        lag[g] = owed / max(moved, 1)
        lag_n[g] = moved
    box[0, 0], box[0, 1], box[0, 2], box[0, 3] = a0, a1, a2, a3
    box[1, 0], box[1, 1], box[1, 2], box[1, 3] = b0, b1, b2, b3


class Movement:
    """Advance anchors, move soldiers towards their slots, apply holding and postures; then
    rebuild ``state.grids`` (the neighbour grids every later stage queries) in buffers the
    stage owns (``spatial.GridStore``): ``state.grids`` are views of them, valid until the
    next step's movement."""

    name = "movement"

    def __init__(self, state: State) -> None:
        objectives = state.scenario.objectives
        self.rects = np.zeros((max(len(objectives), 1), 5))
        for k, spec in enumerate(objectives):
            if spec.rect is not None:
                x0, y0, x1, y1 = spec.rect
                self.rects[k] = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1), 1.0)
        self.polygons = any(o.polygon is not None for o in objectives)
        self.grid_cell = state.grids[0].cell
        self.march = columns(March, state.platoons)
        self.bodies = columns(Bodies, state.soldiers)
        self.formation = columns(Formation, state.soldiers)
        self.tending = (state.care.helping, state.care.phase)
        self.ground = tuple(Ground.of(state.terrain))
        raster = state.terrain
        #: one class everywhere (on the raster and off it): a soldier's class never changes
        self.flat = bool((raster.grid == raster.default).all())
        spec = state.scenario.suppression
        self.gaits = np.array([state.scenario.sprint_factor,
                               spec.threshold if spec.enabled else np.inf, spec.crawl])
        self.roster = roster(state.soldiers.platoon, len(state.platoons.ax), CHUNK)
        if self.roster[1][-1] != len(state.soldiers.x):  # the grids' boxes are found per platoon
            raise ValueError("every soldier must belong to a platoon of the state")
        self.parallel = len(state.soldiers.x) >= PARALLEL_MIN
        #: the grid buffers of a single run: made at the first call (an ensemble's batched
        #: call writes every replicate's grids into buffers of its own instead)
        self.store: GridStore | None = None
        self._place: tuple = ()

    def _bind(self, store: GridStore) -> None:
        self.store = store
        self._place = (float(self.grid_cell), self.flat, store.rows[0], store.frames[0])

    def __call__(self, state: State, log: EventLog) -> None:
        if self.store is None:
            self._bind(GridStore([state.soldiers.side], [state.grids], self.grid_cell))
        kernel = _march
        # the thread count may change between steps (nb.set_num_threads); with one thread,
        # the serial kernel, without parallel regions
        if self.parallel and nb.get_num_threads() > 1:
            kernel = _march_parallel
        store = self.store
        if kernel(state.step, state.dt, self.gaits, self.march, self.bodies, self.formation,
                  self.ground, state.terrain.movement, self.rects, self._place, self.tending,
                  self.roster):
            store.grow(0, self._who(state))
            self._bind(store)
        state.grids = store.grids(0)
        if self.polygons:  # holding does not enter the grids
            _hold_polygons(state)

    def _who(self, state: State) -> tuple:
        s = state.soldiers
        return (s.x, s.y, s.status, s.side, self.tending[1], KILLED, EVACUATED)

    @classmethod
    def batch(cls, stages: list[Movement], states: list[State]) -> MovementBatch | None:
        """One call that moves every replicate of an ensemble (``engine/batch.py``): the
        serial kernel on each replicate's rows of the stacked columns, writing each one's
        grids into buffers the call owns (``spatial.GridStore``, one row per replicate).
        None for the parallel path (large N: per-call overhead is negligible there), or
        where columns are not stacked or per-run constants differ."""
        first = stages[0]
        if first.parallel or not cls._alike(stages, states):
            return None
        views = [stacked_view(tuple(getattr(s, name) for s in stages))
                 for name in ("march", "bodies", "formation", "tending")]
        if any(v is None for v in views):
            return None
        return MovementBatch(first, states, *views)

    @staticmethod
    def _alike(stages: list[Movement], states: list[State]) -> bool:
        """Whether the per-run constants the batched kernel takes from replicate 0 are
        every replicate's."""
        return same([(s.rects, s.polygons, s.ground, s.flat, s.gaits, s.roster, s.grid_cell)
                     for s in stages]) and same([s.terrain.movement for s in states])


class MovementBatch:
    """Movement's batched call for an ensemble (``Movement.batch``): ``call(states, logs)``.

    Holds the stacked kernel views, replicate 0's per-run constants and the grid buffers of
    every replicate (``GridStore``); nothing else per replicate, so ``reset(r)`` re-binds
    replicate ``r`` after it was re-initialised in place (``Ensemble.reset``). Its kernel
    takes each replicate's own step (``any_step``).
    """

    any_step = True

    def __init__(self, first: Movement, states: list[State], march: tuple, bodies: tuple,
                 formation: tuple, tending: tuple) -> None:
        self.views = (march, bodies, formation, tending)
        self.constants = (first.gaits, first.ground, first.rects, float(first.grid_cell),
                          first.flat, first.roster)
        self.polygons = first.polygons
        self.terrain = states[0].terrain.movement
        self.store = GridStore([s.soldiers.side for s in states], [s.grids for s in states],
                               first.grid_cell)

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        march, bodies, formation, tending = self.views
        gaits, ground, rects, cell, flat, roster_ = self.constants
        store = self.store
        state0 = states[0]
        if _march_rows(steps(states), state0.dt, gaits, march, bodies, formation, ground,
                       state0.terrain.movement, rects, (cell, flat, store.stacked,
                                                        store.frames), tending, roster_):
            for r in np.nonzero(store.frames[:, :, 4].min(axis=1) < 0)[0]:
                state = states[r]
                s = state.soldiers
                store.grow(int(r), (s.x, s.y, s.status, s.side, state.care.phase, KILLED,
                                    EVACUATED))
        lend_grids(states, store.lent)  # no Grid made until something reads a state's grids
        if self.polygons:
            for state in states:
                _hold_polygons(state)
        offer_grids(store)

    def reset(self, r: int, stage: Movement | None = None, state: State | None = None) -> bool:
        """Re-bind replicate ``r`` after ``Ensemble.reset`` re-initialised it in place (its
        columns copied into row ``r`` of the stacked arrays, its stages rebuilt): its grid
        views are made again at the next call. Given its new ``stage`` and ``state``, also
        checks that its per-run constants are replicate 0's (the batched kernel takes
        those): False where not (the ensemble then builds the batched call again). Where
        they are, the state's fresh grids are copied into row ``r`` of the store and lent
        to it like the others', so the grid consumers before the next movement call (care)
        still read every replicate's grids in place."""
        self.store.forget(r)
        if stage is None or state is None:
            return True
        if not (stage.polygons == self.polygons and identical(
                (*self.constants, self.terrain),
                (stage.gaits, stage.ground, stage.rects, float(stage.grid_cell), stage.flat,
                 stage.roster, state.terrain.movement))):
            return False
        if self.store.adopt(r, state.grids):
            lend_grids([state], [self.store.lent[r]])
        return True


def roster(platoon: np.ndarray, n_platoons: int, chunk: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(members, first, spans)``: the soldiers of platoon ``g`` are
    ``members[first[g]:first[g + 1]]`` in ascending order, and platoons
    ``spans[k]..spans[k + 1] - 1`` make chunk ``k``, whole platoons of about ``chunk``
    soldiers together.

    >>> members, first, spans = roster(np.array([1, 0, 1, 0], np.int32), 2, 2)
    >>> members.tolist(), first.tolist(), spans.tolist()
    ([1, 3, 0, 2], [0, 2, 4], [0, 1, 2])
    """
    members = np.argsort(platoon, kind="stable").astype(np.int64)
    first = np.zeros(n_platoons + 1, np.int64)
    np.cumsum(np.bincount(platoon, minlength=n_platoons)[:n_platoons], out=first[1:])
    # a chunk ends at the first platoon boundary at or past each multiple of ``chunk``
    cuts = np.searchsorted(first, np.arange(chunk, first[-1], chunk), side="left")
    spans = np.unique(np.concatenate([[0], cuts, [n_platoons]])).astype(np.int64)
    return members, first, spans


def _hold_polygons(state: State) -> None:
    s, p = state.soldiers, state.platoons
    objective = p.objective[s.platoon]
    for k, spec in enumerate(state.scenario.objectives):
        if spec.polygon is None:
            continue
        sel = nonzero((objective == k) & ~s.holding & (s.status == HEALTHY))
        if sel.size:
            inside = points_in_area(s.x[sel], s.y[sel], None, spec.polygon)
            s.holding[sel[inside]] = True
