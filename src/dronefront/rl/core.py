"""The engine side of the learning environments: actions, observations and rewards.

:class:`Engagement` wraps one :class:`~dronefront.engine.sim.Sim` and knows nothing of
PettingZoo or Gymnasium. Agents are the attacker's platoons (``platoon_<g>``) and, when
asked, the defender's drone teams (``team_<slot>``). An order is written into the state's
columns only when it differs from the agent's standing order, so a policy that repeats the
doctrine leaves the run bit-identical to ``Sim.run`` (docs/rl.md, "Determinism").

>>> from dronefront.scenario.loader import load_scenario
>>> e = Engagement(load_scenario("kursk-assault", ["duration=60"]), seed=1)
>>> e.agents[:2], e.observe().shape
(['platoon_0', 'platoon_1'], (4, 16))
"""

from __future__ import annotations

import numpy as np

from dronefront.engine.sim import Sim
from dronefront.engine.state import (
    A_DECOY,
    A_ENGAGE,
    FLYING,
    HEALTHY,
    IDLE,
    NEVER,
    POLICIES,
    RIFLEMAN,
    SHOOTER,
    SPOTTER,
    WEIGHTED,
    WOUNDED,
)
from dronefront.errors import UserError
from dronefront.scenario.models import RL, SIDES, Scenario

#: Platoon action heads and their options (``MultiDiscrete`` order).
PLATOON_HEADS: dict[str, tuple[str, ...]] = {
    "move": ("advance", "halt", "withdraw", "cover"),
    "spacing": ("close", "medium", "open"),
    "posture": ("up", "ground"),
    "counterdrone": ("hold_fire", "engage", "decoy_and_shoot"),
    "spotters": ("stood_down", "posted"),
}
#: Drone-team action heads and their options.
TEAM_HEADS: dict[str, tuple[str, ...]] = {
    "launch": ("launch", "hold"),
    "policy": POLICIES,
    "link": ("radio", "fibre"),
}
#: Platoon observation features (``Box`` columns; docs/rl.md).
PLATOON_FEATURES = (
    "healthy", "wounded", "spacing", "suppressed", "to_objective", "cover_here",
    "drones_seen", "nearest_drone", "since_casualty", "neighbours_healthy", "time_left",
    "in_contact", "halted", "grounded", "engaging", "spotters_posted",
)
#: Drone-team observation features.
TEAM_FEATURES = (
    "inventory", "flying", "ready", "tracks", "enemy_healthy", "enemy_to_objective",
    "policy", "holding", "time_left",
)
SINCE_SCALE = 300.0  # s: "time since the last casualty" saturates at 1 after this


def _sizes(heads: dict[str, tuple[str, ...]]) -> np.ndarray:
    return np.array([len(v) for v in heads.values()], np.int64)


PLATOON_NVEC = _sizes(PLATOON_HEADS)
TEAM_NVEC = _sizes(TEAM_HEADS)


