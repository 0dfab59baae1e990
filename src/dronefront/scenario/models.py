"""Typed, immutable scenario models.

A scenario is data: every mechanic reads its parameters from here, and every default is
documented (with its source or "assumption") in ``docs/model.md``. Units are metres, seconds
and US dollars.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from dronefront import limits
from dronefront.limits import Count

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Point = tuple[float, float]

SIDES = ("attacker", "defender")
DrillAction = Literal["freeze", "disperse", "ground", "engage", "decoy"]
BreakAction = Literal["halt", "ground", "withdraw"]
#: Concealment and protection of a soldier gone to ground, for scenarios that omit "prone".
PRONE_DEFAULTS = {"posture_concealment": 0.4, "posture_protection": 0.4}
TargetPolicy = Literal["nearest", "densest", "random", "highest_value", "weighted"]
CareMode = Literal["none", "treat", "drag"]
Role = Literal["rifleman", "spotter", "shooter", "decoy", "observer"]


class Model(BaseModel):
    """Base for every scenario model: unknown fields are errors, instances are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- terrain
class TerrainClass(Model):
    """Effects of one terrain class on the soldiers standing in it."""

    concealment: Probability = Field(description="Share of detections it prevents (0-1).")
    cover: Probability = Field(description="Share of blast lethality it absorbs (0-1).")
    movement: Positive = Field(description="Speed multiplier for soldiers crossing it.")


DEFAULT_TERRAIN_CLASSES: dict[str, TerrainClass] = {
    "open": TerrainClass(concealment=0.0, cover=0.0, movement=1.0),
    "treeline": TerrainClass(concealment=0.6, cover=0.3, movement=0.7),
    "forest": TerrainClass(concealment=0.8, cover=0.4, movement=0.5),
    "village": TerrainClass(concealment=0.6, cover=0.6, movement=0.7),
    "trench": TerrainClass(concealment=0.5, cover=0.8, movement=0.4),
    "road": TerrainClass(concealment=0.0, cover=0.0, movement=1.2),
}


class Feature(Model):
    """A patch of terrain class painted over the default, as a rectangle or a polygon."""

    terrain: str
    rect: tuple[float, float, float, float] | None = Field(
        default=None, description="x0, y0, x1, y1 in metres."
    )
    polygon: list[Point] | None = Field(default=None, min_length=3)

    @model_validator(mode="after")
    def _one_shape(self) -> Feature:
        if (self.rect is None) == (self.polygon is None):
            raise ValueError("give exactly one of rect or polygon")
        return self


class Terrain(Model):
    """A raster of terrain classes built from features or loaded from a file."""

    bounds: tuple[float, float, float, float] = Field(
        default=(-1000.0, -1000.0, 1000.0, 1000.0), description="x0, y0, x1, y1 in metres."
    )
    cell_size: Positive = 10.0
    default: str = "open"
    classes: dict[str, TerrainClass] = Field(default_factory=dict)
    features: list[Feature] = Field(default_factory=list)
    raster_file: str | None = Field(
        default=None,
        description="CSV of class names, one row per raster row from the top (max y) down; "
        "a path relative to the scenario file's folder, which it must stay inside.",
    )

    @model_validator(mode="after")
    def _check(self) -> Terrain:
        x0, y0, x1, y1 = self.bounds
        if x1 <= x0 or y1 <= y0:
            raise ValueError("bounds must have x1 > x0 and y1 > y0")
        known = set(DEFAULT_TERRAIN_CLASSES) | set(self.classes)
        named = [("default", self.default)] + [
            (f"features.{i}.terrain", f.terrain) for i, f in enumerate(self.features)]
        for where, name in named:
            if name not in known:
                raise ValueError(f"{where}: unknown terrain class {name!r}; "
                                 f"known: {sorted(known)}")
        return self

    def all_classes(self) -> dict[str, TerrainClass]:
        return {**DEFAULT_TERRAIN_CLASSES, **self.classes}


class Objective(Model):
    """An area (rectangle or polygon) a unit must reach; soldiers inside it hold."""

    name: str
    rect: tuple[float, float, float, float] | None = None
    polygon: list[Point] | None = Field(default=None, min_length=3)
    breach_share: Annotated[float, Field(gt=0.0, le=1.0)] | None = Field(
        None, description="A breach: at the end, healthy soldiers holding this objective are "
        "at least this share of the soldiers sent to it (summary breach.NAME); absent: no "
        "breach is scored.")

    @model_serializer(mode="wrap")
    def _omit_no_breach(self, handler: SerializerFunctionWrapHandler) -> dict:
        """An objective without a breach share dumps as it did before the field existed."""
        data = handler(self)
        if isinstance(data, dict) and self.breach_share is None:
            data.pop("breach_share", None)
        return data

    @model_validator(mode="after")
    def _one_shape(self) -> Objective:
        if (self.rect is None) == (self.polygon is None):
            raise ValueError("give exactly one of rect or polygon")
        return self


# --------------------------------------------------------------------------- weapons
class Ring(Model):
    """Kill and wound probabilities out to ``radius`` (beyond the previous ring)."""

    radius: Positive
    kill: Probability
    wound: Probability = 0.0

    @model_validator(mode="after")
    def _sum(self) -> Ring:
        if self.kill + self.wound > 1.0:
            raise ValueError("kill + wound must not exceed 1")
        return self


