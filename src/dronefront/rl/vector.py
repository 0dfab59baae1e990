"""Many copies of one engagement over one ensemble: the engine of ``DronefrontVectorEnv``.

:class:`VectorEngagement` runs ``R`` copies of a scenario as the replicates of one
:class:`~dronefront.engine.ensemble.Ensemble`, each with its own
:class:`~dronefront.rl.core.Engagement` (its per-copy bookkeeping), and, for the attacker's
platoons (the default single agent), works over the ensemble's stacked arrays for all
copies at once: order differences, the orders themselves, observations, masks, tallies and
rewards are NumPy expressions over ``(R, ...)`` arrays. Every expression is the one
``Engagement`` evaluates for one copy, in the same order, so copy ``r`` with seed ``s`` and
the same actions follows the trajectory of ``DronefrontEnv`` with that seed, to the bit
(``tests/rl/test_vector.py``). Other agent kinds (drone teams, batteries) and recording use
each copy's ``Engagement`` methods (still stepped by the ensemble).

>>> from dronefront.scenario.loader import load_scenario
>>> v = VectorEngagement(load_scenario("kursk-assault", ["duration=60"]), 3)
>>> v.reset_copy(0, 1); v.reset_copy(1, 2); v.reset_copy(2, 3)
>>> v.observe().shape, v.masks().shape
((3, 4, 16), (3, 4, 14))
"""

from __future__ import annotations

import numba as nb
import numpy as np

from dronefront.engine.batch import stacked
from dronefront.engine.ensemble import Ensemble
from dronefront.engine.state import (
    A_DECOY,
    A_ENGAGE,
    FLYING,
    HEALTHY,
    NEVER,
    RIFLEMAN,
    SHOOTER,
    SPOTTER,
    WOUNDED,
)
from dronefront.rl.core import (
    PLATOON_FEATURES,
    PLATOON_NVEC,
    SINCE_SCALE,
    Engagement,
)
from dronefront.scenario.models import SIDES, Scenario

#: Columns the vectorised platoon path reads or writes: (table, column).
_COLUMNS = (("platoons", "ax"), ("platoons", "ay"), ("platoons", "advanced"),
            ("platoons", "route_length"), ("platoons", "broken"), ("platoons", "shaken"),
            ("platoons", "frozen_until"), ("platoons", "grounded_until"),
            ("platoons", "route_x"), ("platoons", "route_y"), ("platoons", "n_waypoints"),
            ("platoons", "next_wp"), ("platoons", "rally_x"), ("platoons", "rally_y"),
            ("soldiers", "status"), ("soldiers", "ox"), ("soldiers", "oy"),
            ("soldiers", "role"), ("soldiers", "shoots"), ("drones", "state"),
            ("drones", "x"), ("drones", "y"),
            ("drones", "side"), ("arms", "downs"), ("counters", "shots"),
            ("drill", "offset"), ("drill", "engage_from"))
#: Per-copy ``Engagement`` arrays kept as rows of one stacked array here (name: dtype).
_KEPT = {"orders": np.int64, "last_casualty": np.int64, "detour": bool, "saved": np.float64}
#: ``VectorEngagement.now``'s arrays in the order ``_tally_rows`` fills them.
_NOW = ("healthy", "wounded", "lost", "side_lost", "progress", "downs", "shots")
#: Per-copy constants of ``Engagement`` copied into stacked arrays at each reset.
_CONSTANTS = ("doctrine_spacing", "engage_delay", "doctrine_shooters", "doctrine_spotters",
              "strength", "spotter0", "ox0", "oy0")


