"""Doctrine as explicit per-unit choices, and the learners that update them between fights.

A doctrine is one option per dimension (spacing, drill, shooters, spotters, concealment,
night movement). Each unit holds a factorised distribution over the options: one
probability vector per dimension. Every assault the unit samples a doctrine, fights, and
gets a reward ``r = progress - casualty_weight * casualties / strength``. Learners:

- ``cross_entropy``: keep the last ``memory`` (doctrine, reward) pairs; the elite fraction
  ``elite`` by reward gives option frequencies ``f``; ``p <- (1 - rate) p + rate f``.
- ``thompson``: per dimension and option a Gaussian belief (mean, count); each assault
  draws ``mu + N(0, 1) * scale / sqrt(count + 1)`` per option and takes the best; the chosen
  options' means move towards the reward with step ``max(rate, 1 / count)``.
- ``imitation``: once a day, ``p <- (1 - rate) p + rate * onehot(d*)`` where ``d*`` is the
  best-rewarded doctrine in the memory of the best unit (highest mean reward).
- ``none``: the distribution never changes (learning switched off).

The cross-entropy and imitation learners keep a floor ``explore`` on each option's
probability so that no option is ruled out for good (Thompson sampling explores by itself).
Draws come from counter-based streams keyed by (day, unit, dimension), so switching a
learner off does not move any other random number.

Coherence: a :class:`Requirement` ties one dimension's options to another's. By default a
drill that engages drones needs shooters (> 0) and a drill that does not engage has none.
Dimensions are sampled in an order where a conditioned dimension comes after the one it
depends on, and its probabilities are renormalised over the options allowed by what was
already drawn, so an incoherent doctrine is never sampled. A dimension that a choice forces
to a single option was not a choice: learners do not learn from it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dronefront.engine.rng import normal, stream_key, uniform

DEFAULT_OPTIONS: dict[str, list[Any]] = {
    "spacing": [1.5, 3.0, 6.0, 10.0, 15.0],
    "drill": ["none", "freeze", "disperse", "engage", "freeze+engage", "decoy+engage"],
    "shooters": [0, 2, 4, 8],
    "spotters": [0, 1, 2],
    "concealment": [0.0, 0.3, 0.6],
    "night": [False, True],
}
DEFAULT_HABIT: dict[str, Any] = {
    "spacing": 1.5, "drill": "none", "shooters": 0, "spotters": 0, "concealment": 0.0,
    "night": False,
}


class Requirement(BaseModel):
    """When an option of ``dimension`` contains ``contains``, ``then`` must be one of
    ``allowed``; otherwise one of ``otherwise`` (empty: any option).

    >>> rule = Requirement(dimension="drill", contains="engage", then="shooters",
    ...                    allowed=[2, 4, 8], otherwise=[0])
    >>> rule.permitted("freeze+engage"), rule.permitted("freeze")
    ([2, 4, 8], [0])
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dimension: str = Field(description="The deciding dimension, e.g. drill.")
    contains: str = Field(min_length=1, description="Token in the deciding option's name.")
    then: str = Field(description="The dimension it constrains, e.g. shooters.")
    allowed: list[Any] = Field(min_length=1, description="Options of `then` if it holds.")
    otherwise: list[Any] = Field(default_factory=list,
                                 description="Options of `then` if not (empty: any).")

    def holds(self, option: Any) -> bool:
        return self.contains in str(option)

    def permitted(self, option: Any) -> list[Any]:
        return self.allowed if self.holds(option) else self.otherwise


def _default_requirements() -> list[Requirement]:
    return [Requirement(dimension="drill", contains="engage", then="shooters",
                        allowed=[2, 4, 8], otherwise=[0])]


