"""The engine side of the learning environments: actions, observations and rewards.

:class:`Engagement` wraps one :class:`~dronefront.engine.sim.Sim` and knows nothing of
PettingZoo or Gymnasium. Agents are the attacker's platoons (``platoon_<g>``) and, when
asked, the defender's drone teams (``team_<slot>``) and the controlled sides' artillery
batteries (``battery_<b>``). An order is written into the state's columns only when it
differs from the agent's standing order, so a policy that repeats the doctrine leaves the
run bit-identical to ``Sim.run`` (docs/rl.md, "Determinism").

>>> from dronefront.scenario.loader import load_scenario
>>> e = Engagement(load_scenario("kursk-assault", ["duration=60"]), seed=1)
>>> e.agents[:2], e.observe().shape
(['platoon_0', 'platoon_1'], (4, 16))
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

from dronefront.engine.sim import Sim
from dronefront.engine.state import (
    A_DECOY,
    A_ENGAGE,
    BATTERY_HOLD,
    BATTERY_RULE,
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
#: A battery's one head, ``fire``: these options, then one per enemy platoon
#: (``platoon_<g>``: that platoon's track only).
BATTERY_OPTIONS = ("rule", "hold")
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
#: A battery's own features, then ``TRACK_FEATURES`` for each enemy platoon in turn.
BATTERY_FEATURES = ("rounds", "busy", "ready_in", "holding", "by_rule", "time_left")
#: What a battery knows of one enemy platoon's track.
TRACK_FEATURES = ("fresh", "size", "distance", "age", "covered", "ordered")
SINCE_SCALE = 300.0  # s: "time since the last casualty" saturates at 1 after this
READY_SCALE = 300.0  # s: a battery's "ready in" saturates at 1 after this
KINDS = ("platoon", "team", "battery")


def _sizes(heads: dict[str, tuple[str, ...]]) -> np.ndarray:
    return np.array([len(v) for v in heads.values()], np.int64)


PLATOON_NVEC = _sizes(PLATOON_HEADS)
TEAM_NVEC = _sizes(TEAM_HEADS)


@nb.njit(cache=True)
def _nearest_cover(cells, before, after, sat, x0, y0, cell, r, ax, ay):  # pragma: no cover
    """Centre of the nearest cover cell within ``r`` of each anchor (found, x, y), among the
    cells of the anchor's square window; of equal distances the first in row-major order.

    Rows are visited outwards from the anchor's and skipped once their offset alone exceeds
    ``r`` or the best distance so far. Within a row the distance grows with the column's
    offset on each side of the anchor, so only three cells can win: the anchor's column
    and the nearest cover column on either side of it (``before`` / ``after``: the last
    cover column at or before, the first at or after, each cell). A window without cover
    (``sat``, its summed-area table) is answered at once. Ties compare (row, column), so
    the answer is the scan over every cell of the window's, to the bit."""
    ny, nx = cells.shape
    n = ax.shape[0]
    found = np.zeros(n, np.bool_)
    out_x = np.zeros(n)
    out_y = np.zeros(n)
    for k in range(n):
        c0 = max(np.int64((ax[k] - r - x0) // cell), 0)
        c1 = min(np.int64((ax[k] + r - x0) // cell) + 1, nx)
        r0 = max(np.int64((ay[k] - r - y0) // cell), 0)
        r1 = min(np.int64((ay[k] + r - y0) // cell) + 1, ny)
        if c0 >= c1 or r0 >= r1:
            continue
        if sat[r1, c1] - sat[r0, c1] - sat[r1, c0] + sat[r0, c0] == 0:
            continue  # no cover in the window
        best, brow, bcol = np.inf, -1, -1
        mid_r = min(max(np.int64((ay[k] - y0) // cell), r0), r1 - 1)
        mid_c = min(max(np.int64((ax[k] - x0) // cell), c0), c1 - 1)
        for step in range(2 * (r1 - r0)):
            row = mid_r + (step + 1) // 2 if step % 2 else mid_r - step // 2
            if row < r0 or row >= r1:
                continue
            y = y0 + (row + 0.5) * cell
            dy = abs(y - ay[k])
            if dy > r or dy > best:
                continue
            for j in range(3):
                if j == 0:
                    col = mid_c if cells[row, mid_c] else -1
                elif j == 1:
                    col = before[row, mid_c - 1] if mid_c > 0 else -1
                else:
                    col = after[row, mid_c + 1] if mid_c + 1 < nx else nx
                if col < c0 or col >= c1:
                    continue
                x = x0 + (col + 0.5) * cell
                if abs(x - ax[k]) > best or abs(x - ax[k]) > r:
                    continue
                d = np.hypot(x - ax[k], y - ay[k])
                if d < best or (d == best and (row < brow or (row == brow and col < bcol))):
                    best, brow, bcol = d, row, col
                    out_x[k], out_y[k] = x, y
        found[k] = best <= r
    return found, out_x, out_y


class CoverIndex:
    """Where the terrain's cover cells (cover ``>= cover_min``) are, indexed once per
    terrain so :meth:`search` answers "nearest cover within ``radius``" in a few cell
    reads per raster row of the window.

    >>> from dronefront.scenario.loader import load_scenario
    >>> from dronefront.engine.terrain import rasterize
    >>> t = rasterize(load_scenario("kursk-assault").terrain)
    >>> found, x, y = CoverIndex(t, 0.3, 200.0).search(np.array([-90.0]), np.array([600.0]))
    >>> bool(found[0]), float(x[0]), float(y[0])  # of two cells as near, the left one
    (True, -95.0, 685.0)
    """

    def __init__(self, terrain: Any, cover_min: float, radius: float) -> None:
        self.cells = cells = np.ascontiguousarray(terrain.cover[terrain.grid] >= cover_min)
        ny, nx = cells.shape
        cols = np.arange(nx, dtype=np.int64)
        self.before = np.maximum.accumulate(np.where(cells, cols, -1), axis=1)
        self.after = np.ascontiguousarray(
            np.minimum.accumulate(np.where(cells, cols, nx)[:, ::-1], axis=1)[:, ::-1])
        self.sat = np.zeros((ny + 1, nx + 1), np.int64)
        self.sat[1:, 1:] = cells.cumsum(axis=0, dtype=np.int64).cumsum(axis=1)
        self.x0, self.y0 = float(terrain.x0), float(terrain.y0)
        self.cell, self.radius = float(terrain.cell), float(radius)

    def search(self, ax: np.ndarray, ay: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
        """(found, x, y) for anchors ``(ax, ay)`` (1-D float arrays): the nearest cover
        cell's centre within ``radius``, the first in row-major order among equals (x and y
        are 0 where the anchor's square window holds no cover)."""
        return _nearest_cover(self.cells, self.before, self.after, self.sat, self.x0,
                              self.y0, self.cell, self.radius,
                              np.ascontiguousarray(ax, np.float64),
                              np.ascontiguousarray(ay, np.float64))


class Engagement:
    """One engagement driven by orders every ``decision_interval`` simulated seconds.

    ``control`` names who is an agent: ``"attacker"`` (its platoons), ``"defender"`` (its
    drone teams) or ``"both"``; with ``batteries`` the controlled sides' artillery
    batteries are agents too. The rest follow the scenario's doctrine. With ``record`` every
    order is kept (:meth:`actions_table`) so the run can be written and replayed
    (:meth:`write_run`); ``record`` implies ``events``. ``sim``: run over this ``Sim`` at
    step 0 of ``seed`` instead of a new one (an ensemble's replicate). ``layout``: the
    scenario-only part of another engagement of the same scenario and keywords
    (``self.layout``), shared instead of derived again.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, *, control: str = "attacker",
                 decision_interval: float | None = None, events: bool = False,
                 batteries: bool = False, record: bool = False, sim: Sim | None = None,
                 layout: dict[str, Any] | None = None) -> None:
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
        self.with_batteries = bool(batteries)
        self.record = bool(record)
        self.events = events or self.record
        #: what :meth:`reset` derives from the scenario alone (kept across resets unless a
        #: lessons file may field other platoons or doctrines by seed)
        self.layout = layout
        self.reset(seed, sim)

    # ------------------------------------------------------------------ set-up
    def reset(self, seed: int, sim: Sim | None = None) -> None:
        """Start again from step 0 with ``seed``: a fresh ``Sim``, or ``sim``, one at step 0
        of ``seed`` built elsewhere (an ensemble's replicate, ``dronefront.rl.vector``)."""
        self.seed = seed
        self.sim = Sim(self.scenario, seed=seed, events=self.events) if sim is None else sim
        st = self.sim.state
        p, s, d, b = st.platoons, st.soldiers, st.drones, st.batteries
        self.state = st
        if self.layout is None or self.scenario.lessons is not None:
            self.layout = self._layout(st)
        self.__dict__.update(self.layout)
        # By name: optional stages (layers) shift positions in STAGE_NAMES' order.
        self.cd = next(st for st in self.sim.stages if st.name == "counterdrone")
        self.spotter0 = s.role == SPOTTER
        self.ox0, self.oy0 = s.ox.copy(), s.oy.copy()
        self.orders = np.zeros((self.G, len(PLATOON_NVEC)), np.int64)
        self.orders[:, 1] = self.spacing0
        off = st.drill.offset
        self.orders[:, 3] = np.where(off[:, A_DECOY] >= 0, 2, np.where(off[:, A_ENGAGE] >= 0,
                                                                        1, 0))
        self.doctrine_spotters = np.bincount(s.platoon[self.spotter0], minlength=self.G)
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
        # batteries: option 0 the engine's rule, 1 hold, 2 + j the j-th enemy platoon
        self.battery_orders = np.zeros(b.n, np.int64)
        self.rounds0 = np.maximum(b.rounds, 1)
        self.cover_memo: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.last_casualty = np.full(self.G, -NEVER // 2, np.int64)
        self.live = {a: True for a in self.agents}
        self.log: list[tuple[int, str, list[str], np.ndarray]] = []
        self.prev = self._tally()

    def _layout(self, st: Any) -> dict[str, Any]:
        """What ``reset`` needs that depends on the scenario only: agents, each platoon's
        soldiers, doctrine constants, the cover index."""
        p, s, d, b = st.platoons, st.soldiers, st.drones, st.batteries
        G, M = p.n, d.side.shape[0]
        routed = p.side == SIDES.index("attacker")
        platoons = np.flatnonzero(routed) if self.control != "defender" else np.zeros(0, int)
        teams = (np.flatnonzero(d.side == SIDES.index("defender"))
                 if self.control != "attacker" else np.zeros(0, int))
        sides = {"attacker": (0,), "defender": (1,), "both": (0, 1)}[self.control]
        batteries = (np.flatnonzero(np.isin(b.side, sides)) if self.with_batteries
                     else np.zeros(0, int))
        agents = ([f"platoon_{g}" for g in platoons] + [f"team_{i}" for i in teams]
                  + [f"battery_{i}" for i in batteries])
        if not agents:
            raise UserError(f"{self.scenario.name} has no {self.control} agents "
                            "(attacker platoons, defender drone teams or batteries)",
                            field="control")
        # soldiers of each platoon, in index order (orders touch one platoon at a time)
        order = np.argsort(s.platoon, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(s.platoon, minlength=G))[:-1])
        doctrine_spacing = np.ones(G)
        units = [u for name in SIDES for u in getattr(self.scenario.sides, name).units]
        engage_delay = np.zeros(G, np.int64)  # decoy-and-shoot: fire one interval on
        for u, unit in enumerate(units):
            doctrine_spacing[p.unit == u] = unit.doctrine.spacing
            engage_delay[p.unit == u] = round(unit.doctrine.drill_interval / st.dt)
        spacings = np.asarray(self.cfg.spacings, float)
        return {
            "G": G, "M": M, "platoons": platoons, "teams": teams, "batteries": batteries,
            "agents": agents,
            "names": {kind: [a for a in agents if a.startswith(kind + "_")] for kind in KINDS},
            "members": members, "doctrine_spacing": doctrine_spacing,
            "engage_delay": engage_delay, "spacings": spacings,
            "spacing0": np.abs(spacings[None, :] - doctrine_spacing[:, None]).argmin(1),
            "enemies": [np.flatnonzero(p.side != b.side[i]) for i in range(b.n)],
            "cover": CoverIndex(st.terrain, self.cfg.cover_min, self.cfg.cover_radius),
            "strength": np.maximum(p.strength, 1),
            "side_n": np.array([(s.side == k).sum() for k in range(2)]),
        }

    def battery_nvec(self, i: int) -> np.ndarray:
        """The ``MultiDiscrete`` sizes of battery ``i`` (one head: rule, hold, enemy tracks)."""
        return np.array([len(BATTERY_OPTIONS) + self.enemies[i].size], np.int64)

    def battery_features(self, i: int) -> tuple[str, ...]:
        """The observation columns of battery ``i``."""
        return BATTERY_FEATURES + tuple(f"platoon_{g}.{f}" for g in self.enemies[i]
                                        for f in TRACK_FEATURES)

    def option_names(self, kind: str, i: int = 0) -> list[tuple[str, tuple[str, ...]]]:
        """``(head, options)`` of an agent kind (a battery's options depend on ``i``)."""
        if kind == "platoon":
            return list(PLATOON_HEADS.items())
        if kind == "team":
            return list(TEAM_HEADS.items())
        return [("fire", BATTERY_OPTIONS + tuple(f"platoon_{g}" for g in self.enemies[i]))]

    def _covers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest cover of every platoon's anchor this step: (found, x, y) by platoon."""
        step = self.state.step
        memo = self.cover_memo
        if memo is None or memo[0] != step:
            p = self.state.platoons
            memo = (step, *self.cover.search(p.ax, p.ay))
            self.cover_memo = memo
        return memo[1], memo[2], memo[3]

    def nearest_cover(self, g: int) -> tuple[float, float] | None:
        """Centre of the nearest cell with cover ``>= cover_min`` within ``cover_radius`` of
        platoon ``g``'s anchor."""
        found, x, y = self._covers()
        return (float(x[g]), float(y[g])) if found[g] else None

    # ------------------------------------------------------------------ tallies
    def _tally(self) -> dict[str, Any]:
        st, s = self.state, self.state.soldiers
        p = st.platoons
        counts = np.bincount(s.platoon * 3 + s.status, minlength=3 * self.G).reshape(self.G, 3)
        lost = counts[:, 1] + counts[:, 2]
        return {
            "step": st.step,
            "healthy": counts[:, HEALTHY],
            "wounded": counts[:, WOUNDED],
            "lost": lost,
            "side_lost": np.bincount(p.side, weights=lost, minlength=2).astype(np.int64),
            "progress": np.minimum(p.advanced, p.route_length) / np.maximum(p.route_length, 1e-9),
            "downs": st.arms.downs.sum(axis=1),
            "shots": st.counters.shots.copy(),
            "shot_down": st.counters.fates[:, :, 2].sum(axis=1),
            "fired": st.batteries.fired.copy(),
        }

    def _now(self) -> dict[str, Any]:
        """This step's tallies (those of the last decision unless the state moved since)."""
        if self.prev["step"] != self.state.step:
            self.prev = self._tally()
        return self.prev

    # ------------------------------------------------------------------ observations
    def observe(self) -> np.ndarray:
        """Platoon observations, one row per controlled platoon (``PLATOON_FEATURES``)."""
        st, p, d = self.state, self.state.platoons, self.state.drones
        gs = self.platoons
        out = np.zeros((gs.size, len(PLATOON_FEATURES)), np.float32)
        if gs.size == 0:
            return out
        now = self._now()
        strength = self.strength[gs]
        side_share = now["healthy"][gs] / strength
        ax, ay = p.ax[gs], p.ay[gs]
        flying = np.flatnonzero((d.state == FLYING) & (d.side != p.side[gs[0]]))
        radius = self.cfg.sight_radius
        if flying.size:
            dist = np.hypot(d.x[flying][None, :] - ax[:, None], d.y[flying][None, :] - ay[:, None])
            out[:, 6] = np.minimum((dist <= radius).sum(axis=1) / 4.0, 1.0)
            out[:, 7] = np.minimum(dist.min(axis=1) / radius, 1.0)
        else:
            out[:, 7] = 1.0
        t = st.terrain
        if st.contacts.size:
            contact = np.zeros(self.G, bool)
            contact[st.contacts % max(self.G, 1)] = True
            out[:, 11] = contact[gs]
        neighbours = ((side_share.sum() - side_share) / max(gs.size - 1, 1)
                      if gs.size > 1 else side_share)
        orders = self.orders[gs]
        out[:, 0] = side_share
        out[:, 1] = now["wounded"][gs] / strength
        out[:, 2] = self.spacings[orders[:, 1]] / self.spacings.max()
        out[:, 3] = p.shaken[gs] / strength
        out[:, 4] = 1.0 - now["progress"][gs]
        out[:, 5] = t.cover[t.lookup(ax, ay)]
        out[:, 8] = np.minimum((st.step - self.last_casualty[gs]) * st.dt / SINCE_SCALE, 1.0)
        out[:, 9] = neighbours
        out[:, 10] = 1.0 - st.step / self.scenario.steps
        out[:, 12] = orders[:, 0] == 1
        out[:, 13] = orders[:, 2] == 1
        out[:, 14] = orders[:, 3] > 0
        out[:, 15] = orders[:, 4] == 1
        return out

    def observe_teams(self) -> np.ndarray:
        """Drone-team observations, one row per controlled team (``TEAM_FEATURES``)."""
        st, d, p = self.state, self.state.drones, self.state.platoons
        ts = self.teams
        out = np.zeros((ts.size, len(TEAM_FEATURES)), np.float32)
        if ts.size == 0:
            return out
        enemy = SIDES.index("attacker")
        tracks = st.tracks
        fresh = (tracks.n[1] > 0) & (st.step - tracks.step[1] <= st.track_ttl[1])
        attackers = p.side == enemy
        now = self._now()
        healthy = now["healthy"][attackers].sum()
        prog = now["progress"][attackers]
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

    def _track_table(self, i: int) -> tuple[np.ndarray, ...]:
        """Battery ``i``'s view of its enemy platoons' tracks: (fresh, legal target, size
        share, distance / range, age / lifetime, covered by a mission)."""
        st, b, tr = self.state, self.state.batteries, self.state.tracks
        side, gs = int(b.side[i]), self.enemies[i]
        n, seen = tr.n[side, gs], tr.step[side, gs]
        ttl = st.track_ttl[side]
        fresh = (n > 0) & (st.step - seen <= ttl)
        dist = np.hypot(tr.x[side, gs] - b.x[i], tr.y[side, gs] - b.y[i])
        legal = fresh & (n >= b.min_group[i]) & (dist <= b.max_range[i])
        age = np.where(n > 0, (st.step - seen) / max(ttl, 1.0), 1.0)
        return (fresh, legal, n / self.strength[gs], dist / b.max_range[i], age,
                tr.engaged_until[side, gs] >= st.step)

    def observe_batteries(self) -> list[np.ndarray]:
        """Battery observations, one array per controlled battery (``battery_features``)."""
        st, b = self.state, self.state.batteries
        out = []
        for i in self.batteries:
            fresh, _, size, dist, age, covered = self._track_table(i)
            row = np.zeros(len(BATTERY_FEATURES) + fresh.size * len(TRACK_FEATURES), np.float32)
            busy = b.mission_left[i] > 0
            left = (b.next_round_time[i] + (b.mission_left[i] - 1) * b.interval[i]
                    - st.step * st.dt) if busy else 0.0
            o = self.battery_orders[i]
            row[0] = b.rounds[i] / self.rounds0[i]
            row[1] = busy
            row[2] = min(max(left, 0.0) / READY_SCALE, 1.0)
            row[3] = o == 1
            row[4] = o == 0
            row[5] = 1.0 - st.step / self.scenario.steps
            k = len(TRACK_FEATURES)
            tracks = row[len(BATTERY_FEATURES):].reshape(-1, k)
            tracks[:, 0] = fresh
            tracks[:, 1] = np.minimum(size, 1.0)
            tracks[:, 2] = np.minimum(dist, 1.0)
            tracks[:, 3] = np.minimum(age, 1.0)
            tracks[:, 4] = covered
            if o >= len(BATTERY_OPTIONS):
                tracks[o - len(BATTERY_OPTIONS), 5] = 1.0
            out.append(row)
        return out

    def state_vector(self) -> np.ndarray:
        """A global view for centralised critics: every attacker platoon's features and every
        defender team's (controlled or not), flattened, then the controlled batteries'."""
        keep_p, keep_t = self.platoons, self.teams
        self.platoons = np.flatnonzero(self.state.platoons.side == SIDES.index("attacker"))
        self.teams = np.flatnonzero(self.state.drones.side == SIDES.index("defender"))
        try:
            return np.concatenate([self.observe().ravel(), self.observe_teams().ravel(),
                                   *self.observe_batteries()])
        finally:
            self.platoons, self.teams = keep_p, keep_t

    # ------------------------------------------------------------------ masks
    def platoon_masks(self) -> np.ndarray:
        """Allowed options per controlled platoon: bool ``(n, sum(PLATOON_NVEC))``."""
        gs = self.platoons
        mask = np.ones((gs.size, int(PLATOON_NVEC.sum())), bool)
        if gs.size == 0:
            return mask
        mask[:, 3] = self._covers()[0][gs]
        no_route = self.route[2][gs] == 0  # no route: nowhere to advance or fall back to
        mask[no_route, 0] = mask[no_route, 2] = False
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

    def battery_masks(self) -> list[np.ndarray]:
        """Allowed options per controlled battery: the rule and hold always, an enemy
        platoon while its track is fresh, at least ``min_group`` strong and in range."""
        return [np.concatenate([np.ones(len(BATTERY_OPTIONS), bool), self._track_table(i)[1]])
                for i in self.batteries]

    # ------------------------------------------------------------------ orders
    def doctrine_actions(self) -> np.ndarray:
        """The standing orders of every controlled platoon (the doctrine at the start)."""
        return self.orders[self.platoons].copy()

    def _keep(self, kind: str, actions: np.ndarray) -> None:
        if self.record:
            self.log.append((self.state.step, kind, self.names[kind],
                             np.array(actions, np.int64, copy=True)))

    def order_platoons(self, actions: np.ndarray) -> None:
        """Apply one ``(n, 5)`` row of option indices per controlled platoon."""
        actions = np.asarray(actions)
        self._keep("platoon", actions)
        gs = self.platoons
        changed = np.argwhere(actions[:, :len(PLATOON_NVEC)] != self.orders[gs])
        for i, head in changed.tolist():
            g = int(gs[i])
            new, old = int(actions[i, head]), int(self.orders[g, head])
            if self._allowed(g, head, new):
                self._apply(g, head, old, new)
                self.orders[g, head] = new

    def _allowed(self, g: int, head: int, new: int) -> bool:
        """Whether an order is possible (``platoon_masks``); an impossible one is ignored."""
        if head == 0:
            if new in (0, 2) and self.route[2][g] == 0:
                return False
            if new == 3:
                return bool(self._covers()[0][g])
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
            mine = self.members[g]
            s.ox[mine] = self.ox0[mine] * scale
            s.oy[mine] = self.oy0[mine] * scale
        elif head == 2:
            p.grounded_until[g] = NEVER if new == 1 else step
        elif head == 3:
            off = st.drill.offset
            off[g, A_ENGAGE] = -1 if new == 0 else (self.engage_delay[g] if new == 2 else 0)
            off[g, A_DECOY] = 0 if new == 2 else -1
            self.cd.reacts[g] = (off[g, 0] >= 0 or off[g, 1] >= 0 or off[g, 2] >= 0
                                 or off[g, A_DECOY] >= 0)
            if new == 0:
                st.drill.engage_from[g] = NEVER
            else:
                if self.doctrine_shooters[g] == 0:
                    self._arm(g)
                in_contact = st.contacts.size and (st.contacts % max(self.G, 1) == g).any()
                if in_contact:
                    st.drill.engage_from[g] = min(st.drill.engage_from[g], step)
        elif head == 4 and self.doctrine_spotters[g] == 0:
            mine = self.members[g]
            mine = mine[((s.role[mine] == RIFLEMAN) | (s.role[mine] == SPOTTER))
                        & ~s.shoots[mine]][:self.cfg.spotters]
            s.role[mine] = SPOTTER if new == 1 else RIFLEMAN
        elif head == 4:
            mine = self.members[g]
            mine = mine[self.spotter0[mine]]
            s.role[mine] = SPOTTER if new == 1 else RIFLEMAN

    def _arm(self, g: int) -> None:
        """Designate ``rl.shooters`` riflemen of platoon ``g`` (once) when it has none."""
        s = self.state.soldiers
        mine = self.members[g]
        if s.shoots[mine].any():
            return
        mine = mine[s.role[mine] == RIFLEMAN][:self.cfg.shooters]
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
        self._keep("team", actions)
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

    def order_batteries(self, actions: np.ndarray) -> None:
        """Apply one ``fire`` option per controlled battery (``(n,)`` or ``(n, 1)``): 0 the
        engine's rule, 1 hold fire, ``2 + j`` only the track of the battery's ``j``-th enemy
        platoon (masked, so ignored, unless that track is usable now)."""
        actions = np.asarray(actions, np.int64).reshape(self.batteries.size)
        self._keep("battery", actions[:, None])
        b = self.state.batteries
        k = len(BATTERY_OPTIONS)
        for i, new in zip(self.batteries.tolist(), actions.tolist(), strict=True):
            if new == self.battery_orders[i] or not 0 <= new < k + self.enemies[i].size:
                continue
            if new >= k and not self._track_table(i)[1][new - k]:
                continue  # not a usable target now: ignored
            b.order[i] = (BATTERY_RULE if new == 0 else BATTERY_HOLD if new == 1
                          else self.enemies[i][new - k])
            self.state.order_epoch += 1  # wakes the artillery stage's memo
            self.battery_orders[i] = new

    def apply(self, kind: str, actions: np.ndarray) -> None:
        """Apply one decision's rows for agents of ``kind`` (``platoon``, ``team`` or
        ``battery``)."""
        {"platoon": self.order_platoons, "team": self.order_teams,
         "battery": self.order_batteries}[kind](actions)

    # ------------------------------------------------------------------ time
    def _pin(self) -> None:
        """A detour covers no route: pin its progress (after each decision interval)."""
        if self.detour.any():
            self.state.platoons.advanced[self.detour] = self.saved[self.detour, 1]

    def advance(self) -> tuple[dict[str, float], dict[str, bool], bool]:
        """Run one decision interval; returns rewards and terminations by agent, truncation."""
        sim, total = self.sim, self.scenario.steps
        for _ in range(self.every):
            if self.state.step >= total:
                break
            sim.step()
        return self.settle()

    def settle(self) -> tuple[dict[str, float], dict[str, bool], bool]:
        """After a decision interval's steps (``advance``, or an ensemble's): pin detours,
        then rewards and terminations by agent, and truncation."""
        total = self.scenario.steps
        self._pin()
        now = self._tally()
        prev, self.prev = self.prev, now
        w = self.cfg.reward
        lost = now["lost"] - prev["lost"]
        self.last_casualty[lost > 0] = self.state.step
        side_lost = now["side_lost"] - prev["side_lost"]
        att, dfd = SIDES.index("attacker"), SIDES.index("defender")
        gs, ts, bs = self.platoons, self.teams, self.batteries
        p = self.state.platoons
        out_r: list[float] = []
        out_t: list[bool] = []
        if gs.size:
            downs = now["downs"][att] - prev["downs"][att]
            shots = now["shots"][att] - prev["shots"][att]
            shared = (w.enemy_casualties * side_lost[dfd] + w.drones_downed * downs
                      + w.ammunition * shots) / gs.size
            r = (w.progress * (now["progress"][gs] - prev["progress"][gs])
                 + w.own_casualties * lost[gs] + shared)
            out_r += r.tolist()
            out_t += ((now["healthy"][gs] == 0) | p.broken[gs]).tolist()
        if ts.size:
            d = self.state.drones
            shot_down = now["shot_down"][dfd] - prev["shot_down"][dfd]
            r = (w.enemy_casualties * side_lost[att] + w.own_casualties * side_lost[dfd]
                 - w.drones_downed * shot_down) / ts.size
            out_r += [float(r)] * ts.size
            out_t += ((d.inventory[ts] == 0) & (d.state[ts] == IDLE)).tolist()
        if bs.size:
            b = self.state.batteries
            side = b.side[bs]
            n_side = np.bincount(side, minlength=2)[side]
            r = ((w.enemy_casualties * side_lost[1 - side] + w.own_casualties * side_lost[side])
                 / n_side + w.shells * (now["fired"][bs] - prev["fired"][bs]))
            out_r += r.tolist()
            out_t += ((b.rounds[bs] == 0) & (b.mission_left[bs] == 0)).tolist()
        agents = self.agents
        return (dict(zip(agents, out_r, strict=True)), dict(zip(agents, out_t, strict=True)),
                self.state.step >= total)

    def finish(self):
        """Run the remaining steps with the standing orders and return the ``Result``."""
        sim, total = self.sim, self.scenario.steps
        while self.state.step < total:
            sim.step()
            if self.state.step % self.every == 0 or self.state.step == total:
                self._pin()  # where advance() would
        return sim.result()

    # ------------------------------------------------------------------ recording
    def actions_table(self):
        """The orders given so far (with ``record``): one row per agent and decision, a
        ``step``, ``time`` (s), ``decision`` (running count), ``agent`` column, then one
        column per action head (the option's name; null where not the agent's head)."""
        import pyarrow as pa

        heads = [*PLATOON_HEADS, *TEAM_HEADS, "fire"]
        cols: dict[str, list] = {k: [] for k in ("step", "time", "decision", "agent", *heads)}
        dt = self.state.dt
        for n, (step, kind, names, rows) in enumerate(self.log):
            for name, row in zip(names, rows.tolist(), strict=True):
                i = int(name.rsplit("_", 1)[1])
                options = dict(self.option_names(kind, i))
                cols["step"].append(step)
                cols["time"].append(step * dt)
                cols["decision"].append(n)
                cols["agent"].append(name)
                for h in heads:
                    if h in options:
                        k = row[list(options).index(h)]
                        cols[h].append(options[h][k] if 0 <= k < len(options[h]) else str(k))
                    else:
                        cols[h].append(None)
        types = {"step": pa.int64(), "time": pa.float64(), "decision": pa.int64()}
        return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in cols.items()})

    def played_by(self, policy: str) -> dict[str, Any]:
        """The manifest entry of a policy-played run."""
        return {"policy": str(policy), "control": self.control,
                "batteries": self.with_batteries, "decision_every": self.every,
                "actions": ACTIONS_FILE}

    def write_run(self, out: Any, *, policy: str = "unnamed", force: bool = False):
        """Finish the run on the standing orders and write it as a run folder (the files of
        ``dronefront run`` plus ``actions.parquet``, the manifest's ``played_by`` naming the
        policy), which ``dronefront replay`` re-plays with the recorded orders. Needs
        ``record``. Returns the ``Result``."""
        if not self.record:
            raise UserError("this engagement kept no orders: create it with record=True",
                            field="record")
        result = self.finish()
        result.write(out, force=force, extra={"played_by": self.played_by(policy)},
                     tables={ACTIONS_FILE: self.actions_table()})
        return result


#: The actions table of a policy-played run folder.
ACTIONS_FILE = "actions.parquet"


class Replayer:
    """A ``Sim`` stand-in that replays a recorded engagement's orders at their steps (for
    :func:`dronefront.viz.record.record_run`): ``state``, ``step()`` and ``result()``."""

    def __init__(self, engagement: Engagement, table: Any) -> None:
        self.engagement = e = engagement
        self.state = e.state
        self.decisions: dict[int, list[tuple[str, np.ndarray]]] = {}
        rows = table.to_pylist()
        by_decision: dict[int, list[dict]] = {}
        for row in rows:
            by_decision.setdefault(int(row["decision"]), []).append(row)
        for n in sorted(by_decision):
            group = by_decision[n]
            kind = str(group[0]["agent"]).rsplit("_", 1)[0]
            if kind not in KINDS or any(str(r["agent"]) != a for r, a in
                                        zip(group, e.names[kind], strict=False)) \
                    or len(group) != len(e.names[kind]):
                raise UserError(f"decision {n}: its agents are not this engagement's {kind}s",
                                field=ACTIONS_FILE)
            acts = []
            for r in group:
                i = int(str(r["agent"]).rsplit("_", 1)[1])
                row = []
                for head, options in e.option_names(kind, i):
                    if r.get(head) not in options:
                        raise UserError(f"decision {n}, {r['agent']}: {head} must be one of "
                                        f"{', '.join(options)}", field=ACTIONS_FILE)
                    row.append(options.index(r[head]))
                acts.append(row)
            self.decisions.setdefault(int(group[0]["step"]), []).append(
                (kind, np.array(acts, np.int64)))

    def step(self) -> None:
        e = self.engagement
        for kind, acts in self.decisions.get(self.state.step, ()):
            e.apply(kind, acts)
        e.sim.step()
        if self.state.step % e.every == 0 or self.state.step == e.scenario.steps:
            e._pin()

    def result(self):
        return self.engagement.sim.result()
