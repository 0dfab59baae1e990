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

from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.formulas import Shelter, exposure
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import Grid, disc_rows, row_cells
from dronefront.engine.state import (
    KILLED,
    SHOCK_BLAST,
    SHOCK_FALLEN,
    WOUNDED,
    Bodies,
    State,
    columns,
)


class Blasts(NamedTuple):
    """Kernel view: the blasts of one call, resolved in order."""

    x: np.ndarray  # float64 m
    y: np.ndarray  # float64 m
    rings: np.ndarray  # float64 (n, R, 3): radius m, kill, wound; padded with radius -1
    penetration: np.ndarray  # float64 share of cover and protection defeated
    blast_id: np.ndarray  # int64 draw id


@nb.njit(cache=True)
def _resolve(blasts, bodies, shelter, grid, key, step):
    """Resolve ``blasts`` against the soldiers of one grid: (soldier, blast, new status)."""
    q = Blasts(*blasts)
    b = Bodies(*bodies)
    sh = Shelter(*shelter)
    g = Grid(*grid)
    start, nx, items = g.start, g.nx, g.items
    x, y, status, terrain, posture = b.x, b.y, b.status, b.terrain, b.posture
    cover, protection = sh.cover, sh.protection
    rings, bx, by, penetration, blast_id = q.rings, q.x, q.y, q.penetration, q.blast_id
    hit_soldier = []
    hit_blast = []
    hit_status = []
    for i in range(bx.shape[0]):
        reach = 0.0
        for k in range(rings.shape[1]):
            reach = max(reach, rings[i, k, 0])
        r2max = reach * reach
        cx0, cx1, cy0, cy1 = disc_rows(g, bx[i], by[i], reach)
        for cy in range(cy0, cy1 + 1):
            c0, c1 = row_cells(nx, cy, cx0, cx1)
            for s in range(start[c0], start[c1]):
                j = items[s]
                if status[j] == KILLED:
                    continue
                dx = x[j] - bx[i]
                dy = y[j] - by[i]
                d2 = dx * dx + dy * dy
                if d2 > r2max:
                    continue
                d = np.sqrt(d2)
                pk = 0.0
                pw = 0.0
                for k in range(rings.shape[1]):
                    if rings[i, k, 0] >= d:
                        pk = rings[i, k, 1]
                        pw = rings[i, k, 2]
                        break
                f = exposure(cover[terrain[j]], protection[posture[j]], 1.0 - penetration[i])
                u = uniform(key, step, blast_id[i], j)
                if u < pk * f:
                    status[j] = KILLED
                elif u < (pk + pw) * f and status[j] != WOUNDED:
                    status[j] = WOUNDED
                else:
                    continue
                hit_soldier.append(j)
                hit_blast.append(i)
                hit_status.append(status[j])
    return (np.array(hit_soldier, np.int64), np.array(hit_blast, np.int64),
            np.array(hit_status, np.int8))


@nb.njit(cache=True)
def resolve_both(blasts, bodies, shelter, grids, key, step):
    """``_resolve`` against the soldiers of both grids in turn (side 0's, then side 1's),
    its answers concatenated in that order: one kernel call where a call per grid and the
    concatenation in Python cost more than the blasts on small scenarios."""
    s0, b0, t0 = _resolve(blasts, bodies, shelter, grids[0], key, step)
    s1, b1, t1 = _resolve(blasts, bodies, shelter, grids[1], key, step)
    return (np.concatenate((s0, s1)), np.concatenate((b0, b1)), np.concatenate((t0, t1)))


def blast_views(state: State) -> tuple:
    """What ``resolve_blasts`` reads of ``state`` besides the grids, as kernel views
    (the soldiers' ``Bodies`` and the ``Shelter``): a stage builds them once and passes
    them to every call (the tables are never rebound during a run)."""
    return columns(Bodies, state.soldiers), tuple(Shelter.of(state))


def mark_wounded(state: State, soldiers: np.ndarray) -> None:
    """Remember the step ``soldiers`` were first wounded (``Care.wounded_step``): a soldier
    killed later was struck again where he lay (the summary's ``killed_after_wounded``)."""
    if soldiers.size:
        first = state.care.wounded_step
        fresh = soldiers[first[soldiers] < 0]
        first[fresh] = state.step


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
    views: tuple | None = None,
) -> int:
    """Apply blasts in order; record casualties with their cause and both as suppressing
    events (``State.shocks``). Returns casualties. ``views``: ``blast_views(state)``, built
    once by the caller (else built here)."""
    if bx.shape[0] == 0:
        return 0
    state.shocks.append((bx, by, SHOCK_BLAST))
    s = state.soldiers
    blasts = (bx, by, rings, penetration, blast_id)  # a Blasts view
    bodies, shelter = blast_views(state) if views is None else views
    g0, g1 = state.grids
    soldier, blast, status = resolve_both(blasts, bodies, shelter, (tuple(g0), tuple(g1)),
                                           state.streams[stream], state.step)
    if soldier.size:
        mark_wounded(state, soldier[status == WOUNDED])
        s.cause[soldier] = weapon[blast]
        state.casualty_epoch += 1
        state.shocks.append((s.x[soldier], s.y[soldier], SHOCK_FALLEN))
        log.add(
            state.step, "casualty", s.side[soldier], s.x[soldier], s.y[soldier],
            weapon=weapon[blast], cause=weapon[blast], platoon=s.platoon[soldier],
            actor=blast_id[blast], target=soldier, value=status,
        )
    return int(soldier.size)
