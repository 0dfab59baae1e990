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

NIGHT_SENSOR_FACTOR = 0.2  # assumption: day cameras at night
NIGHT_OBSERVER_FACTOR = 0.3  # assumption: naked-eye observation at night


@nb.njit(cache=True)
def _sense(sx, sy, srange, sprob, sid, x, y, status, platoon, terrain, posture, discipline,
           t_conc, p_conc, start, items, x0, y0, cell, nx, ny, key, step, mark, n_groups):
    sum_x = np.zeros(n_groups)
    sum_y = np.zeros(n_groups)
    count = np.zeros(n_groups, np.int64)
    for q in range(sx.shape[0]):
        r2 = srange[q] * srange[q]
        cx0, cx1, cy0, cy1 = cell_range(sx[q], sy[q], srange[q], x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                for k in range(start[c], start[c + 1]):
                    j = items[k]
                    if status[j] == KILLED or mark[j] == step:
                        continue
                    dx = x[j] - sx[q]
                    dy = y[j] - sy[q]
                    if dx * dx + dy * dy > r2:
                        continue
                    g = platoon[j]
                    visible = ((1.0 - t_conc[terrain[j]]) * (1.0 - p_conc[posture[j]])
                               * (1.0 - discipline[g]))
                    if uniform(key, step, sid[q], j) < sprob[q] * visible:
                        mark[j] = step
                        sum_x[g] += x[j]
                        sum_y[g] += y[j]
                        count[g] += 1
    return sum_x, sum_y, count


def sensing(state: State, log: EventLog) -> None:
    """Update each side's tracks of enemy platoons from this step's sightings."""
    d, t, s = state.drones, state.types, state.soldiers
    night = state.scenario.night
    posted = state.cache.get("observers")
    if posted is None:  # roles and sides never change: find the observers once
        posted = state.cache["observers"] = [
            _nz((s.role == OBSERVER) & (s.side == side)) for side in (0, 1)]
    role = t.role[d.dtype]
    airborne = (d.state == FLYING) & ((role == ISR) | (role == BOMBER))
    airborne &= t.sensor_range[d.dtype] > 0
    for side in (0, 1):
        slots = _nz(airborne & (d.side == side))
        observers = posted[side][s.status[posted[side]] == HEALTHY]
        if slots.size == 0 and observers.size == 0:
            continue
        kind = d.dtype[slots]
        prob = t.sensor_detect_prob[kind] * np.where(
            night & ~t.night_capable[kind], NIGHT_SENSOR_FACTOR, 1.0
        )
        doctrine = getattr(state.scenario.sides, ("attacker", "defender")[side]).drone_doctrine
        sx = np.concatenate([d.x[slots], s.x[observers]])
        sy = np.concatenate([d.y[slots], s.y[observers]])
        srange = np.concatenate([
            t.sensor_range[kind], np.full(observers.size, doctrine.observer_range)
        ])
        sprob = np.concatenate([
            prob, np.full(observers.size, doctrine.observer_detect_prob
                          * (NIGHT_OBSERVER_FACTOR if night else 1.0)),
        ])
        sid = np.concatenate([slots, d.n + observers]).astype(np.int64)
        grid = state.cache["grids"][1 - side]
        mark = state.cache.setdefault(("sense_mark", side), np.full(s.n, -1, np.int64))
        sum_x, sum_y, count = _sense(
            sx, sy, srange, sprob, sid, s.x, s.y, s.status, s.platoon, s.terrain, s.posture,
            state.platoons.discipline, state.terrain.concealment, state.posture_concealment,
            grid.start, grid.items, grid.x0, grid.y0, grid.cell, grid.nx, grid.ny,
            state.streams["sensing.detect"], state.step, mark, state.platoons.n,
        )
        seen = _nz(count)
        if seen.size == 0:
            continue
        tr = state.tracks
        tr.x[side, seen] = sum_x[seen] / count[seen]
        tr.y[side, seen] = sum_y[seen] / count[seen]
        tr.n[side, seen] = count[seen]
        tr.step[side, seen] = state.step
        log.add(state.step, "detection", side, tr.x[side, seen], tr.y[side, seen],
                platoon=seen, value=count[seen])
