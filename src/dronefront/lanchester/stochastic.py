"""Stochastic Lanchester laws: a continuous-time Markov chain simulated exactly (Gillespie).

The state is the pair of integer strengths ``(A, B)``. A loses one soldier at rate
``beta(t) * g_A(A, B)`` and B at rate ``alpha(t) * g_B(A, B)``, with the kernels of the
deterministic law (:func:`dronefront.lanchester.laws.kernels`); both rates are zero once a side
is at zero. For square-law kernels the rates are linear in the state, so the mean of the chain
follows the deterministic ODE until annihilation becomes likely; for large forces the chain
converges to the ODE for every law (Kurtz's theorem).

All replicates advance together: each step draws one exponential waiting time and one uniform
per live replicate, so the Python loop runs once per event of the slowest replicate.
Reinforcements and changes of a piecewise-constant coefficient are handled exactly (the chain
is memoryless, so a pending event is redrawn after a change); a callable coefficient is held
constant over steps of ``callable_step`` days.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dronefront import limits
from dronefront.errors import UserError
from dronefront.lanchester.laws import (
    Coefficient,
    CoefficientLike,
    Reinforcement,
    check_law,
    kernels,
)


@dataclass(frozen=True)
class StochasticResult:
    """Replicates of the Markov chain, sampled on a time grid.

    Attributes:
        law: the law's name.
        t: the time grid.
        a_paths, b_paths: strengths of every replicate, shape ``(replicates, len(t))``.
        seed: the seed of :func:`numpy.random.default_rng` that produced them.
        annihilation_times: per replicate, when a side last reached zero (nan if none).
    """

    law: str
    t: NDArray[np.float64]
    a_paths: NDArray[np.int64]
    b_paths: NDArray[np.int64]
    seed: int | None
    annihilation_times: NDArray[np.float64]

    @property
    def replicates(self) -> int:
        return int(self.a_paths.shape[0])

    @property
    def mean_a(self) -> NDArray[np.float64]:
        """Mean strength of A at each grid time."""
        return self.a_paths.mean(axis=0)

    @property
    def mean_b(self) -> NDArray[np.float64]:
        """Mean strength of B at each grid time."""
        return self.b_paths.mean(axis=0)

    def quantiles(self, qs: ArrayLike = (0.05, 0.5, 0.95)
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Pointwise quantiles of A and B, each of shape ``(len(qs), len(t))``."""
        qs = np.asarray(qs, dtype=float)
        return np.quantile(self.a_paths, qs, axis=0), np.quantile(self.b_paths, qs, axis=0)

    @property
    def p_a_wins(self) -> float:
        """Probability that B is annihilated (and A is not) by the end of the grid."""
        return float(np.mean((self.b_paths[:, -1] == 0) & (self.a_paths[:, -1] > 0)))

    @property
    def p_b_wins(self) -> float:
        """Probability that A is annihilated (and B is not) by the end of the grid."""
        return float(np.mean((self.a_paths[:, -1] == 0) & (self.b_paths[:, -1] > 0)))

    @property
    def p_undecided(self) -> float:
        """Probability that both sides still stand at the end of the grid."""
        return float(np.mean((self.a_paths[:, -1] > 0) & (self.b_paths[:, -1] > 0)))

    @property
    def expected_survivors(self) -> tuple[float, float]:
        """Mean final strengths ``(E[A_T], E[B_T])`` over all replicates."""
        return float(self.a_paths[:, -1].mean()), float(self.b_paths[:, -1].mean())

    def survivors_given_win(self) -> tuple[float, float]:
        """Mean final strength of A given A wins, and of B given B wins (nan if it never does)."""
        wa = (self.b_paths[:, -1] == 0) & (self.a_paths[:, -1] > 0)
        wb = (self.a_paths[:, -1] == 0) & (self.b_paths[:, -1] > 0)
        sa = float(self.a_paths[wa, -1].mean()) if wa.any() else math.nan
        sb = float(self.b_paths[wb, -1].mean()) if wb.any() else math.nan
        return sa, sb


