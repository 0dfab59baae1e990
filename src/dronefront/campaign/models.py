"""Campaign files: a calendar of engagements, logistics and learning for both sides."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

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


class CampaignLessons(Model):
    """Veterans and the drone side's adapted state from a lessons file (docs/model.md
    §16.6): ``lessons: FILE`` or a mapping."""

    file: str = Field(description="Lessons file (dronefront-lessons/1 or /2), relative to the "
                      "campaign file.")
    veterans: float | list[float] = Field(
        1.0, description="Share of each battalion's soldiers at the start who are veterans "
        "(one share, or one per battalion); battalion b draws from the file's battalion "
        "b modulo the file's count.")
    drone_side: bool = Field(
        True, description="Start the drone side from the file's adapted state (targeting "
        "beliefs, fibre and thermal shares, decoy commitment); stocks stay the campaign's.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"file": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _shares(self) -> CampaignLessons:
        shares = self.veterans if isinstance(self.veterans, list) else [self.veterans]
        if any(not 0.0 <= v <= 1.0 for v in shares):
            raise ValueError("veterans: each share must be in [0, 1]")
        return self

    def share(self, battalion: int) -> float:
        v = self.veterans
        return float(v[battalion % len(v)] if isinstance(v, list) else v)


#: ``NAME OP NUMBER`` with NAME one of the campaign's state variables (``Condition``).
CONDITION = re.compile(r"^\s*(stock\.[A-Za-z_][\w-]*|ammunition\.[A-Za-z_][\w-]*|shells|day|"
                       r"strength|casualties)\s*"
                       r"(<=|>=|<|>|==)\s*(-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*$")


class TimelineEvent(Model):
    """Something that reaches one side on a date, or on the first day a condition holds
    (checked each morning after production): deliveries into stocks, new production rates,
    and technology as changes to the engagement template from then on."""

    date: dt.date | None = Field(None, description="The day it arrives.")
    when: str | None = Field(
        None, description="Or: the first morning this holds, `NAME OP NUMBER` with NAME "
        "stock.TYPE, ammunition.CLASS, shells, day, strength or casualties, e.g. "
        "`stock.fpv_radio < 50`.")
    side: Literal["attacker", "defender"] = Field(
        "defender", description="Who receives it (the attacker's stocks are its "
        "counter-drone ammunition, `ammunition.CLASS`; the defender's its drones and "
        "shells).")
    label: str = Field("", description="What it is, for the summary.")
    receive: dict[str, float] = Field(
        default_factory=dict, description="Items delivered: `shells` or a stocked drone "
        "type (defender), `ammunition.CLASS` rounds (attacker), with how many.")
    production: dict[str, float] = Field(
        default_factory=dict, description="New daily production of `shells` or a stocked "
        "drone type from then on.")
    engagement: dict[str, Any] = Field(
        default_factory=dict, description="Technology: dotted-path changes to the "
        "engagement template from then on (a jammer upgrade, longer fibre spools...).")

    @model_validator(mode="after")
    def _trigger(self) -> TimelineEvent:
        if (self.date is None) == (self.when is None):
            raise ValueError("give exactly one of date and when")
        if self.when is not None and not CONDITION.match(self.when):
            raise ValueError("when: expected NAME OP NUMBER with NAME stock.TYPE, "
                             "ammunition.CLASS, shells, day, strength or casualties and OP "
                             f"<, <=, >, >=, == (got "
                             f"{self.when[:60]!r})")
        for key in ("receive", "production"):
            for item, n in getattr(self, key).items():
                if not (n >= 0.0 and n < float("inf")):
                    raise ValueError(f"{key}.{item}: must be a finite number >= 0")
        for key in ("receive", "production"):
            for item in getattr(self, key):
                if item.startswith("ammunition.") != (self.side == "attacker"):
                    raise ValueError(
                        f"{key}.{item}: the attacker's stocks are its counter-drone "
                        "ammunition (ammunition.CLASS), the defender's its drones and shells")
        return self

    def holds(self, values: dict[str, float]) -> bool:
        """Whether the condition holds for the campaign's state ``values``.

        >>> TimelineEvent(when="stock.fpv_radio < 50").holds({"stock.fpv_radio": 40.0})
        True
        """
        m = CONDITION.match(self.when or "")
        assert m is not None
        name, op, number = m.groups()
        x, y = values.get(name), float(number)
        if x is None:
            return False
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y, "==": x == y}[op]


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
    ammunition: dict[str, Stock] = Field(
        default_factory=dict, description="The attacker's counter-drone rounds in stock, by "
        "weapon class (docs/model.md §16.8): each assault draws the rounds its soldiers "
        "fire; a short stock issues each soldier a proportional part of his load. Classes "
        "not listed are unlimited.")
    learning: Learning = Learning()
    lessons: CampaignLessons | None = Field(
        None, description="Start from a lessons file: veterans and the drone side's state.")
    timeline: list[TimelineEvent] = Field(
        default_factory=list, description="Deliveries and technology arrivals by date or "
        "condition.")

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: SerializerFunctionWrapHandler) -> dict:
        """A campaign without lessons or timeline dumps as it did before they existed."""
        data = handler(self)
        if isinstance(data, dict):
            if self.lessons is None:
                data.pop("lessons", None)
            if not self.timeline:
                data.pop("timeline", None)
            if not self.ammunition:
                data.pop("ammunition", None)
        return data

    @model_validator(mode="after")
    def _dates(self) -> Campaign:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        for k, event in enumerate(self.timeline):
            if event.date is not None and not self.start <= event.date <= self.end:
                raise ValueError(f"timeline.{k}.date: outside the campaign ({self.start} to "
                                 f"{self.end})")
        return self

    @model_validator(mode="after")
    def _sizes(self) -> Campaign:
        limits.require("campaign_days", self.days, "end", unit="days (start to end)")
        force = self.force
        limits.require("battalions", force.battalions, "force.battalions")
        limits.require("soldiers", force.assault_size, "force.assault_size")
        limits.require("campaign_strength", force.strength, "force.strength")
        limits.require("campaign_days", len(self.timeline), "timeline",
                       unit="timeline events")
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