Lethality = Annotated[list[Ring], Field(min_length=1)]

#: Bounds of the per-weapon ring scales (docs/model.md §11): wide enough for any fit.
Scale = Annotated[float, Field(ge=0.0, le=10.0)]
_SCALE_FIELDS = ("casualty_scale", "killed_share_scale")


def scaled_ring(kill: float, wound: float, casualty_scale: float = 1.0,
                killed_share_scale: float = 1.0) -> tuple[float, float]:
    """A ring's (kill, wound) after the weapon's two scales (docs/model.md §11).

    ``casualty_scale`` multiplies the casualty probability ``kill + wound`` (capped at 1)
    and keeps the killed share; ``killed_share_scale`` multiplies the killed share
    ``kill / (kill + wound)`` (capped at 1) and keeps the casualty probability. Both 1:
    the ring as given, bit for bit.

    >>> [round(p, 6) for p in scaled_ring(0.6, 0.3, killed_share_scale=0.5)]
    [0.3, 0.6]
    >>> [round(p, 6) for p in scaled_ring(0.6, 0.3, casualty_scale=0.5)]
    [0.3, 0.15]
    """
    if casualty_scale == 1.0 and killed_share_scale == 1.0:
        return kill, wound
    hit = kill + wound
    if hit <= 0.0:
        return 0.0, 0.0
    share = min(1.0, kill / hit * killed_share_scale)
    hit = min(1.0, hit * casualty_scale)
    kill = share * hit
    return kill, hit - kill


def _omit_unit_scales(model: BaseModel, data: Any) -> Any:
    """Scales left at 1 are not dumped: a weapon without them dumps as before they existed."""
    if isinstance(data, dict):
        for name in _SCALE_FIELDS:
            if getattr(model, name) == 1.0:
                data.pop(name, None)
    return data


def _ascending(rings: list[Ring]) -> list[Ring]:
    radii = [r.radius for r in rings]
    if radii != sorted(radii) or len(set(radii)) != len(radii):
        raise ValueError("ring radii must be strictly increasing")
    return rings


class DroneType(Model):
    """One kind of small drone. ``role`` picks its lifecycle in the engine."""

    role: Literal["isr", "fpv", "bomber", "loitering", "interceptor"]
    speed: Positive = Field(description="Cruise speed, m/s.")
    endurance: Positive = Field(description="Flight time per sortie, s.")
    altitude: NonNegative = Field(description="Cruise height above ground, m.")
    link: Literal["radio", "fibre"] = "radio"
    link_range: Positive = Field(description="Farthest distance from the team, m.")
    link_resistance: Probability = Field(
        0.0, description="Share of hostile jamming its radio link shrugs off (strike drones "
        "and interceptors alike; assumption)."
    )
    sensor_range: NonNegative = Field(description="Ground range its camera sees soldiers, m.")
    sensor_detect_prob: Probability = Field(
        description="Per-step probability of seeing an unconcealed soldier in range."
    )
    night_capable: bool = False
    acquire_range: NonNegative = Field(
        300.0, description="Range at which an attack drone picks its own soldier target, m."
    )
    lethality: list[Ring] = Field(default_factory=list)
    casualty_scale: Scale = Field(
        1.0, description="Multiplies every ring's casualty probability kill + wound (capped "
        "at 1), keeping its killed share: how many men the weapon hits (docs/model.md §11)."
    )
    killed_share_scale: Scale = Field(
        1.0, description="Multiplies every ring's killed share kill / (kill + wound) (capped "
        "at 1), keeping its casualty probability: how many of the men hit die (§11)."
    )
    bombs: int = Field(0, ge=0, description="Bombs per sortie (bomber role).")
    bomb_interval: Positive = Field(30.0, description="Seconds between bomb drops.")
    aim_error: NonNegative = Field(0.0, description="Std. dev. of impact point per axis, m.")
    cover_penetration: Probability = Field(
        0.0, description="Share of cover and posture protection its precise delivery defeats."
    )
    signature_range: NonNegative = Field(
        description="Distance at which an average soldier hears or sees it, m."
    )
    cost: NonNegative = Field(description="Unit cost, USD.")
    # Sortie failure and terminal miss (docs/model.md §"Sortie outcomes"); all assumptions.
    failure_prob: Probability = Field(
        0.1, description="Per sortie: technical failure or operator error that loses the "
        "airframe before it reaches a target (assumption)."
    )
    operator_skill: Positive = Field(
        1.0, description="Operator skill; divides the terminal miss hazard (1: a typical "
        "crew; assumption)."
    )
    terminal_miss: Probability = Field(
        0.2, description="Probability that a strike drone's terminal dive misses a still "
        "target, unjammed and not under fire, at skill 1 (assumption)."
    )
    miss_per_speed: NonNegative = Field(
        0.2, description="Terminal miss hazard per m/s of the target's speed (assumption)."
    )
    miss_per_jamming: NonNegative = Field(
        1.5, description="Terminal miss hazard per unit of hostile jamming at the target, "
        "1 - prod(1 - strength) over the jammers covering it (assumption)."
    )
    miss_under_fire: NonNegative = Field(
        0.15, description="Terminal miss hazard per unit of ln(1 + soldiers that fired at "
        "the drone in the latest step) (assumption)."
    )
    # Autonomous terminal guidance (docs/model.md §12a); off at 0.
    autonomy_range: NonNegative = Field(
        0.0, description="Metres from its target over which a strike drone (or an "
        "interceptor, from its quarry) guides itself without a link: immune to jamming there "
        "(0: no autonomy)."
    )
    autonomy_miss: Probability = Field(
        0.25, description="Miss probability of an autonomous terminal dive at a still target, "
        "replacing terminal_miss and the operator's skill (assumption)."
    )
    misidentification: Probability = Field(
        0.1, description="Per autonomous strike: probability its classifier strikes a "
        "non-target (a wounded man, a decoy runner or a dummy) instead (assumption)."
    )
    # Interceptor drones (docs/model.md §12a).
    intercept_range: NonNegative = Field(
        3000.0, description="Interceptor: how far from its team enemy drones are detected "
        "and hunted, m (ground radar or acoustic cueing; assumption)."
    )

    @field_validator("lethality")
    @classmethod
    def _rings_ascending(cls, rings: list[Ring]) -> list[Ring]:
        return _ascending(rings)

    @model_serializer(mode="wrap")
    def _omit_scales(self, handler: SerializerFunctionWrapHandler) -> dict:
        return _omit_unit_scales(self, handler(self))

    @model_validator(mode="after")
    def _armed(self) -> DroneType:
        if self.role not in ("isr", "interceptor") and not self.lethality:
            raise ValueError(f"a {self.role} drone needs lethality rings")
        if self.role == "bomber" and self.bombs < 1:
            raise ValueError("a bomber needs bombs >= 1")
        return self


