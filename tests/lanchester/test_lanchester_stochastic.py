"""The Markov-chain version: convergence to the ODE, exact small-force odds, seeding, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dronefront.errors import UserError
from dronefront.lanchester import Reinforcement, simulate, solve


def test_mean_converges_to_square_law_at_1000_vs_1000():
    alpha, beta = 0.01, 0.005
    det = solve("square", 1000, 1000, alpha, beta, days=200, t_eval=np.arange(0.0, 201.0))
    horizon = float(det.t[np.argmax(det.b <= 200)])  # the losing side is down to 20%
    assert 90 < horizon < 110
    grid = np.linspace(0.0, horizon, 41)
    det = solve("square", 1000, 1000, alpha, beta, days=horizon, t_eval=grid)
    sim = simulate("square", 1000, 1000, alpha, beta, days=horizon, t_eval=grid,
                   replicates=1000, seed=7)
    assert np.max(np.abs(sim.mean_a - det.a) / det.a) < 0.02
    assert np.max(np.abs(sim.mean_b - det.b) / det.b) < 0.02
    # and it is noisy: single replicates stray further than the mean does
    assert np.max(np.abs(sim.b_paths[:, -1] - det.b[-1])) > 0.1 * det.b[-1]


def test_200_replicates_of_1000_vs_1000_are_fast():
    start = time.perf_counter()
    sim = simulate("square", 1000, 1000, 0.01, 0.005, days=200, replicates=200, seed=1)
    assert time.perf_counter() - start < 10.0
    assert sim.p_a_wins == 1.0 and sim.p_b_wins == 0.0
    det = solve("square", 1000, 1000, 0.01, 0.005, days=200)
    assert sim.expected_survivors[0] == pytest.approx(det.outcome.survivors, rel=0.02)
    assert sim.survivors_given_win()[0] == pytest.approx(det.outcome.survivors, rel=0.02)


@pytest.mark.parametrize("law", ["square", "linear", "logarithmic", "mixed", "generalized"])
def test_one_on_one_odds_are_exact(law):
    # with one soldier a side, the first event decides: A wins with alpha/(alpha+beta)
    alpha, beta = 0.3, 0.1
    sim = simulate(law, 1, 1, alpha, beta, p=0.5, q=0.5, days=1000, replicates=4000, seed=3)
    p = alpha / (alpha + beta)
    se = np.sqrt(p * (1 - p) / 4000)
    assert abs(sim.p_a_wins - p) < 4 * se
    assert sim.p_a_wins + sim.p_b_wins == pytest.approx(1.0)


def test_paths_are_integer_nonnegative_and_monotone_without_reinforcements():
    sim = simulate("linear", 60, 50, 0.002, 0.003, days=40, replicates=300, seed=2)
    assert sim.a_paths.dtype.kind == "i"
    assert np.all(sim.a_paths >= 0) and np.all(sim.b_paths >= 0)
    assert np.all(np.diff(sim.a_paths, axis=1) <= 0) and np.all(np.diff(sim.b_paths, axis=1) <= 0)
    over = ~np.isnan(sim.annihilation_times)
    assert np.all((sim.a_paths[over, -1] == 0) | (sim.b_paths[over, -1] == 0))


def test_seeding_is_reproducible():
    kw = dict(days=30, replicates=50)
    one = simulate("square", 300, 250, 0.02, 0.02, seed=11, **kw)
    two = simulate("square", 300, 250, 0.02, 0.02, seed=11, **kw)
    other = simulate("square", 300, 250, 0.02, 0.02, seed=12, **kw)
    np.testing.assert_array_equal(one.a_paths, two.a_paths)
    assert not np.array_equal(one.a_paths, other.a_paths)


def test_reinforcements_and_schedules_follow_the_mean():
    reinf = [Reinforcement("A", 5, 400), Reinforcement("B", 12.5, 300)]
    alpha = [(0, 0.01), (10, 0.02)]
    grid = np.linspace(0, 25, 51)
    det = solve("square", 1000, 1200, alpha, 0.01, days=25, reinforcements=reinf, t_eval=grid)
    sim = simulate("square", 1000, 1200, alpha, 0.01, days=25, reinforcements=reinf,
                   t_eval=grid, replicates=400, seed=5)
    np.testing.assert_allclose(sim.mean_a, det.a, rtol=0.01)
    np.testing.assert_allclose(sim.mean_b, det.b, rtol=0.01)
    assert sim.a_paths[0, 10] - sim.a_paths[0, 9] > 300  # the arrival at day 5 shows


def test_bad_arguments():
    with pytest.raises(UserError) as exc:
        simulate("square", 10, 10, 0.1, 0.1, days=5, replicates=0)
    assert exc.value.field == "replicates"
    with pytest.raises(UserError):
        simulate("square", 10, 10, 0.1, 0.1, days=-1)
