"""Executors: run tasks in-process, in local processes or on a Ray cluster, one interface.

Every executor takes a model callable, a scenario and a list of :class:`Task` and yields a
:class:`Output` per task as runs finish (in any order). A run's result depends only on
``(scenario, seed, overrides)``, never on where it ran, so every executor gives the same
stored results. Tasks travel in *chunks* sized from the measured run time (about
``target_seconds`` of work each, and small enough near the end to keep all workers busy),
so the per-task overhead of a process pool or Ray stays small for fast models. For a model
with an ensemble path (``ensemble=``, see :data:`~dronefront.experiments.models.EnsembleFn`)
a chunk holds replicates of one design point only, and the worker runs them as one
ensemble; each still gets its own :class:`Output`, identical to a run on its own.

>>> from dronefront.experiments.models import ishigami
>>> with make_executor("local") as ex:
...     out = list(ex.map(ishigami, "", [Task(0, 0, 1, ["x1=0"])]))
>>> out[0].summary["y"]
0.0
"""

from __future__ import annotations

import math
import os
import signal
import socket
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dronefront.arguments import check_int
from dronefront.errors import UserError
from dronefront.experiments.models import EnsembleFn, ModelFn
from dronefront.io.jsonable import jsonable
from dronefront.streams import caused_by_interrupt

EXECUTORS = ("local", "processes", "ray")


@dataclass(frozen=True)
class Task:
    """One run: design point, replicate, seed and the overrides of that point."""

    point: int
    replicate: int
    seed: int
    overrides: list[str]


@dataclass
class Output:
    """What a run sends back: its summary (plain JSON data), time series and timing.

    ``error`` is set (and ``user_error`` says whether it was a :class:`UserError`) when the
    model raised; the driver decides what to do with it. ``seconds`` (wall) and ``cpu``
    (CPU seconds of the worker process) are the run's share of what its ensemble took.
    """

    point: int
    replicate: int
    seed: int
    summary: dict | None
    series: pa.Table | None
    seconds: float
    worker: str
    error: str | None = None
    user_error: bool = False
    cpu: float = 0.0


@dataclass(frozen=True)
class Chunk:
    """A batch of tasks sent to a worker in one message; with ``ensemble``, the tasks that
    share their overrides (the replicates of one design point) run as one ensemble."""

    fn: ModelFn
    scenario: str
    tasks: tuple[Task, ...]
    want_series: bool
    columns: tuple[str, ...] | None = None
    ensemble: EnsembleFn | None = None


