"""Sensing: ISR drones, bombers' cameras and ground observers turn sightings into tracks.

A sensor at ground range ``d <= range`` from an enemy soldier sees it this step with
probability ``p * (1 - c) * night`` where ``c = 1 - (1 - c_terrain)(1 - c_posture)(1 -
discipline)`` and ``night`` is 1 by day or for night-capable sensors, else
``NIGHT_SENSOR_FACTOR``. Sightings are pooled per enemy platoon into a track: the mean
position of the soldiers seen this step, how many, and when. Only upright (healthy)
soldiers make a track: the wounded lying in a field are no group to call fire on
(docs/model.md §11b), so shells follow the fighting soldiers, not where the fallen lie.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.batch import grid_rows, packed_grids, rows, same, stacked_view, steps
from dronefront.engine.events import EventLog
from dronefront.engine.formulas import Concealment, visibility
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import Grid, disc_rows, grid_columns, nonzero, row_cells
from dronefront.engine.state import (
    BOMBER,
    FLYING,
    HEALTHY,
    ISR,
    OBSERVER,
    Bodies,
    State,
    Tracks,
    columns,
)
from dronefront.scenario.models import SIDES

NIGHT_SENSOR_FACTOR = 0.2  # assumption: day cameras at night
NIGHT_OBSERVER_FACTOR = 0.3  # assumption: naked-eye observation at night


class Sensors(NamedTuple):
    """Kernel view: every sensor that may ever look, in sensing order."""

    ids: np.ndarray  # int64 draw ids: a drone slot, or n_drones + an observer soldier
    reach: np.ndarray  # float64 (2, S): range m, detection probability per step
    split: int  # side 0's sensors are ids[:split], side 1's the rest


@nb.njit(cache=True)
def _look(px, py, r, sensor, reach, b, conc, g, key, step, mark, pooled):
    """Sensor row ``r`` (draw id ``sensor``, at ``(px, py)``) among the soldiers of grid
    ``g``: its sightings, pooled per platoon (``pooled``: position sums and counts)."""
    radius, prob = reach[0, r], reach[1, r]
    sums, count = pooled
    # Columns out of the views once: taken in the loop, each costs a refcount pair.
    x, y, status, platoon, terrain, posture = b.x, b.y, b.status, b.platoon, b.terrain, b.posture
    start, nx, items = g.start, g.nx, g.items
    t_conc, p_conc, discipline = conc.terrain, conc.posture, conc.discipline
    cx0, cx1, cy0, cy1 = disc_rows(g, px, py, radius)
    r2 = radius * radius
    for cy in range(cy0, cy1 + 1):
        c0, c1 = row_cells(nx, cy, cx0, cx1)
        for k in range(start[c0], start[c1]):
            j = items[k]
            if status[j] != HEALTHY or mark[j] == step:  # tracks are of upright soldiers
                continue
            dx = x[j] - px
            dy = y[j] - py
            if dx * dx + dy * dy > r2:
                continue
            p = platoon[j]
            if uniform(key, step, sensor, j) < prob * visibility(
                    t_conc[terrain[j]], p_conc[posture[j]], discipline[p]):
                mark[j] = step
                sums[0, p] += x[j]
                sums[1, p] += y[j]
                count[p] += 1


@nb.njit(cache=True)
def _sense(sensors, d_state, d_x, d_y, bodies, concealment, grids, tracks, key, step, mark):
    """Both sides' sightings of one step; updates the tracks, returns the counts seen and
    whether any track was updated.

    Sensors of side 0 look at side 1's grid, then side 1's at side 0's; a soldier seen once
    in a step is skipped by later sensors (``mark``: the step it was last seen).
    """
    q = Sensors(*sensors)
    b = Bodies(*bodies)
    conc = Concealment(*concealment)
    tr = Tracks(*tracks)
    n_drones, n_groups = d_state.shape[0], conc.discipline.shape[0]
    count = np.zeros((2, n_groups), np.int64)
    updated = False
    for side in range(2):
        if side == 0:
            lo, hi = 0, q.split
        else:
            lo, hi = q.split, q.ids.shape[0]
        if lo == hi:
            continue
        g = Grid(*grids[1 - side])
        sums = np.zeros((2, n_groups))
        for r in range(lo, hi):
            sensor = q.ids[r]
            if sensor < n_drones:
                if d_state[sensor] != FLYING:
                    continue
                px, py = d_x[sensor], d_y[sensor]
            else:
                if b.status[sensor - n_drones] != HEALTHY:
                    continue
                px, py = b.x[sensor - n_drones], b.y[sensor - n_drones]
            _look(px, py, r, sensor, q.reach, b, conc, g, key, step, mark,
                  (sums, count[side]))
        for p in range(n_groups):
            c = count[side, p]
            if c:
                tr.x[side, p] = sums[0, p] / c
                tr.y[side, p] = sums[1, p] / c
                tr.n[side, p] = c
                tr.step[side, p] = step
                updated = True
    return count, updated


@nb.njit(cache=True)
def _sense_rows(sensors, flyers, bodies, concealment, grids, tracks, keys, steps, marks,
                outputs):
    """``_sense`` for every replicate of an ensemble (stacked columns: ``flyers`` the
    drones' state, x and y, ``concealment`` with the platoons' discipline stacked and the
    terrain and posture columns equal in all; ``keys``, ``steps`` and ``marks`` by
    replicate; ``grids`` from ``batch.packed_grids``). ``outputs`` = ``(counts, busy)``: each
    replicate's counts at ``counts[r]``, the replicates with a track updated listed at
    ``busy[:n]``; returns ``n``."""
    d_state, d_x, d_y = flyers
    terrain, posture, discipline = concealment
    counts, busy = outputs
    n = 0
    for r in range(keys.shape[0]):
        count, updated = _sense(sensors, d_state[r], d_x[r], d_y[r], rows(bodies, r),
                                (terrain, posture, discipline[r]), grid_rows(grids, r),
                                rows(tracks, r), keys[r], steps[r], marks[r])
        counts[r] = count
        if updated:
            busy[n] = r
            n += 1
    return n


def _sensors(state: State) -> tuple[np.ndarray, np.ndarray, int]:
    """Every sensor that may ever look, in sensing order (per side: slots with sensing drones,
    then observers): draw ids, (range, probability) rows, and where side 1's begin."""
    d, t, s = state.drones, state.types, state.soldiers
    night = state.scenario.night
    sensing_type = ((t.role == ISR) | (t.role == BOMBER)) & (t.sensor_range > 0)
    type_prob = t.sensor_detect_prob * np.where(
        night & ~t.night_capable, NIGHT_SENSOR_FACTOR, 1.0)
    ids, ranges, probs = [], [], []
    for side, name in enumerate(SIDES):
        doctrine = getattr(state.scenario.sides, name).drone_doctrine
        slots = nonzero(sensing_type[d.dtype] & (d.side == side))
        observers = nonzero((s.role == OBSERVER) & (s.side == side))
        ids += [slots, d.n + observers]
        ranges += [t.sensor_range[d.dtype[slots]],
                   np.full(observers.size, doctrine.observer_range, np.float64)]
        probs += [type_prob[d.dtype[slots]],
                  np.full(observers.size, doctrine.observer_detect_prob
                          * (NIGHT_OBSERVER_FACTOR if night else 1.0), np.float64)]
    split = ids[0].size + ids[1].size
    sensor = np.concatenate(ids).astype(np.int64)
    return sensor, np.stack([np.concatenate(ranges), np.concatenate(probs)]), split


