"""The package's shape: no import cycles anywhere in it, and no module reaching for another
module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import dronefront

SRC = Path(dronefront.__file__).parent.parent


def _module(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _skipped(tree: ast.Module) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:`` or ``if __name__ == "__main__":``: they import
    nothing when the module is imported."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ("TYPE_CHECKING" in ast.unparse(node.test)
                                         or "__main__" in ast.unparse(node.test)):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Module -> the package modules it imports (at any level, lazily or not), and every
    ``from module import _private`` as (importer, module, name)."""
    graph: dict[str, set[str]] = {}
    private: list[tuple[str, str, str]] = []
    for path in sorted((SRC / "dronefront").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip, deps, here = _skipped(tree), set(), _module(path)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dronefront"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
                private += [(here, node.module, a.name) for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("dronefront"))
        graph[here] = deps
    graph = {m: {d for d in deps if d in graph and d not in (m, "dronefront")}
             for m, deps in graph.items()}
    return graph, private


def test_no_import_cycles():
    graph, _ = _imports()
    assert len(graph) > 60  # the walk found the package
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


def test_no_module_imports_another_modules_private_names():
    _, private = _imports()
    assert private == []
