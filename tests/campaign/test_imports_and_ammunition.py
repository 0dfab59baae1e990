"""An engagement's import applies the whole lessons file (veteran platoons' doctrine, the
drone side's adapted state), old files still load, and the attacker's counter-drone
ammunition is a campaign stock that deliveries refill and the ledger accounts for."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import dronefront
from dronefront.campaign.lessons import (
    FORMAT,
    best_policy,
    read_lessons,
    write_lessons,
)
from dronefront.engine.sim import Sim
from dronefront.engine.state import SHOOTER, unit_loads
from dronefront.errors import UserError
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import DEFAULT_WEAPONS

SMALL = [
    "start=2024-12-05", "force.strength=900", "force.battalions=3", "force.assault_size=120",
    "force.companies_per_assault=2", "engagement_overrides.duration=900",
    "evacuation.return_days=200",
]
SHIPPED = "src/dronefront/scenario/builtin/lessons/kursk-veterans.yaml"


@functools.lru_cache(maxsize=4)
def _lessons():
    return dronefront.run_campaign("kursk-campaign", seed=3, overrides=SMALL, days=4).lessons


def _file(tmp_path):
    return write_lessons(_lessons(), tmp_path / "l.yaml")


def _scenario(tmp_path, lessons: str, extra: str = ""):
    scen = tmp_path / "s.yaml"
    scen.write_text(f"extends: kursk-assault\nlessons: {lessons}\n{extra}")
    return load_scenario(scen)


def _platoon_rows(state, g: int) -> tuple:
    p = state.platoons
    s = state.soldiers
    return (p.freeze[g], p.disperse[g], p.engage[g], p.decoy[g], p.discipline[g], p.pace[g],
            tuple(state.drill.offset[g]), tuple(s.role[s.platoon == g]),
            tuple(s.ox[s.platoon == g]))


# ------------------------------------------------------------------ doctrine
def test_veteran_platoons_take_a_doctrine_from_the_file_green_ones_keep_their_orders(
        tmp_path):
    _file(tmp_path)
    # kursk-assault's attackers: platoons of 30; 40 % veterans fill the first platoons.
    scenario = _scenario(tmp_path, "{file: l.yaml, veterans: 0.4}")
    unit = scenario.sides.attacker.units[0]
    state = Sim(scenario, seed=5, events=False).state
    base = Sim(load_scenario("kursk-assault"), seed=5, events=False).state
    n_v = round(0.4 * unit.count)
    size = unit.platoon_size
    att = np.flatnonzero(state.platoons.side == 0)
    veteran = [g for g in att if 2 * min(max(n_v - g * size, 0), size) >= size
               and n_v - g * size > 0]
    assert 0 < len(veteran) < att.size
    for g in att:
        if g not in veteran:  # green platoons: the unit's own orders, exactly
            assert _platoon_rows(state, g) == _platoon_rows(base, g)
    # Veteran platoons' spacing and drill are one of the file's options each.
    space = _lessons().attacker.battalions[0].doctrine
    for g in veteran:
        ox = np.sort(np.unique(np.round(state.soldiers.ox[state.soldiers.platoon == g], 6)))
        assert min(np.diff(ox)) in space["spacing"].options
    # doctrine: false keeps every platoon's orders; the same seed draws the same doctrines.
    off = Sim(_scenario(tmp_path, "{file: l.yaml, veterans: 0.4, doctrine: false}"), seed=5,
              events=False).state
    assert all(_platoon_rows(off, g) == _platoon_rows(base, g) for g in att)
    again = Sim(scenario, seed=5, events=False).state
    assert all(_platoon_rows(again, g) == _platoon_rows(state, g) for g in att)


def test_veteran_doctrines_follow_the_files_distribution(tmp_path):
    """100 veteran platoons of one battalion: the share drilling to engage matches the
    file's probability of an engaging drill (binomial, 4 SE), and every doctrine is
    coherent (an engaging drill has shooters, any other none)."""
    lessons = _lessons()
    write_lessons(lessons, tmp_path / "l.yaml")
    extra = ("overrides:\n  sides.attacker.units.0.count: 3000\n"
             "  sides.attacker.units.0.layout.columns: 10\n")
    scenario = _scenario(tmp_path, "{file: l.yaml, veterans: 1.0, battalion: 1}", extra)
    state = Sim(scenario, seed=2, events=False).state
    att = np.flatnonzero(state.platoons.side == 0)
    assert att.size == 100
    drill = lessons.attacker.battalions[1].doctrine["drill"]
    p = sum(q for o, q in zip(drill.options, drill.probabilities, strict=True)
            if "engage" in o)
    engage = state.platoons.engage[att]
    assert abs(engage.mean() - p) <= 4 * math.sqrt(p * (1 - p) / att.size) + 1e-9
    shooters = np.array([(state.soldiers.role[state.soldiers.platoon == g] == SHOOTER).sum()
                         for g in att])
    assert np.all((shooters > 0) == engage)


def test_a_drill_against_drones_the_enemy_does_not_fly_never_triggers(tmp_path):
    _file(tmp_path)
    scenario = _scenario(tmp_path, "{file: l.yaml, veterans: 1.0}",
                         "overrides:\n  sides.defender.teams: []\n")
    result = Sim(scenario, seed=1, events=False).run()
    assert result.state.platoons.engage[result.state.platoons.side == 0].any()
    att = result.summary["sides"]["attacker"]
    assert att["drones_detected"] == 0 and att["munitions"]["counterdrone_shots"] == 0
    assert int(result.state.soldiers.encounters.sum()) == 0


# ------------------------------------------------------------------ drone side
def test_drone_side_state_applies_to_the_defenders_teams_on_request(tmp_path):
    lessons = _lessons()
    _file(tmp_path)
    side = lessons.drone_side
    own = Sim(_scenario(tmp_path, "l.yaml"), seed=1, events=False).scenario
    assert own.sides.defender.drone_doctrine.decoy_commit == 0.7  # default: the enemy's own
    sim = Sim(_scenario(tmp_path, "{file: l.yaml, drone_side: true}"), seed=1, events=False)
    defender = sim.scenario.sides.defender
    assert defender.drone_doctrine.decoy_commit == side.decoy_commit
    policy = best_policy(side)
    assert policy == max(side.policy_means, key=side.policy_means.get)
    types = sim.scenario.all_drone_types()
    attack = [t for t in defender.teams if types[t.drone].role in ("fpv", "bomber", "loitering")]
    assert attack and all(t.policy == policy for t in attack)
    fpv = {t.drone: t.count for t in defender.teams if types[t.drone].role == "fpv"}
    before = {t.drone: t.count for t in own.sides.defender.teams
              if types[t.drone].role == "fpv"}
    if "fpv_fibre" in before and "fpv_radio" in before:
        assert fpv.get("fpv_fibre", 0) == round(sum(before.values()) * side.fibre_share)
    assert sum(fpv.values()) == sum(before.values())
    assert sim.state.drones.policy.size  # the state is built from the changed scenario


def _format_one(tmp_path):
    """The shipped file as a format-1 file wrote it: no coherence rules, no ammunition,
    and no ``side`` on the drone side's state."""
    data = yaml.safe_load(Path(SHIPPED).read_text())
    data["format"] = "dronefront-lessons/1"
    for key in ("requires", "ammunition"):
        data["attacker"].pop(key, None)
    data["drone_side"].pop("side", None)
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_old_format_files_load_and_apply_and_bad_input_names_the_field(tmp_path):
    old = read_lessons(_format_one(tmp_path))
    assert old.format == "dronefront-lessons/1" and old.attacker.requires is None
    assert old.attacker.battalions == read_lessons(SHIPPED).attacker.battalions
    assert _lessons().format == FORMAT == "dronefront-lessons/2"
    # The old file applies as the new one does: the same veterans' doctrines, which are
    # not the scenario's own orders.
    drills = []
    for overrides in ([f"lessons.file={_format_one(tmp_path)}"], [],
                      ["lessons.doctrine=false"]):
        p = Sim(load_scenario("fortified-line-breach-veterans", overrides), seed=1,
                events=False).state.platoons
        drills.append(np.stack([p.freeze, p.disperse, p.engage, p.decoy])[:, p.side == 0])
    assert np.array_equal(drills[0], drills[1]) and not np.array_equal(drills[1], drills[2])
    _file(tmp_path)
    text = (tmp_path / "l.yaml").read_text().replace("side: defender", "side: attacker")
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(UserError) as err:
        read_lessons(tmp_path / "bad.yaml")
    assert err.value.field == "drone_side.side" and err.value.line
    (tmp_path / "bad.yaml").write_text(text.replace("side: attacker", "side: defender")
                                       .replace("allowed: [2, 4, 8]", "allowed: [2, 4, 99]"))
    with pytest.raises(UserError) as err:
        read_lessons(tmp_path / "bad.yaml")
    assert err.value.field == "attacker.requires" and err.value.line
    (tmp_path / "s.yaml").write_text(
        "extends: kursk-assault\nlessons: {file: l.yaml, drone_side: maybe}\n")
    with pytest.raises(UserError) as err:
        load_scenario(tmp_path / "s.yaml")
    assert (err.value.field, err.value.line) == ("lessons.drone_side", 2)


