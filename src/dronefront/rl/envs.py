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

from dronefront.rl.core import (
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


def _split(mask: np.ndarray, nvec: np.ndarray) -> tuple[np.ndarray, ...]:
    """A flat mask as the tuple of per-head masks ``MultiDiscrete.sample`` takes."""
    return tuple(np.split(mask, np.cumsum(nvec)[:-1]))


def _seed_from(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**62))


class DronefrontParallelEnv(ParallelEnv):
    """PettingZoo ``ParallelEnv``: attacker platoons (and/or defender drone teams) as agents.

    Each agent observes ``{"observation": Box, "action_mask": MultiBinary}`` and acts with a
    ``MultiDiscrete`` (docs/rl.md lists the heads and features).
    """

    metadata = {"name": "dronefront_v0", "render_modes": []}

    def __init__(self, scenario: Scenario | str = "kursk-assault", *, control: str = "attacker",
                 decision_interval: float | None = None, overrides: Any = None,
                 seed: int = 0) -> None:
        self.scenario = _scenario(scenario, overrides)
        self.engagement = Engagement(self.scenario, seed, control=control,
                                     decision_interval=decision_interval)
        self.possible_agents = list(self.engagement.agents)
        self.agents = []
        self._spaces = {}
        for a in self.possible_agents:
            team = a.startswith("team_")
            nvec, feats = (TEAM_NVEC, TEAM_FEATURES) if team else (PLATOON_NVEC, PLATOON_FEATURES)
            self._spaces[a] = (
                spaces.Dict({"observation": spaces.Box(0.0, 1.0, (len(feats),), np.float32),
                             "action_mask": spaces.Tuple(
                                 [spaces.MultiBinary(int(k)) for k in nvec])}),
                spaces.MultiDiscrete(nvec))
        self._rng = np.random.default_rng(seed)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}

    def observation_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][0]

    def action_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][1]

    def state(self) -> np.ndarray:
        """Every attacker platoon's and defender team's features, for centralised critics."""
        return self.engagement.state_vector()

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        e = self.engagement
        po, pm = e.observe(), e.platoon_masks().astype(np.int8)
        to, tm = e.observe_teams(), e.team_masks().astype(np.int8)
        out = {}
        n_p = e.platoons.size
        for a in self.agents:
            i = self._index[a]
            if i < n_p:
                out[a] = {"observation": po[i], "action_mask": _split(pm[i], PLATOON_NVEC)}
            else:
                out[a] = {"observation": to[i - n_p],
                          "action_mask": _split(tm[i - n_p], TEAM_NVEC)}
        return out

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.engagement.reset(_seed_from(self._rng))
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        e = self.engagement
        n_p = e.platoons.size
        if n_p:
            rows = e.doctrine_actions()
            for a, act in actions.items():
                i = self._index[a]
                if i < n_p and a in self.agents:
                    rows[i] = act
            e.order_platoons(rows)
        if e.teams.size:
            rows = e.team_orders[e.teams].copy()
            for a, act in actions.items():
                i = self._index[a]
                if i >= n_p and a in self.agents:
                    rows[i - n_p] = act
            e.order_teams(rows)
        rewards, terms, truncated = e.advance()
        agents = self.agents
        obs = self._observations()
        rew = {a: rewards[a] for a in agents}
        term = {a: terms[a] for a in agents}
        trunc = {a: truncated and not terms[a] for a in agents}
        info = {a: {} for a in agents}
        self.agents = [a for a in agents if not (term[a] or trunc[a])]
        return obs, rew, term, trunc, info

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
    teams') heads, a flat ``Box`` of their features; the other side follows its doctrine.

    ``info["action_mask"]`` holds the allowed options (flattened like the action heads).
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: Scenario | str = "kursk-assault", *, side: str = "attacker",
                 decision_interval: float | None = None, overrides: Any = None) -> None:
        self.scenario = _scenario(scenario, overrides)
        self.engagement = Engagement(self.scenario, 0, control=side,
                                     decision_interval=decision_interval)
        e = self.engagement
        self.teams = side == "defender"
        n = e.teams.size if self.teams else e.platoons.size
        nvec, feats = (TEAM_NVEC, TEAM_FEATURES) if self.teams else (PLATOON_NVEC, PLATOON_FEATURES)
        self.action_space = spaces.MultiDiscrete(np.tile(nvec, n))
        self.observation_space = spaces.Box(0.0, 1.0, (n * len(feats),), np.float32)
        self.heads = len(nvec)

    def _obs(self) -> tuple[np.ndarray, dict]:
        e = self.engagement
        if self.teams:
            return e.observe_teams().ravel(), {"action_mask": e.team_masks().ravel()}
        return e.observe().ravel(), {"action_mask": e.platoon_masks().ravel()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.engagement.reset(_seed_from(self.np_random))
        return self._obs()

    def step(self, action: np.ndarray):
        e = self.engagement
        rows = np.asarray(action, np.int64).reshape(-1, self.heads)
        if self.teams:
            e.order_teams(rows)
        else:
            e.order_platoons(rows)
        rewards, terms, truncated = e.advance()
        obs, info = self._obs()
        terminated = all(terms.values())
        return obs, float(sum(rewards.values())), terminated, truncated and not terminated, info


class DronefrontVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`DronefrontEnv` advanced in lockstep by one object.

    Autoreset follows Gymnasium's next-step mode: the step after an episode ends resets that
    copy and returns its first observation with reward 0. Today the copies are separate
    ``Sim`` objects stepped in turn; the class keeps its interface when they move to the
    ensemble engine.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 8, scenario: Scenario | str = "kursk-assault",
                 **kwargs: Any) -> None:
        self.envs = [DronefrontEnv(scenario, **kwargs) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.single_action_space = self.envs[0].action_space
        self.single_observation_space = self.envs[0].observation_space
        self.action_space = gymnasium.vector.utils.batch_space(self.single_action_space, num_envs)
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, num_envs)
        self._done = np.zeros(num_envs, bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = ([seed + i for i in range(self.num_envs)] if isinstance(seed, int)
                 else seed or [None] * self.num_envs)
        obs, masks = [], []
        for env, s in zip(self.envs, seeds, strict=True):
            o, info = env.reset(seed=s)
            obs.append(o)
            masks.append(info["action_mask"])
        self._done[:] = False
        return np.stack(obs), {"action_mask": np.stack(masks)}

    def step(self, actions: np.ndarray):
        n = self.num_envs
        obs = np.zeros((n,) + self.single_observation_space.shape, np.float32)
        rew = np.zeros(n)
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        masks = []
        for i, env in enumerate(self.envs):
            if self._done[i]:
                obs[i], info = env.reset()
            else:
                obs[i], rew[i], term[i], trunc[i], info = env.step(actions[i])
            masks.append(info["action_mask"])
        self._done = term | trunc
        return obs, rew, term, trunc, {"action_mask": np.stack(masks)}


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
