"""Simulation state as struct-of-arrays: one NumPy array per attribute, one row per agent.

Soldiers, platoons (the tactical groups that move, detect and drill together), drone slots
(one per operator team, flying one airframe at a time), batteries and jammers each get a
table. Stages read and write these arrays in place; nothing holds per-agent Python objects.

Tables are NamedTuples of arrays: their fields are never rebound during a run (stages and
kernel views may hold them), only written in place. Shapes: ``N`` soldiers, ``G`` platoons,
``M`` drone slots, ``K`` drone types, ``B`` batteries, ``J`` jammers, ``R`` lethality rings,
``W`` route waypoints; "step" values are step indices, "code" values index the tuples below.
Each field's comment gives its dtype, shape and unit.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, get_args

import numpy as np

from dronefront.engine.rng import Streams, uniforms
from dronefront.engine.spatial import GRID_CELL, Grid, build_side_grids
from dronefront.engine.terrain import TerrainRaster, rasterize
from dronefront.scenario.models import (
    SIDES,
    BreakAction,
    CareMode,
    Doctrine,
    DrillAction,
    Scenario,
    TargetPolicy,
    scaled_ring,
)

# Moving carefully (camouflage, using cover) and moving at night are slower; assumptions.
DISCIPLINE_PACE_COST = 0.5
NIGHT_PACE_FACTOR = 0.7

# Codes stored in the int8 arrays.
HEALTHY, WOUNDED, KILLED = 0, 1, 2
POSTURES = ("moving", "halted", "concealed", "dug_in", "prone")
MOVING, HALTED, CONCEALED, DUG_IN, PRONE = range(5)
ROLES = ("rifleman", "spotter", "shooter", "decoy", "observer")
RIFLEMAN, SPOTTER, SHOOTER, DECOY, OBSERVER = range(5)
# Drone slot states.
IDLE, FLYING = 0, 1
# Flight phases.
TRANSIT, ATTACK, ON_STATION, RETURN = range(4)
DRONE_ROLES = ("isr", "fpv", "bomber", "loitering", "interceptor")
ISR, FPV, BOMBER, LOITERING, INTERCEPTOR = range(5)
# Drone fates, counted per type: "launched", then how each sortie ended (exactly one each):
# expended (a strike drone hit: it detonated at its target), shot down, jammed, crashed (out
# of link range or battery), returned, missed (its terminal dive missed) or failed
# (technical failure or operator error).
FATES = ("launched", "expended", "shot_down", "jammed", "crashed", "returned", "missed",
         "failed")
LAUNCHED, EXPENDED, SHOT_DOWN, JAMMED, CRASHED, RETURNED, MISSED, FAILED = range(8)
#: The endings that lose the airframe (all but "returned").
LOST_FATES = ("expended", "shot_down", "jammed", "crashed", "missed", "failed")
# Targeting policies of drone teams (``Drones.policy``).
POLICIES: tuple[str, ...] = get_args(TargetPolicy)
NEAREST, DENSEST, RANDOM, HIGHEST_VALUE, WEIGHTED = (POLICIES.index(p) for p in (
    "nearest", "densest", "random", "highest_value", "weighted"))
#: Columns of ``Drones.weights`` (the weighted policy's ``TargetWeights``, shot memory in steps).
WEIGHT_NAMES = ("moving", "still", "prone", "shooting", "fallen", "bunched", "shot_memory")
# Casualty care (``Care.mode`` per platoon, ``Care.phase`` per casualty).
CARE_MODES: tuple[str, ...] = get_args(CareMode)
CARE_NONE, CARE_TREAT, CARE_DRAG = (CARE_MODES.index(m) for m in ("none", "treat", "drag"))
IN_CARE, READY, EVACUATED = 0, 1, 2
# What a platoon does when its cohesion breaks (``Platoons.on_break``).
BREAK_ACTIONS: tuple[str, ...] = get_args(BreakAction)
BREAK_HALT, BREAK_GROUND, BREAK_WITHDRAW = (BREAK_ACTIONS.index(a) for a in (
    "halt", "ground", "withdraw"))
# Drill steps (``Drill.offset`` columns).
DRILL_ACTIONS: tuple[str, ...] = get_args(DrillAction)
A_FREEZE, A_DISPERSE, A_GROUND, A_ENGAGE, A_DECOY = (DRILL_ACTIONS.index(a) for a in (
    "freeze", "disperse", "ground", "engage", "decoy"))
NEVER = np.iinfo(np.int64).max // 2  # a step that never comes
# Kinds of suppressing events in ``State.shocks``.
SHOCK_BLAST, SHOCK_FALLEN = 0, 1


class Soldiers(NamedTuple):
    """One row per soldier (``N``)."""

    x: np.ndarray  #: float64 (N,) m, east
    y: np.ndarray  #: float64 (N,) m, north
    side: np.ndarray  #: int8 (N,) 0 attacker, 1 defender
    unit: np.ndarray  #: int32 (N,) index into ``State.unit_names``
    platoon: np.ndarray  #: int32 (N,) global platoon index
    squad: np.ndarray  #: int32 (N,) global squad index
    status: np.ndarray  #: int8 (N,) HEALTHY, WOUNDED or KILLED
    posture: np.ndarray  #: int8 (N,) code into POSTURES
    role: np.ndarray  #: int8 (N,) code into ROLES
    shoots: np.ndarray  #: bool (N,) fires at drones when its platoon engages
    spotting: np.ndarray  #: float64 (N,) multiplier on drone signature range
    marksmanship: np.ndarray  #: float64 (N,) per-step hit probability at ideal range
    encounters: np.ndarray  #: int32 (N,) drone encounters while healthy
    cause: np.ndarray  #: int16 (N,) weapon code (``State.weapon_names``) of a casualty, -1
    ox: np.ndarray  #: float64 (N,) m, formation slot offset to the platoon's right
    oy: np.ndarray  #: float64 (N,) m, formation slot offset forward
    holding: np.ndarray  #: bool (N,) reached its objective and holds
    terrain: np.ndarray  #: int8 (N,) terrain class under the soldier
    suppression: np.ndarray  #: float64 (N,) suppression level; above the threshold: prone

    @property
    def n(self) -> int:
        return self.x.shape[0]


class Platoons(NamedTuple):
    """One row per platoon (``G``): the group that moves, detects and drills together."""

    side: np.ndarray  #: int8 (G,) 0 attacker, 1 defender
    unit: np.ndarray  #: int32 (G,) index into ``State.unit_names``
    ax: np.ndarray  #: float64 (G,) m, anchor (formation origin) east
    ay: np.ndarray  #: float64 (G,) m, anchor north
    hx: np.ndarray  #: float64 (G,) heading, unit vector east component
    hy: np.ndarray  #: float64 (G,) heading, north component
    route_x: np.ndarray  #: float64 (G, W) m, waypoints, padded with the last one
    route_y: np.ndarray  #: float64 (G, W) m
    n_waypoints: np.ndarray  #: int32 (G,) real waypoints in the route
    next_wp: np.ndarray  #: int32 (G,) the waypoint the anchor heads for
    base_posture: np.ndarray  #: int8 (G,) code into POSTURES; MOVING platoons advance
    objective: np.ndarray  #: int32 (G,) index into ``State.objective_names``, -1 none
    pace: np.ndarray  #: float64 (G,) m/s on open ground
    freeze: np.ndarray  #: bool (G,) drill: freeze on a new drone contact
    disperse: np.ndarray  #: bool (G,) drill: disperse
    engage: np.ndarray  #: bool (G,) drill: fire at drones in contact
    decoy: np.ndarray  #: bool (G,) drill: send a decoy runner
    freeze_time: np.ndarray  #: float64 (G,) s
    disperse_time: np.ndarray  #: float64 (G,) s
    disperse_factor: np.ndarray  #: float64 (G,) formation scale while dispersing
    discipline: np.ndarray  #: float64 (G,) concealment discipline, 0-1
    value: np.ndarray  #: float64 (G,) target value weight
    frozen_until: np.ndarray  #: int64 (G,) step; frozen while the step is earlier
    dispersed_until: np.ndarray  #: int64 (G,) step
    decoy_until: np.ndarray  #: int64 (G,) step
    decoy_dx: np.ndarray  #: float64 (G,) m, where the decoy runs, from the anchor
    decoy_dy: np.ndarray  #: float64 (G,) m
    advanced: np.ndarray  #: float64 (G,) m of route covered by the anchor
    route_length: np.ndarray  #: float64 (G,) m
    fire_rate: np.ndarray  #: float64 (G,) direct fire: shots per soldier per second
    fire_kill: np.ndarray  #: float64 (G,) direct fire: kill probability per shot
    fire_wound: np.ndarray  #: float64 (G,) direct fire: wound probability per shot
    fire_range: np.ndarray  #: float64 (G,) m, direct fire range from the platoon centre
    lag: np.ndarray  #: float64 (G,) m, mean distance moving soldiers trail their slots
    movers: np.ndarray  #: int64 (G,) soldiers that moved last step (1 before the first)
    strength: np.ndarray  #: int64 (G,) soldiers at the start (cohesion's denominator)
    breakpoint: np.ndarray  #: float64 (G,) share lost at which cohesion breaks
    on_break: np.ndarray  #: int8 (G,) code into BREAK_ACTIONS
    broken: np.ndarray  #: bool (G,) cohesion has broken (stays broken for the run)
    shaken: np.ndarray  #: int64 (G,) healthy soldiers above the suppression threshold
    rally_x: np.ndarray  #: float64 (G,) m, where a withdrawing platoon's anchor heads (start)
    rally_y: np.ndarray  #: float64 (G,) m
    grounded_until: np.ndarray  #: int64 (G,) step; a 'ground' drill step holds it prone
    decoy_dummy: np.ndarray  #: bool (G,) a decoy step sets out a dummy, not a soldier

    @property
    def n(self) -> int:
        return self.side.shape[0]


class DroneTypes(NamedTuple):
    """One row per drone type (``K``), in ``names`` order."""

    names: tuple[str, ...]  #: K names
    role: np.ndarray  #: int8 (K,) code into DRONE_ROLES
    speed: np.ndarray  #: float64 (K,) m/s
    endurance: np.ndarray  #: float64 (K,) s per sortie
    altitude: np.ndarray  #: float64 (K,) m above ground
    radio: np.ndarray  #: bool (K,) radio link (else fibre: cannot be jammed)
    link_range: np.ndarray  #: float64 (K,) m from home
    link_resistance: np.ndarray  #: float64 (K,) share of jamming shrugged off
    sensor_range: np.ndarray  #: float64 (K,) m, camera ground range
    sensor_detect_prob: np.ndarray  #: float64 (K,) per step and soldier in range
    night_capable: np.ndarray  #: bool (K,)
    acquire_range: np.ndarray  #: float64 (K,) m
    rings: np.ndarray  #: float64 (K, R, 3) radius m, kill, wound; padded with radius -1
    bombs: np.ndarray  #: int64 (K,) per sortie
    bomb_interval: np.ndarray  #: float64 (K,) s
    aim_error: np.ndarray  #: float64 (K,) m, std. dev. per axis
    cover_penetration: np.ndarray  #: float64 (K,) share of cover and protection defeated
    signature_range: np.ndarray  #: float64 (K,) m at which a soldier may notice it
    cost: np.ndarray  #: float64 (K,) per airframe
    failure_prob: np.ndarray  #: float64 (K,) per sortie: technical failure or operator error
    operator_skill: np.ndarray  #: float64 (K,) divides the terminal miss hazard
    terminal_miss: np.ndarray  #: float64 (K,) miss probability at skill 1, all else ideal
    miss_per_speed: np.ndarray  #: float64 (K,) miss hazard per m/s of target speed
    miss_per_jamming: np.ndarray  #: float64 (K,) miss hazard per unit of jamming at the target
    miss_under_fire: np.ndarray  #: float64 (K,) miss hazard per ln(1 + shooters at it)
    autonomy_range: np.ndarray  #: float64 (K,) m from its target guided without a link, 0 none
    autonomy_miss: np.ndarray  #: float64 (K,) miss probability of an autonomous dive
    misidentification: np.ndarray  #: float64 (K,) per autonomous strike: a non-target struck
    intercept_range: np.ndarray  #: float64 (K,) m, interceptor: hunting radius around home


class Drones(NamedTuple):
    """One row per operator team (slot, ``M``); a slot flies one airframe at a time."""

    side: np.ndarray  #: int8 (M,)
    dtype: np.ndarray  #: int32 (M,) drone type
    home_x: np.ndarray  #: float64 (M,) m, the team's position
    home_y: np.ndarray  #: float64 (M,) m
    inventory: np.ndarray  #: int64 (M,) airframes on the ground
    turnaround: np.ndarray  #: int64 (M,) steps between sorties
    targeting_omniscient: np.ndarray  #: bool (M,) picks from the whole enemy force
    policy: np.ndarray  #: int8 (M,) code into POLICIES
    density_radius: np.ndarray  #: float64 (M,) m, for the densest policy
    station_x: np.ndarray  #: float64 (M,) m, ISR orbit; nan: over the enemy
    station_y: np.ndarray  #: float64 (M,) m
    active_from: np.ndarray  #: int64 (M,) step
    active_until: np.ndarray  #: int64 (M,) step
    state: np.ndarray  #: int8 (M,) IDLE or FLYING
    phase: np.ndarray  #: int8 (M,) TRANSIT, ATTACK, ON_STATION or RETURN
    ready_step: np.ndarray  #: int64 (M,) step from which it may launch
    x: np.ndarray  #: float64 (M,) m
    y: np.ndarray  #: float64 (M,) m
    target: np.ndarray  #: int64 (M,) soldier index, -1 none
    track: np.ndarray  #: int64 (M,) enemy platoon index, -1 none
    aim_x: np.ndarray  #: float64 (M,) m, where it heads without a soldier target
    aim_y: np.ndarray  #: float64 (M,) m
    battery_end: np.ndarray  #: int64 (M,) step at which the battery is flat
    bombs_left: np.ndarray  #: int64 (M,)
    next_bomb: np.ndarray  #: int64 (M,) step
    sortie: np.ndarray  #: int64 (M,) global sortie id, -1 before the first launch
    committed_decoy: np.ndarray  #: bool (M,) chasing a decoy (a soldier; a dummy if target -1)
    fire_step: np.ndarray  #: int64 (M,) step it was last fired at (counter-drone), -1 never
    fire_shooters: np.ndarray  #: int64 (M,) soldiers that fired at it in ``fire_step``
    weights: np.ndarray  #: float64 (M, 7) weighted policy, columns ``WEIGHT_NAMES``
    strikes_fallen: np.ndarray  #: bool (M,) keeps a target that falls wounded (policy)
    salvo: np.ndarray  #: int64 (M,) swarm (salvo group) it launches with, -1 on its own
    deconfliction: np.ndarray  #: float64 (M,) m, radius around swarm mates' claimed targets
    autonomous_sortie: np.ndarray  #: int64 (M,) sortie whose autonomous leg has begun, -1

    @property
    def n(self) -> int:
        return self.side.shape[0]


#: ``Batteries.order`` codes: the engine's own target rule, and hold fire (>= 0: a platoon).
BATTERY_RULE = -1
BATTERY_HOLD = -2


class Batteries(NamedTuple):
    """One row per artillery battery (``B``)."""

    side: np.ndarray  #: int8 (B,)
    x: np.ndarray  #: float64 (B,) m
    y: np.ndarray  #: float64 (B,) m
    rounds: np.ndarray  #: int64 (B,) rounds left
    interval: np.ndarray  #: float64 (B,) s between rounds (all tubes)
    rounds_per_mission: np.ndarray  #: int64 (B,)
    latency: np.ndarray  #: int64 (B,) steps from call to first round
    sigma: np.ndarray  #: float64 (B,) m, dispersion per axis
    max_range: np.ndarray  #: float64 (B,) m
    min_group: np.ndarray  #: int64 (B,) smallest tracked group worth a mission
    rings: np.ndarray  #: float64 (B, R, 3) radius m, kill, wound
    cost_per_round: np.ndarray  #: float64 (B,)
    mission_left: np.ndarray  #: int64 (B,) rounds still to fire in the current mission
    mission_x: np.ndarray  #: float64 (B,) m, aim point
    mission_y: np.ndarray  #: float64 (B,) m
    next_round_time: np.ndarray  #: float64 (B,) s
    fired: np.ndarray  #: int64 (B,) rounds fired so far
    #: int64 (B,) the battery's standing order: ``BATTERY_RULE`` (the engine's rule: the
    #: largest usable track), ``BATTERY_HOLD`` (start no mission) or a platoon index (that
    #: platoon's track only). Written only by an outside agent (``dronefront.rl``).
    order: np.ndarray

    @property
    def n(self) -> int:
        return self.side.shape[0]


class Jammers(NamedTuple):
    """One row per jammer (``J``)."""

    side: np.ndarray  #: int8 (J,)
    x: np.ndarray  #: float64 (J,) m
    y: np.ndarray  #: float64 (J,) m
    radius: np.ndarray  #: float64 (J,) m
    strength: np.ndarray  #: float64 (J,) probability a link in reach is lost per step
    active: np.ndarray  #: bool (J,)


class Tracks(NamedTuple):
    """What each side (row) knows of each enemy platoon (column): last sighting."""

    x: np.ndarray  #: float64 (2, G) m, mean position of the soldiers seen
    y: np.ndarray  #: float64 (2, G) m
    n: np.ndarray  #: int64 (2, G) soldiers seen
    step: np.ndarray  #: int64 (2, G) step of the sighting; a large negative value: never
    engaged_until: np.ndarray  #: int64 (2, G) step until which an artillery mission covers it


class Counters(NamedTuple):
    """Running tallies that the summary and the time series are built from."""

    fates: np.ndarray  #: int64 (2, K, len(FATES)) by side of the drone
    shots: np.ndarray  #: int64 (2,) counter-drone shots fired, by shooting side
    direct_shots: np.ndarray  #: int64 (2,) direct-fire shots, by shooting side
    shells: np.ndarray  #: int64 (2,) artillery rounds, by firing side
    strikes: np.ndarray  #: int64 (2, K) detonations and bombs released
    decoy_downs: np.ndarray  #: int64 (2,) drones downed while chasing a decoy, by shooter side


class Interceptors(NamedTuple):
    """Interceptor drone teams (``I``), one airframe in the air at a time (model.md §12a)."""

    side: np.ndarray  #: int8 (I,)
    dtype: np.ndarray  #: int32 (I,) drone type (role interceptor)
    home_x: np.ndarray  #: float64 (I,) m
    home_y: np.ndarray  #: float64 (I,) m
    inventory: np.ndarray  #: int64 (I,) airframes on the ground
    turnaround: np.ndarray  #: int64 (I,) steps between sorties
    active_from: np.ndarray  #: int64 (I,) step
    active_until: np.ndarray  #: int64 (I,) step
    state: np.ndarray  #: int8 (I,) IDLE or FLYING
    ready_step: np.ndarray  #: int64 (I,) step from which it may launch
    x: np.ndarray  #: float64 (I,) m
    y: np.ndarray  #: float64 (I,) m
    target: np.ndarray  #: int64 (I,) enemy drone slot hunted, -1 none (heading home)
    target_sortie: np.ndarray  #: int64 (I,) that slot's sortie when it was taken
    battery_end: np.ndarray  #: int64 (I,) step at which the battery is flat
    sortie: np.ndarray  #: int64 (I,) global sortie id, -1 before the first launch

    @property
    def n(self) -> int:
        return self.side.shape[0]


class Detectors(NamedTuple):
    """RF detectors (``D``): passive receivers that find radio drones and emitters."""

    side: np.ndarray  #: int8 (D,)
    x: np.ndarray  #: float64 (D,) m
    y: np.ndarray  #: float64 (D,) m
    range: np.ndarray  #: float64 (D,) m
    detect_prob: np.ndarray  #: float64 (D,) per step and emitter in range
    locate_error: np.ndarray  #: float64 (D,) m, std. dev. per axis of a located position
    cue: np.ndarray  #: bool (D,) located emitters get a fire mission


@dataclass
class Layers:
    """Counter-drone layers and swarm state; ``State.layers`` is None when a scenario uses
    none of autonomy, salvos, interceptors, RF detectors or jammer hunting."""

    interceptors: Interceptors
    detectors: Detectors
    isr_finds_jammers: np.ndarray  #: bool (2,) by side
    team_alive: np.ndarray  #: bool (M,) the operator team of each drone slot still exists
    #: step until which a fire mission covers each slot's team / each jammer (no repeat calls)
    team_called: np.ndarray  #: int64 (M,)
    jammer_called: np.ndarray  #: int64 (J,)
    #: fire calls on located emitters, made by detection and answered by artillery next step:
    #: ``(side calling, x, y)`` in call order
    fire_calls: list = field(default_factory=list)
    #: tallies by the side that acted (interceptor, detector, striker, jammer, shooter):
    #: (2,) int64 each
    tallies: dict = field(default_factory=dict)
    #: sorted ``sortie * max(G, 1) + platoon`` of soldiers' current contacts with enemy
    #: interceptors (kept apart from ``State.contacts``, which holds those with ``Drones``)
    contacts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


#: Names of ``Layers.tallies`` (summary ``layers`` block).
LAYER_TALLIES = ("intercepts", "rf_detections", "teams_located", "jammers_located",
                 "fire_missions", "teams_destroyed", "jammers_destroyed", "autonomous_legs",
                 "misidentified")
#: Tallies a scenario with interceptor teams adds, by the side that acted: enemy
#: interceptors its jammers broke the link of and its soldiers shot down (model.md §12a).
INTERCEPTOR_TALLIES = ("interceptors_jammed", "interceptors_shot_down")


class Care(NamedTuple):
    """Casualty care and what targeting needs to know of soldiers (docs/model.md §11b).

    Soldier columns are empty (size 0) when no platoon cares for its wounded (``helping``,
    ``phase``, ``care_left``, ``since``) or no drone team uses the weighted policy
    (``last_shot``): the stages then skip the mechanic.
    """

    wounded_step: np.ndarray  #: int32 (N,) step a soldier was first wounded, -1 never
    helping: np.ndarray  #: int32 (N or 0,) the casualty a healthy soldier helps, -1 none
    phase: np.ndarray  #: int8 (N or 0,) of a casualty: IN_CARE, READY or EVACUATED
    care_left: np.ndarray  #: float64 (N or 0,) s of treatment still needed, -1 not begun
    since: np.ndarray  #: int32 (N or 0,) step a casualty became READY
    last_shot: np.ndarray  #: int32 (N or 0,) step a soldier last fired, -1 never
    mode: np.ndarray  #: int8 (G,) code into CARE_MODES
    helpers: np.ndarray  #: int64 (G,) helpers per casualty
    radius: np.ndarray  #: float64 (G,) m
    treat_time: np.ndarray  #: float64 (G,) s
    drag_speed: np.ndarray  #: float64 (G,) m/s on open ground
    collect_x: np.ndarray  #: float64 (G,) m, collection point
    collect_y: np.ndarray  #: float64 (G,) m
    evac_rate: np.ndarray  #: float64 (G,) casualties evacuated per step
    evac_credit: np.ndarray  #: float64 (G,) evacuations the platoon's rear can make now
    evac_step: np.ndarray  #: int64 (1,) the step up to which ``evac_credit`` has accrued
class Drill(NamedTuple):
    """Drills as ordered steps, one row per platoon (``G``); codes ``DRILL_ACTIONS``."""

    offset: np.ndarray  #: int64 (G, 5) steps from a drill's start to each step's; -1 absent
    due: np.ndarray  #: int64 (G, 5) step at which a scheduled step starts; -1 none
    engage_from: np.ndarray  #: int64 (G,) step from which the platoon fires (NEVER: not yet)


class Arms(NamedTuple):
    """Counter-drone weapons: each soldier's class and rounds; downs by class."""

    names: tuple[str, ...]  #: C weapon class names (``Scenario.all_weapons`` order)
    weapon: np.ndarray  #: int8 (N,) weapon class of each soldier
    rounds: np.ndarray  #: int64 (N,) rounds left for shooting at drones
    downs: np.ndarray  #: int64 (2, C) drones shot down, by shooting side and class


