"""Deterministic laws: closed forms against the ODE, state equations, annihilation times."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dronefront.errors import UserError
from dronefront.lanchester import (
    LAWS,
    Coefficient,
    Reinforcement,
    annihilation_time,
    closed_form,
    outcome,
    parse_reinforcement,
    solve,
    state_residual,
)

IWO_JIMA = [Reinforcement("A", 2, 6000), Reinforcement("A", 5, 13000)]

# (a0, b0, alpha, beta): A wins, B wins, a near-draw, lopsided, fast
SQUARE_CASES = [
    (1000.0, 800.0, 0.01, 0.01),
    (500.0, 900.0, 0.002, 0.001),
    (1000.0, 1010.0, 0.01, 0.0098),
    (30.0, 3000.0, 0.001, 0.1),
    (54000.0, 21500.0, 0.0106, 0.0544),
]


def _close(x, y, rtol=1e-6, scale=1.0):
    np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-9 * scale)


@pytest.mark.parametrize("case", SQUARE_CASES)
def test_square_closed_form_matches_ode(case):
    a0, b0, alpha, beta = case
    t = np.linspace(0.0, 400.0, 801)
    c = solve("square", a0, b0, alpha, beta, days=400, t_eval=t)
    o = solve("square", a0, b0, alpha, beta, days=400, t_eval=t, method="ode")
    assert c.method == "closed-form" and o.method == "ode"
    _close(c.a, o.a, scale=a0 + b0)
    _close(c.b, o.b, scale=a0 + b0)
    # and the raw formula before any annihilation
    horizon = min(annihilation_time("square", a0, b0, alpha, beta), 400.0)
    ts = t[t < 0.9 * horizon]
    g = math.sqrt(alpha * beta)
    a_formula = a0 * np.cosh(g * ts) - math.sqrt(beta / alpha) * b0 * np.sinh(g * ts)
    b_formula = b0 * np.cosh(g * ts) - math.sqrt(alpha / beta) * a0 * np.sinh(g * ts)
    _close(closed_form("square", a0, b0, alpha, beta, ts)[0], a_formula, rtol=1e-12)
    _close(closed_form("square", a0, b0, alpha, beta, ts)[1], b_formula, rtol=1e-12)


@pytest.mark.parametrize("law", ["linear", "logarithmic", "mixed"])
@pytest.mark.parametrize("case", [(1000.0, 800.0, 1e-5, 1.2e-5), (300.0, 900.0, 2e-4, 1e-4),
                                  (1000.0, 800.0, 0.01, 0.02)])
def test_other_closed_forms_match_ode(law, case):
    a0, b0, alpha, beta = case
    t = np.linspace(0.0, 120.0, 241)
    c = solve(law, a0, b0, alpha, beta, days=120, t_eval=t)
    o = solve(law, a0, b0, alpha, beta, days=120, t_eval=t, method="ode")
    _close(c.a, o.a, scale=a0 + b0)
    _close(c.b, o.b, scale=a0 + b0)


def test_closed_form_with_reinforcements_and_schedule_matches_ode():
    alpha = [(0.0, 0.0106), (12.0, 0.02)]
    beta = Coefficient([(0.0, 0.0544), (20.0, 0.03)])
    t = np.linspace(0, 36, 361)
    c = solve("square", 54000, 21500, alpha, beta, days=36, reinforcements=IWO_JIMA, t_eval=t)
    o = solve("square", 54000, 21500, alpha, beta, days=36, reinforcements=IWO_JIMA, t_eval=t,
              method="ode")
    assert c.method == "closed-form"
    _close(c.a, o.a, scale=75000)
    _close(c.b, o.b, scale=75000)
    # a callable coefficient goes through the ODE and gives the same answer
    f = solve("square", 54000, 21500, lambda s: 0.0106 if s < 12 else 0.02, beta, days=36,
              reinforcements=IWO_JIMA, t_eval=t)
    assert f.method == "ode"
    np.testing.assert_allclose(f.b, c.b, rtol=1e-5, atol=1e-3)


def test_piecewise_solution_is_two_solves_glued():
    first = solve("square", 1000, 900, 0.01, 0.012, days=10)
    second = solve("square", first.a[-1], first.b[-1] + 200, 0.005, 0.012, days=10)
    glued = solve("square", 1000, 900, [(0, 0.01), (10, 0.005)], 0.012, days=20,
                  reinforcements=[Reinforcement("B", 10, 200)])
    np.testing.assert_allclose(glued.a[10:], second.a, rtol=1e-12)
    np.testing.assert_allclose(glued.b[10:], second.b, rtol=1e-12)
    assert glued.b[10] == pytest.approx(first.b[-1] + 200)  # right-continuous at arrivals


@pytest.mark.parametrize("law", LAWS)
def test_state_equation_holds_along_ode_trajectory(law):
    a0, b0, alpha, beta, p, q = 1000.0, 850.0, 2e-3, 3e-3, 0.4, 0.7
    if law in ("linear", "mixed"):
        alpha, beta = 2e-5, 3e-5
    s = solve(law, a0, b0, alpha, beta, p=p, q=q, days=60, method="ode",
              t_eval=np.linspace(0, 60, 121))
    assert s.a[-1] < a0 and s.b[-1] < b0
    live = (s.a > 1e-3) & (s.b > 1e-3)
    res = state_residual(law, a0, b0, s.a[live], s.b[live], alpha, beta, p, q)
    scale = abs(float(state_residual(law, a0, b0, s.a[-1], b0, alpha, beta, p, q))) + 1e-300
    assert np.max(np.abs(res)) < 1e-7 * scale
    # the same residual is far from zero off the trajectory
    assert abs(float(state_residual(law, a0, b0, s.a[-1], s.b[-1] * 1.01, alpha, beta, p,
                                    q))) > 1e-4 * scale


def test_state_equation_square_form():
    s = solve("square", 1000, 800, 0.01, 0.02, days=30)
    lhs = 0.01 * (1000**2 - s.a**2)
    rhs = 0.02 * (800**2 - s.b**2)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("case", SQUARE_CASES[:4])
def test_square_annihilation_time_matches_artanh_and_ode(case):
    a0, b0, alpha, beta = case
    o = outcome("square", a0, b0, alpha, beta)
    if alpha * a0**2 > beta * b0**2:
        expected = math.atanh(math.sqrt(beta / alpha) * b0 / a0) / math.sqrt(alpha * beta)
        survivors = math.sqrt(a0**2 - beta / alpha * b0**2)
        assert o.winner == "A"
    else:
        expected = math.atanh(math.sqrt(alpha / beta) * a0 / b0) / math.sqrt(alpha * beta)
        survivors = math.sqrt(b0**2 - alpha / beta * a0**2)
        assert o.winner == "B"
    assert o.annihilation_time == pytest.approx(expected, rel=1e-12)
    assert o.survivors == pytest.approx(survivors, rel=1e-12)
    ode = solve("square", a0, b0, alpha, beta, days=expected * 1.5, method="ode")
    assert ode.outcome.decided and ode.outcome.winner == o.winner
    assert ode.outcome.annihilation_time == pytest.approx(expected, rel=1e-7)
    assert ode.outcome.survivors == pytest.approx(survivors, rel=1e-7)


def test_mixed_and_generalized_annihilation_times_match_ode():
    # mixed: B (guerrilla) wins; A is annihilated at 2*atan(A0/d)/(alpha*d)
    a0, b0, alpha, beta = 1000.0, 800.0, 1e-5, 0.01
    d = math.sqrt(2 * beta * b0 / alpha - a0**2)
    t_mixed = 2 * math.atan(a0 / d) / (alpha * d)
    assert annihilation_time("mixed", a0, b0, alpha, beta) == pytest.approx(t_mixed, rel=1e-12)
    ode = solve("mixed", a0, b0, alpha, beta, days=300, method="ode")
    assert ode.annihilations[0][1] == "A"
    assert ode.annihilations[0][0] == pytest.approx(t_mixed, rel=1e-7)
    # generalized with p < 1: the quadrature along the state equation matches the ODE event
    t_gen = annihilation_time("generalized", 1000, 800, 0.01, 0.01, p=0.5, q=0.5)
    gen = solve("generalized", 1000, 800, 0.01, 0.01, p=0.5, q=0.5, days=400)
    assert gen.annihilations == ((pytest.approx(t_gen, rel=1e-8), "B"),)
    # generalized with p=0, q=1 is the square law
    assert t_gen != pytest.approx(annihilation_time("square", 1000, 800, 0.01, 0.01))
    assert annihilation_time("generalized", 1000, 800, 0.01, 0.01, p=0, q=1) == pytest.approx(
        annihilation_time("square", 1000, 800, 0.01, 0.01), rel=1e-6)


def test_laws_without_finite_annihilation():
    for law in ("linear", "logarithmic"):
        assert math.isinf(annihilation_time(law, 1000, 800, 1e-4, 1e-4))
    lin = outcome("linear", 1000, 800, 2e-5, 1e-5)
    assert lin.winner == "A" and lin.survivors == pytest.approx(1000 - 800 / 2)
    assert outcome("logarithmic", 1000, 800, 0.02, 0.01).winner is None
    s = solve("linear", 1000, 800, 2e-5, 1e-5, days=30)
    assert not s.outcome.decided and s.outcome.winner == "A"


def test_iwo_jima_engel():
    """Engel (1954): US effectiveness 0.0106, Japanese effectiveness 0.0544 per day."""
    s = solve("square", 54000, 21500, alpha=0.0106, beta=0.0544, days=36,
              reinforcements=IWO_JIMA)
    assert s.outcome.winner == "A" and s.outcome.decided
    assert s.outcome.annihilation_time == pytest.approx(35.44, abs=0.01)
    assert s.losses[0] == pytest.approx(20203, abs=1)
    assert s.a[-1] == pytest.approx(52797, abs=1)
    assert s.b[-1] == 0.0
    # with the two coefficients swapped the defenders last under a week
    swapped = solve("square", 54000, 21500, alpha=0.0544, beta=0.0106, days=36,
                    reinforcements=IWO_JIMA)
    assert swapped.outcome.annihilation_time == pytest.approx(6.51, abs=0.01)
    assert swapped.losses[0] == pytest.approx(785, abs=1)


def test_annihilation_then_reinforcement_restarts_combat():
    s = solve("square", 1000, 100, 0.05, 0.01, days=20,
              reinforcements=[Reinforcement("B", 10, 500)])
    assert s.annihilations[0][1] == "B" and s.annihilations[0][0] < 10
    assert s.b[9] == 0.0 and s.b[10] == 500.0
    assert s.a[9] == s.a[8]  # frozen while B is gone
    assert s.a[-1] < s.a[10]


@settings(max_examples=60, deadline=None)
@given(law=st.sampled_from(["square", "linear", "logarithmic", "mixed"]),
       a0=st.floats(1, 1e5), b0=st.floats(1, 1e5),
       alpha=st.floats(1e-6, 0.2), beta=st.floats(1e-6, 0.2))
def test_closed_forms_never_negative_and_never_rise(law, a0, b0, alpha, beta):
    if law in ("linear", "mixed"):
        alpha, beta = alpha / 1000, beta / 1000
    a, b = closed_form(law, a0, b0, alpha, beta, np.linspace(0, 500, 201))
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    assert np.all(a >= 0) and np.all(b >= 0)
    assert np.all(np.diff(a) <= 1e-9 * a0) and np.all(np.diff(b) <= 1e-9 * b0)


@pytest.mark.parametrize("text", ["A:2", "C:1:5", "A:x:5", "A:1:-5", "B:-1:5"])
def test_bad_reinforcement_text(text):
    with pytest.raises(UserError) as exc:
        parse_reinforcement(text)
    assert exc.value.field == "--reinforce"


def test_bad_arguments_are_user_errors():
    with pytest.raises(UserError, match="unknown law"):
        solve("cubic", 1, 1, 1, 1, days=1)
    with pytest.raises(UserError) as exc:
        solve("square", -1, 1, 1, 1, days=1)
    assert exc.value.field == "a0"
    with pytest.raises(UserError) as exc:
        solve("square", 1, 1, 0.1, [(0, 0.1), (0, 0.2)], days=1)
    assert exc.value.field == "beta"
    with pytest.raises(UserError):
        solve("generalized", 1, 1, 1, 1, days=1, method="closed-form")
