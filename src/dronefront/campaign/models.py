"""Campaign files: a calendar of engagements, logistics and learning for both sides."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dronefront import limits
from dronefront.learning.diffusion import DiffusionConfig
from dronefront.learning.doctrine import DoctrineSpace, LearnerConfig
from dronefront.learning.opponent import DroneSideConfig
from dronefront.learning.skills import SkillCurve
from dronefront.limits import Count


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pause(Model):
    """Days without assaults (inclusive): rest, refit, or withdrawal from the line."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> Pause:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class Reinforcement(Model):
    """Untrained replacements arriving on a date, spread over the battalions."""

    date: dt.date
    count: Count = Field(ge=0)


class Force(Model):
    """The attacking force: battalions that take turns to send an assault group forward."""

    strength: Count = Field(ge=1, description="Soldiers committed at the start.")
    battalions: Count = Field(ge=1)
    assault_size: Count = Field(ge=1, description="Soldiers in one day's assault group.")
    companies_per_assault: int = Field(3, ge=1)
    company_gap: float = Field(250.0, gt=0, description="Distance between companies, m.")
    assaults_per_day: Count = Field(1, ge=0)
    min_assault_share: float = Field(
        0.75, ge=0.0, le=1.0,
        description="A battalion is sent forward only if it can field this share of an "
        "assault group; otherwise it is spent and the turn passes.",
    )


class Evacuation(Model):
    """What happens to the wounded: all leave; the lightly wounded come back."""

    light_share: float = Field(0.4, ge=0.0, le=1.0)
    return_days: int = Field(14, ge=0)


class Stock(Model):
    """A stock of drones of one type or of shells, with daily production."""

    initial: int = Field(ge=0)
    production_per_day: float = Field(0.0, ge=0.0)


class Skills(Model):
    enabled: bool = True
    spotting: SkillCurve = SkillCurve(form="exponential", start=0.3, ceiling=1.2, rate=0.15)
    marksmanship: SkillCurve = SkillCurve(form="exponential", start=0.005, ceiling=0.3,
                                          rate=0.1)


class AttackerLearning(Model):
    skills: Skills = Skills()
    doctrine: DoctrineSpace = DoctrineSpace()
    learner: LearnerConfig = LearnerConfig()
    diffusion: DiffusionConfig = DiffusionConfig()


class Learning(Model):
    attacker: AttackerLearning = AttackerLearning()
    defender: DroneSideConfig = DroneSideConfig()


class Campaign(Model):
    """A campaign: engagements on a calendar, fed by logistics and learning."""

    kind: Literal["campaign"] = "campaign"
    name: str
    description: str = ""
    engagement: str = Field(description="Engagement scenario used as the daily template.")
    engagement_overrides: dict[str, Any] = Field(
        default_factory=dict, description="Dotted-path changes to the template."
    )
    start: dt.date
    end: dt.date
    pauses: list[Pause] = Field(default_factory=list)
    force: Force
    reinforcements: list[Reinforcement] = Field(default_factory=list)
    evacuation: Evacuation = Evacuation()
    drone_stocks: dict[str, Stock] = Field(default_factory=dict)
    shells: Stock = Stock(initial=10_000, production_per_day=0.0)
    learning: Learning = Learning()

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self

    @model_validator(mode="after")
    def _sizes(self) -> Campaign:
        limits.require("campaign_days", self.days, "end", unit="days (start to end)")
        force = self.force
        limits.require("battalions", force.battalions, "force.battalions")
        limits.require("soldiers", force.assault_size, "force.assault_size")
        limits.require("campaign_strength", force.strength, "force.strength")
        arriving = sum(r.count for r in self.reinforcements)
        limits.require("campaign_strength", force.strength + arriving, "reinforcements",
                       unit="soldiers with reinforcements")
        limits.require("engagements", self.days * force.assaults_per_day,
                       "force.assaults_per_day", unit=f"engagements ({self.days} days x "
                       f"{limits.fmt(force.assaults_per_day)} assaults per day)")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def paused(self, date: dt.date) -> bool:
        return any(p.start <= date <= p.end for p in self.pauses)
