"""Morale: suppression of soldiers by nearby blasts and casualties, and platoon cohesion.

Each step every suppressed soldier's level decays and grows with the step's events
(``State.shocks``, appended by blasts and casualties):
``S_i <- S_i * exp(-dt / tau) + sum_e w_e * max(0, 1 - d_ie / radius)``, with ``w_e`` the
blast or casualty weight. A healthy soldier with ``S_i > threshold`` is suppressed: he goes
to ground (posture ``prone``: its concealment and protection make him harder to see and to
hit), crawls (movement) and does not shoot (direct fire, counter-drone fire). A platoon
breaks once its losses reach ``breakpoint`` of its strength
(``cohesion = 1 - casualties / strength``); what it then does (halt, go to ground,
withdraw) is its doctrine's ``on_break``, applied by movement. Levels under ``FLOOR`` of the
threshold drop to 0, so each step visits only soldiers recently near an event. See
docs/model.md §11a.
"""

from __future__ import annotations

import math
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
)
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

FLOOR = 0.01  # share of the threshold under which a level counts as 0; assumption


class Nerves(NamedTuple):
    """Kernel view: the soldier columns suppression reads and writes (the state's arrays)."""

    x: np.ndarray
    y: np.ndarray
    status: np.ndarray
    platoon: np.ndarray
    posture: np.ndarray
    suppression: np.ndarray


class Levels(NamedTuple):
    """Kernel view: the soldier columns a step without events reads and writes."""

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
    shaken: np.ndarray


@nb.njit(cache=True)
def _suppress(nerves, cohesion, grids, active, ex, ey, ew, rules):
    """A step with events: decay the ``active`` soldiers' levels (those above 0), add the
    events' (``ex``, ``ey``, weight ``ew``), then settle (``_settle``). ``rules``: decay
    factor, radius (m), threshold, floor. Returns the soldiers still above 0."""
    n = Nerves(*nerves)
    x, y, level = n.x, n.y, n.suppression
    decay, radius = rules[0], rules[1]
    for i in active:
        level[i] *= decay
    raised = []
    r2 = radius * radius
    for side in range(2):
        g = Grid(*grids[side])
        start, nx, items = g.start, g.nx, g.items
        for e in range(ex.shape[0]):
            if ew[e] <= 0.0:
                continue
            cx0, cx1, cy0, cy1 = disc_rows(g, ex[e], ey[e], radius)
            for cy in range(cy0, cy1 + 1):
                c0, c1 = row_cells(nx, cy, cx0, cx1)
                for s in range(start[c0], start[c1]):
                    j = items[s]
                    dx = x[j] - ex[e]
                    dy = y[j] - ey[e]
                    d2 = dx * dx + dy * dy
                    if d2 < r2:
                        if level[j] == 0.0:
                            raised.append(j)
                        level[j] += ew[e] * (1.0 - np.sqrt(d2) / radius)
    return _settle(n.status, n.platoon, n.posture, level, Cohesion(*cohesion), active,
                   np.array(raised, np.int64), rules)


@nb.njit(cache=True)
def _decay(levels, cohesion, active, rules):
    """A step without events: decay the ``active`` soldiers' levels, then settle."""
    v = Levels(*levels)
    level = v.suppression
    decay = rules[0]
    for i in active:
        level[i] *= decay
    return _settle(v.status, v.platoon, v.posture, level, Cohesion(*cohesion), active,
                   np.empty(0, np.int64), rules)