def _rings(*rows: tuple[float, float, float]) -> list[Ring]:
    return [Ring(radius=r, kill=k, wound=w) for r, k, w in rows]


FPV_RINGS = _rings((2.0, 0.6, 0.35), (5.0, 0.25, 0.5), (10.0, 0.05, 0.3))
BOMB_RINGS = _rings((2.0, 0.2, 0.7), (5.0, 0.06, 0.59), (10.0, 0.01, 0.21))
LOITERING_RINGS = _rings((3.0, 0.7, 0.25), (8.0, 0.3, 0.5), (15.0, 0.05, 0.3))
SHELL_RINGS = _rings((5.0, 0.18, 0.72), (15.0, 0.06, 0.59), (30.0, 0.01, 0.27), (50.0, 0.0, 0.1))

DEFAULT_DRONE_TYPES: dict[str, DroneType] = {
    "isr_quad": DroneType(
        role="isr", speed=15.0, endurance=1800.0, altitude=120.0, link_range=5000.0,
        sensor_range=400.0, sensor_detect_prob=0.3, signature_range=120.0, cost=2000.0,
    ),
    "isr_fixed_wing": DroneType(
        role="isr", speed=30.0, endurance=10800.0, altitude=1000.0, link_range=40000.0,
        link_resistance=0.5, sensor_range=1500.0, sensor_detect_prob=0.2,
        night_capable=True, signature_range=300.0, cost=80000.0,
    ),
    "fpv_radio": DroneType(
        role="fpv", speed=20.0, endurance=600.0, altitude=30.0, link_range=8000.0,
        sensor_range=0.0, sensor_detect_prob=0.0, acquire_range=250.0, lethality=FPV_RINGS,
        aim_error=1.5, cover_penetration=0.5, signature_range=250.0, cost=500.0,
    ),
    "fpv_fibre": DroneType(
        role="fpv", speed=17.0, endurance=600.0, altitude=30.0, link="fibre",
        link_range=10000.0, sensor_range=0.0, sensor_detect_prob=0.0, acquire_range=250.0,
        lethality=FPV_RINGS, aim_error=1.5, cover_penetration=0.5, signature_range=250.0,
        cost=1500.0,
    ),
    "bomber": DroneType(
        role="bomber", speed=12.0, endurance=1500.0, altitude=60.0, link_range=10000.0,
        sensor_range=300.0, sensor_detect_prob=0.3, night_capable=True, acquire_range=300.0,
        lethality=BOMB_RINGS, bombs=4, bomb_interval=30.0, aim_error=3.0, cover_penetration=0.3,
        signature_range=400.0, cost=20000.0,
    ),
    "loitering": DroneType(
        role="loitering", speed=30.0, endurance=2400.0, altitude=150.0, link_range=40000.0,
        link_resistance=0.5, sensor_range=0.0, sensor_detect_prob=0.0, acquire_range=500.0,
        lethality=LOITERING_RINGS, aim_error=2.0, cover_penetration=0.3, signature_range=300.0,
        cost=35000.0,
    ),
}


# --------------------------------------------------------------------------- sides
class Skills(Model):
    """Initial skills of a unit's soldiers (learning updates them per soldier later)."""

    spotting: NonNegative = Field(
        0.5, description="Multiplier on a drone's signature range for detecting it."
    )
    marksmanship: Probability = Field(
        0.02, description="Counter-drone skill: per-shot fire scales each shot's hit "
        "probability by (marksmanship / skill_reference) ** skill_exponent; per-step fire "
        "reads it as the probability that one shooter downs a drone in a step (ideal range)."
    )


