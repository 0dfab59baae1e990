"""Artillery: batteries answer calls for fire on tracked groups after a latency.

An idle battery with rounds takes the largest fresh track (at least ``min_group`` soldiers,
within ``max_range``) that no other mission covers, and aims at the track's position *at
the time of the call*. Rounds fall from ``latency`` seconds later, one every ``60 / (rate *
tubes)`` seconds, each at the aim point plus a normal error of ``sigma = CEP / 1.1774`` per
axis, and resolve as blasts. A group that moved since it was seen is missed: that is how
movement and dispersal beat drone-cued artillery.
"""

from __future__ import annotations

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
    steps,
)
from dronefront.engine.events import EventLog
from dronefront.engine.formulas import fresh_track
from dronefront.engine.rng import normals
from dronefront.engine.stages.damage import blast_views, resolve_blasts, resolve_both
from dronefront.engine.stages.layers import shell_sites
from dronefront.engine.state import (
    BATTERY_HOLD,
    BATTERY_RULE,
    SHOCK_BLAST,
    SHOCK_FALLEN,
    WOUNDED,
    Batteries,
    State,
    Tracks,
    columns,
)

# Per-call overhead, not arithmetic, dominates on arrays this small: a step is one kernel
# call unless a mission starts or rounds fall. Battery state changes only here, so after a
# quiet step the stage sleeps (``Artillery.wake``) until a round can next fall; an idle
# battery keeps it looking every step.
NEVER = 1 << 62


class Readiness(NamedTuple):
    """Kernel view: the battery columns that say whether a battery has anything to do."""

    side: np.ndarray
    x: np.ndarray
    y: np.ndarray
    mission_left: np.ndarray
    rounds: np.ndarray
    min_group: np.ndarray
    max_range: np.ndarray
    next_round_time: np.ndarray


