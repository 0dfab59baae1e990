"""The engine against Lanchester: the aimed-fire limit, and which law drone attrition follows.

``python -m dronefront.lanchester.validation docs`` (``make validation``) writes
``docs/validation.md`` and its plots under ``docs/validation/``.

>>> check = aimed_fire_check(replicates=3, seed=0)
>>> check.max_relative_error < 0.2
True
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dronefront
from dronefront.lanchester.fitting import StrengthData, select_law
from dronefront.lanchester.laws import closed_form

DRONE_SCENARIOS = ("kursk-assault", "kursk-assault-dispersed", "swarm-breach")


@dataclass
class AimedFireCheck:
    """Mean engine trajectories against the square law with the implied coefficients."""

    time: np.ndarray
    engine_a: np.ndarray
    engine_b: np.ndarray
    law_a: np.ndarray
    law_b: np.ndarray
    alpha: float
    beta: float
    compared: np.ndarray  # steps before either side falls below 10% of its start
    max_relative_error: float
    replicates: int


def mean_strengths(scenario: str, replicates: int, seed: int = 0,
                   overrides: list[str] | None = None) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """Mean healthy soldiers per side over replicates: (time, attacker, defender)."""
    a, b = [], []
    time = None
    for r in range(replicates):
        ts = dronefront.run(scenario, seed=seed + r, overrides=overrides).timeseries.to_pandas()
        att, dfd = ts[ts.side == "attacker"], ts[ts.side == "defender"]
        time = att.time.to_numpy()
        a.append(att.healthy.to_numpy())
        b.append(dfd.healthy.to_numpy())
    return time, np.mean(a, axis=0), np.mean(b, axis=0)


def aimed_fire_check(replicates: int = 50, seed: int = 0) -> AimedFireCheck:
    """Run ``lanchester-aimed-fire`` and compare with the square law.

    Each healthy soldier fires ``rate / 60`` shots a second, each killing with ``kill_prob``:
    the square-law coefficients are ``alpha = rate_A / 60 * p_A`` (B's losses per A soldier
    per second) and ``beta = rate_B / 60 * p_B``.
    """
    spec = dronefront.load_scenario("lanchester-aimed-fire")
    fa = spec.sides.attacker.units[0].direct_fire
    fb = spec.sides.defender.units[0].direct_fire
    alpha = fa.rate / 60.0 * fa.kill_prob
    beta = fb.rate / 60.0 * fb.kill_prob
    a0 = spec.sides.attacker.units[0].count
    b0 = spec.sides.defender.units[0].count
    time, a, b = mean_strengths("lanchester-aimed-fire", replicates, seed)
    law_a, law_b = closed_form("square", a0, b0, alpha, beta, time)
    compared = (law_a > 0.1 * a0) & (law_b > 0.1 * b0)
    error = max(np.max(np.abs(a[compared] - law_a[compared]) / law_a[compared]),
                np.max(np.abs(b[compared] - law_b[compared]) / law_b[compared]))
    return AimedFireCheck(time, a, b, law_a, law_b, alpha, beta, compared, float(error),
                          replicates)


def drone_attrition_law(scenario: str, replicates: int = 20, every: float = 60.0,
                        seed: int = 0):
    """Fit the model-selection fitter to a scenario's mean strengths, sampled every minute."""
    time, a, b = mean_strengths(scenario, replicates, seed)
    pick = np.flatnonzero(np.isclose(np.mod(time, every), 0.0))
    minutes = time[pick] / 60.0
    zeros = np.zeros(pick.size)
    data = StrengthData(day=minutes, a=a[pick], b=b[pick], reinforce_a=zeros, reinforce_b=zeros,
                        source=scenario)
    return select_law(data, ("square", "linear", "logarithmic", "mixed"), n_boot=0)


def write_page(docs: Path, replicates: int = 50) -> Path:
    """Write docs/validation.md (this part only) and its plots; returns the page path.

    ``make validation`` writes the whole page, patterns included, with
    :func:`dronefront.validation.page.write_page`.
    """
    from dronefront.io.outputs import write_text

    return write_text(docs / "validation.md", "\n".join(page_lines(docs, replicates)))


