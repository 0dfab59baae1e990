"""Executors: run tasks in-process, in local processes or on a Ray cluster, one interface.

Every executor takes a model callable, a scenario and a list of :class:`Task` and yields a
:class:`Output` per task as runs finish (in any order). A run's result depends only on
``(scenario, seed, overrides)``, never on where it ran, so every executor gives the same
stored results. Pool executors send tasks in *chunks* sized from the measured run time
(about ``target_seconds`` of work each, and small enough near the end to keep all workers
busy), so the per-task overhead of a process pool or Ray stays small for fast models.

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
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dronefront.arguments import check_int
from dronefront.errors import UserError
from dronefront.experiments.models import ModelFn
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
    model raised; the driver decides what to do with it.
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


@dataclass(frozen=True)
class Chunk:
    """A batch of tasks sent to a worker in one message."""

    fn: ModelFn
    scenario: str
    tasks: tuple[Task, ...]
    want_series: bool
    columns: tuple[str, ...] | None = None


def run_chunk(chunk: Chunk) -> list[Output]:
    """Run a chunk of tasks (in whatever process this is) and return their outputs."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    out = []
    for task in chunk.tasks:
        started = time.perf_counter()
        try:
            summary, series = chunk.fn(chunk.scenario, task.seed, list(task.overrides))
            if not chunk.want_series or series is None:
                series = None
            elif chunk.columns is not None:
                series = series.select([c for c in chunk.columns if c in series.column_names])
            out.append(Output(task.point, task.replicate, task.seed, jsonable(summary), series,
                              time.perf_counter() - started, worker))
        except UserError as exc:
            out.append(Output(task.point, task.replicate, task.seed, None, None,
                              time.perf_counter() - started, worker, str(exc), True))
        except Exception as exc:  # noqa: BLE001 - reported to the driver with its traceback
            if caused_by_interrupt(exc):  # a Ctrl-C that lands as a kernel returns
                raise KeyboardInterrupt from exc
            text = "".join(traceback.format_exception(exc)[-6:])
            out.append(Output(task.point, task.replicate, task.seed, None, None,
                              time.perf_counter() - started, worker, text, False))
    return out


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


@dataclass
class _Sizer:
    """Chunk sizes from the measured run time: ~``target`` seconds per chunk."""

    workers: int
    target: float = 1.0
    per_run: float | None = None
    samples: int = 0

    def observe(self, outputs: Sequence[Output]) -> None:
        for o in outputs:
            self.samples += 1
            weight = max(0.05, 1.0 / self.samples)
            s = max(o.seconds, 1e-6)
            self.per_run = s if self.per_run is None else (1 - weight) * self.per_run + weight * s

    def size(self, remaining: int) -> int:
        if self.per_run is None:
            return 1
        ideal = max(1, int(self.target / self.per_run))
        fair = max(1, math.ceil(remaining / (2 * self.workers)))
        return max(1, min(ideal, fair, 10_000))


class Executor:
    """Base class: ``map(fn, scenario, tasks)`` yields outputs as they finish."""

    name = "base"
    workers = 1

    def map(self, fn: ModelFn, scenario: str, tasks: Sequence[Task], *,
            want_series: bool = False,
            columns: Sequence[str] | None = None) -> Iterator[Output]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """Runs every task in this process, one after another."""

    name = "local"

    def map(self, fn: ModelFn, scenario: str, tasks: Sequence[Task], *,
            want_series: bool = False,
            columns: Sequence[str] | None = None) -> Iterator[Output]:
        cols = tuple(columns) if columns is not None else None
        for task in tasks:
            yield from run_chunk(Chunk(fn, scenario, (task,), want_series, cols))


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
            want_series: bool = False,
            columns: Sequence[str] | None = None) -> Iterator[Output]:
        cols = tuple(columns) if columns is not None else None
        queue = deque(tasks)
        sizer = _Sizer(self.workers, self.target_seconds)
        in_flight: list[Any] = []
        try:
            while queue or in_flight:
                while queue and len(in_flight) < 2 * self.workers:
                    size = sizer.size(len(queue))
                    batch = tuple(queue.popleft() for _ in range(min(size, len(queue))))
                    in_flight.append(self._submit(Chunk(fn, scenario, batch, want_series,
                                                        cols)))
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


__all__ = ["EXECUTORS", "Chunk", "Executor", "LocalExecutor", "Output", "ProcessExecutor",
           "RayExecutor", "Task", "make_executor", "run_chunk"]
