"""Experiment throughput: runs per second of N replicates of a scenario on each executor.

Each executor runs the same one-point experiment (``--replicates`` runs, seeds 1..N) into a
fresh store, timed from the call to the last commit (worker start-up included), and the
stored metrics are checked to be identical across executors. Parallel efficiency is
``rate(executor) / (workers * rate(local))``, with and without the executor's start-up
(starting a local Ray instance takes seconds; joining a running cluster does not); per-run
overhead is the share of worker time
not spent inside the model, ``1 - runs * model_s / (workers * wall_s)`` (process start,
scheduling, transfers and store commits). It also prints the driver's commit capacity: how
many finished runs a second the store takes, one transaction per run against the batches
the driver uses, which bounds what any number of workers can deliver. Usage::

    python benchmarks/experiment_throughput.py                      # 1000 x kursk-assault
    python benchmarks/experiment_throughput.py --replicates 100 --executors local processes
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

EXPERIMENT = """\
name: throughput
scenario: {scenario}
replicates: {replicates}
seed: 1
metrics: [sides.attacker.casualties, sides.defender.casualties, exchange_ratio]
"""


def measure(executor: str, path: Path, store: Path, workers: int | None) -> dict:
    """Run the experiment on one executor; return rate and timing (start-up apart too)."""
    from dronefront.experiments.executors import make_executor
    from dronefront.experiments.runner import run_experiment

    started = time.perf_counter()
    with make_executor(executor, workers=workers) as ex:
        start_s = time.perf_counter() - started
        report = run_experiment(path, executor=ex, store=store)
        wall = time.perf_counter() - started
    from dronefront.experiments.store import Store

    with Store(store, read_only=True) as db:
        model_s = float(db.runs(report.key).seconds.mean())
    return {"executor": executor, "runs": report.ran, "wall_s": wall, "start_s": start_s,
            "rate": report.ran / wall, "warm_rate": report.ran / (wall - start_s),
            "model_s": model_s}


def commit_capacity(folder: Path, runs: int = 2000) -> dict[str, float]:
    """Runs per second the store commits: one transaction per run, and in batches."""
    from dronefront.experiments.runner import BATCH_RUNS, commit_batches
    from dronefront.experiments.store import FinishedRun, Store

    summary = {"sides": {"attacker": {"casualties": 40}, "defender": {"casualties": 2}}}
    metrics = {"sides.attacker.casualties": 40.0, "sides.defender.casualties": 2.0,
               "exchange_ratio": 20.0}
    rates = {}
    for label, batch in (("per run", 1), (f"batches of up to {BATCH_RUNS}", BATCH_RUNS)):
        with Store(folder / f"commit-{batch}.duckdb") as store:
            store.register("c" * 16, {"name": "capacity"}, [(0, {}, [])])
            finished = [FinishedRun(0, r, r, 0.01, summary, metrics) for r in range(runs)]
            started = time.perf_counter()
            commit_batches(store, "c" * 16, finished, batch_runs=batch, batch_seconds=1e9)
            rates[label] = runs / (time.perf_counter() - started)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--scenario", default="kursk-assault")
    parser.add_argument("--executors", nargs="+", default=["local", "processes", "ray"])
    parser.add_argument("--workers", type=int, default=None,
                        help="workers for processes/ray (default: all cores)")
    args = parser.parse_args()

    import pandas as pd

    from dronefront.experiments.runner import results

    workers = args.workers or os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="dronefront-throughput-"))
    path = tmp / "throughput.yaml"
    path.write_text(EXPERIMENT.format(scenario=args.scenario, replicates=args.replicates))
    print(f"{args.replicates} replicates of {args.scenario}; {os.cpu_count()} cores, "
          f"{workers} workers for processes/ray; stores in {tmp}")
    print(f"{'executor':>10} {'runs':>6} {'wall s':>7} {'start s':>8} {'runs/s':>7} "
          f"{'model s/run':>12} {'overhead':>9} {'efficiency':>11} {'once started':>13}")
    rows = []
    frames = {}
    for name in args.executors:
        store = tmp / f"{name}.duckdb"
        used = 1 if name == "local" else workers
        row = measure(name, path, store, None if name == "local" else workers)
        row["overhead"] = 1 - row["runs"] * row["model_s"] / (used * row["wall_s"])
        rows.append(row)
        frames[name] = results(path, store)
        local = next((r for r in rows if r["executor"] == "local"), None)
        eff = warm = ""
        if name != "local" and local is not None:
            eff = f"{row['rate'] / (workers * local['rate']):.0%}"
            warm = f"{row['warm_rate'] / (workers * local['warm_rate']):.0%}"
        print(f"{name:>10} {row['runs']:>6} {row['wall_s']:>7.1f} {row['start_s']:>8.1f} "
              f"{row['rate']:>7.2f} {row['model_s']:>12.3f} {row['overhead']:>9.1%} "
              f"{eff:>11} {warm:>13}", flush=True)
    first = next(iter(frames.values()))
    same = all(f.equals(first) for f in frames.values())
    print(f"identical stored metrics on every executor: {same}")
    for label, rate in commit_capacity(tmp).items():
        print(f"driver commit capacity, {label}: {rate:,.0f} runs/s")
    if not same:
        pd.testing.assert_frame_equal(*list(frames.values())[:2])


if __name__ == "__main__":
    main()
