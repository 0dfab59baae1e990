"""The engine's reference-open-field does the same work as an independent implementation."""

from __future__ import annotations

import numpy as np

from tests.conftest import mean_se
from tests.engine.reference_impl import simulate_reference

N = 600
SEEDS = range(1, 21)


def test_same_work_as_second_implementation(engine_run):
    ours = {"killed": [], "launched": [], "shot_down": []}
    theirs = {"killed": [], "launched": [], "shot_down": []}
    for seed in SEEDS:
        summary = engine_run("reference-open-field", seed, f"parameters.N={N}").summary
        drones = summary["drones"]["defender"]["reference_fpv"]
        ours["killed"].append(summary["sides"]["attacker"]["killed"])
        ours["launched"].append(drones["launched"])
        ours["shot_down"].append(drones["shot_down"])
        ref = simulate_reference(N, seed)
        for key in theirs:
            theirs[key].append(ref[key])
    for key in ours:
        m1, se1 = mean_se(ours[key])
        m2, se2 = mean_se(theirs[key])
        assert abs(m1 - m2) <= 3 * np.hypot(se1, se2), (key, m1, m2, se1, se2)
    assert np.mean(ours["killed"]) > 10, "the model must kill someone at this size"


def test_reference_setup_matches_specification(engine_run):
    result = engine_run("reference-open-field", 1, "parameters.N=90", "duration=1")
    s = result.state.soldiers
    c = 2  # ceil(sqrt(90 / 30))
    for k in (0, 7, 29, 30, 65):
        platoon, slot = divmod(k, 30)
        x = 50 * (platoon % c) + 2 * (slot % 6)
        y = -100 * (platoon // c) - 2 * (slot // 6)
        assert (s.x[k], s.y[k]) == (x, y + 1), k  # after one step of movement
    d = result.state.drones
    assert d.n == 1 and (d.home_x[0], d.home_y[0]) == (50 * c / 2, 1500)