def run_chunk(chunk: Chunk) -> list[Output]:
    """Run a chunk of tasks (in whatever process this is); outputs in the tasks' order.

    Tasks run one by one with ``chunk.fn`` unless the chunk has an ensemble path: then each
    group of tasks with the same overrides runs as one ensemble (a group of one runs alone).
    A :class:`UserError` from the ensemble fails every task of its group with that message,
    as each would have failed alone (it comes from the scenario and overrides they share).
    Any other error re-runs the group's tasks one by one, so a replicate that fails fails on
    its own, with its own traceback, and the others keep their results.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if chunk.ensemble is None:
        return [_run_one(chunk, task, worker) for task in chunk.tasks]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, task in enumerate(chunk.tasks):
        groups.setdefault(tuple(task.overrides), []).append(i)
    out: list[Output | None] = [None] * len(chunk.tasks)
    for indices in groups.values():
        tasks = [chunk.tasks[i] for i in indices]
        outputs = (_run_group(chunk, tasks, worker) if len(tasks) > 1
                   else [_run_one(chunk, tasks[0], worker)])
        for i, output in zip(indices, outputs, strict=True):
            out[i] = output
    return out  # type: ignore[return-value]


def _series(chunk: Chunk, series: pa.Table | None) -> pa.Table | None:
    if not chunk.want_series or series is None:
        return None
    if chunk.columns is not None:
        return series.select([c for c in chunk.columns if c in series.column_names])
    return series


def _run_one(chunk: Chunk, task: Task, worker: str) -> Output:
    started, cpu = time.perf_counter(), time.process_time()
    try:
        summary, series = chunk.fn(chunk.scenario, task.seed, list(task.overrides))
        return Output(task.point, task.replicate, task.seed, jsonable(summary),
                      _series(chunk, series), time.perf_counter() - started, worker,
                      cpu=time.process_time() - cpu)
    except UserError as exc:
        return Output(task.point, task.replicate, task.seed, None, None,
                      time.perf_counter() - started, worker, str(exc), True,
                      cpu=time.process_time() - cpu)
    except Exception as exc:  # noqa: BLE001 - reported to the driver with its traceback
        if caused_by_interrupt(exc):  # a Ctrl-C that lands as a kernel returns
            raise KeyboardInterrupt from exc
        text = "".join(traceback.format_exception(exc)[-6:])
        return Output(task.point, task.replicate, task.seed, None, None,
                      time.perf_counter() - started, worker, text, False,
                      cpu=time.process_time() - cpu)


def _run_group(chunk: Chunk, tasks: list[Task], worker: str) -> list[Output]:
    """Replicates of one design point as one ensemble; each output gets an equal share of
    the time it took."""
    assert chunk.ensemble is not None
    started, cpu = time.perf_counter(), time.process_time()
    try:
        runs = chunk.ensemble(chunk.scenario, [t.seed for t in tasks], list(tasks[0].overrides),
                              chunk.want_series)
        if len(runs) != len(tasks):
            raise ValueError(f"the ensemble returned {len(runs)} runs for {len(tasks)} seeds")
        done = [(jsonable(summary), _series(chunk, series)) for summary, series in runs]
    except UserError as exc:
        seconds = (time.perf_counter() - started) / len(tasks)
        share = (time.process_time() - cpu) / len(tasks)
        return [Output(t.point, t.replicate, t.seed, None, None, seconds, worker, str(exc),
                       True, cpu=share) for t in tasks]
    except Exception as exc:  # noqa: BLE001 - isolated below, run by run
        if caused_by_interrupt(exc):
            raise KeyboardInterrupt from exc
        return [_run_one(chunk, task, worker) for task in tasks]
    seconds = (time.perf_counter() - started) / len(tasks)
    share = (time.process_time() - cpu) / len(tasks)
    return [Output(t.point, t.replicate, t.seed, summary, series, seconds, worker, cpu=share)
            for t, (summary, series) in zip(tasks, done, strict=True)]


def _worker_init(driver: int) -> None:
    """Pool workers ignore Ctrl-C (the driver stops them) and exit if the driver dies.

    A driver killed with SIGKILL cannot stop its pool, and the workers would otherwise wait
    for work forever (they hold the write end of their own task queue), so a daemon thread
    checks every half second that the driver process still exists.
    """
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(driver, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # pragma: no cover - pid reused by another user
                os._exit(0)

    threading.Thread(target=watch, name="driver-watchdog", daemon=True).start()


#: The most replicates of one design point sent as one ensemble chunk when the size is
#: automatic: an ensemble's gain per replicate levels off by about this many replicates,
#: and larger ones lose it again on a busy machine (``benchmarks/ensemble_throughput.py``;
#: docs/experiments.md, "Throughput").
ENSEMBLE_REPLICATES = 32
#: Largest chunk ``chunk=`` may ask for (a chunk is one message and, for an ensemble, one
#: set of stacked arrays in a worker's memory).
MAX_CHUNK = 10_000


@dataclass
class _Sizer:
    """Chunk sizes from the measured run time: ~``target`` seconds per chunk, at most
    ``cap`` tasks, and no more than a ``1 / (2 * workers)`` share of what remains (so the
    tail stays balanced); ``fixed`` overrides all of it.

    The first output from each worker includes its start-up (compiling or loading kernels),
    so it sets the estimate only until a second one arrives.
    """

    workers: int
    target: float = 1.0
    per_run: float | None = None
    samples: int = 0
    cap: int = MAX_CHUNK
    fixed: int | None = None
    seen: set[str] = field(default_factory=set)

    def observe(self, outputs: Sequence[Output]) -> None:
        for o in outputs:
            s = max(o.seconds, 1e-6)
            if o.worker not in self.seen:
                self.seen.add(o.worker)
                if self.per_run is None:
                    self.per_run = s
                continue
            self.samples += 1
            weight = max(0.05, 1.0 / self.samples)
            self.per_run = s if self.per_run is None else (1 - weight) * self.per_run + weight * s

    def size(self, remaining: int) -> int:
        if self.fixed is not None:
            return self.fixed
        if self.per_run is None:
            return 1
        ideal = max(1, int(self.target / self.per_run))
        fair = max(1, math.ceil(remaining / (2 * self.workers)))
        return max(1, min(ideal, fair, self.cap))


def _sizer(workers: int, target: float, ensemble: EnsembleFn | None,
           chunk: int | None) -> _Sizer:
    """The sizer of one ``map``: ensemble chunks aim at twice the work of plain ones (an
    ensemble gains per replicate up to ``ENSEMBLE_REPLICATES``), capped there."""
    if ensemble is None:
        return _Sizer(workers, target, fixed=chunk)
    return _Sizer(workers, 2 * target, cap=ENSEMBLE_REPLICATES, fixed=chunk)


class _Queue:
    """Tasks not yet sent. With ``by_point``, a chunk takes tasks of one design point only
    (those sharing their overrides), the points in turn, so that replicates advance evenly
    over the design: each point's first chunk, then each point's second..."""

    def __init__(self, tasks: Sequence[Task], by_point: bool) -> None:
        self.by_point = by_point
        if by_point:
            groups: dict[tuple[str, ...], deque[Task]] = {}
            for task in tasks:
                groups.setdefault(tuple(task.overrides), deque()).append(task)
            self.groups = deque(groups.values())
        else:
            self.groups = deque([deque(tasks)]) if tasks else deque()
        self.left = len(tasks)

    def __bool__(self) -> bool:
        return self.left > 0

    def take(self, size: int) -> tuple[Task, ...]:
        group = self.groups[0]
        batch = tuple(group.popleft() for _ in range(min(size, len(group))))
        if not group:
            self.groups.popleft()
        elif self.by_point:
            self.groups.rotate(-1)
        self.left -= len(batch)
        return batch


def check_chunk(chunk: int | None, field: str = "chunk") -> int | None:
    """``chunk`` (tasks per chunk, None for automatic) checked: an integer in 1..MAX_CHUNK.

    >>> check_chunk(64), check_chunk(None)
    (64, None)
    """
    if chunk is None:
        return None
    return check_int(chunk, field, minimum=1, limit=MAX_CHUNK + 1)


class Executor:
    """Base class: ``map(fn, scenario, tasks)`` yields outputs as they finish.

    ``ensemble`` is the model's ensemble path (or None): chunks then hold replicates of one
    design point, run as one ensemble. ``chunk`` fixes the number of tasks per chunk
    (default: sized from the measured run time).
    """

    name = "base"
    workers = 1

    def map(self, fn: ModelFn, scenario: str, tasks: Sequence[Task], *,
            want_series: bool = False, columns: Sequence[str] | None = None,
            ensemble: EnsembleFn | None = None,
            chunk: int | None = None) -> Iterator[Output]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs every task in this process, one after another (replicates of one point as
    ensembles of the measured size, for a model with an ensemble path)."""

    name = "local"
    target_seconds = 1.0

    def map(self, fn: ModelFn, scenario: str, tasks: Sequence[Task], *,
            want_series: bool = False, columns: Sequence[str] | None = None,
            ensemble: EnsembleFn | None = None,
            chunk: int | None = None) -> Iterator[Output]:
        cols = tuple(columns) if columns is not None else None
        chunk = check_chunk(chunk)
        queue = _Queue(tasks, ensemble is not None)
        sizer = _sizer(1, self.target_seconds, ensemble, chunk if ensemble is not None
                       else chunk or 1)
        while queue:
            outputs = run_chunk(Chunk(fn, scenario, queue.take(sizer.size(queue.left)),
                                      want_series, cols, ensemble))
            sizer.observe(outputs)
            yield from outputs


