"""Target selection: pick one enemy soldier by policy (nearest, densest, random, value).

``densest`` is the soldier with the most living soldiers of its side within the drone
team's density radius (itself included), ties to the lowest index. Over the whole enemy
force it is found by branch and bound on the grid: a cell's soldiers cannot beat the sum of
the living soldiers in the cells around it, so cells are visited best bound first and the
search stops as soon as no remaining bound can beat (or tie at a lower index) the best.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dronefront.engine.rng import uniform
from dronefront.engine.spatial import cell_range
from dronefront.engine.state import KILLED

NEAREST, DENSEST, RANDOM, HIGHEST_VALUE = range(4)


@nb.njit(cache=True)
def _count_near(px, py, radius, x, y, status, start, items, x0, y0, cell, nx, ny):
    r2 = radius * radius
    cx0, cx1, cy0, cy1 = cell_range(px, py, radius, x0, y0, cell, nx, ny)
    n = 0
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            c = cy * nx + cx
            for k in range(start[c], start[c + 1]):
                j = items[k]
                if status[j] != KILLED:
                    dx = x[j] - px
                    dy = y[j] - py
                    if dx * dx + dy * dy <= r2:
                        n += 1
    return n


@nb.njit(cache=True)
def densest_overall(radius, x, y, status, start, items, x0, y0, cell, nx, ny):
    """Index of the living soldier with most living neighbours within ``radius``; -1 if none."""
    ncell = nx * ny
    cnt = np.zeros(ncell, np.int64)
    minidx = np.full(ncell, np.iinfo(np.int64).max)
    for c in range(ncell):
        for k in range(start[c], start[c + 1]):
            j = items[k]
            if status[j] != KILLED:
                cnt[c] += 1
                if j < minidx[c]:
                    minidx[c] = j
    occupied = np.flatnonzero(cnt)
    if occupied.shape[0] == 0:
        return -1
    kr = int(np.ceil(radius / cell))
    bound = np.zeros(occupied.shape[0], np.int64)
    for i in range(occupied.shape[0]):
        c = occupied[i]
        cx, cy = c % nx, c // nx
        total = 0
        for yy in range(max(cy - kr, 0), min(cy + kr, ny - 1) + 1):
            for xx in range(max(cx - kr, 0), min(cx + kr, nx - 1) + 1):
                total += cnt[yy * nx + xx]
        bound[i] = total
    # Visit by bound descending, then lowest soldier index.
    order = np.argsort(-bound * (np.int64(1) << np.int64(40)) + minidx[occupied])
    best, best_n = -1, -1
    for i in order:
        c = occupied[i]
        if bound[i] < best_n or (bound[i] == best_n and minidx[c] > best):
            break
        for k in range(start[c], start[c + 1]):
            j = items[k]
            if status[j] == KILLED:
                continue
            n = _count_near(x[j], y[j], radius, x, y, status, start, items, x0, y0, cell,
                            nx, ny)
            if n > best_n or (n == best_n and j < best):
                best, best_n = j, n
    return best


@nb.njit(cache=True)
def acquire(px, py, reach, policy, density_radius, visibility, x, y, status, value, platoon,
            start, items, x0, y0, cell, nx, ny, key, step, drone):
    """Pick a visible living soldier within ``reach`` of ``(px, py)`` by ``policy``; -1 if none.

    ``visibility[j]`` is the probability that soldier ``j`` is seen if in reach (one draw
    per drone, step and soldier).
    """
    r2 = reach * reach
    cx0, cx1, cy0, cy1 = cell_range(px, py, reach, x0, y0, cell, nx, ny)
    best = -1
    best_score = -np.inf
    best_d2 = np.inf
    for cy in range(cy0, cy1 + 1):
        for cx in range(cx0, cx1 + 1):
            c = cy * nx + cx
            for k in range(start[c], start[c + 1]):
                j = items[k]
                if status[j] == KILLED:
                    continue
                dx = x[j] - px
                dy = y[j] - py
                d2 = dx * dx + dy * dy
                if d2 > r2:
                    continue
                if visibility[j] < 1.0 and uniform(key, step, drone, j) >= visibility[j]:
                    continue
                if policy == NEAREST:
                    score = -d2
                elif policy == DENSEST:
                    score = _count_near(x[j], y[j], density_radius, x, y, status, start, items,
                                        x0, y0, cell, nx, ny)
                elif policy == RANDOM:
                    score = uniform(key, step, drone, j + 1099511627776)
                else:
                    score = value[platoon[j]]
                if (score > best_score or (score == best_score and d2 < best_d2)
                        or (score == best_score and d2 == best_d2 and j < best)):
                    best, best_score, best_d2 = j, score, d2
    return best
