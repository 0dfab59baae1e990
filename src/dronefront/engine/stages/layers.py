"""Counter-drone layers: RF detection of radio drones and emitters, fire calls on located
operator teams and jammers, and interceptor drones that hunt enemy drones in the air.

Built only when a scenario has interceptor teams, RF detectors or ISR that hunts jammers
(``State.layers``); docs/model.md §12a gives the equations. Random draws come from the
streams ``layers.rf``, ``layers.locate``, ``layers.isr_jammers``, ``layers.interceptor``,
``layers.interceptor_link`` and ``layers.sites``, so a layer switched off moves no other
draw. Interceptors are jammed here (the strike drones' law); soldiers see and shoot them in
the counter-drone stage.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from dronefront.engine.batch import MemoBatch, same, stacked, steps
from dronefront.engine.events import EXTRA_CAUSES, EventLog
from dronefront.engine.formulas import jam_keep, miss_probability
from dronefront.engine.rng import normals, pair_uniforms, uniforms
from dronefront.engine.stages.drones import end_sorties
from dronefront.engine.state import (
    CRASHED,
    EXPENDED,
    FAILED,
    FLYING,
    IDLE,
    ISR,
    JAMMED,
    LAUNCHED,
    MISSED,
    RETURNED,
    SHOT_DOWN,
    State,
)

#: A located emitter is not called for fire again for this long, s (assumption: a mission's
#: latency plus its rounds and a look at the result).
RECALL_AFTER = 600.0
#: Teams whose positions lie this close share one fire call, m (assumption: one mission
#: covers a launch site).
SITE_RADIUS = 50.0
#: Std. dev. per axis of a jammer position an ISR camera locates, m (assumption).
ISR_LOCATE_ERROR = 25.0
#: Offset of jammer ids in the site-damage draws (drone slots come first).
_JAMMER_IDS = 1 << 40


class CounterDroneLayers:
    """Detect emitters, call fire on them, and fly interceptors (one step)."""

    name = "layers"

    def __init__(self, state: State) -> None:
        layers = state.layers
        assert layers is not None
        self.rf_key = state.streams["layers.rf"]
        self.locate_key = state.streams["layers.locate"]
        self.isr_key = state.streams["layers.isr_jammers"]
        self.intercept_key = state.streams["layers.interceptor"]
        self.recall = int(math.ceil(RECALL_AFTER / state.dt))
        self.detecting = layers.detectors.side.size > 0 or bool(layers.isr_finds_jammers.any())
        self.intercepting = layers.interceptors.n > 0
        self.endurance = np.ceil(state.types.endurance / state.dt).astype(np.int64)
        ic, jm = layers.interceptors, state.jammers
        self.link_key = state.streams["layers.interceptor_link"]
        self.jam_cause = len(state.weapon_names) + EXTRA_CAUSES.index("jamming")
        #: radio interceptors whose enemy fields jammers: only they draw for their link
        self.jammable = state.types.radio[ic.dtype] & np.isin(1 - ic.side, jm.side)

    def __call__(self, state: State, log: EventLog) -> None:
        if self.detecting:
            self._detect(state, log)
        if self.intercepting:
            self._intercept(state, log)

    @classmethod
    def batch(cls, stages: list[CounterDroneLayers], states: list[State]
              ) -> LayersBatch | None:
        """The "anything in reach?" check of every replicate at once (``LayersBatch``);
        None where the layers' fixed columns differ or a column is not stacked."""
        if not same([(s.detecting, s.intercepting, st.drones.side, st.drones.dtype,
                      st.jammers.side, tuple(st.layers.detectors), st.layers.isr_finds_jammers,
                      st.layers.interceptors.side) for s, st in zip(stages, states,
                                                                   strict=True)]):
            return None
        ic = [st.layers.interceptors for st in states]
        blocks = [stacked([st.drones.state for st in states]),
                  *(stacked([getattr(st.jammers, name) for st in states])
                    for name in ("active", "x", "y")),
                  stacked([st.layers.jammer_called for st in states]),
                  *(stacked([getattr(t, name) for t in ic]) for name in
                    ("state", "ready_step", "inventory", "active_from", "active_until"))]
        if any(b is None for b in blocks):
            return None
        return LayersBatch(stages, states, blocks)

    # ------------------------------------------------------------------ detection
    def _detect(self, state: State, log: EventLog) -> None:
        layers, d, t, jm = state.layers, state.drones, state.types, state.jammers
        step = state.step
        det = layers.detectors
        flying = (d.state == FLYING) & t.radio[d.dtype]
        for i in range(det.side.size):
            side = int(det.side[i])
            near = np.flatnonzero(flying & (d.side != side) & (
                np.hypot(d.x - det.x[i], d.y - det.y[i]) <= det.range[i]))
            if near.size:
                hit = uniforms(self.rf_key, step, d.sortie[near], i) < det.detect_prob[i]
                found = near[hit]
                if found.size:
                    layers.tallies["rf_detections"][side] += found.size
                    if log.keeps:
                        log.add(step, "rf_detection", side, d.x[found], d.y[found],
                                weapon=d.dtype[found], actor=d.sortie[found], value=i)
                    if det.cue[i]:
                        self._locate_teams(state, log, side, found, det.locate_error[i], i)
            live = np.flatnonzero(jm.active & (jm.side != side) & (
                np.hypot(jm.x - det.x[i], jm.y - det.y[i]) <= det.range[i]))
            if live.size:
                hit = uniforms(self.rf_key, step, live + _JAMMER_IDS, i) < det.detect_prob[i]
                if hit.any() and det.cue[i]:
                    self._locate_jammers(state, log, side, live[hit], det.locate_error[i], i)
        for side in np.flatnonzero(layers.isr_finds_jammers):
            isr = np.flatnonzero((d.state == FLYING) & (d.side == side)
                                 & (t.role[d.dtype] == ISR))
            live = np.flatnonzero(jm.active & (jm.side != side))
            if isr.size == 0 or live.size == 0:
                continue
            dist = np.hypot(d.x[isr][:, None] - jm.x[live][None, :],
                            d.y[isr][:, None] - jm.y[live][None, :])
            seen = dist <= t.sensor_range[d.dtype[isr]][:, None]
            a, b = np.nonzero(seen)
            if a.size == 0:
                continue
            u = pair_uniforms(self.isr_key, step, d.sortie[isr[a]], live[b])
            found = np.unique(live[b][u < t.sensor_detect_prob[d.dtype[isr[a]]]])
            if found.size:
                self._locate_jammers(state, log, int(side), found, ISR_LOCATE_ERROR, 1 << 20)

    def _locate_teams(self, state: State, log: EventLog, side: int, found: np.ndarray,
                      error: float, detector: int) -> None:
        """Fix the operator positions of detected drones and call fire on each new site."""
        layers, d = state.layers, state.drones
        step = state.step
        for slot in found[layers.team_called[found] < step].tolist():
            if layers.team_called[slot] >= step or not layers.team_alive[slot]:
                continue
            err = normals(self.locate_key, step, np.array([d.sortie[slot]]), detector)[0]
            x, y = d.home_x[slot] + err[0] * error, d.home_y[slot] + err[1] * error
            site = np.hypot(d.home_x - d.home_x[slot], d.home_y - d.home_y[slot]) <= SITE_RADIUS
            layers.team_called[site & (d.side == d.side[slot])] = step + self.recall
            layers.tallies["teams_located"][side] += 1
            layers.fire_calls.append((side, float(x), float(y)))

    def _locate_jammers(self, state: State, log: EventLog, side: int, found: np.ndarray,
                        error: float, detector: int) -> None:
        layers, jm = state.layers, state.jammers
        step = state.step
        fresh = found[layers.jammer_called[found] < step]
        if fresh.size == 0:
            return
        err = normals(self.locate_key, step, fresh + _JAMMER_IDS, detector)
        layers.jammer_called[fresh] = step + self.recall
        layers.tallies["jammers_located"][side] += fresh.size
        for k, j in enumerate(fresh.tolist()):
            layers.fire_calls.append((side, float(jm.x[j] + err[k, 0] * error),
                                      float(jm.y[j] + err[k, 1] * error)))
        if log.keeps:
            log.add(step, "rf_detection", side, jm.x[fresh], jm.y[fresh], actor=fresh,
                    value=detector)

    # ------------------------------------------------------------------ interceptors
    def _intercept(self, state: State, log: EventLog) -> None:
        ic, d, t = state.layers.interceptors, state.drones, state.types
        step, dt = state.step, state.dt
        enemy_flying = d.state == FLYING
        fates = state.counters.fates
        for i in range(ic.n):
            k, side = int(ic.dtype[i]), int(ic.side[i])
            if ic.state[i] == IDLE:
                if not (ic.ready_step[i] <= step and ic.inventory[i] > 0
                        and ic.active_from[i] <= step < ic.active_until[i]):
                    continue
                target = self._target(state, i, ic.home_x[i], ic.home_y[i], enemy_flying)
                if target < 0:
                    continue
                sortie = state.next_sortie
                state.next_sortie += 1
                fates[side, k, LAUNCHED] += 1
                ic.inventory[i] -= 1
                ic.sortie[i] = sortie
                ic.x[i], ic.y[i] = ic.home_x[i], ic.home_y[i]
                if log.keeps:
                    log.add(step, "launch", side, ic.x[i], ic.y[i], weapon=k, actor=sortie,
                            target=-1)
                if uniforms(self.intercept_key, step, np.array([sortie]), 1)[0] < \
                        t.failure_prob[k]:
                    self._land(state, log, i, FAILED, "failure")
                    continue
                ic.state[i] = FLYING
                ic.battery_end[i] = step + self.endurance[k]
                ic.target[i], ic.target_sortie[i] = target, d.sortie[target]
            if step >= ic.battery_end[i]:
                self._land(state, log, i, CRASHED, "crash")
                continue
            tg = ic.target[i]
            if tg >= 0 and (d.state[tg] != FLYING or d.sortie[tg] != ic.target_sortie[i]):
                tg = self._target(state, i, ic.x[i], ic.y[i], enemy_flying)
                ic.target[i] = tg
                ic.target_sortie[i] = d.sortie[tg] if tg >= 0 else -1
            gx, gy = (d.x[tg], d.y[tg]) if tg >= 0 else (ic.home_x[i], ic.home_y[i])
            dist = math.hypot(gx - ic.x[i], gy - ic.y[i])
            autonomous = tg >= 0 and dist <= t.autonomy_range[k]
            if self.jammable[i] and self._link_lost(state, i, autonomous):
                state.layers.tallies["interceptors_jammed"][1 - side] += 1
                self._land(state, log, i, JAMMED, "jam_loss", self.jam_cause)
                continue
            reach = t.speed[k] * dt
            if dist <= reach:
                ic.x[i], ic.y[i] = gx, gy
                if tg < 0:
                    ic.inventory[i] += 1
                    self._land(state, log, i, RETURNED, "return")
                    continue
                hit = uniforms(self.intercept_key, step, np.array([ic.sortie[i]]), 0)[0] >= \
                    self._miss(state, i, gx, gy)
                if log.keeps:
                    log.add(step, "intercept", side, gx, gy, weapon=k, actor=ic.sortie[i],
                            target=d.sortie[tg], value=float(hit))
                if hit:
                    state.layers.tallies["intercepts"][side] += 1
                    end_sorties(state, log, np.array([tg]), SHOT_DOWN, "shoot_down")
                    enemy_flying[tg] = False
                self._land(state, log, i, EXPENDED if hit else MISSED, None)
                continue
            ic.x[i] += (gx - ic.x[i]) * reach / dist
            ic.y[i] += (gy - ic.y[i]) * reach / dist

    def _link_lost(self, state: State, i: int, autonomous: bool) -> bool:
        """Whether interceptor ``i`` loses its radio link to hostile jammers this step, by
        the strike drones' law (``flight_kernels.link_losses``): with ``(1 - jam_keep) *
        (1 - link_resistance)``, one draw per sortie and step (``layers.interceptor_link``);
        never over an autonomous terminal leg (no link left to break)."""
        if autonomous:
            return False
        ic, jm = state.layers.interceptors, state.jammers
        keep = jam_keep(ic.x[i], ic.y[i], ic.side[i], jm.active, jm.side, jm.x, jm.y,
                        jm.radius, jm.strength)
        p_loss = (1.0 - keep) * (1.0 - state.types.link_resistance[ic.dtype[i]])
        return p_loss > 0 and uniforms(self.link_key, state.step, np.array([ic.sortie[i]]),
                                       0)[0] < p_loss

    def _miss(self, state: State, i: int, gx: float, gy: float) -> float:
        """Probability that interceptor ``i`` misses its quarry at ``(gx, gy)``: its type's
        ``terminal_miss``, raised by the strike drones' jamming hazard ``miss_per_jamming *
        (1 - jam_keep)`` at the quarry for a radio link without autonomous guidance."""
        ic, t, jm = state.layers.interceptors, state.types, state.jammers
        k = ic.dtype[i]
        base = t.terminal_miss[k]
        if not self.jammable[i] or t.autonomy_range[k] > 0 or t.miss_per_jamming[k] <= 0:
            return base
        jam = 1.0 - jam_keep(gx, gy, ic.side[i], jm.active, jm.side, jm.x, jm.y, jm.radius,
                             jm.strength)
        if jam <= 0:
            return base
        return float(miss_probability(base, 1.0, 0.0, t.miss_per_jamming[k] * jam, 0.0))

    def _target(self, state: State, i: int, px: float, py: float,
                enemy_flying: np.ndarray) -> int:
        """The nearest enemy drone in the air within the interceptor's hunting radius of its
        team that no other interceptor of its side is chasing; -1 if none."""
        ic, d, t = state.layers.interceptors, state.drones, state.types
        side = ic.side[i]
        cand = enemy_flying & (d.side != side) & (
            np.hypot(d.x - ic.home_x[i], d.y - ic.home_y[i]) <= t.intercept_range[ic.dtype[i]])
        mates = (ic.state == FLYING) & (ic.side == side) & (ic.target >= 0)
        mates[i] = False
        cand[ic.target[mates]] = False
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            return -1
        return int(idx[np.argmin(np.hypot(d.x[idx] - px, d.y[idx] - py))])

    def _land(self, state: State, log: EventLog, i: int, fate: int, kind: str | None,
              cause: int = -1) -> None:
        ground_interceptors(state, log, np.array([i]), fate, kind, cause)