@nb.njit(cache=True)
def _order_rows(acts, live, gs, orders, plat, route0, sol, drill, const, look,
                reacts, flips):  # pragma: no cover
    """``Engagement.order_platoons`` of every live copy in one pass (see
    :meth:`VectorEngagement.order_platoons`); returns how many ``reacts`` flags it flipped,
    their ``(copy, platoon)`` in ``flips``."""
    (frozen, grounded, route_x, route_y, n_wp, next_wp, advanced, rally_x, rally_y, detour,
     saved) = plat
    rx0, ry0, rn0 = route0
    ox, oy, role, shoots, ox0, oy0, spotter0, order, starts = sol
    offset, engage_from = drill
    spacing0, engage_delay, shooters0, spotters0 = const
    found, cx, cy, contact, steps, spacings, nvec, n_shooters, n_spotters = look
    R, n, H = acts.shape
    n_flips = 0
    for r in range(R):
        if not live[r]:
            continue
        step = steps[r]
        for i in range(n):
            g = gs[i]
            for head in range(H):
                new, old = acts[r, i, head], orders[r, g, head]
                if new == old or new < 0 or new >= nvec[head]:
                    continue
                # allowed (VectorEngagement.masks): an impossible order is ignored
                if head == 0 and (((new == 0 or new == 2) and rn0[r, g] == 0)
                                  or (new == 3 and not found[r, g])):
                    continue
                if head == 3 and new > 0 and not (shooters0[r, g] > 0 or n_shooters > 0):
                    continue
                if head == 4 and new == 1 and not (spotters0[r, g] > 0 or n_spotters > 0):
                    continue
                if head == 0:
                    if old == 1:
                        frozen[r, g] = step
                    if (old == 2 or old == 3) and detour[r, g]:
                        route_x[r, g, :] = rx0[r, g, :]
                        route_y[r, g, :] = ry0[r, g, :]
                        n_wp[r, g] = rn0[r, g]
                        next_wp[r, g] = int(saved[r, g, 0])
                        advanced[r, g] = saved[r, g, 1]
                        detour[r, g] = False
                    if new == 1:
                        frozen[r, g] = NEVER
                    elif new == 2 or new == 3:
                        x = rally_x[r, g] if new == 2 else cx[r, g]
                        y = rally_y[r, g] if new == 2 else cy[r, g]
                        if not detour[r, g]:
                            saved[r, g, 0] = next_wp[r, g]
                            saved[r, g, 1] = advanced[r, g]
                            detour[r, g] = True
                        route_x[r, g, 0] = x
                        route_y[r, g, 0] = y
                        n_wp[r, g] = 1
                        next_wp[r, g] = 0
                elif head == 1:
                    scale = spacings[new] / spacing0[r, g]
                    for k in range(starts[g], starts[g + 1]):
                        m = order[k]
                        ox[r, m] = ox0[r, m] * scale
                        oy[r, m] = oy0[r, m] * scale
                elif head == 2:
                    grounded[r, g] = NEVER if new == 1 else step
                elif head == 3:
                    offset[r, g, A_ENGAGE] = (-1 if new == 0 else
                                              (engage_delay[r, g] if new == 2 else 0))
                    offset[r, g, A_DECOY] = 0 if new == 2 else -1
                    now = (offset[r, g, 0] >= 0 or offset[r, g, 1] >= 0
                           or offset[r, g, 2] >= 0 or offset[r, g, A_DECOY] >= 0)
                    if now != reacts[r, g]:
                        reacts[r, g] = now
                        flips[n_flips, 0] = r
                        flips[n_flips, 1] = g
                        n_flips += 1
                    if new == 0:
                        engage_from[r, g] = NEVER
                    else:
                        if shooters0[r, g] == 0:  # Engagement._arm
                            armed = False
                            for k in range(starts[g], starts[g + 1]):
                                armed |= shoots[r, order[k]]
                            left = 0 if armed else n_shooters
                            for k in range(starts[g], starts[g + 1]):
                                m = order[k]
                                if left <= 0:
                                    break
                                if role[r, m] == RIFLEMAN:
                                    shoots[r, m] = True
                                    role[r, m] = SHOOTER
                                    left -= 1
                        if contact[r, g]:
                            engage_from[r, g] = min(engage_from[r, g], step)
                else:
                    code = SPOTTER if new == 1 else RIFLEMAN
                    if spotters0[r, g] == 0:  # riflemen named spotters
                        left = n_spotters
                        for k in range(starts[g], starts[g + 1]):
                            m = order[k]
                            if left <= 0:
                                break
                            if (role[r, m] == RIFLEMAN or role[r, m] == SPOTTER) \
                                    and not shoots[r, m]:
                                role[r, m] = code
                                left -= 1
                    else:
                        for k in range(starts[g], starts[g + 1]):
                            m = order[k]
                            if spotter0[r, m]:
                                role[r, m] = code
                orders[r, g, head] = new
    return n_flips


