"""A command whose optional dependency is missing says which extra to install, in one line;
the core install runs engagements, campaigns and replays without any extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dronefront.errors import UserError
from dronefront.extras import EXTRAS, missing, require
from tests.safety.hostile import Hostile, check

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "name: x\nscenario: reference-open-field\n"
SOLVE = ["lanchester", "solve", "--a0", "100", "--b0", "80", "--alpha", "0.01", "--beta", "0.01"]

#: Modules made unimportable for each case (as if their extra were not installed).
BLOCKED = {
    "report-without-matplotlib": ("matplotlib",),
    "report-store-without-duckdb": ("duckdb",),
    "experiment-run-without-duckdb": ("duckdb",),
    "experiment-status-without-pandas": ("pandas",),
    "experiment-results-without-scipy": ("scipy",),
    "experiment-run-ray-without-ray": ("ray",),
    "sensitivity-plot-without-matplotlib": ("matplotlib",),
    "calibrate-without-optuna": ("optuna",),
    "lanchester-solve-without-scipy": ("scipy",),
    "lanchester-fit-plot-without-matplotlib": ("matplotlib",),
}

CASES = [
    Hostile("report-without-matplotlib", args=["report", "precious", "-o", "r.html"],
            expect=("dronefront report needs matplotlib: pip install 'dronefront[plots]'",)),
    Hostile("report-store-without-duckdb", args=["report", "runs.duckdb", "-o", "r.html"],
            files={"runs.duckdb": "not really a store"},
            expect=("a report on an experiment store needs duckdb: pip install "
                    "'dronefront[experiments]'",)),
    Hostile("experiment-run-without-duckdb", args=["experiment", "run", "exp.yaml"],
            files={"exp.yaml": EXPERIMENT},
            expect=("dronefront experiment run needs duckdb", "'dronefront[experiments]'")),
    Hostile("experiment-status-without-pandas", args=["experiment", "status", "exp.yaml"],
            files={"exp.yaml": EXPERIMENT},
            expect=("dronefront experiment status needs pandas", "[experiments]")),
    Hostile("experiment-results-without-scipy", args=["experiment", "results", "exp.yaml"],
            files={"exp.yaml": EXPERIMENT},
            expect=("dronefront experiment results needs scipy", "[experiments]")),
    Hostile("experiment-run-ray-without-ray",
            args=["experiment", "run", "exp.yaml", "--executor", "ray"],
            files={"exp.yaml": EXPERIMENT},
            expect=("dronefront experiment run --executor ray needs ray: pip install "
                    "'dronefront[ray]'",)),
    Hostile("sensitivity-plot-without-matplotlib",
            args=["sensitivity", "exp.yaml", "--metric", "m", "--plot", "t.png"],
            files={"exp.yaml": EXPERIMENT},
            expect=("dronefront sensitivity --plot needs matplotlib", "'dronefront[plots]'")),
    Hostile("calibrate-without-optuna", args=["calibrate", "cal.yaml"],
            files={"cal.yaml": EXPERIMENT},
            expect=("dronefront calibrate needs optuna", "'dronefront[experiments]'")),
    Hostile("lanchester-solve-without-scipy", args=SOLVE,
            expect=("dronefront lanchester solve needs scipy: pip install "
                    "'dronefront[lanchester]'",)),
    Hostile("lanchester-fit-plot-without-matplotlib",
            args=["lanchester", "fit", "data.csv", "--plot", "fit.png"],
            files={"data.csv": "day,a,b\n0,100,80\n1,90,75\n2,81,70\n"},
            expect=("dronefront lanchester fit --plot needs matplotlib", "'dronefront[plots]'")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_missing_extra_is_one_line(case, tmp_path, monkeypatch):
    for module in BLOCKED[case.id]:
        monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    check(case, tmp_path)


def test_every_case_blocks_something():
    assert sorted(BLOCKED) == sorted(c.id for c in CASES)


def test_require_passes_when_installed_and_names_the_extra_when_not(monkeypatch):
    require("a test", "plots", "json")  # a module that is there: no error
    assert missing("json", "no_such_module_here") == ["no_such_module_here"]
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(UserError) as info:
        require("calibration", "experiments")
    assert str(info.value) == "calibration needs optuna: pip install 'dronefront[experiments]'"


# A fresh interpreter in which every optional dependency is missing, as after
# `pip install dronefront`: scenarios, validate, run, campaign and replay work; report stops
# with one line. (SciPy is blocked too; Numba only checks its version when it is there.)
CORE_ONLY = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from dronefront.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    sys.exit(exc.code)
"""


def _core_only(args: list[str], cwd: Path, keep: tuple[str, ...] = ()
               ) -> subprocess.CompletedProcess:
    """Run the CLI with every optional module blocked except those of the extras ``keep``."""
    kept = {m for extra in keep for m in EXTRAS[extra]}
    blocked = sorted({m for modules in EXTRAS.values() for m in modules} - kept)
    return subprocess.run(
        [sys.executable, "-c", CORE_ONLY.format(blocked=blocked), *args], cwd=cwd,
        capture_output=True, text=True, timeout=600,
        env={**_env(), "COLUMNS": "200"},
    )


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}


@pytest.mark.slow
def test_core_install_runs_engagements_campaigns_and_replays(tmp_path):
    small = ["--set", "parameters.N=40", "--set", "duration=30"]
    for args in (["scenarios"], ["validate", "kursk-assault"],
                 ["run", "reference-open-field", *small, "--out", "run1"],
                 ["campaign", "kursk-campaign", "--days", "1", "--out", "camp"],
                 ["replay", "run1", "-o", "replay.html"]):
        done = _core_only(args, tmp_path)
        assert done.returncode == 0, (args, done.stderr[-2000:])
    assert json.loads((tmp_path / "run1" / "summary.json").read_text())["sides"]
    assert (tmp_path / "camp" / "daily.parquet").is_file()
    assert (tmp_path / "replay.html").stat().st_size > 10_000
    done = _core_only(["report", "run1", "-o", "report.html"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: dronefront report needs matplotlib: pip install 'dronefront[plots]'"]
    assert not (tmp_path / "report.html").exists()
    # with the plots extra alone, a run folder's report works (no DuckDB needed)
    done = _core_only(["report", "run1", "-o", "report.html"], tmp_path, keep=("plots",))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_docstring_examples_run():
    import doctest

    import dronefront.extras

    failures, tried = doctest.testmod(dronefront.extras)
    assert failures == 0 and tried >= 2
