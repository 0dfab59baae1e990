"""Agent-steps per second of the learning environments with a random policy (one core).

An agent-step is one platoon's decision. Measures one ``DronefrontEnv`` and one
``DronefrontVectorEnv`` of ``--envs`` copies (autoresetting), after a warm-up episode that
compiles the kernels. Usage::

    python benchmarks/rl_throughput.py                      # kursk-assault, 64 envs
    python benchmarks/rl_throughput.py --scenario fpv-drill --envs 16 --seconds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dronefront.rl import DronefrontEnv, DronefrontVectorEnv


def rate(env, vector: bool, seconds: float, rng: np.random.Generator) -> float:
    """Agent-steps per second over about ``seconds`` of random actions."""
    space = env.single_action_space if vector else env.action_space
    heads = len(env.envs[0].engagement.orders[0]) if vector else env.heads
    agents = space.shape[0] // heads * (env.num_envs if vector else 1)
    nvec = space.nvec
    env.reset(seed=0)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        if vector:
            env.step(rng.integers(0, nvec, (env.num_envs, nvec.size)))
        else:
            _, _, term, trunc, _ = env.step(rng.integers(0, nvec))
            if term or trunc:
                env.reset()
        steps += 1
    return steps * agents / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="kursk-assault")
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--decision-interval", type=float, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    kw = {"decision_interval": args.decision_interval}
    one = DronefrontEnv(args.scenario, **kw)
    rate(one, False, 1.0, rng)  # warm-up: compile
    print(f"{args.scenario}: 1 env   {rate(one, False, args.seconds, rng):10,.0f} agent-steps/s")
    vec = DronefrontVectorEnv(args.envs, args.scenario, **kw)
    print(f"{args.scenario}: {args.envs} envs {rate(vec, True, args.seconds, rng):10,.0f} "
          "agent-steps/s")


if __name__ == "__main__":
    main()