@nb.njit(cache=True)
def _tally_rows(rows, s_platoon, p_side, att, cols, now):  # pragma: no cover
    """``Engagement._tally`` of copies ``rows`` into ``now``'s arrays (integer counts and
    sums, so in any order the same; progress elementwise as NumPy computes it)."""
    status, advanced, route_length, downs, shots = cols
    healthy, wounded, lost, side_lost, progress, now_downs, now_shots = now
    G = healthy.shape[1]
    for r in rows:
        for g in range(G):
            healthy[r, g] = 0
            wounded[r, g] = 0
            lost[r, g] = 0
        for m in range(s_platoon.shape[0]):
            st, g = status[r, m], s_platoon[m]
            if st == HEALTHY:
                healthy[r, g] += 1
            elif st == WOUNDED:
                wounded[r, g] += 1
            if st == 1 or st == 2:
                lost[r, g] += 1
        side_lost[r, 0] = 0
        side_lost[r, 1] = 0
        for g in range(G):
            side_lost[r, p_side[g]] += lost[r, g]
            length = route_length[r, g]
            progress[r, g] = min(advanced[r, g], length) / max(length, 1e-9)
        total = 0
        for k in range(downs.shape[2]):
            total += downs[r, att, k]
        now_downs[r] = total
        now_shots[r] = shots[r, att]


@nb.njit(cache=True)
def _observe_rows(out, gs, feats, drones, own_side, radius, orders, spacings, steps,
                  dt, total):  # pragma: no cover
    """``VectorEngagement.observe``'s features (``Engagement.observe`` per copy), every
    copy and controlled platoon in one pass, cast to float32 on the store as NumPy's
    column writes are."""
    (healthy, wounded, strength, shaken, progress, last_casualty, contact, cover_here,
     neighbours, ax, ay) = feats
    state, side, x, y = drones
    R, n = out.shape[0], out.shape[1]
    top = spacings.max()
    for r in range(R):
        step = steps[r]
        for i in range(n):
            g = gs[i]
            s = strength[r, g]
            count, nearest = 0, np.inf
            for d in range(state.shape[1]):
                if state[r, d] == FLYING and side[r, d] != own_side:
                    dist = np.hypot(x[r, d] - ax[r, g], y[r, d] - ay[r, g])
                    count += dist <= radius
                    nearest = min(nearest, dist)
            o = out[r, i]
            o[0] = healthy[r, g] / s
            o[1] = wounded[r, g] / s
            o[2] = spacings[orders[r, g, 1]] / top
            o[3] = shaken[r, g] / s
            o[4] = 1.0 - progress[r, g]
            o[5] = cover_here[r, i]
            o[6] = min(count / 4.0, 1.0)
            o[7] = min(nearest / radius, 1.0)
            o[8] = min((step - last_casualty[r, g]) * dt / SINCE_SCALE, 1.0)
            o[9] = neighbours[r, i]
            o[10] = 1.0 - step / total
            o[11] = contact[r, g]
            o[12] = orders[r, g, 0] == 1
            o[13] = orders[r, g, 2] == 1
            o[14] = orders[r, g, 3] > 0
            o[15] = orders[r, g, 4] == 1


