"""Engine throughput on the reference model (docs/reference-model.md).

Prints, for each N: init seconds, run seconds, soldier-steps per second, peak resident
memory, and the model's reported counts. Each size runs in a fresh process so that peak
memory is its own. Before the clock starts every engine kernel is compiled (or loaded from
Numba's cache) by running the built-in scenarios (``dronefront.engine.warmup``); a kernel that
still compiles during the timed run is reported. Usage::

    python benchmarks/engine_throughput.py                 # N = 3k, 30k, 300k, 3M
    python benchmarks/engine_throughput.py --sizes 3000 30000 --steps 300
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def one(n: int, steps: int, seed: int, events: bool) -> dict:
    from dronefront.engine.sim import Sim
    from dronefront.engine.warmup import compiled, warmup
    from dronefront.scenario.loader import load_scenario

    warmup()  # compile (or load from the cache) every kernel outside the timing
    spec = load_scenario("reference-open-field", [f"parameters.N={n}", f"duration={steps}"])
    sim = Sim(spec, seed=seed, events=events)
    before = compiled()
    result = sim.run()
    late = sorted(name for name, count in compiled().items() if count != before[name])
    drones = result.summary["drones"]["defender"]["reference_fpv"]
    return {
        "N": n,
        "steps": steps,
        "init_s": sim.init_seconds,
        "run_s": sim.run_seconds,
        "soldier_steps_per_s": n * steps / sim.run_seconds,
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
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.steps, args.seed, not args.no_events)))
        return
    header = (f"{'N':>9} {'init s':>8} {'run s':>8} {'soldier-steps/s':>16} {'peak GiB':>9} "
              f"{'killed':>8} {'launched':>9} {'detonated':>9} {'shot down':>9}")
    print(header)
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--steps", str(args.steps),
               "--seed", str(args.seed)] + (["--no-events"] if args.no_events else [])
        row = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                        text=True).stdout.strip().splitlines()[-1])
        print(f"{row['N']:>9} {row['init_s']:>8.2f} {row['run_s']:>8.2f} "
              f"{row['soldier_steps_per_s']:>16,.0f} {row['peak_rss_gib']:>9.2f} "
              f"{row['killed']:>8} {row['launched']:>9} {row['detonated']:>9} "
              f"{row['shot_down']:>9}", flush=True)
        print(f"{'':>9} stages: {row['stage_s']}", flush=True)
        if row["compiled_while_timed"]:
            print(f"{'':>9} warning: compiled while timed: {row['compiled_while_timed']}",
                  flush=True)


if __name__ == "__main__":
    main()
