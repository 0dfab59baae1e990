"""Casualty care: comrades go to the wounded, treat or drag them, and the rear evacuates them.

A platoon whose doctrine cares for its wounded (``casualty_care.mode`` ``treat`` or
``drag``) sends up to ``helpers`` healthy comrades to each of its wounded: the nearest ones
within ``radius`` that help no one else (casualties by index, helpers nearest first, ties
to the lowest index). A helper leaves the advance (movement skips him, he does not fire)
and walks to the casualty at ``pace * movement[terrain] * CATCH_UP``, upright. Once at
least one helper is there:

- ``treat``: the helpers kneel (posture ``halted``) beside him for ``treat_time`` seconds;
- ``drag``: the helpers there drag him, upright, towards the collection point at
  ``drag_speed * movement[terrain]``.

Then the casualty is READY and his helpers go back to their places. Helpers are sent in the
step after someone falls and after helpers come free; a casualty with nobody free in reach
then waits for the next such moment. A READY casualty leaves
the field when his platoon's rear has capacity: each platoon gains ``evacuation_rate``
evacuations per minute (banking at most one, or one step's worth if more), spent on the
READY casualties longest waiting first. An evacuated soldier stays wounded but is no longer
on the field: the neighbour grids (and so every sensor, drone, shell and suppression) skip
him and drones flying at him lose their target. Helpers are released early if they fall,
or the casualty dies. See docs/model.md §11b.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.batch import (
    MemoBatch,
    epochs,
    grid_rows,
    packed_grids,
    rows,
    same,
    stacked_view,
    steps,
)
from dronefront.engine.events import EventLog
from dronefront.engine.spatial import Grid, disc_rows, row_cells
from dronefront.engine.stages.movement import CATCH_UP
from dronefront.engine.state import (
    CARE_DRAG,
    CARE_NONE,
    EVACUATED,
    HALTED,
    HEALTHY,
    IN_CARE,
    MOVING,
    READY,
    WOUNDED,
    Bodies,
    State,
    columns,
)
from dronefront.engine.terrain import Ground, raster_cell

WAIT_CAP = 4096  # most steps the stage sleeps at once while casualties wait for evacuation


@nb.njit(cache=True)
def _nearest_helper(c, g, radius, x, y, status, platoon, helping, grid):
    """The healthy soldier of platoon ``g`` nearest casualty ``c`` within ``radius`` who
    helps no one; ties to the lowest index; -1 if none."""
    start, nx, items = grid.start, grid.nx, grid.items
    best, best_d2 = -1, radius * radius
    cx0, cx1, cy0, cy1 = disc_rows(grid, x[c], y[c], radius)
    for cy in range(cy0, cy1 + 1):
        c0, c1 = row_cells(nx, cy, cx0, cx1)
        for k in range(start[c0], start[c1]):
            j = items[k]
            if status[j] != HEALTHY or platoon[j] != g or helping[j] >= 0:
                continue
            dx = x[j] - x[c]
            dy = y[j] - y[c]
            d2 = dx * dx + dy * dy
            if d2 < best_d2 or (d2 == best_d2 and (best < 0 or j < best)):
                best, best_d2 = j, d2
    return best


class Aid(NamedTuple):
    """Kernel view: the ``Care`` columns one step of care reads and writes."""

    helping: np.ndarray
    phase: np.ndarray
    care_left: np.ndarray
    since: np.ndarray
    mode: np.ndarray
    helpers: np.ndarray
    radius: np.ndarray
    treat_time: np.ndarray
    drag_speed: np.ndarray
    collect_x: np.ndarray
    collect_y: np.ndarray
    evac_rate: np.ndarray
    evac_credit: np.ndarray
    evac_step: np.ndarray


@nb.njit(cache=True)
def _care(step, dt, aid, bodies, pace, ground, movement_factor, grids, assign, steady):
    """One step of casualty care, sending helpers only if ``assign``; ``steady``: the last
    call left work going on, so that the steps since were all care steps (capacity accrues
    step by step, as on those steps). Returns (the soldiers evacuated this step, whether
    work goes on: a helper at work or a READY casualty alive waiting, the first step a call
    can do more than accrue capacity unless someone falls or helpers come free, whether
    helpers came free this step)."""
    cr, b, t = Aid(*aid), Bodies(*bodies), Ground(*ground)
    x, y, side, platoon, status, posture, terrain = (b.x, b.y, b.side, b.platoon, b.status,
                                                     b.posture, b.terrain)
    helping, phase, care_left, since = cr.helping, cr.phase, cr.care_left, cr.since
    mode, helpers, radius, treat_time = cr.mode, cr.helpers, cr.radius, cr.treat_time
    drag_speed, collect_x, collect_y = cr.drag_speed, cr.collect_x, cr.collect_y
    evac_rate, evac_credit, evac_step = cr.evac_rate, cr.evac_credit, cr.evac_step
    g0, g1 = Grid(*grids[0]), Grid(*grids[1])
    tgrid = t.grid
    t_ny, t_nx = tgrid.shape
    n = x.shape[0]
    # 1. Release helpers who fell, or whose casualty died or needs them no more.
    count = np.zeros(n, np.int32)
    freed = False
    for i in range(n):
        c = helping[i]
        if c < 0:
            continue
        if status[i] != HEALTHY or status[c] != WOUNDED or phase[c] != IN_CARE:
            helping[i] = -1
            freed = True
        else:
            count[c] += 1
    # 2. Send comrades to the casualties short of helpers.
    for c in range(n if assign else 0):
        if status[c] != WOUNDED or phase[c] != IN_CARE:
            continue
        g = platoon[c]
        if mode[g] == CARE_NONE:
            continue
        if care_left[c] < 0.0:
            care_left[c] = treat_time[g]
        while count[c] < helpers[g]:
            j = _nearest_helper(c, g, radius[g], x, y, status, platoon, helping,
                                g0 if side[c] == 0 else g1)
            if j < 0:
                break
            helping[j] = c
            count[c] += 1
    # 3. Helpers walk to their casualty; those who reach him are with him.
    arrived = np.zeros(n, np.bool_)
    present = np.zeros(n, np.int32)
    for i in range(n):
        c = helping[i]
        if c < 0:
            continue
        g = platoon[i]
        dx = x[c] - x[i]
        dy = y[c] - y[i]
        dist = np.sqrt(dx * dx + dy * dy)
        reach = pace[g] * movement_factor[terrain[i]] * CATCH_UP * dt
        if dist <= reach:
            x[i] = x[c]
            y[i] = y[c]
            arrived[i] = True
            present[c] += 1
            posture[i] = MOVING if mode[g] == CARE_DRAG else HALTED
        else:
            x[i] += dx * reach / dist
            y[i] += dy * reach / dist
            posture[i] = MOVING
        cy, cx = raster_cell(x[i], y[i], t.x0, t.y0, t.cell, t_nx, t_ny)
        terrain[i] = tgrid[cy, cx] if cy >= 0 else t.default
    # 4. Treat, or drag towards the collection point; done: READY.
    done = False
    for c in range(n):
        if present[c] == 0:
            continue
        g = platoon[c]
        if mode[g] == CARE_DRAG:
            dx = collect_x[g] - x[c]
            dy = collect_y[g] - y[c]
            dist = np.sqrt(dx * dx + dy * dy)
            reach = drag_speed[g] * movement_factor[terrain[c]] * dt
            if dist <= reach:
                x[c] = collect_x[g]
                y[c] = collect_y[g]
                phase[c] = READY
            else:
                x[c] += dx * reach / dist
                y[c] += dy * reach / dist
            cy, cx = raster_cell(x[c], y[c], t.x0, t.y0, t.cell, t_nx, t_ny)
            terrain[c] = tgrid[cy, cx] if cy >= 0 else t.default
        else:
            care_left[c] -= dt
            if care_left[c] <= 1e-9:
                phase[c] = READY
        if phase[c] == READY:
            since[c] = step
            done = True
    for i in range(n):  # draggers move with their casualty; helpers of the READY go back
        c = helping[i]
        if c < 0:
            continue
        if phase[c] == READY:
            helping[i] = -1
            freed = True
        elif arrived[i] and mode[platoon[i]] == CARE_DRAG:
            x[i] = x[c]
            y[i] = y[c]
            terrain[i] = terrain[c]
    # 5. The rear evacuates READY casualties, longest waiting first, as capacity allows.
    # Capacity accrues for every step since the last call (the stage sleeps while idle).
    elapsed = step - evac_step[0]
    evac_step[0] = step
    for g in range(evac_rate.shape[0]):
        if steady:  # the steps skipped while READY casualties only waited for capacity
            credit = evac_credit[g]
            for _ in range(elapsed):
                credit = min(credit + evac_rate[g], max(1.0, evac_rate[g]))
            evac_credit[g] = credit
        else:
            evac_credit[g] = min(evac_credit[g] + evac_rate[g] * elapsed,
                                 max(1.0, evac_rate[g]))
    any_ready = done
    if not any_ready:
        for c in range(n):
            if phase[c] == READY and status[c] == WOUNDED:
                any_ready = True
                break
    busy = False
    for i in range(n):
        if helping[i] >= 0:
            busy = True
            break
    if not any_ready:
        return np.empty(0, np.int64), busy, step + 1, freed
    ready = []
    for c in range(n):
        if phase[c] == READY and status[c] == WOUNDED:
            ready.append(c)
    cand = np.array(ready, np.int64)
    keys = np.empty(cand.shape[0], np.int64)
    for k in range(cand.shape[0]):
        keys[k] = np.int64(since[cand[k]]) * (np.int64(1) << np.int64(32)) + cand[k]
    out = []
    for k in np.argsort(keys):
        c = cand[k]
        g = platoon[c]
        if evac_credit[g] >= 1.0:
            evac_credit[g] -= 1.0
            phase[c] = EVACUATED
            out.append(c)
    left = len(out) < cand.shape[0]  # READY casualties still waiting
    wake = step + 1
    if left and not busy:
        # Nobody at work: until a waiting casualty's platoon has capacity, a step of care
        # only accrues it. The first such step, accruing as the steps would (capped:
        # waking early is always exact).
        wake = step + WAIT_CAP
        waiting = np.zeros(evac_rate.shape[0], np.bool_)
        for k in range(cand.shape[0]):
            if phase[cand[k]] == READY:
                waiting[platoon[cand[k]]] = True
        for g in range(evac_rate.shape[0]):
            if not waiting[g] or evac_rate[g] <= 0.0:
                continue
            credit, due = evac_credit[g], 0
            while credit < 1.0 and due < WAIT_CAP:
                credit = min(credit + evac_rate[g], max(1.0, evac_rate[g]))
                due += 1
            wake = min(wake, step + due)
    return np.array(out, np.int64), busy or left, wake, freed


class CasualtyCare:
    """Helpers to the wounded, treatment or dragging, evacuation (docs/model.md §11b).

    Runs first in the step, before movement rebuilds the neighbour grids (which then leave
    out the evacuated); does nothing when no platoon cares for its wounded.
    """

    name = "care"

    def __init__(self, state: State) -> None:
        self.enabled = state.care.helping.shape[0] > 0
        self.aid = columns(Aid, state.care)
        self.bodies = columns(Bodies, state.soldiers)
        self.ground = tuple(Ground.of(state.terrain))
        # Helpers are sent when someone has fallen (``casualty_epoch``) or helpers came
        # free; between those, with no helper at work and nobody READY waiting, a step of
        # care is an exact no-op and the stage sleeps (capacity accrues for the steps slept).
        # While READY casualties only wait for their platoon's evacuation capacity (nobody
        # at work), a step of care only accrues it: the stage sleeps until ``wake``, the
        # first step some waiting platoon has capacity, and the next call accrues the steps
        # slept one by one, as the calls would have.
        self.busy = self.freed = False
        self.wake = 0
        self.epoch = state.casualty_epoch
        self.dt, self.pace, self.movement = state.dt, state.platoons.pace, state.terrain.movement

    def __call__(self, state: State, log: EventLog) -> None:
        assign = self.freed or state.casualty_epoch != self.epoch
        if not self.enabled or not (assign or (self.busy and state.step >= self.wake)):
            return
        self.epoch = state.casualty_epoch
        out, self.busy, self.wake, self.freed = _care(
            state.step, self.dt, self.aid, self.bodies, self.pace, self.ground, self.movement,
            (tuple(state.grids[0]), tuple(state.grids[1])), assign, self.busy)
        if out.size:
            evacuated(state, log, out)

    @classmethod
    def batch(cls, stages: list[CasualtyCare], states: list[State]) -> CareBatch | None:
        """Every replicate's gate, and the care of those with helpers at work, in one
        kernel call (``CareBatch``); None where care is on in some replicates only, the
        constants differ or a column is not stacked."""
        if not same([(s.enabled, s.dt, s.movement, s.ground) for s in stages]):
            return None
        columns_ = stacked_view([(s.aid, s.bodies, (s.pace,)) for s in stages])
        if columns_ is None:
            return None
        return CareBatch(stages, states, columns_)


def evacuated(state: State, log: EventLog, out: np.ndarray) -> None:
    """What follows the evacuation of soldiers ``out`` (ascending): drones flying at them
    look for another target; the events."""
    s, d = state.soldiers, state.drones
    gone = np.isin(d.target, out)
    if gone.any():
        d.target[gone] = -1
        d.committed_decoy[gone] = False
    if log.keeps:
        log.add(state.step, "evacuated", s.side[out], s.x[out], s.y[out],
                platoon=s.platoon[out], target=out)


class CareBatch(MemoBatch):
    """Casualty care for an ensemble, one ``_care_rows`` kernel call a step.

    The memos of every replicate (``epoch``, ``busy``, ``wake``, ``freed``) live in arrays
    by replicate, owned by this call while the ensemble runs (``pull`` takes a stage's
    own). The kernel makes each replicate's gate and steps those with helpers at work and
    nobody to send. The replicates that send helpers (someone fell, or helpers came free:
    about one woken step in eight in kursk-assault) need their neighbour grids: a second
    kernel call, ``_send_rows``, steps them over the grids sensing packed the step before
    (``batch.packed_grids``); where the grids are not packed (``batch.PACK_LIMIT``) each
    one's own stage steps it, its memos handed over and back. Evacuations are followed up
    per replicate. Each replicate's gate and care use its own step (``any_step``)."""

    any_step = True

    def __init__(self, stages: list[CasualtyCare], states: list[State], columns_: tuple
                 ) -> None:
        super().__init__(stages, states)
        n = len(stages)
        first = stages[0]
        self.aid, self.bodies, (self.pace,) = columns_
        self.enabled, self.dt = first.enabled, first.dt
        self.ground, self.movement = first.ground, first.movement
        self.memo = (np.zeros(n, np.int64), np.zeros(n, np.bool_), np.zeros(n, np.int64),
                     np.zeros(n, np.bool_))  # epoch, busy, wake, freed
        self.out = np.empty((n, states[0].soldiers.n), np.int64)
        self.counts = np.zeros(n, np.int64)
        self.lists = np.empty((2, n), np.int64)
        for r in range(n):
            self.pull(r)

    def pull(self, r: int) -> None:
        stage = self.stages[r]
        epoch, busy, wake, freed = self.memo
        epoch[r], busy[r], wake[r], freed[r] = stage.epoch, stage.busy, stage.wake, stage.freed

    def push(self, r: int) -> None:
        """Hand replicate ``r``'s memos to its stage (before its own call)."""
        stage = self.stages[r]
        epoch, busy, wake, freed = self.memo
        stage.epoch, stage.busy = int(epoch[r]), bool(busy[r])
        stage.wake, stage.freed = int(wake[r]), bool(freed[r])

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        if not self.enabled:
            return
        lists = self.lists
        sending, evacuating, _ = _care_rows(
            steps(states), self.dt, self.aid, self.bodies, self.pace, self.ground,
            self.movement, epochs(states, "casualty_epoch"), self.memo,
            (self.out, self.counts, lists))
        if evacuating:
            out, counts = self.out, self.counts
            for r in lists[1, :evacuating].tolist():
                evacuated(states[r], logs[r], out[r, :counts[r]].copy())
        if not sending:
            return
        grids = packed_grids(states)  # the grids sensing packed last step: no repacking
        if grids is None:  # large grids: each by its own stage (the same memos)
            stages = self.stages
            for r in lists[0, :sending].tolist():
                self.push(r)
                stages[r](states[r], logs[r])
                self.pull(r)
            return
        evacuating, _ = _send_rows(
            steps(states), self.dt, self.aid, self.bodies, self.pace, self.ground,
            self.movement, epochs(states, "casualty_epoch"), lists[0, :sending], grids,
            self.memo, (self.out, self.counts, lists[1]))
        if evacuating:
            out, counts = self.out, self.counts
            for r in lists[1, :evacuating].tolist():
                evacuated(states[r], logs[r], out[r, :counts[r]].copy())


