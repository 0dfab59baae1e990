"""The step loop: an explicit, ordered list of stages, each timed.

Each stage is an object built once per run from the state (its per-run constants) and
called once per step; what one stage hands another is a field of the state (see
docs/engine.md). The loop knows no stage's internals.

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

from dronefront.arguments import check_seed
from dronefront.engine.events import EventLog
from dronefront.engine.result import Result, build_result
from dronefront.engine.series import SERIES, Recorder
from dronefront.engine.stages import Stage
from dronefront.engine.stages.artillery import Artillery
from dronefront.engine.stages.care import CasualtyCare
from dronefront.engine.stages.counterdrone import CounterDrone
from dronefront.engine.stages.direct_fire import DirectFire
from dronefront.engine.stages.drones import Flight, Jamming, Launch
from dronefront.engine.stages.layers import CounterDroneLayers
from dronefront.engine.stages.morale import Morale
from dronefront.engine.stages.movement import Movement
from dronefront.engine.stages.sensing import Sensing
from dronefront.engine.stages.targeting import Targeter
from dronefront.engine.state import State, build_state
from dronefront.errors import UserError
from dronefront.scenario.models import Scenario

__all__ = ["OPTIONAL_STAGES", "SERIES", "STAGE_NAMES", "Sim", "build_stages", "initial_state"]

#: The order of one step. Stages in ``OPTIONAL_STAGES`` are built only where a scenario
#: needs them (``build_stages``); the others run in every engagement.
STAGE_NAMES = ("care", "movement", "sensing", "artillery", "launch", "jamming", "flight",
               "layers", "counterdrone", "direct_fire", "morale")
#: ``layers``: only with interceptors, RF detectors or jammer-hunting ISR (docs/model.md §12a).
OPTIONAL_STAGES = frozenset({"layers"})


def build_stages(state: State) -> list[Stage]:
    """The stages of a run over ``state``, in step order (``STAGE_NAMES``, less the
    ``OPTIONAL_STAGES`` this run does not need)."""
    targeter = Targeter(state)  # launch and flight share its per-step memos
    layers = state.layers
    # The layers stage (after flight) exists only where a scenario has interceptors, RF
    # detectors or jammer-hunting ISR: elsewhere a step pays nothing for it.
    extra: list[Stage] = [CounterDroneLayers(state)] if layers is not None and (
        layers.interceptors.n or layers.detectors.side.size
        or layers.isr_finds_jammers.any()) else []
    return [CasualtyCare(state), Movement(state), Sensing(state), Artillery(state),
            Launch(state, targeter), Jamming(state), Flight(state, targeter), *extra,
            CounterDrone(state), DirectFire(state), Morale(state)]


def check_scenario(scenario: object) -> Scenario:
    """``scenario`` if it is a ``Scenario``, else the one-line ``UserError``."""
    if not isinstance(scenario, Scenario):
        raise UserError(f"must be a Scenario (load_scenario reads a name or file), not "
                        f"{type(scenario).__name__}", field="scenario")
    return scenario


def initial_state(scenario: Scenario, seed: int) -> tuple[Scenario, State]:
    """The state a run of ``scenario`` with ``seed`` starts from, and the scenario it runs
    (a lessons file may field the defender's drone side: ``campaign.lessons.imported``)."""
    if scenario.lessons is None:
        return scenario, build_state(scenario, seed)
    # veterans' doctrine, the drone side and veterans' skills from a lessons file
    from dronefront.campaign.lessons import apply_veterans, imported

    scenario, doctrines = imported(scenario, seed)
    state = build_state(scenario, seed, doctrines)
    apply_veterans(state, scenario)
    return scenario, state


class Sim:
    """One engagement: state arrays plus the ordered stages that advance them."""

    def __init__(self, scenario: Scenario, seed: int = 0, *, events: bool = True) -> None:
        started = time.perf_counter()
        check_scenario(scenario)
        self.seed = check_seed(seed)
        scenario, state = initial_state(scenario, self.seed)
        self._bind(scenario, state, events,
                   np.zeros((scenario.steps, 2, len(SERIES)), np.int64), started)

    @classmethod
    def over(cls, scenario: Scenario, seed: int, state: State, series: np.ndarray, *,
             events: bool = True) -> Sim:
        """A run over a state already built by ``initial_state(scenario, seed)`` (the
        ensemble re-homes its arrays first), recording into ``series``
        (``(steps, 2, len(SERIES))`` int64, zeros)."""
        sim = cls.__new__(cls)
        sim.seed = seed
        sim._bind(scenario, state, events, series, time.perf_counter())
        return sim

    def _bind(self, scenario: Scenario, state: State, events: bool, series: np.ndarray,
              started: float) -> None:
        self.state = state
        self.scenario = scenario
        self.log = EventLog() if events else _Discard()
        self.stages = build_stages(self.state)
        self.series = series
        self.recorder = Recorder(self.state, self.series)
        # seconds spent per stage, then recording; ``stage_seconds`` names them
        self.spent = [0.0] * (len(self.stages) + 1)
        self.init_seconds = time.perf_counter() - started
        self.run_seconds = 0.0

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent so far in each stage (by ``name``) and in recording the series."""
        names = [*(stage.name for stage in self.stages), "record"]
        return dict(zip(names, self.spent, strict=True))

    def step(self) -> None:
        """Advance one step through every stage in order, then record the series row."""
        state, log, spent, clock = self.state, self.log, self.spent, time.perf_counter
        # One clock reading per stage: each stage's time runs to the next reading.
        t0 = clock()
        for k, stage in enumerate(self.stages):
            stage(state, log)
            t1 = clock()
            spent[k] += t1 - t0
            t0 = t1
        self.recorder(state, state.step)
        spent[-1] += clock() - t0
        state.step += 1

    def run(self, progress: Callable[[int, int], None] | None = None) -> Result:
        """Run every remaining step and return the result."""
        started = time.perf_counter()
        total = self.scenario.steps
        while self.state.step < total:
            self.step()
            if progress is not None:
                progress(self.state.step, total)
        self.run_seconds += time.perf_counter() - started
        return self.result()

    def result(self) -> Result:
        """The result of the steps run so far."""
        return build_result(
            self.state, self.seed, self.series, self.log, stage_seconds=self.stage_seconds,
            init_seconds=self.init_seconds, run_seconds=self.run_seconds,
        )


class _Discard(EventLog):
    """An event log that keeps nothing (for benchmarks that don't need events)."""

    keeps = False

    def add(self, *args, **kwargs) -> None:
        return None
