"""Lanchester combat models: deterministic laws, a stochastic version, and fitting to data.

Side A loses ``beta * g_A(A, B)`` per day and side B loses ``alpha * g_B(A, B)``:
square (aimed fire), linear (unaimed fire), logarithmic, mixed (A conventional, B guerrilla)
and the generalized law ``dA/dt = -beta A^p B^q``, ``dB/dt = -alpha B^p A^q``.
See ``docs/lanchester.md``.

>>> from dronefront.lanchester import Reinforcement, solve
>>> iwo = solve("square", 54000, 21500, alpha=0.0106, beta=0.0544, days=36,
...             reinforcements=[Reinforcement("A", 2, 6000), Reinforcement("A", 5, 13000)])
>>> iwo.outcome.winner, round(iwo.outcome.annihilation_time, 2), round(iwo.losses[0])
('A', 35.44, 20203)

Names are imported on first use, so the ``dronefront`` command line starts without SciPy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "fitting": ["FitResult", "Selection", "StrengthData", "fit", "one_step", "read_strength_csv",
                "select_law", "synthetic_data", "write_strength_csv"],
    "laws": ["CLOSED_FORM_LAWS", "LAWS", "Coefficient", "CoefficientLike", "Outcome",
             "Reinforcement", "Solution", "annihilation_time", "closed_form", "kernels",
             "outcome", "parse_reinforcement", "rhs", "solve", "state_residual"],
    "stochastic": ["StochasticResult", "simulate"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
