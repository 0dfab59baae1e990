"""Lazy package exports: a package names what it offers and imports each on first use.

``import dronefront.experiments`` stays cheap (no DuckDB, SciPy or Optuna until a name that
needs them is used), and a missing optional dependency shows only when it is needed.

>>> getattr_, dir_ = lazy_exports("dronefront", {"errors": ["UserError"]}, {})
>>> getattr_("UserError").__name__
'UserError'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, Iterable[str]],
                 namespace: MutableMapping[str, Any], *, subpackages: bool = False
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps a submodule (relative to the package) to the names it provides; a
    name is imported from it on first access and then kept in ``namespace`` (the package's
    ``globals()``). With ``subpackages``, any other attribute that is a submodule's name
    imports that submodule.
    """
    where = {name: module for module, names in exports.items() for name in names}
    public = sorted(where)

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            missing = AttributeError(f"module {package!r} has no attribute {name!r}")
            if not subpackages or name.startswith("_"):
                raise missing
            try:
                return importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
                raise missing from None
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
