"""Train the attacker's platoons on kursk-assault with CMA-ES over a small linear policy.

One policy is shared by every platoon: for each action head, option scores are
``features @ W_head`` (features: the platoon observation plus a constant), and the platoon
takes the best allowed option. CMA-ES (the ``cma`` package) searches ``W``; fitness is the
mean episode return over a few seeds, common to every candidate of a generation (common
random numbers). Needs the ``rl`` extra.

    python examples/rl/train_es.py --out policy.json            # train (minutes on 2 cores)
    python examples/rl/train_es.py --evaluate policy.json       # 50 fresh seeds vs doctrine
    python examples/rl/train_es.py --replay policy.json --run out/es-run   # + es-run.html

The replayed run folder is policy-played (docs/rl.md): it holds the orders the policy gave
(``actions.parquet``), so ``dronefront replay out/es-run`` shows it as well.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from dronefront.rl import PLATOON_FEATURES, PLATOON_HEADS, Engagement
from dronefront.scenario.loader import load_scenario

SIZES = [len(v) for v in PLATOON_HEADS.values()]
F = len(PLATOON_FEATURES) + 1


def act(theta: np.ndarray, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Best allowed option per head for each platoon row of ``obs``."""
    x = np.hstack([obs, np.ones((obs.shape[0], 1), np.float32)])
    scores = x @ theta.reshape(F, sum(SIZES))
    scores = np.where(mask, scores, -np.inf)
    out, start = [], 0
    for k in SIZES:
        out.append(scores[:, start:start + k].argmax(axis=1))
        start += k
    return np.stack(out, axis=1)


def episode(scenario, seed: int, theta: np.ndarray | None, events: bool = False):
    """Play one episode; ``theta=None`` keeps the doctrine. Returns (return, engagement)."""
    e = Engagement(scenario, seed, events=events)
    total = 0.0
    while True:
        if theta is not None and e.platoons.size:
            e.order_platoons(act(theta, e.observe(), e.platoon_masks()))
        rewards, terms, truncated = e.advance()
        total += sum(rewards.values())
        if truncated or all(terms.values()):
            return total, e


def train(args: argparse.Namespace) -> None:
    import cma

    scenario = load_scenario(args.scenario)
    es = cma.CMAEvolutionStrategy(np.zeros(F * sum(SIZES)), args.sigma,
                                  {"popsize": args.popsize, "seed": args.seed, "verbose": -9})
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    for gen in range(args.generations):
        seeds = rng.integers(0, 2**31, args.episodes)
        candidates = es.ask()
        fitness = [-np.mean([episode(scenario, int(s), np.asarray(c))[0] for s in seeds])
                   for c in candidates]
        es.tell(candidates, fitness)
        print(f"gen {gen:3d}  best {-min(fitness):7.3f}  mean {-np.mean(fitness):7.3f}  "
              f"{time.perf_counter() - started:6.0f} s", flush=True)
    Path(args.out).write_text(json.dumps({
        "scenario": args.scenario, "features": list(PLATOON_FEATURES) + ["bias"],
        "heads": {k: list(v) for k, v in PLATOON_HEADS.items()},
        "theta": list(map(float, es.result.xfavorite)),
        "train_seconds": time.perf_counter() - started,
        "generations": args.generations, "popsize": args.popsize, "episodes": args.episodes,
    }, indent=1))
    print(f"saved {args.out} after {time.perf_counter() - started:.0f} s")


def summary_stats(rows: list[dict]) -> dict:
    out = {}
    for key in rows[0]:
        v = np.array([r[key] for r in rows], float)
        v = v[np.isfinite(v)]
        half = 1.96 * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
        out[key] = f"{v.mean():.3f} ± {half:.3f}"
    return out


