"""Lessons files (export, import, the exact round trip) and campaign timelines (deliveries,
technology, and a ledger that accounts for every item)."""

from __future__ import annotations

import ast
import functools
import json
import math
import re

import numpy as np
import pytest

import dronefront
from dronefront.campaign.lessons import lessons_of, read_lessons, write_lessons
from dronefront.campaign.runner import _CampaignState, _template, next_engagement
from dronefront.engine.sim import Sim
from dronefront.errors import UserError
from dronefront.io.rundir import canonical_json
from dronefront.learning.doctrine import DoctrineSpace
from dronefront.scenario.loader import load_scenario, validate

SMALL = [
    "start=2024-12-05",  # the test's own calendar, whatever the calibrated start
    "force.strength=900", "force.battalions=3", "force.assault_size=120",
    "force.companies_per_assault=2", "engagement_overrides.duration=900",
    "evacuation.return_days=200",  # nobody comes back inside the test horizon
]


@functools.lru_cache(maxsize=8)
def _campaign(extra: tuple[str, ...] = (), days: int = 4, seed: int = 3):
    return dronefront.run_campaign("kursk-campaign", seed=seed, overrides=[*SMALL, *extra],
                                   days=days)


# ------------------------------------------------------------------ round trip
def test_exported_lessons_reproduce_the_campaigns_next_engagement(tmp_path):
    days = 3
    file = write_lessons(_campaign(days=days).lessons, tmp_path / "lessons.yaml")
    assert read_lessons(file) == _campaign(days=days).lessons  # the file loses nothing
    scenario, seed = next_engagement("kursk-campaign", file, overrides=SMALL)
    own = _campaign(days=days + 1).engagements.to_pylist()[-1]
    assert own["day"] == days and own["seed"] == seed
    summary = Sim(scenario, seed=seed, events=False).run().summary
    assert canonical_json(summary) == own["summary"]
    # Doctrine and the drone side round-trip: the state restored from the file holds the
    # file's distributions and drone-side state exactly, and the engagement built from it
    # fields the doctrines, targeting policy and decoy commitment the campaign's own did.
    saved = read_lessons(file)
    spec = dronefront.load_campaign("kursk-campaign", SMALL)
    state = _CampaignState(spec, _template(spec), saved.seed, set())
    state.restore(saved)
    again = lessons_of(state)
    assert again.drone_side == saved.drone_side
    assert [b.doctrine for b in again.attacker.battalions] == [
        b.doctrine for b in saved.attacker.battalions]
    assert again.attacker.requires == saved.attacker.requires
    doctrines = ast.literal_eval(own["doctrines"])
    units = scenario.sides.attacker.units
    assert len(units) == len(doctrines)
    for unit, doctrine in zip(units, doctrines, strict=True):
        assert unit.doctrine.spacing == doctrine["spacing"]
        assert unit.doctrine.shooters == doctrine["shooters"]
        assert "+".join(unit.doctrine.drill) == ("" if doctrine["drill"] == "none"
                                                 else doctrine["drill"])
    defender = scenario.sides.defender
    assert defender.drone_doctrine.decoy_commit == saved.drone_side.decoy_commit
    assert {t.policy for t in defender.teams if t.drone.startswith("fpv")} == {own["policy"]}
    # The companies carry the campaign's draws, so the engagement's own import takes the
    # veterans' skills only (it would otherwise draw again, on its own stream).
    assert scenario.lessons.doctrine is False and scenario.lessons.drone_side is False
    # Control: with a green force the same engagement fields different soldiers (whether
    # the fight itself differs depends on whether their skills come into play that day).
    data = scenario.model_dump(mode="json")
    data["lessons"]["veterans"] = 0.0
    green = Sim(validate(data, file="green"), seed=seed, events=False)
    veterans = Sim(scenario, seed=seed, events=False)
    assert not np.array_equal(green.state.soldiers.spotting, veterans.state.soldiers.spotting)


