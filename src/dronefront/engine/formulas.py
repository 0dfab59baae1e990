"""Formulas more than one kernel needs, each written once (Numba helpers, inlined).

>>> import numpy as np
>>> visibility(0.5, 0.5, 0.2)
0.2
>>> round(miss_probability(0.2, 1.0, 0.0, 0.0, 0.0), 12)
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


# The helpers take scalars: a helper handed an array costs a reference-count pair per call,
# which in a hot loop doubles its time. Kernels look the values up in their views' columns.


@nb.njit(inline="always", cache=True)
def visibility(terrain, posture, discipline):
    """Probability that a soldier in a sensor's reach is seen: what the concealment of its
    terrain class and of its posture, and its platoon's concealment discipline, leave."""
    return (1.0 - terrain) * (1.0 - posture) * (1.0 - discipline)


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
def exposure(cover, protection, keep):
    """Factor on a hit's kill and wound probabilities: what the ``cover`` of its terrain
    class and the ``protection`` of its posture leave, of which a weapon lets ``keep``
    (1 - its penetration) work."""
    return (1.0 - cover * keep) * (1.0 - protection * keep)


@nb.njit(inline="always", cache=True)
def jam_keep(x, y, side, active, j_side, j_x, j_y, j_radius, j_strength):
    """What the jammers hostile to ``side`` leave of a radio link at ``(x, y)``: the product
    of ``1 - strength`` over those whose radius covers the point (in jammer order)."""
    keep = 1.0
    for j in range(active.shape[0]):
        if (active[j] and j_side[j] != side
                and np.hypot(x - j_x[j], y - j_y[j]) <= j_radius[j]):
            keep *= 1.0 - j_strength[j]
    return keep


@nb.njit(inline="always", cache=True)
def miss_probability(base, skill, speed_term, jam_term, fire_term):
    """Probability that a terminal dive misses: ``1 - (1 - base)^(1/skill) *
    exp(-(speed_term + jam_term + fire_term) / skill)``; each term is a hazard (a
    sensitivity times its factor), and skill divides the whole hazard."""
    return 1.0 - np.exp((np.log1p(-base) - speed_term - jam_term - fire_term) / skill)