class LayersBatch(MemoBatch):
    """Counter-drone layers for an ensemble: one ``_layers_gate`` kernel call over the
    stacked columns finds the replicates where a layer can act this step, and only they
    call their stage. A replicate is skipped only where its stage would change nothing: no
    interceptor in the air, none ready while an enemy drone flies (``_target`` finds none),
    no enemy radio drone in the air for a detector, and no enemy jammer on that may be
    called for fire again within reach of a cueing detector, or while jammer-hunting ISR is
    in the air (finding a jammer that may not be called again changes nothing). Each
    replicate is judged at its own step (``any_step``)."""

    any_step = True

    def __init__(self, stages: list[CounterDroneLayers], states: list[State],
                 blocks: list[np.ndarray]) -> None:
        super().__init__(stages, states)
        first, stage = states[0], stages[0]
        d, t, jm, layers = first.drones, first.types, first.jammers, first.layers
        det = layers.detectors
        self.columns = tuple(blocks)
        self.fixed = (d.side.astype(np.int64), t.radio[d.dtype], t.role[d.dtype] == ISR,
                      jm.side.astype(np.int64), layers.interceptors.side.astype(np.int64),
                      layers.isr_finds_jammers.astype(np.bool_))
        self.detectors = (det.side.astype(np.int64), det.x, det.y, det.range,
                          det.cue.astype(np.bool_))
        self.flags = np.array([stage.intercepting, stage.detecting])
        self.listed = np.empty(len(stages), np.int64)

    def __call__(self, states: list[State], logs: list[EventLog]) -> None:
        n = _layers_gate(steps(states), self.columns, self.fixed, self.detectors, self.flags,
                         self.listed)
        if n:
            stages = self.stages
            for r in self.listed[:n].tolist():
                stages[r](states[r], logs[r])