class Engagement:
    """One engagement driven by orders every ``decision_interval`` simulated seconds.

    ``control`` names who is an agent: ``"attacker"`` (its platoons), ``"defender"`` (its
    drone teams) or ``"both"``. The other side follows its scenario doctrine.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, *, control: str = "attacker",
                 decision_interval: float | None = None, events: bool = False) -> None:
        if control not in ("attacker", "defender", "both"):
            raise UserError(f"control must be attacker, defender or both, not {control!r}",
                            field="control")
        self.scenario = scenario
        self.cfg = scenario.rl or RL()
        interval = self.cfg.decision_interval if decision_interval is None else decision_interval
        if not interval > 0:
            raise UserError(f"decision_interval must be > 0 s, not {interval}",
                            field="decision_interval")
        self.every = max(1, int(round(interval / scenario.dt)))
        self.control = control
        self.events = events
        self.reset(seed)

    # ------------------------------------------------------------------ set-up
    def reset(self, seed: int) -> None:
        """Start again from step 0 with ``seed`` (a fresh ``Sim``)."""
        self.sim = Sim(self.scenario, seed=seed, events=self.events)
        st = self.sim.state
        p, s, d = st.platoons, st.soldiers, st.drones
        self.state = st
        self.G, self.M = p.n, d.side.shape[0]
        routed = p.side == SIDES.index("attacker")
        self.platoons = np.flatnonzero(routed) if self.control != "defender" else np.zeros(0, int)
        self.teams = (np.flatnonzero(d.side == SIDES.index("defender"))
                      if self.control != "attacker" else np.zeros(0, int))
        self.agents = ([f"platoon_{g}" for g in self.platoons]
                       + [f"team_{i}" for i in self.teams])
        if not self.agents:
            raise UserError(f"{self.scenario.name} has no {self.control} agents "
                            "(attacker platoons or defender drone teams)", field="control")
        # By name: optional stages (layers) shift positions in STAGE_NAMES' order.
        self.cd = next(st for st in self.sim.stages if st.name == "counterdrone")
        # standing orders: the doctrine's, as option indices
        self.doctrine_spacing = np.ones(self.G)
        units = [u for name in SIDES for u in getattr(self.scenario.sides, name).units]
        self.engage_delay = np.zeros(self.G, np.int64)  # decoy-and-shoot: fire one interval on
        for u, unit in enumerate(units):
            self.doctrine_spacing[p.unit == u] = unit.doctrine.spacing
            self.engage_delay[p.unit == u] = round(unit.doctrine.drill_interval / st.dt)
        self.spotter0 = s.role == SPOTTER
        self.ox0, self.oy0 = s.ox.copy(), s.oy.copy()
        spac = np.asarray(self.cfg.spacings)
        self.orders = np.zeros((self.G, len(PLATOON_NVEC)), np.int64)
        self.orders[:, 1] = np.abs(spac[None, :] - self.doctrine_spacing[:, None]).argmin(1)
        self.orders[:, 2] = 0
        off = st.drill.offset
        self.orders[:, 3] = np.where(off[:, A_DECOY] >= 0, 2, np.where(off[:, A_ENGAGE] >= 0,
                                                                        1, 0))
        self.doctrine_spotters = np.bincount(s.platoon[s.role == SPOTTER], minlength=self.G)
        self.orders[:, 4] = self.doctrine_spotters > 0
        self.doctrine_shooters = np.bincount(s.platoon[s.shoots], minlength=self.G)
        self.route = (p.route_x.copy(), p.route_y.copy(), p.n_waypoints.copy())
        self.detour = np.zeros(self.G, bool)
        self.saved = np.zeros((self.G, 2))  # next_wp, advanced at the detour's start
        self.team_orders = np.zeros((self.M, len(TEAM_NVEC)), np.int64)
        self.team_orders[:, 1] = d.policy
        self.team_orders[:, 2] = ~st.types.radio[d.dtype]
        self.active_until0 = d.active_until.copy()
        # weighted targeting needs the memo the engine keeps only when a team starts with it
        self.weighted_ok = ((d.weights.sum(axis=1) > 0) & bool((d.policy == WEIGHTED).any())
                            if d.weights.size else np.zeros(self.M, bool))
        self._cover_index()
        self.strength = np.maximum(p.strength, 1)
        self.side_n = np.array([(s.side == k).sum() for k in range(2)])
        self.last_casualty = np.full(self.G, -NEVER // 2, np.int64)
        self.live = {a: True for a in self.agents}
        self.prev = self._tally()

    def _cover_index(self) -> None:
        """The raster of cells with cover ``>= cover_min`` (searched in a window per order)."""
        t = self.state.terrain
        self.cover_cells = t.cover[t.grid] >= self.cfg.cover_min
        self.cover_memo: dict[int, tuple[int, tuple[float, float] | None]] = {}

    def nearest_cover(self, g: int) -> tuple[float, float] | None:
        """Centre of the nearest cover cell within ``cover_radius`` of platoon ``g``'s anchor."""
        step = self.state.step
        memo = self.cover_memo.get(g)
        if memo is not None and memo[0] == step:
            return memo[1]
        t, p = self.state.terrain, self.state.platoons
        ny, nx = self.cover_cells.shape
        r = self.cfg.cover_radius
        c0 = max(int((p.ax[g] - r - t.x0) // t.cell), 0)
        c1 = min(int((p.ax[g] + r - t.x0) // t.cell) + 1, nx)
        r0 = max(int((p.ay[g] - r - t.y0) // t.cell), 0)
        r1 = min(int((p.ay[g] + r - t.y0) // t.cell) + 1, ny)
        found = None
        if c0 < c1 and r0 < r1:
            rows, cols = np.nonzero(self.cover_cells[r0:r1, c0:c1])
            if rows.size:
                x = t.x0 + (cols + c0 + 0.5) * t.cell
                y = t.y0 + (rows + r0 + 0.5) * t.cell
                d = np.hypot(x - p.ax[g], y - p.ay[g])
                k = int(d.argmin())
                if d[k] <= r:
                    found = (float(x[k]), float(y[k]))
        self.cover_memo[g] = (step, found)
        return found

    # ------------------------------------------------------------------ tallies
    def _tally(self) -> dict[str, np.ndarray]:
        st, s = self.state, self.state.soldiers
        p = st.platoons
        down = s.status != HEALTHY
        arms = st.arms
        return {
            "lost": np.bincount(s.platoon[down], minlength=self.G),
            "side_lost": np.array([(down & (s.side == k)).sum() for k in range(2)]),
            "progress": np.minimum(p.advanced, p.route_length) / np.maximum(p.route_length, 1e-9),
            "downs": arms.downs.sum(axis=1).copy(),
            "shots": st.counters.shots.copy(),
            "shot_down": st.counters.fates[:, :, 2].sum(axis=1).copy(),
        }

    # ------------------------------------------------------------------ observations
    def observe(self) -> np.ndarray:
        """Platoon observations, one row per controlled platoon (``PLATOON_FEATURES``)."""
        st, s, p, d = self.state, self.state.soldiers, self.state.platoons, self.state.drones
        gs = self.platoons
        out = np.zeros((gs.size, len(PLATOON_FEATURES)), np.float32)
        if gs.size == 0:
            return out
        healthy = np.bincount(s.platoon[s.status == HEALTHY], minlength=self.G)
        wounded = np.bincount(s.platoon[s.status == WOUNDED], minlength=self.G)
        share = healthy / self.strength
        ax, ay = p.ax[gs], p.ay[gs]
        flying = np.flatnonzero((d.state == FLYING) & (d.side != p.side[gs[0]]))
        radius = self.cfg.sight_radius
        if flying.size:
            dist = np.hypot(d.x[flying][None, :] - ax[:, None], d.y[flying][None, :] - ay[:, None])
            seen = (dist <= radius).sum(axis=1)
            nearest = np.minimum(dist.min(axis=1) / radius, 1.0)
        else:
            seen, nearest = np.zeros(gs.size), np.ones(gs.size)
        t = st.terrain
        cells = t.lookup(ax, ay)
        contact = np.zeros(self.G, bool)
        if st.contacts.size:
            contact[st.contacts % max(self.G, 1)] = True
        side_share = share[gs]
        neighbours = ((side_share.sum() - side_share) / max(gs.size - 1, 1)
                      if gs.size > 1 else side_share)
        since = (st.step - self.last_casualty[gs]) * st.dt / SINCE_SCALE
        spac = np.asarray(self.cfg.spacings)
        out[:, 0] = side_share
        out[:, 1] = wounded[gs] / self.strength[gs]
        out[:, 2] = spac[self.orders[gs, 1]] / spac.max()
        out[:, 3] = p.shaken[gs] / self.strength[gs]
        out[:, 4] = 1.0 - self.prev["progress"][gs]
        out[:, 5] = t.cover[cells]
        out[:, 6] = np.minimum(seen / 4.0, 1.0)
        out[:, 7] = nearest
        out[:, 8] = np.minimum(since, 1.0)
        out[:, 9] = neighbours
        out[:, 10] = 1.0 - st.step / self.scenario.steps
        out[:, 11] = contact[gs]
        out[:, 12] = self.orders[gs, 0] == 1
        out[:, 13] = self.orders[gs, 2] == 1
        out[:, 14] = self.orders[gs, 3] > 0
        out[:, 15] = self.orders[gs, 4] == 1
        return out

    def observe_teams(self) -> np.ndarray:
        """Drone-team observations, one row per controlled team (``TEAM_FEATURES``)."""
        st, d, p, s = self.state, self.state.drones, self.state.platoons, self.state.soldiers
        ts = self.teams
        out = np.zeros((ts.size, len(TEAM_FEATURES)), np.float32)
        if ts.size == 0:
            return out
        enemy = SIDES.index("attacker")
        tracks = st.tracks
        fresh = (tracks.n[1] > 0) & (st.step - tracks.step[1] <= st.track_ttl[1])
        attackers = p.side == enemy
        healthy = ((s.status == HEALTHY) & (s.side == enemy)).sum()
        prog = self.prev["progress"][attackers]
        out[:, 0] = np.minimum(d.inventory[ts] / 10.0, 1.0)
        out[:, 1] = d.state[ts] == FLYING
        out[:, 2] = (d.state[ts] == IDLE) & (d.ready_step[ts] <= st.step)
        out[:, 3] = min(fresh.sum() / max(attackers.sum(), 1), 1.0)
        out[:, 4] = healthy / max(self.side_n[enemy], 1)
        out[:, 5] = 1.0 - (prog.mean() if prog.size else 0.0)
        out[:, 6] = self.team_orders[ts, 1] / max(len(POLICIES) - 1, 1)
        out[:, 7] = self.team_orders[ts, 0] == 1
        out[:, 8] = 1.0 - st.step / self.scenario.steps
        return out

    def state_vector(self) -> np.ndarray:
        """A global view for centralised critics: every attacker platoon's features and every
        defender team's (controlled or not), flattened."""
        keep_p, keep_t = self.platoons, self.teams
        self.platoons = np.flatnonzero(self.state.platoons.side == SIDES.index("attacker"))
        self.teams = np.flatnonzero(self.state.drones.side == SIDES.index("defender"))
        try:
            return np.concatenate([self.observe().ravel(), self.observe_teams().ravel()])
        finally:
            self.platoons, self.teams = keep_p, keep_t

    # ------------------------------------------------------------------ masks
    def platoon_masks(self) -> np.ndarray:
        """Allowed options per controlled platoon: bool ``(n, sum(PLATOON_NVEC))``."""
        gs = self.platoons
        mask = np.ones((gs.size, int(PLATOON_NVEC.sum())), bool)
        if gs.size == 0:
            return mask
        for i, g in enumerate(gs):
            if self.nearest_cover(g) is None:
                mask[i, 3] = False
            if self.route[2][g] == 0:
                mask[i, 0] = mask[i, 2] = False  # no route: nowhere to advance or fall back to
        can_shoot = (self.doctrine_shooters[gs] > 0) | (self.cfg.shooters > 0)
        base = int(PLATOON_NVEC[:3].sum())
        mask[:, base + 1] &= can_shoot
        mask[:, base + 2] &= can_shoot
        can_spot = (self.doctrine_spotters[gs] > 0) | (self.cfg.spotters > 0)
        mask[:, base + 4] &= can_spot
        return mask

    def team_masks(self) -> np.ndarray:
        """Allowed options per controlled drone team: bool ``(n, sum(TEAM_NVEC))``."""
        ts = self.teams
        mask = np.ones((ts.size, int(TEAM_NVEC.sum())), bool)
        weighted = 2 + POLICIES.index("weighted")
        mask[:, weighted] = self.weighted_ok[ts]
        link = 2 + len(POLICIES)
        radio = self.state.types.radio[self.state.drones.dtype[ts]]
        mask[:, link] = radio  # a team flies one type: only its own link is possible
        mask[:, link + 1] = ~radio
        return mask

    # ------------------------------------------------------------------ orders
    def doctrine_actions(self) -> np.ndarray:
        """The standing orders of every controlled platoon (the doctrine at the start)."""
        return self.orders[self.platoons].copy()

    def order_platoons(self, actions: np.ndarray) -> None:
        """Apply one ``(n, 5)`` row of option indices per controlled platoon."""
        for i, g in enumerate(self.platoons):
            row = actions[i]
            old = self.orders[g]
            for head in range(row.shape[0]):
                if row[head] != old[head] and self._allowed(g, head, int(row[head])):
                    self._apply(g, head, int(old[head]), int(row[head]))
                    old[head] = row[head]

    def _allowed(self, g: int, head: int, new: int) -> bool:
        """Whether an order is possible (``platoon_masks``); an impossible one is ignored."""
        if head == 0:
            if new in (0, 2) and self.route[2][g] == 0:
                return False
            if new == 3:
                return self.nearest_cover(g) is not None
        if head == 3 and new > 0:
            return bool(self.doctrine_shooters[g] > 0 or self.cfg.shooters > 0)
        if head == 4 and new == 1:
            return bool(self.doctrine_spotters[g] > 0 or self.cfg.spotters > 0)
        return True

    def _apply(self, g: int, head: int, old: int, new: int) -> None:
        st, p, s = self.state, self.state.platoons, self.state.soldiers
        step = st.step
        if head == 0:
            if old == 1:
                p.frozen_until[g] = step
            if old in (2, 3):
                self._end_detour(g)
            if new == 1:
                p.frozen_until[g] = NEVER
            elif new == 2:
                self._detour(g, p.rally_x[g], p.rally_y[g])
            elif new == 3:
                self._detour(g, *self.nearest_cover(g))
        elif head == 1:
            scale = self.cfg.spacings[new] / self.doctrine_spacing[g]
            mine = s.platoon == g
            s.ox[mine] = self.ox0[mine] * scale
            s.oy[mine] = self.oy0[mine] * scale
        elif head == 2:
            p.grounded_until[g] = NEVER if new == 1 else step
        elif head == 3:
            off = st.drill.offset
            off[g, A_ENGAGE] = -1 if new == 0 else (self.engage_delay[g] if new == 2 else 0)
            off[g, A_DECOY] = 0 if new == 2 else -1
            self.cd.reacts[g] = (off[g, [0, 1, 2, A_DECOY]] >= 0).any()
            if new == 0:
                st.drill.engage_from[g] = NEVER
            else:
                if self.doctrine_shooters[g] == 0:
                    self._arm(g)
                in_contact = st.contacts.size and (st.contacts % max(self.G, 1) == g).any()
                if in_contact:
                    st.drill.engage_from[g] = min(st.drill.engage_from[g], step)
        elif head == 4 and self.doctrine_spotters[g] == 0:
            mine = np.flatnonzero((s.platoon == g) & ((s.role == RIFLEMAN) | (s.role == SPOTTER))
                                  & ~s.shoots)[:self.cfg.spotters]
            s.role[mine] = SPOTTER if new == 1 else RIFLEMAN
        elif head == 4:
            mine = np.flatnonzero((s.platoon == g) & self.spotter0)
            s.role[mine] = SPOTTER if new == 1 else RIFLEMAN

    def _arm(self, g: int) -> None:
        """Designate ``rl.shooters`` riflemen of platoon ``g`` (once) when it has none."""
        s = self.state.soldiers
        if (s.shoots & (s.platoon == g)).any():
            return
        mine = np.flatnonzero((s.platoon == g) & (s.role == RIFLEMAN))[:self.cfg.shooters]
        s.shoots[mine] = True
        s.role[mine] = SHOOTER

    def _detour(self, g: int, x: float, y: float) -> None:
        p = self.state.platoons
        if not self.detour[g]:
            self.saved[g] = p.next_wp[g], p.advanced[g]
            self.detour[g] = True
        p.route_x[g, 0], p.route_y[g, 0] = x, y
        p.n_waypoints[g], p.next_wp[g] = 1, 0

    def _end_detour(self, g: int) -> None:
        p = self.state.platoons
        if not self.detour[g]:
            return
        p.route_x[g], p.route_y[g] = self.route[0][g], self.route[1][g]
        p.n_waypoints[g] = self.route[2][g]
        p.next_wp[g], p.advanced[g] = int(self.saved[g, 0]), self.saved[g, 1]
        self.detour[g] = False

    def order_teams(self, actions: np.ndarray) -> None:
        """Apply one ``(n, 3)`` row of option indices per controlled drone team."""
        d = self.state.drones
        for i, slot in enumerate(self.teams):
            row, old = actions[i], self.team_orders[slot]
            if row[1] == WEIGHTED and not self.weighted_ok[slot]:
                row = np.array([row[0], old[1], old[2]])  # impossible: ignored
            if row[0] != old[0]:
                d.active_until[slot] = self.state.step if row[0] == 1 else self.active_until0[slot]
            if row[1] != old[1]:
                d.policy[slot] = row[1]
            old[:2] = row[:2]  # the link is the team's airframe's: nothing to switch

    # ------------------------------------------------------------------ time
    def advance(self) -> tuple[dict[str, float], dict[str, bool], bool]:
        """Run one decision interval; returns rewards and terminations by agent, truncation."""
        sim, total = self.sim, self.scenario.steps
        for _ in range(self.every):
            if self.state.step >= total:
                break
            sim.step()
        p = self.state.platoons
        if self.detour.any():  # a detour covers no route: pin its progress
            p.advanced[self.detour] = self.saved[self.detour, 1]
        now = self._tally()
        prev, self.prev = self.prev, now
        w = self.cfg.reward
        lost = now["lost"] - prev["lost"]
        self.last_casualty[lost > 0] = self.state.step
        side_lost = now["side_lost"] - prev["side_lost"]
        downs = now["downs"] - prev["downs"]
        shots = now["shots"] - prev["shots"]
        shot_down = now["shot_down"] - prev["shot_down"]
        att, dfd = SIDES.index("attacker"), SIDES.index("defender")
        rewards, terms = {}, {}
        n_p, n_t = max(self.platoons.size, 1), max(self.teams.size, 1)
        s = self.state.soldiers
        healthy = np.bincount(s.platoon[s.status == HEALTHY], minlength=self.G)
        for g in self.platoons:
            rewards[f"platoon_{g}"] = float(
                w.progress * (now["progress"][g] - prev["progress"][g])
                + w.own_casualties * lost[g]
                + (w.enemy_casualties * side_lost[dfd] + w.drones_downed * downs[att]
                   + w.ammunition * shots[att]) / n_p)
            terms[f"platoon_{g}"] = bool(healthy[g] == 0 or p.broken[g])
        d = self.state.drones
        for slot in self.teams:
            rewards[f"team_{slot}"] = float(
                (w.enemy_casualties * side_lost[att] + w.own_casualties * side_lost[dfd]
                 - w.drones_downed * shot_down[dfd]) / n_t)
            terms[f"team_{slot}"] = bool(d.inventory[slot] == 0 and d.state[slot] == IDLE)
        return rewards, terms, self.state.step >= total

    def finish(self):
        """Run the remaining steps with the standing orders and return the ``Result``."""
        sim = self.sim
        total = self.scenario.steps
        while self.state.step < total:
            sim.step()
        for g in np.flatnonzero(self.detour):
            p = self.state.platoons
            p.advanced[g] = self.saved[g, 1]
        return sim.result()
