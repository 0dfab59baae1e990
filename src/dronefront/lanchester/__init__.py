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

from dronefront.lazy import lazy_exports

_EXPORTS = {
    "fitting": ["FitResult", "Selection", "StrengthData", "fit", "one_step", "read_strength_csv",
                "select_law", "synthetic_data", "write_strength_csv"],
    "laws": ["CLOSED_FORM_LAWS", "LAWS", "Coefficient", "CoefficientLike", "Outcome",
             "Reinforcement", "Solution", "annihilation_time", "closed_form", "kernels",
             "outcome", "parse_reinforcement", "rhs", "solve", "state_residual"],
    "stochastic": ["StochasticResult", "simulate"],
}
__all__ = sorted(name for names in _EXPORTS.values() for name in names)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
