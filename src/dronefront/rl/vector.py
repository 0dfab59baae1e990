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
#: Per-copy constants of ``Engagement`` copied into stacked arrays at each reset.
_CONSTANTS = ("doctrine_spacing", "engage_delay", "doctrine_shooters", "doctrine_spotters",
              "strength", "spotter0", "ox0", "oy0")


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
        self.cover_memo = None
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
        prev = {k: v.copy() for k, v in self.now.items()}
        self._tally(np.arange(self.num))
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
        c, g = self.col, self.G
        status = c["soldiers.status"][rows].astype(np.int64)
        key = (np.arange(rows.size)[:, None] * (3 * g) + self.s_platoon * 3 + status).ravel()
        counts = np.bincount(key, minlength=rows.size * 3 * g).reshape(rows.size, g, 3)
        lost = counts[..., 1] + counts[..., 2]
        now = self.now
        now["healthy"][rows] = counts[..., HEALTHY]
        now["wounded"][rows] = counts[..., WOUNDED]
        now["lost"][rows] = lost
        now["side_lost"][rows] = lost @ self.onehot
        length = c["platoons.route_length"][rows]
        now["progress"][rows] = (np.minimum(c["platoons.advanced"][rows], length)
                                 / np.maximum(length, 1e-9))
        att = SIDES.index("attacker")
        now["downs"][rows] = c["arms.downs"][rows].sum(axis=2)[:, att]
        now["shots"][rows] = c["counters.shots"][rows][:, att]

    # ------------------------------------------------------------------ observations
    def _contacts(self) -> np.ndarray:
        """(R, G) bool: platoons with a drone contact now."""
        out = np.zeros((self.num, self.G), bool)
        held = [st.contacts for st in self.states]
        sizes = np.fromiter(map(len, held), np.int64, len(held))
        if sizes.any():
            out[np.repeat(np.arange(self.num), sizes),
                np.concatenate(held) % max(self.G, 1)] = True
        return out

    def observe(self) -> np.ndarray:
        """Platoon observations of every copy: ``(R, n, len(PLATOON_FEATURES))``."""
        c, gs, now = self.col, self.platoons, self.now
        R, n = self.num, gs.size
        out = np.zeros((R, n, len(PLATOON_FEATURES)), np.float32)
        if n == 0:
            return out
        strength = self.const["strength"][:, gs]
        side_share = now["healthy"][:, gs] / strength
        ax, ay = c["platoons.ax"][:, gs], c["platoons.ay"][:, gs]
        flying = (c["drones.state"] == FLYING) & (c["drones.side"] != self.p_side[gs[0]])
        radius = self.cfg.sight_radius
        if flying.any():
            dist = np.hypot(c["drones.x"][:, None, :] - ax[:, :, None],
                            c["drones.y"][:, None, :] - ay[:, :, None])
            dist = np.where(flying[:, None, :], dist, np.inf)
            out[:, :, 6] = np.minimum((dist <= radius).sum(axis=2) / 4.0, 1.0)
            out[:, :, 7] = np.minimum(dist.min(axis=2) / radius, 1.0)
        else:
            out[:, :, 7] = 1.0
        out[:, :, 11] = self._contacts()[:, gs]
        if n > 1:  # a row sum of a C-contiguous array adds as the 1-D sum does
            neighbours = (side_share.sum(axis=1)[:, None] - side_share) / max(n - 1, 1)
        else:
            neighbours = side_share
        orders = self.kept["orders"][:, gs]
        steps, dt = self.steps, self.states[0].dt
        t = self.terrain
        out[:, :, 0] = side_share
        out[:, :, 1] = now["wounded"][:, gs] / strength
        out[:, :, 2] = self.spacings[orders[..., 1]] / self.spacings.max()
        out[:, :, 3] = c["platoons.shaken"][:, gs] / strength
        out[:, :, 4] = 1.0 - now["progress"][:, gs]
        out[:, :, 5] = t.cover[t.lookup(ax, ay)]
        out[:, :, 8] = np.minimum((steps[:, None] - self.kept["last_casualty"][:, gs]) * dt
                                  / SINCE_SCALE, 1.0)
        out[:, :, 9] = neighbours
        out[:, :, 10] = 1.0 - steps[:, None] / self.total
        out[:, :, 12] = orders[..., 0] == 1
        out[:, :, 13] = orders[..., 2] == 1
        out[:, :, 14] = orders[..., 3] > 0
        out[:, :, 15] = orders[..., 4] == 1
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
        from the standing one and is allowed (``masks``); heads are applied in order, so
        within a platoon as ``Engagement`` applies them."""
        gs = self.platoons
        orders = self.kept["orders"]
        acts = np.asarray(actions, np.int64)[..., :len(PLATOON_NVEC)]
        diff = (acts != orders[:, gs]) & live[:, None, None]
        if not diff.any():
            return
        offsets = np.concatenate([[0], np.cumsum(PLATOON_NVEC)[:-1]])
        mask = self.masks()
        for head in range(len(PLATOON_NVEC)):
            r, i = np.nonzero(diff[..., head])
            if r.size == 0:
                continue
            new = acts[r, i, head]
            ok = (0 <= new) & (new < PLATOON_NVEC[head])
            ok[ok] = mask[r[ok], i[ok], offsets[head] + new[ok]]
            r, i, new = r[ok], i[ok], new[ok]
            if r.size == 0:
                continue
            g = gs[i]
            old = orders[r, g, head]
            self._apply(head, r, g, old, new)
            orders[r, g, head] = new

    def _apply(self, head: int, r: np.ndarray, g: np.ndarray, old: np.ndarray,
               new: np.ndarray) -> None:
        """``Engagement._apply`` for the changes ``(r, g, old, new)`` of one head."""
        c, k, kept = self.col, self.const, self.kept
        step = self.steps[r]
        if head == 0:
            frozen = c["platoons.frozen_until"]
            thaw = old == 1
            frozen[r[thaw], g[thaw]] = step[thaw]
            end = ((old == 2) | (old == 3)) & kept["detour"][r, g]
            if end.any():
                re, ge = r[end], g[end]
                c["platoons.route_x"][re, ge] = self.route[0][re, ge]
                c["platoons.route_y"][re, ge] = self.route[1][re, ge]
                c["platoons.n_waypoints"][re, ge] = self.route[2][re, ge]
                nw = c["platoons.next_wp"]
                nw[re, ge] = kept["saved"][re, ge, 0].astype(nw.dtype)
                c["platoons.advanced"][re, ge] = kept["saved"][re, ge, 1]
                kept["detour"][re, ge] = False
            frozen[r[new == 1], g[new == 1]] = NEVER
            go = (new == 2) | (new == 3)
            if go.any():
                rd, gd, nd = r[go], g[go], new[go]
                _, cx, cy = self._covers()
                x = np.where(nd == 2, c["platoons.rally_x"][rd, gd], cx[rd, gd])
                y = np.where(nd == 2, c["platoons.rally_y"][rd, gd], cy[rd, gd])
                first = ~kept["detour"][rd, gd]
                rf, gf = rd[first], gd[first]
                kept["saved"][rf, gf, 0] = c["platoons.next_wp"][rf, gf]
                kept["saved"][rf, gf, 1] = c["platoons.advanced"][rf, gf]
                kept["detour"][rd, gd] = True
                c["platoons.route_x"][rd, gd, 0] = x
                c["platoons.route_y"][rd, gd, 0] = y
                c["platoons.n_waypoints"][rd, gd] = 1
                c["platoons.next_wp"][rd, gd] = 0
        elif head == 1:
            scale = np.full((self.num, self.G), np.nan)
            scale[r, g] = self.spacings[new] / k["doctrine_spacing"][r, g]
            per = scale[:, self.s_platoon]
            sel = ~np.isnan(per)
            c["soldiers.ox"][sel] = (k["ox0"] * per)[sel]
            c["soldiers.oy"][sel] = (k["oy0"] * per)[sel]
        elif head == 2:
            c["platoons.grounded_until"][r, g] = np.where(new == 1, NEVER, step)
        elif head == 3:
            off = c["drill.offset"]
            off[r, g, A_ENGAGE] = np.where(new == 0, -1,
                                           np.where(new == 2, k["engage_delay"][r, g], 0))
            off[r, g, A_DECOY] = np.where(new == 2, 0, -1)
            o = off[r, g]
            reacts = (o[:, 0] >= 0) | (o[:, 1] >= 0) | (o[:, 2] >= 0) | (o[:, A_DECOY] >= 0)
            copies = self.copies
            for rr, gg, v in zip(r.tolist(), g.tolist(), reacts.tolist(), strict=True):
                copies[rr].cd.reacts[gg] = v
            engage = c["drill.engage_from"]
            hold = new == 0
            engage[r[hold], g[hold]] = NEVER
            fire = ~hold
            if fire.any():
                rf, gf = r[fire], g[fire]
                bare = k["doctrine_shooters"][rf, gf] == 0
                if bare.any():
                    self._arm(rf[bare], gf[bare])
                near = self._contacts()[rf, gf]
                rn, gn = rf[near], gf[near]
                engage[rn, gn] = np.minimum(engage[rn, gn], self.steps[rn])
        else:
            own = k["doctrine_spotters"][r, g] > 0
            if not own.all():  # riflemen named spotters
                self._post(r[~own], g[~own], new[~own])
            if own.any():
                code = np.full((self.num, self.G), -1, np.int64)
                code[r[own], g[own]] = np.where(new[own] == 1, SPOTTER, RIFLEMAN)
                per = code[:, self.s_platoon]
                sel = (per >= 0) & k["spotter0"]
                role = c["soldiers.role"]
                role[sel] = per[sel].astype(role.dtype)

    def _first(self, r: np.ndarray, g: np.ndarray, ok: np.ndarray, n: int
               ) -> tuple[np.ndarray, np.ndarray]:
        """(row of the change, soldier) of the first ``n`` soldiers, in index order, of
        platoon ``g[i]`` of copy ``r[i]`` for which ``ok`` ``(len(r), soldiers)`` holds."""
        sel = ok & (self.s_platoon[None, :] == g[:, None])
        sel &= np.cumsum(sel, axis=1) <= n
        return np.nonzero(sel)

    def _arm(self, r: np.ndarray, g: np.ndarray) -> None:
        """``Engagement._arm`` of platoon ``g[i]`` in copy ``r[i]``: ``rl.shooters`` of its
        riflemen designated, once (a platoon with a shooter already keeps its own)."""
        shoots, role = self.col["soldiers.shoots"], self.col["soldiers.role"]
        armed = (shoots[r] & (self.s_platoon[None, :] == g[:, None])).any(axis=1)
        r, g = r[~armed], g[~armed]
        if r.size == 0:
            return
        i, who = self._first(r, g, role[r] == RIFLEMAN, self.cfg.shooters)
        shoots[r[i], who] = True
        role[r[i], who] = SHOOTER

    def _post(self, r: np.ndarray, g: np.ndarray, new: np.ndarray) -> None:
        """``Engagement._apply``'s spotters head where platoon ``g[i]`` of copy ``r[i]`` has
        no doctrine spotters: its first ``rl.spotters`` riflemen (or spotters) that do not
        shoot post (``new`` 1) or stand down."""
        shoots, role = self.col["soldiers.shoots"], self.col["soldiers.role"]
        rr = role[r]
        ok = ((rr == RIFLEMAN) | (rr == SPOTTER)) & ~shoots[r]
        i, who = self._first(r, g, ok, self.cfg.spotters)
        role[r[i], who] = np.where(new[i] == 1, SPOTTER, RIFLEMAN).astype(role.dtype)
