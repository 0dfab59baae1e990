"""The learning environments: API conformance, determinism and doctrine equivalence."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
pytest.importorskip("gymnasium")

import gymnasium  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import parallel_api_test, parallel_seed_test  # noqa: E402

import dronefront.rl as rl  # noqa: E402
from dronefront.engine.sim import Sim  # noqa: E402
from dronefront.rl.core import PLATOON_NVEC, Engagement  # noqa: E402
from dronefront.scenario.loader import load_scenario  # noqa: E402

SHORT = ["duration=120"]
NAMES = rl.engagement_names()


def test_every_builtin_engagement_is_registered() -> None:
    assert "kursk-assault" in NAMES and "kursk-assault-dispersed" in NAMES
    assert "dronefront/KurskAssault-v0" in rl.ENV_IDS
    assert len(rl.ENV_IDS) == len(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_pettingzoo_api_and_seed(name: str) -> None:
    parallel_api_test(rl.parallel_env(name, control="both", overrides=SHORT), num_cycles=40)
    parallel_seed_test(lambda: rl.parallel_env(name, control="both", overrides=SHORT))


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_single_and_vector(name: str) -> None:
    check_env(rl.DronefrontEnv(name, overrides=SHORT), skip_render_check=True)
    vec = rl.DronefrontVectorEnv(3, name, overrides=SHORT)
    for sub in vec.envs:  # the copies the vector env steps are checked envs too
        check_env(sub, skip_render_check=True)
    obs, info = vec.reset(seed=5)
    assert obs.shape == (3,) + vec.single_observation_space.shape
    assert vec.observation_space.contains(obs)
    assert info["action_mask"].shape[0] == 3


def test_make_and_make_vec() -> None:
    env = gymnasium.make("dronefront/KurskAssault-v0", overrides=SHORT)
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    vec = gymnasium.make_vec("dronefront/KurskAssault-v0", num_envs=2,
                             vectorization_mode="vector_entry_point", overrides=SHORT)
    assert isinstance(vec, rl.DronefrontVectorEnv)


def test_vector_autoreset_next_step() -> None:
    """An ended copy returns a fresh first observation with reward 0 on the next step."""
    vec = rl.DronefrontVectorEnv(2, "kursk-assault", overrides=["duration=30"],
                                 decision_interval=10)
    first, _ = vec.reset(seed=3)
    act = np.zeros((2, vec.single_action_space.shape[0]), np.int64)
    ended = None
    for _ in range(3):
        _, _, term, trunc, _ = vec.step(act)
        ended = term | trunc
    assert ended.all()
    obs, rew, term, trunc, _ = vec.step(act)
    assert (rew == 0).all() and not term.any() and not trunc.any()
    assert np.allclose(obs[:, 10::16], 1.0)  # time_left of a fresh episode


def _trajectory(env: rl.DronefrontEnv, seed: int, actions: np.ndarray) -> list:
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((obs, r))
        if term or trunc:
            break
    return out


def test_same_seed_same_actions_same_trajectory() -> None:
    env = rl.DronefrontEnv("kursk-assault", overrides=["duration=900"])
    acts = np.random.default_rng(0).integers(0, np.tile(PLATOON_NVEC, 4), (60, 20))
    a, b = _trajectory(env, 7, acts), _trajectory(env, 7, acts)
    assert len(a) == len(b)
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1]
               for x, y in zip(a[1:], b[1:], strict=True))
    c = _trajectory(env, 8, acts)
    assert any(not np.array_equal(x[0], y[0]) for x, y in zip(a[1:], c[1:], strict=False))


@pytest.mark.parametrize("name", ["kursk-assault", "kursk-assault-dispersed", "fpv-drill"])
def test_doctrine_through_the_env_is_the_scripted_run(name: str) -> None:
    """Acceptance 4: the doctrine played as actions gives the scripted run, bit for bit."""
    scenario = load_scenario(name)
    e = Engagement(scenario, 11)
    while True:
        e.order_platoons(e.doctrine_actions())
        _, terms, truncated = e.advance()
        if truncated:
            break
    got = e.finish()
    want = Sim(scenario, seed=11, events=False).run()
    assert got.summary == want.summary
    assert got.timeseries.equals(want.timeseries)
    assert np.array_equal(got.state.soldiers.x, want.state.soldiers.x)


def test_orders_change_the_fight() -> None:
    """Halting every platoon for the whole run stops progress; the doctrine makes some."""
    scenario = load_scenario("kursk-assault", ["duration=900"])
    progress = {}
    for label, move in (("doctrine", 0), ("halt", 1)):
        vals = []
        for seed in range(3):
            e = Engagement(scenario, seed)
            while True:
                a = e.doctrine_actions()
                a[:, 0] = move
                e.order_platoons(a)
                _, _, truncated = e.advance()
                if truncated:
                    break
            vals.append(e.finish().summary["sides"]["attacker"]["objective_progress"])
        progress[label] = np.mean(vals)
    assert progress["halt"] == 0.0
    assert progress["doctrine"] > 0.05


def test_masked_orders_are_ignored() -> None:
    """Open ground with no cover near: 'cover' is masked and ignored."""
    e = Engagement(load_scenario("reference-open-field", ["parameters.N=60", "duration=60"]), 1)
    mask = e.platoon_masks()
    assert not mask[:, 3].any()
    a = e.doctrine_actions()
    a[:, 0] = 3
    e.order_platoons(a)
    assert (e.orders[e.platoons, 0] == 0).all()


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from dronefront.errors import UserError
    from dronefront.extras import require

    monkeypatch.setattr("dronefront.extras._findable", lambda m: m != "pettingzoo")
    with pytest.raises(UserError, match=r"pip install 'dronefront\[rl\]'"):
        require("dronefront.rl", "rl")