@nb.njit(cache=True)
def _todo(step, dt, ttl, readiness, platoon_side, tracks):
    """What this step holds: (sides with an idle battery that has a target, whether a round
    falls in ``[t, t + dt)``, the next step the stage must look again unless a track
    changes, whether an idle battery waits for a target: then a changed track is a reason
    to look again).

    The target test is a mission's (``ttl`` in steps per side). With the tracks as they
    are, an idle battery without a target finds none later (a track only ages) until an
    engagement lapses (``engaged_until``, written only by this stage).
    """
    b, tr = Readiness(*readiness), Tracks(*tracks)
    side, bx, by, mission_left, rounds = b.side, b.x, b.y, b.mission_left, b.rounds
    min_group, max_range, next_round_time = b.min_group, b.max_range, b.next_round_time
    tr_x, tr_y, tr_n, tr_step, engaged_until = tr.x, tr.y, tr.n, tr.step, tr.engaged_until
    end = (step + 1) * dt
    targets = 0
    idle = due = False
    wake = NEVER
    for i in range(side.shape[0]):
        if mission_left[i] == 0 and rounds[i] > 0:
            idle = True
            s = side[i]
            for g in range(platoon_side.shape[0]):
                if (fresh_track(s, g, step, ttl[s], platoon_side, tr_n, tr_step)
                        and engaged_until[s, g] < step and tr_n[s, g] >= min_group[i]
                        and np.hypot(tr_x[s, g] - bx[i], tr_y[s, g] - by[i]) <= max_range[i]):
                    targets |= 1 << s
                    break
        elif mission_left[i] > 0:
            if next_round_time[i] < end - 1e-9:
                due = True
            # A step earlier than due, well clear of the 1e-9 tolerance.
            wake = min(wake, max(step + 1, np.int64(next_round_time[i] // dt) - 1))
    if targets or due:
        return targets, due, step + 1, idle
    if idle:
        for s in range(2):
            for g in range(platoon_side.shape[0]):
                if engaged_until[s, g] >= step:
                    wake = min(wake, engaged_until[s, g] + 1)
    return targets, due, wake, idle


@nb.njit(cache=True)
def _missions(step, dt, ttl, batteries, platoon_side, tracks):
    """Start a mission for each idle battery with a target, in battery order: the largest
    usable track, or under an outside order (``Batteries.order``) that platoon's or none.

    Returns (battery, group, rounds) of the missions started.
    """
    b, tr = Batteries(*batteries), Tracks(*tracks)
    side, bx, by, rounds, latency, interval = b.side, b.x, b.y, b.rounds, b.latency, b.interval
    max_range, min_group, mission_left = b.max_range, b.min_group, b.mission_left
    mission_x, mission_y, next_round_time = b.mission_x, b.mission_y, b.next_round_time
    order = b.order
    tr_x, tr_y, tr_n, tr_step, engaged_until = tr.x, tr.y, tr.n, tr.step, tr.engaged_until
    idle = np.empty(side.shape[0], np.bool_)
    for i in range(side.shape[0]):
        idle[i] = mission_left[i] == 0 and rounds[i] > 0
    out_i = []
    out_g = []
    out_size = []
    for i in range(side.shape[0]):
        if not idle[i] or order[i] == BATTERY_HOLD:
            continue
        s = side[i]
        only = order[i]  # BATTERY_RULE (< 0): any track; else that platoon's only
        best = -1
        for g in range(platoon_side.shape[0]):
            if ((only < 0 or g == only)
                    and fresh_track(s, g, step, ttl[s], platoon_side, tr_n, tr_step)
                    and engaged_until[s, g] < step and tr_n[s, g] >= min_group[i]
                    and np.hypot(tr_x[s, g] - bx[i], tr_y[s, g] - by[i]) <= max_range[i]
                    and (best < 0 or tr_n[s, g] > tr_n[s, best])):
                best = g
        if best < 0:
            continue
        size = min(b.rounds_per_mission[i], rounds[i])
        mission_left[i] = size
        mission_x[i], mission_y[i] = tr_x[s, best], tr_y[s, best]
        next_round_time[i] = (step + latency[i]) * dt
        engaged_until[s, best] = step + latency[i] + np.int64(np.ceil(size * interval[i] / dt))
        out_i.append(i)
        out_g.append(best)
        out_size.append(size)
    return (np.array(out_i, np.int64), np.array(out_g, np.int64),
            np.array(out_size, np.int64))


@nb.njit(cache=True)
def _rounds(step, dt, batteries, shells, key, weapon):
    """Fire the rounds whose time falls in ``[t, t + dt)``, battery by battery.

    Returns per round: battery, x, y, shell id, and the rings, weapon code and (zero) cover
    penetration of its blast; ``None`` when no round falls.
    """
    b = Batteries(*batteries)
    side, mission_left, next_round_time, interval = (b.side, b.mission_left, b.next_round_time,
                                                     b.interval)
    fired, rounds, mission_x, mission_y = b.fired, b.rounds, b.mission_x, b.mission_y
    sigma, battery_rings = b.sigma, b.rings
    end = (step + 1) * dt
    total = 0
    for i in range(side.shape[0]):
        if mission_left[i] > 0 and next_round_time[i] < end - 1e-9:
            total += min(mission_left[i],
                         np.int64(np.floor((end - 1e-9 - next_round_time[i]) / interval[i]))
                         + 1)
    if total == 0:
        return None
    battery = np.empty(total, np.int64)
    shell_id = np.empty(total, np.int64)
    k = 0
    for i in range(side.shape[0]):
        if mission_left[i] > 0 and next_round_time[i] < end - 1e-9:
            n = min(mission_left[i],
                    np.int64(np.floor((end - 1e-9 - next_round_time[i]) / interval[i])) + 1)
            for r in range(n):
                battery[k] = i
                shell_id[k] = i * (1 << 32) + fired[i] + r
                k += 1
            fired[i] += n
            rounds[i] -= n
            mission_left[i] -= n
            next_round_time[i] += n * interval[i]
    err = normals(key, step, shell_id, 0)
    x = np.empty(total)
    y = np.empty(total)
    rings = np.empty((total, battery_rings.shape[1], battery_rings.shape[2]))
    for k in range(total):
        i = battery[k]
        x[k] = mission_x[i] + err[k, 0] * sigma[i]
        y[k] = mission_y[i] + err[k, 1] * sigma[i]
        rings[k] = battery_rings[i]
        shells[side[i]] += 1
    return (battery, x, y, shell_id, rings, np.full(total, weapon, np.int64),
            np.zeros(total))


class Artillery:
    """Start missions for idle batteries, then land this step's rounds."""

    name = "artillery"

    def __init__(self, state: State) -> None:
        self.wake = 0  # the next step at which anything can happen (batteries change only here)
        # ... unless, with ``watch`` (an idle battery waits for a target), a track changes
        self.watch, self.epoch = False, state.track_epoch
        self.orders = state.order_epoch  # ... or an outside controller changes an order
        self.batteries = tuple(state.batteries)
        self.readiness = columns(Readiness, state.batteries)
        self.tracks = tuple(state.tracks)
        self.key = state.streams["artillery.dispersion"]
        self.blast_views = blast_views(state)
        layers = state.layers
        # Fire calls on located emitters and shells on their sites (counter-drone layers).
        self.layers = layers if layers is not None and (
            layers.detectors.side.size > 0 or bool(layers.isr_finds_jammers.any())) else None

    def __call__(self, state: State, log: EventLog) -> None:
        b = state.batteries
        step, dt = state.step, state.dt
        if self.layers is not None and self.layers.fire_calls:
            self._emitter_missions(state, log)
            self.wake = step
        if b.n == 0 or (step < self.wake and state.order_epoch == self.orders
                        and not (self.watch and state.track_epoch != self.epoch)):
            return
        self.epoch, self.orders = state.track_epoch, state.order_epoch
        targets, due, self.wake, self.watch = _todo(step, dt, state.track_ttl, self.readiness,
                                                    state.platoons.side, self.tracks)
        if targets or due:
            self.act(state, log, targets, due)

    def act(self, state: State, log: EventLog, targets: int, due: bool) -> None:
        """What follows a look (``_todo``) that found targets or a round due: missions for
        the idle batteries with a target, then this step's rounds."""
        b = state.batteries
        step, dt = state.step, state.dt
        if targets:
            self._call_for_fire(state, log)
            due = True  # a new mission may fire at once
        if not due:
            return
        fell = _rounds(step, dt, self.batteries, state.counters.shells, self.key,
                       state.artillery_code)
        if fell is None:
            return
        battery, bx, by, shell_id, rings, weapon, penetration = fell
        if log.keeps:
            log.add(step, "shell", b.side[battery], bx, by, weapon=state.artillery_code,
                    actor=battery)
        resolve_blasts(state, log, bx, by, rings, shell_id, weapon, penetration,
                       "damage.artillery", self.blast_views)
        if self.layers is not None:
            shell_sites(state, log, b.side[battery], bx, by, rings, shell_id)

    @classmethod
    def batch(cls, stages: list[Artillery], states: list[State]) -> ArtilleryBatch | None:
        """Every replicate's gate, and the look (``_todo``) of those it wakes, in one
        kernel call (``ArtilleryBatch``); None where the track ages differ or a column is
        not stacked."""
        if not same([(st.dt, st.track_ttl) for st in states]):
            return None
        columns_ = stacked_view([(s.readiness, s.tracks, (st.platoons.side,))
                                 for s, st in zip(stages, states, strict=True)])
        if columns_ is None:
            return None
        return ArtilleryBatch(stages, states, columns_, _act_views(stages, states))

    def _emitter_missions(self, state: State, log: EventLog) -> None:
        """Each fire call on a located emitter goes to the first idle battery of the calling
        side with rounds and the range (and no outside order); a call no battery can take
        lapses."""
        b = state.batteries
        step = state.step
        calls, self.layers.fire_calls[:] = list(self.layers.fire_calls), []
        for side, x, y in calls:
            ok = np.flatnonzero((b.side == side) & (b.mission_left == 0) & (b.rounds > 0)
                                & (b.order == BATTERY_RULE)
                                & (np.hypot(b.x - x, b.y - y) <= b.max_range))
            if ok.size == 0:
                continue
            i = int(ok[0])
            size = int(min(b.rounds_per_mission[i], b.rounds[i]))
            b.mission_left[i] = size
            b.mission_x[i], b.mission_y[i] = x, y
            b.next_round_time[i] = (step + b.latency[i]) * state.dt
            self.layers.tallies["fire_missions"][side] += 1
            if log.keeps:
                log.add(step, "call_for_fire", side, x, y, weapon=state.artillery_code,
                        platoon=-1, actor=i, value=size)

    def _call_for_fire(self, state: State, log: EventLog) -> None:
        """Idle batteries with a target start a mission on it."""
        b, tr = state.batteries, state.tracks
        battery, group, size = _missions(state.step, state.dt, state.track_ttl, self.batteries,
                                         state.platoons.side, self.tracks)
        if log.keeps:
            for i, g, n in zip(battery.tolist(), group.tolist(), size.tolist(), strict=True):
                side = int(b.side[i])
                log.add(state.step, "call_for_fire", side, tr.x[side, g], tr.y[side, g],
                        weapon=state.artillery_code, platoon=g, actor=i, value=n)


class ArtilleryBatch(MemoBatch):
    """Artillery for an ensemble, one ``_todo_rows`` kernel call a step.

    The memos of every replicate (``wake``, ``watch``, the track and order epochs) live in
    arrays by replicate, owned by this call while the ensemble runs (``pull`` takes a
    stage's own). The kernel makes each replicate's gate and looks (``_todo``) where it
    lets through; missions and rounds follow per replicate (``Artillery.act``) where
    targets were found or rounds are due. A replicate with a fire call on an emitter
    (counter-drone layers) is stepped by its own stage, its memos handed over and back.
    Each replicate's gate and look use its own step (``any_step``)."""

    any_step = True

    def __init__(self, stages: list[Artillery], states: list[State], columns_: tuple,
                 acts: tuple | None = None) -> None:
        super().__init__(stages, states)
        #: what ``_act_rows`` reads and writes (None: every act in Python)
        self.acts = acts
        self.plain = np.array([s.layers is None for s in stages])
        n = len(stages)
        self.readiness, self.tracks, (self.p_side,) = columns_
        self.dt, self.ttl = states[0].dt, states[0].track_ttl
        self.batteries = states[0].batteries.n > 0  # one scenario: the same batteries
        self.calls = any(s.layers is not None for s in stages)
        self.memo = (np.zeros(n, np.int64), np.zeros(n, np.bool_), np.zeros(n, np.int64),
                     np.zeros(n, np.int64))  # wake, watch, epoch, orders
        self.none = np.zeros(n, np.bool_)
        self.outputs = (np.zeros(n, np.int64), np.zeros(n, np.bool_), np.zeros(n, np.int64))
        for r in range(n):
            self.pull(r)

    def reset(self, r: int, stage=None, state=None) -> bool:
        """``MemoBatch.reset``; False (build the call again) where the acts' kernel views
        no longer hold for the new replicate."""
        if self.acts is not None and state is not None:
            weapon, shelter = self.acts[3]
            if not same([(weapon, tuple(shelter)),
                         (int(state.artillery_code), tuple(blast_views(state)[1]))]):
                return False
        return super().reset(r, stage, state)

    def pull(self, r: int) -> None:
        stage = self.stages[r]
        wake, watch, epoch, orders = self.memo
        wake[r], watch[r], epoch[r], orders[r] = stage.wake, stage.watch, stage.epoch, \
            stage.orders
        self.plain[r] = stage.layers is None
        if self.acts is not None:  # a rebuilt replicate's own streams
            _, keys, damage_keys, _ = self.acts
            keys[r] = stage.key
            damage_keys[r] = self.states[r].streams["damage.artillery"]

    def push(self, r: int) -> None:
        """Hand replicate ``r``'s memos to its stage (before its own call)."""
        stage = self.stages[r]
        wake, watch, epoch, orders = self.memo
        stage.wake, stage.watch = int(wake[r]), bool(watch[r])
        stage.epoch, stage.orders = int(epoch[r]), int(orders[r])

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        stages = self.stages
        skip = self.none
        if self.calls:  # fire calls on emitters: the replicate's own stage does it all
            called = np.array([s.layers is not None and bool(s.layers.fire_calls)
                               for s in stages])
            if called.any():
                skip = called
                for r in np.flatnonzero(called).tolist():
                    self.push(r)
                    stages[r](states[r], logs[r])
                    self.pull(r)
        if not self.batteries:
            return
        n, _ = _todo_rows(steps(states), self.dt, self.ttl, self.readiness, self.p_side,
                          self.tracks, epochs(states, "track_epoch"),
                          epochs(states, "order_epoch"), skip, self.memo, self.outputs)
        if n:
            targets, due, listed = self.outputs
            todo = listed[:n]
            if self.acts is not None:
                todo = self._acts(states, logs, todo)
            for r in todo.tolist():
                stages[r].act(states[r], logs[r], int(targets[r]), bool(due[r]))

    def _acts(self, states: list[State], logs: list[EventLog], listed: np.ndarray
              ) -> np.ndarray:
        """``Artillery.act`` for the ``listed`` replicates that keep no events and have no
        counter-drone layers, in one ``_act_rows`` kernel call (missions, rounds, blasts);
        only what lives on ``State`` (the shocks, the casualty epoch) is set per replicate
        here. Returns the replicates left to ``Artillery.act``."""
        plain = self.plain
        kernel = [r for r in listed.tolist() if plain[r] and not logs[r].keeps]
        if not kernel:
            return listed
        grids = packed_grids(states)
        if grids is None:
            return listed
        tables, keys, damage_keys, constants = self.acts
        targets, due, _ = self.outputs
        todo = np.array(kernel, np.int64)
        blasts, b_off, hits, h_off = _act_rows(todo, (targets, due), steps(states), self.dt,
                                               self.ttl, keys, damage_keys, constants,
                                               tables, self.p_side, self.tracks, grids)
        bx, by = blasts
        sx, sy = hits
        for k, r in enumerate(kernel):
            a, b = b_off[k], b_off[k + 1]
            if a == b:
                continue
            state = states[r]
            state.shocks.append((bx[a:b], by[a:b], SHOCK_BLAST))
            a, b = h_off[k], h_off[k + 1]
            if a < b:
                state.casualty_epoch += 1
                state.shocks.append((sx[a:b], sy[a:b], SHOCK_FALLEN))
        if len(kernel) == listed.size:
            return listed[:0]
        return np.array([r for r in listed.tolist() if not (plain[r] and not logs[r].keeps)],
                        np.int64)


def _act_views(stages: list[Artillery], states: list[State]) -> tuple | None:
    """What ``_act_rows`` reads and writes, stacked (batteries, shells, the soldiers'
    bodies, causes and first wounds), the random stream keys by replicate and the per-run
    constants (weapon code, shelter); None where a constant differs or a column is not
    stacked."""
    if not same([(st.artillery_code, tuple(s.blast_views[1])) for s, st in
                 zip(stages, states, strict=True)]):
        return None
    tables = stacked_view([(s.batteries, (st.counters.shells,), s.blast_views[0],
                            (st.soldiers.cause, st.care.wounded_step))
                           for s, st in zip(stages, states, strict=True)])
    if tables is None:
        return None
    keys = np.array([s.key for s in stages], np.uint64)
    damage_keys = np.array([st.streams["damage.artillery"] for st in states], np.uint64)
    return tables, keys, damage_keys, (int(states[0].artillery_code),
                                       stages[0].blast_views[1])


@nb.njit(cache=True)
def _act_rows(todo, gates, steps, dt, ttl, keys, damage_keys, constants, tables, p_side,
              tracks, grids):  # pragma: no cover
    """``Artillery.act`` without events or layers for the replicates ``todo``: missions
    (``_missions``) where ``targets[r]``, this step's rounds (``_rounds``) where a
    mission was started or ``due[r]`` (``gates = (targets, due)``), and their blasts
    (``damage.resolve_both`` over ``batch.grid_rows(grids, r)``), with the causes and
    first wounds ``resolve_blasts`` writes. Returns the blasts' ``(x, y)`` and the hit
    soldiers' ``(x, y)``, concatenated in ``todo`` order, with offsets by position in
    ``todo`` (what the caller puts in each replicate's shocks)."""
    targets, due = gates
    weapon, shelter = constants
    batteries, shells, bodies, fates = tables
    cause, wounded_step = fates
    n = todo.shape[0]
    b_off = np.zeros(n + 1, np.int64)
    h_off = np.zeros(n + 1, np.int64)
    bxs = []
    bys = []
    sxs = []
    sys_ = []
    for k in range(n):
        r = todo[k]
        step = steps[r]
        batteries_r = rows(batteries, r)
        b_off[k + 1] = b_off[k]
        h_off[k + 1] = h_off[k]
        if targets[r]:
            _missions(step, dt, ttl, batteries_r, p_side[r], rows(tracks, r))
        elif not due[r]:
            continue
        fell = _rounds(step, dt, batteries_r, shells[0][r], keys[r], weapon)
        if fell is None:
            continue
        _, bx, by, shell_id, rings, weapon_, penetration = fell
        bodies_r = rows(bodies, r)
        soldier, blast, status = resolve_both((bx, by, rings, penetration, shell_id),
                                               bodies_r, shelter, grid_rows(grids, r),
                                               damage_keys[r], step)
        bxs.append(bx)
        bys.append(by)
        b_off[k + 1] += bx.shape[0]
        if soldier.shape[0] == 0:
            continue
        cause_r, first = cause[r], wounded_step[r]
        sx = np.empty(soldier.shape[0])
        sy = np.empty(soldier.shape[0])
        x, y = bodies_r[0], bodies_r[1]
        for i in range(soldier.shape[0]):
            j = soldier[i]
            if status[i] == WOUNDED and first[j] < 0:
                first[j] = step
            cause_r[j] = weapon_[blast[i]]
            sx[i], sy[i] = x[j], y[j]
        sxs.append(sx)
        sys_.append(sy)
        h_off[k + 1] += soldier.shape[0]
    return (_joined(bxs, b_off[n]), _joined(bys, b_off[n])), b_off, \
        (_joined(sxs, h_off[n]), _joined(sys_, h_off[n])), h_off


@nb.njit(cache=True)
def _joined(parts, size):  # pragma: no cover
    """The float arrays ``parts`` end to end (``size`` values in all)."""
    out = np.empty(size)
    k = 0
    for p in parts:
        out[k:k + p.shape[0]] = p
        k += p.shape[0]
    return out


@nb.njit(cache=True)
def _todo_rows(steps, dt, ttl, readiness, p_side, tracks, track_epochs, order_epochs, skip,
               memo, outputs):
    """The artillery gate of every replicate of an ensemble but those to ``skip`` (stacked
    columns; the replicates' steps, track and order epochs), and ``_todo`` for those it lets
    through; ``memo`` = ``(wake, watch, epoch, orders)`` by replicate, read and rewritten.
    ``outputs`` = ``(targets, due, listed)``: ``_todo``'s answers by replicate, and the
    replicates with targets or a round due listed first. Returns how many are listed and
    how many looked."""
    wake, watch, epoch, orders = memo
    targets, due, listed = outputs
    n = looked = 0
    for r in range(skip.shape[0]):
        step = steps[r]
        if skip[r] or (step < wake[r] and order_epochs[r] == orders[r]
                       and not (watch[r] and track_epochs[r] != epoch[r])):
            continue
        epoch[r], orders[r] = track_epochs[r], order_epochs[r]
        targets[r], due[r], wake[r], watch[r] = _todo(step, dt, ttl, rows(readiness, r),
                                                      p_side[r], rows(tracks, r))
        looked += 1
        if targets[r] or due[r]:
            listed[n] = r
            n += 1
    return n, looked