class Bodies(NamedTuple):
    """Kernel view: the soldier columns spatial queries read (the same arrays as Soldiers).

    Kernels take views as plain tuples (``columns(Bodies, soldiers)``: Numba unboxes a plain
    tuple about twice as fast as a NamedTuple) and name them again with ``Bodies(*raw)``.
    """

    x: np.ndarray
    y: np.ndarray
    side: np.ndarray
    platoon: np.ndarray
    status: np.ndarray
    posture: np.ndarray
    terrain: np.ndarray


class Positions(NamedTuple):
    """Kernel view: where the soldiers are and whether they live (drones flying at them)."""

    x: np.ndarray
    y: np.ndarray
    status: np.ndarray


class Spotting(NamedTuple):
    """Kernel view: the soldier columns that decide who notices a drone."""

    role: np.ndarray
    spotting: np.ndarray


class Marksmanship(NamedTuple):
    """Kernel view: the soldier columns that decide who shoots at drones, and how well."""

    shoots: np.ndarray
    marksmanship: np.ndarray


class Airframes(NamedTuple):
    """Kernel view: the drone slot columns that soldiers see, shoot at and decoy."""

    state: np.ndarray
    side: np.ndarray
    dtype: np.ndarray
    sortie: np.ndarray
    x: np.ndarray
    y: np.ndarray
    target: np.ndarray
    track: np.ndarray
    committed_decoy: np.ndarray


