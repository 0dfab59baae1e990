"""Per-point statistics and paired differences with the variance that CRN removed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dronefront.errors import UserError
from dronefront.experiments.analysis import paired_difference, paired_table, point_stats
from dronefront.experiments.runner import results, run_experiment
from tests.experiments.experiment_helpers import small_engagement, write


def test_point_stats_match_scipy():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"point": np.repeat([0, 1], 25), "replicate": np.tile(range(25), 2),
                          "spacing": np.repeat([1.5, 10.0], 25),
                          "y": rng.normal(10, 2, 50)})
    out = point_stats(frame, "y", quantiles=(0.1, 0.9), factors=["spacing"])
    assert out.columns.tolist()[:3] == ["point", "spacing", "n"]
    for p in (0, 1):
        y = frame.y[frame.point == p]
        row = out[out.point == p].iloc[0]
        low, high = stats.t.interval(0.95, len(y) - 1, loc=y.mean(), scale=stats.sem(y))
        assert row["mean"] == pytest.approx(y.mean())
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
        assert row["q0.9"] == pytest.approx(np.quantile(y, 0.9))


def test_paired_difference_formulae():
    a = np.array([1.0, 4.0, 2.0, 8.0, 5.0])
    b = a + np.array([0.5, 1.5, 0.0, 1.0, 2.0])
    frame = pd.DataFrame({"point": [0] * 5 + [1] * 5, "replicate": list(range(5)) * 2,
                          "y": np.concatenate([a, b])})
    d = paired_difference(frame, "y", 0, 1)
    assert d.n == 5 and d.mean_difference == pytest.approx((b - a).mean())
    assert d.var_difference == pytest.approx(np.var(b - a, ddof=1))
    assert d.variance_reduction == pytest.approx(
        1 - np.var(b - a, ddof=1) / (np.var(a, ddof=1) + np.var(b, ddof=1)))
    assert d.ci_low < d.mean_difference < d.ci_high
    assert d.efficiency > 1


def test_paired_table_gives_every_point_against_the_base_with_its_paired_interval():
    rng = np.random.default_rng(3)
    common = rng.normal(size=30)
    shifts = {0: 0.0, 1: 0.4, 2: -1.0}
    frame = pd.DataFrame({
        "point": np.repeat(list(shifts), 30), "replicate": np.tile(np.arange(30), 3),
        "y": np.concatenate([common + s + 0.1 * rng.normal(size=30) for s in shifts.values()]),
        "x": np.repeat(["a", "b", "c"], 30)})
    frame.attrs["factors"] = ["x"]
    table = paired_table(frame, "y", base=1)
    assert table.point.tolist() == [0, 2] and table.x.tolist() == ["a", "c"]
    for row in table.itertuples():
        d = paired_difference(frame, "y", 1, row.point)
        assert (row.difference, row.ci_low, row.ci_high) == (d.mean_difference, d.ci_low,
                                                             d.ci_high)
        # the pairing removes the common noise: the interval is tight around the true shift
        assert row.ci_low < shifts[row.point] - shifts[1] < row.ci_high
        assert row.ci_high - row.ci_low < 0.2 and row.variance_reduction > 0.9
    with pytest.raises(UserError, match="point 5 has no finished runs"):
        paired_table(frame, "y", base=5)


def test_common_random_numbers_reduce_variance_as_predicted(tmp_path):
    """toy-noise: y = x + common(seed) + sigma * own(seed, x); CRN removes the common part."""
    path = write(tmp_path / "crn.yaml", """\
name: crn
kind: toy-noise
overrides: {sigma: 0.5}
factors:
  x: {levels: [0.0, 1.0]}
design: full_factorial
replicates: 400
seed: 11
metrics: [y]
""")
    run_experiment(path, store=tmp_path / "s.duckdb")
    d = paired_difference(results(path, tmp_path / "s.duckdb"), "y", 0, 1)
    assert d.n == 400
    expected = 1 - 0.25 / 1.25  # var(own diff) / (var a + var b)
    assert d.variance_reduction == pytest.approx(expected, abs=0.05)
    assert d.ci_low < 1.0 < d.ci_high
    assert d.correlation == pytest.approx(0.8, abs=0.05)


def test_engine_points_share_seeds(tmp_path):
    """On the engine, points paired by replicate are positively correlated (CRN)."""
    path = small_engagement(tmp_path, points=2, replicates=12)
    path.write_text(path.read_text().replace(
        "sides.attacker.units.0.doctrine.spacing: {range: [1, 10]}",
        "sides.attacker.units.0.doctrine.spacing: {levels: [2.0, 2.2]}").replace(
        "  sides.attacker.units.0.doctrine.drill: {levels: [[], [engage]]}\n", "").replace(
        "{type: latin_hypercube, points: 2, seed: 2}", "full_factorial"))
    run_experiment(path, store=tmp_path / "s.duckdb")
    frame = results(path, tmp_path / "s.duckdb")
    d = paired_difference(frame, "sides.attacker.munitions.counterdrone_shots", 0, 1)
    assert d.n == 12 and d.variance_reduction > 0