class _PoolExecutor(Executor):
    """Shared scheduling for pools: adaptive chunks, two chunks in flight per worker."""

    target_seconds = 1.0

    def _submit(self, chunk: Chunk) -> Any:
        raise NotImplementedError

    def _wait(self, handles: list[Any]) -> tuple[list[Any], list[list[Output]]]:
        raise NotImplementedError

    def _cancel(self, handles: list[Any]) -> None:
        raise NotImplementedError

    def map(self, fn: ModelFn, scenario: str, tasks: Sequence[Task], *,
            want_series: bool = False, columns: Sequence[str] | None = None,
            ensemble: EnsembleFn | None = None,
            chunk: int | None = None) -> Iterator[Output]:
        cols = tuple(columns) if columns is not None else None
        queue = _Queue(tasks, ensemble is not None)
        sizer = _sizer(self.workers, self.target_seconds, ensemble, check_chunk(chunk))
        in_flight: list[Any] = []
        try:
            while queue or in_flight:
                while queue and len(in_flight) < 2 * self.workers:
                    batch = queue.take(sizer.size(queue.left))
                    in_flight.append(self._submit(Chunk(fn, scenario, batch, want_series,
                                                        cols, ensemble)))
                done, results = self._wait(in_flight)
                for handle, outputs in zip(done, results, strict=True):
                    in_flight.remove(handle)
                    sizer.observe(outputs)
                    yield from outputs
        finally:
            if in_flight:
                self._cancel(in_flight)