def columns(view: type, table: tuple) -> tuple:
    """The arrays of ``table`` that the NamedTuple ``view`` names, in its order, as a plain
    tuple for a kernel (which rebuilds the view with ``view(*columns)``).

    >>> table = Bodies(*(np.arange(2) + k for k in range(7)))
    >>> [int(a[0]) for a in columns(Bodies, table)][:3]
    [0, 1, 2]
    """
    return tuple(getattr(table, name) for name in view._fields)


#: where a state lent to a ``GridStore`` keeps its ``Lent`` token (``lend_grids``)
_LENT = "_lent_grids"


class _Grids:
    """``State.grids``: a plain instance attribute (set, then read at attribute speed), except
    where a batched movement call lent the state's grids to its ``GridStore``
    (``lend_grids``): the first read then makes the pair from the store and keeps it as the
    attribute until the next call. A non-data descriptor, so an attribute set on the
    instance always wins over it."""

    def __get__(self, state: State | None, owner: type | None = None) -> tuple[Grid, Grid]:
        if state is None:  # no class-level default: ``grids`` stays a required field
            raise AttributeError("grids")
        d = state.__dict__
        lent = d.get(_LENT)
        if lent is None:
            raise AttributeError("grids")
        pair = d["grids"] = lent.grids()
        return pair