class CasualtyCare(Model):
    """What a platoon does for its wounded (docs/model.md, casualty care)."""

    mode: CareMode = Field(
        "none", description="none: the wounded lie where they fell; treat: comrades treat them "
        "where they lie, then they await evacuation; drag: comrades drag them to the "
        "collection point, where they await evacuation."
    )
    helpers: int = Field(1, ge=1, le=4, description="Healthy comrades sent to each casualty.")
    radius: Positive = Field(
        30.0, description="Only comrades of the same platoon within this distance of a "
        "casualty go to him, m."
    )
    treat_time: NonNegative = Field(
        180.0, description="Time helpers spend treating a casualty at the spot (treat), s."
    )
    drag_speed: Positive = Field(
        0.5, description="Speed of helpers dragging a casualty on open ground, m/s."
    )
    collection_point: Point | None = Field(
        None, description="Casualty collection point, m; default: the unit's start point."
    )
    evacuation_rate: NonNegative = Field(
        0.5, description="Casualties per minute the unit's rear evacuates from the field once "
        "treated or brought to the collection point."
    )


class Doctrine(Model):
    """A unit's choices: how it moves and what it does when it detects a drone."""

    formation: Literal["line", "column", "wedge", "dispersed", "block"] = "line"
    spacing: Positive = Field(5.0, description="Distance between neighbours, m.")
    ranks: int = Field(1, ge=1, description="Ranks of a block formation.")
    pace: Positive = Field(1.2, description="Walking speed, m/s.")
    drill: list[DrillAction] = Field(
        default_factory=list, description="Steps run in this order on a new drone contact: "
        "step i starts i * drill_interval s after it (docs/model.md, drills)."
    )
    drill_interval: NonNegative = Field(
        2.0, description="Seconds between the starts of consecutive drill steps, rounded to "
        "whole steps (assumption: a shouted order is acted on in about two seconds)."
    )
    ground_time: NonNegative = Field(
        60.0, description="Seconds a 'ground' drill step keeps the platoon prone (its "
        "designated shooters stay up)."
    )
    weapon: str = Field(
        "rifle", description="Counter-drone weapon class (counter_drone.weapons) of soldiers "
        "who shoot at drones without being designated shooters."
    )
    shooter_weapon: str | None = Field(
        None, description="Weapon class of the designated shooters; default: weapon."
    )
    shooters: int = Field(0, ge=0, description="Designated counter-drone shooters per platoon.")
    everyone_shoots: bool = False
    spotters: int = Field(0, ge=0, description="Posted drone spotters per platoon.")
    decoys: int = Field(0, ge=0, description="Soldiers per platoon who draw drones off.")
    decoy_kind: Literal["soldier", "dummy"] = Field(
        "soldier", description="What a 'decoy' drill step offers a drone: a soldier who runs "
        "out as bait, or a dummy set out beside the shooters (no soldier at risk)."
    )
    observers: int = Field(0, ge=0, description="Soldiers per platoon who report enemies.")
    concealment_discipline: Probability = Field(
        0.0, description="Extra concealment from discipline (camouflage, no bunching)."
    )
    freeze_time: NonNegative = 60.0
    disperse_time: NonNegative = 90.0
    disperse_factor: Annotated[float, Field(ge=1.0)] = 3.0
    night_movement: bool = Field(
        False, description="Prefers to assault at night (campaigns set the engagement's night)."
    )
    breakpoint: Probability = Field(
        0.3, description="Share of a platoon's strength lost (wounded or killed) at which its "
        "cohesion breaks (docs/model.md, suppression and cohesion)."
    )
    on_break: BreakAction = Field(
        "halt", description="What a broken platoon does: halt where it is, go to ground, or "
        "withdraw to its start."
    )
    casualty_care: CasualtyCare = Field(
        default_factory=CasualtyCare, description="Treating, dragging and evacuating the wounded."
    )


class Layout(Model):
    """How a unit's platoons are placed relative to its start point."""

    columns: int | None = Field(None, ge=1, description="Platoons per row; auto: ceil(sqrt(n)).")
    dx: float | None = Field(
        None, description="Platoon interval across, m; auto: frontage + 3 spacings."
    )
    dy: float = -60.0


