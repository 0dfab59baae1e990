"""Sensing: ISR drones, bombers' cameras and ground observers turn sightings into tracks.

A sensor at ground range ``d <= range`` from an enemy soldier sees it this step with
probability ``p * (1 - c) * night`` where ``c = 1 - (1 - c_terrain)(1 - c_posture)(1 -
discipline)`` and ``night`` is 1 by day or for night-capable sensors, else
``NIGHT_SENSOR_FACTOR``. Sightings are pooled per enemy platoon into a track: the mean
position of the soldiers seen this step, how many, and when.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import cell_range
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.state import BOMBER, FLYING, HEALTHY, ISR, KILLED, OBSERVER, State
from dronefront.scenario.models import SIDES

NIGHT_SENSOR_FACTOR = 0.2  # assumption: day cameras at night
NIGHT_OBSERVER_FACTOR = 0.3  # assumption: naked-eye observation at night


@nb.njit(cache=True)
def _look(px, py, radius, prob, sensor, x, y, status, platoon, terrain, posture, discipline,
          t_conc, p_conc, start, items, x0, y0, cell, nx, ny, key, step, mark, sums, count):
    """One sensor's sightings among the soldiers of a grid, pooled per platoon in grid order."""
    cx0, cx1, cy0, cy1 = cell_range(px, py, radius, x0, y0, cell, nx, ny)
    if cx0 > cx1:
        return
    r2 = radius * radius
    for cy in range(cy0, cy1 + 1):
        # The cells cx0..cx1 of a row are contiguous in items: one span, in cell order.
        for k in range(start[cy * nx + cx0], start[cy * nx + cx1 + 1]):
            j = items[k]
            if status[j] == KILLED or mark[j] == step:
                continue
            dx = x[j] - px
            dy = y[j] - py
            if dx * dx + dy * dy > r2:
                continue
            g = platoon[j]
            visible = ((1.0 - t_conc[terrain[j]]) * (1.0 - p_conc[posture[j]])
                       * (1.0 - discipline[g]))
            if uniform(key, step, sensor, j) < prob * visible:
                mark[j] = step
                sums[0, g] += x[j]
                sums[1, g] += y[j]
                count[g] += 1


@nb.njit(cache=True)
def _sense(sensor, reach, split, d_state, d_x, d_y, x, y, status, platoon, terrain, posture,
           discipline, t_conc, p_conc, start0, items0, x00, y00, cell0, nx0, ny0, start1, items1,
           x01, y01, cell1, nx1, ny1, key, step, mark, tr_x, tr_y, tr_n, tr_step):
    """Both sides' sightings of one step; updates the tracks, returns the counts seen.

    ``sensor`` holds draw ids (a slot, or ``n_drones`` + a soldier), side 0's from 0 to
    ``split`` then side 1's; ``reach`` their ranges and detection probabilities.
    """
    n_drones, n_groups = d_state.shape[0], discipline.shape[0]
    count = np.zeros((2, n_groups), np.int64)
    for side in range(2):
        # A side's sensors look at the enemy's grid.
        if side == 0:
            lo, hi = 0, split
            start, items, x0, y0, cell, nx, ny = start1, items1, x01, y01, cell1, nx1, ny1
        else:
            lo, hi = split, sensor.shape[0]
            start, items, x0, y0, cell, nx, ny = start0, items0, x00, y00, cell0, nx0, ny0
        if lo == hi:
            continue
        sums = np.zeros((2, n_groups))
        for r in range(lo, hi):
            q = sensor[r]
            if q < n_drones:
                if d_state[q] != FLYING:
                    continue
                px, py = d_x[q], d_y[q]
            else:
                if status[q - n_drones] != HEALTHY:
                    continue
                px, py = x[q - n_drones], y[q - n_drones]
            _look(px, py, reach[0, r], reach[1, r], q, x, y, status, platoon, terrain, posture,
                  discipline, t_conc, p_conc, start, items, x0, y0, cell, nx, ny, key, step,
                  mark, sums, count[side])
        for g in range(n_groups):
            c = count[side, g]
            if c:
                tr_x[side, g] = sums[0, g] / c
                tr_y[side, g] = sums[1, g] / c
                tr_n[side, g] = c
                tr_step[side, g] = step
    return count


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
        slots = _nz(sensing_type[d.dtype] & (d.side == side))
        observers = _nz((s.role == OBSERVER) & (s.side == side))
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
        self.sensor, self.reach, self.split = _sensors(state)
        # The step a soldier was last seen: once seen, later sensors of the step skip it.
        self.mark = np.full(state.soldiers.n, -1, np.int64)
        self.key = state.streams["sensing.detect"]

    def __call__(self, state: State, log: EventLog) -> None:
        if self.sensor.size == 0:
            return
        d, s, tr, step = state.drones, state.soldiers, state.tracks, state.step
        g0, g1 = state.grids
        count = _sense(
            self.sensor, self.reach, self.split, d.state, d.x, d.y, s.x, s.y, s.status,
            s.platoon, s.terrain, s.posture, state.platoons.discipline,
            state.terrain.concealment, state.posture_concealment, g0.start, g0.items, g0.x0,
            g0.y0, g0.cell, g0.nx, g0.ny, g1.start, g1.items, g1.x0, g1.y0, g1.cell, g1.nx,
            g1.ny, self.key, step, self.mark, tr.x, tr.y, tr.n, tr.step,
        )
        if not log.keeps:
            return
        for side in (0, 1):
            seen = _nz(count[side])
            if seen.size:
                log.add(step, "detection", side, tr.x[side, seen], tr.y[side, seen],
                        platoon=seen, value=count[side, seen])
