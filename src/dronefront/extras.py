"""Optional dependencies: which extra provides which module, and one line when one is missing.

The core install runs scenarios, campaigns and replays. The rest comes with an extra
(``pip install 'dronefront[NAME]'``, names as in ``pyproject.toml``); a command that needs a
missing one stops with a :class:`~dronefront.errors.UserError` before importing anything:

>>> require("dronefront report", "plots", "no_such_module_for_the_doctest")
Traceback (most recent call last):
...
dronefront.errors.UserError: dronefront report needs no_such_module_for_the_doctest: \
pip install 'dronefront[plots]'
"""

from __future__ import annotations

import importlib.util

from dronefront.errors import UserError

#: The modules each extra provides (import names; the distributions in pyproject.toml).
EXTRAS: dict[str, tuple[str, ...]] = {
    "experiments": ("duckdb", "pandas", "scipy", "SALib", "optuna"),
    "calibration": ("pyabc",),
    "ray": ("ray",),
    "plots": ("matplotlib", "pandas"),
    "lanchester": ("scipy",),
    "rl": ("gymnasium", "pettingzoo", "cma"),
}


def missing(*modules: str) -> list[str]:
    """The top-level ``modules`` that cannot be imported here (found without importing them).

    >>> missing("json", "no_such_module_for_the_doctest")
    ['no_such_module_for_the_doctest']
    """
    return [m for m in modules if not _findable(m)]


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it, a half-imported module
        return False


def require(what: str, extra: str, *modules: str) -> None:
    """Stop with a one-line error unless ``modules`` (default: all of ``extra``'s) import.

    ``what`` names what needs them, e.g. the command ``dronefront experiment run``.
    """
    absent = missing(*(modules or EXTRAS[extra]))
    if absent:
        raise UserError(f"{what} needs {absent[0]}: pip install 'dronefront[{extra}]'")