class Unit(Model):
    """A company-like unit: soldiers grouped in squads and platoons, one route."""

    name: str
    count: Count = Field(ge=1, description="Soldiers in the unit.")
    platoon_size: int = Field(30, ge=1)
    squad_size: int = Field(10, ge=1)
    start: Point
    layout: Layout = Layout()
    waypoints: list[Point] = Field(default_factory=list)
    objective: str | None = None
    posture: Literal["moving", "halted", "concealed", "dug_in"] = "moving"
    doctrine: Doctrine = Doctrine()
    skills: Skills = Skills()
    value: NonNegative = Field(1.0, description="Target value weight (highest_value policy).")
    direct_fire: DirectFire | None = None
    ammunition: dict[str, Annotated[int, Field(ge=0, le=1_000_000)]] | None = Field(
        None, description="Rounds each soldier carries for shooting at drones, by weapon "
        "class, in place of the class's `ammunition` (a campaign's issue from a short stock, "
        "docs/model.md §16.8); classes not named keep theirs.")

    @property
    def heading(self) -> tuple[float, float]:
        """Unit vector from the start towards the first waypoint (north without one).

        >>> Unit(name="u", count=1, start=(0, 0), waypoints=[(3, 4)]).heading
        (0.6, 0.8)
        """
        if self.waypoints:
            dx = self.waypoints[0][0] - self.start[0]
            dy = self.waypoints[0][1] - self.start[1]
            norm = math.hypot(dx, dy)
            if norm > 0:
                return dx / norm, dy / norm
        return 0.0, 1.0


class DirectFire(Model):
    """Aimed small-arms fire at random healthy enemies within range of the platoon's centre."""

    rate: NonNegative = Field(description="Shots per soldier per minute.")
    kill_prob: Probability = Field(description="Probability one shot kills its target.")
    wound_prob: Probability = 0.0
    range: Positive = 400.0


class TargetWeights(Model):
    """Weights of the ``weighted`` targeting policy (docs/model.md, weighted targeting).

    A soldier's score is ``activity * (1 + bunched * upright neighbours)``; soldiers scoring 0
    are never picked, so with ``fallen: 0`` the wounded are spared.
    """

    moving: NonNegative = Field(1.0, description="Activity of an upright soldier on the move.")
    still: NonNegative = Field(
        0.5, description="Activity of an upright soldier standing still (halted, concealed, "
        "dug in)."
    )
    prone: NonNegative = Field(0.25, description="Activity of a healthy soldier gone to ground.")
    shooting: NonNegative = Field(
        1.0, description="Added to the activity of a soldier who fired within shot_memory."
    )
    fallen: NonNegative = Field(
        0.0, description="Activity of a wounded soldier lying where he fell (0: never struck)."
    )
    bunched: NonNegative = Field(
        0.25, description="Score gained per upright comrade within the team's density radius."
    )
    shot_memory: NonNegative = Field(
        30.0, description="How long a soldier who fired still counts as shooting, s."
    )


class OperatorTeams(Model):
    """Drone operator teams of one drone type: each flies one airframe at a time."""

    drone: str
    count: Count = Field(1, ge=0, description="Number of teams.")
    position: Point
    inventory: int = Field(10, ge=0, description="Airframes per team.")
    turnaround: NonNegative = Field(300.0, description="Seconds between sorties.")
    targeting: Literal["tracks", "omniscient"] = "tracks"
    policy: TargetPolicy = "densest"
    density_radius: Positive = 10.0
    weights: TargetWeights = Field(
        default_factory=TargetWeights, description="What the weighted policy looks for."
    )
    station: Point | None = Field(None, description="ISR orbit centre; default: nearest enemy.")
    active_from: NonNegative = Field(0.0, description="Earliest launch, s from start.")
    active_until: float | None = None
    salvo: int = Field(
        1, ge=1, description="Teams that launch together as one swarm (1: each on its own)."
    )
    deconfliction_radius: NonNegative = Field(
        0.0, description="A swarm member takes no soldier within this many metres of one "
        "another member of its salvo has claimed, m (0: no deconfliction)."
    )


class Battery(Model):
    """An artillery battery that answers calls for fire from target tracks."""

    name: str
    position: Point
    tubes: int = Field(4, ge=1)
    rounds: int = Field(200, ge=0)
    rate: Positive = Field(2.0, description="Rounds per tube per minute.")
    rounds_per_mission: int = Field(8, ge=1)
    latency: NonNegative = Field(180.0, description="Call for fire to first round, s.")
    cep: NonNegative = Field(50.0, description="Circular error probable, m.")
    max_range: Positive = 20000.0
    min_group: int = Field(3, ge=1, description="Smallest tracked group worth a mission.")
    lethality: Lethality = Field(default_factory=lambda: list(SHELL_RINGS))
    casualty_scale: Scale = Field(
        1.0, description="Multiplies every shell ring's casualty probability kill + wound "
        "(capped at 1), keeping its killed share (docs/model.md §11)."
    )
    killed_share_scale: Scale = Field(
        1.0, description="Multiplies every shell ring's killed share kill / (kill + wound) "
        "(capped at 1), keeping its casualty probability (§11)."
    )
    cost_per_round: NonNegative = 1000.0

    @field_validator("lethality")
    @classmethod
    def _rings_ascending(cls, rings: list[Ring]) -> list[Ring]:
        return _ascending(rings)

    @model_serializer(mode="wrap")
    def _omit_scales(self, handler: SerializerFunctionWrapHandler) -> dict:
        return _omit_unit_scales(self, handler(self))


class Jammer(Model):
    """A jammer that breaks the radio links of enemy drones within its radius."""

    name: str
    position: Point
    radius: Positive = 1000.0
    strength: Probability = Field(
        0.1, description="Per-step link-loss probability anywhere within its radius."
    )
    active: bool = True


