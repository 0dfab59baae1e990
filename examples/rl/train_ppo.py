"""Train the attacker's platoons on kursk-assault with Stable-Baselines3 PPO.

The agent is the registered Gymnasium env ``dronefront/KurskAssault-v0`` (docs/rl.md): one
``MultiDiscrete`` action of every platoon's heads (move, spacing, posture, counterdrone,
spotters) against the scripted defender, and the platoons' features as a flat ``Box``.
PPO's ``MlpPolicy`` is used as it is, without action masking: an impossible (masked)
option is ignored by the env (the platoon keeps its standing order), so it only costs
the policy a wasted choice. ``--envs`` copies run in SB3's ``DummyVecEnv`` (the native
``DronefrontVectorEnv`` autoresets in Gymnasium's next-step mode, which SB3's ``VecEnv``
does not speak). Training is deterministic given ``--seed`` on one CPU thread (SB3
``seed=``, ``torch.set_num_threads(--threads)``, default 1).

Needs PyTorch and Stable-Baselines3, which are not part of ``all`` or ``make test``:
``pip install 'dronefront[ppo]'``.

    python examples/rl/train_ppo.py --timesteps 150000 --out ppo-policy.zip   # train
    python examples/rl/train_ppo.py --evaluate ppo-policy.zip     # 50 fresh seeds vs doctrine

``--evaluate`` plays 50 fresh seeds (10,000-10,049, never drawn in training) with the
policy's most likely action, next to the tight-rank and dispersed doctrines and, with
``--es`` (default ``examples/rl/es-policy.json`` when present), the CMA-ES policy of
``train_es.py``, whose evaluation helpers it uses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _require_sb3():
    """Import torch and stable_baselines3, or exit 2 with a one-line error."""
    try:
        import stable_baselines3
        import torch
    except ImportError as exc:
        print(f"error: train_ppo.py needs PyTorch and Stable-Baselines3 ({exc.name} is missing):"
              " pip install 'dronefront[ppo]'", file=sys.stderr)
        raise SystemExit(2) from None
    return torch, stable_baselines3


def train(args: argparse.Namespace) -> None:
    torch, sb3 = _require_sb3()
    import gymnasium
    from stable_baselines3.common.env_util import make_vec_env

    import dronefront.rl  # noqa: F401  (registers the envs)

    torch.set_num_threads(args.threads)
    env_id = f"dronefront/{args.env}"
    venv = make_vec_env(lambda: gymnasium.make(env_id), n_envs=args.envs, seed=args.seed)
    model = sb3.PPO("MlpPolicy", venv, n_steps=args.n_steps, batch_size=args.batch_size,
                    n_epochs=args.epochs, learning_rate=args.lr, gamma=args.gamma,
                    ent_coef=args.ent_coef, seed=args.seed, device="cpu", verbose=0)
    started = time.perf_counter()
    model.learn(total_timesteps=args.timesteps, callback=progress_callback(started, venv.num_envs))
    seconds = time.perf_counter() - started
    model.save(args.out)
    Path(args.out).with_suffix(".json").write_text(json.dumps({
        "env": env_id, "timesteps": model.num_timesteps, "train_seconds": round(seconds, 1),
        "envs": args.envs, "seed": args.seed, "threads": args.threads,
        "n_steps": args.n_steps, "batch_size": args.batch_size, "epochs": args.epochs,
        "lr": args.lr, "gamma": args.gamma, "ent_coef": args.ent_coef,
    }, indent=1))
    print(f"saved {args.out} after {model.num_timesteps} timesteps, {seconds:.0f} s")


def progress_callback(started: float, n_envs: int):
    """A callback printing the mean return of the episodes finished since the last rollout."""
    from stable_baselines3.common.callbacks import BaseCallback

    class Progress(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: list[float] = []
            self.running = [0.0] * n_envs

        def _on_step(self) -> bool:
            for i, (r, done) in enumerate(zip(self.locals["rewards"], self.locals["dones"],
                                              strict=True)):
                self.running[i] += float(r)
                if done:
                    self.returns.append(self.running[i])
                    self.running[i] = 0.0
            return True

        def _on_rollout_end(self) -> None:
            if self.returns:
                mean = sum(self.returns) / len(self.returns)
                print(f"{self.num_timesteps:8d} steps  return {mean:7.3f} "
                      f"({len(self.returns)} episodes)  {time.perf_counter() - started:6.0f} s",
                      flush=True)
                self.returns = []

    return Progress()


def evaluate(args: argparse.Namespace) -> None:
    _, sb3 = _require_sb3()
    import numpy as np

    sys.path.insert(0, str(HERE))
    from train_es import SIZES, doctrine_rows, es_chooser, evaluate_rows, summary_stats, usage_lines

    model = sb3.PPO.load(args.evaluate, device="cpu")
    heads = len(SIZES)

    def choose(obs, mask):
        action, _ = model.predict(obs.ravel(), deterministic=True)
        return np.asarray(action).reshape(-1, heads)

    seeds = range(10_000, 10_000 + args.eval_seeds)  # never used in training (random draws)
    usage = np.zeros((2, sum(SIZES)))  # option counts: drones seen or not
    table = {"PPO": summary_stats(evaluate_rows(args.scenario, seeds, choose, usage))}
    if args.es and Path(args.es).exists():
        theta = np.asarray(json.loads(Path(args.es).read_text())["theta"])
        table["CMA-ES (es-policy.json)"] = summary_stats(evaluate_rows(args.scenario, seeds,
                                                                es_chooser(theta)))
    table.update({k: summary_stats(v) for k, v in doctrine_rows(seeds).items()})
    print(json.dumps(table, indent=1, ensure_ascii=False))
    print("PPO's options:")
    print("\n".join(usage_lines(usage)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="KurskAssault-v0", help="registered id after dronefront/")
    ap.add_argument("--scenario", default="kursk-assault", help="the env's scenario (evaluation)")
    ap.add_argument("--timesteps", type=int, default=150_000)
    ap.add_argument("--envs", type=int, default=8, help="env copies in a DummyVecEnv")
    ap.add_argument("--n-steps", type=int, default=256, help="rollout steps per env copy")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--ent-coef", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: deterministic)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="ppo-policy.zip", help="SB3 zip (+ a .json of settings)")
    ap.add_argument("--evaluate", help="evaluate a saved SB3 zip")
    ap.add_argument("--eval-seeds", type=int, default=50)
    ap.add_argument("--es", default=str(HERE / "es-policy.json"),
                    help="ES policy evaluated alongside ('' to skip)")
    args = ap.parse_args()
    if args.evaluate:
        evaluate(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
