"""Calibration recovers the known parameters of a synthetic daily model; the loss is right."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dronefront.errors import UserError
from dronefront.experiments.calibration import (
    Observation,
    calibrate,
    interval_loss,
    load_calibration,
    model_values,
)
from dronefront.experiments.models import attrition
from tests.experiments.experiment_helpers import write

TRUE = {"rate": 0.02, "learning": 0.03, "kill_share": 0.25}


def _observations(tmp_path, widen: float = 0.05):
    """Intervals of +-5% around the true curve, one open bound, one weekly window."""
    _, daily = attrition("", 0, [f"{k}={v}" for k, v in TRUE.items()])
    f = daily.to_pandas()
    lines = ["date,source,window,cas_low,cas_high,kill_low,kill_high"]
    for day in (5, 12, 20, 30, 45):
        r = f.iloc[day]
        c, k = r.cumulative_casualties, r.cumulative_killed
        lines.append(f"{r.date},synthetic,cumulative,{c * (1 - widen):.1f},"
                     f"{c * (1 + widen):.1f},{k * (1 - widen):.1f},{k * (1 + widen):.1f}")
    week = f.iloc[25].cumulative_casualties - f.iloc[18].cumulative_casualties
    lines.append(f"{f.iloc[25].date},synthetic,past-7-days,{week * (1 - widen):.1f},,,")
    high = f.iloc[8].cumulative_casualties * 1.5
    lines.append(f"{f.iloc[8].date},synthetic,cumulative,,{high:.1f},,")
    (tmp_path / "obs.csv").write_text("\n".join(lines) + "\n")


CAL = """\
name: fit-toy
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.06], log: true}
  learning: {range: [0.0, 0.1]}
  kill_share: {range: [0.05, 0.6]}
observed:
  file: obs.csv
  series:
    - {model: cumulative_casualties, low: cas_low, high: cas_high}
    - {model: cumulative_killed, low: kill_low, high: kill_high}
trials: 100
batch: 10
seed: 3
top: 0.1
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calibration")
    _observations(tmp)
    path = write(tmp / "cal.yaml", CAL)
    return path, tmp, calibrate(path, store=tmp / "s.duckdb")


def test_recovers_known_parameters(fitted):
    _, _, result = fitted
    assert result.best_loss == pytest.approx(0.0, abs=1e-4)
    best = result.best_params
    assert best["rate"] == pytest.approx(TRUE["rate"], rel=0.15)
    assert best["learning"] == pytest.approx(TRUE["learning"], abs=0.012)
    assert best["kill_share"] == pytest.approx(TRUE["kill_share"], rel=0.1)
    spread = result.spread.set_index("parameter")
    for name, value in TRUE.items():  # the truth lies within the best trials' spread
        lo, hi = spread.loc[name, "min"], spread.loc[name, "max"]
        assert lo * 0.9 <= value <= hi * 1.1, (name, lo, hi)
    assert len(result.trials) == 100 and result.ran == 100
    assert (result.fit.loss < 1e-3).all()
    assert set(result.fit.window) == {"cumulative", "past-7-days"}


def test_fit_plot_and_resume(fitted, tmp_path):
    path, tmp, result = fitted
    fig = result.plot(tmp_path / "fit.png")
    assert len(fig.axes) == 3  # casualties, killed, casualties over past 7 days
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    again = calibrate(path, store=tmp / "s.duckdb")  # every trial comes from the store
    assert again.ran == 0
    pd.testing.assert_frame_equal(again.trials, result.trials)
    assert again.best_params == result.best_params


def test_processes_executor_gives_the_same_trials(fitted, tmp_path):
    path, _, result = fitted
    other = calibrate(path, store=tmp_path / "p.duckdb", executor="processes", workers=2,
                      trials=20)
    pd.testing.assert_frame_equal(other.trials, result.trials.head(20))


def test_interval_loss():
    assert interval_loss(150, 100, 200) == 0.0
    assert interval_loss(100, 100, 100) == 0.0
    assert interval_loss(50, 100, 200) == pytest.approx(0.25)
    assert interval_loss(300, 100, 200) == pytest.approx(0.25)
    assert interval_loss(10**6, 100, None) == 0.0  # open upper bound
    assert interval_loss(0, None, 100) == 0.0  # open lower bound
    assert interval_loss(float("nan"), 1, 2) == math.inf


