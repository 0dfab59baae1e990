"""The step loop: an explicit, ordered list of stages, each timed.

>>> from dronefront.scenario.loader import load_scenario
>>> sim = Sim(load_scenario("reference-open-field", ["parameters.N=60"]), seed=1)
>>> result = sim.run()
>>> result.summary["sides"]["attacker"]["initial"]
60
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba as nb
import numpy as np

from dronefront.arguments import check_seed
from dronefront.engine.events import EventLog
from dronefront.engine.result import Result, build_result
from dronefront.engine.stages.artillery import artillery
from dronefront.engine.stages.counterdrone import counterdrone
from dronefront.engine.stages.direct_fire import direct_fire
from dronefront.engine.stages.drones import flight, jamming, launch
from dronefront.engine.stages.movement import movement
from dronefront.engine.stages.sensing import sensing
from dronefront.engine.state import (
    FATES,
    FLYING,
    HEALTHY,
    IDLE,
    KILLED,
    WOUNDED,
    State,
    build_state,
)
from dronefront.errors import UserError
from dronefront.scenario.models import Scenario

Stage = Callable[[State, EventLog], None]

#: The order of one step. Movement also rebuilds the neighbour grids.
STAGES: tuple[tuple[str, Stage], ...] = (
    ("movement", movement),
    ("sensing", sensing),
    ("artillery", artillery),
    ("launch", launch),
    ("jamming", jamming),
    ("flight", flight),
    ("counterdrone", counterdrone),
    ("direct_fire", direct_fire),
)

GRID_CELL = 10.0  # metres: the neighbour-grid cell, sized to the typical density radius

SERIES = ("healthy", "wounded", "killed", "drones_idle", "drones_flying", *FATES[0:],
          "rounds_fired")


class Sim:
    """One engagement: state arrays plus the ordered stages that advance them."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, events: bool = True) -> None:
        started = time.perf_counter()
        if not isinstance(scenario, Scenario):
            raise UserError(f"must be a Scenario (load_scenario reads a name or file), not "
                            f"{type(scenario).__name__}", field="scenario")
        self.scenario = scenario
        self.seed = check_seed(seed)
        self.state = build_state(scenario, self.seed)
        self.state.cache["grid_cell"] = GRID_CELL
        self.log = EventLog() if events else _Discard()
        self.stage_seconds = {name: 0.0 for name, _ in STAGES}
        self.stage_seconds["record"] = 0.0
        steps = scenario.steps
        self.series = np.zeros((steps, 2, len(SERIES)), np.int64)
        self.init_seconds = time.perf_counter() - started
        self.run_seconds = 0.0

    def step(self) -> None:
        """Advance one step through every stage in order."""
        state = self.state
        state.cache.pop("visibility", None)
        for name, stage in STAGES:
            t0 = time.perf_counter()
            stage(state, self.log)
            self.stage_seconds[name] += time.perf_counter() - t0
        t0 = time.perf_counter()
        self._record()
        self.stage_seconds["record"] += time.perf_counter() - t0
        state.step += 1

    def _record(self) -> None:
        s, d, c = self.state.soldiers, self.state.drones, self.state.counters
        _record_row(self.series[self.state.step], s.side, s.status, d.side, d.state, c.fates,
                    c.shells + c.shots + c.direct_shots)

    def run(self, progress: Callable[[int, int], None] | None = None) -> Result:
        """Run every remaining step and return the result."""
        started = time.perf_counter()
        total = self.scenario.steps
        while self.state.step < total:
            self.step()
            if progress is not None:
                progress(self.state.step, total)
        self.run_seconds += time.perf_counter() - started
        return build_result(self)


@nb.njit(cache=True)
def _record_row(row, soldier_side, status, drone_side, drone_state, fates, rounds):
    """Fill one step's (2, len(SERIES)) row of counts; columns as in ``SERIES``."""
    row[:] = 0
    for i in range(soldier_side.shape[0]):
        k = status[i]
        column = 0 if k == HEALTHY else (1 if k == WOUNDED else (2 if k == KILLED else -1))
        if column >= 0:
            row[soldier_side[i], column] += 1
    for i in range(drone_side.shape[0]):
        if drone_state[i] == IDLE:
            row[drone_side[i], 3] += 1
        elif drone_state[i] == FLYING:
            row[drone_side[i], 4] += 1
    for side in range(2):
        for t in range(fates.shape[1]):
            for f in range(fates.shape[2]):
                row[side, 5 + f] += fates[side, t, f]
        row[side, row.shape[1] - 1] = rounds[side]


class _Discard(EventLog):
    """An event log that keeps nothing (for benchmarks that don't need events)."""

    keeps = False

    def add(self, *args, **kwargs) -> None:
        return None
