"""The engine's shape: no import cycles, and stages that talk only through the state."""

from __future__ import annotations

import ast
from pathlib import Path

import dronefront.engine

ENGINE = Path(dronefront.engine.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports (at any level, lazily or not)."""
    graph: dict[str, set[str]] = {}
    for path in ENGINE.rglob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "dronefront.engine"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        graph[_module(path)] = deps
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_engine_has_no_import_cycles():
    graph = _imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in sorted(graph[module]):
            visit(dep, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


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