@nb.njit(inline="always", cache=True)
def _settle(status, platoon, posture, level, c, active, raised, rules):
    """Drop levels under the floor to 0, count each platoon's ``shaken`` soldiers, and set
    the postures of suppressed soldiers in platoons that movement does not place (base
    ``halted``); returns the soldiers still above 0."""
    base_posture, on_break, broken, shaken = c.base_posture, c.on_break, c.broken, c.shaken
    threshold, floor = rules[2], rules[3]
    keep = np.empty(active.shape[0] + raised.shape[0], np.int64)
    m = 0
    shaken[:] = 0
    for k in range(keep.shape[0]):
        i = active[k] if k < active.shape[0] else raised[k - active.shape[0]]
        if level[i] < floor:
            level[i] = 0.0
        else:
            keep[m] = i
            m += 1
        p = platoon[i]
        if level[i] > threshold and status[i] == HEALTHY:
            shaken[p] += 1
        if status[i] == HEALTHY and base_posture[p] == HALTED:
            # movement places moving platoons; cover (concealed, dug in) is not given up
            down = level[i] > threshold or (broken[p] and on_break[p] == BREAK_GROUND)
            posture[i] = PRONE if down else HALTED
    return keep[:m]


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
        # Levels this far under the threshold are dropped to 0, so that only soldiers
        # recently near an event are visited each step.
        floor = FLOOR * spec.threshold if spec.threshold > 0 else 1e-12
        self.rules = np.array([math.exp(-state.dt / spec.recovery_time), spec.radius,
                               spec.threshold, floor])
        self.weights = np.array([0.0, 0.0])
        self.weights[SHOCK_BLAST] = spec.blast_weight
        self.weights[SHOCK_FALLEN] = spec.casualty_weight
        self.nerves = columns(Nerves, state.soldiers)
        self.levels = columns(Levels, state.soldiers)
        self.cohesion = columns(Cohesion, state.platoons)
        # the soldiers whose suppression is above 0, a memo of the state's levels
        self.active = np.flatnonzero(state.soldiers.suppression > 0)
        self.epoch = state.casualty_epoch

    def __call__(self, state: State, log: EventLog) -> None:
        shocks = state.shocks
        if self.enabled and shocks:
            ex = np.concatenate([s[0] for s in shocks])
            ey = np.concatenate([s[1] for s in shocks])
            ew = np.concatenate([np.full(s[0].shape[0], self.weights[s[2]]) for s in shocks])
            self.active = _suppress(self.nerves, self.cohesion,
                                    tuple(tuple(g) for g in state.grids), self.active,
                                    ex, ey, ew, self.rules)
        elif self.enabled and self.active.size:
            self.active = _decay(self.levels, self.cohesion, self.active, self.rules)
        shocks.clear()
        if state.casualty_epoch != self.epoch:
            self.epoch = state.casualty_epoch
            s = state.soldiers
            newly = _cohesion(s.status, s.platoon, self.cohesion)
            if newly.size:
                broken(state, log, newly)

    @classmethod
    def batch(cls, stages: list[Morale], states: list[State]) -> MoraleBatch | None:
        """Every replicate's step of morale in one kernel call (``MoraleBatch``); None where
        the suppression rules differ or a column is not stacked."""
        if not same([(s.enabled, s.rules, s.weights) for s in stages]):
            return None
        columns_ = stacked_view([(s.levels, s.cohesion, s.nerves) for s in stages])
        if columns_ is None:
            return None
        return MoraleBatch(stages, states, *columns_)


def broken(state: State, log: EventLog, newly: np.ndarray) -> None:
    """What follows the breaking of platoons ``newly``: a holding platoon that breaks to
    ground lies down at once; the events."""
    s, p = state.soldiers, state.platoons
    ground = newly[(p.on_break[newly] == BREAK_GROUND) & (p.base_posture[newly] == HALTED)]
    if ground.size:
        down = np.isin(s.platoon, ground) & (s.status == HEALTHY)
        s.posture[down] = PRONE
    if log.keeps:
        log.add(state.step, "break", p.side[newly], p.ax[newly], p.ay[newly],
                platoon=newly, value=p.on_break[newly])


