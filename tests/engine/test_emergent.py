"""Emergent effects, tested statistically over seeds: nothing here is hard-coded."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import dronefront
from dronefront.scenario.models import Scenario
from tests.conftest import mean_se

SEEDS = range(1, 21)


def _attacker(result) -> dict:
    return result.summary["sides"]["attacker"]


def test_tight_ranks_lose_more_per_fpv_strike(engine_run):
    spacing = "sides.attacker.units.0.doctrine.spacing"
    tight = [_attacker(engine_run("kursk-assault", s, f"{spacing}=1.5"))
             ["casualties_per_fpv_strike"] for s in SEEDS]
    open_ = [_attacker(engine_run("kursk-assault", s, f"{spacing}=10"))
             ["casualties_per_fpv_strike"] for s in SEEDS]
    assert None not in tight and None not in open_
    assert np.mean(tight) >= 1.5 * np.mean(open_)


def _isr_over_platoon(terrain: str) -> Scenario:
    return Scenario.model_validate({
        "name": f"isr-over-{terrain}",
        "dt": 5, "duration": 900,
        "terrain": {"bounds": [-500, -500, 500, 500], "default": terrain},
        "sides": {
            "attacker": {"units": [{
                "name": "platoon", "count": 30, "start": [0, 0], "posture": "halted",
                "doctrine": {"formation": "block", "ranks": 3, "spacing": 5},
            }]},
            "defender": {"teams": [{
                "drone": "isr_quad", "count": 1, "position": [0, 1500], "inventory": 1,
                "station": [0, 100],
            }]},
        },
    })


def _detections(result) -> float:
    ev = result.events
    rows = ev.filter(pc.equal(ev["kind"], "detection"))
    return float(pc.sum(rows["value"]).as_py() or 0.0)


def test_treeline_concealment_cuts_isr_detections():
    open_ = [_detections(dronefront.run(_isr_over_platoon("open"), seed=s)) for s in SEEDS]
    trees = [_detections(dronefront.run(_isr_over_platoon("treeline"), seed=s)) for s in SEEDS]
    assert np.mean(open_) > 50, "the ISR drone must see the platoon in the open"
    # concealment 0.6 leaves 40% of sightings; allow sampling noise but not equality
    assert np.mean(trees) < 0.55 * np.mean(open_)
    assert np.mean(trees) > 0.25 * np.mean(open_)


def test_jamming_downs_radio_fpvs_not_fibre(engine_run):
    radio_jammed, radio_launched, fibre_jammed, fibre_strikes = [], [], [], []
    for s in SEEDS:
        drones = engine_run("ew-screen", s).summary["drones"]["attacker"]
        radio_jammed.append(drones["fpv_radio"]["jammed"])
        radio_launched.append(drones["fpv_radio"]["launched"])
        fibre_jammed.append(drones["fpv_fibre"]["jammed"])
        fibre_strikes.append(drones["fpv_fibre"]["strikes"])
    assert sum(fibre_jammed) == 0
    assert sum(fibre_strikes) > 0
    assert sum(radio_jammed) > 0.5 * sum(radio_launched)
    off = [engine_run("ew-screen", s, "sides.defender.jammers.0.active=false",
                      "sides.defender.jammers.1.active=false").summary["drones"]["attacker"]
           for s in range(1, 6)]
    assert all(d["fpv_radio"]["jammed"] == 0 for d in off)
    assert sum(d["fpv_radio"]["strikes"] for d in off) > 0


@pytest.mark.parametrize("few,many", [(1, 8)])
def test_more_shooters_more_shoot_downs(engine_run, few, many):
    key = "sides.attacker.units.0.doctrine.shooters"

    def downs(n: int) -> list[int]:
        out = []
        for s in SEEDS:
            drones = engine_run("kursk-assault-dispersed", s, f"{key}={n}").summary["drones"]
            out.append(sum(v["shot_down"] for v in drones["defender"].values()))
        return out

    low, low_se = mean_se(downs(few))
    high, high_se = mean_se(downs(many))
    assert high - low > 3 * np.hypot(low_se, high_se)
