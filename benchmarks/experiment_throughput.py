"""Experiment throughput: runs per second of N replicates of a scenario on each executor.

Each executor runs the same one-point experiment (``--replicates`` runs, seeds 1..N) into a
fresh store, timed from the call to the last commit (worker start-up included), and the
stored metrics are checked to be identical across executors. Parallel efficiency is
``rate(executor) / (workers * rate(local))``, with and without the executor's start-up
(starting a local Ray instance takes seconds; joining a running cluster does not); per-run
overhead is the share of worker time
not spent inside the model, ``1 - runs * model_s / (workers * wall_s)`` (process start,
scheduling, transfers and store commits). ``model s/run`` is a run's share of the wall time
of the ensemble (or single run) it was part of, ``cpu s/run`` its share of the worker's CPU
time, and ``worker cpu s`` their sum over all runs: on a machine shared with other jobs the
wall time measures the load, while ``worker cpu s / workers`` estimates the wall time on
idle cores. Engagements run as ensembles of up to ``--chunk`` replicates (default: sized
automatically). It also prints the driver's commit capacity: how many finished runs a
second the driver extracts metrics from and stores, one transaction per run against the
batches it uses, with this scenario's real summary; that bounds what any number of workers
can deliver. Usage::

    python benchmarks/experiment_throughput.py                      # 1000 x kursk-assault
    python benchmarks/experiment_throughput.py --replicates 100 --executors local processes
    python benchmarks/experiment_throughput.py --executors processes --workers 2 --chunk 1
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
"""  # keep the metrics in step with METRICS


METRICS = ["sides.attacker.casualties", "sides.defender.casualties", "exchange_ratio"]


def metered(inner):
    """``inner`` (an executor) that also sums the workers' CPU seconds of the runs."""
    from dronefront.experiments.executors import Executor

    class Metered(Executor):
        name = inner.name
        workers = inner.workers
        cpu = 0.0

        def map(self, *args, **kwargs):
            for out in inner.map(*args, **kwargs):
                self.cpu += out.cpu
                yield out

        def close(self) -> None:
            inner.close()

    return Metered()


def measure(executor: str, path: Path, store: Path, workers: int | None,
            chunk: int | None) -> dict:
    """Run the experiment on one executor; return rate and timing (start-up apart too)."""
    from dronefront.experiments.executors import make_executor
    from dronefront.experiments.runner import run_experiment

    started = time.perf_counter()
    with metered(make_executor(executor, workers=workers)) as ex:
        start_s = time.perf_counter() - started
        report = run_experiment(path, executor=ex, store=store, chunk=chunk)
        wall = time.perf_counter() - started
    from dronefront.experiments.store import Store

    with Store(store, read_only=True) as db:
        model_s = float(db.runs(report.key).seconds.mean())
    return {"executor": executor, "runs": report.ran, "wall_s": wall, "start_s": start_s,
            "rate": report.ran / wall, "warm_rate": report.ran / (wall - start_s),
            "model_s": model_s, "cpu_s": ex.cpu}


def commit_capacity(folder: Path, summary: dict, runs: int = 2000) -> dict[str, float]:
    """Runs per second the driver takes in: metrics extracted from ``summary`` (a real
    run's) and stored, one transaction per run, and in batches."""
    from dronefront.experiments.runner import BATCH_RUNS, commit_batches, extract_metrics
    from dronefront.experiments.store import FinishedRun, Store

    rates = {}
    for label, batch in (("per run", 1), (f"batches of up to {BATCH_RUNS}", BATCH_RUNS)):
        with Store(folder / f"commit-{batch}.duckdb") as store:
            store.register("c" * 16, {"name": "capacity"}, [(0, {}, [])])
            started = time.perf_counter()
            finished = (FinishedRun(0, r, r, 0.01, summary, extract_metrics(summary, METRICS))
                        for r in range(runs))
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
    parser.add_argument("--chunk", type=int, default=None,
                        help="runs per chunk, i.e. replicates per ensemble (default: automatic)")
    args = parser.parse_args()

    import pandas as pd

    from dronefront.experiments.runner import results

    workers = args.workers or os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="dronefront-throughput-"))
    path = tmp / "throughput.yaml"
    path.write_text(EXPERIMENT.format(scenario=args.scenario, replicates=args.replicates))
    print(f"{args.replicates} replicates of {args.scenario}; {os.cpu_count()} cores, "
          f"{workers} workers for processes/ray; chunk {args.chunk or 'automatic'}; "
          f"stores in {tmp}")
    print(f"{'executor':>10} {'runs':>6} {'wall s':>7} {'start s':>8} {'runs/s':>7} "
          f"{'model s/run':>12} {'cpu s/run':>10} {'worker cpu s':>13} {'overhead':>9} "
          f"{'efficiency':>11} {'once started':>13}")
    rows = []
    frames = {}
    for name in args.executors:
        store = tmp / f"{name}.duckdb"
        used = 1 if name == "local" else workers
        row = measure(name, path, store, None if name == "local" else workers, args.chunk)
        row["overhead"] = 1 - row["runs"] * row["model_s"] / (used * row["wall_s"])
        rows.append(row)
        frames[name] = results(path, store)
        local = next((r for r in rows if r["executor"] == "local"), None)
        eff = warm = ""
        if name != "local" and local is not None:
            eff = f"{row['rate'] / (workers * local['rate']):.0%}"
            warm = f"{row['warm_rate'] / (workers * local['warm_rate']):.0%}"
        print(f"{name:>10} {row['runs']:>6} {row['wall_s']:>7.1f} {row['start_s']:>8.1f} "
              f"{row['rate']:>7.2f} {row['model_s']:>12.4f} "
              f"{row['cpu_s'] / max(row['runs'], 1):>10.4f} {row['cpu_s']:>13.1f} "
              f"{row['overhead']:>9.1%} {eff:>11} {warm:>13}", flush=True)
    first = next(iter(frames.values()))
    same = all(f.equals(first) for f in frames.values())
    print(f"identical stored metrics on every executor: {same}")
    from dronefront.experiments.store import Store

    with Store(tmp / f"{args.executors[0]}.duckdb", read_only=True) as db:
        key = db.experiments()[0].key
        summary = db.summaries(key)["summary"].iloc[0]
    for label, rate in commit_capacity(tmp, summary).items():
        print(f"driver commit capacity, {label}: {rate:,.0f} runs/s")
    if not same:
        pd.testing.assert_frame_equal(*list(frames.values())[:2])


if __name__ == "__main__":
    main()