class MoraleBatch(MemoBatch):
    """Morale for an ensemble, one ``_morale_rows`` kernel call a step.

    The memos of every replicate, ``Morale.active`` (the soldiers whose suppression is
    above 0, in a padded ``(R, N)`` buffer with a count by replicate) and the casualty
    epoch, are owned by this call while the ensemble runs (``pull`` takes a stage's own).
    The kernel decays the levels (or, in a replicate with shocks this step,
    ``State.shocks``, suppresses around them: the shocks of all replicates concatenated,
    their neighbour grids from ``batch.packed_grids``) and checks cohesion of every
    replicate. Where the grids are not packed (``batch.PACK_LIMIT``) a replicate with
    shocks is stepped by its own stage, its memos handed over and back. Newly broken
    platoons are followed up per replicate. Morale reads no step: the call serves
    replicates on different steps alike (``any_step``)."""

    any_step = True

    def __init__(self, stages: list[Morale], states: list[State], levels: tuple,
                 cohesion: tuple, nerves: tuple) -> None:
        super().__init__(stages, states)
        n = len(stages)
        self.levels, self.cohesion, self.nerves = levels, cohesion, nerves
        first = stages[0]
        self.enabled, self.rules = first.enabled, first.rules
        self.active = np.zeros((n, states[0].soldiers.n), np.int64)
        self.counts = np.zeros(n, np.int64)
        self.epoch = np.zeros(n, np.int64)
        self.none = np.zeros(n, np.bool_)
        self.weights = first.weights
        #: the shocks argument of a step without any (typed as a step with some)
        self.calm = (nerves, (np.zeros((5, 0)), np.zeros((2, 1), np.int64),
                              np.zeros(0, np.int64), np.zeros(0, np.int64)),
                     self.none, np.zeros(n + 1, np.int64), np.zeros(0), np.zeros(0),
                     np.zeros(0))
        self.outputs = (np.empty((n, states[0].platoons.n), np.int64), np.zeros(n, np.int64),
                        np.zeros(n, np.int64))
        for r in range(n):
            self.pull(r)

    def pull(self, r: int) -> None:
        stage = self.stages[r]
        m = stage.active.size
        self.active[r, :m] = stage.active
        self.counts[r] = m
        self.epoch[r] = stage.epoch

    def push(self, r: int) -> None:
        """Hand replicate ``r``'s memos to its stage (before its own call)."""
        stage = self.stages[r]
        stage.active = self.active[r, :self.counts[r]].copy()
        stage.epoch = int(self.epoch[r])

    def _shocks(self, states: list[State], shocked: list[int], grids: tuple) -> tuple:
        """``_morale_rows``'s ``shocks`` for the replicates ``shocked``: their shocks in
        order, concatenated as each replicate's own stage concatenates them, then dropped
        from the states."""
        xs, ys, ws = [], [], []
        hit = self.none.copy()
        hit[shocked] = True
        at = np.zeros(len(states) + 1, np.int64)
        weights = self.weights
        for r in shocked:
            state = states[r]
            k = 0
            for sx, sy, kind in state.shocks:
                xs.append(sx)
                ys.append(sy)
                ws.append(np.full(sx.shape[0], weights[kind]))
                k += sx.shape[0]
            at[r + 1] = k
            state.shocks.clear()
        np.cumsum(at, out=at)
        return (self.nerves, grids, hit, at, np.concatenate(xs), np.concatenate(ys),
                np.concatenate(ws))

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        shocked = [r for r, state in enumerate(states) if state.shocks]
        skip, shocks = self.none, self.calm
        if shocked:
            grids = packed_grids(states) if self.enabled else None
            if grids is not None:
                shocks = self._shocks(states, shocked, grids)
            elif self.enabled:  # grids not packed: each by its own stage
                skip = self.none.copy()
                skip[shocked] = True
                stages = self.stages
                for r in shocked:
                    self.push(r)
                    stages[r](states[r], logs[r])
                    self.pull(r)
            else:  # suppression off: the shocks are only dropped
                for r in shocked:
                    states[r].shocks.clear()
        n = _morale_rows(self.levels, self.cohesion, epochs(states, "casualty_epoch"), skip,
                         (self.active, self.counts, self.epoch), self.outputs, self.rules,
                         self.enabled, shocks)
        if n:
            newly, broke, listed = self.outputs
            for r in listed[:n].tolist():
                broken(states[r], logs[r], newly[r, :broke[r]].copy())


@nb.njit(cache=True)
def _morale_rows(levels, cohesion, now, skip, memo, outputs, rules, enabled, shocks):
    """One step of morale for every replicate of an ensemble but those to ``skip`` (stacked
    columns; ``now``: the casualty epochs): with ``enabled``, ``_suppress`` where the
    replicate has shocks, else ``_decay`` where someone is above 0; then cohesion where the
    epoch moved. ``shocks`` = ``(nerves, grids, hit, at, ex, ey, ew)``: the stacked
    ``Nerves`` columns, the packed grids (``batch.packed_grids``), whether replicate ``r``
    has shocks (``hit[r]``) and its shocks at ``at[r]:at[r + 1]`` of ``ex``, ``ey`` and
    weights ``ew``. ``memo`` = ``(active, counts, epoch)``: the soldiers above 0 at
    ``active[r, :counts[r]]`` and the epoch by replicate, rewritten. ``outputs`` =
    ``(newly, broke, listed)``: the newly broken by replicate, and the replicates with some
    listed first. Returns how many are listed."""
    active, counts, epoch = memo
    newly, broke, listed = outputs
    nerves, grids, hit, at, ex, ey, ew = shocks
    n = 0
    for r in range(skip.shape[0]):
        if skip[r]:
            continue
        if enabled and hit[r]:
            a, b = at[r], at[r + 1]
            keep = _suppress(rows(nerves, r), rows(cohesion, r), grid_rows(grids, r),
                             active[r, :counts[r]], ex[a:b], ey[a:b], ew[a:b], rules)
            m = keep.shape[0]
            active[r, :m] = keep
            counts[r] = m
        elif enabled and counts[r] > 0:
            keep = _decay(rows(levels, r), rows(cohesion, r), active[r, :counts[r]], rules)
            m = keep.shape[0]
            active[r, :m] = keep
            counts[r] = m
        if now[r] != epoch[r]:
            epoch[r] = now[r]
            got = _cohesion(levels[0][r], levels[1][r], rows(cohesion, r))
            if got.shape[0]:
                broke[r] = got.shape[0]
                newly[r, :got.shape[0]] = got
                listed[n] = r
                n += 1
    return n
