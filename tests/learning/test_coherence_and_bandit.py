"""Coherent doctrine sampling, and the drone side's normalised, ever-exploring bandit."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from dronefront.engine.state import POLICIES
from dronefront.learning.diffusion import DiffusionConfig, NoteNetwork
from dronefront.learning.doctrine import (
    DoctrineLearner,
    DoctrineSpace,
    LearnerConfig,
    Requirement,
)
from dronefront.learning.opponent import DroneSide, DroneSideConfig


def _incoherent(doctrine: dict) -> bool:
    engages = "engage" in doctrine["drill"]
    return engages != (doctrine["shooters"] > 0)


@pytest.mark.parametrize("kind", ["cross_entropy", "thompson", "imitation", "none"])
def test_no_sampled_doctrine_is_ever_incoherent(kind):
    """Many draws, seeds and learners, with rewards that favour engaging and notes passing:
    every doctrine sampled (and every modal doctrine) pairs an engaging drill with shooters
    and any other drill with none, while both kinds of drill do get sampled."""
    engaging = quiet = 0
    for seed in range(3):
        learner = DoctrineLearner(DoctrineSpace(), LearnerConfig(kind=kind), 4, seed=seed)
        notes = NoteNetwork(DiffusionConfig(probability=0.5), 4, seed=seed)
        rng = np.random.default_rng(seed)
        for day in range(120):
            for unit in range(4):
                choice = learner.choose(unit, day)
                doctrine = learner.space.decode(choice)
                assert not _incoherent(doctrine), (kind, seed, day, doctrine)
                assert learner.space.coherent(choice)
                engaging += "engage" in doctrine["drill"]
                quiet += "engage" not in doctrine["drill"]
                reward = float("engage" in doctrine["drill"]) + rng.normal(0, 0.3)
                learner.update(unit, choice, reward)
            learner.end_of_day()
            notes.share(day, learner)
            for unit in range(4):
                assert not _incoherent(learner.space.decode(learner.mode(unit)))
    assert engaging > 50 and quiet > 5, (engaging, quiet)


def test_the_old_factorised_sampler_would_have_drawn_incoherent_doctrines():
    """The marginals alone (an engage drill likely, no shooters likely) are exactly the case
    the requirement must repair: sampled doctrines stay coherent and the mode is coherent."""
    learner = DoctrineLearner(DoctrineSpace(), LearnerConfig(), 1, seed=5)
    drill = list(learner.space.options).index("drill")
    shooters = list(learner.space.options).index("shooters")
    learner.probs[0][drill] = np.array([0.02, 0.02, 0.02, 0.9, 0.02, 0.02])
    learner.probs[0][shooters] = np.array([0.94, 0.02, 0.02, 0.02])
    picks = [learner.space.decode(learner.choose(0, day)) for day in range(400)]
    assert sum("engage" in p["drill"] for p in picks) > 300
    assert not any(_incoherent(p) for p in picks)
    assert learner.space.decode(learner.mode(0))["drill"] == "engage"
    assert learner.space.decode(learner.mode(0))["shooters"] in (2, 4, 8)


def test_a_forced_dimension_teaches_nothing():
    """Doctrines without an engaging drill have shooters forced to 0: a cross-entropy update
    on them leaves the shooters distribution where it was, while the drill moves."""
    learner = DoctrineLearner(DoctrineSpace(), LearnerConfig(rate=0.5), 1, seed=2)
    space = learner.space
    shooters = list(space.options).index("shooters")
    drill = list(space.options).index("drill")
    before_shooters = learner.probs[0][shooters].copy()
    before_drill = learner.probs[0][drill].copy()
    freeze = np.array([0, space.options["drill"].index("freeze"), 0, 0, 0, 0])
    for _ in range(5):
        learner.update(0, freeze, reward=1.0)
    np.testing.assert_array_equal(learner.probs[0][shooters], before_shooters)
    assert learner.probs[0][drill][space.options["drill"].index("freeze")] > before_drill[1]


def test_requirement_options_are_checked():
    with pytest.raises(ValidationError, match="not an option"):
        DoctrineSpace(requires=[Requirement(dimension="drill", contains="engage",
                                            then="shooters", allowed=[3])])
    # a space without the shooters dimension simply has no requirement to apply
    space = DoctrineSpace(options={"spacing": [1.5, 6.0], "drill": ["none", "engage"]},
                          habit={"spacing": 1.5, "drill": "none"})
    assert space.active_requirements() == []


# ------------------------------------------------------------------ drone-side bandit

def _summary(casualties: float, sorties: int = 10) -> dict:
    return {"sides": {"attacker": {"casualties_by_cause": {
                "fpv_radio": {"killed": 0, "wounded": casualties}},
                "decoy_shoot_downs": 0}},
            "drones": {"defender": {"fpv_radio": {"launched": sorties, "jammed": 0}}}}


def _play(side: DroneSide, days: int, value: dict[str, float], scale: float = 1.0) -> list:
    """A synthetic world: each policy yields a fixed FPV casualties per sortie."""
    picks = []
    for day in range(days):
        policy = side.policy(day)
        picks.append(policy)
        side.update(_summary(value[policy] * scale * 10), policy, night=False)
    return picks


def test_normalised_reward_is_on_a_zero_one_scale_with_a_matched_prior():
    side = DroneSide(DroneSideConfig(scale_rate=0.2), seed=0)
    assert side.means.min() == pytest.approx(0.5)
    assert side.means[POLICIES.index("densest")] == pytest.approx(0.5 + side.config.habit_bonus)
    rewards = [side.normalised(x) for x in (3.0, 3.0, 6.0, 0.0, 4.5, 200.0)]
    assert rewards[:2] == [0.5, 0.5]
    assert all(0.0 <= r < 1.0 for r in rewards)
    assert rewards[2] > 0.6 and rewards[3] == 0.0


def test_bandit_is_blind_to_the_units_of_its_reward():
    """Casualties per sortie of 2-5 or of 0.02-0.05 give the same choices: the reward is
    normalised, so the prior means the same thing at any scale."""
    value = {"nearest": 0.5, "densest": 0.2, "random": 0.3, "highest_value": 0.35,
             "weighted": 0.25}
    a = _play(DroneSide(DroneSideConfig(), seed=4), 150, value, scale=10.0)
    b = _play(DroneSide(DroneSideConfig(), seed=4), 150, value, scale=0.1)
    assert a == b


def test_bandit_finds_the_better_policy_and_never_stops_exploring():
    """Nearest yields 2.5x densest's casualties per sortie: the bandit, which starts out
    preferring densest, ends up mostly on nearest, yet still tries the others late on."""
    value = {"nearest": 0.5, "densest": 0.2, "random": 0.25, "highest_value": 0.3,
             "weighted": 0.28}
    late_best, late_other = 0, 0
    for seed in range(6):
        side = DroneSide(DroneSideConfig(), seed=seed)
        picks = _play(side, 600, value)
        late = picks[-300:]
        late_best += late.count("nearest")
        late_other += len(late) - late.count("nearest")
        assert side.spreads().min() >= side.config.explore
    assert late_best / (late_best + late_other) > 0.7
    assert late_other > 6 * 5, "exploration must not die out"
    no_floor = 0
    for seed in range(6):
        side = DroneSide(DroneSideConfig(explore=0.0, spread=0.05), seed=seed)
        late = _play(side, 600, value)[-300:]
        no_floor += len(late) - late.count("nearest")
    assert late_other > no_floor, (late_other, no_floor)
