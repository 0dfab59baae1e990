"""The engine's aimed-fire limit tracks the square law; drone attrition is fitted by a law."""

from __future__ import annotations

import numpy as np

from dronefront.lanchester.validation import aimed_fire_check, drone_attrition_law


def test_aimed_fire_engagement_tracks_the_square_law():
    check = aimed_fire_check(replicates=50, seed=0)
    assert check.compared.sum() > 100, "compare over most of the fight"
    assert check.max_relative_error < 0.05
    # and the fight is decided the way the square law says: A (400) beats B (300)
    assert check.engine_b[-1] < 0.05 * check.engine_b[0] < check.engine_a[-1]


def test_drone_attrition_is_fitted_and_ranked():
    selection = drone_attrition_law("kursk-assault", replicates=3)
    rows = selection.table()
    assert {r["law"] for r in rows} == {"square", "linear", "logarithmic", "mixed"}
    assert rows[0]["law"] == selection.best
    assert np.isclose(sum(r["weight"] for r in rows), 1.0)
    assert selection.fits[selection.best].r2 > 0.9