@nb.njit(cache=True)
def _layers_gate(steps, columns, fixed, detectors, flags, listed):
    """The replicates (each at its step ``steps[r]``; stacked ``columns``: drone states; jammers on,
    their positions and when they may be called again; interceptor state, ready step, inventory,
    active window) where a counter-drone layer can act this step, listed at ``listed[:n]``; returns
    ``n``. ``fixed``: drone sides, radio and ISR slots, jammer and interceptor sides, sides with
    jammer-hunting ISR; ``detectors``: their sides, positions, ranges and cues.

    A jammer a detector or ISR finds changes nothing (its draws are counter-based) unless it may be
    called for fire again (``jammer_called < step``) by a cueing detector in range, or by ISR."""
    d_state, jm_active, jm_x, jm_y, jm_called, ic_state, ic_ready, ic_inventory, ic_from, \
        ic_until = columns
    d_side, radio, isr, jm_side, ic_side, hunts = fixed
    det_side, det_x, det_y, det_range, det_cue = detectors
    intercepting, detecting = flags[0], flags[1]
    n = 0
    for r in range(d_state.shape[0]):
        step = steps[r]
        # the sides with a drone in the air: any, radio, ISR; with a jammer to call fire on
        flying = np.zeros(2, np.bool_)
        radio_up = np.zeros(2, np.bool_)
        isr_up = np.zeros(2, np.bool_)
        callable_ = np.zeros(2, np.bool_)
        for m in range(d_side.shape[0]):
            if d_state[r, m] == FLYING:
                flying[d_side[m]] = True
                radio_up[d_side[m]] |= radio[m]
                isr_up[d_side[m]] |= isr[m]
        for j in range(jm_side.shape[0]):
            if jm_active[r, j] and jm_called[r, j] < step:
                callable_[jm_side[j]] = True
        todo = False
        if intercepting:
            for i in range(ic_side.shape[0]):
                if ic_state[r, i] != IDLE or (
                        ic_ready[r, i] <= step and ic_inventory[r, i] > 0
                        and ic_from[r, i] <= step < ic_until[r, i]
                        and flying[1 - ic_side[i]]):
                    todo = True
                    break
        if detecting and not todo:
            for s in range(2):
                if hunts[s] and isr_up[s] and callable_[1 - s]:
                    todo = True
            for i in range(det_side.shape[0]):
                s = det_side[i]
                if todo or radio_up[1 - s]:
                    todo = True
                    break
                if not (det_cue[i] and callable_[1 - s]):
                    continue
                for j in range(jm_side.shape[0]):
                    if (jm_side[j] != s and jm_active[r, j] and jm_called[r, j] < step
                            and np.hypot(jm_x[r, j] - det_x[i], jm_y[r, j] - det_y[i])
                            <= det_range[i]):
                        todo = True
                        break
        if todo:
            listed[n] = r
            n += 1
    return n


