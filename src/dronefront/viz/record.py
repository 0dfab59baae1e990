"""Recording an engagement step by step: the per-frame positions a replay needs.

The run folder stores summaries, series and events but not where every soldier and drone
was at every step. :func:`record_run` re-runs the (deterministic) engine one step at a
time and copies the positions and states of soldiers and drone slots every ``every``
steps. Large runs are *thinned* (see :func:`thinning`) so the replay stays small and smooth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dronefront.engine.result import Result
from dronefront.scenario.models import Scenario

#: Most soldiers drawn in a replay; beyond it every k-th soldier is kept.
MAX_SOLDIERS = 10_000
#: Most soldier positions (soldiers x frames) stored; beyond it frames are spaced out.
MAX_SAMPLES = 12_000_000


@dataclass
class Recording:
    """Per-frame soldier and drone-slot arrays of one engagement, plus its Result.

    Frame ``f`` shows the state after ``steps[f]`` steps (time ``steps[f] * dt``); frame 0
    is the initial layout. Soldier arrays hold only the recorded soldiers
    (``soldier_index`` into the full arrays); drone arrays hold every slot.
    """

    result: Result
    steps: np.ndarray  # (F,) int32
    soldier_index: np.ndarray  # (N,) int64
    x: np.ndarray  # (F, N) float32
    y: np.ndarray
    status: np.ndarray  # (F, N) int8
    posture: np.ndarray  # (F, N) int8
    drone_x: np.ndarray  # (F, M) float32
    drone_y: np.ndarray
    drone_state: np.ndarray  # (F, M) int8: idle / flying / done
    drone_phase: np.ndarray  # (F, M) int8
    drone_sortie: np.ndarray  # (F, M) int32, -1 before the first launch
    every: int
    soldier_stride: int
    total_soldiers: int
    #: A policy-played run's manifest note (policy, control, actions), else None.
    played_by: dict[str, Any] | None = None

    @property
    def scenario(self) -> Scenario:
        return self.result.scenario

    @property
    def seed(self) -> int:
        return self.result.seed

    @property
    def dt(self) -> float:
        return float(self.result.state.dt)

    @property
    def thinned(self) -> bool:
        """Whether soldiers were left out of the recording."""
        return self.soldier_stride > 1

    def note(self) -> str:
        """A one-line, human-readable description of any thinning applied."""
        parts = []
        if self.soldier_stride > 1:
            parts.append(f"showing 1 in {self.soldier_stride} soldiers "
                         f"({self.soldier_index.size:,} of {self.total_soldiers:,})")
        if self.every > 1:
            parts.append(f"positions every {self.every} steps "
                         f"({self.every * self.dt:g} s), interpolated between")
        return "; ".join(parts)


def thinning(
    n_soldiers: int, steps: int, every: int = 1, *,
    max_soldiers: int = MAX_SOLDIERS, max_samples: int = MAX_SAMPLES,
) -> tuple[int, int]:
    """The soldier stride and frame spacing for a run: ``(stride, every)``.

    Every ``stride``-th soldier is kept, with ``stride = ceil(n / max_soldiers)``; frames
    are then spaced so that kept soldiers x frames stays within ``max_samples``.

    >>> thinning(150, 720)
    (1, 1)
    >>> thinning(30_000, 900)
    (3, 1)
    >>> thinning(10_000, 3600)
    (1, 4)
    """
    if every < 1:
        raise ValueError("every must be >= 1")
    stride = max(1, math.ceil(n_soldiers / max(1, max_soldiers)))
    kept = math.ceil(n_soldiers / stride)
    frames_allowed = max(2, max_samples // max(1, kept))
    every = max(every, math.ceil(steps / (frames_allowed - 1)))
    return stride, every


def record_run(
    scenario: Scenario | str | Path,
    seed: int = 0,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    every: int = 1,
    *,
    max_soldiers: int = MAX_SOLDIERS,
    max_samples: int = MAX_SAMPLES,
    progress: Callable[[int, int], None] | None = None,
    sim: Any = None,
    before_step: Callable[[], None] | None = None,
) -> Recording:
    """Run one engagement step by step, recording positions every ``every`` steps.

    ``sim`` (a fresh ``Sim`` of ``scenario``) and ``before_step`` (called before each step)
    let an outside agent act during the run (``dronefront.rl``; docs/rl.md).

    The engine is deterministic, so the Result equals ``dronefront.run(scenario, seed)``.
    Runs above ``max_soldiers`` soldiers or ``max_samples`` positions are thinned (see
    :func:`thinning`); :meth:`Recording.note` says how.
    """
    from dronefront.engine.sim import Sim
    from dronefront.scenario.loader import load_scenario

    spec = load_scenario(scenario, overrides)
    if sim is None:
        sim = Sim(spec, seed=seed)
    state = sim.state
    total = spec.steps
    stride, every = thinning(state.soldiers.n, total, every,
                             max_soldiers=max_soldiers, max_samples=max_samples)
    index = np.arange(0, state.soldiers.n, stride, dtype=np.int64)
    n_frames = total // every + 1 + (1 if total % every else 0)
    m = state.drones.n
    rec = {
        "steps": np.zeros(n_frames, np.int32),
        "x": np.zeros((n_frames, index.size), np.float32),
        "y": np.zeros((n_frames, index.size), np.float32),
        "status": np.zeros((n_frames, index.size), np.int8),
        "posture": np.zeros((n_frames, index.size), np.int8),
        "drone_x": np.zeros((n_frames, m), np.float32),
        "drone_y": np.zeros((n_frames, m), np.float32),
        "drone_state": np.zeros((n_frames, m), np.int8),
        "drone_phase": np.zeros((n_frames, m), np.int8),
        "drone_sortie": np.zeros((n_frames, m), np.int32),
    }

    def snapshot(frame: int) -> None:
        s, d = state.soldiers, state.drones
        rec["steps"][frame] = state.step
        rec["x"][frame] = s.x[index]
        rec["y"][frame] = s.y[index]
        rec["status"][frame] = s.status[index]
        rec["posture"][frame] = s.posture[index]
        rec["drone_x"][frame] = d.x
        rec["drone_y"][frame] = d.y
        rec["drone_state"][frame] = d.state
        rec["drone_phase"][frame] = d.phase
        rec["drone_sortie"][frame] = d.sortie

    snapshot(0)
    frame = 1
    while state.step < total:
        if before_step is not None:
            before_step()
        sim.step()
        if state.step % every == 0 or state.step == total:
            snapshot(frame)
            frame += 1
        if progress is not None:
            progress(state.step, total)
    assert frame == n_frames
    result = sim.result()
    return Recording(result=result, every=every, soldier_index=index, soldier_stride=stride,
                     total_soldiers=int(state.soldiers.n), **rec)
