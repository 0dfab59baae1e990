"""Morale: suppression of soldiers by nearby blasts and casualties, and platoon cohesion.

Each step every soldier's suppression decays and grows with the step's events
(``State.shocks``, appended by blasts and casualties):
``S_i <- S_i * exp(-dt / tau) + sum_e w_e * max(0, 1 - d_ie / radius)``, with ``w_e`` the
blast or casualty weight. A healthy soldier with ``S_i > threshold`` is suppressed: he goes
to ground (posture ``prone``: its concealment and protection make him harder to see and to
hit), crawls (movement) and does not shoot (direct fire, counter-drone fire). A platoon
breaks once its losses reach ``breakpoint`` of its strength
(``cohesion = 1 - casualties / strength``); what it then does (halt, go to ground,
withdraw) is its doctrine's ``on_break``, applied by movement. See docs/model.md §11a.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.spatial import Grid, disc_rows, row_cells
from dronefront.engine.state import (
    BREAK_GROUND,
    HALTED,
    HEALTHY,
    PRONE,
    SHOCK_BLAST,
    SHOCK_FALLEN,
    State,
    columns,
)


class Nerves(NamedTuple):
    """Kernel view: the soldier columns suppression reads and writes (the state's arrays)."""

    x: np.ndarray
    y: np.ndarray
    status: np.ndarray
    platoon: np.ndarray
    posture: np.ndarray
    suppression: np.ndarray


class Cohesion(NamedTuple):
    """Kernel view: the platoon columns that decide postures and breaking."""

    base_posture: np.ndarray
    strength: np.ndarray
    breakpoint: np.ndarray
    on_break: np.ndarray
    broken: np.ndarray


@nb.njit(cache=True)
def _suppress(nerves, cohesion, grids, ex, ey, ew, rules):
    """Decay every soldier's suppression, add the events' (``ex``, ``ey``, weight ``ew``),
    and set the postures of soldiers in platoons that movement does not place (those not
    moving). ``rules``: decay factor, radius (m), threshold. Returns whether any soldier is
    still suppressed at all (``S > 0``)."""
    n = Nerves(*nerves)
    c = Cohesion(*cohesion)
    x, y, status, platoon, posture, level = n.x, n.y, n.status, n.platoon, n.posture, n.suppression
    base_posture, on_break, broken = c.base_posture, c.on_break, c.broken
    decay, radius, threshold = rules[0], rules[1], rules[2]
    floor = 1e-6 * max(threshold, 1e-9)
    live = False
    for i in range(x.shape[0]):
        if level[i] > 0.0:
            level[i] *= decay
            if level[i] < floor:
                level[i] = 0.0
    r2 = radius * radius
    for side in range(2):
        g = Grid(*grids[side])
        start, nx, items = g.start, g.nx, g.items
        for e in range(ex.shape[0]):
            cx0, cx1, cy0, cy1 = disc_rows(g, ex[e], ey[e], radius)
            for cy in range(cy0, cy1 + 1):
                c0, c1 = row_cells(nx, cy, cx0, cx1)
                for s in range(start[c0], start[c1]):
                    j = items[s]
                    dx = x[j] - ex[e]
                    dy = y[j] - ey[e]
                    d2 = dx * dx + dy * dy
                    if d2 < r2:
                        level[j] += ew[e] * (1.0 - np.sqrt(d2) / radius)
    for i in range(x.shape[0]):
        if level[i] > 0.0:
            live = True
        p = platoon[i]
        base = base_posture[p]
        if status[i] != HEALTHY or base != HALTED:
            continue  # movement places moving platoons; cover is not given up to lie down
        down = level[i] > threshold or (broken[p] and on_break[p] == BREAK_GROUND)
        posture[i] = PRONE if down else HALTED
    return live


@nb.njit(cache=True)
def _cohesion(status, platoon, cohesion):
    """Break every platoon whose losses reach its breakpoint; returns the newly broken."""
    c = Cohesion(*cohesion)
    strength, breakpoint, broken = c.strength, c.breakpoint, c.broken
    lost = np.zeros(strength.shape[0], np.int64)
    for i in range(status.shape[0]):
        if status[i] != HEALTHY:
            lost[platoon[i]] += 1
    newly = []
    for p in range(strength.shape[0]):
        if not broken[p] and lost[p] > 0 and lost[p] >= breakpoint[p] * strength[p]:
            broken[p] = True
            newly.append(p)
    return np.array(newly, np.int64)


class Morale:
    """Suppress soldiers near the step's blasts and casualties; break platoons whose losses
    reach their breakpoint. Consumes ``State.shocks``."""

    name = "morale"

    def __init__(self, state: State) -> None:
        spec = state.scenario.suppression
        self.enabled = spec.enabled
        self.rules = np.array([math.exp(-state.dt / spec.recovery_time), spec.radius,
                               spec.threshold])
        self.weights = np.array([0.0, 0.0])
        self.weights[SHOCK_BLAST] = spec.blast_weight
        self.weights[SHOCK_FALLEN] = spec.casualty_weight
        self.nerves = columns(Nerves, state.soldiers)
        self.cohesion = columns(Cohesion, state.platoons)
        self.live = False  # whether any soldier's suppression is above 0 (exact: the state's)
        self.epoch = state.casualty_epoch

    def __call__(self, state: State, log: EventLog) -> None:
        shocks = state.shocks
        if self.enabled and (shocks or self.live):
            if shocks:
                ex = np.concatenate([s[0] for s in shocks])
                ey = np.concatenate([s[1] for s in shocks])
                ew = np.concatenate([np.full(s[0].shape[0], self.weights[s[2]])
                                     for s in shocks])
            else:
                ex = ey = ew = np.empty(0)
            self.live = _suppress(self.nerves, self.cohesion, tuple(tuple(g) for g in state.grids),
                                  ex, ey, ew, self.rules)
        shocks.clear()
        if state.casualty_epoch != self.epoch:
            self.epoch = state.casualty_epoch
            s, p = state.soldiers, state.platoons
            newly = _cohesion(s.status, s.platoon, self.cohesion)
            if newly.size and log.keeps:
                log.add(state.step, "break", p.side[newly], p.ax[newly], p.ay[newly],
                        platoon=newly, value=p.on_break[newly])
