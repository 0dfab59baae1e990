"""Figures for Lanchester trajectories, stochastic runs and fits (matplotlib, Agg canvas).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot, so nothing
here touches the global backend; :func:`save_figure` writes PNG, SVG or PDF.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dronefront.io.outputs import check_output
from dronefront.io.outputs import save_figure as io_save_figure
from dronefront.lanchester.fitting import FitResult, StrengthData
from dronefront.lanchester.laws import Solution, solve
from dronefront.lanchester.stochastic import StochasticResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg", ".pdf")
_COLORS = {"A": "tab:blue", "B": "tab:red"}


def _figure(rows: int = 1, height: float = 4.0) -> Figure:
    # Imported here so that the commands run without matplotlib unless asked for a plot.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, height * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_plot_path(path: str | Path) -> Path:
    """Return ``path`` as a Path, or raise :class:`UserError` if it can't take a plot (its
    suffix is not supported, its folder is missing, it is a folder...)."""
    return check_output(path, "--plot", suffixes=FORMATS)


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save ``fig`` as PNG, SVG or PDF (chosen by the suffix) atomically; return the path."""
    return io_save_figure(fig, check_plot_path(path), dpi=120)


def plot_solution(solution: Solution, *, data: StrengthData | None = None,
                  stochastic: StochasticResult | None = None, title: str | None = None,
                  points: int = 400) -> Figure:
    """Strength of both sides against time, with annihilations and reinforcements marked.

    The curve is re-solved on a fine grid of ``points`` times. ``data`` adds observed
    strengths; ``stochastic`` adds the Markov chain's mean and 5-95% band.

    >>> from dronefront.lanchester import solve
    >>> fig = plot_solution(solve("square", 1000, 800, alpha=0.01, beta=0.01, days=120))
    >>> len(fig.axes)
    1
    """
    s = solution
    fine = solve(s.law, s.a0, s.b0, s.alpha, s.beta, p=s.p, q=s.q, days=s.days,
                 reinforcements=s.reinforcements, t_eval=np.linspace(0.0, s.days, points))
    fig = _figure()
    ax = fig.add_subplot()
    for side, y in (("A", fine.a), ("B", fine.b)):
        ax.plot(fine.t, y, color=_COLORS[side], lw=2, label=f"{side} ({s.law} law)")
    if stochastic is not None:
        qa, qb = stochastic.quantiles((0.05, 0.95))
        for side, mean, band in (("A", stochastic.mean_a, qa), ("B", stochastic.mean_b, qb)):
            ax.plot(stochastic.t, mean, color=_COLORS[side], ls="--", lw=1,
                    label=f"{side} stochastic mean (n={stochastic.replicates})")
            ax.fill_between(stochastic.t, band[0], band[1], color=_COLORS[side], alpha=0.15)
    if data is not None:
        t = data.day - data.day[0]
        ax.plot(t, data.a, "o", ms=3, color=_COLORS["A"], label="A observed")
        ax.plot(t, data.b, "o", ms=3, color=_COLORS["B"], label="B observed")
    for r in s.reinforcements:
        ax.axvline(r.day, color=_COLORS[r.side], ls=":", lw=1)
    for t_ev, side in s.annihilations:
        ax.plot([t_ev], [0.0], "x", color=_COLORS[side], ms=9, mew=2)
    ax.set_xlabel("day")
    ax.set_ylabel("strength")
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"{s.law} law: {s.outcome.describe()}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_stochastic(result: StochasticResult, deterministic: Solution | None = None) -> Figure:
    """Mean and 5-95% band of the Markov chain, with the deterministic curve if given."""
    fig = _figure()
    ax = fig.add_subplot()
    qa, qb = result.quantiles((0.05, 0.95))
    for side, mean, band in (("A", result.mean_a, qa), ("B", result.mean_b, qb)):
        ax.plot(result.t, mean, color=_COLORS[side], label=f"{side} mean")
        ax.fill_between(result.t, band[0], band[1], color=_COLORS[side], alpha=0.2,
                        label=f"{side} 5-95%")
    if deterministic is not None:
        ax.plot(deterministic.t, deterministic.a, "k--", lw=1, label="deterministic")
        ax.plot(deterministic.t, deterministic.b, "k--", lw=1)
    ax.set_xlabel("day")
    ax.set_ylabel("strength")
    ax.set_title(f"{result.law} law, {result.replicates} replicates: P(A wins) "
                 f"{result.p_a_wins:.2f}, P(B wins) {result.p_b_wins:.2f}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_fit(result: FitResult) -> Figure:
    """Observed strengths with the fitted trajectory (top) and daily losses (bottom)."""
    d, s = result.data, result.fitted
    fig = _figure(rows=2, height=3.2)
    top, bottom = fig.subplots(2, 1)
    t = d.day - d.day[0]
    fine = solve(s.law, s.a0, s.b0, s.alpha, s.beta, p=s.p, q=s.q, days=s.days,
                 reinforcements=s.reinforcements, t_eval=np.linspace(0.0, s.days, 400))
    for side, obs, y in (("A", d.a, fine.a), ("B", d.b, fine.b)):
        top.plot(t, obs, "o", ms=3, color=_COLORS[side], label=f"{side} observed")
        top.plot(fine.t, y, color=_COLORS[side], lw=1.5, label=f"{side} fitted")
    est = ", ".join(f"{k}={v:.4g}" for k, v in result.params.items())
    top.set_title(f"{result.law} law ({result.method}): {est}; R²={result.r2:.4f}", fontsize=9)
    top.set_ylabel("strength")
    top.legend(fontsize=8)
    top.grid(alpha=0.3)
    ka, kb = d.losses
    for side, k in (("A", ka), ("B", kb)):
        bottom.plot(t[1:], k, "o-", ms=3, lw=0.8, color=_COLORS[side], label=f"{side} losses")
    fa, fb = s.a[:-1] - s.a[1:] + _arrivals(d, "A"), s.b[:-1] - s.b[1:] + _arrivals(d, "B")
    bottom.plot(t[1:], fa, "--", color=_COLORS["A"], lw=1, label="A fitted")
    bottom.plot(t[1:], fb, "--", color=_COLORS["B"], lw=1, label="B fitted")
    bottom.set_xlabel("day")
    bottom.set_ylabel("losses per interval")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    return fig


def _arrivals(d: StrengthData, side: str) -> np.ndarray:
    return (d.reinforce_a if side == "A" else d.reinforce_b)[1:]
