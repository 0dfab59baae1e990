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
    """With every kind of agent the scenario has (platoons, drone teams, batteries)."""
    parallel_api_test(rl.parallel_env(name, control="both", overrides=SHORT, batteries=True),
                      num_cycles=40)
    parallel_seed_test(lambda: rl.parallel_env(name, control="both", overrides=SHORT,
                                                batteries=True))


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_single_and_vector(name: str) -> None:
    check_env(rl.DronefrontEnv(name, overrides=SHORT), skip_render_check=True)
    scenario = load_scenario(name, SHORT)
    for side in ("attacker", "defender"):  # with the side's batteries where it has any
        if getattr(scenario.sides, side).batteries:
            env = rl.DronefrontEnv(scenario, side=side, batteries=True)
            assert env.engagement.batteries.size
            check_env(env, skip_render_check=True)
    vec = rl.DronefrontVectorEnv(3, name, overrides=SHORT)
    # the env describing the copies' spaces (each copy is its trajectory: test_vector.py)
    check_env(vec.single, skip_render_check=True)
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


@pytest.mark.parametrize("name", ["kursk-assault", "fortified-line-breach"])
def test_batteries_on_the_rule_through_the_env_are_the_scripted_run(name: str) -> None:
    """Every kind of agent (batteries of both sides included) repeating its standing
    orders, the batteries' being the engine's own rule, gives ``Sim.run`` bit for bit."""
    from dronefront.rl.policies import play

    scenario = load_scenario(name)
    e = Engagement(scenario, 5, control="both", batteries=True)
    assert e.batteries.size == scenario_batteries(scenario)
    got = play(e, "doctrine")
    want = Sim(scenario, seed=5, events=False).run()
    assert got.summary == want.summary
    assert got.timeseries.equals(want.timeseries)
    assert got.state.batteries.fired.sum() > 0  # the batteries did fight


def scenario_batteries(scenario) -> int:
    return sum(len(getattr(scenario.sides, side).batteries) for side in ("attacker", "defender"))


def _battery_run(seed: int, fire: int):
    """kursk-assault with the defender's battery on a standing ``fire`` option (re-issued
    each decision while masked, so it takes once allowed); returns the engagement, the
    result and the step the order took."""
    e = Engagement(load_scenario("kursk-assault"), seed, control="defender", batteries=True,
                   events=True)
    took = None
    while True:
        e.order_batteries(np.array([fire]))
        if took is None and e.battery_orders[0] == fire:
            took = e.state.step
        _, _, truncated = e.advance()
        if truncated:
            return e, e.finish(), took


def test_battery_fires_only_at_the_ordered_track() -> None:
    """Ordered onto one platoon's track, every mission the battery calls from then on is on
    that platoon; on the rule it spreads its missions over the platoons it sees."""
    targets = {}
    for label, fire in (("rule", 0), ("platoon_2", 2 + 2)):
        seen = []
        for seed in range(4):
            _, result, took = _battery_run(seed, fire)
            ev = result.events.to_pandas()
            calls = ev[(ev["kind"] == "call_for_fire") & (ev["actor"] == 0)
                       & (ev["step"] >= (took if took is not None else 1 << 40))]
            seen += calls["platoon"].tolist()
        targets[label] = seen
    assert targets["platoon_2"] and set(targets["platoon_2"]) == {2}
    assert len(set(targets["rule"])) > 1


def test_battery_hold_fire_saves_rounds_and_lives() -> None:
    """Holding fire from the start: no shell falls and no attacker is hit by artillery."""
    fired = {"rule": [], "hold": []}
    for seed in range(3):
        for label, fire in (("rule", 0), ("hold", 1)):
            e, result, _ = _battery_run(seed, fire)
            fired[label].append(int(e.state.batteries.fired[0]))
            if label == "hold":
                causes = result.summary["sides"]["attacker"]["casualties_by_cause"]
                assert "artillery" not in causes or not sum(causes["artillery"].values())
    assert sum(fired["hold"]) == 0 and sum(fired["rule"]) > 0


def test_battery_masks_and_observation() -> None:
    """A battery may order only fresh, large enough tracks in range; its observation says so."""
    e = Engagement(load_scenario("kursk-assault"), 2, control="defender", batteries=True)
    k = len(rl.core.BATTERY_FEATURES)
    saw_track = False
    for _ in range(60):
        e.advance()
        (mask,), (obs,) = e.battery_masks(), e.observe_batteries()
        tracks = obs[k:].reshape(-1, len(rl.core.TRACK_FEATURES))
        assert mask[:2].all()
        assert not (mask[2:] & (tracks[:, 0] == 0)).any()  # no stale or unseen target
        saw_track |= bool(mask[2:].any())
    assert saw_track
    before = e.battery_orders.copy()
    stale = np.flatnonzero(~e.battery_masks()[0][2:])
    if stale.size:  # an impossible order is ignored
        e.order_batteries(np.array([2 + stale[0]]))
        assert (e.battery_orders == before).all()


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


def test_battery_orders_wake_the_artillery_memo() -> None:
    from tests.engine.test_memos import _bits

    """An outside order (hold, then the rule again) takes on the step it is given: the
    run equals, to the bit, one whose artillery stage forgets its memo before every call."""

    def run(forget: bool):
        e = Engagement(load_scenario("kursk-assault"), 3, control="defender",
                       batteries=True, events=True)
        if forget:
            art = next(s for s in e.sim.stages if s.name == "artillery")

            class Forgetful:
                name = "artillery"

                def __call__(self, state, log) -> None:
                    art.wake = 0
                    art(state, log)

            e.sim.stages = [Forgetful() if s is art else s for s in e.sim.stages]
        decisions, epochs = 0, []
        while True:
            e.order_batteries(np.array([1 if 10 <= decisions < 40 else 0]))
            epochs.append(e.state.order_epoch)
            decisions += 1
            _, _, truncated = e.advance()
            if truncated:
                return e.finish(), epochs

    (memo, epochs), (plain, _) = run(False), run(True)
    assert epochs[-1] == 2  # hold, then back to the rule
    assert memo.summary == plain.summary
    assert _bits(memo.events) == _bits(plain.events)
    assert sum(memo.summary["sides"]["attacker"]["casualties_by_cause"]["artillery"].values()) > 0
