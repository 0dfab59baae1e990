"""``dronefront lanchester``: solve Lanchester laws and fit them to daily strength data.

:class:`~dronefront.errors.UserError` is not caught here: the top-level CLI prints it on one
line and exits with status 2.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich import box
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Lanchester combat models: solve the square, linear, logarithmic, mixed and "
         "generalized laws, and fit them to daily strength data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class LawName(StrEnum):
    square = "square"
    linear = "linear"
    logarithmic = "logarithmic"
    mixed = "mixed"
    generalized = "generalized"


class MethodName(StrEnum):
    mle = "mle"
    ls = "ls"


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _thin(n: int, rows: int) -> np.ndarray:
    if n <= rows:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max(rows, 2))).astype(int))


@app.command("solve")
def solve_cmd(
    a0: Annotated[float, typer.Option("--a0", help="Initial strength of side A.")],
    b0: Annotated[float, typer.Option("--b0", help="Initial strength of side B.")],
    alpha: Annotated[float, typer.Option(help="A's effectiveness against B (per day).")],
    beta: Annotated[float, typer.Option(help="B's effectiveness against A (per day).")],
    law: Annotated[LawName, typer.Option(help="Which Lanchester law.")] = LawName.square,
    p: Annotated[float, typer.Option("--p", help="Generalized law: own-strength exponent.")]
    = 0.0,
    q: Annotated[float, typer.Option("--q", help="Generalized law: enemy-strength exponent.")]
    = 1.0,
    reinforce: Annotated[list[str] | None, typer.Option(
        "--reinforce", metavar="SIDE:DAY:COUNT",
        help="Reinforcements, e.g. A:2:6000 (repeatable).")] = None,
    days: Annotated[float, typer.Option(help="Horizon in days.")] = 30.0,
    rows: Annotated[int, typer.Option(help="Most table rows to print (thinned).")] = 40,
    plot: Annotated[Path | None, typer.Option(help="Save a figure (.png, .svg or .pdf).")]
    = None,
) -> None:
    """Solve a law and print the daily trajectory and the outcome.

    A loses beta*g_A(A, B) per day and B loses alpha*g_B(A, B); in the mixed law A is the
    exposed force and B the guerrilla force.
    """
    from dronefront.lanchester.laws import parse_reinforcement, solve
    from dronefront.lanchester.plots import check_plot_path, plot_solution, save_figure

    if plot is not None:
        check_plot_path(plot)
    reinf = [parse_reinforcement(r) for r in reinforce or []]
    sol = solve(law.value, a0, b0, alpha, beta, p=p, q=q, days=days, reinforcements=reinf)
    console = Console()
    extra = f", p={p:g}, q={q:g}" if law is LawName.generalized else ""
    console.print(f"{law.value} law: A0={a0:,g}, B0={b0:,g}, alpha={alpha:g}, beta={beta:g}"
                  f"{extra}" + "".join(f", {r.side}+{r.count:,g} on day {r.day:g}"
                                         for r in sol.reinforcements))
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("day", "A", "B"):
        table.add_column(col, justify="right")
    for i in _thin(len(sol.t), rows):
        table.add_row(f"{sol.t[i]:g}", _num(float(sol.a[i])), _num(float(sol.b[i])))
    console.print(table)
    o = sol.outcome
    console.print(f"winner: [bold]{o.winner or 'none'}[/bold]")
    if o.winner in ("A", "B"):
        console.print(f"survivors: {o.survivors:,.1f}")
    when = "never (asymptotic only)" if math.isinf(o.annihilation_time) else (
        f"day {o.annihilation_time:,.2f}")
    console.print(f"annihilation: {when}" + ("" if o.decided else " (projected)"))
    la, lb = sol.losses
    console.print(f"casualties by day {days:g}: A {la:,.0f}, B {lb:,.0f}")
    console.print(o.describe())
    if plot is not None:
        console.print(f"plot: {save_figure(plot_solution(sol), plot)}", markup=False)


@app.command("fit")
def fit_cmd(
    data: Annotated[str, typer.Argument(
        metavar="DATA.csv", help="CSV with day,a,b[,reinforce_a,reinforce_b].")],
    law: Annotated[LawName, typer.Option(help="Law to fit.")] = LawName.square,
    select: Annotated[bool, typer.Option(
        "--select", help="Fit every law and choose by AIC (BIC shown too).")] = False,
    method: Annotated[MethodName, typer.Option(
        help="mle: Poisson likelihood of daily losses; ls: least squares.")] = MethodName.mle,
    boot: Annotated[int, typer.Option(help="Bootstrap replicates for the intervals.")] = 200,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    level: Annotated[float, typer.Option(help="Interval coverage.")] = 0.95,
    plot: Annotated[Path | None, typer.Option(help="Save a figure (.png, .svg or .pdf).")]
    = None,
) -> None:
    """Fit a law (or choose one) to daily strengths; print coefficients and fit quality."""
    from dronefront.lanchester.fitting import fit, read_strength_csv, select_law
    from dronefront.lanchester.plots import check_plot_path, plot_fit, save_figure

    if plot is not None:
        check_plot_path(plot)
    if boot < 0:
        from dronefront.errors import UserError

        raise UserError(f"must be >= 0, not {boot}", field="--boot")
    obs = read_strength_csv(data)
    console = Console()
    if select:
        sel = select_law(obs, method=method.value, n_boot=boot, seed=seed, level=level)
        table = Table(title=f"model selection ({method.value}), {len(obs)} rows",
                      box=box.SIMPLE_HEAD)
        table.add_column("law", no_wrap=True)
        for col in ("k", "log-lik", "AIC", "ΔAIC", "BIC", "ΔBIC", "weight"):
            table.add_column(col, justify="right")
        for r in sel.table():
            table.add_row(str(r["law"]), str(r["k"]), f"{r['loglik']:.1f}", f"{r['aic']:.1f}",
                          f"{r['delta_aic']:.1f}", f"{r['bic']:.1f}", f"{r['delta_bic']:.1f}",
                          f"{r['weight']:.3f}")
        console.print(table)
        console.print(f"best by AIC: [bold]{sel.best}[/bold]")
        res = sel.best_fit
    else:
        res = fit(obs, law.value, method=method.value, n_boot=boot, seed=seed, level=level)
    pct = f"{100 * res.level:g}%"
    table = Table(title=f"{res.law} law, {res.method} fit, {boot} bootstrap replicates",
                  box=box.SIMPLE_HEAD)
    for col in ("parameter", "estimate", f"{pct} low", f"{pct} high"):
        table.add_column(col, justify="right")
    for name, value in res.params.items():
        lo, hi = res.ci[name]
        table.add_row(name, f"{value:.6g}", f"{lo:.6g}", f"{hi:.6g}")
    console.print(table)
    console.print(f"strengths: R² {res.r2:.5f}, RMSE {res.rmse:,.2f}")
    console.print(f"daily losses: R² {res.r2_losses:.4f}, RMSE {res.rmse_losses:,.2f}")
    console.print(f"log-likelihood {res.loglik:,.2f}, AIC {res.aic:,.2f}, BIC {res.bic:,.2f}, "
                  f"n {res.n_obs}")
    if plot is not None:
        console.print(f"plot: {save_figure(plot_fit(res), plot)}", markup=False)
