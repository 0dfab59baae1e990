"""Compile every Numba kernel once, into its on-disk cache, so that later runs start warm.

The kernels are compiled on first use (``cache=True``); in a fresh install that makes the
first engagement several times slower than the next. This module runs every built-in
engagement (and one day of every built-in campaign) once, which reaches every kernel the
built-ins use, so each is compiled into the cache next to its source file. It runs the real
kernels: Numba keys its cache by the source file, so nothing else would warm them.

Run it as ``dronefront warmup`` or ``python -m dronefront.engine.warmup``; ``make install``
does so once.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


def kernels() -> dict[str, Any]:
    """Every Numba kernel of the engine by qualified name (a ``numba`` dispatcher each)."""
    from numba.core.dispatcher import Dispatcher

    import dronefront.engine as engine

    found: dict[str, Any] = {}
    for info in pkgutil.walk_packages(engine.__path__, f"{engine.__name__}."):
        if info.name == __name__:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__:
                found[f"{module.__name__}.{value.py_func.__name__}"] = value
    return dict(sorted(found.items()))


def compiled() -> dict[str, int]:
    """How many compiled (or cache-loaded) versions each kernel has in this process."""
    return {name: len(kernel.signatures) for name, kernel in kernels().items()}


def builtin_runs() -> list[tuple[str, str]]:
    """(kind, name) of every built-in scenario: ``engagement`` or ``campaign``."""
    from dronefront.scenario.loader import builtin_names, load_raw

    return [(load_raw(name)[0].get("kind", "engagement"), name) for name in builtin_names()]


def warmup(progress: Callable[[str, float], None] | None = None) -> dict[str, int]:
    """Run every built-in engagement (alone and as an ensemble of two, whose batched
    kernels are others) and one campaign day, then a few steps of the reference model large
    enough for the parallel movement kernels; return :func:`compiled` after.

    ``progress(name, seconds)`` is called after each run.
    """
    from dronefront.campaign.runner import run_campaign
    from dronefront.engine.ensemble import run_ensemble
    from dronefront.engine.sim import Sim
    from dronefront.engine.stages.movement import PARALLEL_MIN
    from dronefront.scenario.loader import load_scenario

    for kind, name in builtin_runs():
        start = time.perf_counter()
        if kind == "campaign":
            run_campaign(name, seed=1, days=1)
        else:
            scenario = load_scenario(name)
            Sim(scenario, seed=1).run()
            run_ensemble(scenario, [1, 2], events=False)
        if progress is not None:
            progress(name, time.perf_counter() - start)
    start = time.perf_counter()
    size = -(-PARALLEL_MIN // 30) * 30  # the reference model's N is a multiple of 30
    Sim(load_scenario("reference-open-field", [f"parameters.N={size}", "duration=3"]),
        seed=1, events=False).run()
    if progress is not None:
        progress(f"reference-open-field N={size}", time.perf_counter() - start)
    return compiled()


def warmup_cmd() -> None:
    """Compile every engine kernel into Numba's on-disk cache (once per install)."""
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    start = time.perf_counter()
    counts = warmup(lambda name, s: console.print(f"{name}: {s:.1f} s"))
    console.print(f"{sum(1 for n in counts.values() if n)} of {len(counts)} kernels compiled "
                  f"or loaded from the cache in {time.perf_counter() - start:.1f} s "
                  "(a kernel called only from other kernels is built into them)")


def register(app: typer.Typer) -> None:
    """Add ``dronefront warmup``."""
    app.command("warmup")(warmup_cmd)


if __name__ == "__main__":  # pragma: no cover
    warmup_cmd()