def test_lessons_hold_the_trained_state():
    result = _campaign(days=4)
    lessons = result.lessons
    exp = sorted(e for b in lessons.attacker.battalions for e in b.experience)
    assert len(exp) == result.summary["final_strength"] and exp[-1] > 0
    habit = DoctrineSpace().initial()
    moved = [not np.allclose(b.doctrine[name].probabilities, habit[d])
             for b in lessons.attacker.battalions
             for d, name in enumerate(DoctrineSpace().options)]
    assert any(moved)  # the file holds learned distributions, not the starting habits
    assert sum(b.note is not None for b in lessons.attacker.battalions) == 3  # all fought
    assert lessons.drone_side.stocks["fpv_radio"] == result.daily.column(
        "stock_fpv_radio").to_pylist()[-1]


# ------------------------------------------------------------------ imports
def _lessons_file(tmp_path):
    return write_lessons(_campaign(days=4).lessons, tmp_path / "l.yaml")


def test_engagement_veterans_take_the_files_skills(tmp_path):
    _lessons_file(tmp_path)
    scen = tmp_path / "assault.yaml"
    scen.write_text("extends: kursk-assault\nlessons: {file: l.yaml, veterans: 0.5}\n")
    scenario = load_scenario(scen)
    soldiers = Sim(scenario, seed=1, events=False).state.soldiers
    mine = np.flatnonzero(soldiers.unit == 0)
    lessons = read_lessons(tmp_path / "l.yaml")
    n = round(0.5 * mine.size)
    pool = [e for b in lessons.attacker.battalions for e in b.experience][:n]
    expected = lessons.attacker.skills.spotting(np.array(pool))
    assert np.array_equal(soldiers.spotting[mine[:n]], expected)
    base = Sim(load_scenario("kursk-assault"), seed=1, events=False).state.soldiers
    assert np.array_equal(soldiers.spotting[mine[n:]], base.spotting[mine[n:]])
    assert load_scenario("kursk-assault").model_dump().get("lessons", "absent") == "absent"


def test_campaign_veterans_and_green_replacements(tmp_path):
    file = _lessons_file(tmp_path)
    source = read_lessons(file)
    camp = tmp_path / "c.yaml"
    camp.write_text("extends: kursk-campaign\nlessons: {file: l.yaml, veterans: 0.5}\n")
    # One quiet day (a pause), then replacements arrive on the second.
    extra = [*SMALL, "pauses=[{start: 2024-12-05, end: 2024-12-06}]",
             "reinforcements=[{date: 2024-12-06, count: 900}]"]
    vets = dronefront.run_campaign(str(camp), seed=1, overrides=extra, days=2)
    green = dronefront.run_campaign("kursk-campaign", seed=1, overrides=extra, days=2)
    e_vets, e_green = (r.daily.column("mean_experience").to_pylist() for r in (vets, green))
    assert e_green == [0.0, 0.0]
    assert e_vets[0] > 0 and math.isclose(e_vets[1], e_vets[0] / 2)  # diluted by half
    mixed = vets.lessons.attacker.battalions[0].doctrine["drill"].probabilities
    learned = source.attacker.battalions[0].doctrine["drill"].probabilities
    habit = green.lessons.attacker.battalions[0].doctrine["drill"].probabilities
    assert np.allclose(mixed, 0.5 * np.array(learned) + 0.5 * np.array(habit))


def test_bad_lessons_files_give_one_line_errors(tmp_path):
    file = _lessons_file(tmp_path)
    text = re.sub(r"decoy_commit: .*", "decoy_commit: 1.5", file.read_text())
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(UserError) as err:
        read_lessons(tmp_path / "bad.yaml")
    line = text.splitlines().index("  decoy_commit: 1.5") + 1
    assert (err.value.field, err.value.line) == ("drone_side.decoy_commit", line)
    assert "bad.yaml" in err.value.file
    scen = tmp_path / "s.yaml"
    scen.write_text("extends: kursk-assault\nlessons: missing.yaml\n")
    with pytest.raises(UserError) as err:
        load_scenario(scen)
    assert (err.value.field, err.value.line) == ("lessons", 2) and "s.yaml" in err.value.file
    scen.write_text("extends: kursk-assault\nlessons: ../outside.yaml\n")
    with pytest.raises(UserError):
        load_scenario(scen)
    scen.write_text("extends: kursk-assault\nlessons: {file: l.yaml, veterans: {nobody: 1}}\n")
    with pytest.raises(UserError) as err:
        load_scenario(scen)
    assert err.value.field == "lessons.veterans.nobody"