class DoctrineSpace(BaseModel):
    """The options a unit can choose from, the habits it starts with, and the requirements
    that keep a sampled doctrine coherent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    options: dict[str, list[Any]] = Field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    habit: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_HABIT))
    habit_weight: float = Field(0.9, ge=0.0, le=1.0,
                                description="Initial probability of each habitual option.")
    requires: list[Requirement] = Field(
        default_factory=_default_requirements,
        description="Coherence between dimensions (default: an engaging drill needs "
        "shooters, any other drill has none). Requirements on dimensions a space does not "
        "have are ignored.")

    @model_validator(mode="after")
    def _coherent(self) -> DoctrineSpace:
        seen: set[str] = set()
        for k, rule in enumerate(self.active_requirements()):
            opts = self.options[rule.then]
            for value in (*rule.allowed, *rule.otherwise):
                if value not in opts:
                    raise ValueError(f"requires.{k}: {value!r} is not an option of "
                                     f"{rule.then!r}")
            if rule.then in seen or rule.then == rule.dimension:
                raise ValueError(f"requires.{k}: {rule.then!r} is already constrained")
            seen.add(rule.then)
            if rule.dimension in seen:
                raise ValueError(f"requires.{k}: a constrained dimension cannot decide "
                                 "another")
        return self

    def active_requirements(self) -> list[Requirement]:
        """The requirements whose dimensions this space has."""
        return [r for r in self.requires if r.dimension in self.options
                and r.then in self.options]

    def order(self) -> list[int]:
        """Dimension indices in sampling order: constrained dimensions last."""
        names = list(self.options)
        late = {r.then for r in self.active_requirements()}
        return ([d for d, n in enumerate(names) if n not in late]
                + [d for d, n in enumerate(names) if n in late])

    def mask(self, d: int, choice: np.ndarray) -> np.ndarray:
        """Which options of dimension ``d`` the already chosen dimensions allow."""
        names = list(self.options)
        opts = self.options[names[d]]
        ok = np.ones(len(opts), bool)
        for rule in self.active_requirements():
            if rule.then == names[d]:
                decider = self.options[rule.dimension][int(choice[names.index(rule.dimension)])]
                permitted = rule.permitted(decider)
                if permitted:
                    ok &= np.array([o in permitted for o in opts])
        return ok

    def free(self, choice: np.ndarray) -> np.ndarray:
        """Per dimension, whether the choice left more than one option open (else it was
        forced and carries no lesson)."""
        return np.array([self.mask(d, choice).sum() > 1 for d in range(len(self.options))])

    def coherent(self, choice: np.ndarray) -> bool:
        """Whether a choice satisfies every requirement."""
        return all(bool(self.mask(d, choice)[int(k)]) for d, k in enumerate(choice))

    def initial(self) -> list[np.ndarray]:
        probs = []
        for name, options in self.options.items():
            p = np.full(len(options), (1.0 - self.habit_weight) / max(len(options) - 1, 1))
            if name in self.habit and self.habit[name] in options:
                p[options.index(self.habit[name])] = self.habit_weight
            else:
                p[:] = 1.0 / len(options)
            probs.append(p / p.sum())
        return probs

    def decode(self, choice: np.ndarray) -> dict[str, Any]:
        """Option values of a choice (one index per dimension)."""
        return {name: opts[int(i)] for (name, opts), i in zip(self.options.items(), choice,
                                                               strict=True)}


def sample_choice(space: DoctrineSpace, probs: list[np.ndarray], key: np.uint64, a: int,
                  b: int, order: list[int] | None = None) -> np.ndarray:
    """A coherent doctrine drawn from per-dimension probabilities ``probs`` (one option
    index per dimension): dimension ``d`` takes ``uniform(key, a, b, d)``, restricted to the
    options the dimensions drawn before it allow (:meth:`DoctrineSpace.mask`).

    >>> space = DoctrineSpace()
    >>> choice = sample_choice(space, space.initial(), np.uint64(7), 0, 0)
    >>> space.coherent(choice)
    True
    """
    choice = np.zeros(len(probs), np.int64)
    for d in space.order() if order is None else order:
        ok = space.mask(d, choice)
        p = probs[d] * ok
        if p.sum() <= 0.0:  # every permitted option has probability 0: pick among them
            p = ok.astype(float)
        u = uniform(key, a, b, d) * p.sum()
        k = min(int(np.searchsorted(np.cumsum(p), u, side="right")), p.size - 1)
        while p[k] == 0.0:  # rounding at the top end: the last permitted option
            k -= 1
        choice[d] = k
    return choice


class LearnerConfig(BaseModel):
    """Which learner a side uses and how fast it learns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["cross_entropy", "thompson", "imitation", "none"] = "cross_entropy"
    rate: float = Field(0.3, ge=0.0, le=1.0)
    memory: int = Field(8, ge=1)
    elite: float = Field(0.25, gt=0.0, le=1.0)
    explore: float = Field(0.02, ge=0.0, le=0.2)
    scale: float = Field(0.3, gt=0.0, description="Thompson prior spread of rewards.")
    casualty_weight: float = Field(2.0, ge=0.0)


