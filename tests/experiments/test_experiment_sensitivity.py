"""Sobol and Morris through the runner: the Ishigami toy model gives its analytic indices."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from dronefront.errors import UserError
from dronefront.experiments.analysis import morris_indices, sobol_indices, tornado
from dronefront.experiments.runner import load_experiment, results, run_experiment
from tests.experiments.experiment_helpers import ishigami, write

S1 = np.array([0.3139, 0.4424, 0.0])
ST = np.array([0.5576, 0.4424, 0.2437])
SLACK = 0.03


@pytest.fixture(scope="module")
def ishigami_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ishigami")
    path = ishigami(tmp, samples=512)
    store = tmp / "s.duckdb"
    report = run_experiment(path, store=store)
    assert report.ran == 512 * 5
    plan = load_experiment(path)
    return plan, results(plan, store), tmp


@pytest.mark.slow
def test_sobol_indices_of_ishigami_match_analytic_values(ishigami_run):
    plan, frame, _ = ishigami_run
    idx = sobol_indices(plan, frame, "y")
    assert idx.factor.tolist() == ["x1", "x2", "x3"]
    assert (np.abs(idx.S1 - S1) <= idx.S1_conf + SLACK).all(), idx
    assert (np.abs(idx.ST - ST) <= idx.ST_conf + SLACK).all(), idx
    # and they are informative: the intervals are not trivially wide
    assert (idx.S1_conf < 0.15).all() and (idx.ST_conf < 0.15).all()


def test_sensitivity_intervals_repeat_exactly(ishigami_run):
    """The bootstrap behind the half-widths is seeded: the same call gives the same table."""
    plan, frame, _ = ishigami_run
    first, second = sobol_indices(plan, frame, "y"), sobol_indices(plan, frame, "y")
    assert first.equals(second), (first, second)
    assert not first.equals(sobol_indices(plan, frame, "y", seed=2))
    with pytest.raises(UserError):
        sobol_indices(plan, frame, "y", seed=0)


def test_tornado_plot(ishigami_run, tmp_path):
    plan, frame, _ = ishigami_run
    fig = tornado(sobol_indices(plan, frame, "y"), title="Ishigami", path=tmp_path / "t.png")
    assert isinstance(fig, Figure)
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_morris_ranks_ishigami_factors(tmp_path):
    path = write(tmp_path / "morris.yaml", ishigami(tmp_path).read_text().replace(
        "design: {type: sobol, samples: 512, seed: 1}",
        "design: {type: morris, trajectories: 60, levels: 4, seed: 2}"))
    run_experiment(path, store=tmp_path / "m.duckdb")
    plan = load_experiment(path)
    idx = morris_indices(plan, results(plan, tmp_path / "m.duckdb"), "y")
    mu_star = dict(zip(idx.factor, idx.mu_star, strict=True))
    sigma = dict(zip(idx.factor, idx.sigma, strict=True))
    assert mu_star["x1"] > mu_star["x3"] and mu_star["x2"] > mu_star["x3"]
    assert sigma["x3"] > 0.5  # x3 acts only through its interaction with x1
    assert isinstance(tornado(idx), Figure)


def test_sobol_needs_a_sobol_design_and_a_known_metric(ishigami_run, tmp_path):
    plan, frame, _ = ishigami_run
    with pytest.raises(UserError, match="no metric 'z'"):
        sobol_indices(plan, frame, "z")
    with pytest.raises(UserError, match="Morris indices need design type morris"):
        morris_indices(plan, frame, "y")
    with pytest.raises(UserError, match="missing at"):
        sobol_indices(plan, frame[frame.point != 7], "y")