@nb.njit(cache=True)
def _care_rows(steps, dt, aid, bodies, pace, ground, movement, now, memo, outputs):
    """The care gate of every replicate of an ensemble (stacked columns, ``steps`` and ``now``: the
    steps and casualty epochs by replicate), and ``_care`` for those woken with nobody to send (they
    do not look at the grids); ``memo`` = ``(epoch, busy, wake, freed)`` by replicate, read and
    rewritten. ``outputs`` = ``(out, counts, lists)``: the soldiers each replicate evacuated, and in
    ``lists`` the replicates woken to send helpers (row 0, left to their stages), then those that
    evacuated (row 1). Returns how many of each, and how many replicates it stepped."""
    epoch, busy, wake, freed = memo
    out, counts, lists = outputs
    empty = np.empty(0, np.int64)
    start = np.zeros(2, np.int64)
    nobody = (0.0, 0.0, 1.0, np.int64(1), np.int64(1), start, empty)  # never looked at
    sending = evacuating = stepped = 0
    for r in range(now.shape[0]):
        if freed[r] or now[r] != epoch[r]:
            lists[0, sending] = r
            sending += 1
            continue
        if not (busy[r] and steps[r] >= wake[r]):
            continue
        gone, busy[r], wake[r], freed[r] = _care(steps[r], dt, rows(aid, r), rows(bodies, r),
                                                 pace[r], ground, movement, (nobody, nobody),
                                                 False, busy[r])
        stepped += 1
        if gone.shape[0]:
            counts[r] = gone.shape[0]
            out[r, :gone.shape[0]] = gone
            lists[1, evacuating] = r
            evacuating += 1
    return sending, evacuating, stepped


@nb.njit(cache=True)
def _send_rows(steps, dt, aid, bodies, pace, ground, movement, now, listed, grids, memo,
               outputs):
    """``_care`` with helpers sent (as the stage's own call does) for the replicates
    ``listed`` (``_care_rows``'s row 0), each at its step over its neighbour grids from
    ``batch.packed_grids``; ``memo`` as for ``_care_rows``. ``outputs`` = ``(out, counts,
    evacuating)``: the soldiers each replicate evacuated, and the replicates that did
    listed in ``evacuating``. Returns how many evacuated, and how many were stepped."""
    epoch, busy, wake, freed = memo
    out, counts, evacuating = outputs
    n = 0
    for r in listed:
        epoch[r] = now[r]
        gone, busy[r], wake[r], freed[r] = _care(steps[r], dt, rows(aid, r), rows(bodies, r),
                                                 pace[r], ground, movement,
                                                 grid_rows(grids, r), True, busy[r])
        if gone.shape[0]:
            counts[r] = gone.shape[0]
            out[r, :gone.shape[0]] = gone
            evacuating[n] = r
            n += 1
    return n, listed.shape[0]