def lend_grids(states: Sequence[State], tokens: Sequence[Any]) -> None:
    """After a batched movement call wrote every replicate's grids into its
    ``spatial.GridStore``: each state's ``grids`` become its replicate's grids in the store,
    made (``Grid`` objects) only when something reads them that step. ``tokens``: the
    store's token of each state's replicate (``GridStore.lent``, or some of it)."""
    for state, lent in zip(states, tokens, strict=True):
        d = state.__dict__
        d.pop("grids", None)
        d[_LENT] = lent


def lent_grids(states: Sequence[State], store: Any) -> bool:
    """Whether every state's ``grids`` are still replicate ``r``'s grids in ``store``, as
    ``lend_grids`` left them (read or not), so a kernel may read the store's buffers in
    place. Reads no grids.

    >>> from dronefront.engine.spatial import GridStore, build_side_grids
    >>> side = np.array([0, 1], np.int8); xs = np.array([0.0, 5.0])
    >>> grids = build_side_grids(xs, xs, np.zeros(2, np.int8), side, 2, 10.0)
    >>> store = GridStore([side], [grids], 10.0)
    >>> class S:
    ...     pass
    >>> s = S(); s.grids = grids
    >>> lent_grids([s], store)
    False
    >>> lend_grids([s], store.lent); lent_grids([s], store)
    True
    """
    for state, lent in zip(states, store.lent, strict=True):
        d = state.__dict__
        if d.get(_LENT) is not lent:
            return False
        held = d.get("grids")
        if held is not None and held is not lent.pair:  # set since, by someone else
            return False
    return True


@dataclass
class State:
    """Everything a run evolves. Stages hand each other data only through these fields."""

    scenario: Scenario  #: the resolved scenario (read-only)
    dt: float  #: s per step
    step: int  #: the step being simulated (0-based)
    streams: Streams  #: the named random streams of this seed
    terrain: TerrainRaster  #: terrain classes and their effects
    soldiers: Soldiers
    platoons: Platoons
    types: DroneTypes
    drones: Drones
    batteries: Batteries
    jammers: Jammers
    tracks: Tracks
    counters: Counters
    unit_names: list[str]
    objective_names: list[str]
    weapon_names: list[str]  #: drone types, then "artillery", "small_arms" (weapon codes)
    posture_concealment: np.ndarray  #: float64 (5,) by posture code
    posture_protection: np.ndarray  #: float64 (5,) by posture code
    track_ttl: np.ndarray  #: float64 (2,) steps a side's track stays usable
    #: per side, a neighbour grid of its living soldiers; movement rebuilds it each step
    #: (in an ensemble, made from movement's store only when read: ``lend_grids``)
    grids: tuple[Grid, Grid] = _Grids()  # type: ignore[assignment]  # no default: see _Grids
    #: int64, sorted: ``sortie * max(G, 1) + platoon`` of drone-platoon contacts this step
    contacts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    #: int64, sorted: the same keys for every contact ever made (encounters, detections)
    seen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    #: int64 (4, P), columns in arrival order: warnings on their way to neighbouring platoons,
    #: rows ``due`` (step it arrives), drone ``slot``, ``sortie``, warned ``platoon``
    warnings: np.ndarray = field(default_factory=lambda: np.empty((4, 0), np.int64))
    next_sortie: int = 0  #: the id the next launched sortie gets
    #: bumped whenever soldiers become casualties: invalidates memos over the living
    casualty_epoch: int = 0
    #: bumped whenever sensing updates a track (``Tracks`` x, y, n, step): invalidates
    #: memos over the tracks (``Launch``)
    track_epoch: int = 0
    #: bumped whenever an outside controller (the RL battery agents) changes a
    #: ``Batteries.order``: invalidates the artillery stage's memo
    order_epoch: int = 0
    #: suppressing events of this step, ``(x, y, kind)``: float64 arrays (m) and a SHOCK_*
    #: code; blasts and casualties append, the morale stage consumes and clears it
    shocks: list = field(default_factory=list)
    #: casualty care, wound history and recent shots (``Care``); built by ``build_state``
    care: Care | None = None
    #: drills as ordered steps (per platoon)
    drill: Drill | None = None
    #: counter-drone weapon classes and ammunition (per soldier)
    arms: Arms | None = None
    #: the earliest step a scheduled drill step is due (``Drill.due``), NEVER if none
    drill_next: int = NEVER
    #: autonomy, swarms and counter-drone layers (None when a scenario uses none of them)
    layers: Layers | None = None

    @property
    def time(self) -> float:
        return self.step * self.dt

    @property
    def artillery_code(self) -> int:
        return len(self.types.names)

    @property
    def small_arms_code(self) -> int:
        return len(self.types.names) + 1


def _rings(weapon: Any, width: int) -> np.ndarray:
    """A weapon's rings as (radius, kill, wound) rows after its two scales (model.md §11)."""
    out = np.full((width, 3), -1.0)
    for i, ring in enumerate(weapon.lethality):
        out[i] = (ring.radius, *scaled_ring(ring.kill, ring.wound, weapon.casualty_scale,
                                            weapon.killed_share_scale))
    return out


