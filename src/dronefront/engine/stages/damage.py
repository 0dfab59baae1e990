"""Area damage: every strike, bomb or shell resolves against all soldiers in its rings.

For a soldier at distance ``d`` inside ring ``k`` (the first ring with ``d <= radius_k``)
the kill and wound probabilities are ``kill_k * f`` and ``wound_k * f`` with
``f = (1 - cover[terrain] * (1 - pen)) * (1 - protection[posture] * (1 - pen))``, where
``pen`` is the weapon's cover penetration (a precise FPV flown into a trench defeats part
of it; a shell's fragments do not). One uniform per (blast, soldier)
decides: below the kill probability the soldier is killed, below kill + wound wounded.
Tight ranks lose more per strike only because more soldiers stand inside the rings.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import cell_range
from dronefront.engine.state import KILLED, WOUNDED, State


@nb.njit(cache=True)
def _resolve(bx, by, rings, penetration, blast_id, x, y, status, terrain, posture, cover,
             protection, start, items, x0, y0, cell, nx, ny, key, step):
    hit_soldier = []
    hit_blast = []
    hit_status = []
    for b in range(bx.shape[0]):
        reach = 0.0
        for k in range(rings.shape[1]):
            reach = max(reach, rings[b, k, 0])
        r2max = reach * reach
        cx0, cx1, cy0, cy1 = cell_range(bx[b], by[b], reach, x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                for s in range(start[c], start[c + 1]):
                    j = items[s]
                    if status[j] == KILLED:
                        continue
                    dx = x[j] - bx[b]
                    dy = y[j] - by[b]
                    d2 = dx * dx + dy * dy
                    if d2 > r2max:
                        continue
                    d = np.sqrt(d2)
                    pk = 0.0
                    pw = 0.0
                    for k in range(rings.shape[1]):
                        if rings[b, k, 0] >= d:
                            pk = rings[b, k, 1]
                            pw = rings[b, k, 2]
                            break
                    keep = 1.0 - penetration[b]
                    f = (1.0 - cover[terrain[j]] * keep) * (1.0 - protection[posture[j]] * keep)
                    u = uniform(key, step, blast_id[b], j)
                    if u < pk * f:
                        status[j] = KILLED
                    elif u < (pk + pw) * f and status[j] != WOUNDED:
                        status[j] = WOUNDED
                    else:
                        continue
                    hit_soldier.append(j)
                    hit_blast.append(b)
                    hit_status.append(status[j])
    return (np.array(hit_soldier, np.int64), np.array(hit_blast, np.int64),
            np.array(hit_status, np.int8))


def resolve_blasts(
    state: State,
    log: EventLog,
    bx: np.ndarray,
    by: np.ndarray,
    rings: np.ndarray,
    blast_id: np.ndarray,
    weapon: np.ndarray,
    penetration: np.ndarray,
    stream: str,
) -> int:
    """Apply blasts in order; record casualties with their cause. Returns casualties."""
    if bx.shape[0] == 0:
        return 0
    s = state.soldiers
    hits = []
    for grid in state.grids:
        soldier, blast, status = _resolve(
            bx, by, rings, penetration, blast_id, s.x, s.y, s.status, s.terrain, s.posture,
            state.terrain.cover, state.posture_protection, grid.start, grid.items,
            grid.x0, grid.y0, grid.cell, grid.nx, grid.ny, state.streams[stream], state.step,
        )
        hits.append((soldier, blast, status))
    soldier = np.concatenate([h[0] for h in hits])
    blast = np.concatenate([h[1] for h in hits])
    status = np.concatenate([h[2] for h in hits])
    if soldier.size:
        s.cause[soldier] = weapon[blast]
        state.casualty_epoch += 1
        log.add(
            state.step, "casualty", s.side[soldier], s.x[soldier], s.y[soldier],
            weapon=weapon[blast], cause=weapon[blast], platoon=s.platoon[soldier],
            actor=blast_id[blast], target=soldier, value=status,
        )
    return int(soldier.size)
