"""Ensemble throughput: CPU ms per replicate of an ensemble of R against single runs.

For each R, runs the seeds ``1..R`` once as single ``Sim`` runs and once as one
``Ensemble`` (``dronefront.run_ensemble``), each ``--repeats`` times, and prints the best
CPU time (``time.process_time``) per replicate, with the ensemble's speed-up. Kernels are
compiled (or loaded from Numba's cache) before the clock starts. With ``--N`` (a scenario
with an ``N`` parameter, such as the reference model) it also prints soldier-steps per CPU
second per replicate. Usage::

    python benchmarks/ensemble_throughput.py                        # kursk-assault, R = 1 8 64
    python benchmarks/ensemble_throughput.py --scenario reference-open-field --N 3000 --sizes 20
    python benchmarks/ensemble_throughput.py --events               # with event logs
    python benchmarks/ensemble_throughput.py --stages               # and CPU per stage

With ``--stages``, more ensembles of the largest R print each stage's CPU microseconds per
replicate-step (``Ensemble.spent`` read with ``process_time``, least of the repeats).
"""

from __future__ import annotations

import argparse
import time


def best(fn, repeats: int) -> float:
    """Least CPU seconds of ``repeats`` calls of ``fn``."""
    out = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        out = min(out, time.process_time() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="kursk-assault")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", action="store_true", help="keep the event logs")
    parser.add_argument("--stages", action="store_true",
                        help="CPU us per replicate-step of each stage, at the largest R")
    parser.add_argument("--N", type=int, help="set the scenario's parameter N (soldiers)")
    args = parser.parse_args()

    from dronefront.engine.ensemble import Ensemble
    from dronefront.engine.sim import Sim
    from dronefront.engine.warmup import warmup
    from dronefront.scenario.loader import load_scenario

    warmup()
    scenario = load_scenario(args.scenario, [f"parameters.N={args.N}"] if args.N else [])
    Ensemble(scenario, [1, 2], events=args.events).run()  # the batched kernels
    steps = round(scenario.duration / scenario.dt)
    sized = f" N={args.N}" if args.N else ""
    print(f"{args.scenario}{sized}, events {'on' if args.events else 'off'}: CPU ms per "
          f"replicate (best of {args.repeats})")
    rate = f" {'M soldier-steps/s':>18}" if args.N else ""
    print(f"{'R':>4} {'single':>9} {'ensemble':>9} {'speed-up':>9}{rate}  batched")
    for r in args.sizes:
        seeds = list(range(1, r + 1))
        single = best(lambda seeds=seeds: [Sim(scenario, s, events=args.events).run()
                                           for s in seeds], args.repeats) / r
        ensemble = Ensemble(scenario, seeds, events=args.events)
        batched = ", ".join(ensemble.batched) or "-"
        together = best(lambda seeds=seeds: Ensemble(scenario, seeds,
                                                     events=args.events).run(),
                        args.repeats) / r
        rate = (f" {args.N * steps / single / 1e6:>8.1f} -> {args.N * steps / together / 1e6:>5.1f}"
                if args.N else "")
        print(f"{r:>4} {single * 1e3:>9.2f} {together * 1e3:>9.2f} "
              f"{single / together:>8.2f}x{rate}  {batched}")
    if args.stages:  # best of the repeats, stage by stage
        seeds = list(range(1, args.sizes[-1] + 1))
        spent = None
        for _ in range(args.repeats):
            ensemble = Ensemble(scenario, seeds, events=args.events)
            ensemble.clock = time.process_time
            ensemble.run()
            spent = ensemble.spent if spent is None else list(map(min, spent, ensemble.spent))
        steps = ensemble.steps * len(seeds)
        names = [stage.name for stage in ensemble.sims[0].stages] + ["record"]
        print(f"CPU us per replicate-step by stage, R = {len(seeds)} (least of "
              f"{args.repeats}):")
        for name, seconds in zip(names, spent, strict=True):
            print(f"  {name:<13} {seconds / steps * 1e6:7.2f}")


if __name__ == "__main__":
    main()
