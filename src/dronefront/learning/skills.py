"""Individual learning: skill as a function of drone encounters survived.

Two curves, each with a start value ``s0`` (an untrained soldier), a ceiling ``s_max`` and
a rate ``k``, for ``e`` encounters survived:

- exponential: ``s(e) = s_max - (s_max - s0) * exp(-k * e)``
- power law (the "power law of practice", Newell & Rosenbloom 1981):
  ``s(e) = s_max - (s_max - s0) * (1 + e) ** (-k)``

>>> curve = SkillCurve(form="exponential", start=0.2, ceiling=1.0, rate=0.5)
>>> round(float(curve(0)), 3), round(float(curve(2)), 3)
(0.2, 0.706)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class SkillCurve(BaseModel):
    """A learning curve from encounters survived to a skill value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form: Literal["exponential", "power"] = "exponential"
    start: float = Field(ge=0.0)
    ceiling: float = Field(ge=0.0)
    rate: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _order(self) -> SkillCurve:
        if self.ceiling < self.start:
            raise ValueError("ceiling must be at least start")
        return self

    def __call__(self, encounters: np.ndarray | float) -> np.ndarray:
        e = np.asarray(encounters, dtype=float)
        gap = self.ceiling - self.start
        if self.form == "exponential":
            return self.ceiling - gap * np.exp(-self.rate * e)
        return self.ceiling - gap * (1.0 + e) ** (-self.rate)