class RFDetector(Model):
    """A passive radio-frequency detector: finds hostile radio drones and emitters."""

    name: str
    position: Point
    range: Positive = Field(
        5000.0, description="Distance at which it hears a drone's radio link or a jammer, m."
    )
    detect_prob: Probability = Field(
        0.1, description="Per step and emitter in range: probability it is detected."
    )
    locate_error: NonNegative = Field(
        100.0, description="Std. dev. per axis of an emitter's located position, m."
    )
    cue_artillery: bool = Field(
        True, description="Whether a located operator team or jammer gets a fire mission."
    )


class DroneDoctrine(Model):
    """How a drone force picks and commits to targets."""

    decoy_commit: Probability = Field(
        0.7, description="Probability an attack drone commits to a decoy that draws it."
    )
    track_ttl: Positive = Field(300.0, description="Seconds a track stays usable.")
    observer_range: NonNegative = Field(600.0, description="Ground observers' sight range, m.")
    observer_detect_prob: Probability = 0.05


class Side(Model):
    """One side's forces and drone doctrine."""

    units: list[Unit] = Field(default_factory=list)
    teams: list[OperatorTeams] = Field(default_factory=list)
    batteries: list[Battery] = Field(default_factory=list)
    jammers: list[Jammer] = Field(default_factory=list)
    rf_detectors: list[RFDetector] = Field(default_factory=list)
    isr_finds_jammers: bool = Field(
        False, description="Whether this side's ISR drones locate hostile jammers they fly "
        "over (sensor range, detection probability) for its artillery."
    )
    drone_doctrine: DroneDoctrine = DroneDoctrine()
    soldier_cost: NonNegative = Field(
        50000.0, description="Value of a soldier killed (a wounded one counts half), USD."
    )


class Sides(Model):
    attacker: Side = Side()
    defender: Side = Side()


class WeaponClass(Model):
    """A generic counter-drone weapon class: how fast it fires and how well one shot hits.

    Per-shot hit probability of a shooter with skill factor ``k`` at 3-D range ``d``:
    ``hit_prob * k * min(1, (reference_range / d) ** range_exponent) * speed_factor **
    speed_exponent * size_factor ** size_exponent`` (capped at 1), 0 beyond ``max_range``.
    """

    rate: Positive = Field(description="Rounds per minute aimed at a drone.")
    ammunition: int = Field(ge=0, description="Rounds per soldier for shooting at drones.")
    hit_prob: Probability = Field(
        description="Per-shot hit probability of a trained shooter at reference_range against "
        "the reference drone (speed and signature at the reference)."
    )
    reference_range: Positive = Field(description="Range (m) up to which hit_prob holds.")
    range_exponent: NonNegative = Field(
        description="How steeply hit probability falls beyond reference_range: "
        "(reference_range / d) ** range_exponent."
    )
    max_range: Positive = Field(description="Effective maximum range, m (3-D).")
    speed_exponent: NonNegative = Field(
        1.0, description="Exponent on min(1, reference_speed / drone speed)."
    )
    size_exponent: NonNegative = Field(
        1.0, description="Exponent on drone signature_range / reference_signature."
    )


#: Default weapon classes (docs/model.md, counter-drone fire: all figures assumptions).
DEFAULT_WEAPONS: dict[str, WeaponClass] = {
    "rifle": WeaponClass(rate=30.0, ammunition=90, hit_prob=0.05, reference_range=30.0,
                         range_exponent=1.0, max_range=200.0, speed_exponent=1.0),
    "machine_gun": WeaponClass(rate=150.0, ammunition=400, hit_prob=0.012, reference_range=30.0,
                               range_exponent=1.0, max_range=300.0, speed_exponent=1.0),
    "shotgun": WeaponClass(rate=30.0, ammunition=30, hit_prob=0.3, reference_range=15.0,
                           range_exponent=2.0, max_range=50.0, speed_exponent=0.5),
}


class CounterDrone(Model):
    """Shared parameters of soldiers' detection of and fire at drones."""

    fire: Literal["per_shot", "per_step"] = Field(
        "per_shot", description="per_shot: each shooter fires rounds of its weapon class at "
        "the drone's path through the step; per_step: one aggregated draw per drone and step "
        "from marksmanship, engage_range and range_falloff (the reference model's rule)."
    )
    weapons: dict[str, WeaponClass] = Field(
        default_factory=dict, description="Weapon classes, added to or replacing the defaults "
        "rifle, machine_gun and shotgun."
    )
    skill_reference: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.3, description="Marksmanship of a trained shooter, at which hit_prob holds."
    )
    skill_exponent: NonNegative = Field(
        0.5, description="Per-shot skill factor (marksmanship / skill_reference) ** this."
    )
    reference_signature: Positive = Field(
        250.0, description="Drone signature_range (m, a proxy for size) at which the size "
        "factor is 1."
    )

    detect_prob: Probability = Field(0.5, description="Per-step detection prob within range.")
    spotter_bonus: Annotated[float, Field(ge=1.0)] = 1.5
    night_factor: Probability = Field(0.7, description="Detection range multiplier at night.")
    engage_range: Positive = 150.0
    range_falloff: Probability = Field(
        0.5, description="Share of hit probability lost at the edge of engage range."
    )
    reference_speed: Positive = Field(20.0, description="Speed at which hit prob is nominal.")
    speed_exponent: NonNegative = 1.0
    decoy_hit_bonus: Annotated[float, Field(ge=1.0)] = 1.5
    decoy_distance: NonNegative = 25.0
    warning_delay: NonNegative = Field(
        10.0, description="Seconds from a platoon's new contact to its warning reaching "
        "neighbouring platoons (radio or voice relay; assumption)."
    )
    warning_radius: NonNegative = Field(
        300.0, description="Platoons whose anchor is within this distance (m) of the spotting "
        "platoon's are warned; 0 switches warnings off (assumption)."
    )
    engage_interceptors: bool = Field(
        True, description="Soldiers see enemy interceptor drones, run their drill on them and "
        "fire at them by the rules for any drone (false: interceptors pass unseen; "
        "docs/model.md §12a)."
    )


