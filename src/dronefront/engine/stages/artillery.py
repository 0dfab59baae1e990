"""Artillery: batteries answer calls for fire on tracked groups after a latency.

An idle battery with rounds takes the largest fresh track (at least ``min_group`` soldiers,
within ``max_range``) that no other mission covers, and aims at the track's position *at
the time of the call*. Rounds fall from ``latency`` seconds later, one every ``60 / (rate *
tubes)`` seconds, each at the aim point plus a normal error of ``sigma = CEP / 1.1774`` per
axis, and resolve as blasts. A group that moved since it was seen is missed: that is how
movement and dispersal beat drone-cued artillery.
"""

from __future__ import annotations

import numpy as np

from dronefront.engine.events import EventLog
from dronefront.engine.rng import normals
from dronefront.engine.spatial import nonzero as _nz
from dronefront.engine.stages.damage import resolve_blasts
from dronefront.engine.stages.drones import _fresh_tracks
from dronefront.engine.state import State


def artillery(state: State, log: EventLog) -> None:
    """Start missions for idle batteries, then land this step's rounds."""
    b = state.batteries
    if b.n == 0:
        return
    step, dt = state.step, state.dt
    tr = state.tracks
    for i in _nz((b.mission_left == 0) & (b.rounds > 0)):
        side = int(b.side[i])
        fresh = _fresh_tracks(state, side) & (tr.engaged_until[side] < step)
        fresh &= tr.n[side] >= b.min_group[i]
        fresh &= np.hypot(tr.x[side] - b.x[i], tr.y[side] - b.y[i]) <= b.max_range[i]
        groups = _nz(fresh)
        if groups.size == 0:
            continue
        g = groups[np.argmax(tr.n[side, groups])]
        size = int(min(b.rounds_per_mission[i], b.rounds[i]))
        b.mission_left[i] = size
        b.mission_x[i], b.mission_y[i] = tr.x[side, g], tr.y[side, g]
        b.next_round_time[i] = (step + b.latency[i]) * dt
        tr.engaged_until[side, g] = step + b.latency[i] + int(np.ceil(size * b.interval[i] / dt))
        log.add(step, "call_for_fire", side, tr.x[side, g], tr.y[side, g],
                weapon=state.artillery_code, platoon=g, actor=i, value=size)
    # Rounds whose time falls in [t, t + dt).
    end = (step + 1) * dt
    firing = _nz((b.mission_left > 0) & (b.next_round_time < end - 1e-9))
    if firing.size == 0:
        return
    n = np.minimum(
        b.mission_left[firing],
        np.floor((end - 1e-9 - b.next_round_time[firing]) / b.interval[firing]).astype(np.int64)
        + 1,
    )
    battery = np.repeat(firing, n)
    serial = b.fired[battery] + (np.arange(battery.size) - np.repeat(np.cumsum(n) - n, n))
    shell_id = battery.astype(np.int64) * (1 << 32) + serial
    err = normals(state.streams["artillery.dispersion"], step, shell_id, 0)
    bx = b.mission_x[battery] + err[:, 0] * b.sigma[battery]
    by = b.mission_y[battery] + err[:, 1] * b.sigma[battery]
    b.fired[firing] += n
    b.rounds[firing] -= n
    b.mission_left[firing] -= n
    b.next_round_time[firing] += n * b.interval[firing]
    np.add.at(state.counters.shells, b.side[battery], 1)
    log.add(step, "shell", b.side[battery], bx, by, weapon=state.artillery_code,
            actor=battery)
    resolve_blasts(state, log, bx, by, b.rings[battery], shell_id,
                   np.full(battery.size, state.artillery_code, np.int64),
                   np.zeros(battery.size), "damage.artillery")
