"""The vector environment on one ensemble: each copy is the single environment with its
seed, to the bit, across autoresets and while copies are on different steps."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

import dronefront.rl as rl  # noqa: E402


def _single(name: str, overrides: list[str], seed: int, actions: np.ndarray, **kw) -> list:
    """``DronefrontEnv`` played as one copy of a next-step autoresetting vector env."""
    env = rl.DronefrontEnv(name, overrides=overrides, **kw)
    obs, info = env.reset(seed=seed)
    out = [(obs, 0.0, False, False, info["action_mask"])]
    done = False
    for a in actions:
        if done:
            obs, info = env.reset()
            out.append((obs, 0.0, False, False, info["action_mask"]))
            done = False
            continue
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, term, trunc, info["action_mask"]))
        done = term or trunc
    return out


def _vector(vec, seed: int, actions: np.ndarray) -> list[list]:
    obs, info = vec.reset(seed=seed)
    out = [[(obs[i], 0.0, False, False, info["action_mask"][i])] for i in range(vec.num_envs)]
    for a in actions:
        obs, r, term, trunc, info = vec.step(a)
        for i in range(vec.num_envs):
            out[i].append((obs[i], r[i], term[i], trunc[i], info["action_mask"][i]))
    return out


def _equal(a: list, b: list) -> None:
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b, strict=True)):
        assert np.array_equal(x[0], y[0]), t
        assert x[1] == y[1] and x[2] == y[2] and x[3] == y[3], t
        assert np.array_equal(x[4], y[4]), t


@pytest.mark.parametrize(("name", "overrides", "decisions"), [
    ("kursk-assault", ["duration=200"], 60),  # 20 decisions an episode: two autoresets
    ("fpv-drill", ["duration=120"], 40),
    # platoons with and without doctrine spotters and shooters (orders arm and post)
    ("fortified-line-breach-veterans", ["duration=90"], 12),
    ("lanchester-aimed-fire", ["duration=90"], 12),  # 8 platoons: pairwise row sums
])
def test_vector_copies_are_the_single_env(name, overrides, decisions) -> None:
    """Random actions: copy i (seed 10 + i) equals DronefrontEnv(seed 10 + i), rewards,
    terminations, truncations and masks included, through next-step autoresets."""
    vec = rl.DronefrontVectorEnv(3, name, overrides=overrides)
    assert vec.engine.fast  # the vectorised platoon path is the one under test
    rng = np.random.default_rng(1)
    nvec = vec.single_action_space.nvec
    acts = rng.integers(0, nvec, (decisions, 3, nvec.size))
    got = _vector(vec, 10, acts)
    resets = 0
    for i in range(3):
        want = _single(name, overrides, 10 + i, acts[:, i])
        _equal(got[i], want)
        resets += sum(bool(x[2] or x[3]) for x in want)
    assert resets >= 2


def test_copies_end_at_different_decisions_and_stay_exact() -> None:
    """Copies whose episodes end at different decisions (terminations under a halting,
    hold-fire policy) restart while the others go on: every copy still equals its single
    env, so the ensemble's replicates on different steps are exact too."""
    name, overrides = "kursk-assault", ["duration=1200"]
    vec = rl.DronefrontVectorEnv(4, name, overrides=overrides)
    rng = np.random.default_rng(3)
    nvec = vec.single_action_space.nvec
    acts = rng.integers(0, nvec, (130, 4, nvec.size))
    got = _vector(vec, 20, acts)
    ends = set()
    for i in range(4):
        want = _single(name, overrides, 20 + i, acts[:, i])
        _equal(got[i], want)
        ends |= {t for t, x in enumerate(want) if x[2] or x[3]}
    steps = vec.engine.steps
    assert len(ends) >= 2  # not every copy ended together
    assert steps.min() != steps.max() or len(ends) >= 3


def test_defender_and_batteries_copies_are_the_single_env() -> None:
    """The per-copy path (drone teams and batteries as the agent) on the ensemble."""
    overrides = ["duration=150"]
    vec = rl.DronefrontVectorEnv(2, "kursk-assault", overrides=overrides, side="defender",
                                 batteries=True)
    assert not vec.engine.fast
    rng = np.random.default_rng(2)
    nvec = vec.single_action_space.nvec
    acts = rng.integers(0, nvec, (40, 2, nvec.size))
    got = _vector(vec, 4, acts)
    for i in range(2):
        _equal(got[i], _single("kursk-assault", overrides, 4 + i, acts[:, i], side="defender",
                               batteries=True))


def test_vector_env_spaces_and_reset_determinism() -> None:
    vec = rl.DronefrontVectorEnv(3, "kursk-assault", overrides=["duration=100"])
    obs, info = vec.reset(seed=[5, 6, 7])
    assert vec.observation_space.contains(obs)
    assert info["action_mask"].shape == (3, 4 * 14)
    again, _ = vec.reset(seed=5)  # an int seeds copy i with seed + i
    assert np.array_equal(obs, again)
    act = vec.action_space.sample()
    a = vec.step(act)
    vec.reset(seed=5)
    b = vec.step(act)
    for x, y in zip(a[:4], b[:4], strict=True):
        assert np.array_equal(x, y)
    assert vec.observation_space.contains(a[0])
