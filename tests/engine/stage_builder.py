"""A small state builder for stage tests: a tiny scenario, built once, then edited in place.

``small_state(**sections)`` merges ``sections`` over a one-platoon scenario in open ground
(10 attackers in a line at the origin, heading north, no drones, no fires) and builds its
state. Tests then set the few arrays their stage reads and call the stage directly.
"""

from __future__ import annotations

import copy
from typing import Any

from dronefront.engine.events import EventLog
from dronefront.engine.state import State, build_state
from dronefront.scenario.models import Scenario

#: A drone type with round numbers, for tests that fly one.
TEST_FPV = {
    "role": "fpv", "speed": 10.0, "endurance": 600.0, "altitude": 5.0, "link_range": 1000.0,
    "sensor_range": 0.0, "sensor_detect_prob": 0.0, "acquire_range": 100.0,
    "signature_range": 200.0, "cost": 500.0,
    "lethality": [{"radius": 5.0, "kill": 1.0}],
    # A perfect sortie: no failure, no terminal miss (tests of failure and miss set these).
    "failure_prob": 0.0, "terminal_miss": 0.0, "miss_per_speed": 0.0, "miss_per_jamming": 0.0,
    "miss_under_fire": 0.0,
}

BASE: dict[str, Any] = {
    "name": "stage-test",
    "dt": 2.0,
    "duration": 200.0,
    "terrain": {"bounds": [-2000, -2000, 2000, 2000], "default": "open"},
    "drone_types": {"test_fpv": TEST_FPV},
    "sides": {
        "attacker": {"units": [{
            "name": "platoon", "count": 10, "start": [0.0, 0.0], "posture": "moving",
            "doctrine": {"formation": "line", "spacing": 2.0, "pace": 1.5},
        }]},
        "defender": {},
    },
}


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def small_scenario(**sections: Any) -> Scenario:
    """The base scenario with ``sections`` merged over it (dicts merge, the rest replaces)."""
    return Scenario.model_validate(_merge(BASE, sections))


def small_state(seed: int = 1, **sections: Any) -> State:
    """The state of ``small_scenario(**sections)`` before its first step."""
    return build_state(small_scenario(**sections), seed)


def events_of(log: EventLog, state: State, kind: str) -> list[dict]:
    """The events of ``kind`` in ``log`` as row dicts."""
    table = log.table(state.dt, state.weapon_names).to_pylist()
    return [row for row in table if row["kind"] == kind]
