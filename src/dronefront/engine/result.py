"""What a run produces: a summary, per-step series and the event log, and its run folder."""

from __future__ import annotations

import functools
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dronefront.engine.events import EventLog
from dronefront.engine.series import SERIES
from dronefront.engine.state import (
    EVACUATED,
    FATES,
    FPV,
    HEALTHY,
    KILLED,
    LOST_FATES,
    WOUNDED,
    State,
)
from dronefront.io.jsonable import jsonable
from dronefront.io.outputs import stamp
from dronefront.io.rundir import atomic_dir, sha256_of, write_json, write_parquet
from dronefront.scenario.models import SIDES, Scenario


@dataclass
class Result:
    """The outcome of one engagement.

    Attributes:
        summary: casualties by cause, drones by fate and type, munitions, objective
            progress, exchange and cost-exchange ratios.
        timeseries: one row per step and side (Arrow table; ``.to_pandas()`` works).
        events: every launch, detection, strike, shot, loss and casualty (Arrow table).
        state: the final state arrays (soldier skills, encounters, statuses...).
    """

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    timeseries: pa.Table
    events: pa.Table
    state: State
    stage_seconds: dict[str, float] = field(default_factory=dict)
    init_seconds: float = 0.0
    run_seconds: float = 0.0

    def manifest(self) -> dict[str, Any]:
        """The resolved scenario, its SHA-256, the seed and the package versions."""
        from dronefront import __version__

        resolved = self.scenario.model_dump(mode="json")
        return {
            "written_by": stamp("run"),
            "scenario": resolved,
            "scenario_sha256": sha256_of(resolved),
            "seed": self.seed,
            "dronefront_version": __version__,
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "files": ["summary.json", "timeseries.parquet", "events.parquet"],
        }

    def write(self, out: str | Path, *, force: bool = False,
              extra: dict[str, Any] | None = None,
              tables: dict[str, pa.Table] | None = None) -> Path:
        """Write the run folder atomically: nothing appears unless everything was written.

        An earlier run folder at ``out`` is replaced; anything else there (a file, another
        folder) only with ``force``. Raises :class:`~dronefront.errors.UserError` otherwise.
        A terrain raster is copied into the folder (``terrain.csv``) and the manifest names
        that copy, so the folder replays on its own: a path in a manifest must stay inside
        its run folder. ``extra`` adds manifest fields and ``tables`` more Parquet files
        (listed in the manifest's ``files``), e.g. a policy-played run's actions.
        """
        out = Path(out)
        with atomic_dir(out, "run", force=force) as tmp:
            manifest = self.manifest()
            manifest.update(extra or {})
            for name, table in (tables or {}).items():
                write_parquet(tmp / name, table)
                manifest["files"].append(name)
            if self.scenario.terrain.raster_file:
                shutil.copyfile(self.scenario.terrain.raster_file, tmp / RASTER_COPY)
                manifest["scenario"]["terrain"]["raster_file"] = RASTER_COPY
                manifest["scenario_sha256"] = sha256_of(manifest["scenario"])
                manifest["files"].append(RASTER_COPY)
            write_json(tmp / "manifest.json", manifest)
            write_json(tmp / "summary.json", self.summary)
            write_parquet(tmp / "timeseries.parquet", self.timeseries)
            write_parquet(tmp / "events.parquet", self.events)
            write_json(tmp / "profile.json", {
                "init_seconds": self.init_seconds, "run_seconds": self.run_seconds,
                "stage_seconds": self.stage_seconds,
            })
        return out


#: Name of a run folder's copy of its terrain raster.
RASTER_COPY = "terrain.csv"


