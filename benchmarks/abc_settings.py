"""How the ABC-SMC settings trade runs for identification, on synthetic campaigns.

Fits the toy-attrition campaign of the coverage test (known parameters, noise 0.15, 5
replicates) for 6 drawn truths with each ``PARTICLESxGENERATIONS`` setting and prints, per
parameter, the mean width ratio, how many fits identify it and how many 90% intervals hold
the truth, and the mean runs (docs/experiments.md, "Defaults and why"). Usage::

    python benchmarks/abc_settings.py 40x5 20x5     # about a minute each on one core
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dronefront.experiments.abc import ABCSettings, calibrate_abc  # noqa: E402
from tests.experiments.test_abc_calibration import toy  # noqa: E402

PARAMS = ("rate", "learning", "kill_share")


def main(labels: list[str]) -> None:
    """Print one block per ``PxG`` label."""
    with tempfile.TemporaryDirectory() as tmp:
        for label in labels:
            population, generations = (int(x) for x in label.split("x"))
            settings = ABCSettings(population=population, generations=generations,
                                   max_runs=10**6)
            rng = np.random.default_rng(11)
            rows = []
            for k in range(6):
                truth = {"rate": float(np.exp(rng.uniform(np.log(0.01), np.log(0.04)))),
                         "learning": float(rng.uniform(0.01, 0.06)),
                         "kill_share": float(rng.uniform(0.15, 0.45))}
                folder = Path(tmp) / f"{label}-{k}"
                folder.mkdir()
                path = toy(folder, noise=0.15, replicates=5, seed=100 + k, truth=truth,
                           data_seed=1000 + k)
                result = calibrate_abc(path, settings=settings, store=folder / "s.duckdb")
                ident = result.identification.set_index("parameter")
                rows.append((ident, truth, int(result.generations.simulations.sum())))
            print(f"{label}: mean runs {np.mean([r[2] for r in rows]):.0f}")
            for p in PARAMS:
                ratios = [float(r[0].loc[p, "width_ratio"]) for r in rows]
                covered = sum(r[0].loc[p, "q05"] <= r[1][p] <= r[0].loc[p, "q95"] for r in rows)
                print(f"  {p}: width ratio {np.mean(ratios):.2f}, identified "
                      f"{sum(x < 0.5 for x in ratios)}/6, covered {covered}/6")


if __name__ == "__main__":
    main(sys.argv[1:] or ["40x5", "20x5"])