def evaluate_rows(scenario_name: str, seeds, choose=None, usage=None) -> list[dict]:
    """Play ``seeds`` of a scenario; ``choose(obs, mask)`` gives each platoon's option per
    head (``None`` keeps the doctrine). Counts the options chosen into ``usage`` (rows: no
    drone seen, drone seen) when given. One row per seed: casualties, objective progress,
    casualties per progress. Shared by the other training examples (train_ppo.py)."""
    scenario = load_scenario(scenario_name)
    starts = np.cumsum([0] + SIZES[:-1])
    rows = []
    for seed in seeds:
        e = Engagement(scenario, seed)
        while True:
            if choose is not None:
                obs = e.observe()
                a = choose(obs, e.platoon_masks())
                if usage is not None:
                    for row, o in zip(a, obs, strict=True):
                        usage[int(o[6] > 0), starts + row] += 1
                e.order_platoons(a)
            _, terms, truncated = e.advance()
            if truncated or all(terms.values()):
                break
        att = e.finish().summary["sides"]["attacker"]
        progress = att["objective_progress"] or 0.0
        rows.append({"casualties": att["casualties"], "progress": progress,
                     "casualties_per_progress": att["casualties"] / max(progress, 1e-3)})
    return rows


def doctrine_rows(seeds) -> dict[str, list[dict]]:
    """The doctrine rows every evaluation is compared with."""
    return {"tight-rank doctrine": evaluate_rows("kursk-assault", seeds),
            "dispersed doctrine": evaluate_rows("kursk-assault-dispersed", seeds)}


def usage_lines(usage: np.ndarray) -> list[str]:
    """Share of each option per head, with and without a drone seen."""
    names = [f"{h}:{o}" for h, opts in PLATOON_HEADS.items() for o in opts]
    lines = []
    for i, when in enumerate(("no drone seen", "drone seen")):
        counts = usage[i]
        starts = np.cumsum([0] + SIZES)
        shares = []
        for h in range(len(SIZES)):
            seg = counts[starts[h]:starts[h + 1]]
            tot = max(seg.sum(), 1)
            shares += [f"{names[starts[h] + j]} {seg[j] / tot:.2f}" for j in range(seg.size)]
        lines.append(f"{when} ({int(counts[:SIZES[0]].sum())} decisions): " + ", ".join(shares))
    return lines


def es_chooser(theta: np.ndarray):
    """A saved ES policy as ``choose(obs, mask)``."""
    return lambda obs, mask: act(theta, obs, mask)


def evaluate(args: argparse.Namespace) -> None:
    saved = json.loads(Path(args.evaluate).read_text())
    theta = np.asarray(saved["theta"])
    seeds = range(10_000, 10_000 + args.eval_seeds)  # never used in training (random draws)
    usage = np.zeros((2, sum(SIZES)))  # option counts: drones seen or not
    table = {"trained": summary_stats(evaluate_rows(saved["scenario"], seeds, es_chooser(theta),
                                             usage))}
    table.update({k: summary_stats(v) for k, v in doctrine_rows(seeds).items()})
    print(json.dumps(table, indent=1, ensure_ascii=False))
    print("\n".join(usage_lines(usage)))


def replay(args: argparse.Namespace) -> None:
    """Write a policy-played run folder (with its actions table) and its HTML replay."""
    from dronefront.viz.replay import record_from_run_dir, write_replay

    saved = json.loads(Path(args.replay).read_text())
    scenario = load_scenario(saved["scenario"])
    theta = np.asarray(saved["theta"])
    e = Engagement(scenario, args.seed, record=True)
    while True:
        e.order_platoons(act(theta, e.observe(), e.platoon_masks()))
        _, terms, truncated = e.advance()
        if truncated or all(terms.values()):
            break
    e.write_run(args.run, policy=f"CMA-ES linear policy {Path(args.replay).name}")
    rec = record_from_run_dir(args.run)  # re-plays the recorded orders, checks the summary
    html = write_replay(rec, Path(args.run).with_suffix(".html"),
                        title=f"{scenario.name}: ES-trained attacker, seed {args.seed}")
    print(f"wrote {args.run} and {html} (dronefront replay {args.run} shows it too)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="kursk-assault")
    ap.add_argument("--generations", type=int, default=25)
    ap.add_argument("--popsize", type=int, default=10)
    ap.add_argument("--episodes", type=int, default=3, help="seeds per fitness evaluation")
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="es-policy.json")
    ap.add_argument("--evaluate", help="evaluate a saved policy")
    ap.add_argument("--eval-seeds", type=int, default=50)
    ap.add_argument("--replay", help="write a run folder played by a saved policy")
    ap.add_argument("--run", default="es-run")
    args = ap.parse_args()
    if args.evaluate:
        evaluate(args)
    elif args.replay:
        replay(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