def test_model_values_cumulative_and_windows():
    start = dt.date(2025, 1, 1)
    daily = pd.DataFrame({"date": [start + dt.timedelta(days=i) for i in range(10)],
                          "cum": [float(i * i) for i in range(10)]})
    obs = [Observation(0, 2, start + dt.timedelta(days=9), None, "cum", 1.0, None),
           Observation(1, 3, start + dt.timedelta(days=9), 7, "cum", 1.0, None),
           Observation(2, 4, start + dt.timedelta(days=3), 7, "cum", 1.0, None)]
    assert model_values(daily, obs) == {"obs.0": 81.0, "obs.1": 81.0 - 4.0, "obs.2": 9.0}
    late = [Observation(0, 5, start + dt.timedelta(days=30), None, "cum", 1.0, None)]
    with pytest.raises(UserError, match="outside the model's days"):
        model_values(daily, late)
    with pytest.raises(UserError, match="no column 'other'"):
        model_values(daily, [Observation(0, 5, start, None, "other", 1.0, None)])


def test_observation_after_the_model_horizon_is_a_user_error(tmp_path):
    _observations(tmp_path)
    path = write(tmp_path / "short.yaml", CAL.replace("trials: 100", "trials: 2")
                 + "overrides: {days: 20}\n")
    with pytest.raises(UserError, match="outside the model's days") as info:
        calibrate(path, store=tmp_path / "s.duckdb")
    assert str(path) in str(info.value)


def test_kursk_example_loads_with_the_reported_data():
    from pathlib import Path

    example = Path(__file__).parents[2] / "examples" / "calibrate-kursk.yaml"
    plan = load_calibration(example)
    assert plan.model.name == "campaign"
    windows = {o.window for o in plan.observations}
    assert windows == {None, 7}
    assert any(o.high is None for o in plan.observations)  # open bounds are kept


def test_store_records_trials_as_points_with_the_version(fitted):
    import duckdb

    from dronefront import __version__

    _, tmp, result = fitted
    con = duckdb.connect(str(tmp / "s.duckdb"), read_only=True)
    try:
        points, version = con.execute("SELECT points, version FROM experiments WHERE "
                                      "experiment = ?", [result.plan.key]).fetchone()
    finally:
        con.close()
    assert points == len(result.trials) == 100
    assert version == __version__


def test_about_widens_point_estimates_only():
    from pathlib import Path

    from dronefront.experiments.calibration import Observed, read_observations

    example = Path(__file__).parents[2] / "examples" / "data"
    series = [{"model": "cumulative_casualties", "low": "casualties_low",
               "high": "casualties_high"}]
    exact, _ = read_observations(Observed(file="kursk-reported-casualties.csv",
                                          series=series), example)
    wide, _ = read_observations(Observed(file="kursk-reported-casualties.csv",
                                         series=series, about=0.2), example)
    for a, b in zip(exact, wide, strict=True):
        if a.low is not None and a.low == a.high:
            assert (b.low, b.high, b.estimate) == pytest.approx((0.8 * a.low, 1.2 * a.low,
                                                                  a.low))
        else:
            assert (b.low, b.high, b.estimate) == (a.low, a.high, None)


def test_conflicts_and_implied_rates():
    from dronefront.experiments.calibration import conflicts, implied_rates

    d = dt.date
    ok = [Observation(0, 2, d(2025, 1, 1), None, "c", 100, 200),
          Observation(1, 3, d(2025, 1, 11), None, "c", 300, 500),
          Observation(2, 4, d(2025, 1, 11), 5, "c", 250, None)]
    assert conflicts(ok) == []
    rates = implied_rates(ok)
    assert rates[["min_per_day", "max_per_day"]].iloc[0].tolist() == pytest.approx([10, 40])
    falling = ok[:1] + [Observation(1, 3, d(2025, 1, 11), None, "c", 50, 90)]
    assert len(conflicts(falling)) == 1 and "need the count to fall" in conflicts(falling)[0]
    # +450 in the 5 days to the 11th cannot fit under 500 when 100 were there on the 1st.
    surge = ok[:2] + [Observation(2, 4, d(2025, 1, 11), 5, "c", 450, None)]
    assert len(conflicts(surge)) == 1 and "line 4" in conflicts(surge)[0]