def simulate(law: str, a0: int, b0: int, alpha: CoefficientLike, beta: CoefficientLike, *,
             days: float, p: float = 0.0, q: float = 1.0,
             reinforcements: Iterable[Reinforcement] = (), t_eval: ArrayLike | None = None,
             replicates: int = 200, seed: int | None = 0, callable_step: float = 0.1,
             max_steps: int = 10_000_000) -> StochasticResult:
    """Simulate the law's Markov chain exactly (Gillespie), ``replicates`` times in parallel.

    Args:
        law: square, linear, logarithmic, mixed or generalized.
        a0, b0: initial strengths (rounded to integers).
        alpha, beta: coefficients as in :func:`~dronefront.lanchester.laws.solve`.
        days: the horizon.
        p, q: exponents of the generalized law.
        reinforcements: arrivals (counts rounded to integers).
        t_eval: sampling times in ``[0, days]`` (default every day, plus ``days``).
        replicates: number of independent runs.
        seed: seed for :func:`numpy.random.default_rng`.
        callable_step: a callable coefficient is re-evaluated every this many days.
        max_steps: safety limit on the number of vectorised steps.

    Returns:
        A :class:`StochasticResult` (mean trajectory, win probabilities, survivors).

    >>> r = simulate("square", 100, 80, alpha=0.01, beta=0.01, days=200, replicates=400, seed=1)
    >>> round(r.p_a_wins, 2), round(r.expected_survivors[0])
    (0.98, 58)
    """
    law = check_law(law)
    if replicates < 1:
        raise UserError(f"must be >= 1, not {replicates}", field="replicates")
    if not (math.isfinite(days) and days > 0):
        raise UserError(f"must be a number > 0, not {days}", field="days")
    limits.check("lanchester_days", days, field="days")
    limits.check("replicates", replicates, field="replicates")
    for name, value in (("a0", a0), ("b0", b0), ("p", p), ("q", q)):
        if not (math.isfinite(value) and value >= 0):
            raise UserError(f"must be a finite number >= 0, not {value}", field=name)
    ca, cb = Coefficient(alpha, "alpha"), Coefficient(beta, "beta")
    if t_eval is None:
        grid = np.unique(np.append(np.arange(0.0, math.floor(days) + 1.0), days))
    else:
        grid = np.asarray(t_eval, dtype=float).ravel()
        if grid.size == 0 or np.any(np.diff(grid) < 0) or grid[0] < 0 or grid[-1] > days:
            raise UserError("t_eval must be sorted times within [0, days]", field="t_eval")

    # Breakpoints: reinforcement times, coefficient changes and the horizon. Piece k is
    # [bp[k-1], bp[k]) with constant coefficients; arrivals at bp[k] are added on crossing it.
    reinf = [r for r in reinforcements if r.day <= days]
    cuts = {float(days)} | {r.day for r in reinf if r.day > 0}
    cuts |= {t for t in ca.breakpoints + cb.breakpoints if 0 < t < days}
    if not (ca.is_piecewise and cb.is_piecewise):
        cuts |= set(np.arange(callable_step, days, callable_step).tolist())
    bp = np.array(sorted(cuts))
    starts = np.concatenate([[0.0], bp[:-1]])
    alpha_k = np.array([ca(s) for s in starts])
    beta_k = np.array([cb(s) for s in starts])
    add_a = np.zeros(len(bp), dtype=np.int64)
    add_b = np.zeros(len(bp), dtype=np.int64)
    start_a, start_b = int(round(a0)), int(round(b0))
    for r in reinf:
        n = int(round(r.count))
        if r.day == 0:
            start_a, start_b = start_a + n * (r.side == "A"), start_b + n * (r.side == "B")
        else:
            k = int(np.searchsorted(bp, r.day))
            (add_a if r.side == "A" else add_b)[k] += n

    rng = np.random.default_rng(seed)
    n_rep, n_grid = int(replicates), len(grid)
    a = np.full(n_rep, start_a, dtype=np.int64)
    b = np.full(n_rep, start_b, dtype=np.int64)
    t = np.zeros(n_rep)
    k = np.zeros(n_rep, dtype=np.int64)          # index of the next breakpoint
    gi = np.zeros(n_rep, dtype=np.int64)         # index of the next grid time to record
    out_a = np.zeros((n_rep, n_grid), dtype=np.int64)
    out_b = np.zeros((n_rep, n_grid), dtype=np.int64)
    t_dead = np.full(n_rep, np.nan)
    live = np.arange(n_rep)
    steps = 0
    while live.size:
        steps += 1
        if steps > max_steps:
            raise UserError(f"more than {max_steps} steps; use fewer troops or fewer days",
                            field="max_steps")
        al, bl, tl, kl = a[live], b[live], t[live], k[live]
        ga, gb = kernels(law, al, bl, p, q)
        rate_a, rate_b = beta_k[kl] * ga, alpha_k[kl] * gb
        total = rate_a + rate_b
        with np.errstate(divide="ignore"):
            wait = rng.standard_exponential(live.size) / total
        t_new = tl + wait
        nxt = bp[kl]
        cross = t_new >= nxt
        t_new = np.where(cross, nxt, t_new)
        # record the pre-jump state at grid times in [t, t_new)
        _record(grid, live, gi, t_new, al, bl, out_a, out_b)
        a_loses = rng.random(live.size) * total < rate_a
        event = ~cross
        al = al - (event & a_loses) + np.where(cross, add_a[kl], 0)
        bl = bl - (event & ~a_loses) + np.where(cross, add_b[kl], 0)
        died = event & ((al == 0) | (bl == 0))
        t_dead[live[died]] = t_new[died]
        a[live], b[live], t[live] = al, bl, t_new
        k[live] = kl + cross
        live = live[k[live] < len(bp)]
    # grid times at or after the horizon get the final state
    rest = np.arange(n_grid)[None, :] >= gi[:, None]
    out_a = np.where(rest, a[:, None], out_a)
    out_b = np.where(rest, b[:, None], out_b)
    return StochasticResult(law, grid, out_a, out_b, seed, t_dead)


def _record(grid, live, gi, t_new, al, bl, out_a, out_b) -> None:
    """Write the current states into the grid slots that the step from t to t_new passes."""
    n_grid = len(grid)
    idx = np.arange(live.size)
    while True:
        g = gi[live[idx]]
        ok = g < n_grid
        hit = np.zeros(idx.size, dtype=bool)
        hit[ok] = grid[g[ok]] < t_new[idx[ok]]
        if not hit.any():
            return
        idx = idx[hit]
        rows, cols = live[idx], gi[live[idx]]
        out_a[rows, cols] = al[idx]
        out_b[rows, cols] = bl[idx]
        gi[rows] += 1