class Suppression(Model):
    """Suppression of soldiers by strikes, shells and casualties near them (docs/model.md)."""

    enabled: bool = Field(True, description="Whether soldiers are suppressed at all.")
    radius: Positive = Field(
        30.0, description="Distance within which an event suppresses, m; the weight falls "
        "linearly to zero there."
    )
    blast_weight: NonNegative = Field(
        1.0, description="Suppression an exploding strike, bomb or shell adds at distance 0."
    )
    casualty_weight: NonNegative = Field(
        0.5, description="Suppression a comrade falling adds at distance 0."
    )
    recovery_time: Positive = Field(
        60.0, description="Time constant of the exponential decay of suppression, s."
    )
    threshold: NonNegative = Field(
        0.5, description="Suppression above which a soldier goes to ground."
    )
    crawl: Probability = Field(
        0.2, description="Speed multiplier of a soldier gone to ground (crawling)."
    )


class RLReward(Model):
    """Weights of the learning environments' reward terms (docs/rl.md; all assumptions)."""

    progress: float = Field(
        1.0, description="Per platoon route fraction covered towards the objective.")
    own_casualties: float = Field(
        -0.05, description="Per own soldier newly killed or wounded (negative: a cost).")
    enemy_casualties: float = Field(
        0.05, description="Per enemy soldier newly killed or wounded, shared by the side's agents.")
    drones_downed: float = Field(
        0.1, description="Per hostile drone shot down by the agent's side (for a drone team: "
        "per own drone shot down, with the sign reversed), shared by the side's agents.")
    ammunition: float = Field(
        -0.0005, description="Per counter-drone round fired by the agent's side, shared.")
    shells: float = Field(
        -0.005, description="Per artillery round a battery agent fired (its own, not shared).")


class RL(Model):
    """How the learning environments (``dronefront.rl``) act on and reward this scenario."""

    decision_interval: Positive = Field(
        10.0, description="Simulated seconds between decisions (rounded to whole steps, >= 1).")
    reward: RLReward = RLReward()
    spacings: tuple[Positive, Positive, Positive] = Field(
        (1.5, 5.0, 10.0), description="Neighbour spacing, m, of the close, medium and open "
        "options (the scenario's own spacing stands until another option is chosen).")
    spotters: int = Field(
        2, ge=0, description="Riflemen posted as spotters by the 'posted' option when the "
        "doctrine posts none.")
    shooters: int = Field(
        4, ge=0, description="Riflemen who fire at drones under 'engage' when the doctrine "
        "designates none.")
    cover_radius: Positive = Field(
        200.0, description="m: how far 'move to the nearest cover' looks.")
    cover_min: Probability = Field(
        0.3, description="Least terrain cover that counts as cover for that order.")
    sight_radius: Positive = Field(
        500.0, description="m: drones within it appear in a platoon's observation.")


