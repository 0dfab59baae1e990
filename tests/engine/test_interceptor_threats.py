"""Interceptor drones under hostile jamming and small-arms fire (docs/model.md §12a)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from dronefront.engine.sim import Sim
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import Scenario
from tests.conftest import mean_se

LAYERED = "layered-defence"


def contest(jammer_strength: float = 0.0, drill: list[str] | None = None,
            engage_interceptors: bool = True, link: str = "radio",
            signature: float = 200.0, fire: str = "per_shot",
            weapon: str = "rifle", link_resistance: float = 0.0,
            autonomy_range: float = 0.0) -> Scenario:
    """FPV teams 3 km north of a defended line strike it; the line's interceptors, 500 m
    behind it, meet them over an attacking rifle platoon dug in 1.9 km north, whose shooters
    engage drones with ``drill``; attacker jammers of ``jammer_strength`` cover that
    airspace (strength 0: none). ``weapon`` ``cannon`` is a test class that hits a fast
    interceptor far more often than a rifle does."""
    attacker: dict[str, Any] = {
        "units": [{"name": "escort", "count": 30, "start": [0, 1900], "posture": "dug_in",
                   "doctrine": {"formation": "line", "spacing": 5, "spotters": 3,
                                "everyone_shoots": True, "weapon": weapon,
                                "drill": ["engage"] if drill is None else drill},
                   "skills": {"spotting": 1.0, "marksmanship": 0.3}}],
        "teams": [{"drone": "fpv_radio", "count": 4, "position": [0, 3000], "inventory": 6,
                   "turnaround": 60, "targeting": "omniscient", "policy": "random"}],
    }
    if jammer_strength > 0:
        attacker["jammers"] = [{"name": "screen", "position": [0, 1500], "radius": 1500,
                                "strength": jammer_strength}]
    return Scenario.model_validate({
        "name": "interceptor-contest", "dt": 5.0, "duration": 1200.0,
        "terrain": {"bounds": [-1500, -1500, 1500, 4000], "default": "open"},
        "counter_drone": {
            "fire": fire, "engage_interceptors": engage_interceptors,
            "weapons": {"cannon": {"rate": 60, "ammunition": 2000, "hit_prob": 0.2,
                                   "reference_range": 100, "range_exponent": 1,
                                   "max_range": 400, "speed_exponent": 0, "size_exponent": 0}}},
        "drone_types": {"interceptor": {
            "role": "interceptor", "speed": 80, "link_resistance": link_resistance,
            "autonomy_range": autonomy_range, "endurance": 600, "altitude": 30,
            "link": link, "link_range": 10000, "sensor_range": 0, "sensor_detect_prob": 0,
            "signature_range": signature, "cost": 2500, "terminal_miss": 0.3,
            "intercept_range": 3000}},
        "sides": {
            "attacker": attacker,
            "defender": {
                "units": [{"name": "line", "count": 30, "start": [0, 0], "posture": "dug_in",
                           "doctrine": {"formation": "line", "spacing": 5, "drill": []}}],
                "teams": [{"drone": "interceptor", "count": 2, "position": [0, -500],
                           "inventory": 12, "turnaround": 30}],
            },
        },
    })


SEEDS = range(1, 21)


def _runs(scenario: Scenario, seeds=SEEDS, events: bool = False) -> list:
    return [Sim(scenario, seed, events=events).run() for seed in seeds]


def _tally(result, side: str, name: str) -> int:
    return result.summary["layers"][side][name]


def test_jammers_on_the_interceptors_path_cut_their_intercepts_by_a_clear_margin():
    clear, jammed = _runs(contest()), _runs(contest(jammer_strength=0.3))
    cut = [_tally(a, "defender", "intercepts") - _tally(b, "defender", "intercepts")
           for a, b in zip(clear, jammed, strict=True)]
    mean, se = mean_se(cut)
    assert mean > 3 * se > 0
    assert sum(_tally(r, "attacker", "interceptors_jammed") for r in clear) == 0
    for r in jammed:  # each link loss is the interceptor's fate, tallied by the jamming side
        fates = r.summary["drones"]["defender"]["interceptor"]
        assert fates["jammed"] == _tally(r, "attacker", "interceptors_jammed")
    assert sum(_tally(r, "attacker", "interceptors_jammed") for r in jammed) > 5 * len(SEEDS)


def test_jam_losses_are_logged_where_the_jammers_reach():
    ev = _runs(contest(jammer_strength=0.3), range(1, 4), events=True)
    for r in ev:
        e = r.events.to_pandas()
        lost = e[(e["kind"] == "jam_loss") & (e["weapon"] == "interceptor")]
        assert len(lost) == _tally(r, "attacker", "interceptors_jammed") > 0
        assert (lost["cause"] == "jamming").all()
        # the screen covers 1500 m round (0, 1500)
        assert (np.hypot(lost["x"], lost["y"] - 1500.0) <= 1500.0 + 1e-3).all()


def test_a_fibre_interceptor_is_untouched_by_jammers_seed_for_seed():
    # The attacker's jammers act on nothing else here (its own drones are not jammed by them).
    for a, b in zip(_runs(contest(link="fibre"), range(1, 4)),
                    _runs(contest(link="fibre", jammer_strength=0.3), range(1, 4)),
                    strict=True):
        assert a.summary["drones"] == b.summary["drones"]
        assert a.summary["units"] == b.summary["units"]


def test_full_link_resistance_and_an_autonomous_hunt_shrug_the_jamming_off():
    resistant = _runs(contest(jammer_strength=0.3, link_resistance=1.0), range(1, 6))
    assert sum(_tally(r, "attacker", "interceptors_jammed") for r in resistant) == 0
    plain = _runs(contest(jammer_strength=0.3))
    # autonomous within 3 km of its quarry: only legs home without a quarry stay jammable
    auto = _runs(contest(jammer_strength=0.3, autonomy_range=3000.0))
    lost = [_tally(a, "attacker", "interceptors_jammed")
            - _tally(b, "attacker", "interceptors_jammed") for a, b in zip(plain, auto,
                                                                          strict=True)]
    mean, se = mean_se(lost)
    assert mean > 3 * se > 0


@pytest.mark.parametrize("fire", ["per_shot", "per_step"])
def test_interceptors_are_shot_down_only_where_the_hunted_side_engages(fire):
    engaging = _runs(contest(weapon="cannon", fire=fire), range(1, 41))
    idle = _runs(contest(weapon="cannon", fire=fire, drill=["freeze"]), range(1, 41))
    unseen = _runs(contest(weapon="cannon", fire=fire, engage_interceptors=False),
                   range(1, 6))
    downs = [_tally(r, "attacker", "interceptors_shot_down") for r in engaging]
    assert sum(_tally(r, "attacker", "interceptors_shot_down") for r in idle + unseen) == 0
    mean, se = mean_se(downs)
    assert mean > 3 * se > 0
    for r in engaging:  # counted apart from the drones the soldiers' own side lost
        assert r.summary["drones"]["defender"]["interceptor"]["shot_down"] == \
            _tally(r, "attacker", "interceptors_shot_down")


def test_shoot_downs_of_interceptors_are_logged_as_small_arms_kills():
    r = Sim(contest(weapon="cannon", fire="per_step"), 2, events=True).run()
    e = r.events.to_pandas()
    down = e[(e["kind"] == "shoot_down") & (e["weapon"] == "interceptor")]
    assert len(down) == _tally(r, "attacker", "interceptors_shot_down") > 0
    assert (down["cause"] == "small_arms").all()
    shot = e[(e["kind"] == "shot") & (e["side"] == "attacker")]
    assert set(down["actor"]) <= set(shot["actor"])


def test_an_unseeable_interceptor_and_an_ignored_one_give_identical_runs():
    # Seeing nothing, the interceptor machinery of the counter-drone stage moves no draw.
    for a, b in zip(_runs(contest(signature=0.0), range(1, 4)),
                    _runs(contest(engage_interceptors=False), range(1, 4)), strict=True):
        assert a.summary == b.summary


def test_layered_defence_with_both_mechanics_off_is_unchanged():
    # The attacker of layered-defence has no jammers and no soldiers: switching both
    # mechanics off (fibre interceptors, unseen) must leave the run exactly as it is.
    on = Sim(load_scenario(LAYERED, ["duration=1200"]), 1, events=True).run()
    off = Sim(load_scenario(LAYERED, ["duration=1200", "counter_drone.engage_interceptors=false",
                                      "drone_types.interceptor_fpv.link=fibre"]),
              1, events=True).run()
    assert on.summary == off.summary and on.summary["layers"]["defender"]["intercepts"] > 0
    assert on.events.to_pandas().equals(off.events.to_pandas())
