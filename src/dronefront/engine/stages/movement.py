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

from collections.abc import Callable
from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.batch import rows, same, stacked_view, steps
from dronefront.engine.events import EventLog
from dronefront.engine.spatial import Grid, nonzero, side_grids, side_grids_parallel
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
def _march(step, dt, gaits, march, bodies, formation, ground, movement_factor, rects, frame,
           tending, roster):
    """Advance every anchor, then move every soldier (one step); returns the neighbour grids
    of the soldiers where they now stand (as ``Grid`` fields, one per side). ``gaits``:
    sprint factor, suppression threshold, crawl factor. ``tending``: casualty care's
    ``helping`` and ``phase`` columns (empty without care): helpers are left to the care
    stage and the evacuated leave the grids. ``roster``: ``(members, first, spans)``, the
    soldiers of platoon ``g`` are ``members[first[g]:first[g + 1]]`` (ascending).
    ``frame``: the grid cell (m) and the number of threads (used by ``_march_parallel``)."""
    p = March(*march)
    t = Ground(*ground)
    b = Bodies(*bodies)
    helping, phase = tending
    _advance(step, dt, p, t, movement_factor)
    _move_platoons((0, p.lag.shape[0]), roster, step, dt, gaits, p, b, Formation(*formation),
                   t, movement_factor, rects, helping)
    return side_grids((b.x, b.y, b.status, b.side, phase, KILLED, EVACUATED), frame[0])


@nb.njit(cache=True)
def _march_rows(steps, dt, gaits, march, bodies, formation, ground, movement_factor, rects,
                frame, tending, roster):
    """``_march`` for every replicate of an ensemble (replicate ``r`` at step
    ``steps[r]``): ``march``, ``bodies``, ``formation`` and ``tending`` are stacked (leading
    replicate axis); returns each one's grids."""
    grids = []
    for r in range(bodies[0].shape[0]):
        grids.append(_march(steps[r], dt, gaits, rows(march, r), rows(bodies, r),
                            rows(formation, r), ground, movement_factor, rects, frame,
                            rows(tending, r), roster))
    return grids


@nb.njit(cache=True, parallel=True)
def _march_parallel(step, dt, gaits, march, bodies, formation, ground, movement_factor, rects,
                    frame, tending, roster):
    """``_march`` with the soldiers moved and the grids built on every Numba thread: chunks
    of whole platoons (``roster[2]``), so each platoon's lag is summed in soldier order by
    one thread and the results do not depend on the number of threads."""
    p = March(*march)
    t = Ground(*ground)
    b = Bodies(*bodies)
    f = Formation(*formation)
    helping, phase = tending
    _advance(step, dt, p, t, movement_factor)
    spans = roster[2]
    for k in nb.prange(spans.shape[0] - 1):
        _move_platoons((spans[k], spans[k + 1]), roster, step, dt, gaits, p, b, f, t,
                       movement_factor, rects, helping)
    return side_grids_parallel((b.x, b.y, b.status, b.side, phase, KILLED, EVACUATED),
                               frame[0], frame[1])


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
def _move_platoons(span, roster, step, dt, gaits, p, b, f, t, movement_factor, rects, helping):
    """Move every healthy, mobile soldier of platoons ``span[0]..span[1] - 1`` towards its
    slot; hold inside rect objectives. Soldiers helping a casualty (``helping``, empty
    without care) are the care stage's.

    Fills ``p.lag`` (mean distance still to go after moving, per platoon) and ``p.movers``
    (soldiers that moved, per platoon). A soldier's move reads only its platoon's row and
    writes only its own columns, so platoons may be moved in any order, or at once."""
    members, first = roster[0], roster[1]
    x, y, status, terrain, posture = b.x, b.y, b.status, b.terrain, b.posture
    ox, oy, role, holding, suppression = f.ox, f.oy, f.role, f.holding, f.suppression
    broken, on_break, shaken = p.broken, p.on_break, p.shaken
    sprint, threshold, crawl = gaits[0], gaits[1], gaits[2]
    base_posture, frozen_until, dispersed_until = p.base_posture, p.frozen_until, p.dispersed_until
    decoy_until, disperse_factor, pace = p.decoy_until, p.disperse_factor, p.pace
    ax, ay, hx, hy, decoy_dx, decoy_dy = p.ax, p.ay, p.hx, p.hy, p.decoy_dx, p.decoy_dy
    objective, lag, lag_n, grounded_until = p.objective, p.lag, p.movers, p.grounded_until
    grid = t.grid
    t_ny, t_nx = grid.shape
    caring = helping.shape[0] > 0
    for g in range(span[0], span[1]):
        lag[g] = 0.0
        lag_n[g] = 0
        if base_posture[g] != MOVING:
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
        owed = 0.0
        moved = 0
        for m in range(first[g], first[g + 1]):
            i = members[m]
            if status[i] != HEALTHY:
                continue
            if caring and helping[i] >= 0:
                continue
            down = grounded or (shaky and suppression[i] > threshold)
            running = decoying and role[i] == DECOY  # the bait runs even so
            if grounded or (still and not running):
                posture[i] = (PRONE if down or (drill_ground and role[i] != SHOOTER)
                              else CONCEALED)
                continue
            if holding[i]:
                posture[i] = PRONE if down else HALTED
                continue
            posture[i] = PRONE if down else MOVING
            if running:
                tx = gx + decoy_dx[g]
                ty = gy + decoy_dy[g]
                boost = sprint
            else:
                sx = ox[i] * scale
                sy = oy[i] * scale
                tx = gx + sx * ghy + sy * ghx
                ty = gy - sx * ghx + sy * ghy
                boost = sprint if dispersing else CATCH_UP
            dx = tx - x[i]
            dy = ty - y[i]
            dist = np.sqrt(dx * dx + dy * dy)
            reach = pace[g] * movement_factor[terrain[i]] * boost * dt
            if down:
                reach *= crawl
            if dist <= reach:
                x[i] = tx
                y[i] = ty
                if halted and not down:
                    posture[i] = HALTED
            else:
                frac = reach / dist
                x[i] += dx * frac
                y[i] += dy * frac
                owed += dist - reach
            moved += 1
            cy, cx = raster_cell(x[i], y[i], t.x0, t.y0, t.cell, t_nx, t_ny)
            terrain[i] = grid[cy, cx] if cy >= 0 else t.default
            if rect and rects[k, 0] <= x[i] <= rects[k, 2] and rects[k, 1] <= y[i] <= rects[k, 3]:
                holding[i] = True
        lag[g] = owed / max(moved, 1)
        lag_n[g] = moved


