"""Shared fixtures: a cache of engine runs so statistical tests don't repeat work."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Importing the tripwire is what a hostile-input test checks never happens; the doctest
# collection (``--doctest-modules``) must not import it either.
collect_ignore = ["safety/tripwire.py"]


@functools.lru_cache(maxsize=256)
def _cached_run(name: str, seed: int, overrides: tuple[str, ...]):
    import dronefront

    return dronefront.run(name, seed=seed, overrides=list(overrides))


@pytest.fixture(scope="session")
def engine_run():
    """``engine_run(name, seed, *overrides)`` -> Result, cached for the session."""

    def run(name: str, seed: int, *overrides: str):
        return _cached_run(name, seed, tuple(overrides))

    return run


def mean_se(values) -> tuple[float, float]:
    """Mean and standard error of a sample."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(arr.size))
