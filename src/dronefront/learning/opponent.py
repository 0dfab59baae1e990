"""The drone side adapts back: targeting, radio/fibre mix, night capability, decoys.

After each engagement:

- targeting: a Thompson-sampling bandit over the policies (nearest, densest, random,
  highest value). Its reward is the attacker's FPV casualties per FPV sortie ``x``, put on
  a [0, 1) scale by a running scale ``m`` (a moving mean of ``x``): ``r = x / (x + m)``, so
  an engagement as good as usual scores 0.5. Beliefs start at 0.5 (the initial policy a
  little above) and each draw is ``mu + z * max(explore, spread / sqrt(n + 1))``: the
  spread never falls below ``explore``, so the bandit keeps trying the other policies; the
  chosen policy's mean moves by ``max(forget, 1 / n) * (r - mu)``;
- drone mix: the fibre share of FPV teams moves towards the share of radio FPVs lost to
  jamming: ``f <- (1 - rate) f + rate * min(1, jam_share * mix_gain)``;
- timing: the thermal (night-capable) share of teams moves towards the share of assaults
  made at night: ``h <- (1 - rate) h + rate * night``;
- decoys: a captured note that shows a decoy drill cuts the probability that a drone
  commits to a decoy: ``c <- c * (1 - note_effect)``; an engagement in which drones were
  shot down while committed to a decoy gives ``c <- c * (1 - rate * note_effect)``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dronefront.engine.rng import normal, stream_key
from dronefront.engine.state import POLICIES
from dronefront.scenario.models import TargetPolicy


class DroneSideConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    targeting: bool = True
    drone_mix: bool = True
    timing: bool = True
    notes: bool = True
    rate: float = Field(0.2, ge=0.0, le=1.0)
    initial_policy: TargetPolicy = "densest"
    initial_fibre_share: float = Field(0.2, ge=0.0, le=1.0)
    initial_thermal_share: float = Field(0.1, ge=0.0, le=1.0)
    mix_gain: float = Field(1.5, ge=0.0)
    spread: float = Field(0.15, gt=0.0, le=1.0,
                          description="Thompson prior spread on the [0, 1) reward scale.")
    explore: float = Field(0.03, ge=0.0, le=1.0,
                           description="Floor on the Thompson spread: exploration never "
                           "stops.")
    habit_bonus: float = Field(0.1, ge=0.0, le=0.5,
                               description="Prior edge of the initial policy over the others.")
    forget: float = Field(0.05, ge=0.0, le=1.0,
                          description="Floor on the targeting bandit's step 1/n: how fast "
                          "old rewards fade (the attacker changes too).")
    scale_rate: float = Field(0.1, gt=0.0, le=1.0,
                              description="Weight of each engagement in the running reward "
                              "scale.")
    initial_decoy_commit: float = Field(0.7, ge=0.0, le=1.0)
    note_effect: float = Field(0.5, ge=0.0, le=1.0)


class DroneSide:
    """The drone side's adaptive state between engagements."""

    def __init__(self, config: DroneSideConfig, seed: int, enabled: bool = True) -> None:
        self.config = config
        self.enabled = enabled and config.enabled
        self.fibre_share = config.initial_fibre_share
        self.thermal_share = config.initial_thermal_share
        self.decoy_commit = config.initial_decoy_commit
        start = POLICIES.index(config.initial_policy)
        self.means = np.full(len(POLICIES), 0.5)
        self.means[start] += config.habit_bonus
        self.counts = np.ones(len(POLICIES))
        self.reward_scale: float | None = None  # set by the first engagement with sorties
        self.notes_read = 0
        self._key = stream_key(seed, "learning.drone_side")

    def policy(self, day: int) -> str:
        if not (self.enabled and self.config.targeting):
            return self.config.initial_policy
        z = np.array([normal(self._key, day, k, 0) for k in range(len(POLICIES))])
        return POLICIES[int(np.argmax(self.means + z * self.spreads()))]

    def spreads(self) -> np.ndarray:
        """Each policy's Thompson spread: shrinks with use, never below ``explore``."""
        return np.maximum(self.config.explore,
                          self.config.spread / np.sqrt(self.counts + 1.0))

    def normalised(self, x: float) -> float:
        """A raw reward on the [0, 1) scale, and the running scale updated with it.

        >>> side = DroneSide(DroneSideConfig(scale_rate=0.5), seed=0)
        >>> side.normalised(2.0), side.normalised(2.0), side.normalised(0.0)
        (0.5, 0.5, 0.0)
        """
        m = x if self.reward_scale is None else self.reward_scale
        r = x / (x + m) if x + m > 0 else 0.5
        rate = self.config.scale_rate
        self.reward_scale = x if self.reward_scale is None else (1 - rate) * m + rate * x
        return float(r)

    def update(self, summary: dict[str, Any], policy: str, night: bool,
               fpv_types: Collection[str] | None = None) -> None:
        """Adapt after an engagement (``fpv_types``: see :func:`fpv_casualties_per_sortie`)."""
        if not self.enabled:
            return
        rate = self.config.rate
        attacker = summary["sides"]["attacker"]
        drones = summary["drones"]["defender"]
        x = fpv_casualties_per_sortie(summary, fpv_types)
        if self.config.targeting and x is not None:
            k = POLICIES.index(policy)
            self.counts[k] += 1
            step = max(self.config.forget, 1.0 / self.counts[k])
            self.means[k] += step * (self.normalised(x) - self.means[k])
        radio = [v for name, v in drones.items() if name.startswith("fpv_radio")]
        launched = sum(v["launched"] for v in radio)
        if self.config.drone_mix and launched:
            jam_share = sum(v["jammed"] for v in radio) / launched
            target = min(1.0, jam_share * self.config.mix_gain)
            self.fibre_share = (1 - rate) * self.fibre_share + rate * target
        if self.config.timing:
            self.thermal_share = (1 - rate) * self.thermal_share + rate * float(night)
        if self.config.notes and attacker["decoy_shoot_downs"]:
            self.decoy_commit *= 1 - rate * self.config.note_effect

    def read_note(self, drill: str) -> None:
        """A captured note: if it shows a decoy drill, commit less to decoys."""
        if not (self.enabled and self.config.notes):
            return
        self.notes_read += 1
        if "decoy" in drill:
            self.decoy_commit *= 1 - self.config.note_effect


def fpv_casualties_per_sortie(summary: dict[str, Any],
                              fpv_types: Collection[str] | None = None) -> float | None:
    """Attacker casualties caused by FPV-role drones per FPV-role sortie launched (None if
    none flew). ``fpv_types`` names the FPV-role types; by default, names starting "fpv".

    >>> fpv_casualties_per_sortie({
    ...     "sides": {"attacker": {"casualties_by_cause": {
    ...         "fpv_radio": {"killed": 2, "wounded": 4},
    ...         "artillery": {"killed": 9, "wounded": 0}}}},
    ...     "drones": {"defender": {"fpv_radio": {"launched": 10}, "bomber": {"launched": 2}}}})
    0.6
    """
    def is_fpv(name: str) -> bool:
        return name in fpv_types if fpv_types is not None else name.startswith("fpv")

    launched = sum(v["launched"] for name, v in summary["drones"]["defender"].items()
                   if is_fpv(name))
    if not launched:
        return None
    causes = summary["sides"]["attacker"].get("casualties_by_cause", {})
    hurt = sum(c["killed"] + c["wounded"] for name, c in causes.items()
               if is_fpv(name))
    return hurt / launched
