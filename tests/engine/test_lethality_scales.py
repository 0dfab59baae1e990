"""A weapon's two ring scales (docs/model.md §11): killed share and casualty rate, apart.

FPV strikes on a spaced platoon (6 m apart, a 5 m ring: one man per strike; one team, so
one strike at a time), the wounded never struck again (weighted targeting, ``fallen: 0``;
every man within the drones' acquire range, so a healthy target is at hand): each casualty
is one draw against one ring: killed with probability ``q' = min(1, killed_share_scale * q)``
among the hit, hit with probability ``min(1, casualty_scale * (kill + wound))``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dronefront.engine.sim import Sim
from dronefront.engine.state import build_state
from dronefront.scenario.models import DEFAULT_DRONE_TYPES, Battery, scaled_ring
from tests.engine.stage_builder import TEST_FPV, small_scenario

KILL, WOUND = 0.3, 0.6  # killed share 1/3, casualty probability 0.9
SEEDS = range(1, 25)


def _scenario(killed_share_scale: float = 1.0, casualty_scale: float = 1.0):
    fpv = {**TEST_FPV, "lethality": [{"radius": 5.0, "kill": KILL, "wound": WOUND}],
           "acquire_range": 400.0,
           "killed_share_scale": killed_share_scale, "casualty_scale": casualty_scale}
    return small_scenario(
        duration=900.0,
        drone_types={"test_fpv": fpv},
        sides={
            "attacker": {"units": [{
                "name": "platoon", "count": 30, "start": [0.0, 0.0], "posture": "moving",
                "doctrine": {"formation": "line", "spacing": 6.0, "pace": 1.0},
            }]},
            "defender": {"teams": [{
                "drone": "test_fpv", "count": 1, "position": [0.0, 600.0], "inventory": 18,
                "turnaround": 20.0, "targeting": "omniscient", "policy": "weighted",
            }]},
        },
    )


def _pooled(**scales: float) -> tuple[int, int, int]:
    """(killed, wounded, strikes) by the FPVs over the seeds."""
    spec = _scenario(**scales)
    killed = wounded = strikes = 0
    for seed in SEEDS:
        side = Sim(spec, seed=seed, events=False).run().summary["sides"]["attacker"]
        cause = side["casualties_by_cause"].get("test_fpv", {"killed": 0, "wounded": 0})
        killed += cause["killed"]
        wounded += cause["wounded"]
        strikes += side["fpv_strikes_received"]
    return killed, wounded, strikes


@pytest.fixture(scope="module")
def base() -> tuple[int, int, int]:
    return _pooled()


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_killed_share_follows_its_scale(scale: float, base: tuple[int, int, int]) -> None:
    killed, wounded, strikes = base if scale == 1.0 else _pooled(killed_share_scale=scale)
    hit = killed + wounded
    expected = min(1.0, scale * KILL / (KILL + WOUND))
    se = math.sqrt(expected * (1 - expected) / hit)
    assert hit > 200  # enough casualties for the tolerance below to mean something
    assert abs(killed / hit - expected) < 4 * se + 0.01, (killed, wounded, expected)
    # ... and it does not move how many men a strike hits (0.9 of one man each).
    assert abs(hit / strikes - (base[0] + base[1]) / base[2]) < 0.12


def test_casualty_scale_moves_the_hit_rate_not_the_share(base: tuple[int, int, int]) -> None:
    killed, wounded, strikes = _pooled(casualty_scale=0.5)
    hit = killed + wounded
    base_rate = (base[0] + base[1]) / base[2]
    assert hit / strikes == pytest.approx(0.5 * base_rate, abs=0.1)
    share = 1 / 3
    assert abs(killed / hit - share) < 4 * math.sqrt(share * (1 - share) / hit) + 0.01


def test_scales_reach_the_ring_tables_and_one_changes_nothing() -> None:
    plain = build_state(_scenario(), 1).types.rings
    assert np.array_equal(plain, build_state(_scenario(1.0, 1.0), 1).types.rings)
    scaled = build_state(_scenario(0.5, 0.8), 1).types.rings
    k = list(build_state(_scenario(), 1).types.names).index("test_fpv")
    assert scaled[k, 0, 1:] == pytest.approx(scaled_ring(KILL, WOUND, 0.8, 0.5))
    assert scaled[k, 0, 1] == pytest.approx(0.9 * 0.8 / 6)


def test_scales_at_one_are_not_dumped() -> None:
    assert "killed_share_scale" not in DEFAULT_DRONE_TYPES["fpv_radio"].model_dump()
    battery = Battery(name="b", position=(0.0, 0.0), killed_share_scale=0.5)
    assert battery.model_dump()["killed_share_scale"] == 0.5
    assert "casualty_scale" not in battery.model_dump()