# ------------------------------------------------------------------ ammunition
AMMO = [
    *SMALL,
    # Every company engages with trained shooters, so rounds are fired from day one.
    "learning.attacker.doctrine.habit.drill=engage",
    "learning.attacker.doctrine.habit_weight=1.0",
    "learning.attacker.skills.marksmanship.start=0.3",
    # One round each for the 120 riflemen of the first assault (a proportional issue of
    # 150 rounds against 10,800), none once fewer than 120 are left; 20,000 on day 4.
    "ammunition.rifle.initial=150",
    "timeline=[{date: 2024-12-09, side: attacker, label: rifle rounds,"
    " receive: {ammunition.rifle: 20000}}]",
]


@functools.lru_cache(maxsize=8)
def _ammo_campaign(seed: int):
    return dronefront.run_campaign("kursk-campaign", seed=seed, overrides=AMMO, days=7)


def test_unit_loads_are_what_the_engine_issues():
    scenario = load_scenario("fortified-line-breach-green")
    state = Sim(scenario, seed=1, events=False).state
    names = state.arms.names
    for u, unit in enumerate(scenario.sides.attacker.units):
        mine = state.soldiers.unit == u
        loads = unit_loads(unit, scenario.all_weapons())
        got = {names[k]: int(state.arms.rounds[mine & (state.arms.weapon == k)].sum())
               for k in range(len(names))}
        assert {k: v for k, v in got.items() if v} == {k: t for k, (_, t) in loads.items()}
    issued = load_scenario("kursk-assault", ["sides.attacker.units.0.ammunition={rifle: 7}"])
    state = Sim(issued, seed=1, events=False).state
    rifle = names.index("rifle")
    mine = (state.soldiers.unit == 0) & (state.arms.weapon == rifle)
    assert mine.any() and np.all(state.arms.rounds[mine] == 7)
    assert DEFAULT_WEAPONS["rifle"].ammunition != 7


