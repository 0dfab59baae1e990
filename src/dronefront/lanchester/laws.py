"""Deterministic Lanchester laws: right-hand sides, closed forms, state equations and ``solve``.

Side A loses ``beta * g_A(A, B)`` per day and side B loses ``alpha * g_B(A, B)`` per day, so
``alpha`` is A's effectiveness against B and ``beta`` is B's effectiveness against A:

=============  ====================  ====================  =========================
law            dA/dt                 dB/dt                 state equation exponents
=============  ====================  ====================  =========================
square         -beta * B             -alpha * A            (1, 1)
linear         -beta * A * B         -alpha * A * B        (0, 0)
logarithmic    -beta * A             -alpha * B            (-1, -1)
mixed          -beta * B             -alpha * A * B        (1, 0)
generalized    -beta * A^p * B^q     -alpha * B^p * A^q    (q - p, q - p)
=============  ====================  ====================  =========================

In the mixed (Deitchman ambush/guerrilla) law **A is the exposed conventional force and B the
concealed guerrilla force**: B's aimed fire kills A in proportion to B alone, while A's area fire
into B's hiding places kills B in proportion to A times B (the density of targets).

Combat stops when a side reaches zero; a reinforcement that arrives later restarts it.
Strengths are right-continuous in time: the value at a reinforcement time includes the arrivals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import quad, solve_ivp

from dronefront import limits
from dronefront.errors import UserError

LAWS: tuple[str, ...] = ("square", "linear", "logarithmic", "mixed", "generalized")
CLOSED_FORM_LAWS: tuple[str, ...] = ("square", "linear", "logarithmic", "mixed")
Side = Literal["A", "B"]
CoefficientLike = float | Callable[[float], float] | Sequence[tuple[float, float]]

# Exponents (r_A, r_B) of the state equation alpha*(F_rA(A0) - F_rA(A)) = beta*(F_rB(B0) - F_rB(B))
# with F_r(x) = x^(r+1)/(r+1), or ln x when r = -1. The generalized law uses r = q - p on both.
_STATE_EXPONENTS = {"square": (1.0, 1.0), "linear": (0.0, 0.0), "logarithmic": (-1.0, -1.0),
                    "mixed": (1.0, 0.0)}


def check_law(law: str) -> str:
    """Return ``law`` lower-cased, or raise :class:`UserError` naming the known laws."""
    name = str(law).strip().lower()
    if name not in LAWS:
        raise UserError(f"unknown law {law!r}; choose one of {', '.join(LAWS)}", field="law")
    return name


@dataclass(frozen=True)
class Reinforcement:
    """``count`` troops join ``side`` ("A" or "B") instantaneously at time ``day``."""

    side: Side
    day: float
    count: float

    def __post_init__(self) -> None:
        side = str(self.side).upper()
        if side not in ("A", "B"):
            raise UserError(f"reinforcement side must be A or B, not {self.side!r}",
                            field="reinforce")
        if not (math.isfinite(self.day) and self.day >= 0):
            raise UserError(f"reinforcement day must be >= 0, not {self.day}", field="reinforce")
        if not (math.isfinite(self.count) and self.count >= 0):
            raise UserError(f"reinforcement count must be >= 0, not {self.count}",
                            field="reinforce")
        object.__setattr__(self, "side", side)
        object.__setattr__(self, "day", float(self.day))
        object.__setattr__(self, "count", float(self.count))


def parse_reinforcement(text: str) -> Reinforcement:
    """Parse ``SIDE:DAY:COUNT`` (e.g. ``A:2:6000``) into a :class:`Reinforcement`.

    >>> parse_reinforcement("a:2:6000")
    Reinforcement(side='A', day=2.0, count=6000.0)
    """
    parts = str(text).split(":")
    if len(parts) != 3:
        raise UserError(f"expected SIDE:DAY:COUNT, got {text!r}", field="--reinforce")
    try:
        day, count = float(parts[1]), float(parts[2])
    except ValueError:
        raise UserError(f"DAY and COUNT must be numbers in {text!r}",
                        field="--reinforce") from None
    try:
        return Reinforcement(parts[0].strip(), day, count)  # type: ignore[arg-type]
    except UserError as exc:
        raise UserError(exc.message, field="--reinforce") from None


class Coefficient:
    """A coefficient that may vary in time: a constant, a callable ``f(t)``, or a piecewise
    constant schedule ``[(t0, v0), (t1, v1), ...]`` (``v_i`` on ``[t_i, t_{i+1})``; ``v0``
    also before ``t0``).

    >>> c = Coefficient([(0, 0.05), (10, 0.02)])
    >>> c(5.0), c(10.0), c.breakpoints
    (0.05, 0.02, (10.0,))
    """

    def __init__(self, spec: CoefficientLike | Coefficient, name: str = "coefficient") -> None:
        self.name = name
        self.func: Callable[[float], float] | None = None
        self.times = np.zeros(1)
        self.values = np.zeros(1)
        if isinstance(spec, Coefficient):
            self.func, self.times, self.values = spec.func, spec.times, spec.values
        elif callable(spec):
            self.func = spec
        elif np.ndim(spec) == 0:
            self.values = np.array([_nonnegative(float(spec), name)])  # type: ignore[arg-type]
        else:
            arr = np.asarray(spec, dtype=float)
            if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
                raise UserError("a schedule must be a list of (time, value) pairs", field=name)
            if np.any(np.diff(arr[:, 0]) <= 0):
                raise UserError("schedule times must increase", field=name)
            bad = ~(np.isfinite(arr[:, 1]) & (arr[:, 1] >= 0))
            if bad.any():
                raise UserError(f"schedule values must be finite and >= 0, not "
                                f"{arr[bad, 1][0]}", field=name)
            self.times, self.values = arr[:, 0].copy(), arr[:, 1].copy()

    @property
    def is_constant(self) -> bool:
        return self.func is None and len(self.values) == 1

    @property
    def is_piecewise(self) -> bool:
        """True for constants and piecewise-constant schedules (closed forms apply piecewise)."""
        return self.func is None

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Times where a piecewise schedule changes value."""
        return tuple(float(t) for t in self.times[1:]) if self.func is None else ()

    def __call__(self, t: float) -> float:
        if self.func is not None:
            return _nonnegative(float(self.func(float(t))), self.name)
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return float(self.values[max(i, 0)])

    def __repr__(self) -> str:
        if self.func is not None:
            return f"Coefficient({self.func!r})"
        if self.is_constant:
            return f"Coefficient({self.values[0]!r})"
        return f"Coefficient({list(zip(self.times.tolist(), self.values.tolist(), strict=True))})"