def page_lines(docs: Path, replicates: int = 50, level: int = 1) -> list[str]:
    """The Lanchester part of docs/validation.md as markdown lines (its headings at
    ``level``), writing its plots under ``docs/validation/``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dronefront.io.outputs import save_figure

    out = docs / "validation"
    out.mkdir(parents=True, exist_ok=True)
    check = aimed_fire_check(replicates)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(check.time, check.engine_a, label="engine, side A (mean)")
    ax.plot(check.time, check.engine_b, label="engine, side B (mean)")
    ax.plot(check.time, check.law_a, "--", label="square law, A")
    ax.plot(check.time, check.law_b, "--", label="square law, B")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("healthy soldiers")
    ax.set_title(f"lanchester-aimed-fire: {replicates} replicates vs the square law")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out / "aimed-fire.png", dpi=110)
    plt.close(fig)
    h1, h2 = "#" * level, "#" * (level + 1)
    lines = [
        f"{h1} Validation: the engine against Lanchester's laws",
        "",
        *(["Generated by `make validation`.", ""] if level == 1 else []),
        f"{h2} Aimed fire: the square-law limit",
        "",
        "`lanchester-aimed-fire` puts two homogeneous forces in range of each other with "
        "aimed fire at a fixed rate and kill probability, no terrain and no drones. Each "
        "soldier's kill rate is `rate / 60 * kill_prob` per second, so the square law "
        f"`dA/dt = -beta B`, `dB/dt = -alpha A` has alpha = {check.alpha:.4g}/s and "
        f"beta = {check.beta:.4g}/s.",
        "",
        f"Over {replicates} replicates the mean trajectories stay within "
        f"**{check.max_relative_error:.2%}** of the closed-form square law until either side "
        "falls below 10% of its start (acceptance: 5%).",
        "",
        "![aimed fire](validation/aimed-fire.png)",
        "",
        f"{h2} Which law does drone attrition resemble?",
        "",
        "Mean strengths (20 replicates, sampled every minute) of the drone-dominated "
        "scenarios, fitted by every law with Poisson maximum likelihood and ranked by AIC. "
        "With drones, the defender's rifle strength `B` barely moves, so the laws differ in "
        "how the attacker's losses scale with its own numbers: constant (square), "
        "proportional to `A` (linear, logarithmic).",
        "",
        "| scenario | best law | Akaike weight | ΔAIC to next | R² |",
        "|---|---|---|---|---|",
    ]
    from dronefront.lanchester.plots import plot_fit, save_figure

    images = []
    poor: list[str] = []
    for scenario in DRONE_SCENARIOS:
        selection = drone_attrition_law(scenario)
        table = selection.table()
        gap = table[1]["delta_aic"] if len(table) > 1 else float("nan")
        best = selection.fits[selection.best]
        lines.append(f"| `{scenario}` | {selection.best} | {table[0]['weight']:.2f} | "
                     f"{gap:.1f} | {best.r2:.3f} |")
        if best.r2 < 0.5:
            poor.append(f"`{scenario}`, {best.r2:.2f}")
        save_figure(plot_fit(best), out / f"{scenario}.png")
        images.append(f"![{scenario}](validation/{scenario}.png)")
    lines += [
        "",
        "Time is in minutes here (the fitter's 'day' column)." + (
            f" A low R² ({'; '.join(poor)}) means that none of these laws describes the mean "
            "trajectory well (below 0, worse than its average): attrition there comes in "
            "waves (drone salvos, then the infantry fight), which no single "
            "constant-coefficient law captures." if poor else ""),
        "",
        *images,
        "",
        "Rerun `make validation` after changing a mechanic; the numbers above come from the "
        "code, not from this text.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    docs = Path(args[0] if args else "docs")
    print(f"wrote {write_page(docs)}")


if __name__ == "__main__":
    main()
