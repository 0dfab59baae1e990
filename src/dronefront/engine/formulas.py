"""Formulas more than one kernel needs, each written once (Numba helpers, inlined).

>>> import numpy as np
>>> float(visibility(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.2]), 0, 1, 0))
0.2
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np


class Concealment(NamedTuple):
    """Kernel view: what hides a soldier from a camera or an eye (shares the state's arrays)."""

    terrain: np.ndarray  # float64 by terrain class (TerrainRaster.concealment)
    posture: np.ndarray  # float64 by posture code (State.posture_concealment)
    discipline: np.ndarray  # float64 by platoon (Platoons.discipline)

    @classmethod
    def of(cls, state) -> Concealment:
        """The view over ``state`` (a State)."""
        return cls(state.terrain.concealment, state.posture_concealment,
                   state.platoons.discipline)


# The helpers take a view's columns, not the view: kernels take them out once, since each
# access to a tuple's array inside a loop costs a reference-count pair.


@nb.njit(inline="always", cache=True)
def visibility(concealment, posture_concealment, discipline, terrain, posture, platoon):
    """Probability that a soldier in a sensor's reach is seen: what terrain class ``terrain``,
    posture ``posture`` and its platoon's concealment discipline leave visible (the first
    three are a ``Concealment``'s columns)."""
    return ((1.0 - concealment[terrain]) * (1.0 - posture_concealment[posture])
            * (1.0 - discipline[platoon]))


@nb.njit(inline="always", cache=True)
def fresh_track(side, g, step, ttl, platoon_side, tr_n, tr_step):
    """Whether ``side`` holds a usable track of platoon ``g``: an enemy platoon it has seen
    within ``ttl`` steps (``ttl`` a scalar, the side's track lifetime)."""
    return platoon_side[g] != side and tr_n[side, g] > 0 and step - tr_step[side, g] <= ttl


class Shelter(NamedTuple):
    """Kernel view: what shields a soldier from fragments and bullets (the state's arrays)."""

    cover: np.ndarray  # float64 by terrain class (TerrainRaster.cover)
    protection: np.ndarray  # float64 by posture code (State.posture_protection)

    @classmethod
    def of(cls, state) -> Shelter:
        """The view over ``state`` (a State)."""
        return cls(state.terrain.cover, state.posture_protection)


@nb.njit(inline="always", cache=True)
def exposure(cover, protection, terrain, posture, keep):
    """Factor on a hit's kill and wound probabilities: what cover (by terrain class) and
    protection (by posture) leave, of which a weapon lets ``keep`` (1 - its penetration)
    work (the first two are a ``Shelter``'s columns)."""
    return (1.0 - cover[terrain] * keep) * (1.0 - protection[posture] * keep)
