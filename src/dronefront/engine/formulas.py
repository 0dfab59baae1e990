"""Formulas more than one kernel needs, each written once (Numba helpers, inlined).

>>> import numpy as np
>>> float(visibility(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.2]), 0, 1, 0))
0.2
"""

from __future__ import annotations

import numba as nb


@nb.njit(inline="always", cache=True)
def visibility(concealment, posture_concealment, discipline, terrain, posture, platoon):
    """Probability that a soldier in a sensor's reach is seen: what terrain class ``terrain``,
    posture ``posture`` and its platoon's concealment discipline leave visible."""
    return ((1.0 - concealment[terrain]) * (1.0 - posture_concealment[posture])
            * (1.0 - discipline[platoon]))


@nb.njit(inline="always", cache=True)
def fresh_track(side, g, step, ttl, platoon_side, tr_n, tr_step):
    """Whether ``side`` holds a usable track of platoon ``g``: an enemy platoon it has seen
    within ``ttl`` steps (``ttl`` a scalar, the side's track lifetime)."""
    return platoon_side[g] != side and tr_n[side, g] > 0 and step - tr_step[side, g] <= ttl
