"""examples/rl/train_ppo.py without PyTorch or Stable-Baselines3: --help works, training
and evaluation stop with one line naming the ppo extra and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "rl" / "train_ppo.py"

#: Runs the script with torch and stable_baselines3 unimportable, as in the dev venv.
WITHOUT_SB3 = """
import runpy, sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "stable_baselines3"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_SB3, str(SCRIPT), *args],
                          capture_output=True, text=True, timeout=300)


def test_help_needs_no_torch() -> None:
    done = _run("--help")
    assert done.returncode == 0, done.stderr
    assert "Stable-Baselines3 PPO" in done.stdout and "--timesteps" in done.stdout


@pytest.mark.parametrize("args", [("--timesteps", "10"), ("--evaluate", "missing.zip")])
def test_missing_sb3_is_one_line_and_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    done = _run(*args, "--out", str(tmp_path / "p.zip"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "pip install 'dronefront[ppo]'" in lines[0]
    assert not (tmp_path / "p.zip").exists()
