"""Batched against per-replicate stage calls in one ensemble run, robust to a loaded machine.

Builds two ensembles of the same scenario and seeds: in one, the named stages make their
batched calls (``Ensemble.calls``); in the other they are called once per replicate, as
before they were batched. Both are stepped alternately in one process (whichever goes
first alternates), so a load on the machine hits both alike, and each stage's CPU time is
read with ``process_time``. Prints CPU microseconds per replicate-step of each named stage
and of the whole step, least of ``--repeats``. Usage::

    python benchmarks/ensemble_stage_ab.py                      # kursk-assault, R = 64
    python benchmarks/ensemble_stage_ab.py --size 8 --events
    python benchmarks/ensemble_stage_ab.py --stages care morale
"""

from __future__ import annotations

import argparse
import time

MEMO_STAGES = ["care", "artillery", "launch", "layers", "morale"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="kursk-assault")
    parser.add_argument("--size", type=int, default=64, help="replicates")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--events", action="store_true", help="keep the event logs")
    parser.add_argument("--stages", nargs="+", default=MEMO_STAGES,
                        help="stages compared (those the scenario runs)")
    args = parser.parse_args()

    from dronefront.engine.ensemble import Ensemble
    from dronefront.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    seeds = list(range(1, args.size + 1))
    Ensemble(scenario, [1, 2], events=args.events).run()  # compile or load the kernels
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeats):
        batched = Ensemble(scenario, seeds, events=args.events)
        apart = Ensemble(scenario, seeds, events=args.events)
        names = [stage.name for stage in batched.sims[0].stages]
        for k, name in enumerate(names):
            if name in args.stages:
                apart.calls[k] = None
        pair = {"batched": batched, "apart": apart}
        total = dict.fromkeys(pair, 0.0)
        for ensemble in pair.values():
            ensemble.clock = time.process_time
        while batched.states[0].step < batched.steps:
            order = list(pair.items())
            if batched.states[0].step % 2:
                order.reverse()
            for key, ensemble in order:
                t0 = time.process_time()
                ensemble.step()
                total[key] += time.process_time() - t0
        for key, ensemble in pair.items():
            for name, seconds in zip(names, ensemble.spent, strict=False):
                best[key, name] = min(best.get((key, name), seconds), seconds)
            best[key, "step"] = min(best.get((key, "step"), total[key]), total[key])
    steps = batched.steps * len(seeds)
    print(f"{args.scenario}, R = {len(seeds)}, events {'on' if args.events else 'off'}: CPU us "
          f"per replicate-step (least of {args.repeats})")
    print(f"{'stage':<10} {'batched':>8} {'apart':>8}")
    for name in [n for n in names if n in args.stages] + ["step"]:
        print(f"{name:<10} {best['batched', name] / steps * 1e6:>8.2f} "
              f"{best['apart', name] / steps * 1e6:>8.2f}")


if __name__ == "__main__":
    main()
