"""Fitting: recovery of known coefficients, model selection, and CSV errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dronefront.errors import UserError
from dronefront.lanchester import (
    Reinforcement,
    fit,
    read_strength_csv,
    select_law,
    synthetic_data,
    write_strength_csv,
)

IWO_JIMA = [Reinforcement("A", 2, 6000), Reinforcement("A", 5, 13000)]
PAIR_LAWS = ("square", "linear", "logarithmic", "mixed")
# generating coefficients giving ~2-4% daily losses at 1000 vs 900 troops
TRUTH = {"square": (0.02, 0.03), "linear": (2e-5, 3e-5), "logarithmic": (0.02, 0.03),
         "mixed": (2e-5, 0.02)}


def _battle(law: str, seed: int):
    alpha, beta = TRUTH[law]
    return synthetic_data(law, 1000, 900, alpha, beta, days=40, seed=seed,
                          reinforcements=[Reinforcement("A", 10, 300)])


def test_iwo_jima_coefficients_recovered_within_bootstrap_intervals():
    data = synthetic_data("square", 54000, 21500, alpha=0.0106, beta=0.0544, days=36,
                          reinforcements=IWO_JIMA, seed=1)
    res = fit(data, "square", n_boot=200, seed=0)
    lo, hi = res.ci["alpha"]
    assert lo < 0.0106 < hi and hi - lo < 0.1 * 0.0106
    lo, hi = res.ci["beta"]
    assert lo < 0.0544 < hi and hi - lo < 0.1 * 0.0544
    assert res.r2 > 0.999
    assert res.fitted.outcome.winner == "A"
    # the swapped coefficients are far outside the intervals
    assert not res.ci["alpha"][0] < 0.0544 < res.ci["alpha"][1]


@pytest.mark.parametrize("law", PAIR_LAWS)
@pytest.mark.parametrize("method", ["mle", "ls"])
def test_known_coefficients_recovered(law, method):
    data = _battle(law, seed=21)
    res = fit(data, law, method=method, n_boot=150, seed=1)
    for name, truth in zip(("alpha", "beta"), TRUTH[law], strict=True):
        lo, hi = res.ci[name]
        assert lo < truth < hi, (name, res.params[name], lo, hi)
        assert hi - lo < 0.5 * truth
    assert res.r2 > 0.98


def test_generalized_exponents_recovered():
    data = synthetic_data("generalized", 1000, 900, 0.02, 0.03, p=0.3, q=0.8, days=40, seed=0,
                          reinforcements=[Reinforcement("A", 10, 300)])
    res = fit(data, "generalized", n_boot=60, seed=2)
    for name, truth in (("p", 0.3), ("q", 0.8)):
        lo, hi = res.ci[name]
        assert lo < truth < hi, (name, res.params[name], lo, hi)
    # the square law is outside: q = 1 with p = 0 does not fit both intervals
    assert not (res.ci["p"][0] <= 0.0 and res.ci["q"][1] >= 1.0)


@pytest.mark.parametrize("law", PAIR_LAWS)
def test_aic_picks_the_generating_law(law):
    for seed in (31, 32):
        sel = select_law(_battle(law, seed), PAIR_LAWS, n_boot=0)
        assert sel.best == law, sel.table()
        rows = sel.table()
        assert rows[0]["law"] == law and rows[0]["delta_aic"] == 0.0
        if law != "mixed":  # mixed and linear differ only in A's losses, so margins are thin
            assert rows[1]["delta_aic"] > 2.0


def test_selection_with_generalized_and_bic():
    sel = select_law(_battle("square", 33), criterion="bic", n_boot=20)
    assert sel.best == "square" and set(sel.fits) == {"square", "linear", "logarithmic",
                                                      "mixed", "generalized"}
    assert sel.fits["generalized"].n_params == 4
    assert sel.fits["generalized"].loglik >= sel.fits["square"].loglik - 1e-6  # nested
    assert sum(r["weight"] for r in sel.table()) == pytest.approx(1.0)
    assert sel.best_fit.boot.shape == (20, 2)


def test_csv_round_trip(tmp_path: Path):
    data = synthetic_data("square", 5000, 4000, 0.02, 0.02, days=12, seed=3,
                          reinforcements=[Reinforcement("B", 4, 700)])
    path = tmp_path / "battle.csv"
    write_strength_csv(data, path)
    back = read_strength_csv(path)
    for name in ("day", "a", "b", "reinforce_a", "reinforce_b"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    assert back.reinforcements() == [Reinforcement("B", 4.0, 700.0)]
    assert back.lines[0] == 2 and back.source == str(path)


GOOD = "day,a,b,reinforce_a,reinforce_b\n0,1000,900,0,0\n1,980,880,0,0\n2,960,861,0,0\n"


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("", 1, None, "empty"),
    ("\n\n", 1, None, "empty"),
    ("day,a\n0,1\n1,2\n", 1, "b", "missing column"),
    ("day,a,b,troops\n0,1,2,3\n", 1, None, "header column 4 is not one of"),
    ("day,a,b\n0,1000,900\n", 2, None, "at least 2"),
    ("day,a,b\n0,1000,900\n1,abc,880\n", 3, "a", "not a number"),
    ("day,a,b\n0,1000,900\n1,990,nan\n", 3, "b", "finite"),
    ("day,a,b\n0,1000,900\n1,-5,880\n", 3, "a", ">= 0"),
    ("day,a,b\n0,1000,900\n2,990,880\n1,980,870\n", 4, "day", "increase"),
    ("day,a,b\n0,1000,900\n0,990,880\n", 3, "day", "increase"),
    ("day,a,b\n0,1000,900\n1,990\n", 3, None, "fields"),
    ("day,a,b\n0,1000,900\n1,,880\n", 3, "a", "missing value"),
    ("day,a,b,reinforce_a\n0,1000,900,0\n1,990,880,-3\n", 3, "reinforce_a", ">= 0"),
    ("day,a,a,b\n0,1,1,1\n", 1, "a", "duplicate"),
])
def test_bad_csv_raises_user_error(tmp_path: Path, text, line, field, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        read_strength_csv(path)
    err = exc.value
    assert err.file == str(path) and err.line == line and err.field == field
    assert words in err.message
    assert "\n" not in str(err)


def test_missing_file_and_rising_strength(tmp_path: Path):
    with pytest.raises(UserError) as exc:
        read_strength_csv(tmp_path / "nope.csv")
    assert exc.value.file == str(tmp_path / "nope.csv") and "not found" in exc.value.message
    path = tmp_path / "rise.csv"
    path.write_text("day,a,b\n0,1000,900\n1,990,880\n2,1100,860\n3,1090,850\n")
    data = read_strength_csv(path)
    with pytest.raises(UserError) as exc:
        fit(data, "square", n_boot=0)
    assert (exc.value.file, exc.value.line, exc.value.field) == (str(path), 4, "a")
    assert fit(data, "square", method="ls", n_boot=0).params["alpha"] > 0  # ls copes
    path.write_text(GOOD)
    assert fit(read_strength_csv(path), "square", n_boot=0).n_obs == 4
