"""PettingZoo and Gymnasium environments over :class:`~dronefront.rl.core.Engagement`.

Imported by ``dronefront.rl`` only after the ``rl`` extra is known to be installed.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from pettingzoo import ParallelEnv

from dronefront.errors import UserError
from dronefront.rl.core import (
    KINDS,
    PLATOON_FEATURES,
    PLATOON_NVEC,
    TEAM_FEATURES,
    TEAM_NVEC,
    Engagement,
)
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import Scenario


def _scenario(scenario: Scenario | str, overrides: Any) -> Scenario:
    return scenario if isinstance(scenario, Scenario) and not overrides else load_scenario(
        scenario, overrides)


def _seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**62))


class DronefrontParallelEnv(ParallelEnv):
    """PettingZoo ``ParallelEnv``: attacker platoons (and/or defender drone teams, and with
    ``batteries`` the controlled sides' artillery batteries) as agents.

    Each agent observes ``{"observation": Box, "action_mask": Tuple(MultiBinary)}`` and acts
    with a ``MultiDiscrete`` (docs/rl.md lists the heads and features). With ``record`` the
    orders are kept and :meth:`write_run` writes the episode as a run folder.
    """

    metadata = {"name": "dronefront_v0", "render_modes": []}

    def __init__(self, scenario: Scenario | str = "kursk-assault", *, control: str = "attacker",
                 decision_interval: float | None = None, overrides: Any = None,
                 seed: int = 0, batteries: bool = False, record: bool = False) -> None:
        self.scenario = _scenario(scenario, overrides)
        self.engagement = e = Engagement(self.scenario, seed, control=control,
                                         decision_interval=decision_interval,
                                         batteries=batteries, record=record)
        self.possible_agents = list(e.agents)
        self.agents = []
        self._spaces = {}
        self._kind: dict[str, tuple[str, int]] = {}  # agent: (kind, row among its kind)
        self._bounds: dict[str, list[tuple[int, int]]] = {}
        for kind in KINDS:
            for row, a in enumerate(e.names[kind]):
                self._kind[a] = (kind, row)
                if kind == "battery":
                    i = int(e.batteries[row])
                    nvec, n_obs = e.battery_nvec(i), len(e.battery_features(i))
                else:
                    nvec = TEAM_NVEC if kind == "team" else PLATOON_NVEC
                    n_obs = len(TEAM_FEATURES if kind == "team" else PLATOON_FEATURES)
                ends = np.cumsum(nvec)
                self._bounds[a] = list(zip((ends - nvec).tolist(), ends.tolist(), strict=True))
                self._spaces[a] = (
                    spaces.Dict({"observation": spaces.Box(0.0, 1.0, (n_obs,), np.float32),
                                 "action_mask": spaces.Tuple(
                                     [spaces.MultiBinary(int(k)) for k in nvec])}),
                    spaces.MultiDiscrete(nvec))
        self._rng = np.random.default_rng(seed)

    def observation_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][0]

    def action_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][1]

    def state(self) -> np.ndarray:
        """Every attacker platoon's and defender team's features (then the controlled
        batteries'), for centralised critics."""
        return self.engagement.state_vector()

    def _observations(self) -> dict[str, dict[str, Any]]:
        e = self.engagement
        obs, masks = {}, {}
        if e.platoons.size:
            obs["platoon"], masks["platoon"] = e.observe(), e.platoon_masks().astype(np.int8)
        if e.teams.size:
            obs["team"], masks["team"] = e.observe_teams(), e.team_masks().astype(np.int8)
        if e.batteries.size:
            obs["battery"] = e.observe_batteries()
            masks["battery"] = [m.astype(np.int8) for m in e.battery_masks()]
        out = {}
        for a in self.agents:
            kind, row = self._kind[a]
            m = masks[kind][row]
            out[a] = {"observation": obs[kind][row],
                      "action_mask": tuple(m[lo:hi] for lo, hi in self._bounds[a])}
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.engagement.reset(_seed_from(self._rng))
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        e = self.engagement
        rows = {}
        if e.platoons.size:
            rows["platoon"] = e.doctrine_actions()
        if e.teams.size:
            rows["team"] = e.team_orders[e.teams].copy()
        if e.batteries.size:
            rows["battery"] = e.battery_orders[e.batteries].copy()
        live = set(self.agents)
        for a, act in actions.items():
            if a in live:
                kind, row = self._kind[a]
                rows[kind][row] = np.asarray(act).reshape(-1) if kind != "battery" else \
                    int(np.asarray(act).reshape(-1)[0])
        for kind, r in rows.items():
            e.apply(kind, r)
        rewards, terms, truncated = e.advance()
        agents = self.agents
        obs = self._observations()
        rew = {a: rewards[a] for a in agents}
        term = {a: terms[a] for a in agents}
        trunc = {a: truncated and not terms[a] for a in agents}
        info = {a: {} for a in agents}
        self.agents = [a for a in agents if not (term[a] or trunc[a])]
        return obs, rew, term, trunc, info

    def write_run(self, out: Any, *, policy: str = "unnamed", force: bool = False):
        """Write the episode played so far (finished on the standing orders) as a run folder
        that ``dronefront replay`` shows; needs ``record=True``. Returns the ``Result``."""
        return self.engagement.write_run(out, policy=policy, force=force)

    def render(self) -> None:
        return None

    def close(self) -> None:
        return None


def parallel_env(scenario: Scenario | str = "kursk-assault",
                 **kwargs: Any) -> DronefrontParallelEnv:
    """The PettingZoo ``ParallelEnv`` over ``scenario`` (keywords as
    :class:`DronefrontParallelEnv`)."""
    return DronefrontParallelEnv(scenario, **kwargs)


class DronefrontEnv(gymnasium.Env):
    """One side as a single Gymnasium agent: ``MultiDiscrete`` over its platoons' (or drone
    teams') heads, then with ``batteries`` its batteries' ``fire`` heads; a flat ``Box`` of
    their features. The other side follows its doctrine.

    ``info["action_mask"]`` holds the allowed options (flattened like the action heads).
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario | str = "kursk-assault", *, side: str = "attacker",
                 decision_interval: float | None = None, overrides: Any = None,
                 batteries: bool = False, record: bool = False) -> None:
        self.scenario = _scenario(scenario, overrides)
        self.engagement = Engagement(self.scenario, 0, control=side,
                                     decision_interval=decision_interval,
                                     batteries=batteries, record=record)
        e = self.engagement
        self.teams = side == "defender"
        n = e.teams.size if self.teams else e.platoons.size
        nvec, feats = (TEAM_NVEC, TEAM_FEATURES) if self.teams else (PLATOON_NVEC, PLATOON_FEATURES)
        bvec = [e.battery_nvec(int(i)) for i in e.batteries]
        self.action_space = spaces.MultiDiscrete(np.concatenate([np.tile(nvec, n), *bvec]))
        n_obs = n * len(feats) + sum(len(e.battery_features(int(i))) for i in e.batteries)
        self.observation_space = spaces.Box(0.0, 1.0, (n_obs,), np.float32)
        self.heads = len(nvec)
        self.n_units = n * len(nvec)  # action entries of the platoons (or teams)

    def _obs(self) -> tuple[np.ndarray, dict]:
        obs, mask = _flat_obs(self.engagement, self.teams)
        return obs, {"action_mask": mask}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.engagement.reset(_seed_from(self.np_random))
        return self._obs()

    def step(self, action: np.ndarray):
        e = self.engagement
        _order(e, np.asarray(action, np.int64), self.heads, self.n_units, self.teams)
        rewards, terms, truncated = e.advance()
        obs, info = self._obs()
        terminated = all(terms.values())
        return obs, float(sum(rewards.values())), terminated, truncated and not terminated, info

    def write_run(self, out: Any, *, policy: str = "unnamed", force: bool = False):
        """Write the episode played so far as a run folder (see
        :meth:`DronefrontParallelEnv.write_run`); needs ``record=True``."""
        return self.engagement.write_run(out, policy=policy, force=force)


class DronefrontVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`DronefrontEnv` (same keywords) advanced as the
    replicates of one ensemble (``dronefront.rl.vector.VectorEngagement``).

    Copy ``i`` reset with seed ``s`` and given the same actions follows the trajectory of
    ``DronefrontEnv`` reset with ``s``, to the bit, across autoresets too. Autoreset follows
    Gymnasium's next-step mode: the step after a copy's episode ends resets that copy (its
    action is ignored) and returns its first observation with reward 0, while the others go
    on. ``info["action_mask"]`` holds each copy's allowed options.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 8, scenario: Scenario | str = "kursk-assault", *,
                 side: str = "attacker", decision_interval: float | None = None,
                 overrides: Any = None, batteries: bool = False, record: bool = False) -> None:
        from dronefront.rl.vector import VectorEngagement

        if num_envs < 1:
            raise UserError(f"num_envs must be >= 1, not {num_envs}", field="num_envs")
        self.scenario = _scenario(scenario, overrides)
        self.num_envs = num_envs
        self.side = side
        # one single env describes the spaces (and the order of its actions, observations)
        self.single = single = DronefrontEnv(self.scenario, side=side,
                                             decision_interval=decision_interval,
                                             batteries=batteries)
        self.heads, self.n_units, self.teams = single.heads, single.n_units, single.teams
        self.single_action_space = single.action_space
        self.single_observation_space = single.observation_space
        self.action_space = gymnasium.vector.utils.batch_space(self.single_action_space,
                                                               num_envs)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, num_envs)
        self.engine = VectorEngagement(self.scenario, num_envs, control=side,
                                       decision_interval=decision_interval,
                                       batteries=batteries, record=record)
        self._rngs: list[np.random.Generator | None] = [None] * num_envs
        self._seeds = np.zeros(num_envs, np.int64)  # each copy's engine seed
        self._done = np.zeros(num_envs, bool)
        self._stale = np.zeros(num_envs, bool)  # stepped on since its reset observation
        self._started = False

    # ------------------------------------------------------------------ copies
    def _reset_copy(self, r: int, seed: int | None) -> None:
        if seed is not None or self._rngs[r] is None:
            self._rngs[r], _ = gymnasium.utils.seeding.np_random(seed)
        self._seeds[r] = _seed_from(self._rngs[r])
        self.engine.reset_copy(r, int(self._seeds[r]))
        self._stale[r] = False

    def _observe(self) -> tuple[np.ndarray, np.ndarray]:
        """Every copy's observation and flat action mask."""
        v = self.engine
        if v.fast:
            obs, mask = v.observe(), v.masks()
            return obs.reshape(self.num_envs, -1), mask.reshape(self.num_envs, -1)
        obs, masks = [], []
        for e in v.copies:
            o, m = _flat_obs(e, self.teams)
            obs.append(o)
            masks.append(m)
        return np.stack(obs), np.stack(masks)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = ([seed + i for i in range(self.num_envs)] if isinstance(seed, int)
                 else seed if seed is not None else [None] * self.num_envs)
        if len(seeds) != self.num_envs:
            raise UserError(f"reset needs {self.num_envs} seeds, not {len(seeds)}",
                            field="seed")
        for r, s in enumerate(seeds):
            self._reset_copy(r, s)
        self._done[:] = False
        self._started = True
        obs, mask = self._observe()
        return obs, {"action_mask": mask}

    def step(self, actions: np.ndarray):
        if not self._started:
            raise UserError("call reset() before step()", field="reset")
        v, n = self.engine, self.num_envs
        stale = np.flatnonzero(self._stale & ~self._done)
        for r in stale.tolist():
            v.reset_copy(r, int(self._seeds[r]))  # moved since its first observation
        self._stale[stale] = False
        held = self._done.copy()  # next-step autoreset: these copies only restart
        # A copy at the last step restarts before the advance (a replicate left there would
        # make the ensemble step the others one by one), so it moves on with the others and
        # restarts once more before its first action (``_stale``). Any other ended copy is
        # only carried along by the advance and restarts after it: built once.
        early = held & (v.steps >= v.total)
        for r in np.flatnonzero(early).tolist():
            self._reset_copy(r, None)
        live = ~held
        held_obs = held_mask = None
        if early.any():
            held_obs, held_mask = self._observe()
        rew = np.zeros(n)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        if live.any():
            actions = np.asarray(actions, np.int64).reshape(n, -1)
            if v.fast:
                v.order_platoons(actions[:, :self.n_units].reshape(n, -1, self.heads), live)
            else:
                for r in np.flatnonzero(live).tolist():
                    _order(v.copies[r], actions[r], self.heads, self.n_units, self.teams)
            v.advance()
            if v.fast:
                per_agent, terms = v.settle()
                total = per_agent[:, 0].copy()  # summed in agent order, as sum() does
                for i in range(1, per_agent.shape[1]):
                    total += per_agent[:, i]
                rew = np.where(live, total, 0.0)
                term = terms.all(axis=1) & live
            else:
                for r in np.flatnonzero(live).tolist():
                    rewards, terms, _ = v.copies[r].settle()
                    rew[r] = float(sum(rewards.values()))
                    term[r] = all(terms.values())
            trunc = (v.steps >= v.total) & live & ~term
            self._stale |= early
        for r in np.flatnonzero(held & ~early).tolist():
            self._reset_copy(r, None)
        obs, mask = self._observe()
        if held_obs is not None:
            obs[early], mask[early] = held_obs[early], held_mask[early]
        self._done = term | trunc
        return obs, rew, term, trunc, {"action_mask": mask}


def _flat_obs(e: Engagement, teams: bool) -> tuple[np.ndarray, np.ndarray]:
    """``DronefrontEnv``'s flat observation and mask of one engagement."""
    if teams:
        obs, mask = e.observe_teams().ravel(), e.team_masks().ravel()
    else:
        obs, mask = e.observe().ravel(), e.platoon_masks().ravel()
    if e.batteries.size:
        obs = np.concatenate([obs, *e.observe_batteries()])
        mask = np.concatenate([mask, *e.battery_masks()])
    return obs, mask


def _order(e: Engagement, action: np.ndarray, heads: int, n_units: int, teams: bool) -> None:
    """``DronefrontEnv``'s orders of one flat action."""
    rows = action[:n_units].reshape(-1, heads)
    if teams:
        e.order_teams(rows)
    else:
        e.order_platoons(rows)
    if e.batteries.size:
        e.order_batteries(action[n_units:])


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def engagement_names() -> list[str]:
    """Built-in scenarios that load as engagements with attacker platoons."""
    from dronefront.errors import UserError
    from dronefront.scenario.loader import builtin_names

    names = []
    for name in builtin_names():
        try:
            s = load_scenario(name)
        except UserError:
            continue  # a campaign
        if s.sides.attacker.units:
            names.append(name)
    return names


def register_all() -> list[str]:
    """Register ``dronefront/<Name>-v0`` for every built-in engagement; returns the ids."""
    ids = []
    for name in engagement_names():
        env_id = f"dronefront/{_camel(name)}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id, entry_point="dronefront.rl.envs:DronefrontEnv",
                vector_entry_point="dronefront.rl.envs:DronefrontVectorEnv",
                kwargs={"scenario": name}, disable_env_checker=True)
        ids.append(env_id)
    return ids