class ProcessExecutor(_PoolExecutor):
    """A ``concurrent.futures.ProcessPoolExecutor`` (all cores by default)."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers or os.cpu_count() or 1
        if "forkserver" in multiprocessing.get_all_start_methods():
            # workers fork from a server that has already imported the engine
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__, "dronefront.experiments.models"])
        else:
            context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                         initializer=_worker_init, initargs=(os.getpid(),))
        self._closed = False

    def _submit(self, chunk: Chunk) -> Any:
        return self._pool.submit(run_chunk, chunk)

    def _wait(self, handles: list[Any]) -> tuple[list[Any], list[list[Output]]]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        ordered = [h for h in handles if h in done]
        try:
            return ordered, [h.result() for h in ordered]
        except BrokenProcessPool as exc:
            raise RuntimeError(f"a worker process died: {exc}") from None

    def _cancel(self, handles: list[Any]) -> None:
        for h in handles:
            h.cancel()
        self._terminate()

    def _terminate(self) -> None:
        if self._closed:
            return
        self._closed = True
        terminate = getattr(self._pool, "terminate_workers", None)
        if terminate is not None:  # Python >= 3.14
            terminate()
        else:
            for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
                proc.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor(_PoolExecutor):
    """Ray: joins ``address`` if given, else starts a local Ray with ``workers`` CPUs."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        from dronefront.extras import require

        require("the ray executor", "ray")
        import ray

        self._ray = ray
        self._owned = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                         log_to_driver=False)
            self._owned = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers or cpus
        self._remote = ray.remote(num_cpus=1, max_retries=2)(run_chunk)

    def _submit(self, chunk: Chunk) -> Any:
        return self._remote.remote(chunk)

    def _wait(self, handles: list[Any]) -> tuple[list[Any], list[list[Output]]]:
        done, _ = self._ray.wait(handles, num_returns=1)
        return done, self._ray.get(done)

    def _cancel(self, handles: list[Any]) -> None:
        for h in handles:
            try:
                self._ray.cancel(h, force=True)
            except Exception:  # noqa: BLE001, S110 - already finished or gone
                pass

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
            self._owned = False


def make_executor(name: str = "local", *, workers: int | None = None,
                  ray_address: str | None = None) -> Executor:
    """An executor by name: ``local``, ``processes`` or ``ray``."""
    if workers is not None:
        workers = check_int(workers, "workers", minimum=1)
    if name == "local":
        return LocalExecutor()
    if name == "processes":
        return ProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, ray_address)
    raise UserError(f"unknown executor {name!r} (choose from {', '.join(EXECUTORS)})",
                    field="executor")


__all__ = ["ENSEMBLE_REPLICATES", "EXECUTORS", "MAX_CHUNK", "Chunk", "Executor",
           "LocalExecutor", "Output", "ProcessExecutor", "RayExecutor", "Task", "check_chunk",
           "make_executor", "run_chunk"]