def _ratio(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


def build_result(
    state: State,
    seed: int,
    series: np.ndarray,
    log: EventLog,
    *,
    stage_seconds: dict[str, float] | None = None,
    init_seconds: float = 0.0,
    run_seconds: float = 0.0,
) -> Result:
    """The result of a run that reached ``state``: ``series`` holds one (2, len(SERIES))
    row per step (rows past ``state.step`` are ignored), ``log`` its events."""
    steps = state.step
    series = series[:steps]
    step_col, time_col, side_col = _frame(steps, state.dt)
    # one copy lays every series column out contiguously: each becomes an Arrow array
    # without a copy of its own (what ``pa.table`` of the strided columns gives)
    block = np.ascontiguousarray(series.reshape(-1, len(SERIES)).T)
    timeseries = pa.Table.from_arrays(
        [step_col, time_col, side_col, *(pa.array(block[k]) for k in range(len(SERIES)))],
        names=["step", "time", "side", *SERIES])
    events = log.table(state.dt, state.weapon_names)
    return Result(
        scenario=state.scenario, seed=seed, summary=summarize(state, seed),
        timeseries=timeseries, events=events, state=state,
        stage_seconds=dict(stage_seconds or {}), init_seconds=init_seconds,
        run_seconds=run_seconds,
    )


@functools.lru_cache(maxsize=32)
def _frame(steps: int, dt: float) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The ``step``, ``time`` and ``side`` columns of a series of ``steps`` steps (one row
    per step and side), built once per length and step (Arrow arrays are immutable)."""
    step_col = np.repeat(np.arange(steps, dtype=np.int32), 2)
    if steps:  # what dictionary-encoding the side names gives, without the encoding
        side = pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.arange(len(SIDES), dtype=np.int32), steps)),
            pa.array(list(SIDES)))
    else:
        side = pa.array(np.tile(np.array(SIDES), 0)).dictionary_encode()
    return pa.array(step_col), pa.array((step_col + 1) * dt), side


def summarize(state: State, seed: int) -> dict[str, Any]:
    """The per-engagement summary (plain JSON-able data, deterministic)."""
    s, t, c, p = state.soldiers, state.types, state.counters, state.platoons
    scenario = state.scenario
    weapons = state.weapon_names
    fpv_types = np.flatnonzero(t.role == FPV)
    sides: dict[str, Any] = {}
    drones: dict[str, Any] = {}
    groups = max(p.n, 1)
    seen_sortie, seen_group = np.divmod(state.seen, groups)
    detected = [int(np.unique(seen_sortie[p.side[seen_group] == i]).size) if p.n else 0
                for i in (0, 1)]
    units = _per_unit(state)
    phase = state.care.phase
    evacuated = phase == EVACUATED if phase.size else np.zeros(s.n, bool)
    value_lost = np.zeros(2)
    spent = np.zeros(2)
    drone_value_lost = np.zeros(2)
    for i, name in enumerate(SIDES):
        side_spec = getattr(scenario.sides, name)
        mine = s.side == i
        killed = int(np.count_nonzero(mine & (s.status == KILLED)))
        wounded = int(np.count_nonzero(mine & (s.status == WOUNDED)))
        by_cause: dict[str, dict[str, int]] = {}
        hit = mine & (s.cause >= 0)
        for code in np.unique(s.cause[hit]):
            sel = hit & (s.cause == code)
            by_cause[weapons[code]] = {
                "killed": int(np.count_nonzero(sel & (s.status == KILLED))),
                "wounded": int(np.count_nonzero(sel & (s.status == WOUNDED))),
            }
        fpv_casualties = int(np.count_nonzero(hit & np.isin(s.cause, fpv_types)))
        enemy_fpv_strikes = int(c.strikes[1 - i, fpv_types].sum())
        initial = int(np.count_nonzero(mine))
        reached = int(np.count_nonzero(mine & s.holding & (s.status != KILLED)))
        routed = (p.side == i) & (p.route_length > 0)
        sides[name] = {
            "initial": initial,
            "healthy": initial - killed - wounded,
            "killed": killed,
            "wounded": wounded,
            "casualties": killed + wounded,
            "casualties_by_cause": by_cause,
            "killed_after_wounded": int(np.count_nonzero(
                mine & (s.status == KILLED) & (state.care.wounded_step >= 0))),
            "evacuated": int(np.count_nonzero(mine & evacuated)),
            "fpv_strikes_received": enemy_fpv_strikes,
            "casualties_per_fpv_strike": _ratio(fpv_casualties, enemy_fpv_strikes),
            "objective_progress": float(np.mean(np.minimum(
                p.advanced[routed] / p.route_length[routed], 1.0))) if routed.any() else None,
            "objective_reached_share": _ratio(reached, initial),
            "platoons": int(np.count_nonzero(p.side == i)),
            "broken_platoons": int(np.count_nonzero((p.side == i) & p.broken)),
            "drone_encounters": int(s.encounters[mine].sum()),
            "drones_detected": detected[i],
            "drones_shot_down": int(c.fates[1 - i, :, FATES.index("shot_down")].sum()),
            "decoy_shoot_downs": int(c.decoy_downs[i]),
            **({"shoot_downs_by_weapon": {
                name: int(state.arms.downs[i, k]) for k, name in enumerate(state.arms.names)}}
               if state.scenario.counter_drone.fire == "per_shot" else {}),
            "munitions": {
                "shells": int(c.shells[i]),
                "counterdrone_shots": int(c.shots[i]),
                "direct_fire_shots": int(c.direct_shots[i]),
            },
        }
        value_lost[i] = side_spec.soldier_cost * (killed + 0.5 * wounded)
        per_type: dict[str, Any] = {}
        for k, type_name in enumerate(t.names):
            fates = c.fates[i, k]
            if fates.sum() == 0:
                continue
            lost = int(sum(fates[FATES.index(f)] for f in LOST_FATES))
            row = {f: int(v) for f, v in zip(FATES, fates, strict=True)}
            launched = row["launched"]
            # Every sortie ends in exactly one fate; those still flying have none yet.
            row["in_flight"] = launched - int(fates[1:].sum())
            row["shares"] = {f: _ratio(row[f], launched) for f in (*FATES[1:], "in_flight")}
            per_type[type_name] = row
            per_type[type_name]["strikes"] = int(c.strikes[i, k])
            per_type[type_name]["cost_lost"] = float(lost * t.cost[k])
            drone_value_lost[i] += lost * t.cost[k]
        drones[name] = per_type
        battery = state.batteries
        shells_cost = float(np.sum(battery.fired[battery.side == i]
                                   * battery.cost_per_round[battery.side == i]))
        spent[i] = drone_value_lost[i] + shells_cost
        sides[name]["munitions"]["shells_cost"] = shells_cost
    cost = {}
    for i, name in enumerate(SIDES):
        inflicted = value_lost[1 - i] + drone_value_lost[1 - i]
        cost[name] = {
            "spent": float(spent[i]),
            "value_of_losses": float(value_lost[i] + drone_value_lost[i]),
            "value_inflicted": float(inflicted),
            "cost_exchange_ratio": _ratio(inflicted, spent[i]),
        }
    attacker, defender = sides["attacker"]["casualties"], sides["defender"]["casualties"]
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "steps": state.step,
        "duration_s": state.step * state.dt,
        "sides": sides,
        "drones": drones,
        "cost": cost,
        "exchange_ratio": _ratio(attacker, defender),
        "units": units,
    }
    breach = _breaches(state)
    if breach:
        summary["breach"] = breach
    if state.layers is not None:
        # Autonomy, swarms and counter-drone layers, by the side that acted.
        summary["layers"] = {name: {tally: int(v[i]) for tally, v in
                                    state.layers.tallies.items()}
                             for i, name in enumerate(SIDES)}
    return jsonable(summary)


def _breaches(state: State) -> dict[str, Any]:
    """Per objective with a ``breach_share``: the soldiers sent to it (their platoons'
    initial strength), the healthy ones holding it at the end, and whether that is a breach
    (docs/model.md §14)."""
    s, p = state.soldiers, state.platoons
    out: dict[str, Any] = {}
    for k, objective in enumerate(state.scenario.objectives):
        if objective.breach_share is None:
            continue
        sent = np.isin(s.platoon, np.flatnonzero(p.objective == k))
        n = int(np.count_nonzero(sent))
        holding = int(np.count_nonzero(sent & s.holding & (s.status == HEALTHY)))
        out[objective.name] = {
            "sent": n,
            "holding": holding,
            "share": _ratio(holding, n),
            "breached": bool(n > 0 and holding >= objective.breach_share * n),
        }
    return out


def _per_unit(state: State) -> dict[str, Any]:
    """Casualties, progress and encounters of each unit (what unit learners need)."""
    s, p = state.soldiers, state.platoons
    n_units = len(state.unit_names)
    initial = np.bincount(s.unit, minlength=n_units)
    killed = np.bincount(s.unit[s.status == KILLED], minlength=n_units)
    wounded = np.bincount(s.unit[s.status == WOUNDED], minlength=n_units)
    advanced = np.bincount(p.unit, weights=np.minimum(p.advanced, p.route_length),
                           minlength=n_units)
    length = np.bincount(p.unit, weights=p.route_length, minlength=n_units)
    out = {}
    for u, name in enumerate(state.unit_names):
        out[name] = {
            "side": SIDES[int(p.side[p.unit == u][0])] if (p.unit == u).any() else None,
            "initial": int(initial[u]),
            "killed": int(killed[u]),
            "wounded": int(wounded[u]),
            "progress": float(advanced[u] / length[u]) if length[u] > 0 else None,
        }
    return out