def ground_interceptors(state: State, log: EventLog, idx: np.ndarray, fate: int,
                        kind: str | None, cause: int = -1) -> None:
    """End the sorties of interceptor teams ``idx`` with ``fate`` (``kind``: the event to
    log, or None) and start each team's turnaround; like ``drones.end_sorties``."""
    ic = state.layers.interceptors
    np.add.at(state.counters.fates[:, :, fate], (ic.side[idx], ic.dtype[idx]), 1)
    if kind is not None and log.keeps:
        log.add(state.step, kind, ic.side[idx], ic.x[idx], ic.y[idx], weapon=ic.dtype[idx],
                cause=cause, actor=ic.sortie[idx])
    ic.state[idx] = IDLE
    ic.target[idx] = -1
    ic.ready_step[idx] = state.step + ic.turnaround[idx]


def shell_sites(state: State, log: EventLog, side: np.ndarray, bx: np.ndarray, by: np.ndarray,
                rings: np.ndarray, shell_id: np.ndarray) -> None:
    """Rounds that land near hostile operator teams or jammers put them out of action.

    A site at distance ``r`` from a burst is lost with the kill plus wound probability of the
    innermost lethality ring that reaches it (a wounded crew stops flying; assumption), one
    draw per round and site. A lost team flies no more (its airframe in the air crashes); a
    lost jammer stops jamming.
    """
    layers, d, jm = state.layers, state.drones, state.jammers
    key = state.streams["layers.sites"]
    step = state.step
    link_cause = len(state.weapon_names) + EXTRA_CAUSES.index("link_range")
    for r in range(bx.size):
        enemy = 1 - side[r]
        for ids, sx, sy, offset in (
                (np.flatnonzero(layers.team_alive & (d.side == enemy)), d.home_x, d.home_y, 0),
                (np.flatnonzero(jm.active & (jm.side == enemy)), jm.x, jm.y, _JAMMER_IDS)):
            if ids.size == 0:
                continue
            dist = np.hypot(sx[ids] - bx[r], sy[ids] - by[r])
            radius = rings[r, :, 0]
            p = np.zeros(ids.size)
            for ring in range(radius.size - 1, -1, -1):  # innermost ring wins
                if radius[ring] < 0:
                    continue
                inside = dist <= radius[ring]
                p[inside] = min(1.0, rings[r, ring, 1] + rings[r, ring, 2])
            reached = p > 0
            if not reached.any():
                continue
            u = pair_uniforms(key, step, np.full(ids.size, shell_id[r], np.int64),
                              ids + offset)
            lost = ids[reached & (u < p)]
            if lost.size == 0:
                continue
            if offset == 0:
                layers.team_alive[lost] = False
                d.inventory[lost] = 0
                d.active_until[lost] = np.minimum(d.active_until[lost], step)
                layers.tallies["teams_destroyed"][side[r]] += lost.size
                airborne = lost[d.state[lost] == FLYING]
                if airborne.size:
                    end_sorties(state, log, airborne, CRASHED, "crash", link_cause)
                if log.keeps:
                    log.add(step, "site_destroyed", side[r], d.home_x[lost], d.home_y[lost],
                            weapon=d.dtype[lost], actor=lost, value=0.0)
            else:
                jm.active[lost] = False
                layers.tallies["jammers_destroyed"][side[r]] += lost.size
                if log.keeps:
                    log.add(step, "site_destroyed", side[r], jm.x[lost], jm.y[lost],
                            actor=lost, value=1.0)
