"""Target selection: pick one enemy soldier by policy (nearest, densest, random, value,
weighted).

``densest`` is the upright (healthy) soldier with the most upright soldiers of its side
within the drone team's density radius (itself included), ties to the lowest index: the
wounded lying on the ground neither draw nor count. Over the whole enemy force it is found
by branch and bound on the grid: a cell's soldiers cannot beat the sum of the upright
soldiers in the cells around it, so cells are visited best bound first and the search stops
as soon as no remaining bound can beat (or tie at a lower index) the best.

``weighted`` scores what a soldier is doing (docs/model.md §8.6): ``activity * (1 + bunched *
upright neighbours)``, with the activity from the team's weights for moving, standing
still, gone to ground, having fired recently and lying wounded; soldiers scoring 0 are
never picked.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.formulas import Concealment, visibility
from dronefront.engine.rng import uniform
from dronefront.engine.spatial import Grid, disc_rows, grid_columns, nonzero, row_cells
from dronefront.engine.state import (
    DENSEST,
    FLYING,
    HEALTHY,
    KILLED,
    MOVING,
    NEAREST,
    PRONE,
    RANDOM,
    WEIGHTED,
    WOUNDED,
    Bodies,
    State,
    columns,
)

FAR = 1e15  # metres: the reach of an omniscient pick



class Scoring(NamedTuple):
    """Kernel view: what the value and weighted policies score."""

    value: np.ndarray  # float64 (G,) platoon target value
    weights: np.ndarray  # float64 (M, 7) weighted policy (``state.WEIGHT_NAMES``)
    last_shot: np.ndarray  # int32 (N or 0,) step a soldier last fired, -1 never


@nb.njit(cache=True)
def _count_near(px, py, radius, x, y, status, g):
    """Upright (healthy) soldiers of grid ``g`` within ``radius`` of ``(px, py)``."""
    start, nx, items = g.start, g.nx, g.items
    r2 = radius * radius
    cx0, cx1, cy0, cy1 = disc_rows(g, px, py, radius)
    n = 0
    for cy in range(cy0, cy1 + 1):
        c0, c1 = row_cells(nx, cy, cx0, cx1)
        for k in range(start[c0], start[c1]):
            j = items[k]
            if status[j] == HEALTHY:
                dx = x[j] - px
                dy = y[j] - py
                if dx * dx + dy * dy <= r2:
                    n += 1
    return n


@nb.njit(cache=True)
def densest_overall(radius, x, y, status, grid):
    """Index of the upright soldier with most upright neighbours within ``radius``; -1 if
    none."""
    g = Grid(*grid)
    nx, ny, start, items = g.nx, g.ny, g.start, g.items
    ncell = nx * ny
    cnt = np.zeros(ncell, np.int64)
    minidx = np.full(ncell, np.iinfo(np.int64).max)
    for c in range(ncell):
        for k in range(start[c], start[c + 1]):
            j = items[k]
            if status[j] == HEALTHY:
                cnt[c] += 1
                if j < minidx[c]:
                    minidx[c] = j
    occupied = np.flatnonzero(cnt)
    if occupied.shape[0] == 0:
        return -1
    kr = int(np.ceil(radius / g.cell))
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
            if status[j] != HEALTHY:
                continue
            n = _count_near(x[j], y[j], radius, x, y, status, g)
            if n > best_n or (n == best_n and j < best):
                best, best_n = j, n
    return best


@nb.njit(inline="always", cache=True)
def _activity(j, status, posture, last_shot, w, step):
    """The weighted policy's activity of soldier ``j`` (``w``: the team's weights row)."""
    if status[j] == WOUNDED:
        return w[4]
    p = posture[j]
    a = w[0] if p == MOVING else (w[2] if p == PRONE else w[1])
    if last_shot.shape[0] > 0 and last_shot[j] >= 0 and step - last_shot[j] <= w[6]:
        a += w[3]
    return a


@nb.njit(inline="always", cache=True)
def _claimed(px, py, claims):
    """Whether ``(px, py)`` lies within the claim radius of a claimed point: ``claims`` is
    ``(cx, cy, n, r2)``, the first ``n`` points and the squared radius."""
    cx, cy, n, r2 = claims
    for c in range(n):
        dx = px - cx[c]
        dy = py - cy[c]
        if dx * dx + dy * dy <= r2:
            return True
    return False


@nb.njit(cache=True)
def acquire(px, py, reach, policy, density_radius, visibility, b, scoring, g, draws, claims):
    """Pick a visible living soldier of grid ``g`` within ``reach`` of ``(px, py)`` by
    ``policy``; -1 if none. ``b`` is a ``Bodies`` view, ``scoring`` a ``Scoring`` view.

    ``visibility[j]`` is the probability that soldier ``j`` is seen if in reach (one draw
    per drone, step and soldier: ``draws`` is ``(key, step, drone)``). ``densest`` picks
    only upright soldiers, ``weighted`` only soldiers scoring above 0. Soldiers within the
    radius of a point of ``claims`` (see ``_claimed``; salvo deconfliction) are passed
    over, before their visibility draw.
    """
    start, nx, items = g.start, g.nx, g.items
    key, step, drone = draws
    n_claims = claims[2]
    x, y, status, platoon, posture = b.x, b.y, b.status, b.platoon, b.posture
    value, last_shot = scoring.value, scoring.last_shot
    w = scoring.weights[drone]
    upright_only = policy == DENSEST
    r2 = reach * reach
    cx0, cx1, cy0, cy1 = disc_rows(g, px, py, reach)
    best = -1
    best_score = -np.inf
    best_d2 = np.inf
    for cy in range(cy0, cy1 + 1):
        c0, c1 = row_cells(nx, cy, cx0, cx1)
        for k in range(start[c0], start[c1]):
            j = items[k]
            if status[j] == KILLED or (upright_only and status[j] != HEALTHY):
                continue
            dx = x[j] - px
            dy = y[j] - py
            d2 = dx * dx + dy * dy
            if d2 > r2:
                continue
            if n_claims > 0 and _claimed(x[j], y[j], claims):
                continue
            if policy == WEIGHTED:
                a = _activity(j, status, posture, last_shot, w, step)
                if a <= 0.0:
                    continue
            if visibility[j] < 1.0 and uniform(key, step, drone, j) >= visibility[j]:
                continue
            if policy == NEAREST:
                score = -d2
            elif policy == DENSEST:
                score = _count_near(x[j], y[j], density_radius, x, y, status, g)
            elif policy == RANDOM:
                score = uniform(key, step, drone, j + 1099511627776)
            elif policy == WEIGHTED:
                near = _count_near(x[j], y[j], density_radius, x, y, status, g)
                near -= 1 if status[j] == HEALTHY else 0  # neighbours, not himself
                score = a * (1.0 + w[5] * near)
            else:
                score = value[platoon[j]]
            if (score > best_score or (score == best_score and d2 < best_d2)
                    or (score == best_score and d2 == best_d2 and j < best)):
                best, best_score, best_d2 = j, score, d2
    return best


@nb.njit(cache=True)
def _visibility_of(concealment, terrain, posture, platoon):
    c = Concealment(*concealment)
    t_conc, p_conc, discipline = c.terrain, c.posture, c.discipline
    out = np.empty(terrain.shape[0])
    for j in range(terrain.shape[0]):
        out[j] = visibility(t_conc[terrain[j]], p_conc[posture[j]], discipline[platoon[j]])
    return out


class Picks(NamedTuple):
    """Kernel view: the slots to pick a target for, where they look from and how far."""

    slots: np.ndarray  # int64 drone slots
    x: np.ndarray  # float64 m
    y: np.ndarray  # float64 m
    reach: np.ndarray  # float64 m
    omniscient: np.ndarray  # bool: sees every soldier at any range
    skip: np.ndarray  # bool: already picked (the whole-force densest)


class Salvos(NamedTuple):
    """Kernel view: salvo deconfliction (docs/model.md §12a)."""

    group: np.ndarray  # int64 (M,) salvo of each drone slot, -1 none
    radius: np.ndarray  # float64 (M,) m, deconfliction radius around mates' targets
    claim: np.ndarray  # int64 (M or 0,) soldier each slot holds, -1; size 0: no deconfliction


@nb.njit(cache=True)
def _acquire_many(out, picks, policy, radius, side, vis, bodies, scoring, grids, key, step,
                  salvos):
    """``out[i]``: ``acquire`` for slot ``slots[i]`` over the grid of its enemy side.

    Omniscient slots see every soldier at any range. With deconfliction (``salvos.claim``
    not empty), slots pick in order and a salvo member passes over soldiers within its
    radius of a target a mate holds, including mates' picks made earlier in this call; a
    whole-force densest pick (``skip``) that is so claimed is picked again, clear of them.
    """
    q = Picks(*picks)
    b = Bodies(*bodies)
    sc = Scoring(*scoring)
    sv = Salvos(*salvos)
    g0 = Grid(*grids[0])
    g1 = Grid(*grids[1])
    ones = np.ones(0)
    claim, group = sv.claim, sv.group
    deconflict = claim.shape[0] > 0
    cx = np.empty(claim.shape[0])
    cy = np.empty(claim.shape[0])
    for i in range(q.slots.shape[0]):
        slot = q.slots[i]
        n_claims, r2 = 0, 0.0
        if deconflict and group[slot] >= 0 and sv.radius[slot] > 0:
            for m in range(claim.shape[0]):
                if m != slot and group[m] == group[slot] and claim[m] >= 0:
                    cx[n_claims] = b.x[claim[m]]
                    cy[n_claims] = b.y[claim[m]]
                    n_claims += 1
            r2 = sv.radius[slot] * sv.radius[slot]
        claims = (cx, cy, n_claims, r2)
        if q.skip[i] and not (n_claims > 0 and out[i] >= 0
                              and _claimed(b.x[out[i]], b.y[out[i]], claims)):
            if deconflict:
                claim[slot] = out[i]
            continue
        seen, r = vis, q.reach[i]
        if q.omniscient[i]:
            if ones.shape[0] == 0:
                ones = np.ones_like(vis)
            seen, r = ones, FAR
        if side[slot] == 1:
            out[i] = acquire(q.x[i], q.y[i], r, policy[slot], radius[slot], seen, b, sc,
                             g0, (key, step, slot), claims)
        else:
            out[i] = acquire(q.x[i], q.y[i], r, policy[slot], radius[slot], seen, b, sc,
                             g1, (key, step, slot), claims)
        if deconflict:
            claim[slot] = out[i]
    return out


class Targeter:
    """Picks soldier targets for drone slots; shared by the launch and flight stages.

    Members of a salvo with a deconfliction radius pass over soldiers near a target a mate
    holds (``_acquire_many``), whether they pick at launch or in flight.

    Keeps two memos, both exact: each soldier's visibility (valid for one step: terrain and
    posture change only in movement) and the densest soldier of a side for a density radius
    (valid while ``state.step`` and ``state.casualty_epoch`` stay the same).
    """

    def __init__(self, state: State) -> None:
        self.key = state.streams["drones.acquire"]
        self.bodies = columns(Bodies, state.soldiers)
        self.concealment = tuple(Concealment.of(state))
        self.scoring = tuple(Scoring(value=state.platoons.value, weights=state.drones.weights,
                                     last_shot=state.care.last_shot))
        self._visibility = np.empty(0)
        self._visibility_step = -1
        self._densest: dict[tuple[int, float], int] = {}
        self._densest_at = (-1, -1)
        # Salvo deconfliction (docs/model.md §12a): only where some team has a radius.
        self.deconflict = bool(((state.drones.salvo >= 0)
                                & (state.drones.deconfliction > 0)).any())
        self._no_claims = np.empty(0, np.int64)

    def visibility(self, state: State) -> np.ndarray:
        """(N,) probability that each soldier is seen when in a camera's reach (this step)."""
        if self._visibility_step != state.step:
            s = state.soldiers
            self._visibility = _visibility_of(self.concealment, s.terrain, s.posture,
                                              s.platoon)
            self._visibility_step = state.step
        return self._visibility

    def densest(self, state: State, side: int, radius: float) -> int:
        """The upright soldier of ``side`` with most upright neighbours within ``radius``."""
        at = (state.step, state.casualty_epoch)
        if at != self._densest_at:
            self._densest.clear()
            self._densest_at = at
        key = (side, radius)
        if key not in self._densest:
            s = state.soldiers
            self._densest[key] = densest_overall(radius, s.x, s.y, s.status,
                                                 tuple(state.grids[side]))
        return self._densest[key]

    def select(self, state: State, slots: np.ndarray, px: np.ndarray, py: np.ndarray,
               reach: np.ndarray, omniscient: np.ndarray) -> np.ndarray:
        """A soldier target for each slot (or -1): by the slot's policy around ``(px, py)``."""
        d = state.drones
        out = np.full(slots.size, -1, np.int64)
        if slots.size == 0:
            return out
        global_densest = omniscient & (d.policy[slots] == DENSEST)
        if global_densest.any():
            for i in nonzero(global_densest):
                out[i] = self.densest(state, 1 - int(d.side[slots[i]]),
                                      float(d.density_radius[slots[i]]))
            if global_densest.all() and not self.deconflict:
                return out
        claim = self._no_claims
        if self.deconflict:
            # What each flying slot holds; the slots picking now hold nothing yet.
            claim = np.where(d.state == FLYING, d.target, -1)
            claim[slots] = -1
        picks = Picks(slots=slots, x=px, y=py, reach=reach, omniscient=omniscient,
                      skip=global_densest)
        _acquire_many(out, tuple(picks), d.policy, d.density_radius, d.side,
                      self.visibility(state), self.bodies, self.scoring,
                      grid_columns(state.grids), self.key, state.step,
                      (d.salvo, d.deconfliction, claim))
        return out
