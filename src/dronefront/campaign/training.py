"""Train doctrine learners on one fixed engagement, trial after trial.

This isolates unit learning from the campaign's other moving parts: the same engagement,
the same seeds trial by trial (common random numbers), only the doctrine changes.

>>> from dronefront.learning.doctrine import LearnerConfig
>>> out = train_doctrine("kursk-assault", LearnerConfig(), trials=1, company_size=30,
...                      overrides={"duration": 300})
>>> out.casualty_rate.shape
(1, 3)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from dronefront.campaign.assault import assault_scenario
from dronefront.engine.rng import stream_key
from dronefront.engine.sim import Sim
from dronefront.learning.doctrine import DoctrineLearner, DoctrineSpace, LearnerConfig
from dronefront.scenario.loader import load_raw, set_path, validate


@dataclass
class TrainingResult:
    """Per trial and company: reward, casualty rate, and the doctrine chosen."""

    reward: np.ndarray  # (trials, companies)
    casualty_rate: np.ndarray
    choices: list[list[dict[str, Any]]]
    learner: DoctrineLearner


def train_doctrine(
    engagement: str,
    learner: LearnerConfig,
    *,
    space: DoctrineSpace | None = None,
    trials: int = 12,
    companies: int = 3,
    company_size: int = 60,
    gap: float = 250.0,
    seed: int = 0,
    enabled: bool = True,
    overrides: dict[str, Any] | None = None,
) -> TrainingResult:
    """Each trial, each company (one learner unit) picks a doctrine and they attack together."""
    data, _, display = load_raw(engagement)
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value, file="overrides")
    template = validate(copy.deepcopy(data), file=display).model_dump(mode="json")
    space = space or DoctrineSpace()
    brain = DoctrineLearner(space, learner, companies, seed, enabled=enabled)
    reward = np.zeros((trials, companies))
    rate = np.zeros((trials, companies))
    chosen: list[list[dict[str, Any]]] = []
    for t in range(trials):
        picks = [brain.choose(k, t) for k in range(companies)]
        doctrines = [space.decode(c) for c in picks]
        night = sum(bool(d.get("night", False)) for d in doctrines) * 2 > companies
        scenario = validate(
            assault_scenario(template, [company_size] * companies, doctrines, gap, night),
            file=display,
        )
        trial_seed = int(stream_key(seed, f"training.trial.{t}") % (2**31 - 1))
        units = Sim(scenario, seed=trial_seed, events=False).run().summary["units"]
        for k in range(companies):
            unit = units[f"company-{k + 1}"]
            rate[t, k] = (unit["killed"] + unit["wounded"]) / unit["initial"]
            reward[t, k] = brain.reward(unit["progress"] or 0.0, rate[t, k])
            brain.update(k, picks[k], reward[t, k])
        brain.end_of_day()
        chosen.append(doctrines)
    return TrainingResult(reward, rate, chosen, brain)
