"""Engine throughput on the reference model (docs/reference-model.md).

Prints, for each N: init seconds, run seconds (wall) and CPU seconds (``process_time``, all
threads together), soldier-steps per second of each, peak resident memory, and the model's
reported counts; with ``--repeats`` the best run of several. On a machine shared with other
work, the CPU figure is the one to compare on one thread; the wall figure shows how the
parallel path scales on several (``NUMBA_NUM_THREADS``). Each size runs in a fresh process
so that peak memory is its own. Before the clock starts every engine kernel is compiled (or
loaded from Numba's cache) by running the built-in scenarios (``dronefront.engine.warmup``);
a kernel that still compiles during the timed run is reported. Usage::

    python benchmarks/engine_throughput.py                 # N = 3k, 30k, 300k, 3M
    python benchmarks/engine_throughput.py --sizes 3000 30000 --steps 300
    NUMBA_NUM_THREADS=1 python benchmarks/engine_throughput.py --sizes 300000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one(n: int, steps: int, seed: int, events: bool, repeats: int = 1) -> dict:
    import numba

    from dronefront.engine.sim import Sim
    from dronefront.engine.warmup import compiled, warmup
    from dronefront.scenario.loader import load_scenario

    warmup()  # compile (or load from the cache) every kernel outside the timing
    spec = load_scenario("reference-open-field", [f"parameters.N={n}", f"duration={steps}"])
    before = compiled()
    best, cpu = None, float("inf")  # the run with the least wall time; the least CPU time
    for _ in range(repeats):
        run = Sim(spec, seed=seed, events=events)
        started = time.process_time()
        outcome = run.run()
        cpu = min(cpu, time.process_time() - started)
        if best is None or run.run_seconds < best[0].run_seconds:
            best = (run, outcome)
    sim, result = best
    late = sorted(name for name, count in compiled().items() if count != before[name])
    drones = result.summary["drones"]["defender"]["reference_fpv"]
    return {
        "N": n,
        "steps": steps,
        "threads": numba.get_num_threads(),
        "init_s": sim.init_seconds,
        "run_s": sim.run_seconds,
        "cpu_s": cpu,
        "soldier_steps_per_s": n * steps / sim.run_seconds,
        "soldier_steps_per_cpu_s": n * steps / cpu,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "killed": result.summary["sides"]["attacker"]["killed"],
        "launched": drones["launched"],
        "detonated": drones["expended"],
        "shot_down": drones["shot_down"],
        "stage_s": {k: round(v, 3) for k, v in result.stage_seconds.items()},
        "compiled_while_timed": late,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3_000, 30_000, 300_000,
                                                                   3_000_000])
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-events", action="store_true", help="skip the event log")
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.seed, not args.no_events,
                             args.repeats)))
        return
    header = (f"{'N':>9} {'init s':>8} {'run s':>8} {'soldier-steps/s':>16} {'CPU s':>8} "
              f"{'per CPU s':>12} {'peak GiB':>9} {'killed':>8} {'launched':>9} "
              f"{'detonated':>9} {'shot down':>9}")
    print(header)
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--steps", str(args.steps),
               "--seed", str(args.seed), "--repeats", str(args.repeats)] + (
                   ["--no-events"] if args.no_events else [])
        row = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                        text=True).stdout.strip().splitlines()[-1])
        print(f"{row['N']:>9} {row['init_s']:>8.2f} {row['run_s']:>8.2f} "
              f"{row['soldier_steps_per_s']:>16,.0f} {row['cpu_s']:>8.2f} "
              f"{row['soldier_steps_per_cpu_s']:>12,.0f} {row['peak_rss_gib']:>9.2f} "
              f"{row['killed']:>8} {row['launched']:>9} {row['detonated']:>9} "
              f"{row['shot_down']:>9}", flush=True)
        print(f"{'':>9} threads: {row['threads']}, stages: {row['stage_s']}", flush=True)
        if row["compiled_while_timed"]:
            print(f"{'':>9} warning: compiled while timed: {row['compiled_while_timed']}",
                  flush=True)


if __name__ == "__main__":
    main()
