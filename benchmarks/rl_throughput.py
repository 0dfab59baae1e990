"""Agent-steps per second of the learning environments with a random policy (one core).

An agent-step is one platoon's decision. Measures one ``DronefrontEnv`` and one
``DronefrontVectorEnv`` of ``--envs`` copies (autoresetting), after a warm-up that compiles
the kernels, in process (CPU) time, and splits each agent-step into the engine's share
(``Sim.step`` or ``Ensemble.step``), the restarts' engine share (building a copy's
state and stages: ``Ensemble.reset``, or the single env's new ``Sim``) and the environment
layer's (the rest: orders, observations, masks, rewards, the restarts' bookkeeping).
Run it on one core for the figures docs/rl.md quotes (``NUMBA_NUM_THREADS=1``). Usage::

    NUMBA_NUM_THREADS=1 python benchmarks/rl_throughput.py          # kursk-assault, 64 envs
    python benchmarks/rl_throughput.py --scenario fpv-drill --envs 16 --seconds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dronefront.engine.sim import Sim
from dronefront.rl import DronefrontEnv, DronefrontVectorEnv

try:  # the ensemble engine (absent from trees older than it)
    from dronefront.engine.ensemble import Ensemble
except ImportError:  # pragma: no cover
    Ensemble = None

ENGINE = [0.0]  # CPU seconds inside the engine's step calls
RESTART = [0.0]  # CPU seconds building restarted copies (Ensemble.reset, Sim.__init__)
_DEPTH = [0]


def _timed(step, into):
    def wrapper(self, *args, **kwargs):
        if _DEPTH[0]:  # an ensemble stepping one replicate as a Sim: counted once
            return step(self, *args, **kwargs)
        _DEPTH[0] += 1
        t = time.process_time()
        try:
            return step(self, *args, **kwargs)
        finally:
            into[0] += time.process_time() - t
            _DEPTH[0] -= 1
    return wrapper


Sim.step = _timed(Sim.step, ENGINE)
Sim.__init__ = _timed(Sim.__init__, RESTART)
if Ensemble is not None:
    Ensemble.step = _timed(Ensemble.step, ENGINE)
    Ensemble.reset = _timed(Ensemble.reset, RESTART)


def rate(env, vector: bool, seconds: float, rng: np.random.Generator
         ) -> tuple[float, float, float, float]:
    """Agent-steps per CPU second over about ``seconds`` of random actions, and the CPU µs
    per agent-step spent in the engine's steps, in building restarted copies and in the
    environment layer."""
    space = env.single_action_space if vector else env.action_space
    heads = env.heads if hasattr(env, "heads") else env.envs[0].heads
    agents = space.shape[0] // heads * (env.num_envs if vector else 1)
    nvec = space.nvec
    env.reset(seed=0)
    steps, ENGINE[0], RESTART[0] = 0, 0.0, 0.0
    started = time.process_time()
    while time.process_time() - started < seconds:
        if vector:
            env.step(rng.integers(0, nvec, (env.num_envs, nvec.size)))
        else:
            _, _, term, trunc, _ = env.step(rng.integers(0, nvec))
            if term or trunc:
                env.reset()
        steps += 1
    spent = time.process_time() - started
    n = steps * agents
    return (n / spent, ENGINE[0] / n * 1e6, RESTART[0] / n * 1e6,
            (spent - ENGINE[0] - RESTART[0]) / n * 1e6)


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
    for label, env, vector in (("1 env", one, False),
                               (f"{args.envs} envs", DronefrontVectorEnv(args.envs,
                                                                         args.scenario, **kw),
                                True)):
        if vector:
            rate(env, True, 1.0, rng)  # warm-up: the batched kernels
        per_s, engine, restart, layer = rate(env, vector, args.seconds, rng)
        print(f"{args.scenario}: {label:8s} {per_s:10,.0f} agent-steps/s  per agent-step: "
              f"engine {engine:5.1f} µs, restarts {restart:5.1f} µs, "
              f"env layer {layer:5.1f} µs")


if __name__ == "__main__":
    main()
