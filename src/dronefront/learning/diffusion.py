"""Lesson diffusion: written notes passed between units, and notes the enemy captures.

Every day each directed edge ``i -> j`` of the note network carries a note with
probability ``probability``. A note is unit ``i``'s last doctrine and its reward; unit
``j`` imitates it with weight ``note_weight`` if ``i`` fared better than ``j`` did.
Notes also travel the wrong way: each soldier killed carries a note with probability
``capture_per_killed``; a captured note tells the enemy the unit's drill.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dronefront.engine.rng import stream_key, uniform
from dronefront.learning.doctrine import DoctrineLearner


class DiffusionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    probability: float = Field(0.3, ge=0.0, le=1.0, description="Per edge per day.")
    network: Literal["complete", "ring"] = "complete"
    note_weight: float = Field(0.3, ge=0.0, le=1.0)
    capture_per_killed: float = Field(0.01, ge=0.0, le=1.0)


class NoteNetwork:
    """Who writes to whom, and the daily passing of notes.

    >>> net = NoteNetwork(DiffusionConfig(network="ring"), n_units=3, seed=1)
    >>> net.edges
    [(0, 1), (1, 0), (1, 2), (2, 1), (2, 0), (0, 2)]
    """

    def __init__(self, config: DiffusionConfig, n_units: int, seed: int,
                 enabled: bool = True) -> None:
        self.config = config
        self.enabled = enabled and config.enabled
        if config.network == "complete":
            self.edges = [(i, j) for i in range(n_units) for j in range(n_units) if i != j]
        else:
            self.edges = []
            for i in range(n_units):
                j = (i + 1) % n_units
                if i != j:
                    self.edges += [(i, j), (j, i)]
            self.edges = list(dict.fromkeys(self.edges))
        self._key = stream_key(seed, "learning.notes")
        self._capture_key = stream_key(seed, "learning.capture")

    def share(self, day: int, learner: DoctrineLearner) -> int:
        """Pass today's notes; returns how many were read and acted on."""
        if not self.enabled or self.config.probability == 0.0:
            return 0
        last = [h[-1] if h else None for h in learner.history]
        acted = 0
        for e, (i, j) in enumerate(self.edges):
            if last[i] is None or uniform(self._key, day, e, 0) >= self.config.probability:
                continue
            if last[j] is None or last[i][1] > last[j][1]:
                learner.imitate(j, last[i][0], self.config.note_weight)
                acted += 1
        return acted

    def captured(self, day: int, unit: int, killed: int) -> bool:
        """Whether the enemy captures at least one of a unit's notes from its dead."""
        if killed <= 0 or self.config.capture_per_killed == 0.0:
            return False
        p = 1.0 - (1.0 - self.config.capture_per_killed) ** killed
        return bool(uniform(self._capture_key, day, unit, 0) < p)


def mean_reward(learner: DoctrineLearner) -> np.ndarray:
    """Each unit's mean reward over its memory (nan where it has none)."""
    return np.array([np.mean([r for _, r in h]) if h else np.nan for h in learner.history])