class Sensing:
    """Update each side's tracks of enemy platoons from this step's sightings."""

    name = "sensing"

    def __init__(self, state: State) -> None:
        # Roles, sides and sensor types never change: list the sensors once.
        self.sensors = Sensors(*_sensors(state))
        # The step a soldier was last seen: once seen, later sensors of the step skip it.
        self.mark = np.full(state.soldiers.n, -1, np.int64)
        self.key = state.streams["sensing.detect"]
        self.raw_sensors = tuple(self.sensors)
        self.bodies = columns(Bodies, state.soldiers)
        self.concealment = tuple(Concealment.of(state))
        self.tracks = tuple(state.tracks)

    def __call__(self, state: State, log: EventLog) -> None:
        if self.sensors.ids.size == 0:
            return
        d = state.drones
        count, updated = _sense(self.raw_sensors, d.state, d.x, d.y, self.bodies,
                                self.concealment, grid_columns(state.grids), self.tracks,
                                self.key, state.step, self.mark)
        if updated:
            self.settle(state, log, count)

    @classmethod
    def batch(cls, stages: list[Sensing], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One kernel call that senses for every replicate (``engine/batch.py``); the track
        epoch and the detection events follow per replicate, only where a track was
        updated. Each stage's ``mark`` memo is re-homed into row ``r`` of one stacked array
        (``call.reset(r, stage)`` re-homes a rebuilt replicate's). None where the sensors or
        the terrain and posture concealment differ or a column is not stacked."""
        first = stages[0]
        if first.sensors.ids.size == 0 or not same(
                [(s.raw_sensors, s.concealment[:2]) for s in stages]):
            return None
        columns_ = stacked_view([((st.drones.state, st.drones.x, st.drones.y), s.bodies,
                                  s.concealment[2], s.tracks)
                                 for s, st in zip(stages, states, strict=True)])
        if columns_ is None:
            return None
        flyers, bodies, discipline, tracks = columns_
        stages = list(stages)
        keys = np.array([s.key for s in stages], np.uint64)
        marks = np.stack([s.mark for s in stages])
        counts = np.zeros((len(stages), *first.count_shape), np.int64)
        busy = np.zeros(len(stages), np.int64)
        sensors = first.raw_sensors
        concealment = (*first.concealment[:2], discipline)
        outputs = (counts, busy)

        def rebind(r: int, stage: Sensing | None = None, state: State | None = None) -> bool:
            if stage is not None:
                stages[r] = stage
            keys[r] = stages[r].key
            marks[r] = stages[r].mark
            stages[r].mark = marks[r]
            return True

        for r in range(len(stages)):
            rebind(r)

        def call(states: list[State], logs: list[EventLog]) -> None:
            grids = packed_grids(states)
            if grids is None:  # large grids: per replicate (the same memos)
                for stage, state, log in zip(stages, states, logs, strict=True):
                    stage(state, log)
                return
            n = _sense_rows(sensors, flyers, bodies, concealment, grids, tracks, keys,
                            steps(states), marks, outputs)
            for r in busy[:n].tolist():
                stages[r].settle(states[r], logs[r], counts[r])

        call.reset = rebind  # type: ignore[attr-defined]
        call.any_step = True  # type: ignore[attr-defined]
        return call

    @property
    def count_shape(self) -> tuple[int, int]:
        """Shape of ``_sense``'s counts: (side, platoon)."""
        return 2, self.concealment[2].shape[0]

    def settle(self, state: State, log: EventLog, count: np.ndarray) -> None:
        """A step that updated some track (``count``: soldiers seen per side and platoon):
        the track epoch advances and the detections are logged."""
        state.track_epoch += 1
        if not log.keeps:
            return
        tr, step = state.tracks, state.step
        for side in (0, 1):
            seen = nonzero(count[side])
            if seen.size:
                log.add(step, "detection", side, tr.x[side, seen], tr.y[side, seen],
                        platoon=seen, value=count[side, seen])