OVERFLOW = ("{what} overflow: the result is not a finite number (use smaller strengths, "
            "coefficients or horizon)")


@contextmanager
def overflow_guard(what: str, also: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Floating-point overflow inside (or an error in ``also``) becomes one
    :class:`UserError` saying ``what`` overflow.

    NumPy's warnings are silenced inside; callers check that their results are finite.
    """
    with np.errstate(all="ignore"):
        try:
            yield
        except (OverflowError, FloatingPointError, ZeroDivisionError, *also):
            raise UserError(OVERFLOW.format(what=what)) from None


def _nonnegative(value: float, name: str) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise UserError(f"must be a finite number >= 0, not {value}", field=name)
    return value


# --------------------------------------------------------------------------- right-hand sides


def kernel_exponents(law: str, p: float = 0.0, q: float = 1.0
                     ) -> tuple[tuple[float, float], tuple[float, float]]:
    """Exponents ``((own_A, other_A), (own_B, other_B))`` of the attrition kernels.

    A's kernel is ``A^own_A * B^other_A`` and B's is ``B^own_B * A^other_B``.

    >>> kernel_exponents("mixed")
    ((0.0, 1.0), (1.0, 1.0))
    """
    law = check_law(law)
    table = {"square": ((0.0, 1.0), (0.0, 1.0)), "linear": ((1.0, 1.0), (1.0, 1.0)),
             "logarithmic": ((1.0, 0.0), (1.0, 0.0)), "mixed": ((0.0, 1.0), (1.0, 1.0))}
    return table.get(law, ((float(p), float(q)), (float(p), float(q))))


def kernels(law: str, a: ArrayLike, b: ArrayLike, p: float = 0.0, q: float = 1.0
            ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Attrition kernels ``(g_A, g_B)``: A loses ``beta*g_A`` and B loses ``alpha*g_B`` per day.

    Both are zero once either side is at zero (combat is over).

    >>> kernels("square", 3.0, 5.0)
    (array(5.), array(3.))
    """
    (pa, qa), (pb, qb) = kernel_exponents(law, p, q)
    a = np.maximum(np.asarray(a, dtype=float), 0.0)
    b = np.maximum(np.asarray(b, dtype=float), 0.0)
    alive = (a > 0) & (b > 0)
    return np.where(alive, a**pa * b**qa, 0.0), np.where(alive, b**pb * a**qb, 0.0)


def rhs(law: str, a: ArrayLike, b: ArrayLike, alpha: float, beta: float,
        p: float = 0.0, q: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Time derivatives ``(dA/dt, dB/dt)`` of the law.

    >>> rhs("square", 100.0, 50.0, alpha=0.1, beta=0.2)
    (array(-10.), array(-10.))
    """
    ga, gb = kernels(law, a, b, p, q)
    return np.asarray(-beta * ga), np.asarray(-alpha * gb)


# ------------------------------------------------------------------------------ state equation


def state_exponents(law: str, p: float = 0.0, q: float = 1.0) -> tuple[float, float]:
    """Exponents ``(r_A, r_B)`` of the law's state equation (see :func:`state_residual`)."""
    law = check_law(law)
    if law == "generalized":
        return q - p, q - p
    return _STATE_EXPONENTS[law]


def _F(x: ArrayLike, r: float) -> NDArray[np.float64]:
    x = np.asarray(x, dtype=float)
    if r == -1.0:
        with np.errstate(divide="ignore"):
            return np.log(x)
    with np.errstate(divide="ignore"):
        return x ** (r + 1.0) / (r + 1.0)


def _F_inv(y: float, r: float) -> float:
    if r == -1.0:
        return math.exp(y)
    return max((r + 1.0) * y, 0.0) ** (1.0 / (r + 1.0))


def state_residual(law: str, a0: ArrayLike, b0: ArrayLike, a: ArrayLike, b: ArrayLike,
                   alpha: float, beta: float, p: float = 0.0, q: float = 1.0
                   ) -> NDArray[np.float64]:
    """Residual of the state equation ``alpha*(F(A0) - F(A)) - beta*(F(B0) - F(B))``.

    ``F(x) = x^(r+1)/(r+1)`` (``ln x`` for ``r = -1``) with the law's exponents; for the square
    law this is Lanchester's ``alpha*(A0^2 - A^2)/2 - beta*(B0^2 - B^2)/2``. It is zero along
    any trajectory with constant coefficients and no reinforcements.

    >>> b = np.sqrt(80**2 - (100**2 - 60**2) / 2)   # B when A = 60, alpha/beta = 1/2
    >>> abs(float(state_residual("square", 100, 80, 60, b, alpha=0.01, beta=0.02))) < 1e-12
    True
    """
    ra, rb = state_exponents(law, p, q)
    with np.errstate(invalid="ignore"):
        return alpha * (_F(a0, ra) - _F(a, ra)) - beta * (_F(b0, rb) - _F(b, rb))


# ------------------------------------------------------------------------------------ outcome


@dataclass(frozen=True)
class Outcome:
    """How a battle ends.

    Attributes:
        winner: "A", "B", "draw" (both reach zero together), or None when neither side can
            be annihilated (both decline towards zero, e.g. the logarithmic law).
        survivors: the winner's strength once the loser is gone (0 for a draw or None).
        annihilation_time: when the loser reaches zero (``inf`` if only asymptotically).
        decided: True when the annihilation happened within the solved horizon; False when
            the outcome is projected from the final state, assuming no further reinforcements
            and coefficients frozen at their final values.
    """

    winner: str | None
    survivors: float
    annihilation_time: float
    decided: bool = False

    def describe(self) -> str:
        """One line, e.g. ``A wins with 52,000.0 survivors; B annihilated at day 12.35``."""
        when = ("never in finite time" if math.isinf(self.annihilation_time)
                else f"at day {self.annihilation_time:,.2f}")
        tag = "" if self.decided else " (projected beyond the horizon)"
        if self.winner in ("A", "B"):
            loser = "B" if self.winner == "A" else "A"
            return (f"{self.winner} wins with {self.survivors:,.1f} survivors; "
                    f"{loser} annihilated {when}{tag}")
        if self.winner == "draw":
            return f"draw: both sides annihilated {when}{tag}"
        return f"no winner: neither side is annihilated, both decline towards zero{tag}"


def outcome(law: str, a0: float, b0: float, alpha: float, beta: float,
            p: float = 0.0, q: float = 1.0) -> Outcome:
    """Winner, survivors and annihilation time for constant coefficients, no reinforcements.

    Uses the state equation for the winner and survivors and the analytic time to
    annihilation (:func:`annihilation_time`).

    >>> o = outcome("square", 1000, 800, alpha=0.01, beta=0.01)
    >>> o.winner, round(o.survivors, 6), round(o.annihilation_time, 3)
    ('A', 600.0, 109.861)
    """
    law = check_law(law)
    a0, b0 = float(a0), float(b0)
    if a0 <= 0 or b0 <= 0:
        if a0 <= 0 and b0 <= 0:
            return Outcome("draw", 0.0, 0.0, True)
        return Outcome("A" if a0 > 0 else "B", max(a0, b0), 0.0, True)
    ra, rb = state_exponents(law, p, q)
    if ra <= -1 or rb <= -1 or (alpha == 0 and beta == 0):
        return Outcome(None, 0.0, math.inf)
    k = float(alpha * _F(a0, ra) - beta * _F(b0, rb))
    scale = float(alpha * _F(a0, ra) + beta * _F(b0, rb))
    if abs(k) <= 1e-14 * scale:
        return Outcome("draw", 0.0, annihilation_time(law, a0, b0, alpha, beta, p, q))
    winner = "A" if k > 0 else "B"
    survivors = _F_inv(k / alpha, ra) if k > 0 else _F_inv(-k / beta, rb)
    return Outcome(winner, survivors, annihilation_time(law, a0, b0, alpha, beta, p, q))


def annihilation_time(law: str, a0: float, b0: float, alpha: float, beta: float,
                      p: float = 0.0, q: float = 1.0) -> float:
    """Time until the losing side reaches zero (``inf`` if it never does in finite time).

    Square law: ``artanh(sqrt(beta/alpha) * B0/A0) / sqrt(alpha*beta)`` when A wins (swap the
    roles when B wins). Mixed law: ``2*atan(A0/d) / (alpha*d)``, ``d^2 = 2*beta*B0/alpha - A0^2``,
    when B wins (A never kills B in finite time). Linear and logarithmic laws: ``inf``.
    Generalized law: the quadrature ``int_0^{B0} dB / (alpha B^p A(B)^q)`` along the state
    equation, finite when the loser's exponent ``p < 1``.

    >>> round(annihilation_time("square", 1000, 800, alpha=0.01, beta=0.01), 4)
    109.8612
    """
    law = check_law(law)
    a0, b0 = float(a0), float(b0)
    if a0 <= 0 or b0 <= 0:
        return 0.0
    if law == "square":
        return float(_square_times(np.float64(a0), np.float64(b0), alpha, beta).min())
    if law == "mixed":
        return float(_mixed_time_a(np.float64(a0), np.float64(b0), alpha, beta))
    if law in ("linear", "logarithmic"):
        return math.inf
    return _generalized_time(a0, b0, alpha, beta, p, q)


def _generalized_time(a0: float, b0: float, alpha: float, beta: float, p: float, q: float
                      ) -> float:
    r = q - p
    if r <= -1 or p >= 1:
        return math.inf
    k = float(alpha * _F(a0, r) - beta * _F(b0, r))
    if k > 0:  # B is the loser: dB/dt = -alpha B^p A(B)^q
        if alpha == 0:
            return math.inf

        def rate(x: float) -> float:
            other = _F_inv((k + beta * float(_F(x, r))) / alpha, r)
            return alpha * x**p * other**q
        top = b0
    elif k < 0:
        if beta == 0:
            return math.inf

        def rate(x: float) -> float:
            other = _F_inv((-k + alpha * float(_F(x, r))) / beta, r)
            return beta * x**p * other**q
        top = a0
    else:
        return math.inf
    # substitute x = u^m, m = 1/(1-p), which removes the x^-p singularity at zero
    m = 1.0 / (1.0 - p)
    value, _ = quad(lambda u: m * u ** (m - 1.0) / rate(u**m), 0.0, top ** (1.0 / m),
                    limit=200, epsabs=0.0, epsrel=1e-12)
    return float(value)


# ------------------------------------------------------------------------------- closed forms


def _modes(x0, y0, grow, decay):
    """``x0 cosh - y0 sinh`` written as ``(x0-y0)/2 e^{gt} + (x0+y0)/2 e^{-gt}``."""
    c = 0.5 * (x0 - y0)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(c == 0, 0.0, c * grow) + 0.5 * (x0 + y0) * decay


def _expm1_over(k: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """``expm1(k t) / k``, equal to ``t`` at ``k = 0``."""
    zero = k == 0
    safe = np.where(zero, 1.0, k)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(zero, t, np.expm1(safe * t) / safe)


def _square_times(a0, b0, alpha, beta) -> NDArray[np.float64]:
    """Times at which A and B would reach zero under the square law (inf if never)."""
    a0, b0 = np.asarray(a0, dtype=float), np.asarray(b0, dtype=float)
    g = math.sqrt(alpha * beta)

    def t_zero(x0, y0, kill):  # x0 killed by y0 at rate kill*y; x' = -kill*y
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(kill * y0 > 0, g * x0 / np.where(kill * y0 > 0, kill * y0, 1.0),
                             np.inf)
            if g > 0:
                t = np.where(ratio < 1, np.arctanh(np.minimum(ratio, 1.0)) / g, np.inf)
            else:
                t = np.where(kill * y0 > 0, x0 / np.where(kill * y0 > 0, kill * y0, 1.0),
                             np.inf)
        return np.where(x0 <= 0, 0.0, t)

    return np.stack([t_zero(a0, b0, beta), t_zero(b0, a0, alpha)])


def _mixed_time_a(a0, b0, alpha, beta) -> NDArray[np.float64]:
    """Time for A to reach zero under the mixed law (inf if A wins or draws)."""
    a0, b0 = np.asarray(a0, dtype=float), np.asarray(b0, dtype=float)
    k = 0.5 * alpha * a0**2 - beta * b0
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha > 0:
            d = np.sqrt(np.maximum(-2.0 * k / alpha, 0.0))
            t = np.where(k < 0, np.arctan2(a0, d) / (0.5 * alpha * d), np.inf)
        else:  # A' = -beta*B0 constant
            t = np.where(beta * b0 > 0, a0 / np.where(beta * b0 > 0, beta * b0, 1.0), np.inf)
    return np.where(a0 <= 0, 0.0, np.where(b0 <= 0, np.inf, t))


def closed_form(law: str, a0: ArrayLike, b0: ArrayLike, alpha: float, beta: float,
                t: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact strengths at times ``t`` for constant coefficients and no reinforcements.

    Broadcasts over ``a0``, ``b0`` and ``t``; the loser stays at zero (and the winner at its
    final strength) after annihilation. Laws: square, linear, logarithmic, mixed.

    * square: ``A(t) = A0 cosh(g t) - sqrt(beta/alpha) B0 sinh(g t)``, ``g = sqrt(alpha*beta)``,
      and symmetrically for B;
    * linear: with ``K = alpha*A0 - beta*B0``, ``B(t) = B0 / (1 + alpha*A0*(e^{K t}-1)/K)`` and
      ``A(t) = A0 / (1 + beta*B0*(1-e^{-K t})/K)``;
    * logarithmic: ``A(t) = A0 e^{-beta t}``, ``B(t) = B0 e^{-alpha t}``;
    * mixed: with ``K = alpha*A0^2/2 - beta*B0``, ``A`` solves ``A' = K - alpha A^2/2`` (a tanh
      form for ``K > 0``, a tan form for ``K < 0``) and ``B = (alpha A^2/2 - K)/beta``.

    >>> a, b = closed_form("square", 1000.0, 800.0, 0.01, 0.01, [0.0, 200.0])
    >>> np.round(a, 6).tolist(), np.round(b, 6).tolist()
    ([1000.0, 600.0], [800.0, 0.0])
    """
    law = check_law(law)
    if law not in CLOSED_FORM_LAWS:
        raise UserError(f"the {law} law has no closed form; use solve()", field="law")
    a0, b0, t = np.broadcast_arrays(np.asarray(a0, dtype=float), np.asarray(b0, dtype=float),
                                    np.asarray(t, dtype=float))
    alpha, beta = float(alpha), float(beta)
    dead = (a0 <= 0) | (b0 <= 0)
    if law == "square":
        ta, tb = _square_times(a0, b0, alpha, beta)
        tc = np.minimum(t, np.minimum(ta, tb))
        g = math.sqrt(alpha * beta)
        if g > 0:  # growing and decaying modes, so that exact draws decay like e^{-g t}
            grow, decay = np.exp(np.minimum(g * tc, 700.0)), np.exp(-g * tc)
            a = _modes(a0, beta / g * b0, grow, decay)
            b = _modes(b0, alpha / g * a0, grow, decay)
        else:  # at most one side fires: straight lines
            a, b = a0 - beta * b0 * tc, b0 - alpha * a0 * tc
        a = np.where(ta <= t, 0.0, a)
        b = np.where(tb <= t, 0.0, b)
    elif law == "linear":
        k = alpha * a0 - beta * b0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            b = b0 / (1.0 + alpha * a0 * _expm1_over(k, t))
            a = a0 / (1.0 + beta * b0 * _expm1_over(-k, t))
        a, b = np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)
    elif law == "logarithmic":
        a, b = a0 * np.exp(-beta * t), b0 * np.exp(-alpha * t)
    else:
        a, b = _mixed(a0, b0, alpha, beta, t)
    a = np.where(dead, a0, np.maximum(a, 0.0))
    b = np.where(dead, b0, np.maximum(b, 0.0))
    return a, b


def _mixed(a0, b0, alpha, beta, t):
    """Mixed law with ``k = alpha/2``, ``K = k A0^2 - beta B0`` and ``w = sqrt(|K| k)``:
    ``A = (A0 + K R)/(1 + k A0 R)``, ``B = B0 / (c (1 + k A0 R))^2`` where ``R = tanh(w t)/w``,
    ``c = cosh(w t)`` for ``K > 0`` and ``R = tan(w t)/w``, ``c = cos(w t)`` for ``K < 0``."""
    ta = _mixed_time_a(a0, b0, alpha, beta)
    tc = np.minimum(t, ta)
    k = 0.5 * alpha
    big_k = k * a0**2 - beta * b0
    w = np.sqrt(np.abs(big_k) * k)
    wt = w * tc
    safe_w = np.where(wt > 1e-8, w, 1.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r_pos = np.where(wt > 1e-8, np.tanh(wt) / safe_w, tc)
        r_neg = np.where(wt > 1e-8, np.tan(wt) / safe_w, tc)
        r = np.where(big_k >= 0, r_pos, r_neg)
        inv_c = np.where(big_k >= 0, 1.0 / np.cosh(wt), 1.0 / np.cos(wt))
        den = 1.0 + k * a0 * r
        a = (a0 + big_k * r) / den
        b = b0 * (inv_c / den) ** 2
    hit = ta <= t
    a = np.where(hit, 0.0, a)
    if beta > 0:
        b = np.where(hit, np.maximum(-big_k, 0.0) / beta, b)
    return np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)


# ---------------------------------------------------------------------------------- solve()


@dataclass(frozen=True)
class Solution:
    """A deterministic trajectory from :func:`solve`.

    Attributes:
        law: the law's name.
        t, a, b: times and strengths (``a[i]`` is A's strength at ``t[i]``).
        alpha, beta: the coefficients as given (see :class:`Coefficient`).
        p, q: exponents of the generalized law (ignored by the others).
        a0, b0: initial strengths (before any day-0 arrivals).
        reinforcements: arrivals, sorted by day.
        annihilations: ``(time, side)`` for every time a side reached zero.
        outcome: winner, survivors and annihilation time (see :class:`Outcome`).
        method: "closed-form" or "ode".
        days: the horizon.
    """

    law: str
    t: NDArray[np.float64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    alpha: Coefficient
    beta: Coefficient
    p: float
    q: float
    a0: float
    b0: float
    reinforcements: tuple[Reinforcement, ...]
    annihilations: tuple[tuple[float, str], ...]
    outcome: Outcome
    method: str
    days: float

    def arrived(self, side: Side, until: float | None = None) -> float:
        """Initial strength plus reinforcements of ``side`` that arrived by ``until``."""
        until = self.days if until is None else until
        base = self.a0 if side == "A" else self.b0
        return base + sum(r.count for r in self.reinforcements if r.side == side
                          and r.day <= until)

    @property
    def losses(self) -> tuple[float, float]:
        """Casualties ``(A, B)`` over the horizon: everyone who arrived minus final strength."""
        return self.arrived("A") - float(self.a[-1]), self.arrived("B") - float(self.b[-1])


def solve(law: str, a0: float, b0: float, alpha: CoefficientLike, beta: CoefficientLike, *,
          days: float, p: float = 0.0, q: float = 1.0,
          reinforcements: Iterable[Reinforcement] = (), t_eval: ArrayLike | None = None,
          method: Literal["auto", "closed-form", "ode"] = "auto", rtol: float = 1e-10,
          ) -> Solution:
    """Solve a Lanchester law from ``t = 0`` to ``days``.

    Integrates piecewise between reinforcement times (and the change times of piecewise
    constant coefficients). On each piece it uses the closed form where the law has one and
    the coefficients are piecewise constant (``method="auto"``), otherwise
    :func:`scipy.integrate.solve_ivp` (DOP853, ``rtol=1e-10``) with terminal events that stop
    the piece when a side reaches zero.

    Args:
        law: square, linear, logarithmic, mixed or generalized.
        a0, b0: initial strengths.
        alpha: A's effectiveness against B (constant, callable ``f(t)`` or schedule).
        beta: B's effectiveness against A.
        days: the horizon.
        p, q: exponents of the generalized law (default 0, 1: the square law).
        reinforcements: instantaneous arrivals (day 0 arrivals add to the initial strength).
        t_eval: output times in ``[0, days]`` (default every day, plus ``days``).
        method: "auto", "closed-form" (error if impossible) or "ode".
        rtol: relative tolerance of the ODE solver.

    Returns:
        A :class:`Solution` with the trajectory and the :class:`Outcome`.

    Raises:
        UserError: an input is out of range, or the inputs overflow (the trajectory or
            the outcome would not be finite numbers).

    >>> s = solve("square", 1000, 800, alpha=0.01, beta=0.01, days=150)
    >>> s.outcome.winner, round(s.outcome.survivors, 3), round(s.outcome.annihilation_time, 3)
    ('A', 600.0, 109.861)
    """
    with overflow_guard("the inputs"):
        sol = _solve(law, a0, b0, alpha, beta, days=days, p=p, q=q,
                     reinforcements=reinforcements, t_eval=t_eval, method=method, rtol=rtol)
    o = sol.outcome
    if not (np.isfinite(sol.a).all() and np.isfinite(sol.b).all()
            and math.isfinite(o.survivors) and not math.isnan(o.annihilation_time)
            and _starts_at(sol, "A", sol.a) and _starts_at(sol, "B", sol.b)):
        raise UserError(OVERFLOW.format(what="the inputs"))
    return sol


def _starts_at(sol: Solution, side: str, values: NDArray[np.float64]) -> bool:
    """Whether the trajectory at day 0 is the initial strength (an overflow inside the
    closed forms can leave finite nonsense, such as 0)."""
    if sol.t.size == 0 or sol.t[0] != 0:
        return True
    start = (sol.a0 if side == "A" else sol.b0) + sum(
        r.count for r in sol.reinforcements if r.side == side and r.day == 0)
    return math.isclose(float(values[0]), start, rel_tol=1e-6)


def _solve(law: str, a0: float, b0: float, alpha: CoefficientLike, beta: CoefficientLike, *,
           days: float, p: float = 0.0, q: float = 1.0,
           reinforcements: Iterable[Reinforcement] = (), t_eval: ArrayLike | None = None,
           method: Literal["auto", "closed-form", "ode"] = "auto", rtol: float = 1e-10,
           ) -> Solution:
    """:func:`solve` without the overflow checks."""
    law = check_law(law)
    a0 = _nonnegative(float(a0), "a0")
    b0 = _nonnegative(float(b0), "b0")
    days = float(days)
    if not (math.isfinite(days) and days > 0):
        raise UserError(f"must be a number > 0, not {days}", field="days")
    limits.check("lanchester_days", days, field="days")
    p, q = _nonnegative(float(p), "p"), _nonnegative(float(q), "q")
    ca, cb = Coefficient(alpha, "alpha"), Coefficient(beta, "beta")
    reinf = tuple(sorted(reinforcements, key=lambda r: r.day))
    if t_eval is None:
        try:
            grid = np.arange(0.0, math.floor(days) + 1.0)
        except (ValueError, MemoryError):  # NumPy refuses or cannot allocate the daily grid
            raise UserError(f"too many days for a daily table: {days:g}", field="days") from None
        grid = np.unique(np.append(grid, days))
    else:
        grid = np.asarray(t_eval, dtype=float).ravel()
        if grid.size == 0 or np.any(np.diff(grid) < 0) or grid[0] < 0 or grid[-1] > days:
            raise UserError("t_eval must be sorted times within [0, days]", field="t_eval")
    closed_ok = law in CLOSED_FORM_LAWS and ca.is_piecewise and cb.is_piecewise
    if method == "closed-form" and not closed_ok:
        raise UserError(f"no closed form for the {law} law with these coefficients",
                        field="method")
    if method not in ("auto", "closed-form", "ode"):
        raise UserError(f"unknown method {method!r}", field="method")
    use_closed = closed_ok and method != "ode"

    cuts = {0.0, days} | {r.day for r in reinf if r.day < days}
    cuts |= {t for t in ca.breakpoints + cb.breakpoints if 0 < t < days}
    cuts_arr = np.array(sorted(cuts))
    out_a, out_b = np.empty_like(grid), np.empty_like(grid)
    a, b = a0, b0
    scale = max(a0 + b0 + sum(r.count for r in reinf), 1.0)
    events: list[tuple[float, str]] = []
    for i, start in enumerate(cuts_arr[:-1]):
        end = cuts_arr[i + 1]
        for r in reinf:
            if r.day == start:
                if r.side == "A":
                    a += r.count
                else:
                    b += r.count
        last = i == len(cuts_arr) - 2
        mask = (grid >= start) & ((grid < end) | (last & (grid <= end)))
        ts = np.append(grid[mask], end)
        if a <= 0 or b <= 0:
            ya, yb = np.full(ts.shape, a), np.full(ts.shape, b)
        elif use_closed:
            al, be = ca(start), cb(start)
            ya, yb = closed_form(law, a, b, al, be, ts - start)
            if law == "square":
                t_hit = _square_times(a, b, al, be)
            elif law == "mixed":
                t_hit = np.array([_mixed_time_a(a, b, al, be), np.inf])
            else:
                t_hit = np.array([np.inf, np.inf])
            for side, th in zip("AB", t_hit, strict=True):
                if start + th <= end:
                    events.append((float(start + th), side))
        else:
            ya, yb, hit = _ode_piece(law, a, b, ca, cb, p, q, start, end, ts, rtol, scale)
            events.extend(hit)
        out_a[mask], out_b[mask] = ya[:-1], yb[:-1]
        a, b = float(ya[-1]), float(yb[-1])
    for r in reinf:  # arrivals exactly at the horizon show in the final value
        if r.day == days:
            if r.side == "A":
                a += r.count
                out_a[grid == days] = a
            else:
                b += r.count
                out_b[grid == days] = b
    if a <= 0 or b <= 0:
        side_dead = [s for s, v in (("A", a), ("B", b)) if v <= 0]
        # no event: the side underflowed to zero while decaying asymptotically
        t_dead = max((t for t, s in events if s in side_dead), default=math.inf)
        winner = "draw" if len(side_dead) == 2 else ("B" if side_dead == ["A"] else "A")
        result = Outcome(winner, max(a, b), t_dead, True)
    else:
        proj = outcome(law, a, b, ca(days), cb(days), p, q)
        result = Outcome(proj.winner, proj.survivors, days + proj.annihilation_time, False)
    return Solution(law, grid, out_a, out_b, ca, cb, p, q, a0, b0, reinf, tuple(events),
                    result, "closed-form" if use_closed else "ode", days)


def _ode_piece(law, a, b, ca: Coefficient, cb: Coefficient, p, q, start, end, ts, rtol, scale):
    """Integrate one piece in transformed variables. With a side's kernel ``x^e * y^f``:
    for ``e >= 1`` the side only vanishes asymptotically and is integrated as ``u = ln x``;
    for ``e < 1`` it is integrated as ``u = x^(1-e)``, whose derivative
    ``-(1-e) * coef * y^f`` stays away from zero, so the terminal event at ``u = 0`` is a clean
    crossing (``x`` itself touches zero tangentially when ``0 < e < 1``)."""
    (pa, qa), (pb, qb) = kernel_exponents(law, p, q)

    def to_x(u, e):
        if e >= 1:
            return math.exp(min(u, 700.0))
        return max(u, 0.0) ** (1.0 / (1.0 - e))

    def f(t, y):
        xa, xb = to_x(y[0], pa), to_x(y[1], pb)
        if xa <= 0 or xb <= 0:
            return [0.0, 0.0]
        da = cb(t) * xb**qa * (xa ** (pa - 1) if pa >= 1 else 1.0 - pa)
        db = ca(t) * xa**qb * (xb ** (pb - 1) if pb >= 1 else 1.0 - pb)
        return [-da, -db]

    def hit_a(t, y):
        return 1.0 if pa >= 1 else y[0]

    def hit_b(t, y):
        return 1.0 if pb >= 1 else y[1]

    for ev in (hit_a, hit_b):
        ev.terminal, ev.direction = True, -1  # type: ignore[attr-defined]
    y0 = [math.log(x) if e >= 1 else x ** (1.0 - e) for x, e in ((a, pa), (b, pb))]
    atol = [1e-12 if e >= 1 else 1e-12 * scale ** (1.0 - e) for e in (pa, pb)]
    sol = solve_ivp(f, (start, end), y0, method="DOP853", rtol=rtol, atol=atol,
                    dense_output=True, events=(hit_a, hit_b))
    if sol.status < 0:  # e.g. the step size underflowed: no trajectory to read
        raise UserError(f"the ODE solver failed on these inputs: {sol.message}")
    stop = float(sol.t[-1])
    y = sol.sol(np.minimum(ts, stop))
    cols = []
    for u, e in ((y[0], pa), (y[1], pb)):
        cols.append(np.exp(np.minimum(u, 700.0)) if e >= 1
                    else np.maximum(u, 0.0) ** (1.0 / (1.0 - e)))
    ya, yb = cols
    events = []
    for side, t_ev, col in (("A", sol.t_events[0], ya), ("B", sol.t_events[1], yb)):
        if len(t_ev):
            events.append((float(t_ev[0]), side))
            col[ts >= t_ev[0]] = 0.0
    return ya, yb, events