def _slot_offsets(
    formation: str, size: int, spacing: float, ranks: int, jitter: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Formation slots in the platoon's frame: x to the right, y forward, metres."""
    k = np.arange(size)
    if formation == "wedge":
        rank = (k + 1) // 2
        flank = np.where(k % 2 == 1, -1.0, 1.0)
        return flank * rank * spacing, -rank * spacing
    if formation == "column":
        cols = 2
    elif formation == "dispersed":
        cols = max(1, math.ceil(math.sqrt(size)))
    else:  # line and block
        cols = max(1, math.ceil(size / ranks))
    ox = (k % cols) * spacing
    oy = -(k // cols) * spacing
    if formation == "dispersed":
        ox = ox + (jitter[:size, 0] - 0.5) * 0.8 * spacing
        oy = oy + (jitter[:size, 1] - 0.5) * 0.8 * spacing
    return ox.astype(float), oy.astype(float)


def build_state(scenario: Scenario, seed: int,
                platoon_doctrine: Mapping[int, Doctrine] | None = None) -> State:
    """Lay out every soldier, platoon, drone slot, battery and jammer of a scenario.

    ``platoon_doctrine`` gives some platoons (by platoon index) a doctrine of their own in
    place of their unit's (a lessons file's veterans, docs/model.md §16.6); the unit's
    platoon interval then fits the widest of its platoons' formations.

    From the second state of one scenario object on (without ``platoon_doctrine``), the
    state is copied from the scenario's ``StateTemplate`` (the same arrays, to the bit).
    """
    if not platoon_doctrine:
        template = state_template(scenario, first=False)
        if template is not None:
            return template.build(seed)
    return _build_state(scenario, seed, platoon_doctrine or {})


def _build_state(scenario: Scenario, seed: int, own: Mapping[int, Doctrine],
                 terrain: TerrainRaster | None = None,
                 scatter: list[Scatter] | None = None) -> State:
    """``build_state`` from scratch; ``terrain``, if given, is the raster (already built),
    and ``scatter`` collects the platoons whose slots depend on the seed."""
    streams = Streams(seed)
    terrain = terrain if terrain is not None else rasterize(scenario.terrain)
    objective_names = [o.name for o in scenario.objectives]
    type_table = scenario.all_drone_types()
    type_names = tuple(type_table)
    type_index = {n: i for i, n in enumerate(type_names)}

    cols: dict[str, list] = {k: [] for k in (
        "x", "y", "side", "unit", "platoon", "squad", "posture", "role", "shoots", "spotting",
        "marksmanship", "ox", "oy")}
    pcols: dict[str, list] = {k: [] for k in (
        "side", "unit", "ax", "ay", "hx", "hy", "route", "base_posture", "objective", "pace",
        "freeze", "disperse", "engage", "decoy", "freeze_time", "disperse_time",
        "disperse_factor", "discipline", "value", "fire_rate", "fire_kill", "fire_wound",
        "fire_range", "breakpoint", "on_break", "decoy_dummy")}
    unit_names: list[str] = []
    squad_counter = 0
    placed = 0  # soldiers laid out so far
    jitter_key = streams["formation.jitter"]
    for side_index, side_name in enumerate(SIDES):
        side = getattr(scenario.sides, side_name)
        for unit in side.units:
            unit_index = len(unit_names)
            unit_names.append(unit.name)
            doc = unit.doctrine
            hx, hy = unit.heading
            n_platoons = math.ceil(unit.count / unit.platoon_size)
            columns = unit.layout.columns or max(1, math.ceil(math.sqrt(n_platoons)))
            dx = unit.layout.dx
            first = len(pcols["side"])
            if dx is None:
                full = min(unit.platoon_size, unit.count)
                dx = 0.0
                for d in {id(x): x for x in (own.get(first + p, unit.doctrine)
                                             for p in range(n_platoons))}.values():
                    fx, _ = _slot_offsets(d.formation, full, d.spacing, d.ranks,
                                          np.full((full, 2), 0.5))
                    dx = max(dx, float(fx.max() - fx.min()) + 3 * d.spacing)
            for p in range(n_platoons):
                size = min(unit.platoon_size, unit.count - p * unit.platoon_size)
                platoon_index = len(pcols["side"])
                doc = own.get(platoon_index, unit.doctrine)
                lx = dx * (p % columns)
                ly = unit.layout.dy * (p // columns)
                ax = unit.start[0] + lx * hy + ly * hx
                ay = unit.start[1] - lx * hx + ly * hy
                # only a dispersed formation draws its slots' jitter
                jitter = (_jitter(jitter_key, size, platoon_index)
                          if doc.formation == "dispersed" else None)
                sx, sy = _slot_offsets(doc.formation, size, doc.spacing, doc.ranks, jitter)
                if scatter is not None and doc.formation == "dispersed":
                    scatter.append(Scatter(placed, size, platoon_index, doc.spacing,
                                           doc.ranks, ax, ay, hx, hy))
                placed += size
                cols["x"].append(ax + sx * hy + sy * hx)
                cols["y"].append(ay - sx * hx + sy * hy)
                cols["ox"].append(sx)
                cols["oy"].append(sy)
                cols["side"].append(np.full(size, side_index, np.int8))
                cols["unit"].append(np.full(size, unit_index, np.int32))
                cols["platoon"].append(np.full(size, platoon_index, np.int32))
                cols["squad"].append(squad_counter + np.arange(size) // unit.squad_size)
                squad_counter += math.ceil(size / unit.squad_size)
                cols["posture"].append(np.full(size, POSTURES.index(unit.posture), np.int8))
                role = np.full(size, RIFLEMAN, np.int8)
                cursor = 0
                for code, count in ((SPOTTER, doc.spotters), (SHOOTER, doc.shooters),
                                    (DECOY, doc.decoys), (OBSERVER, doc.observers)):
                    role[cursor:cursor + count] = code
                    cursor += count
                cols["role"].append(role)
                cols["shoots"].append((role == SHOOTER) | doc.everyone_shoots)
                cols["spotting"].append(np.full(size, unit.skills.spotting))
                cols["marksmanship"].append(np.full(size, unit.skills.marksmanship))
                route = [(wx + ax - unit.start[0], wy + ay - unit.start[1])
                         for wx, wy in unit.waypoints]
                fire = unit.direct_fire
                for key, value in (
                    ("side", side_index), ("unit", unit_index), ("ax", ax), ("ay", ay),
                    ("hx", hx), ("hy", hy), ("route", route),
                    ("base_posture", POSTURES.index(unit.posture)),
                    ("objective", objective_names.index(unit.objective)
                     if unit.objective else -1),
                    ("pace", doc.pace * (1 - DISCIPLINE_PACE_COST * doc.concealment_discipline)
                     * (NIGHT_PACE_FACTOR if scenario.night else 1.0)),
                    ("freeze", "freeze" in doc.drill),
                    ("disperse", "disperse" in doc.drill), ("engage", "engage" in doc.drill),
                    ("decoy", "decoy" in doc.drill), ("freeze_time", doc.freeze_time),
                    ("disperse_time", doc.disperse_time),
                    ("disperse_factor", doc.disperse_factor),
                    ("discipline", doc.concealment_discipline), ("value", unit.value),
                    ("fire_rate", fire.rate / 60.0 if fire else 0.0),
                    ("fire_kill", fire.kill_prob if fire else 0.0),
                    ("fire_wound", fire.wound_prob if fire else 0.0),
                    ("fire_range", fire.range if fire else 0.0),
                    ("breakpoint", doc.breakpoint),
                    ("on_break", BREAK_ACTIONS.index(doc.on_break)),
                    ("decoy_dummy", doc.decoy_kind == "dummy"),
                ):
                    pcols[key].append(value)

    def cat(key: str, dtype) -> np.ndarray:
        parts = cols[key]
        return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)

    x, y = cat("x", np.float64), cat("y", np.float64)
    n = x.shape[0]
    soldiers = Soldiers(
        x=x, y=y, side=cat("side", np.int8), unit=cat("unit", np.int32),
        platoon=cat("platoon", np.int32), squad=cat("squad", np.int32),
        status=np.zeros(n, np.int8), posture=cat("posture", np.int8), role=cat("role", np.int8),
        shoots=cat("shoots", bool), spotting=cat("spotting", np.float64),
        marksmanship=cat("marksmanship", np.float64), encounters=np.zeros(n, np.int32),
        cause=np.full(n, -1, np.int16), ox=cat("ox", np.float64), oy=cat("oy", np.float64),
        holding=np.zeros(n, bool), terrain=terrain.lookup(x, y),
        suppression=np.zeros(n, np.float64),
    )

    g = len(pcols["side"])
    width = max([len(r) for r in pcols["route"]] + [1])
    route_x = np.zeros((g, width))
    route_y = np.zeros((g, width))
    n_wp = np.zeros(g, np.int32)
    route_length = np.zeros(g)
    for i, route in enumerate(pcols["route"]):
        n_wp[i] = len(route)
        points = route or [(pcols["ax"][i], pcols["ay"][i])]
        padded = points + [points[-1]] * (width - len(points))
        route_x[i], route_y[i] = zip(*padded, strict=True)
        chain = [(pcols["ax"][i], pcols["ay"][i]), *route]
        route_length[i] = sum(math.dist(a, b) for a, b in zip(chain, chain[1:], strict=False))

    def parr(key: str, dtype) -> np.ndarray:
        return np.array(pcols[key], dtype=dtype) if g else np.empty(0, dtype)

    far_past = np.full(g, -1, np.int64)
    platoons = Platoons(
        side=parr("side", np.int8), unit=parr("unit", np.int32),
        ax=parr("ax", np.float64), ay=parr("ay", np.float64),
        hx=parr("hx", np.float64), hy=parr("hy", np.float64),
        route_x=route_x, route_y=route_y, n_waypoints=n_wp, next_wp=np.zeros(g, np.int32),
        base_posture=parr("base_posture", np.int8), objective=parr("objective", np.int32),
        pace=parr("pace", np.float64), freeze=parr("freeze", bool),
        disperse=parr("disperse", bool), engage=parr("engage", bool), decoy=parr("decoy", bool),
        freeze_time=parr("freeze_time", np.float64),
        disperse_time=parr("disperse_time", np.float64),
        disperse_factor=parr("disperse_factor", np.float64),
        discipline=parr("discipline", np.float64), value=parr("value", np.float64),
        frozen_until=far_past.copy(), dispersed_until=far_past.copy(),
        decoy_until=far_past.copy(), decoy_dx=np.zeros(g), decoy_dy=np.zeros(g),
        advanced=np.zeros(g), route_length=route_length,
        fire_rate=parr("fire_rate", np.float64), fire_kill=parr("fire_kill", np.float64),
        fire_wound=parr("fire_wound", np.float64), fire_range=parr("fire_range", np.float64),
        lag=np.zeros(g), movers=np.ones(g, np.int64),
        strength=np.bincount(soldiers.platoon, minlength=g).astype(np.int64)[:g],
        breakpoint=parr("breakpoint", np.float64), on_break=parr("on_break", np.int8),
        broken=np.zeros(g, bool), shaken=np.zeros(g, np.int64),
        rally_x=parr("ax", np.float64), rally_y=parr("ay", np.float64),
        grounded_until=far_past.copy(), decoy_dummy=parr("decoy_dummy", bool),
    )

    types = _drone_types(type_table)
    drones = _drones(scenario, type_index, types)
    batteries, jammers = _fires(scenario)
    never = np.full((2, g), np.iinfo(np.int64).min // 2, np.int64)
    tracks = Tracks(
        x=np.zeros((2, g)), y=np.zeros((2, g)), n=np.zeros((2, g), np.int64),
        step=never.copy(), engaged_until=never.copy(),
    )
    counters = Counters(
        fates=np.zeros((2, len(type_names), len(FATES)), np.int64), shots=np.zeros(2, np.int64),
        direct_shots=np.zeros(2, np.int64), shells=np.zeros(2, np.int64),
        strikes=np.zeros((2, len(type_names)), np.int64), decoy_downs=np.zeros(2, np.int64),
    )
    care = _care(scenario, soldiers, platoons, drones)
    drill, arms = _drill_and_arms(scenario, soldiers, g, own)
    layers = _layers(scenario, type_index, types, drones, jammers)
    return State(
        care=care, drill=drill, arms=arms, layers=layers,
        scenario=scenario, dt=scenario.dt, step=0, streams=streams, terrain=terrain,
        soldiers=soldiers, platoons=platoons, types=types, drones=drones,
        batteries=batteries, jammers=jammers, tracks=tracks, counters=counters,
        unit_names=unit_names, objective_names=objective_names,
        weapon_names=[*type_names, "artillery", "small_arms"],
        posture_concealment=np.array([scenario.posture_concealment[p] for p in POSTURES]),
        posture_protection=np.array([scenario.posture_protection[p] for p in POSTURES]),
        track_ttl=np.array([getattr(scenario.sides, name).drone_doctrine.track_ttl / scenario.dt
                            for name in SIDES]),
        grids=build_side_grids(soldiers.x, soldiers.y, soldiers.status, soldiers.side, KILLED,
                               GRID_CELL),
    )


def _care(scenario: Scenario, soldiers: Soldiers, platoons: Platoons, drones: Drones) -> Care:
    """The ``Care`` table: per-platoon doctrine from its unit, soldier columns only if used."""
    units = [u for name in SIDES for u in getattr(scenario.sides, name).units]
    specs = [units[u].doctrine.casualty_care for u in platoons.unit.tolist()]
    starts = [units[u].start for u in platoons.unit.tolist()]
    g = len(specs)
    mode = np.array([CARE_MODES.index(c.mode) for c in specs], np.int8).reshape(g)
    n = soldiers.n
    caring = bool((mode != CARE_NONE).any())
    weighted = bool((drones.policy == WEIGHTED).any())
    nc = n if caring else 0
    dt = scenario.dt
    collect = [c.collection_point or start for c, start in zip(specs, starts, strict=True)]

    def parr(values: list, dtype=np.float64) -> np.ndarray:
        return np.array(values, dtype=dtype).reshape(g)

    return Care(
        wounded_step=np.full(n, -1, np.int32), helping=np.full(nc, -1, np.int32),
        phase=np.zeros(nc, np.int8), care_left=np.full(nc, -1.0), since=np.zeros(nc, np.int32),
        last_shot=np.full(n if weighted else 0, -1, np.int32), mode=mode,
        helpers=parr([c.helpers for c in specs], np.int64),
        radius=parr([c.radius for c in specs]), treat_time=parr([c.treat_time for c in specs]),
        drag_speed=parr([c.drag_speed for c in specs]),
        collect_x=parr([c[0] for c in collect]), collect_y=parr([c[1] for c in collect]),
        evac_rate=parr([c.evacuation_rate * dt / 60.0 for c in specs]),
        evac_credit=np.zeros(g), evac_step=np.zeros(1, np.int64),
    )


def unit_loads(unit: Any, weapons: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Per weapon class a unit's soldiers carry: (rounds per soldier, rounds in all), as
    ``build_state`` issues them (its designated shooters, after its spotters in each
    platoon, carry ``shooter_weapon``; everyone else ``weapon``), for a unit whose platoons
    all keep its doctrine (no veteran platoons of a lessons file: a campaign's companies).

    >>> from dronefront.scenario.models import DEFAULT_WEAPONS, Unit
    >>> unit = Unit(name="u", count=50, start=(0, 0), doctrine={"shooters": 4, "spotters":
    ...             1, "shooter_weapon": "shotgun"})
    >>> unit_loads(unit, DEFAULT_WEAPONS)
    {'rifle': (90, 3780), 'shotgun': (30, 240)}
    """
    doc = unit.doctrine
    issue = unit.ammunition or {}
    shooters = 0
    for p in range(math.ceil(unit.count / unit.platoon_size)):
        size = min(unit.platoon_size, unit.count - p * unit.platoon_size)
        shooters += min(size, doc.spotters + doc.shooters) - min(size, doc.spotters)
    out: dict[str, tuple[int, int]] = {}
    for name, n in ((doc.weapon, unit.count - shooters),
                    (doc.shooter_weapon or doc.weapon, shooters)):
        if n:
            each = int(issue.get(name, weapons[name].ammunition))
            out[name] = (each, out.get(name, (each, 0))[1] + each * n)
    return out


def _drill_and_arms(scenario: Scenario, soldiers: Soldiers, g: int,
                    own: Mapping[int, Doctrine]) -> tuple[Drill, Arms]:
    """Drill step offsets per platoon and weapon classes and rounds per soldier."""
    weapons = scenario.all_weapons()
    names = tuple(weapons)
    offset = np.full((g, len(DRILL_ACTIONS)), -1, np.int64)
    weapon = np.zeros(soldiers.n, np.int8)
    rounds = np.zeros(soldiers.n, np.int64)
    units = [u for side in SIDES for u in getattr(scenario.sides, side).units]
    for u, unit in enumerate(units):
        doc = unit.doctrine
        mine = soldiers.unit == u
        shooter = mine & (soldiers.role == SHOOTER)
        rifle = mine & ~shooter
        issue = unit.ammunition or {}
        for sel, name in ((rifle, doc.weapon), (shooter, doc.shooter_weapon or doc.weapon)):
            weapon[sel] = names.index(name)
            rounds[sel] = issue.get(name, weapons[name].ammunition)
        platoons = np.unique(soldiers.platoon[mine])
        step_gap = doc.drill_interval / scenario.dt
        for i, action in enumerate(doc.drill):
            a = DRILL_ACTIONS.index(action)
            if offset[platoons[0], a] < 0 if platoons.size else False:
                offset[platoons, a] = int(math.floor(i * step_gap + 0.5))  # nearest step
    for platoon, doc in own.items():  # platoons with a doctrine of their own
        offset[platoon] = -1
        for i, action in enumerate(doc.drill):
            a = DRILL_ACTIONS.index(action)
            if offset[platoon, a] < 0:
                offset[platoon, a] = int(math.floor(i * doc.drill_interval / scenario.dt + 0.5))
    drill = Drill(offset=offset, due=np.full((g, len(DRILL_ACTIONS)), -1, np.int64),
                  engage_from=np.full(g, NEVER, np.int64))
    arms = Arms(names=names, weapon=weapon, rounds=rounds,
                downs=np.zeros((2, len(names)), np.int64))
    return drill, arms


def _drone_types(table: dict) -> DroneTypes:
    specs = list(table.values())
    width = max([len(t.lethality) for t in specs] + [1])

    def arr(attr: str, dtype=np.float64) -> np.ndarray:
        return np.array([getattr(t, attr) for t in specs], dtype=dtype)

    return DroneTypes(
        names=tuple(table), role=np.array([DRONE_ROLES.index(t.role) for t in specs], np.int8),
        speed=arr("speed"), endurance=arr("endurance"), altitude=arr("altitude"),
        radio=np.array([t.link == "radio" for t in specs]), link_range=arr("link_range"),
        link_resistance=arr("link_resistance"), sensor_range=arr("sensor_range"),
        sensor_detect_prob=arr("sensor_detect_prob"), night_capable=arr("night_capable", bool),
        acquire_range=arr("acquire_range"),
        rings=np.stack([_rings(t, width) for t in specs]),
        bombs=arr("bombs", np.int64), bomb_interval=arr("bomb_interval"),
        aim_error=arr("aim_error"), cover_penetration=arr("cover_penetration"),
        signature_range=arr("signature_range"), cost=arr("cost"),
        failure_prob=arr("failure_prob"), operator_skill=arr("operator_skill"),
        terminal_miss=arr("terminal_miss"), miss_per_speed=arr("miss_per_speed"),
        miss_per_jamming=arr("miss_per_jamming"), miss_under_fire=arr("miss_under_fire"),
        autonomy_range=arr("autonomy_range"), autonomy_miss=arr("autonomy_miss"),
        misidentification=arr("misidentification"), intercept_range=arr("intercept_range"),
    )


def _drones(scenario: Scenario, type_index: dict, types: DroneTypes) -> Drones:
    dt = scenario.dt
    rows: list[tuple] = []
    weights: list[tuple] = []
    fallen: list[bool] = []
    swarm: list[tuple[int, float]] = []
    groups = 0
    for side_index, side_name in enumerate(SIDES):
        for team in getattr(scenario.sides, side_name).teams:
            if types.role[type_index[team.drone]] == INTERCEPTOR:
                continue  # interceptor teams fly in their own table (``Interceptors``)
            station = team.station or (math.nan, math.nan)
            until = team.active_until if team.active_until is not None else math.inf
            for _ in range(team.count):
                rows.append((
                    side_index, type_index[team.drone], team.position[0], team.position[1],
                    team.inventory, int(round(team.turnaround / dt)),
                    team.targeting == "omniscient", POLICIES.index(team.policy),
                    team.density_radius, station[0], station[1],
                    int(math.ceil(team.active_from / dt - 1e-9)),
                    int(min(until / dt, 2**40)),
                ))
                w = team.weights
                weights.append((w.moving, w.still, w.prone, w.shooting, w.fallen, w.bunched,
                                w.shot_memory / dt))
                # A target that falls wounded is kept unless the policy spares the fallen.
                fallen.append(team.policy not in ("densest", "weighted") or w.fallen > 0)
            for j in range(team.count):
                swarm.append((groups + j // team.salvo if team.salvo > 1 else -1,
                              team.deconfliction_radius))
            if team.salvo > 1:
                groups += math.ceil(team.count / team.salvo)
    m = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 13

    def arr(i: int, dtype) -> np.ndarray:
        return np.array(cols[i], dtype=dtype)

    return Drones(
        side=arr(0, np.int8), dtype=arr(1, np.int32), home_x=arr(2, np.float64),
        home_y=arr(3, np.float64), inventory=arr(4, np.int64), turnaround=arr(5, np.int64),
        targeting_omniscient=arr(6, bool), policy=arr(7, np.int8),
        density_radius=arr(8, np.float64), station_x=arr(9, np.float64),
        station_y=arr(10, np.float64), active_from=arr(11, np.int64),
        active_until=arr(12, np.int64), state=np.zeros(m, np.int8),
        phase=np.zeros(m, np.int8), ready_step=arr(11, np.int64),
        x=arr(2, np.float64), y=arr(3, np.float64), target=np.full(m, -1, np.int64),
        track=np.full(m, -1, np.int64), aim_x=np.zeros(m), aim_y=np.zeros(m),
        battery_end=np.zeros(m, np.int64), bombs_left=np.zeros(m, np.int64),
        next_bomb=np.zeros(m, np.int64), sortie=np.full(m, -1, np.int64),
        committed_decoy=np.zeros(m, bool), fire_step=np.full(m, -1, np.int64),
        fire_shooters=np.zeros(m, np.int64),
        weights=np.array(weights, np.float64).reshape(m, len(WEIGHT_NAMES)),
        strikes_fallen=np.array(fallen, bool).reshape(m),
        salvo=np.array([g for g, _ in swarm], np.int64).reshape(m),
        deconfliction=np.array([r for _, r in swarm], np.float64).reshape(m),
        autonomous_sortie=np.full(m, -1, np.int64),
    )


def _fires(scenario: Scenario) -> tuple[Batteries, Jammers]:
    batteries = []
    jammers = []
    for side_index, side_name in enumerate(SIDES):
        side = getattr(scenario.sides, side_name)
        batteries += [(side_index, b) for b in side.batteries]
        jammers += [(side_index, j) for j in side.jammers]
    width = max([len(b.lethality) for _, b in batteries] + [1])
    nb_ = len(batteries)

    def barr(fn, dtype=np.float64) -> np.ndarray:
        return np.array([fn(s, b) for s, b in batteries], dtype=dtype)

    bat = Batteries(
        side=barr(lambda s, b: s, np.int8), x=barr(lambda s, b: b.position[0]),
        y=barr(lambda s, b: b.position[1]), rounds=barr(lambda s, b: b.rounds, np.int64),
        interval=barr(lambda s, b: 60.0 / (b.rate * b.tubes)),
        rounds_per_mission=barr(lambda s, b: b.rounds_per_mission, np.int64),
        latency=barr(lambda s, b: int(round(b.latency / scenario.dt)), np.int64),
        sigma=barr(lambda s, b: b.cep / 1.1774), max_range=barr(lambda s, b: b.max_range),
        min_group=barr(lambda s, b: b.min_group, np.int64),
        rings=np.stack([_rings(b, width) for _, b in batteries])
        if nb_ else np.zeros((0, width, 3)),
        cost_per_round=barr(lambda s, b: b.cost_per_round),
        mission_left=np.zeros(nb_, np.int64), mission_x=np.zeros(nb_),
        mission_y=np.zeros(nb_), next_round_time=np.zeros(nb_), fired=np.zeros(nb_, np.int64),
        order=np.full(nb_, BATTERY_RULE, np.int64),
    )

    def jarr(fn, dtype=np.float64) -> np.ndarray:
        return np.array([fn(s, j) for s, j in jammers], dtype=dtype)

    jam = Jammers(
        side=jarr(lambda s, j: s, np.int8), x=jarr(lambda s, j: j.position[0]),
        y=jarr(lambda s, j: j.position[1]), radius=jarr(lambda s, j: j.radius),
        strength=jarr(lambda s, j: j.strength), active=jarr(lambda s, j: j.active, bool),
    )
    return bat, jam


def _layers(scenario: Scenario, type_index: dict, types: DroneTypes, drones: Drones,
            jammers: Jammers) -> Layers | None:
    """The ``Layers`` of a scenario that uses autonomy, salvos, interceptors, RF detectors or
    jammer hunting; None otherwise (the stages then skip every layer mechanic)."""
    sides = [getattr(scenario.sides, name) for name in SIDES]
    used_types = {type_index[t.drone] for side in sides for t in side.teams}
    autonomy = any(types.autonomy_range[k] > 0 for k in used_types)
    swarms = bool((drones.salvo >= 0).any() or (drones.deconfliction > 0).any())
    hunting = any(side.isr_finds_jammers for side in sides)
    rows = [(i, t) for i, side in enumerate(sides) for t in side.teams
            if types.role[type_index[t.drone]] == INTERCEPTOR]
    dets = [(i, d) for i, side in enumerate(sides) for d in side.rf_detectors]
    if not (autonomy or swarms or hunting or rows or dets):
        return None
    dt = scenario.dt
    slots = [(i, t) for i, t in rows for _ in range(t.count)]
    n = len(slots)

    def iarr(fn, dtype=np.float64) -> np.ndarray:
        return np.array([fn(i, t) for i, t in slots], dtype=dtype).reshape(n)

    start = iarr(lambda i, t: int(math.ceil(t.active_from / dt - 1e-9)), np.int64)
    interceptors = Interceptors(
        side=iarr(lambda i, t: i, np.int8), dtype=iarr(lambda i, t: type_index[t.drone], np.int32),
        home_x=iarr(lambda i, t: t.position[0]), home_y=iarr(lambda i, t: t.position[1]),
        inventory=iarr(lambda i, t: t.inventory, np.int64),
        turnaround=iarr(lambda i, t: int(round(t.turnaround / dt)), np.int64),
        active_from=start,
        active_until=iarr(lambda i, t: int(min((t.active_until if t.active_until is not None
                                                else math.inf) / dt, 2**40)), np.int64),
        state=np.zeros(n, np.int8), ready_step=start.copy(),
        x=iarr(lambda i, t: t.position[0]), y=iarr(lambda i, t: t.position[1]),
        target=np.full(n, -1, np.int64), target_sortie=np.full(n, -1, np.int64),
        battery_end=np.zeros(n, np.int64), sortie=np.full(n, -1, np.int64),
    )
    nd = len(dets)

    def darr(fn, dtype=np.float64) -> np.ndarray:
        return np.array([fn(i, d) for i, d in dets], dtype=dtype).reshape(nd)

    detectors = Detectors(
        side=darr(lambda i, d: i, np.int8), x=darr(lambda i, d: d.position[0]),
        y=darr(lambda i, d: d.position[1]), range=darr(lambda i, d: d.range),
        detect_prob=darr(lambda i, d: d.detect_prob),
        locate_error=darr(lambda i, d: d.locate_error),
        cue=darr(lambda i, d: d.cue_artillery, bool),
    )
    never = np.iinfo(np.int64).min // 2
    return Layers(
        interceptors=interceptors, detectors=detectors,
        isr_finds_jammers=np.array([side.isr_finds_jammers for side in sides]),
        team_alive=np.ones(drones.n, bool), team_called=np.full(drones.n, never, np.int64),
        jammer_called=np.full(jammers.side.shape[0], never, np.int64),
        tallies={name: np.zeros(2, np.int64)
                 for name in LAYER_TALLIES + (INTERCEPTOR_TALLIES if n else ())},
    )


def _jitter(key: np.uint64, size: int, platoon: int) -> np.ndarray:
    """A dispersed platoon's slot jitter, ``(size, 2)`` uniforms of ``formation.jitter``."""
    ids = np.arange(size, dtype=np.int64)
    return np.column_stack([uniforms(key, 0, ids, 2 * platoon),
                            uniforms(key, 0, ids, 2 * platoon + 1)])


class Scatter(NamedTuple):
    """A platoon in a dispersed formation: its slots, so its soldiers' positions, depend on
    the seed (``formation.jitter``). Soldiers ``start`` to ``start + size``."""

    start: int
    size: int
    platoon: int
    spacing: float
    ranks: int
    ax: float
    ay: float
    hx: float
    hy: float


#: ``State`` fields that hold tables (NamedTuples of arrays, never rebound during a run).
TABLES = ("soldiers", "platoons", "types", "drones", "batteries", "jammers", "tracks",
          "counters", "care", "drill", "arms")
#: ``Layers`` fields that hold arrays or tables never rebound during a run (``contacts``
#: and ``fire_calls`` are replaced or emptied by the stages).
LAYER_TABLES = ("interceptors", "detectors")
LAYER_ARRAYS = ("isr_finds_jammers", "team_alive", "team_called", "jammer_called")
#: Scenarios of more soldiers than this keep no template between runs (it holds a whole
#: state); an ensemble still builds one for its own replicates.
TEMPLATE_SOLDIERS = 100_000


class StateTemplate:
    """What ``build_state`` lays out for one scenario object (without a lessons file's
    platoon doctrines) that does not depend on the seed, built once: a state of every
    table, and the dispersed platoons (``Scatter``) whose soldiers' slots are drawn per
    seed. ``build(seed)`` copies it and lays out those platoons for the seed: to the bit
    the state ``build_state`` builds from scratch. Its terrain raster is shared by every
    state it builds (nothing writes a raster). The template's own arrays are never handed
    out, so no run can change them.

    >>> from dronefront.scenario.loader import load_scenario
    >>> scenario = load_scenario("reference-open-field", ["parameters.N=60"])
    >>> state = StateTemplate(scenario).build(3)
    >>> bool((state.soldiers.x == _build_state(scenario, 3, {}).soldiers.x).all())
    True
    """

    def __init__(self, scenario: Scenario) -> None:
        # Only a weak reference to the scenario: a template kept for it (``state_template``)
        # must not keep it alive.
        self._scenario = weakref.ref(scenario)
        self.scatter: list[Scatter] = []
        self.state = _build_state(scenario, 0, {}, scatter=self.scatter)
        self.state.scenario = None  # type: ignore[assignment]
        self.soldiers = self.state.soldiers.n
        # Every table column once (an array two fields share is listed once), and per
        # table and field where its value comes from: (True, index) or (False, value).
        self.arrays: list[np.ndarray] = []
        at: dict[int, int] = {}

        def slot(v: Any) -> tuple[bool, Any]:
            if not isinstance(v, np.ndarray):
                return False, v
            if id(v) not in at:
                at[id(v)] = len(self.arrays)
                self.arrays.append(v)
            return True, at[id(v)]

        def layout(table: Any) -> Any:
            return None if table is None else (type(table), [slot(v) for v in table])

        state = self.state
        self.tables = {name: layout(getattr(state, name)) for name in TABLES}
        layers = state.layers
        self.layers = None if layers is None else (
            {name: layout(getattr(layers, name)) for name in LAYER_TABLES},
            {name: slot(getattr(layers, name))[1] for name in LAYER_ARRAYS},
            {name: slot(v)[1] for name, v in layers.tallies.items()})

    @property
    def scenario(self) -> Scenario:
        """The scenario the template lays out."""
        scenario = self._scenario()
        if scenario is None:
            raise ValueError("the template's scenario no longer exists")
        return scenario

    def build(self, seed: int) -> State:
        """A fresh state for ``seed``: every array its own."""
        return self._seed(self._state([a.copy() for a in self.arrays]), seed)

    def stack(self, seeds: Sequence[int]) -> list[State]:
        """One fresh state per seed whose table columns (as ``ensemble.stack_states`` would
        stack them) are the rows of one stacked array per column, ``(R, *shape)``."""
        blocks = []
        for a in self.arrays:
            block = np.empty((len(seeds), *a.shape), a.dtype)
            block[...] = a
            blocks.append(block)
        return [self._seed(self._state([b[r] for b in blocks]), seed)
                for r, seed in enumerate(seeds)]

    def refill(self, old: State, seed: int) -> State:
        """A fresh state for ``seed`` whose tables are ``old``'s (views of an ensemble's
        stacked rows: the same table objects), their values overwritten with the
        template's."""
        views: list[Any] = [None] * len(self.arrays)
        for name, table in self.tables.items():
            if table is not None:
                for (is_array, i), view in zip(table[1], getattr(old, name), strict=True):
                    if is_array:
                        views[i] = view
        if self.layers is not None:
            tables, arrays, tallies = self.layers
            for name, table in tables.items():
                for (is_array, i), view in zip(table[1], getattr(old.layers, name),
                                               strict=True):
                    if is_array:
                        views[i] = view
            for name, i in arrays.items():
                views[i] = getattr(old.layers, name)
            for name, i in tallies.items():
                views[i] = old.layers.tallies[name]
        for view, a in zip(views, self.arrays, strict=True):
            view[...] = a
        return self._seed(self._state(views), seed)

    def _state(self, arrays: list[np.ndarray]) -> State:
        """A state of the template's with ``arrays`` for its table columns (in ``arrays``
        order) and copies of its other arrays; streams and grids are left to ``_seed``."""

        def table(layout: Any) -> Any:
            if layout is None:
                return None
            kind, fields = layout
            return kind(*[arrays[v] if is_array else v for is_array, v in fields])

        t = self.state
        layers = None
        if self.layers is not None:
            tables, where, tallies = self.layers
            layers = Layers(
                **{name: table(layout) for name, layout in tables.items()},
                **{name: arrays[i] for name, i in where.items()},
                tallies={name: arrays[i] for name, i in tallies.items()},
                contacts=t.layers.contacts.copy())
        return State(
            scenario=self.scenario, dt=t.dt, step=0, streams=t.streams, terrain=t.terrain,
            **{name: table(layout) for name, layout in self.tables.items()},
            unit_names=list(t.unit_names), objective_names=list(t.objective_names),
            weapon_names=list(t.weapon_names),
            posture_concealment=t.posture_concealment.copy(),
            posture_protection=t.posture_protection.copy(), track_ttl=t.track_ttl.copy(),
            grids=t.grids, contacts=t.contacts.copy(), seen=t.seen.copy(),
            warnings=t.warnings.copy(), drill_next=t.drill_next, layers=layers)

    def _seed(self, state: State, seed: int) -> State:
        """Give ``state`` the streams of ``seed``, the slots its dispersed platoons draw,
        and its soldiers' neighbour grids."""
        state.streams = streams = Streams(seed)
        s = state.soldiers
        if self.scatter:
            key = streams["formation.jitter"]
            for sc in self.scatter:
                sx, sy = _slot_offsets("dispersed", sc.size, sc.spacing, sc.ranks,
                                       _jitter(key, sc.size, sc.platoon))
                at = slice(sc.start, sc.start + sc.size)
                s.x[at] = sc.ax + sx * sc.hy + sy * sc.hx
                s.y[at] = sc.ay - sx * sc.hx + sy * sc.hy
                s.ox[at] = sx
                s.oy[at] = sy
                s.terrain[at] = state.terrain.lookup(s.x[at], s.y[at])
        state.grids = build_side_grids(s.x, s.y, s.status, s.side, KILLED, GRID_CELL)
        return state


#: ``id(scenario)`` -> (a weak reference to it, its template or None: seen once so far)
_TEMPLATES: dict[int, tuple[Any, StateTemplate | None]] = {}


def state_template(scenario: Scenario, *, first: bool = True) -> StateTemplate | None:
    """The ``StateTemplate`` of ``scenario`` (this very object), kept while it lives.

    With ``first=False`` (a single run's ``build_state``) a scenario seen for the first
    time gets none (None: build from scratch, nothing kept but a note), so a scenario run
    once pays nothing for a template; nor does one of more than ``TEMPLATE_SOLDIERS``
    soldiers keep one between calls.
    """
    key = id(scenario)
    hit = _TEMPLATES.get(key)
    seen = hit is not None and hit[0]() is scenario
    if seen and hit[1] is not None:
        return hit[1]
    small = sum(u.count for name in SIDES
                for u in getattr(scenario.sides, name).units) <= TEMPLATE_SOLDIERS
    if not first and not (seen and small):
        if not seen:
            _TEMPLATES[key] = (_forget(scenario), None)
        return None
    template = StateTemplate(scenario)
    if small:
        _TEMPLATES[key] = (_forget(scenario), template)
    return template


def _forget(scenario: Scenario) -> Any:
    """A weak reference to ``scenario`` that drops its ``_TEMPLATES`` entry when it dies."""
    key, templates = id(scenario), _TEMPLATES  # the dict itself: at exit globals are None

    def drop(ref: Any) -> None:
        hit = templates.get(key)
        if hit is not None and hit[0] is ref:
            del templates[key]

    return weakref.ref(scenario, drop)
