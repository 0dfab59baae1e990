"""Drones: launch from operator teams, jamming, flight, strikes and bombs.

Lifecycle of a slot (one operator team): IDLE until ``ready_step`` → launch → TRANSIT to a
track (or station, for ISR) → ATTACK a soldier it acquired → strike (FPV, loitering) or drop
bombs every ``bomb_interval`` (bomber) → RETURN home, or shot down, or jammed, or out of
battery → turnaround → IDLE. Attack drones with ``targeting: omniscient`` pick their
soldier at launch from the whole enemy force; with ``tracks`` they fly to a tracked group
(seen within ``track_ttl``, within 0.95 of link range) chosen by policy, and acquire a
visible soldier within ``acquire_range`` (ties: nearest, then lowest index). A sortie may
fail at launch (technical failure or operator error, ``failure_prob``) and a strike drone's
terminal dive may miss (``terminal_misses``): each sortie ends in exactly one of the fates
``state.FATES`` counts.
"""

from __future__ import annotations

from collections.abc import Callable

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
from dronefront.engine.events import EXTRA_CAUSES, EventLog
from dronefront.engine.rng import normals, uniform, uniforms
from dronefront.engine.spatial import nonzero
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages.damage import blast_views, resolve_blasts
from dronefront.engine.stages.targeting import FAR, Targeter, densest_overall
from dronefront.engine.state import (
    ATTACK,
    BOMBER,
    CRASHED,
    DECOY,
    DENSEST,
    EXPENDED,
    FAILED,
    FLYING,
    FPV,
    IDLE,
    JAMMED,
    KILLED,
    LOITERING,
    MISSED,
    RETURN,
    RETURNED,
    WOUNDED,
    Bodies,
    Positions,
    State,
    columns,
)


def end_sorties(state: State, log: EventLog, slots: np.ndarray, fate: int, kind: str | None,
                cause: int = -1) -> None:
    """Ground the airframes of ``slots`` with ``fate`` and start each team's turnaround.

    ``kind`` is the event to log, or None when the caller has logged it already.
    """
    if slots.size == 0:
        return
    d = state.drones
    np.add.at(state.counters.fates[:, :, fate], (d.side[slots], d.dtype[slots]), 1)
    if fate == RETURNED:
        d.inventory[slots] += 1
    if kind is not None and log.keeps:
        log.add(state.step, kind, d.side[slots], d.x[slots], d.y[slots],
                weapon=d.dtype[slots], cause=cause, actor=d.sortie[slots])
    d.state[slots] = IDLE
    d.ready_step[slots] = state.step + d.turnaround[slots]
    d.target[slots] = -1
    d.track[slots] = -1
    d.committed_decoy[slots] = False


