"""Counter-drone fire shot by shot and drills as ordered steps (docs/model.md §10)."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.sim import Sim
from dronefront.engine.stages.counterdrone import Guns, _shot_p
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import DEFAULT_WEAPONS, Scenario
from tests.conftest import mean_se

U = "sides.attacker.units.0."


def _guns(speed_factor: float = 1.0) -> tuple:
    classes = list(DEFAULT_WEAPONS.values())
    return Guns(
        rate=np.array([w.rate / 60 for w in classes]),
        hit_prob=np.array([w.hit_prob for w in classes]),
        reference_range=np.array([w.reference_range for w in classes]),
        range_exponent=np.array([w.range_exponent for w in classes]),
        max_range=np.array([w.max_range for w in classes]),
        drone_factor=np.array([[speed_factor ** w.speed_exponent] for w in classes]))


RIFLE, SHOTGUN = list(DEFAULT_WEAPONS).index("rifle"), list(DEFAULT_WEAPONS).index("shotgun")


def test_per_shot_hit_probability_falls_with_range_and_speed_and_rises_with_skill():
    g = _guns()
    for c in (RIFLE, SHOTGUN):
        near, far = _shot_p(c, 0, 20.0, 1.0, g, 1.0), _shot_p(c, 0, 45.0, 1.0, g, 1.0)
        assert near > far > 0
        assert _shot_p(c, 0, 45.0, 1.5, g, 1.0) > far  # skill
        assert _shot_p(c, 0, 45.0, 1.0, _guns(0.5), 1.0) < far  # a faster drone
    # the shotgun's falls more steeply: ahead close in, behind at the rifle's longer ranges
    assert _shot_p(SHOTGUN, 0, 20.0, 1.0, g, 1.0) > _shot_p(RIFLE, 0, 20.0, 1.0, g, 1.0)
    assert _shot_p(SHOTGUN, 0, 45.0, 1.0, g, 1.0) < 2 * _shot_p(RIFLE, 0, 45.0, 1.0, g, 1.0)


def _range(distance: float, weapon: str, ammunition: int | None = None) -> Scenario:
    """A halted squad of five shooters and a small quadcopter hovering ``distance`` m off."""
    weapons = {} if ammunition is None else {
        weapon: {**DEFAULT_WEAPONS[weapon].model_dump(), "ammunition": ammunition}}
    return Scenario.model_validate({
        "name": "range", "dt": 5.0, "duration": 300.0,
        "terrain": {"bounds": [-500, -500, 500, 500], "default": "open"},
        "counter_drone": {"weapons": weapons, "detect_prob": 1.0},
        "drone_types": {"hover": {"role": "isr", "speed": 15.0, "endurance": 1800.0,
                                  "altitude": 5.0, "link_range": 5000.0, "sensor_range": 0.0,
                                  "sensor_detect_prob": 0.0, "signature_range": 250.0,
                                  "cost": 2000.0, "failure_prob": 0.0}},
        "sides": {
            "attacker": {"units": [{
                "name": "squad", "count": 5, "start": [0, 0], "posture": "halted",
                "doctrine": {"formation": "line", "spacing": 2, "drill": ["engage"],
                             "shooters": 5, "shooter_weapon": weapon},
                "skills": {"spotting": 1.0, "marksmanship": 0.3}}]},
            "defender": {"teams": [{"drone": "hover", "count": 1, "position": [4.0, distance],
                                    "station": [4.0, distance], "inventory": 1}]},
        },
    })


def _downed(scenario: Scenario, seeds=range(1, 31)) -> float:
    return float(np.mean([Sim(scenario, seed=s).run().summary["sides"]["attacker"]
                          ["drones_shot_down"] for s in seeds]))


def _rounds_to_down(scenario: Scenario, seeds=range(1, 31)) -> float:
    """Mean rounds the squad fired before the hovering drone fell (all seeds fell)."""
    rounds = []
    for s in seeds:
        side = Sim(scenario, seed=s).run().summary["sides"]["attacker"]
        assert side["drones_shot_down"] == 1
        rounds.append(side["munitions"]["counterdrone_shots"])
    return float(np.mean(rounds))


@pytest.mark.slow
def test_shotguns_beat_rifles_close_in_and_rifles_win_further_out():
    close_shotgun = _rounds_to_down(_range(12.0, "shotgun"))
    close_rifle = _rounds_to_down(_range(12.0, "rifle"))
    assert close_shotgun < 0.7 * close_rifle
    far_shotgun, far_rifle = _downed(_range(80.0, "shotgun")), _downed(_range(80.0, "rifle"))
    assert far_shotgun == 0  # beyond its effective range
    assert far_rifle > 0.5


def test_ammunition_runs_out_and_rounds_are_counted():
    result = Sim(_range(150.0, "rifle", ammunition=4), seed=1).run()
    side = result.summary["sides"]["attacker"]
    assert side["munitions"]["counterdrone_shots"] == 5 * 4  # every shooter emptied
    assert side["drones_shot_down"] == 0 or sum(side["shoot_downs_by_weapon"].values()) == 1


@pytest.mark.slow
def test_trained_riflemen_down_some_drones_but_not_nearly_all():
    scenario = load_scenario("fpv-drill", [f"{U}doctrine.shooter_weapon=rifle"])
    shares = []
    for seed in range(1, 11):
        s = Sim(scenario, seed=seed).run().summary
        launched = s["drones"]["defender"]["fpv_radio"]["launched"]
        shares.append(s["sides"]["attacker"]["drones_shot_down"] / launched)
    assert 0.05 < np.mean(shares) < 0.5


def _per_sortie(overrides: list[str], seed: int) -> float:
    s = Sim(load_scenario("fpv-drill", overrides), seed=seed).run().summary
    return s["sides"]["attacker"]["casualties"] / s["drones"]["defender"]["fpv_radio"]["launched"]


@pytest.mark.slow
def test_decoy_and_shoot_with_trained_shooters_beats_engage_alone():
    seeds = range(1, 41)
    saved = [_per_sortie([f"{U}doctrine.drill=[engage]"], s)
             - _per_sortie([f"{U}doctrine.drill=[decoy,engage]"], s) for s in seeds]
    mean, se = mean_se(saved)
    assert mean > 3 * se > 0


def test_drill_order_matters():
    # With 10 s between steps, [freeze, engage] fires two steps later than [engage, freeze].
    base = [f"{U}doctrine.drill_interval=10"]
    a = [Sim(load_scenario("fpv-drill", [*base, f"{U}doctrine.drill=[freeze,engage]"]),
             seed=s).run().summary for s in (1, 2, 3)]
    b = [Sim(load_scenario("fpv-drill", [*base, f"{U}doctrine.drill=[engage,freeze]"]),
             seed=s).run().summary for s in (1, 2, 3)]
    assert a != b
    shots = [sum(x["sides"]["attacker"]["munitions"]["counterdrone_shots"] for x in y)
             for y in (a, b)]
    assert shots[0] < shots[1]


def test_a_ground_step_puts_the_platoon_prone_but_its_shooters_stay_up():
    scenario = load_scenario("fpv-drill", [f"{U}doctrine.drill=[ground,engage]"])
    sim = Sim(scenario, seed=1)
    state = sim.state
    prone_others, prone_shooters = [], []
    for _ in range(scenario.steps):
        sim.step()
        if (state.platoons.grounded_until > state.step).any():
            healthy = state.soldiers.status == 0
            shooters = state.soldiers.role == 2
            prone = state.soldiers.posture == 4
            prone_others.append(prone[healthy & ~shooters].mean())
            prone_shooters.append(prone[healthy & shooters].mean())
    assert prone_others and np.mean(prone_others) > 0.9
    assert np.mean(prone_shooters) < 0.5


def test_per_shot_fire_is_deterministic():
    scenario = load_scenario("fpv-drill", [f"{U}doctrine.drill=[decoy,engage]"])
    one, two = Sim(scenario, seed=4).run(), Sim(scenario, seed=4).run()
    assert one.summary == two.summary
    assert one.events.to_pandas().equals(two.events.to_pandas())


def test_fire_mode_changes_nothing_when_nobody_shoots():
    # Counter-drone fire off (no shooters): per-shot and per-step runs are identical.
    off = [f"{U}doctrine.shooters=0", f"{U}doctrine.drill=[freeze]"]
    for seed in (1, 2):
        a = Sim(load_scenario("fpv-drill", off), seed=seed).run().summary
        b = Sim(load_scenario("fpv-drill", [*off, "counter_drone.fire=per_step"]),
                seed=seed).run().summary
        for side in a["sides"].values():
            assert side.pop("shoot_downs_by_weapon") == {"rifle": 0, "machine_gun": 0,
                                                         "shotgun": 0}
        assert a == b


DUMMY = [f"{U}doctrine.drill=[decoy,engage]", f"{U}doctrine.decoy_kind=dummy"]


def test_a_dummy_costs_no_soldier_and_draws_the_strike_onto_itself():
    committed_strikes = 0
    for seed in (1, 2, 3):
        sim = Sim(load_scenario("fpv-drill", DUMMY), seed=seed)
        roles = sim.state.soldiers.role.copy()
        result = sim.run()
        ev = result.events.to_pandas()
        decoys = ev[ev["kind"] == "decoy"]
        assert len(decoys) > 0
        assert (decoys["target"] == -1).all()  # nobody is made bait
        assert (result.state.soldiers.role == roles).all()  # nobody becomes a decoy runner
        strikes = ev[ev["kind"] == "strike"].set_index("actor")
        for actor, row in decoys.set_index("actor").iterrows():
            if actor not in strikes.index:
                continue  # shot down, jammed or out of battery first
            hit = strikes.loc[[actor]].iloc[0]
            assert hit["target"] == -1
            # The blast lands at the dummy, within a few aim errors (fpv_radio: 1.5 m).
            assert np.hypot(hit["x"] - row["x"], hit["y"] - row["y"]) < 10.0
            committed_strikes += 1
    assert committed_strikes > 0


def test_the_dummy_is_off_by_default_and_soldier_bait_is_unchanged():
    scenario = load_scenario("fpv-drill", [f"{U}doctrine.drill=[decoy,engage]"])
    assert scenario.sides.attacker.units[0].doctrine.decoy_kind == "soldier"
    explicit = load_scenario("fpv-drill", [f"{U}doctrine.drill=[decoy,engage]",
                                           f"{U}doctrine.decoy_kind=soldier"])
    assert Sim(scenario, seed=2).run().summary == Sim(explicit, seed=2).run().summary
    decoys = Sim(scenario, seed=2).run().events.to_pandas().query("kind == 'decoy'")
    assert (decoys["target"] >= 0).all()


def test_a_bad_decoy_kind_is_the_one_line_error_naming_the_field():
    from dronefront.errors import UserError
    with pytest.raises(UserError, match="decoy_kind"):
        load_scenario("fpv-drill", [f"{U}doctrine.decoy_kind=scarecrow"])


@pytest.mark.slow
def test_decoy_and_shoot_with_a_dummy_still_pays_with_trained_shooters():
    seeds = range(1, 31)
    saved = [_per_sortie([f"{U}doctrine.drill=[engage]"], s) - _per_sortie(DUMMY, s)
             for s in seeds]
    mean, se = mean_se(saved)
    assert mean > 3 * se > 0