# ------------------------------------------------------------------ timeline
TIMELINE = (
    "timeline=["
    "{date: 2024-12-07, label: spring deliveries, receive: {fpv_radio: 40, shells: 300}},"
    "{when: 'casualties >= 100', receive: {fpv_fibre: 12}, production: {fpv_fibre: 9}},"
    "{date: 2024-12-08, side: attacker, label: jammer upgrade,"
    " engagement: {sides.attacker.jammers.0.strength: 0.9}}]"
)
STOCKS = ["drone_stocks.fpv_radio.initial=30", "drone_stocks.fpv_fibre.initial=6",
          "engagement_overrides.sides.attacker.jammers.0.strength=0.0"]


def test_timeline_delivers_on_its_dates_and_accounts_for_every_item():
    result = _campaign((*STOCKS, TIMELINE), days=6, seed=2)
    exchange = result.summary["exchange"]
    fired = {e["event"]: e for e in exchange["events"]}
    assert fired[0]["date"] == "2024-12-07" and fired[2]["date"] == "2024-12-08"
    assert 1 in fired and exchange["not_fired"] == []
    for item, entry in exchange["items"].items():
        assert math.isclose(entry["initial"] + entry["produced"] + entry["received"]
                            - entry["spent"], entry["final"], abs_tol=1e-9), item
    daily = result.daily.to_pylist()
    assert [r["timeline_events"] for r in daily] == [
        sum(e["day"] == d for e in fired.values()) for d in range(6)]
    # The delivery day's stock: yesterday's + production + delivery - today's use.
    spent = {r["day"]: r["fpv_sorties"] for r in daily}
    assert spent[2] > 0
    assert daily[2]["stock_fpv_radio"] > daily[1]["stock_fpv_radio"] + 20 - spent[2]
    assert exchange["items"]["fpv_radio"]["received"] == 40
    assert exchange["items"]["shells"]["received_cost_usd"] == 300 * 1000.0
    assert exchange["sides"]["attacker"]["technology"] == 1
    assert exchange["sides"]["defender"]["received"]["fpv_fibre"] == 12
    # The jammer upgrade: no radio FPV is jammed before its date, some are after.
    jammed = {r["day"]: r["fpv_jammed"] for r in daily}
    assert sum(jammed[d] for d in range(3)) == 0 and sum(jammed[d] for d in (3, 4, 5)) > 0


def test_timeline_condition_fires_when_it_first_holds():
    result = _campaign((*STOCKS, TIMELINE), days=6, seed=2)
    event = next(e for e in result.summary["exchange"]["events"] if e["event"] == 1)
    cumulative = result.daily.column("cumulative_casualties").to_pylist()
    day = event["day"]
    assert day > 0 and cumulative[day - 1] >= 100 and (day == 1 or cumulative[day - 2] < 100)
    assert event["received"] == {"fpv_fibre": 12} and event["trigger"] == "casualties >= 100"
    assert json.dumps(result.summary["exchange"])  # the summary stays JSON


def test_timeline_errors_name_the_field():
    with pytest.raises(UserError) as err:
        dronefront.run_campaign("kursk-campaign", overrides=[
            "start=2024-12-05", "timeline=[{date: 2024-12-07, receive: {tanks: 3}}]"], days=1)
    assert err.value.field == "timeline.0.receive.tanks"
    with pytest.raises(UserError) as err:
        dronefront.load_campaign("kursk-campaign", [
            "timeline=[{when: 'stock.fpv_radio ~ 3', receive: {shells: 1}}]"])
    assert err.value.field == "timeline.0.when"
    with pytest.raises(UserError) as err:
        dronefront.load_campaign("kursk-campaign", [
            "timeline=[{date: 2030-01-01, receive: {shells: 1}}]"])
    assert "timeline.0.date" in (err.value.field or "") + err.value.message
