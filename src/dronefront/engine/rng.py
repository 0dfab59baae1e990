"""Counter-based random numbers: one named stream per decision.

Every random decision (ISR detection, jamming, counter-drone fire, ...) owns a stream whose
key is derived from ``(seed, name)``. A draw is a hash of ``(key, step, a, b)`` where ``a``
and ``b`` identify the entities involved (a drone slot, a soldier, a platoon). Because a
draw depends only on *who* is deciding *what* and *when*, switching one mechanic off never
shifts the draws of another: the common random numbers that paired comparisons need. The
hash is SplitMix64's finaliser applied to each coordinate in turn (Steele et al., 2014).

>>> key = stream_key(1, "counterdrone.fire")
>>> u = uniform(key, 0, 5, 0)
>>> 0.0 <= u < 1.0 and u == uniform(key, 0, 5, 0)
True
"""

from __future__ import annotations

import hashlib

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


def stream_key(seed: int, name: str) -> np.uint64:
    """The 64-bit key of the stream ``name`` for ``seed`` (stable across processes)."""
    digest = hashlib.blake2b(f"{int(seed)}:{name}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


@nb.njit(inline="always", cache=True)
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True)
def uniform(key, step, a, b):
    """One uniform draw in [0, 1) for ``(key, step, a, b)``."""
    z = _mix(np.uint64(key) + _GOLDEN * np.uint64(step + 1))
    z = _mix(z + _GOLDEN * np.uint64(a + 1))
    z = _mix(z + _GOLDEN * np.uint64(b + 1))
    return np.float64(z >> _S11) * _INV53


@nb.njit(cache=True)
def uniforms(key, step, a, b):
    """Uniform draws for arrays of entity ids ``a`` with a scalar ``b``."""
    out = np.empty(a.shape[0], np.float64)
    for i in range(a.shape[0]):
        out[i] = uniform(key, step, a[i], b)
    return out


@nb.njit(cache=True)
def pair_uniforms(key, step, a, b):
    """Uniform draws for matching arrays of entity ids ``a`` and ``b``."""
    out = np.empty(a.shape[0], np.float64)
    for i in range(a.shape[0]):
        out[i] = uniform(key, step, a[i], b[i])
    return out


@nb.njit(cache=True)
def normal(key, step, a, b):
    """One standard normal draw for ``(key, step, a, b)`` (Box-Muller on two uniforms)."""
    u1 = 1.0 - uniform(key, step, a, 2 * b + 1_000_003)
    u2 = uniform(key, step, a, 2 * b + 1_000_004)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@nb.njit(cache=True)
def normals(key, step, a, b):
    """Pairs of standard normal draws (Box-Muller) for entity ids ``a``: shape (n, 2)."""
    out = np.empty((a.shape[0], 2), np.float64)
    for i in range(a.shape[0]):
        u1 = 1.0 - uniform(key, step, a[i], 2 * b)
        u2 = uniform(key, step, a[i], 2 * b + 1)
        r = np.sqrt(-2.0 * np.log(u1))
        out[i, 0] = r * np.cos(2.0 * np.pi * u2)
        out[i, 1] = r * np.sin(2.0 * np.pi * u2)
    return out


class Streams:
    """The named streams of one simulation: ``streams["artillery.dispersion"]`` is a key."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._keys: dict[str, np.uint64] = {}

    def __getitem__(self, name: str) -> np.uint64:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = stream_key(self.seed, name)
        return key
