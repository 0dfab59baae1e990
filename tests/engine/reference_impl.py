"""Independent second implementation of the benchmark model `reference-open-field`.

Written directly from the specification in docs/reference-model.md, sharing no code with the
engine, so that tests can check the engine does the "same work" statistically (mean soldiers
killed over seeds, within three combined standard errors). Clarity over speed: numpy over
soldiers, a plain Python loop over the few drones.

Semantic choices where the specification leaves room:

* Steps are numbered t = 0 .. steps-1; every slot is ready at t = 0.
* An FPV launched in step 2 also flies in step 3 of the same step.
* Targets (launch and retarget) use positions after step 1 of the current step and the alive
  set at that moment; positions and the alive set do not change between steps 2 and 3.
* "Densest": the alive soldier with the most alive soldiers at distance <= 10 m (itself
  included); ties go to the lowest index. If no soldier is alive, nothing launches, and an FPV
  whose target is dead and that cannot retarget stays where it is for that step.
* Fly: distance before moving <= 20 m -> the FPV arrives and detonates at the target's position;
  otherwise it moves exactly 20 m towards the target.
* Detonations are resolved in drone (slot) order; each alive soldier draws once per detonation,
  killed with p = 0.8 if d <= 5, 0.3 if 5 < d <= 10. A soldier killed by an earlier detonation
  in the same step is no longer alive and cannot be killed again.
* Counter-drone fire applies only to FPVs still flying after step 4; every alive soldier at
  distance <= 150 m of a drone draws once for that drone (hit if u < 0.002).
* A drone that detonates or is shot down at step t leaves its slot ready at step t + 60.
* Soldiers move only while alive and y < 1000, capped at y = 1000.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

DT = 1.0
SOLDIER_SPEED = 1.0
Y_STOP = 1000.0
FPV_SPEED = 20.0
DENSITY_RADIUS = 10.0
BLAST_INNER, P_INNER = 5.0, 0.8
BLAST_OUTER, P_OUTER = 10.0, 0.3
CD_RANGE, CD_P_HIT = 150.0, 0.002
REARM_DELAY = 60


def initial_positions(n: int) -> np.ndarray:
    """Soldier positions, shape (n, 2): platoons of 30 (5 rows x 6 columns, 2 m spacing)."""
    if n % 30 != 0:
        raise ValueError("n must be a multiple of 30")
    c = math.ceil(math.sqrt(n / 30))
    pos = np.zeros((n, 2))
    for i in range(n):
        p, k = divmod(i, 30)
        x0 = 50.0 * (p % c)
        y0 = -100.0 * (p // c)
        pos[i, 0] = x0 + 2.0 * (k % 6)
        pos[i, 1] = y0 - 2.0 * (k // 6)
    return pos


def densest_alive(pos: np.ndarray, alive: np.ndarray) -> int | None:
    """Index of the alive soldier with most alive soldiers within 10 m (ties: lowest index)."""
    idx = np.flatnonzero(alive)
    if idx.size == 0:
        return None
    live = pos[idx]
    # For each alive soldier, the number of alive soldiers at distance <= 10 m (itself included).
    counts = cKDTree(live).query_ball_point(live, r=DENSITY_RADIUS, return_length=True)
    return int(idx[int(np.argmax(counts))])  # argmax returns the first maximum


def simulate_reference(n: int, seed: int, steps: int = 900) -> dict[str, int]:
    """Returns {"killed":..., "launched":..., "detonated":..., "shot_down":...}."""
    rng = np.random.default_rng(seed)
    c = math.ceil(math.sqrt(n / 30))
    n_slots = max(1, n // 100)
    base = np.array([50.0 * c / 2.0, 1500.0])

    pos = initial_positions(n)
    alive = np.ones(n, dtype=bool)

    # Per-slot drone state.
    flying = [False] * n_slots
    ready_at = [0] * n_slots
    drone_pos = [base.copy() for _ in range(n_slots)]
    target = [-1] * n_slots

    killed = launched = detonated = shot_down = 0

    for t in range(steps):
        # 1. Move soldiers.
        moving = alive & (pos[:, 1] < Y_STOP)
        pos[moving, 1] = np.minimum(pos[moving, 1] + SOLDIER_SPEED * DT, Y_STOP)

        # The densest alive soldier is the same throughout steps 2-3 (positions and the alive
        # set do not change there), so compute it at most once per step, on first need.
        best: int | None = None
        best_known = False

        # 2. Launch.
        for s in range(n_slots):
            if not flying[s] and t >= ready_at[s]:
                if not best_known:
                    best, best_known = densest_alive(pos, alive), True
                tgt = best
                if tgt is None:
                    continue
                flying[s] = True
                drone_pos[s] = base.copy()
                target[s] = tgt
                launched += 1

        # 3. Fly.
        blasts: list[np.ndarray] = []  # detonation points, in drone order
        for s in range(n_slots):
            if not flying[s]:
                continue
            if not alive[target[s]]:
                if not best_known:
                    best, best_known = densest_alive(pos, alive), True
                tgt = best
                if tgt is None:
                    continue  # nobody left to target: hover
                target[s] = tgt
            aim = pos[target[s]]
            delta = aim - drone_pos[s]
            dist = float(np.hypot(delta[0], delta[1]))
            if dist <= FPV_SPEED * DT:
                drone_pos[s] = aim.copy()
                blasts.append(aim.copy())
                flying[s] = False
                ready_at[s] = t + REARM_DELAY
                detonated += 1
            else:
                drone_pos[s] = drone_pos[s] + delta * (FPV_SPEED * DT / dist)

        # 4. Detonate (in drone order; the dead cannot be killed again).
        for point in blasts:
            d = np.hypot(pos[:, 0] - point[0], pos[:, 1] - point[1])
            exposed = np.flatnonzero(alive & (d <= BLAST_OUTER))
            p_kill = np.where(d[exposed] <= BLAST_INNER, P_INNER, P_OUTER)
            hit = exposed[rng.random(exposed.size) < p_kill]
            alive[hit] = False
            killed += hit.size

        # 5. Counter-drone fire on FPVs still flying.
        for s in range(n_slots):
            if not flying[s]:
                continue
            dp = drone_pos[s]
            d = np.hypot(pos[:, 0] - dp[0], pos[:, 1] - dp[1])
            shooters = int(np.count_nonzero(alive & (d <= CD_RANGE)))
            if shooters and bool((rng.random(shooters) < CD_P_HIT).any()):
                flying[s] = False
                ready_at[s] = t + REARM_DELAY
                shot_down += 1

    return {"killed": killed, "launched": launched, "detonated": detonated,
            "shot_down": shot_down}


if __name__ == "__main__":
    import sys
    import time

    n_cli = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seeds = range(1, 21)
    results, times = [], []
    for sd in seeds:
        t0 = time.perf_counter()
        results.append(simulate_reference(n_cli, sd))
        times.append(time.perf_counter() - t0)
    print(f"reference-open-field, N={n_cli}, seeds {seeds.start}..{seeds.stop - 1}")
    for key in ("killed", "launched", "detonated", "shot_down"):
        vals = np.array([r[key] for r in results], dtype=float)
        se = vals.std(ddof=1) / math.sqrt(vals.size)
        print(f"  {key:10s} mean {vals.mean():8.2f}  se {se:6.2f}")
    print(f"  time/run   mean {np.mean(times):.3f} s  max {np.max(times):.3f} s")