def _scratch(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Buffers the kernels write slot lists (5 per slot) and ranges (1 per slot) to."""
    return np.empty(5 * n, np.int64), np.empty(n)


class Launch:
    """Launch every ready team that has a reason to fly."""

    name = "launch"

    def __init__(self, state: State, targeter: Targeter) -> None:
        self.targeter = targeter
        self.ints, _ = _scratch(state.drones.n)
        self.task_key = state.streams["drones.task"]
        self.failure_key = state.streams["drones.failure"]
        self.failure_prob = state.types.failure_prob
        self.drones = tuple(state.drones)
        self.readiness = columns(fk.Readiness, state.drones)
        self.performance = columns(fk.Performance, state.types)
        self.anchors = columns(fk.Anchors, state.platoons)
        self.tracks = tuple(state.tracks)
        self.salvos = bool((state.drones.salvo >= 0).any())
        self.night = state.scenario.night
        self.role, self.night_capable = state.types.role, state.types.night_capable
        # Memo, per slot: the track epoch at which a plan found it nothing to fly at (-1:
        # none). While the epoch stands the answer stays nothing: a track only ages (fewer
        # fresh, none nearer), a side's dead stay dead and stations do not move, so the
        # slot is not planned again (docs/engine.md, the stage contract).
        self.idle = np.full(state.drones.n, -1, np.int64)

    def __call__(self, state: State, log: EventLog) -> None:
        step, epoch, idle, ints = state.step, state.track_epoch, self.idle, self.ints
        # With salvos every ready member counts towards its salvo (``together``), so the
        # memo filters after it.
        n = fk.ready_slots(step, self.night, self.readiness, self.role, self.night_capable,
                           idle, -2 if self.salvos else epoch, ints)
        if n == 0:
            return
        self.plan(state, log, ints[:n].copy())

    def plan(self, state: State, log: EventLog, slots: np.ndarray) -> None:
        """Launch those of the ready ``slots`` (``fk.ready_slots``) with a reason to fly."""
        step, epoch, idle = state.step, state.track_epoch, self.idle
        n = slots.size
        if self.salvos:
            slots = together(state, slots)
            slots = slots[idle[slots] != epoch]
            n = slots.size
            if n == 0:
                return
        d, s = state.drones, state.soldiers
        # ISR to its station or over the enemy; track-cued attack drones to a track by policy.
        go, track, aim_x, aim_y, omni = fk.plan_launch(
            step, self.task_key, state.track_ttl, slots, self.drones, self.performance, s.side,
            s.status, self.anchors, self.tracks)
        if not (go.any() or omni.any()):  # nothing to fly at (common once tracks go stale)
            idle[slots] = epoch
            return
        nothing = ~(go | omni)
        if nothing.any():
            idle[slots[nothing]] = epoch
        target = np.full(n, -1, np.int64)
        # Omniscient attack drones: a soldier now.
        if omni.any():
            om = nonzero(omni)
            picks = self.targeter.select(state, slots[om], d.home_x[slots[om]],
                                         d.home_y[slots[om]], np.full(om.size, FAR),
                                         np.ones(om.size, bool))
            target[om] = picks
            go[om] = picks >= 0
        first = state.next_sortie
        plan = fk.Plan(slots=slots, go=go, target=target, track=track, aim_x=aim_x, aim_y=aim_y)
        launched = fk.launch_slots(step, state.dt, first, tuple(plan), self.drones,
                                   self.performance, state.counters.fates)
        if launched == 0:
            return
        state.next_sortie = first + launched
        slots = slots[go]
        if log.keeps:
            log.add(step, "launch", d.side[slots], d.x[slots], d.y[slots],
                    weapon=d.dtype[slots], actor=d.sortie[slots], target=target[go],
                    platoon=track[go])
        # Technical failure or operator error: the airframe is lost on this sortie. Where no
        # type can fail no draw can (a draw is never below 0); the draws are counter-based,
        # so skipping them moves no other.
        if not self.can_fail(state):
            return
        failed = uniforms(self.failure_key, step, d.sortie[slots], 0) < self.failure_prob[
            d.dtype[slots]]
        if failed.any():
            end_sorties(state, log, slots[failed], FAILED, "failure")

    def can_fail(self, state: State) -> bool:
        """Whether a launch may fail: some slot's drone type has a failure probability
        (known once per stage: slots keep their type)."""
        known = getattr(self, "_can_fail", None)
        if known is None:
            known = self._can_fail = bool((self.failure_prob[state.drones.dtype] > 0).any())
        return known

    @classmethod
    def batch(cls, stages: list[Launch], states: list[State]) -> LaunchBatch | None:
        """One ``ready_slots`` kernel call for every replicate (``LaunchBatch``); None where
        the nights or salvos differ or a column is not stacked."""
        if not same([(s.night, s.salvos) for s in stages]):
            return None
        columns_ = stacked_view([(s.readiness, (s.role, s.night_capable)) for s in stages])
        if columns_ is None:
            return None
        return LaunchBatch(stages, states, *columns_)


class LaunchBatch(MemoBatch):
    """Launch for an ensemble: the memo ``Launch.idle`` of every replicate lives in one
    ``(R, M)`` array (each stage's ``idle`` is its row), so one kernel call lists the ready
    slots of all replicates. The replicates with some then plan their launches in one more
    kernel call (``_plan_rows``: ``Launch.plan``'s steps, in its order, launch failures
    included) where nothing of the plan needs Python: no salvos, no events kept, no salvo
    deconfliction, and every omniscient slot ready now on the densest policy (its soldier
    is ``Targeter.densest``'s, found over the grids ``batch.packed_grids`` gives). The others
    plan in Python (``Launch.plan``, as the single run does). Each replicate's slots are
    judged at its own step (``any_step``)."""

    any_step = True

    def __init__(self, stages: list[Launch], states: list[State], readiness: tuple,
                 types: tuple) -> None:
        super().__init__(stages, states)
        n, m = len(stages), states[0].drones.n
        self.readiness, (self.role, self.night_capable) = readiness, types
        self.night, self.salvos = stages[0].night, stages[0].salvos
        self.idle = np.full((n, m), -1, np.int64)
        self.ints = np.empty((n, m), np.int64)
        self.counts = np.zeros(n, np.int64)
        self.busy = np.zeros(n, np.int64)
        self.every = np.full(n, -2, np.int64)  # salvos: the memo filters after ``together``
        #: per replicate: its ``drones.task`` and ``drones.failure`` stream keys; whether its
        #: plan may run in the kernel (no deconfliction; events are judged per call)
        self.task_keys = np.zeros(n, np.uint64)
        self.failure_keys = np.zeros(n, np.uint64)
        self.plain = np.zeros(n, np.bool_)
        self.views = self._views(stages, states)
        for r in range(n):
            self.pull(r)

    def _views(self, stages: list[Launch], states: list[State]) -> tuple | None:
        """The stacked columns ``_plan_rows`` reads and writes, or None (no kernel plans:
        salvos, per-run constants that differ, a column not stacked)."""
        if self.salvos or not same([(st.track_ttl, st.dt) for st in states]):
            return None
        views = stacked_view([(s.drones, s.performance, s.anchors, s.tracks,
                               (st.soldiers.side, st.soldiers.status, st.soldiers.x,
                                st.soldiers.y), st.counters.fates, s.failure_prob)
                              for s, st in zip(stages, states, strict=True)])
        if views is None:
            return None
        return views, states[0].track_ttl, float(states[0].dt)

    def pull(self, r: int) -> None:
        """Row ``r`` takes stage ``r``'s ``idle`` memo, and the stage is pointed at the row
        (so the stage's own calls write the row too); its stream key and whether it may
        plan in the kernel are noted."""
        stage = self.stages[r]
        self.idle[r] = stage.idle
        stage.idle = self.idle[r]
        self.task_keys[r] = stage.task_key
        self.failure_keys[r] = stage.failure_key
        self.plain[r] = not stage.targeter.deconflict

    def reset(self, r: int, stage=None, state=None) -> bool:
        """``MemoBatch.reset``; False (build the call again) where the new state's per-run
        constants differ from those the kernel plans with."""
        if state is not None and self.views is not None:
            _, ttl, dt = self.views
            if not (np.array_equal(state.track_ttl, ttl) and float(state.dt) == dt):
                return False
        return super().reset(r, stage, state)

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        marks = self.every if self.salvos else epochs(states, "track_epoch")
        at = steps(states)
        n = _ready_rows(at, self.night, self.readiness, self.role,
                        self.night_capable, self.idle, marks, self.ints, self.counts,
                        self.busy)
        if n == 0:
            return
        stages, ints, counts = self.stages, self.ints, self.counts
        busy = self.busy[:n].tolist()
        grids = None
        if self.views is not None:
            plain = self.plain
            todo = [r for r in busy if plain[r] and not logs[r].keeps]
            if todo:
                grids = packed_grids(states)
        if grids is None:
            for r in busy:
                stages[r].plan(states[r], logs[r], ints[r, :counts[r]].copy())
            return
        tables, ttl, dt = self.views
        first = epochs(states, "next_sortie")
        done = np.zeros(len(states), np.int8)
        _plan_rows(np.array(todo, np.int64),
                   (at, self.task_keys, self.failure_keys, marks, first, done),
                   (ttl, dt), (ints, counts), tables, grids, self.idle)
        for r in busy:
            if done[r] == 0:  # left to Python
                stages[r].plan(states[r], logs[r], ints[r, :counts[r]].copy())
            elif done[r] == 2:  # launched
                states[r].next_sortie = int(first[r])


@nb.njit(cache=True)
def _ready_rows(steps, night, readiness, role, night_capable, idle, marks, ints, counts, busy):
    """``fk.ready_slots`` for every replicate of an ensemble (stacked columns, ``steps``
    and ``marks``: the step and memo epoch by replicate); lists the replicates with
    ready slots at ``busy[:n]``; returns ``n``."""
    n = 0
    for r in range(marks.shape[0]):
        got = fk.ready_slots(steps[r], night, rows(readiness, r), role[r], night_capable[r],
                             idle[r], marks[r], ints[r])
        counts[r] = got
        if got:
            busy[n] = r
            n += 1
    return n


@nb.njit(cache=True)
def _plan_rows(todo, each, constants, ready, tables, grids, idle):  # pragma: no cover
    """``Launch.plan`` for the replicates ``todo`` of an ensemble. ``each`` = ``(steps,
    task keys, failure keys, epochs, first, done)`` by replicate (``first``: its next
    sortie id, advanced past the sorties launched); ``constants`` = ``(track_ttl, dt)``;
    ready slots ``ints[r, :counts[r]]`` (``ready`` = ``(ints, counts)``); ``tables`` = the
    stacked ``(drones, performance, anchors, tracks, (side, status, x, y), fates,
    failure_prob)``; ``grids`` from ``batch.packed_grids``; ``idle``: the memo by
    replicate. ``done[r]``: 0 where the plan needs Python (an omniscient slot on a policy
    other than densest: ``Targeter.select``'s full path), 1 planned, 2 planned and
    launched. Only for replicates without events, salvos or deconfliction."""
    steps, keys, failure_keys, epochs_, first, done = each
    ttl, dt = constants
    ints, counts = ready
    drones, performance, anchors, tracks, soldiers, fates, failure_prob = tables
    for r in todo:
        step = steps[r]
        slots = ints[r, :counts[r]]
        drones_r = rows(drones, r)
        d = fk.Drones(*drones_r)
        side, status, x, y = rows(soldiers, r)
        performance_r = rows(performance, r)
        go, track, aim_x, aim_y, omni = fk.plan_launch(
            step, keys[r], ttl, slots, drones_r, performance_r, side, status,
            rows(anchors, r), rows(tracks, r))
        m = slots.shape[0]
        python = False
        for i in range(m):
            if omni[i] and d.policy[slots[i]] != DENSEST:
                python = True
        if python:
            continue
        idle_r = idle[r]
        target = np.full(m, -1, np.int64)
        # Targeter.densest by (enemy side, radius), once per pair as its memo does
        seen_side = np.empty(m, np.int64)
        seen_radius = np.empty(m)
        seen_pick = np.empty(m, np.int64)
        n_seen = 0
        grid_pair = grid_rows(grids, r)
        for i in range(m):
            if not (go[i] or omni[i]):
                idle_r[slots[i]] = epochs_[r]
                continue
            if not omni[i]:
                continue
            slot = slots[i]
            enemy = 1 - np.int64(d.side[slot])
            radius = np.float64(d.density_radius[slot])
            pick = -2
            for j in range(n_seen):
                if seen_side[j] == enemy and seen_radius[j] == radius:
                    pick = seen_pick[j]
                    break
            if pick == -2:
                grid = grid_pair[0] if enemy == 0 else grid_pair[1]
                pick = densest_overall(radius, x, y, status, grid)
                seen_side[n_seen], seen_radius[n_seen], seen_pick[n_seen] = enemy, radius, pick
                n_seen += 1
            target[i] = pick
            go[i] = pick >= 0
        done[r] = 1
        launched = fk.launch_slots(step, dt, first[r], (slots, go, target, track, aim_x, aim_y),
                                   drones_r, performance_r, fates[r])
        if launched:
            first[r] += launched
            done[r] = 2
            _fail(step, failure_keys[r], slots, go, d, failure_prob[r], fates[r])


@nb.njit(cache=True)
def _fail(step, key, slots, go, d, failure_prob, fates):  # pragma: no cover
    """``Launch.plan``'s launch failures for one replicate in the kernel: the same draw per
    launched slot (``uniforms(key, step, sortie, 0)``), and ``end_sorties(..., FAILED)``
    for those below their type's probability (no events: the kernel path keeps none)."""
    for i in range(slots.shape[0]):
        if not go[i]:
            continue
        slot = slots[i]
        k = d.dtype[slot]
        if uniform(key, step, d.sortie[slot], 0) < failure_prob[k]:
            fates[d.side[slot], k, FAILED] += 1
            d.state[slot] = IDLE
            d.ready_step[slot] = step + d.turnaround[slot]
            d.target[slot] = -1
            d.track[slot] = -1
            d.committed_decoy[slot] = False


def together(state: State, ready: np.ndarray) -> np.ndarray:
    """The ready slots that may launch, keeping a salvo's members together: a member of a
    salvo goes only when every member that can still fly (airframes left, active, team
    alive) is ready this step."""
    d = state.drones
    step = state.step
    group = d.salvo
    able = (d.inventory > 0) & (d.active_from <= step) & (step < d.active_until)
    if state.layers is not None:
        able &= state.layers.team_alive
    size = int(group.max()) + 1
    is_ready = np.zeros(d.n, bool)
    is_ready[ready] = True
    members = np.bincount(group[able & (group >= 0)], minlength=size)
    waiting = np.bincount(group[able & is_ready & (group >= 0)], minlength=size)
    g = group[ready]
    return ready[(g < 0) | (waiting[np.maximum(g, 0)] == members[np.maximum(g, 0)])]


class Jamming:
    """Radio links break near enemy jammers; any link breaks beyond its range."""

    name = "jamming"

    def __init__(self, state: State) -> None:
        self.ints, _ = _scratch(state.drones.n)
        self.key = state.streams["ew.link_loss"]
        self.range_cause = len(state.weapon_names) + EXTRA_CAUSES.index("link_range")
        self.jam_cause = len(state.weapon_names) + EXTRA_CAUSES.index("jamming")
        self.tethers = columns(fk.Tethers, state.drones)
        self.links = columns(fk.Links, state.types)
        self.jammers = tuple(state.jammers)
        t = state.types
        self.autonomy = bool((t.autonomy_range[state.drones.dtype] > 0).any())

    def __call__(self, state: State, log: EventLog) -> None:
        n_range, n_jam = fk.link_losses(state.step, self.key, self.tethers, self.links,
                                        self.jammers, self.ints)
        if n_range or n_jam or self.autonomy:
            self.settle(state, log, self.ints, n_range, n_jam)

    @classmethod
    def batch(cls, stages: list[Jamming], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One kernel call that finds every replicate's lost links (``engine/batch.py``);
        the sorties are ended per replicate, only in replicates that lost some (or, with
        autonomous types, in every replicate, as a single run's call does)."""
        views = [stacked_view([getattr(s, name) for s in stages])
                 for name in ("tethers", "links", "jammers")]
        if any(v is None for v in views):
            return None
        tethers, links, jammers = views
        keys = np.array([s.key for s in stages], np.uint64)
        ints = np.empty((len(stages), stages[0].ints.shape[0]), np.int64)
        counts = np.zeros((len(stages), 2), np.int64)
        busy = np.zeros(len(stages), np.int64)
        every = np.arange(len(stages))
        autonomy = any(s.autonomy for s in stages)

        def call(states: list[State], logs: list[EventLog]) -> None:
            n = _link_losses_rows(steps(states), keys, tethers, links, jammers, ints, counts,
                                  busy)
            for r in (every if autonomy else busy[:n].tolist()):
                stages[r].settle(states[r], logs[r], ints[r], counts[r, 0], counts[r, 1])

        def reset(r: int, stage: Jamming, state: State) -> bool:
            """Replicate ``r`` restarted: its stage (for ``settle``) and stream key."""
            if stage.autonomy != autonomy or stage.ints.shape != ints[r].shape:
                return False
            stages[r] = stage
            keys[r] = stage.key
            return True

        call.any_step = True  # type: ignore[attr-defined]
        call.reset = reset  # type: ignore[attr-defined]
        return call

    def settle(self, state: State, log: EventLog, ints: np.ndarray, n_range: int,
               n_jam: int) -> None:
        """End the sorties ``link_losses`` listed in ``ints``: ``n_range`` out of range,
        then ``n_jam`` jammed (those guiding themselves keep flying)."""
        d = state.drones
        if n_range:
            end_sorties(state, log, ints[:n_range].copy(), CRASHED, "crash", self.range_cause)
        auto = autonomous_legs(state, log) if self.autonomy else None
        if n_jam:
            n = d.n
            jammed = ints[n:n + n_jam].copy()
            if auto is not None:
                jammed = jammed[~auto[jammed]]  # guiding itself: no link left to jam
            end_sorties(state, log, jammed, JAMMED, "jam_loss", self.jam_cause)


@nb.njit(cache=True)
def _link_losses_rows(steps, keys, tethers, links, jammers, ints, counts, busy):
    """``link_losses`` for every replicate of an ensemble (stacked columns, ``steps``,
    ``keys`` and ``ints`` by replicate); writes the counts to ``counts`` and lists the
    replicates with any loss at ``busy[:n]``; returns ``n``."""
    n = 0
    for r in range(keys.shape[0]):
        n_range, n_jam = fk.link_losses(steps[r], keys[r], rows(tethers, r), rows(links, r),
                                        rows(jammers, r), ints[r])
        counts[r, 0] = n_range
        counts[r, 1] = n_jam
        if n_range or n_jam:
            busy[n] = r
            n += 1
    return n


@nb.njit(cache=True)
def _flight_rows(steps, dt, night, ttl, sorties, cruise, positions, p_side, tracks, dummies,
                 outputs):
    """``fk.flight_step`` for every replicate of an ensemble (stacked columns; replicate
    ``r`` at step ``steps[r]``);
    ``outputs`` = ``(ints, reach, counts, replicates)``: each replicate's lists and counts by
    row, the replicates whose ``Flight.settle`` has something to do listed first in
    ``replicates``; returns how many. ``dummies[r]``: replicate ``r``'s stage looks for
    drones at decoy dummies (``Flight.dummies``)."""
    ints, reach, counts, replicates = outputs
    n = 0
    for r in range(counts.shape[0]):
        got = fk.flight_step(steps[r], dt, night, ttl, rows(sorties, r), rows(cruise, r),
                             rows(positions, r), p_side[r], rows(tracks, r), ints[r],
                             reach[r])
        for k in range(6):
            counts[r, k] = got[k]
        # settle does nothing for drones in flight with nothing to pick, end or strike
        # (and no dummies): such a replicate is not listed (saves a Python call)
        if got[1] or (got[0] and (dummies[r] or got[2] or got[3] or got[4] or got[5])):
            replicates[n] = r
            n += 1
    return n


def autonomous_legs(state: State, log: EventLog) -> np.ndarray:
    """(M,) bool: flying attack drones of an autonomous type within ``autonomy_range`` of
    their soldier target (or, before they have one, of their aim point). Logs and counts
    each sortie's autonomous leg when it begins."""
    d, t, s = state.drones, state.types, state.soldiers
    reach = t.autonomy_range[d.dtype]
    flying = (d.state == FLYING) & (reach > 0)
    tgt = d.target
    has = tgt >= 0
    safe = np.where(has, tgt, 0)
    gx = np.where(has, s.x[safe], d.aim_x)
    gy = np.where(has, s.y[safe], d.aim_y)
    auto = flying & (np.hypot(d.x - gx, d.y - gy) <= reach)
    begun = auto & (d.autonomous_sortie != d.sortie)
    if begun.any():
        slots = np.flatnonzero(begun)
        d.autonomous_sortie[slots] = d.sortie[slots]
        if state.layers is not None:
            np.add.at(state.layers.tallies["autonomous_legs"], d.side[slots], 1)
        if log.keeps:
            log.add(state.step, "autonomous", d.side[slots], d.x[slots], d.y[slots],
                    weapon=d.dtype[slots], actor=d.sortie[slots], target=d.target[slots])
    return auto


class Flight:
    """Move every flying drone one step; collect and resolve strikes and bombs.

    Endurance: strike drones fall out of the sky; others turn home in time. Attack drones
    replace dead targets and acquire a soldier near their aim; ISR follows the largest fresh
    tracked group unless it has a fixed station. Then every drone moves towards its goal.
    """

    name = "flight"

    def __init__(self, state: State, targeter: Targeter) -> None:
        self.targeter = targeter
        self.ints, self.reach = _scratch(state.drones.n)
        self.flat_cause = len(state.weapon_names) + EXTRA_CAUSES.index("endurance")
        self.aim_key = state.streams["drones.aim"]
        self.miss_key = state.streams["drones.miss"]
        self.dives = columns(fk.Dives, state.drones)
        self.terminal = columns(fk.Terminal, state.types)
        self.bodies = columns(Bodies, state.soldiers)
        self.pace = state.platoons.pace
        self.blast_views = blast_views(state)
        self.jammers = tuple(state.jammers)
        self.drones = tuple(state.drones)
        self.sorties = columns(fk.Sorties, state.drones)
        self.performance = columns(fk.Performance, state.types)
        self.cruise = columns(fk.Cruise, state.types)
        self.positions = columns(Positions, state.soldiers)
        self.tracks = tuple(state.tracks)
        self.autonomy = bool((state.types.autonomy_range[state.drones.dtype] > 0).any())
        self.misid_key = state.streams["drones.misidentify"]
        # Drones committed to a decoy dummy (docs/model.md §10) hold no soldier target: only
        # where some platoon sets out dummies does a step look for them.
        self.dummies = bool(state.platoons.decoy_dummy.any())

    def __call__(self, state: State, log: EventLog) -> None:
        ints, reach = self.ints, self.reach
        counts = fk.flight_step(
            state.step, state.dt, state.scenario.night, state.track_ttl, self.sorties,
            self.cruise, self.positions, state.platoons.side, self.tracks, ints, reach)
        if counts[0] or counts[1]:
            self.settle(state, log, ints, reach, *counts)

    @classmethod
    def batch(cls, stages: list[Flight], states: list[State]
              ) -> Callable[[list[State], list[EventLog]], None] | None:
        """One ``flight_step`` kernel call for every replicate (``engine/batch.py``); the
        rest of the step (targets, returns, strikes, dummies) runs per replicate, only in
        replicates with drones in the air or flat batteries."""
        if not same([(st.dt, st.scenario.night, st.track_ttl) for st in states]):
            return None
        columns_ = stacked_view([(s.sorties, s.cruise, s.positions, st.platoons.side,
                                  s.tracks) for s, st in zip(stages, states, strict=True)])
        if columns_ is None:
            return None
        sorties, cruise, positions, p_side, tracks = columns_
        r_n = len(stages)
        ints = np.empty((r_n, stages[0].ints.shape[0]), np.int64)
        reach = np.empty((r_n, stages[0].reach.shape[0]))
        counts = np.zeros((r_n, 6), np.int64)
        busy = np.zeros(r_n, np.int64)
        first = states[0]
        constants = (first.dt, first.scenario.night, first.track_ttl)
        outputs = (ints, reach, counts, busy)
        dummies = np.array([stage.dummies for stage in stages], np.bool_)

        def call(states: list[State], logs: list[EventLog]) -> None:
            dt, night, ttl = constants
            n = _flight_rows(steps(states), dt, night, ttl, sorties, cruise, positions,
                             p_side, tracks, dummies, outputs)
            for r in busy[:n].tolist():
                stages[r].settle(states[r], logs[r], ints[r], reach[r], *counts[r].tolist())

        def reset(r: int, stage: Flight, state: State) -> bool:
            """Replicate ``r`` restarted: its stage (for ``settle``, with its own targeter
            and memos), if its per-run constants are still those of the others."""
            if not same([constants, (state.dt, state.scenario.night, state.track_ttl)]):
                return False
            stages[r] = stage
            dummies[r] = stage.dummies
            return True

        call.any_step = True  # type: ignore[attr-defined]
        call.reset = reset  # type: ignore[attr-defined]
        return call

    def settle(self, state: State, log: EventLog, ints: np.ndarray, reach: np.ndarray,
               n_fly: int, n_flat: int, n_pick: int, n_home: int, n_strike: int,
               n_bomb: int) -> None:
        """The step after ``fk.flight_step`` (its counts and lists in ``ints``, ``reach``):
        flat batteries, targets for the drones that need one and their move, returns and
        strikes."""
        d, s, p_side = state.drones, state.soldiers, state.platoons.side
        step, dt, n, ttl = state.step, state.dt, d.n, state.track_ttl
        if n_flat:
            end_sorties(state, log, ints[:n_flat].copy(), CRASHED, "crash", self.flat_cause)
        if n_fly == 0:
            return
        if n_pick:
            pick = ints[n:n + n_pick].copy()
            look = reach[:n_pick].copy()
            if self.dummies:  # a drone bound for a dummy does not look for a soldier
                free = ~(d.committed_decoy[pick] & (d.target[pick] < 0))
                pick, look = pick[free], look[free]
            targets = self.targeter.select(state, pick, d.x[pick], d.y[pick], look,
                                           d.targeting_omniscient[pick])
            d.target[pick] = targets
            d.phase[pick[targets >= 0]] = ATTACK
            n_home, n_strike, n_bomb = fk.flight_move(step, dt, ttl, self.sorties, self.cruise,
                                                      s.x, s.y, p_side, self.tracks, ints)
        if n_home:
            end_sorties(state, log, ints[2 * n:2 * n + n_home].copy(), RETURNED, "return")
        if n_strike or n_bomb:
            self._strike(state, log, ints[3 * n:3 * n + n_strike].copy(),
                         ints[4 * n:4 * n + n_bomb].copy())
        if self.dummies:
            self._strike_dummies(state, log)

    def _strike_dummies(self, state: State, log: EventLog) -> None:
        """Drones committed to a dummy that reached it: a strike drone detonates on it, a
        bomber drops one bomb and is free to look for soldiers again. The blast lands at the
        dummy plus the type's aim error (stream ``drones.aim``, keyed by blast id like any
        strike) and hurts whoever is within its rings; no terminal-miss draw (docs/model.md
        §10)."""
        d, t = state.drones, state.types
        step = state.step
        at = np.flatnonzero((d.state == FLYING) & d.committed_decoy & (d.target < 0)
                            & (d.phase != RETURN) & (d.x == d.aim_x) & (d.y == d.aim_y))
        if at.size == 0:
            return
        role = t.role[d.dtype[at]]
        striker = (role == FPV) | (role == LOITERING)
        bomber = (role == BOMBER) & (d.next_bomb[at] <= step)
        at = at[striker | bomber]
        striker = striker[striker | bomber]
        if at.size == 0:
            return
        kind = d.dtype[at].astype(np.int64)
        blast_id = d.sortie[at] * 64 + np.where(striker, 0, t.bombs[kind] - d.bombs_left[at])
        err = normals(self.aim_key, step, blast_id, 0)
        bx = d.aim_x[at] + err[:, 0] * t.aim_error[kind]
        by = d.aim_y[at] + err[:, 1] * t.aim_error[kind]
        np.add.at(state.counters.strikes, (d.side[at], kind), 1)
        if log.keeps:
            for label, mask in (("strike", striker), ("bomb", ~striker)):
                log.add(step, label, d.side[at[mask]], bx[mask], by[mask], weapon=kind[mask],
                        actor=d.sortie[at[mask]], target=np.full(int(mask.sum()), -1))
        bombers = at[~striker]
        if bombers.size:
            d.bombs_left[bombers] -= 1
            d.next_bomb[bombers] = step + np.ceil(t.bomb_interval[d.dtype[bombers]]
                                                  / state.dt).astype(np.int64)
            d.committed_decoy[bombers] = False
            d.phase[bombers[d.bombs_left[bombers] <= 0]] = RETURN
        end_sorties(state, log, at[striker], EXPENDED, None)
        resolve_blasts(state, log, bx, by, t.rings[kind], blast_id, kind,
                       t.cover_penetration[kind], "damage.drones", self.blast_views)

    def _misidentify(self, state: State, log: EventLog, strikers: np.ndarray) -> np.ndarray:
        """Autonomous strikers whose classifier takes a non-target: each strikes the
        nearest wounded or decoy enemy soldier within its acquire range of the intended
        target, or else a dummy; returns the strikers left for ``fk.strike``."""
        d, t, s = state.drones, state.types, state.soldiers
        k = d.dtype[strikers]
        p = np.where(t.autonomy_range[k] > 0, t.misidentification[k], 0.0)
        wrong = uniforms(self.misid_key, state.step, d.sortie[strikers], 0) < p
        if not wrong.any():
            return strikers
        dummies = []
        for slot in strikers[wrong]:
            tg = d.target[slot]
            near = np.flatnonzero((s.side != d.side[slot]) & (s.status != KILLED)
                                  & ((s.status == WOUNDED) | (s.role == DECOY)))
            near = near[near != tg]
            dist = np.hypot(s.x[near] - s.x[tg], s.y[near] - s.y[tg])
            reach = t.acquire_range[d.dtype[slot]]
            if near.size and dist.min() <= reach:
                d.target[slot] = near[np.argmin(dist)]
            else:
                dummies.append(slot)
        wrong_slots = strikers[wrong]
        if state.layers is not None:
            np.add.at(state.layers.tallies["misidentified"], d.side[wrong_slots], 1)
        if log.keeps:
            log.add(state.step, "misidentified", d.side[wrong_slots], d.x[wrong_slots],
                    d.y[wrong_slots], weapon=d.dtype[wrong_slots], actor=d.sortie[wrong_slots],
                    target=d.target[wrong_slots])
        if not dummies:
            return strikers
        dum = np.array(dummies, np.int64)
        # A dummy stands 0.5-1 acquire ranges from the intended target, in a random direction.
        u = uniforms(self.misid_key, state.step, d.sortie[dum], 1)
        ang = normals(self.misid_key, state.step, d.sortie[dum], 2)
        theta = np.arctan2(ang[:, 1], ang[:, 0])
        dist = (0.5 + 0.5 * u) * t.acquire_range[d.dtype[dum]]
        tgt = d.target[dum]
        bx = s.x[tgt] + dist * np.cos(theta)
        by = s.y[tgt] + dist * np.sin(theta)
        kind = d.dtype[dum].astype(np.int64)
        np.add.at(state.counters.strikes, (d.side[dum], kind), 1)
        if log.keeps:
            log.add(state.step, "strike", d.side[dum], bx, by, weapon=kind,
                    actor=d.sortie[dum], target=np.full(dum.size, -1))
        end_sorties(state, log, dum, EXPENDED, None)
        resolve_blasts(state, log, bx, by, t.rings[kind], d.sortie[dum] * 64 + 63, kind,
                       t.cover_penetration[kind], "damage.drones", self.blast_views)
        return strikers[~np.isin(strikers, dum)]

    def _strike(self, state: State, log: EventLog, strikers: np.ndarray,
                bombers: np.ndarray) -> None:
        d, t, s = state.drones, state.types, state.soldiers
        if strikers.size:
            miss = fk.terminal_misses(state.step, self.miss_key, strikers, self.dives,
                                      self.terminal, self.bodies, self.pace, self.jammers)
            if miss.any():
                missed = strikers[miss]
                if log.keeps:
                    log.add(state.step, "miss", d.side[missed], d.x[missed], d.y[missed],
                            weapon=d.dtype[missed], actor=d.sortie[missed],
                            target=d.target[missed], platoon=s.platoon[d.target[missed]])
                end_sorties(state, log, missed, MISSED, None)
                strikers = strikers[~miss]
                if strikers.size == 0 and bombers.size == 0:
                    return
        if self.autonomy and strikers.size:
            strikers = self._misidentify(state, log, strikers)
            if strikers.size == 0 and bombers.size == 0:
                return
        slots, kind, blast_id, target, bx, by = fk.strike(
            state.step, state.dt, self.aim_key, strikers, bombers, self.drones, self.performance,
            s.x, s.y, state.counters.strikes)
        if log.keeps:
            is_bomb = np.arange(slots.size) >= strikers.size
            for label, mask in (("strike", ~is_bomb), ("bomb", is_bomb)):
                log.add(state.step, label, d.side[slots[mask]], bx[mask], by[mask],
                        weapon=kind[mask], actor=d.sortie[slots[mask]], target=target[mask],
                        platoon=s.platoon[target[mask]])
        end_sorties(state, log, strikers, EXPENDED, None)
        resolve_blasts(state, log, bx, by, t.rings[kind], blast_id, kind,
                       t.cover_penetration[kind], "damage.drones", self.blast_views)