def test_shoot_downs_stop_when_rounds_run_out_and_recover_after_a_delivery():
    dry_days = supplied_downs = dry_downs = 0
    for seed in (1, 2, 3, 4):
        result = _ammo_campaign(seed)
        daily = result.daily.to_pylist()
        stock = 150.0
        for row in daily:
            if row["day"] == 4:
                stock += 20000
            # What a day may fire is what its morning's stock holds.
            assert row["rounds_fired"] <= stock
            if stock < 120:  # floor(90 * stock / (120 * 90)) = 0 rounds each
                dry_days += 1
                dry_downs += row["shoot_downs"]
                assert row["rounds_fired"] == 0
            elif row["day"] >= 4:
                supplied_downs += row["shoot_downs"]
            if stock < 120 * 90:  # less than a full issue: the assault was short
                assert row["supply_short"] >= 1
            stock -= row["rounds_fired"]
            assert row["stock_ammunition_rifle"] == stock
        item = result.summary["exchange"]["items"]["ammunition.rifle"]
        assert item["received"] == 20000 and item["spent"] == sum(
            r["rounds_fired"] for r in daily)
        assert math.isclose(item["initial"] + item["produced"] + item["received"]
                            - item["spent"], item["final"])
        assert result.summary["exchange"]["sides"]["attacker"]["spent"] == {
            "ammunition.rifle": item["spent"]}
        assert "ammunition.rifle" not in result.summary["exchange"]["sides"]["defender"][
            "spent"]
        assert result.lessons.attacker.ammunition == {"rifle": item["final"]}
    assert dry_days >= 2  # the stock ran dry on some days of some seeds
    assert dry_downs == 0 and supplied_downs > 0


def test_a_campaign_without_ammunition_stocks_keeps_its_columns():
    result = dronefront.run_campaign("kursk-campaign", seed=1, overrides=SMALL, days=1)
    assert "rounds_fired" not in result.daily.column_names
    assert not any(c.startswith("stock_ammunition") for c in result.daily.column_names)
    assert "ammunition" not in result.campaign.model_dump(mode="json")


def test_ammunition_errors_name_the_field():
    with pytest.raises(UserError) as err:
        dronefront.run_campaign("kursk-campaign", overrides=[*SMALL, "ammunition.laser.initial=5"],
                                days=1)
    assert err.value.field == "ammunition.laser"
    with pytest.raises(UserError) as err:
        dronefront.load_campaign("kursk-campaign", [
            "timeline=[{date: 2024-12-07, receive: {ammunition.rifle: 5}}]"])
    assert "ammunition.rifle" in (err.value.field or "") + err.value.message
    with pytest.raises(UserError) as err:
        dronefront.load_campaign("kursk-campaign", [
            "timeline=[{date: 2024-12-07, side: attacker, receive: {shells: 5}}]"])
    assert "shells" in (err.value.field or "") + err.value.message
    with pytest.raises(UserError) as err:
        dronefront.run_campaign("kursk-campaign", overrides=[
            *SMALL, "timeline=[{date: 2024-12-07, side: attacker,"
            " receive: {ammunition.rifle: 5}}]"], days=1)
    assert err.value.field == "timeline.0.receive.ammunition.rifle"
    with pytest.raises(UserError) as err:
        load_scenario("kursk-assault", ["sides.attacker.units.0.ammunition={laser: 3}"])
    assert "ammunition.laser" in (err.value.field or "") + err.value.message
