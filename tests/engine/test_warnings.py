"""Warnings between platoons (docs/model.md §10), tested over seeds on common random numbers."""

from __future__ import annotations

import pytest

from dronefront.engine.sim import Sim
from dronefront.scenario.models import Scenario
from tests.conftest import mean_se

SEEDS = range(1, 13)


def _spotters_ahead(warning_radius: float, drill: str) -> Scenario:
    """A platoon with posted spotters 250 m ahead of a bunched neighbour without any, both
    advancing towards FPV teams that strike soldiers of either at random."""
    return Scenario.model_validate({
        "name": "spotters-ahead", "dt": 2.0, "duration": 900.0,
        "terrain": {"bounds": [-1500, -1500, 1500, 4000], "default": "open"},
        "counter_drone": {"warning_radius": warning_radius},
        "sides": {
            "attacker": {"units": [
                {"name": "spotters", "count": 30, "start": [0, 250], "waypoints": [[0, 1200]],
                 "doctrine": {"formation": "line", "spacing": 5, "pace": 1.0, "spotters": 3},
                 "skills": {"spotting": 1.0}},
                {"name": "neighbour", "count": 30, "start": [0, 0], "waypoints": [[0, 950]],
                 "doctrine": {"formation": "block", "ranks": 3, "spacing": 2, "pace": 1.0,
                              "drill": [drill]},
                 "skills": {"spotting": 0.2}},
            ]},
            "defender": {"teams": [{"drone": "fpv_radio", "count": 4, "position": [0, 3000],
                                    "inventory": 3, "turnaround": 120,
                                    "targeting": "omniscient", "policy": "random"}]},
        },
    })


def _neighbour_casualties(scenario: Scenario, seed: int) -> int:
    unit = Sim(scenario, seed=seed).run().summary["units"]["neighbour"]
    return unit["killed"] + unit["wounded"]


@pytest.mark.slow
def test_a_neighbours_spotters_cut_its_casualties_by_more_than_three_se():
    # Same seeds with warnings on (300 m) and off: the neighbour's own soldiers see an FPV
    # only ~40 m out, too late to disperse; the spotters see it ~375 m out and warn.
    on, off = _spotters_ahead(300.0, "disperse"), _spotters_ahead(0.0, "disperse")
    saved = [_neighbour_casualties(off, s) - _neighbour_casualties(on, s) for s in SEEDS]
    mean, se = mean_se(saved)
    assert mean > 3 * se > 0


def test_warnings_change_nothing_when_no_platoon_is_in_range_of_another():
    # Neighbours 250 m apart with a 200 m radius: identical runs, seed for seed.
    near, off = _spotters_ahead(200.0, "disperse"), _spotters_ahead(0.0, "disperse")
    for seed in (1, 2):
        assert _neighbour_casualties(near, seed) == _neighbour_casualties(off, seed)
