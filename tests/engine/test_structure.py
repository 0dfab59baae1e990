"""The engine's shape: stages that talk only through the state, kernels over tables.

Import cycles are checked for the whole package in tests/packaging/test_package_shape.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dronefront.engine

ENGINE = Path(dronefront.engine.__file__).parent


def test_no_stage_uses_a_string_keyed_cache():
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert "cache" not in names, f"{path.name} reaches for a state cache"


def _kernels():
    """(module, name, parameter count) of every Numba kernel defined in the engine."""
    import importlib
    import inspect
    import pkgutil

    from numba.core.registry import CPUDispatcher

    for info in pkgutil.walk_packages(dronefront.engine.__path__, "dronefront.engine."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == info.name:
                yield info.name, name, len(inspect.signature(obj.py_func).parameters)


def test_kernels_take_tables_not_long_lists_of_columns():
    kernels = list(_kernels())
    assert len(kernels) > 30  # the walk found them all: grids, stages, rng, series
    assert [k for k in kernels if k[2] > 12] == []