class DoctrineLearner:
    """Per-unit doctrine distributions and their updates.

    >>> learner = DoctrineLearner(DoctrineSpace(), LearnerConfig(), n_units=2, seed=1)
    >>> choice = learner.choose(0, day=0)
    >>> learner.space.decode(choice)["spacing"] in DEFAULT_OPTIONS["spacing"]
    True
    """

    def __init__(self, space: DoctrineSpace, config: LearnerConfig, n_units: int,
                 seed: int, enabled: bool = True) -> None:
        self.space = space
        self.config = config
        self.enabled = enabled and config.kind != "none"
        self.probs = [space.initial() for _ in range(n_units)]
        sizes = [len(o) for o in space.options.values()]
        habit = space.initial()
        # Thompson beliefs: the habitual option starts slightly preferred.
        self.means = [[(p - p.mean()) * 0.1 for p in habit] for _ in range(n_units)]
        self.counts = [[np.ones(k) for k in sizes] for _ in range(n_units)]
        self.history: list[deque] = [deque(maxlen=config.memory) for _ in range(n_units)]
        self._key = stream_key(seed, "learning.doctrine")
        self._order = space.order()

    # ------------------------------------------------------------------ choosing
    def choose(self, unit: int, day: int) -> np.ndarray:
        """Sample the unit's doctrine for today's assault (one option index per dimension)."""
        if self.enabled and self.config.kind == "thompson":
            return self._thompson_choice(unit, day)
        return sample_choice(self.space, self.probs[unit], self._key, day, unit, self._order)

    def _thompson_choice(self, unit: int, day: int) -> np.ndarray:
        choice = np.zeros(len(self.means[unit]), np.int64)
        for d in self._order:
            mu, n = self.means[unit][d], self.counts[unit][d]
            z = np.array([normal(self._key, day, unit, 1000 * d + k) for k in range(mu.size)])
            draw = mu + z * self.config.scale / np.sqrt(n + 1.0)
            choice[d] = int(np.argmax(np.where(self.space.mask(d, choice), draw, -np.inf)))
        return choice

    # ------------------------------------------------------------------ learning
    def reward(self, progress: float, casualty_rate: float) -> float:
        return float(progress - self.config.casualty_weight * casualty_rate)

    def update(self, unit: int, choice: np.ndarray, reward: float) -> None:
        """Learn from the unit's own assault."""
        self.history[unit].append((np.asarray(choice), float(reward)))
        if not self.enabled:
            return
        kind = self.config.kind
        if kind == "cross_entropy":
            self._cross_entropy(unit)
        elif kind == "thompson":
            free = self.space.free(choice)
            for d, k in enumerate(choice):
                if not free[d]:
                    continue
                n = self.counts[unit][d]
                n[k] += 1
                step = max(self.config.rate, 1.0 / n[k])
                self.means[unit][d][k] += step * (reward - self.means[unit][d][k])
            self.probs[unit] = self._thompson_probs(unit)

    def end_of_day(self) -> None:
        """Imitation of the best unit happens once a day, after all assaults."""
        if not self.enabled or self.config.kind != "imitation":
            return
        best = self.best_unit()
        if best is None:
            return
        choice = max(self.history[best], key=lambda item: item[1])[0]
        for unit in range(len(self.probs)):
            if unit != best:
                self.imitate(unit, choice, self.config.rate)

    def best_unit(self) -> int | None:
        scores = [np.mean([r for _, r in h]) if h else -np.inf for h in self.history]
        return None if not np.isfinite(max(scores)) else int(np.argmax(scores))

    def imitate(self, unit: int, choice: np.ndarray, weight: float) -> None:
        """Move a unit's distribution towards another doctrine (a note read, a best unit)."""
        if not self.enabled:
            return
        free = self.space.free(choice)
        for d, k in enumerate(choice):
            if not free[d]:
                continue
            onehot = np.zeros_like(self.probs[unit][d])
            onehot[k] = 1.0
            self.probs[unit][d] = (1 - weight) * self.probs[unit][d] + weight * onehot
            if self.config.kind == "thompson":
                mu = self.means[unit][d]
                mu[k] += weight * (mu.max() + 0.05 - mu[k])
        self._floor(unit)

    def _cross_entropy(self, unit: int) -> None:
        history = self.history[unit]
        n_elite = max(1, int(round(self.config.elite * len(history))))
        ranked = sorted(history, key=lambda item: -item[1])[:n_elite]
        free = [self.space.free(c) for c, _ in ranked]
        for d, p in enumerate(self.probs[unit]):
            picks = [int(c[d]) for (c, _), f in zip(ranked, free, strict=True) if f[d]]
            if not picks:  # forced in every elite doctrine: nothing learned about it
                continue
            freq = np.bincount(picks, minlength=p.size) / len(picks)
            self.probs[unit][d] = (1 - self.config.rate) * p + self.config.rate * freq
        self._floor(unit)

    def _thompson_probs(self, unit: int, draws: int = 64) -> list[np.ndarray]:
        out = []
        rng = np.random.default_rng(0)  # only for reporting the choice probabilities
        for mu, n in zip(self.means[unit], self.counts[unit], strict=True):
            z = rng.standard_normal((draws, mu.size))
            picks = np.argmax(mu + z * self.config.scale / np.sqrt(n + 1.0), axis=1)
            out.append(np.bincount(picks, minlength=mu.size) / draws)
        return out

    def _floor(self, unit: int) -> None:
        eps = self.config.explore
        for d, p in enumerate(self.probs[unit]):
            p = np.maximum(p, eps)
            self.probs[unit][d] = p / p.sum()

    def mode(self, unit: int) -> np.ndarray:
        """The most probable option per dimension, among those the modes of the deciding
        dimensions permit (so the modal doctrine is coherent too)."""
        choice = np.zeros(len(self.probs[unit]), np.int64)
        for d in self._order:
            choice[d] = int(np.argmax(np.where(self.space.mask(d, choice),
                                               self.probs[unit][d], -1.0)))
        return choice