class ScenarioLessons(Model):
    """Veterans from a lessons file (``dronefront-lessons/1`` or ``/2``, docs/model.md
    §16.6).

    The first ``round(share * count)`` soldiers of each attacker unit are veterans: they
    take, in order, the encounters survived of the file's soldiers (of ``battalion``, or of
    every battalion in turn), through the file's own skill curves; the pool is reused from
    its start when a scenario needs more veterans than it holds. A platoon at least half of
    veterans takes a doctrine drawn from the distribution of the battalion its first
    veteran comes from (``doctrine``); with ``drone_side`` the defender's drone teams take
    the file's drone-side state.
    """

    file: str = Field(description="Lessons file, relative to the scenario file.")
    veterans: Probability | dict[str, Probability] = Field(
        1.0, description="Share of veterans in every attacker unit, or per unit name "
        "(units not named have none).")
    battalion: int | None = Field(
        None, ge=0, description="Draw the veterans from this battalion of the file only "
        "(default: the file's battalions one after another).")
    doctrine: bool = Field(
        True, description="Each platoon at least half of veterans draws its doctrine "
        "(spacing, drill, shooters, spotters, concealment...) from the file's distribution "
        "of the battalion its first veteran comes from (stream lessons.doctrine); other "
        "platoons keep the unit's orders. false: every platoon keeps the unit's orders.")
    drone_side: bool = Field(
        False, description="The scenario's defender flies the drone side the file describes "
        "(its campaign's defender, the side that fought these veterans): the defender's "
        "drone teams take its adapted state (the targeting policy it believes in most, its "
        "decoy commitment, fibre and thermal shares). false: the defender's own.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"file": value} if isinstance(value, str) else value


class Scenario(Model):
    """A whole engagement: terrain, both sides, drones and the shared mechanics."""

    name: str
    description: str = ""
    parameters: dict[str, float] = Field(
        default_factory=dict, description="Named numbers usable in '=expr' fields."
    )
    dt: Positive = 5.0
    duration: Positive = Field(3600.0, description="Engagement length, s.")
    night: bool = False
    terrain: Terrain = Terrain()
    objectives: list[Objective] = Field(default_factory=list)
    drone_types: dict[str, DroneType] = Field(default_factory=dict)
    sides: Sides = Sides()
    counter_drone: CounterDrone = CounterDrone()
    posture_concealment: dict[str, Probability] = Field(
        default_factory=lambda: {"moving": 0.0, "halted": 0.2, "concealed": 0.5, "dug_in": 0.7,
                                 "prone": 0.4}
    )
    posture_protection: dict[str, Probability] = Field(
        default_factory=lambda: {"moving": 0.0, "halted": 0.1, "concealed": 0.3, "dug_in": 0.6,
                                 "prone": 0.4}
    )
    sprint_factor: Annotated[float, Field(ge=1.0)] = 2.0
    suppression: Suppression = Suppression()
    rl: RL | None = Field(
        None, description="Learning environments: reward weights and action options "
        "(docs/rl.md); absent: the defaults.")
    lessons: ScenarioLessons | None = Field(
        None, description="Veterans from a lessons file (`lessons: FILE` or a mapping with "
        "`file`, `veterans`, `battalion`, `doctrine`, `drone_side`).")

    @model_serializer(mode="wrap")
    def _omit_no_lessons(self, handler: SerializerFunctionWrapHandler) -> dict:
        """A scenario without lessons or rl sections dumps as it did before they existed."""
        data = handler(self)
        if isinstance(data, dict):
            for name in ("lessons", "rl"):  # optional sections absent: dump as before
                if getattr(self, name) is None:
                    data.pop(name, None)
            for side in SIDES:  # so is a unit without an ammunition issue of its own
                for unit, dumped in zip(getattr(self.sides, side).units,
                                        data.get("sides", {}).get(side, {}).get("units", []),
                                        strict=False):
                    if unit.ammunition is None and isinstance(dumped, dict):
                        dumped.pop("ammunition", None)
        return data

    @field_validator("posture_concealment", "posture_protection")
    @classmethod
    def _prone(cls, value: dict[str, float], info) -> dict[str, float]:
        """Scenarios written before "prone" existed keep loading: it takes its default."""
        if "prone" in value:
            return value
        return {**value, "prone": PRONE_DEFAULTS[info.field_name]}

    @property
    def steps(self) -> int:
        return int(round(self.duration / self.dt))

    def all_drone_types(self) -> dict[str, DroneType]:
        return {**DEFAULT_DRONE_TYPES, **self.drone_types}

    def all_weapons(self) -> dict[str, WeaponClass]:
        """The default weapon classes with the scenario's added or replaced ones."""
        return {**DEFAULT_WEAPONS, **self.counter_drone.weapons}

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        types = self.all_drone_types()
        objectives = {o.name for o in self.objectives}
        for side_name in SIDES:
            side: Side = getattr(self.sides, side_name)
            for i, team in enumerate(side.teams):
                if team.drone not in types:
                    raise ValueError(
                        f"sides.{side_name}.teams.{i}.drone: unknown drone type {team.drone!r}; "
                        f"known: {sorted(types)}"
                    )
            for i, unit in enumerate(side.units):
                if unit.objective is not None and unit.objective not in objectives:
                    raise ValueError(
                        f"sides.{side_name}.units.{i}.objective: unknown objective "
                        f"{unit.objective!r}; known: {sorted(objectives)}"
                    )
                weapons = self.all_weapons()
                for name in unit.ammunition or {}:
                    if name not in weapons:
                        raise ValueError(
                            f"sides.{side_name}.units.{i}.ammunition.{name}: unknown weapon "
                            f"class; known: {sorted(weapons)}")
                for key in ("weapon", "shooter_weapon"):
                    name = getattr(unit.doctrine, key)
                    if name is not None and name not in weapons:
                        raise ValueError(
                            f"sides.{side_name}.units.{i}.doctrine.{key}: unknown weapon class "
                            f"{name!r}; known: {sorted(weapons)}"
                        )
        if self.lessons is not None and isinstance(self.lessons.veterans, dict):
            names = [u.name for u in self.sides.attacker.units]
            for name in self.lessons.veterans:
                if name not in names:
                    raise ValueError(f"lessons.veterans.{name}: not an attacker unit; "
                                     f"known: {names}")
        for key in ("posture_concealment", "posture_protection"):
            missing = {"moving", "halted", "concealed", "dug_in"} - set(getattr(self, key))
            if missing:
                raise ValueError(f"{key}: missing postures {sorted(missing)}")
        return self

    @model_validator(mode="after")
    def _sizes(self) -> Scenario:
        limits.check_scenario(self)
        return self


Unit.model_rebuild()
