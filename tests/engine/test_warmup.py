"""The warm-up reaches every kernel a run uses (ensembles' batched kernels too), so a run
after it compiles nothing."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import dronefront
from dronefront.engine.warmup import kernels
from tests.safety.hostile import Hostile, check

ENGINE = Path(dronefront.__file__).parent / "engine"


def _decorated_kernels() -> set[str]:
    """Engine functions decorated with numba's njit (or a name bound to it), from the source."""
    found = set()
    for path in ENGINE.rglob("*.py"):
        module = ".".join(("dronefront", *path.relative_to(ENGINE.parent).with_suffix("").parts))
        tree = ast.parse(path.read_text())
        jit_names = {t.id for node in tree.body if isinstance(node, ast.Assign)
                     and "njit" in ast.unparse(node.value) for t in node.targets
                     if isinstance(t, ast.Name)}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                    "njit" in ast.unparse(d) or ast.unparse(d) in jit_names
                    for d in node.decorator_list):
                found.add(f"{module}.{node.name}")
    return found


def test_kernels_finds_every_njit_function():
    assert set(kernels()) == _decorated_kernels()
    assert len(kernels()) > 30


def test_warmup_command_runs(tmp_path):
    check(Hostile("warmup", args=["warmup"], code=0), tmp_path)


# In a fresh interpreter, so that only the warm-up can have loaded a kernel before the runs.
AFTER_WARMUP = """
import json
import dronefront
from dronefront.engine.warmup import builtin_runs, compiled, warmup

before = warmup()
for kind, name in builtin_runs():
    if kind == "engagement":
        dronefront.run(name, seed=7, events=False)
        dronefront.run_ensemble(dronefront.load_scenario(name), [7, 8, 9], events=False)
dronefront.run("reference-open-field", seed=3, overrides=["parameters.N=3000", "duration=120"])
after = compiled()
print(json.dumps({"loaded": sum(1 for n in before.values() if n),
                  "new": sorted(k for k in after if after[k] != before[k])}))
"""


def test_after_warmup_runs_compile_nothing():
    src = str(ENGINE.parent.parent)
    done = subprocess.run([sys.executable, "-c", AFTER_WARMUP], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": src}, timeout=900)
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["new"] == []
    assert report["loaded"] >= 20
