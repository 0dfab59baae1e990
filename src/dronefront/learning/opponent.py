"""The drone side adapts back: targeting, radio/fibre mix, night capability, decoys.

After each engagement:

- targeting: a Thompson-sampling bandit over the policies (nearest, densest, random,
  highest value), rewarded with attacker casualties per FPV strike;
- drone mix: the fibre share of FPV teams moves towards the share of radio FPVs lost to
  jamming: ``f <- (1 - rate) f + rate * min(1, jam_share * mix_gain)``;
- timing: the thermal (night-capable) share of teams moves towards the share of assaults
  made at night: ``h <- (1 - rate) h + rate * night``;
- decoys: a captured note that shows a decoy drill cuts the probability that a drone
  commits to a decoy: ``c <- c * (1 - note_effect)``; an engagement in which drones were
  shot down while committed to a decoy gives ``c <- c * (1 - rate * note_effect)``.
"""

from __future__ import annotations

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
        self.means = np.zeros(len(POLICIES))
        self.means[start] = 0.5
        self.counts = np.ones(len(POLICIES))
        self.notes_read = 0
        self._key = stream_key(seed, "learning.drone_side")

    def policy(self, day: int) -> str:
        if not (self.enabled and self.config.targeting):
            return self.config.initial_policy
        z = np.array([normal(self._key, day, k, 0) for k in range(len(POLICIES))])
        return POLICIES[int(np.argmax(self.means + z / np.sqrt(self.counts + 1.0)))]

    def update(self, summary: dict[str, Any], policy: str, night: bool) -> None:
        if not self.enabled:
            return
        rate = self.config.rate
        attacker = summary["sides"]["attacker"]
        if self.config.targeting and attacker["casualties_per_fpv_strike"] is not None:
            k = POLICIES.index(policy)
            self.counts[k] += 1
            step = max(rate, 1.0 / self.counts[k])
            self.means[k] += step * (attacker["casualties_per_fpv_strike"] - self.means[k])
        drones = summary["drones"]["defender"]
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