class Movement:
    """Advance anchors, move soldiers towards their slots, apply holding and postures; then
    rebuild ``state.grids`` (the neighbour grids every later stage queries)."""

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
        spec = state.scenario.suppression
        self.gaits = np.array([state.scenario.sprint_factor,
                               spec.threshold if spec.enabled else np.inf, spec.crawl])
        self.roster = roster(state.soldiers.platoon, len(state.platoons.ax), CHUNK)
        self.parallel = len(state.soldiers.x) >= PARALLEL_MIN
        self.frame = (float(self.grid_cell), 1)

    def __call__(self, state: State, log: EventLog) -> None:
        kernel, frame = _march, self.frame
        if self.parallel:  # the thread count may change between steps (nb.set_num_threads)
            threads = nb.get_num_threads()
            if threads > 1:  # one thread: the serial kernel, without parallel regions
                kernel, frame = _march_parallel, (self.frame[0], threads)
        g0, g1 = kernel(state.step, state.dt, self.gaits, self.march, self.bodies,
                        self.formation, self.ground, state.terrain.movement, self.rects, frame,
                        self.tending, self.roster)
        state.grids = Grid(*g0), Grid(*g1)
        if self.polygons:  # holding does not enter the grids
            _hold_polygons(state)

    @classmethod
    def batch(cls, stages: list[Movement], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One call that moves every replicate of an ensemble (``engine/batch.py``): the
        serial kernel on each replicate's rows of the stacked columns. None for the
        parallel path (large N: per-call overhead is negligible there), or where columns
        are not stacked or per-run constants differ."""
        first = stages[0]
        if first.parallel or not same([(s.rects, s.polygons, s.ground, s.gaits, s.roster,
                                        s.frame) for s in stages]) \
                or not same([s.terrain.movement for s in states]):
            return None
        views = [stacked_view(tuple(getattr(s, name) for s in stages))
                 for name in ("march", "bodies", "formation", "tending")]
        if any(v is None for v in views):
            return None
        march, bodies, formation, tending = views
        constants = (first.gaits, first.ground, first.rects, first.frame, first.roster)
        polygons = first.polygons
        terrain = states[0].terrain.movement
        scenario = states[0].scenario

        def call(states: list[State], logs: list[EventLog]) -> None:
            gaits, ground, rects, frame, roster_ = constants
            state0 = states[0]
            grids = _march_rows(steps(states), state0.dt, gaits, march, bodies, formation,
                                ground, state0.terrain.movement, rects, frame, tending,
                                roster_)
            for state, (g0, g1) in zip(states, grids, strict=True):
                state.grids = Grid(*g0), Grid(*g1)
                if polygons:
                    _hold_polygons(state)

        def reset(r: int, stage: Movement, state: State) -> bool:
            """Replicate ``r`` restarted: nothing of it is kept here but the shared
            constants, which must still be equal."""
            # one scenario object: one terrain (the raster is the scenario's, not the seed's)
            movement = terrain if state.scenario is scenario else state.terrain.movement
            return same([constants + (polygons, terrain),
                         (stage.gaits, stage.ground, stage.rects, stage.frame, stage.roster,
                          stage.polygons, movement)])

        call.any_step = True  # type: ignore[attr-defined]
        call.reset = reset  # type: ignore[attr-defined]
        return call


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
