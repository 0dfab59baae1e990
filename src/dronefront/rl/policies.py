"""Scripted policies that play an :class:`~dronefront.rl.core.Engagement` to its end.

``doctrine`` repeats every agent's standing order (the scenario's doctrine; a battery keeps
the engine's rule), so it reproduces ``Sim.run``; ``random`` picks, for every head of every
agent, one allowed option uniformly (masked), from ``numpy.random.default_rng(seed)``.

>>> from dronefront.scenario.loader import load_scenario
>>> e = Engagement(load_scenario("kursk-assault", ["duration=60"]), 3)
>>> play(e, "random", seed=3).summary["duration_s"]
60.0
"""

from __future__ import annotations

import numpy as np

from dronefront.errors import UserError
from dronefront.rl.core import PLATOON_NVEC, TEAM_NVEC, Engagement

#: The scripted policies :func:`play` knows.
POLICY_NAMES = ("doctrine", "random")


def _pick(rng: np.random.Generator, mask: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """One allowed option per head for each row of a flat ``mask`` (uniform among them)."""
    out = np.zeros((mask.shape[0], nvec.size), np.int64)
    start = 0
    for h, k in enumerate(nvec.tolist()):
        seg = mask[:, start:start + k]
        u = rng.random(seg.shape) * seg  # masked options score 0; at least one is allowed
        out[:, h] = u.argmax(axis=1)
        start += k
    return out


def random_orders(e: Engagement, rng: np.random.Generator) -> None:
    """Give every controlled agent a uniformly random allowed option per head."""
    if e.platoons.size:
        e.order_platoons(_pick(rng, e.platoon_masks(), PLATOON_NVEC))
    if e.teams.size:
        e.order_teams(_pick(rng, e.team_masks(), TEAM_NVEC))
    if e.batteries.size:
        e.order_batteries(np.array([int(np.flatnonzero(m)[rng.integers(m.sum())])
                                    for m in e.battery_masks()], np.int64))


def doctrine_orders(e: Engagement) -> None:
    """Repeat every controlled agent's standing order."""
    if e.platoons.size:
        e.order_platoons(e.doctrine_actions())
    if e.teams.size:
        e.order_teams(e.team_orders[e.teams].copy())
    if e.batteries.size:
        e.order_batteries(e.battery_orders[e.batteries].copy())


def play(e: Engagement, policy: str, seed: int = 0):
    """Play ``e`` from where it stands to the end with a scripted ``policy`` (one of
    ``POLICY_NAMES``); returns the ``Result``."""
    if policy not in POLICY_NAMES:
        raise UserError(f"unknown policy {policy!r}; one of {', '.join(POLICY_NAMES)}",
                        field="policy")
    rng = np.random.default_rng(seed)
    while True:
        if policy == "random":
            random_orders(e, rng)
        else:
            doctrine_orders(e)
        _, terms, truncated = e.advance()
        if truncated or all(terms.values()):
            return e.finish()