class VectorEngagement:
    """``num`` copies of one engagement (``control`` and keywords as ``Engagement``) over one
    ensemble. Call :meth:`reset_copy` for every copy before use; then each decision:
    :meth:`order_platoons` (or the copies' own ``order_*``), :meth:`advance`, and
    :meth:`observe` / :meth:`masks`. Copies on different steps (after a reset) advance
    together; a copy at the scenario's last step stays there."""

    def __init__(self, scenario: Scenario, num: int, *, control: str = "attacker",
                 decision_interval: float | None = None, batteries: bool = False,
                 record: bool = False) -> None:
        self.scenario = scenario
        self.num = num
        kwargs = {"control": control, "decision_interval": decision_interval,
                  "batteries": batteries, "record": record}
        self.ensemble = Ensemble(scenario, range(num), events=record)
        ens = self.ensemble
        first = Engagement(scenario, 0, sim=ens.sims[0], **kwargs)
        # the scenario-only part (agents, members, constants, cover index) derived once
        self.copies = [first, *(Engagement(scenario, r, sim=sim, layout=first.layout, **kwargs)
                                for r, sim in enumerate(ens.sims) if r)]
        self.every, self.cfg, self.G = first.every, first.cfg, first.G
        self.platoons = first.platoons
        self.total = scenario.steps
        self.states = ens.states
        # The vectorised platoon path: attacker platoons only, every column stacked.
        blocks = {f"{t}.{c}": stacked([getattr(getattr(st, t), c) for st in self.states])
                  for t, c in _COLUMNS}
        self.fast = (control == "attacker" and not batteries and not record
                     and all(b is not None for b in blocks.values()))
        self.col = blocks
        s0 = self.states[0]
        self.s_platoon = np.asarray(s0.soldiers.platoon, np.int64)
        self.p_side = np.asarray(s0.platoons.side)
        self.spacings = np.asarray(self.cfg.spacings, float)
        self.kept = {name: np.zeros((num, *np.shape(getattr(first, name))), dtype)
                     for name, dtype in _KEPT.items()}
        self.const = {name: np.zeros((num, *np.shape(getattr(first, name))),
                                     np.asarray(getattr(first, name)).dtype)
                      for name in _CONSTANTS}
        self.route = [np.zeros((num, *np.shape(a)), a.dtype) for a in first.route]
        self.onehot = np.zeros((self.G, 2), np.int64)
        self.onehot[np.arange(self.G), self.p_side] = 1
        self.terrain = s0.terrain
        self.cover = first.cover
        self.cover_memo: tuple[bytes, np.ndarray, np.ndarray, np.ndarray] | None = None
        n = num
        self.now = {k: np.zeros((n, self.G), np.int64) for k in ("healthy", "wounded", "lost")}
        self.now["progress"] = np.zeros((n, self.G))
        self.now["side_lost"] = np.zeros((n, 2), np.int64)
        self.now["downs"] = np.zeros(n, np.int64)
        self.now["shots"] = np.zeros(n, np.int64)
        self.prev = {k: v.copy() for k, v in self.now.items()}
        self._all = np.arange(n)
        # each copy's counterdrone ``reacts`` flags, mirrored (orders flip them in place)
        self.reacts = np.zeros((n, self.G), bool)
        self._flips = np.zeros((n * self.G, 2), np.int64)
        self.contact_memo: tuple[bytes, np.ndarray] | None = None
        if self.fast:  # the order kernel's inputs, views that live as long as the ensemble
            c, k, kept = self.col, self.const, self.kept
            order = np.argsort(self.s_platoon, kind="stable")
            starts = np.zeros(self.G + 1, np.int64)
            starts[1:] = np.cumsum(np.bincount(self.s_platoon, minlength=self.G))
            self._plat = tuple(c[f"platoons.{name}"] for name in (
                "frozen_until", "grounded_until", "route_x", "route_y", "n_waypoints",
                "next_wp", "advanced", "rally_x", "rally_y")) + (kept["detour"], kept["saved"])
            self._sol = (c["soldiers.ox"], c["soldiers.oy"], c["soldiers.role"],
                         c["soldiers.shoots"], k["ox0"], k["oy0"], k["spotter0"], order, starts)
            self._drill = (c["drill.offset"], c["drill.engage_from"])
            self._const = (k["doctrine_spacing"], k["engage_delay"], k["doctrine_shooters"],
                           k["doctrine_spotters"])

    # ------------------------------------------------------------------ copies
    def reset_copy(self, r: int, seed: int) -> None:
        """Restart copy ``r`` from step 0 with engine ``seed`` (the others go on)."""
        ens, e = self.ensemble, self.copies[r]
        if ens.states.steps[r] != 0 or ens.sims[r].seed != seed:
            ens.reset(r, seed)
        e.reset(seed, ens.sims[r])
        for name in _KEPT:  # the copy's bookkeeping becomes rows of the stacked arrays
            block = self.kept[name]
            block[r] = getattr(e, name)
            setattr(e, name, block[r])
        for name in _CONSTANTS:
            self.const[name][r] = getattr(e, name)
        for block, a in zip(self.route, e.route, strict=True):
            block[r] = a
        e.route = tuple(block[r] for block in self.route)
        self.reacts[r] = e.cd.reacts
        self.cover_memo = self.contact_memo = None
        if self.fast:
            self._tally(np.array([r]))

    @property
    def steps(self) -> np.ndarray:
        """Each copy's step."""
        return self.ensemble.states.steps

    # ------------------------------------------------------------------ time
    def advance(self) -> None:
        """One decision interval for every copy (a copy at the last step stays there)."""
        ens = self.ensemble
        at = ens.states.steps
        for _ in range(self.every):
            if at.min() >= self.total:
                break
            ens.step()
        if self.fast:
            detour, saved = self.kept["detour"], self.kept["saved"]
            if detour.any():  # Engagement._pin, every copy at once
                self.col["platoons.advanced"][detour] = saved[..., 1][detour]

    def settle(self) -> tuple[np.ndarray, np.ndarray]:
        """After :meth:`advance` (fast path): the platoons' rewards and terminations by copy
        and controlled platoon, ``(R, n)`` each, as ``Engagement.settle`` gives them."""
        # every row is tallied again: the last tallies become ``prev``, their arrays reused
        prev, self.now = self.now, self.prev
        self.prev = prev
        self._tally(self._all)
        now, w, gs = self.now, self.cfg.reward, self.platoons
        lost = now["lost"] - prev["lost"]
        lc = self.kept["last_casualty"]
        hit = lost > 0
        lc[hit] = np.broadcast_to(self.steps[:, None], lost.shape)[hit]
        side_lost = now["side_lost"] - prev["side_lost"]
        dfd = SIDES.index("defender")
        downs = now["downs"] - prev["downs"]
        shots = now["shots"] - prev["shots"]
        shared = (w.enemy_casualties * side_lost[:, dfd] + w.drones_downed * downs
                  + w.ammunition * shots) / gs.size
        rew = (w.progress * (now["progress"][:, gs] - prev["progress"][:, gs])
               + w.own_casualties * lost[:, gs] + shared[:, None])
        term = (now["healthy"][:, gs] == 0) | self.col["platoons.broken"][:, gs]
        return rew, term

    def _tally(self, rows: np.ndarray) -> None:
        """``Engagement._tally`` for copies ``rows``, into ``self.now``."""
        c, now = self.col, self.now
        _tally_rows(np.asarray(rows, np.int64), self.s_platoon, self.p_side,
                    SIDES.index("attacker"),
                    (c["soldiers.status"], c["platoons.advanced"], c["platoons.route_length"],
                     c["arms.downs"], c["counters.shots"]),
                    tuple(now[k] for k in _NOW))

    # ------------------------------------------------------------------ observations
    def _contacts(self) -> np.ndarray:
        """(R, G) bool: platoons with a drone contact now (kept until a copy moves or
        restarts, as the nearest cover is)."""
        key = self.steps.tobytes()
        memo = self.contact_memo
        if memo is not None and memo[0] == key:
            return memo[1]
        out = np.zeros((self.num, self.G), bool)
        held = [st.contacts for st in self.states]
        sizes = np.fromiter(map(len, held), np.int64, len(held))
        if sizes.any():
            out[np.repeat(np.arange(self.num), sizes),
                np.concatenate(held) % max(self.G, 1)] = True
        self.contact_memo = (key, out)
        return out

    def observe(self) -> np.ndarray:
        """Platoon observations of every copy: ``(R, n, len(PLATOON_FEATURES))``."""
        c, gs, now = self.col, self.platoons, self.now
        R, n = self.num, gs.size
        out = np.empty((R, n, len(PLATOON_FEATURES)), np.float32)
        if n == 0:
            return out
        strength = self.const["strength"]
        side_share = now["healthy"][:, gs] / strength[:, gs]
        if n > 1:  # a row sum of a C-contiguous array adds as the 1-D sum does
            neighbours = (side_share.sum(axis=1)[:, None] - side_share) / max(n - 1, 1)
        else:
            neighbours = side_share
        ax, ay = c["platoons.ax"], c["platoons.ay"]
        t = self.terrain
        cover_here = t.cover[t.lookup(ax[:, gs], ay[:, gs])]
        feats = (now["healthy"], now["wounded"], strength, c["platoons.shaken"],
                 now["progress"], self.kept["last_casualty"], self._contacts(), cover_here,
                 neighbours, ax, ay)
        drones = (c["drones.state"], c["drones.side"], c["drones.x"], c["drones.y"])
        _observe_rows(out, gs, feats, drones, int(self.p_side[gs[0]]),
                      float(self.cfg.sight_radius), self.kept["orders"], self.spacings,
                      self.steps, float(self.states[0].dt), int(self.total))
        return out

    def _covers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest cover of every copy's controlled platoon anchors now: (found, x, y),
        ``(R, G)`` (False / 0 for the other platoons)."""
        key = self.steps.tobytes()
        memo = self.cover_memo
        if memo is None or memo[0] != key:
            gs = self.platoons
            ax, ay = self.col["platoons.ax"][:, gs], self.col["platoons.ay"][:, gs]
            found, x, y = (np.zeros((self.num, self.G), bool), np.zeros((self.num, self.G)),
                           np.zeros((self.num, self.G)))
            hit, hx, hy = self.cover.search(ax.ravel(), ay.ravel())
            found[:, gs], x[:, gs], y[:, gs] = (hit.reshape(ax.shape), hx.reshape(ax.shape),
                                                hy.reshape(ax.shape))
            memo = (key, found, x, y)
            self.cover_memo = memo
        return memo[1], memo[2], memo[3]

    def masks(self) -> np.ndarray:
        """Allowed platoon options of every copy: bool ``(R, n, sum(PLATOON_NVEC))``."""
        gs, k = self.platoons, self.const
        mask = np.ones((self.num, gs.size, int(PLATOON_NVEC.sum())), bool)
        if gs.size == 0:
            return mask
        mask[:, :, 3] = self._covers()[0][:, gs]
        no_route = self.route[2][:, gs] == 0
        mask[no_route, 0] = False
        mask[no_route, 2] = False
        can_shoot = (k["doctrine_shooters"][:, gs] > 0) | (self.cfg.shooters > 0)
        base = int(PLATOON_NVEC[:3].sum())
        mask[:, :, base + 1] &= can_shoot
        mask[:, :, base + 2] &= can_shoot
        can_spot = (k["doctrine_spotters"][:, gs] > 0) | (self.cfg.spotters > 0)
        mask[:, :, base + 4] &= can_spot
        return mask

    # ------------------------------------------------------------------ orders
    def order_platoons(self, actions: np.ndarray, live: np.ndarray) -> None:
        """``Engagement.order_platoons`` for the copies ``live`` (bool ``(R,)``) at once:
        ``actions`` ``(R, n, 5)`` option indices. An order is written only where it differs
        from the standing one and is allowed (``masks``); one compiled pass over copies,
        platoons and heads, in the order ``Engagement`` applies them."""
        acts = np.ascontiguousarray(np.asarray(actions)[..., :len(PLATOON_NVEC)], np.int64)
        found, cx, cy = self._covers()
        look = (found, cx, cy, self._contacts(), self.steps, self.spacings, PLATOON_NVEC,
                int(self.cfg.shooters), int(self.cfg.spotters))
        flips = _order_rows(acts, np.ascontiguousarray(live, bool), self.platoons,
                            self.kept["orders"], self._plat, tuple(self.route), self._sol,
                            self._drill, self._const, look, self.reacts, self._flips)
        if flips:  # the copies' counterdrone stages read their own flags
            copies, reacts = self.copies, self.reacts
            for r, g in self._flips[:flips].tolist():
                copies[r].cd.reacts[g] = reacts[r, g]
