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

import numpy as np

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
        self.scenario = scenario
        self.seed = int(seed)
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
        row = self.series[self.state.step]
        status = np.bincount(s.side.astype(np.int64) * 3 + s.status, minlength=6).reshape(2, 3)
        row[:, 0] = status[:, HEALTHY]
        row[:, 1] = status[:, WOUNDED]
        row[:, 2] = status[:, KILLED]
        row[:, 3] = np.bincount(d.side[d.state == IDLE], minlength=2)
        row[:, 4] = np.bincount(d.side[d.state == FLYING], minlength=2)
        row[:, 5:5 + len(FATES)] = c.fates.sum(axis=1)
        row[:, -1] = c.shells + c.shots + c.direct_shots

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


class _Discard(EventLog):
    """An event log that keeps nothing (for benchmarks that don't need events)."""

    keeps = False

    def add(self, *args, **kwargs) -> None:
        return None
