"""Simulation state as struct-of-arrays: one NumPy array per attribute, one row per agent.

Soldiers, platoons (the tactical groups that move, detect and drill together), drone slots
(one per operator team, flying one airframe at a time), batteries and jammers each get a
table. Stages read and write these arrays in place; nothing holds per-agent Python objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dronefront.engine.rng import Streams, uniforms
from dronefront.engine.spatial import GRID_CELL, Grid, build_side_grids
from dronefront.engine.terrain import TerrainRaster, rasterize
from dronefront.scenario.models import SIDES, Scenario

# Moving carefully (camouflage, using cover) and moving at night are slower; assumptions.
DISCIPLINE_PACE_COST = 0.5
NIGHT_PACE_FACTOR = 0.7

# Codes stored in the int8 arrays.
HEALTHY, WOUNDED, KILLED = 0, 1, 2
POSTURES = ("moving", "halted", "concealed", "dug_in")
MOVING, HALTED, CONCEALED, DUG_IN = range(4)
ROLES = ("rifleman", "spotter", "shooter", "decoy", "observer")
RIFLEMAN, SPOTTER, SHOOTER, DECOY, OBSERVER = range(5)
# Drone slot states.
IDLE, FLYING = 0, 1
# Flight phases.
TRANSIT, ATTACK, ON_STATION, RETURN = range(4)
DRONE_ROLES = ("isr", "fpv", "bomber", "loitering")
ISR, FPV, BOMBER, LOITERING = range(4)
# Drone fates, counted per type.
FATES = ("launched", "expended", "shot_down", "jammed", "crashed", "returned")
LAUNCHED, EXPENDED, SHOT_DOWN, JAMMED, CRASHED, RETURNED = range(6)


@dataclass
class Soldiers:
    x: np.ndarray
    y: np.ndarray
    side: np.ndarray  # int8: 0 attacker, 1 defender
    unit: np.ndarray  # int32 global unit index
    platoon: np.ndarray  # int32 global platoon index
    squad: np.ndarray  # int32 global squad index
    status: np.ndarray  # int8 HEALTHY/WOUNDED/KILLED
    posture: np.ndarray  # int8
    role: np.ndarray  # int8
    shoots: np.ndarray  # bool: fires at drones when its platoon engages
    spotting: np.ndarray  # float64 multiplier on drone signature range
    marksmanship: np.ndarray  # float64 per-step hit probability at ideal range
    encounters: np.ndarray  # int32 drone encounters while healthy
    cause: np.ndarray  # int16 weapon code of the casualty, -1 none
    ox: np.ndarray  # formation slot offset, local frame (right, forward), metres
    oy: np.ndarray
    holding: np.ndarray  # bool: reached its objective and holds
    terrain: np.ndarray  # int8 terrain class under the soldier

    @property
    def n(self) -> int:
        return self.x.shape[0]


@dataclass
class Platoons:
    side: np.ndarray
    unit: np.ndarray
    ax: np.ndarray  # anchor position
    ay: np.ndarray
    hx: np.ndarray  # heading (unit vector)
    hy: np.ndarray
    route_x: np.ndarray  # (G, W) waypoints, padded with the last one
    route_y: np.ndarray
    n_waypoints: np.ndarray
    next_wp: np.ndarray
    base_posture: np.ndarray
    objective: np.ndarray  # objective index or -1
    pace: np.ndarray
    freeze: np.ndarray  # bool drill flags
    disperse: np.ndarray
    engage: np.ndarray
    decoy: np.ndarray
    freeze_time: np.ndarray
    disperse_time: np.ndarray
    disperse_factor: np.ndarray
    discipline: np.ndarray
    value: np.ndarray
    frozen_until: np.ndarray  # step index
    dispersed_until: np.ndarray
    decoy_until: np.ndarray
    decoy_dx: np.ndarray  # where the decoy runs, relative to the anchor
    decoy_dy: np.ndarray
    advanced: np.ndarray  # metres of route covered by the anchor
    route_length: np.ndarray
    fire_rate: np.ndarray  # direct fire: shots per soldier per second
    fire_kill: np.ndarray
    fire_wound: np.ndarray
    fire_range: np.ndarray
    lag: np.ndarray  # mean metres the moving soldiers trail their slots after the last move
    movers: np.ndarray  # int64: soldiers that moved in the last move (1 before the first)

    @property
    def n(self) -> int:
        return self.side.shape[0]


@dataclass
class DroneTypes:
    names: tuple[str, ...]
    role: np.ndarray
    speed: np.ndarray
    endurance: np.ndarray
    altitude: np.ndarray
    radio: np.ndarray
    link_range: np.ndarray
    link_resistance: np.ndarray
    sensor_range: np.ndarray
    sensor_detect_prob: np.ndarray
    night_capable: np.ndarray
    acquire_range: np.ndarray
    rings: np.ndarray  # (K, R, 3): radius, kill, wound; padded with radius -1
    bombs: np.ndarray
    bomb_interval: np.ndarray
    aim_error: np.ndarray
    cover_penetration: np.ndarray
    signature_range: np.ndarray
    cost: np.ndarray


@dataclass
class Drones:
    """One row per operator team (slot); a slot flies one airframe at a time."""

    side: np.ndarray
    dtype: np.ndarray
    home_x: np.ndarray
    home_y: np.ndarray
    inventory: np.ndarray
    turnaround: np.ndarray  # steps
    targeting_omniscient: np.ndarray
    policy: np.ndarray  # index into POLICIES
    density_radius: np.ndarray
    station_x: np.ndarray  # nan: over the enemy
    station_y: np.ndarray
    active_from: np.ndarray  # step
    active_until: np.ndarray  # step
    state: np.ndarray
    phase: np.ndarray
    ready_step: np.ndarray
    x: np.ndarray
    y: np.ndarray
    target: np.ndarray  # soldier index or -1
    track: np.ndarray  # enemy platoon index or -1
    aim_x: np.ndarray  # where it is heading when it has no soldier target
    aim_y: np.ndarray
    battery_end: np.ndarray  # step at which the battery is flat
    bombs_left: np.ndarray
    next_bomb: np.ndarray
    sortie: np.ndarray  # global sortie id, -1 before the first launch
    committed_decoy: np.ndarray

    @property
    def n(self) -> int:
        return self.side.shape[0]


POLICIES = ("nearest", "densest", "random", "highest_value")


@dataclass
class Batteries:
    side: np.ndarray
    x: np.ndarray
    y: np.ndarray
    rounds: np.ndarray
    interval: np.ndarray  # seconds between rounds (all tubes)
    rounds_per_mission: np.ndarray
    latency: np.ndarray  # steps
    sigma: np.ndarray  # per-axis dispersion, m
    max_range: np.ndarray
    min_group: np.ndarray
    rings: np.ndarray  # (B, R, 3)
    cost_per_round: np.ndarray
    mission_left: np.ndarray  # rounds still to fire in the current mission
    mission_x: np.ndarray
    mission_y: np.ndarray
    next_round_time: np.ndarray  # seconds
    fired: np.ndarray  # rounds fired so far

    @property
    def n(self) -> int:
        return self.side.shape[0]


@dataclass
class Jammers:
    side: np.ndarray
    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    strength: np.ndarray
    active: np.ndarray


@dataclass
class Tracks:
    """What each side knows of each enemy platoon: last seen position, size and time."""

    x: np.ndarray  # (2, G)
    y: np.ndarray
    n: np.ndarray
    step: np.ndarray  # last update step, -inf-like when never seen
    engaged_until: np.ndarray  # artillery: step until which a mission covers it


@dataclass
class Counters:
    """Running tallies that the summary and the time series are built from."""

    fates: np.ndarray  # (2, K, len(FATES)) by side of the drone
    shots: np.ndarray  # (2,) counter-drone shots fired, per shooting side
    direct_shots: np.ndarray  # (2,)
    shells: np.ndarray  # (2,)
    strikes: np.ndarray  # (2, K) detonations and bombs released
    decoy_downs: np.ndarray  # (2,) drones shot down while committed to a decoy, by shooter side


@dataclass
class State:
    scenario: Scenario
    dt: float
    step: int
    streams: Streams
    terrain: TerrainRaster
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
    weapon_names: list[str]  # drone types, then "artillery", "small_arms"
    posture_concealment: np.ndarray
    posture_protection: np.ndarray
    track_ttl: np.ndarray
    grids: tuple[Grid, Grid]
    contacts: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    seen: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    next_sortie: int = 0
    casualty_epoch: int = 0

    @property
    def time(self) -> float:
        return self.step * self.dt

    @property
    def artillery_code(self) -> int:
        return len(self.types.names)

    @property
    def small_arms_code(self) -> int:
        return len(self.types.names) + 1


def _rings(rings: list, width: int) -> np.ndarray:
    out = np.full((width, 3), -1.0)
    for i, ring in enumerate(rings):
        out[i] = (ring.radius, ring.kill, ring.wound)
    return out


def _slot_offsets(
    formation: str, size: int, spacing: float, ranks: int, jitter: np.ndarray
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


def _heading(start: tuple, waypoints: list) -> tuple[float, float]:
    if waypoints:
        dx, dy = waypoints[0][0] - start[0], waypoints[0][1] - start[1]
        norm = math.hypot(dx, dy)
        if norm > 0:
            return dx / norm, dy / norm
    return 0.0, 1.0


def build_state(scenario: Scenario, seed: int) -> State:
    """Lay out every soldier, platoon, drone slot, battery and jammer of a scenario."""
    streams = Streams(seed)
    terrain = rasterize(scenario.terrain)
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
        "fire_range")}
    unit_names: list[str] = []
    squad_counter = 0
    jitter_key = streams["formation.jitter"]
    for side_index, side_name in enumerate(SIDES):
        side = getattr(scenario.sides, side_name)
        for unit in side.units:
            unit_index = len(unit_names)
            unit_names.append(unit.name)
            doc = unit.doctrine
            hx, hy = _heading(unit.start, unit.waypoints)
            n_platoons = math.ceil(unit.count / unit.platoon_size)
            columns = unit.layout.columns or max(1, math.ceil(math.sqrt(n_platoons)))
            dx = unit.layout.dx
            if dx is None:
                full = min(unit.platoon_size, unit.count)
                fx, _ = _slot_offsets(doc.formation, full, doc.spacing, doc.ranks,
                                      np.full((full, 2), 0.5))
                dx = float(fx.max() - fx.min()) + 3 * doc.spacing
            for p in range(n_platoons):
                size = min(unit.platoon_size, unit.count - p * unit.platoon_size)
                platoon_index = len(pcols["side"])
                lx = dx * (p % columns)
                ly = unit.layout.dy * (p // columns)
                ax = unit.start[0] + lx * hy + ly * hx
                ay = unit.start[1] - lx * hx + ly * hy
                jitter = np.column_stack([
                    uniforms(jitter_key, 0, np.arange(size, dtype=np.int64), 2 * platoon_index),
                    uniforms(jitter_key, 0, np.arange(size, dtype=np.int64), 2 * platoon_index + 1),
                ])
                sx, sy = _slot_offsets(doc.formation, size, doc.spacing, doc.ranks, jitter)
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
    return State(
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
        rings=np.stack([_rings(t.lethality, width) for t in specs]),
        bombs=arr("bombs", np.int64), bomb_interval=arr("bomb_interval"),
        aim_error=arr("aim_error"), cover_penetration=arr("cover_penetration"),
        signature_range=arr("signature_range"), cost=arr("cost"),
    )


def _drones(scenario: Scenario, type_index: dict, types: DroneTypes) -> Drones:
    dt = scenario.dt
    rows: list[tuple] = []
    for side_index, side_name in enumerate(SIDES):
        for team in getattr(scenario.sides, side_name).teams:
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
        committed_decoy=np.zeros(m, bool),
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
        rings=np.stack([_rings(b.lethality, width) for _, b in batteries])
        if nb_ else np.zeros((0, width, 3)),
        cost_per_round=barr(lambda s, b: b.cost_per_round),
        mission_left=np.zeros(nb_, np.int64), mission_x=np.zeros(nb_),
        mission_y=np.zeros(nb_), next_round_time=np.zeros(nb_), fired=np.zeros(nb_, np.int64),
    )

    def jarr(fn, dtype=np.float64) -> np.ndarray:
        return np.array([fn(s, j) for s, j in jammers], dtype=dtype)

    jam = Jammers(
        side=jarr(lambda s, j: s, np.int8), x=jarr(lambda s, j: j.position[0]),
        y=jarr(lambda s, j: j.position[1]), radius=jarr(lambda s, j: j.radius),
        strength=jarr(lambda s, j: j.strength), active=jarr(lambda s, j: j.active, bool),
    )
    return bat, jam
