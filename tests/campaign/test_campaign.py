"""Campaign bookkeeping: conservation, stocks, spending, determinism, captured notes."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import dronefront
from dronefront.engine.state import LOST_FATES
from dronefront.errors import UserError

SMALL = [
    "start=2024-12-05",  # the test's own calendar, whatever the calibrated start
    "force.strength=900", "force.battalions=3", "force.assault_size=120",
    "force.companies_per_assault=2", "engagement_overrides.duration=1200",
    "drone_stocks.fpv_radio.initial=12", "drone_stocks.fpv_radio.production_per_day=4",
    "shells.initial=30", "shells.production_per_day=5",
    "reinforcements=[{date: 2024-12-08, count: 50}]", "evacuation.return_days=2",
]


@functools.lru_cache(maxsize=8)
def small_campaign(seed: int = 1, no_learning: tuple[str, ...] = ()):
    return dronefront.run_campaign("kursk-campaign", seed=seed, overrides=SMALL, days=8,
                                   no_learning=no_learning)


def test_strength_identity_holds_every_day():
    d = small_campaign().daily.to_pandas()
    initial = 900
    expected = (initial + d.cumulative_replacements + d.cumulative_returned
                - d.cumulative_killed - d.cumulative_evacuated)
    assert (d.strength == expected).all()
    assert d.cumulative_returned.iloc[-1] > 0, "some lightly wounded must come back"
    assert d.cumulative_replacements.iloc[-1] == 50
    assert (d.casualties == d.killed + d.wounded).all()


def test_stocks_never_negative_and_spending_adds_up():
    result = small_campaign()
    d = result.daily.to_pandas()
    assert (d.stock_fpv_radio >= 0).all() and (d.shells_stock >= 0).all()
    assert d.stock_fpv_radio.min() < 12, "the small stock must actually be drawn down"
    engagements = result.engagements.to_pylist()
    total = 0.0
    for row in engagements:
        summary = json.loads(row["summary"])
        types = summary["drones"]["defender"]
        # unit costs x items used: rebuild from fates and the scenario's type costs
        for name, fates in types.items():
            lost = sum(fates[f] for f in LOST_FATES)
            assert fates["cost_lost"] == pytest.approx(lost * _cost(name))
            total += fates["cost_lost"]
        total += summary["sides"]["defender"]["munitions"]["shells"] * 1000.0
    assert d.spend_usd.sum() == pytest.approx(total)
    assert total > 0


def test_daily_fpv_sortie_outcomes_add_up_from_the_engagements():
    result = small_campaign()
    d = result.daily.to_pandas()
    launched = missed = failed = 0
    for row in result.engagements.to_pylist():
        for name, fates in json.loads(row["summary"])["drones"]["defender"].items():
            if name.startswith("fpv_"):  # the campaign's FPV-role types
                launched += fates["launched"]
                missed += fates["missed"]
                failed += fates["failed"]
    assert (d.fpv_sorties.sum(), d.fpv_missed.sum(), d.fpv_failed.sum()) == (
        launched, missed, failed)
    assert launched > d.fpv_strikes.sum() and missed > 0  # not every FPV strikes


def _cost(name: str) -> float:
    from dronefront.scenario.models import DEFAULT_DRONE_TYPES

    base = DEFAULT_DRONE_TYPES[name.removesuffix("_thermal")].cost
    return base * (1.5 if name.endswith("_thermal") else 1.0)


def test_same_seed_same_campaign(tmp_path):
    a = dronefront.run_campaign("kursk-campaign", seed=4, overrides=SMALL, days=4,
                                out=tmp_path / "a")
    b = dronefront.run_campaign("kursk-campaign", seed=4, overrides=SMALL, days=4,
                                out=tmp_path / "b")
    assert a.daily.equals(b.daily)
    for name in ("daily.parquet", "doctrine.parquet", "engagements.parquet", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_replacements_arrive_untrained():
    from dronefront.campaign.runner import _Roster

    d = small_campaign().daily.to_pandas()
    day = d.index[d.replacements > 0][0]
    assert d.replacements[day] == 50 and d.mean_experience[day - 1] > 0
    # They join with no experience, onto the least-manned battalions. (The daily mean need
    # not dip that day: since suppression keeps men in the fight longer, the veterans'
    # encounters that day can outweigh 50 newcomers.)
    roster = _Roster(6, 3)
    roster.experience[:] = 4
    roster.status[[0, 3]] = 1  # two of battalion 0 gone
    roster.add(2, 3)
    assert roster.experience[6:].tolist() == [0, 0]
    assert roster.battalion[6:].tolist() == [0, 1]


def test_learning_off_freezes_doctrine():
    off = small_campaign(no_learning=("attacker",)).doctrine.to_pandas()
    first = off[off.day == 0].probability.to_numpy()
    last = off[off.day == off.day.max()].probability.to_numpy()
    np.testing.assert_array_equal(first, last)
    on = small_campaign().doctrine.to_pandas()
    assert not np.array_equal(on[on.day == 0].probability.to_numpy(),
                              on[on.day == on.day.max()].probability.to_numpy())


def test_captured_notes_change_the_decoy_response():
    habit = ["learning.attacker.doctrine.habit_weight=1.0",
             "learning.attacker.doctrine.habit.drill=decoy+engage",
             "learning.attacker.learner.kind=none"]

    def commit(capture: float) -> float:
        result = dronefront.run_campaign(
            "kursk-campaign", seed=2, days=4,
            overrides=SMALL + habit + [f"learning.attacker.diffusion.capture_per_killed={capture}"],
        )
        return result.summary["final_decoy_commit"], result.daily.to_pandas().notes_captured.sum()

    never, n0 = commit(0.0)
    always, n1 = commit(1.0)
    assert n0 == 0 and n1 > 0
    assert always < never


def test_bad_campaign_input_is_a_user_error():
    with pytest.raises(UserError, match="no_learning"):
        dronefront.run_campaign("kursk-campaign", no_learning=["both"], days=1)
    with pytest.raises(UserError, match="force.battalions"):
        dronefront.load_campaign("kursk-campaign", ["force.battalions=0"])
    with pytest.raises(UserError, match="campaign"):
        dronefront.load_scenario("kursk-campaign")


def test_engagement_template_fields_can_be_set_by_their_own_dotted_path():
    path = "engagement_overrides.sides.defender.teams.2.count"
    campaign = dronefront.load_campaign("kursk-campaign", [f"{path}=2"])
    assert campaign.engagement_overrides["sides.defender.teams.2.count"] == 2
    with pytest.raises(UserError, match="sides.defender.teams.2.count"):
        dronefront.load_campaign("kursk-campaign", [f"{path}=-2"])


def test_parsed_file_cache_changes_no_result():
    """The engagement template is parsed once a process (loader cache) and built once a
    run: a cold cache, a warm one and a Campaign object give the same campaign, and a
    caller changing the data it loaded cannot change what the next load returns."""
    from dronefront.campaign import load_campaign
    from dronefront.scenario import loader

    loader._PARSED.clear()
    cold = dronefront.run_campaign("kursk-campaign", seed=4, days=3)
    assert loader._PARSED  # the files are remembered
    warm = dronefront.run_campaign("kursk-campaign", seed=4, days=3)
    loaded = dronefront.run_campaign(load_campaign("kursk-campaign"), seed=4, days=3)
    for other in (warm, loaded):
        assert other.daily.equals(cold.daily)
        assert other.engagements.equals(cold.engagements)
        assert other.summary == cold.summary
    data, _, _ = loader.load_raw("kursk-campaign")
    data["force"]["assault_size"] = -1
    assert loader.load_raw("kursk-campaign")[0]["force"]["assault_size"] != -1
