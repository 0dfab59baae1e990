"""Every error a user can cause is one line and exit 2; output shows user strings safely.

``CASES`` run through the hostile-input harness (``dronefront.cli.main`` or the Python API
in this process). The tests at the end start the real entry point (``python -m dronefront``,
``python -m dronefront.cli`` and the console script's target from ``pyproject.toml``) in
subprocesses, all at once, for what only a process shows: a broken standard output and
Ctrl-C while the package is still importing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.safety.hostile import Hostile, check

ROOT = Path(__file__).resolve().parents[2]
SOLVE = ["lanchester", "solve", "--a0", "1000", "--b0", "800", "--alpha", "0.01",
         "--beta", "0.01"]
HUGE = "1e308"
HUGE_CSV = "day,a,b\n0,1e308,1e308\n1,1e308,9e307\n2,9e307,8e307\n3,8e307,7e307\n"
BAD_FILE_NAME = "\x1b[2J\x1b]0;pwned\x07.yaml"


def _api(fn_name: str, *args, **kwargs):
    """A call case: ``dronefront.<fn_name>(*args, **kwargs)`` in the sandbox."""

    def call(_sandbox: Path):
        import dronefront

        return getattr(dronefront, fn_name)(*args, **kwargs)

    return call


def _sim_from_name(_sandbox: Path):
    from dronefront import Sim

    Sim("kursk-assault")


def _experiment(fn_name: str, *args):
    def call(_sandbox: Path):
        import dronefront.experiments as experiments

        return getattr(experiments, fn_name)(*args)

    return call


CASES = [
    # --- seeds, days and counts on the command line
    Hostile("run-seed-2**70", args=["run", "kursk-assault", "--seed", str(2**70)],
            expect=("seed", "[0, 2**63)", str(2**70))),
    Hostile("run-seed-negative", args=["run", "kursk-assault", "--seed", "-1"],
            expect=("seed", "not -1")),
    Hostile("run-seed-float", args=["run", "kursk-assault", "--seed", "1.5"],
            expect=("--seed", "dronefront run --help")),
    Hostile("replay-seed-negative", args=["replay", "--scenario", "kursk-assault",
                                          "--seed", "-5"], expect=("seed", "not -5")),
    Hostile("campaign-days-0", args=["campaign", "kursk-campaign", "--days", "0"],
            expect=("days", "at least 1", "got 0")),
    Hostile("campaign-days-negative", args=["campaign", "kursk-campaign", "--days", "-3"],
            expect=("days", "at least 1", "got -3")),
    Hostile("campaign-seed-2**64", args=["campaign", "kursk-campaign", "--seed", str(2**64)],
            expect=("seed", "[0, 2**63)")),
    Hostile("campaign-no-learning-both", args=["campaign", "kursk-campaign",
                                               "--no-learning", "both"],
            expect=("no_learning", "'both'")),
    # --- names and paths that are empty, folders, NUL or escape sequences
    Hostile("run-empty-name", args=["run", ""], expect=("scenario", "must not be empty")),
    Hostile("run-directory", args=["run", "precious"],
            expect=("precious", "no such scenario file")),
    Hostile("run-nul-in-name", args=["run", "kursk\x00assault"], expect=("kursk\\x00assault",)),
    Hostile("validate-escape-in-name", args=["validate", "\x1b[2J\x1b]0;pwned\x07"],
            expect=("unknown scenario", "\\x1b[2J\\x1b]0;pwned\\x07")),
    Hostile("validate-escape-in-file-name", args=["validate", BAD_FILE_NAME],
            files={BAD_FILE_NAME: "name: x\ndt: [\n"}, expect=("\\x1b[2J", "invalid YAML")),
    Hostile("validate-escape-in-set-value", args=["validate", "kursk-assault", "--set",
                                                  "dt=\x1b]0;pwned\x07\x9b2J"],
            expect=("--set", "dt", "\\x1b]0;pwned\\x07\\x9b2J")),
    Hostile("validate-markup-in-set-value", args=["validate", "kursk-assault", "--set",
                                                  "dt=[bold]x[/bold]"],
            expect=("[bold]x[/bold]",)),
    Hostile("validate-escape-in-yaml-name", args=["validate", "evil.yaml"],
            files={"evil.yaml": 'extends: reference-open-field\nname: "\\e[2J"\ndt: -1\n'},
            expect=("evil.yaml:3:", "dt")),
    Hostile("set-without-equals", args=["validate", "kursk-assault", "--set", "dt"],
            expect=("expected PATH=VALUE", "'dt'")),
    # --- usage errors are one line too
    Hostile("usage-missing-argument", args=["run"],
            expect=("Missing argument", "dronefront run --help")),
    Hostile("usage-no-such-command", args=["nosuch"], expect=("No such command 'nosuch'",)),
    Hostile("usage-no-such-option", args=["run", "kursk-assault", "--sed", "3"],
            expect=("--sed",)),
    Hostile("usage-experiment-dir", args=["experiment", "status", "precious"],
            expect=("precious", "directory")),
    # --- Lanchester: overflow and non-finite input
    Hostile("solve-all-1e308", args=["lanchester", "solve", "--a0", HUGE, "--b0", HUGE,
                                     "--alpha", HUGE, "--beta", HUGE],
            expect=("overflow", "not a finite number")),
    Hostile("solve-generalized-1e308", args=["lanchester", "solve", "--a0", HUGE, "--b0",
                                             HUGE, "--alpha", HUGE, "--beta", HUGE, "--law",
                                             "generalized", "--p", "3", "--q", "3"],
            expect=("overflow",)),
    Hostile("solve-reinforce-overflow", args=[*SOLVE, "--reinforce", "A:1:1e308",
                                              "--reinforce", "A:2:1e308"],
            expect=("overflow",)),
    Hostile("solve-nan", args=["lanchester", "solve", "--a0", "nan", "--b0", "1", "--alpha",
                               "1", "--beta", "1"], expect=("a0", "finite")),
    Hostile("solve-inf-beta", args=["lanchester", "solve", "--a0", "1", "--b0", "1",
                                    "--alpha", "1", "--beta", "inf"], expect=("beta", "inf")),
    Hostile("solve-days-1e308", args=[*SOLVE, "--days", HUGE], expect=("days", "1e+308")),
    Hostile("solve-rows-0", args=[*SOLVE, "--rows", "0"], expect=("--rows", "at least 1")),
    Hostile("fit-near-1e308", args=["lanchester", "fit", "huge.csv", "--boot", "3"],
            files={"huge.csv": HUGE_CSV}, expect=("overflow",)),
    Hostile("fit-select-near-1e308", args=["lanchester", "fit", "huge.csv", "--select",
                                           "--boot", "2"],
            files={"huge.csv": HUGE_CSV}, expect=("overflow",)),
    Hostile("fit-seed-negative", args=["lanchester", "fit", "huge.csv", "--seed", "-1"],
            files={"huge.csv": HUGE_CSV}, expect=("seed", "not -1")),
    Hostile("fit-directory", args=["lanchester", "fit", "precious"], expect=("precious",)),
    # --- the Python API checks its arguments
    Hostile("api-overrides-str", call=_api("run", "kursk-assault",
                                           overrides="duration=60"),
            expect=("overrides", "single str", '["duration=60"]')),
    Hostile("api-overrides-bytes", call=_api("load_scenario", "kursk-assault", b"dt=1"),
            expect=("overrides", "single bytes")),
    Hostile("api-overrides-item-not-str", call=_api("load_scenario", "kursk-assault",
                                                    [("dt", 1)]),
            expect=("overrides", "('dt', 1) (tuple)")),
    Hostile("api-overrides-value-not-plain", call=_api("load_scenario", "kursk-assault",
                                                       {"dt": object()}),
            expect=("overrides", "dt: value must be")),
    Hostile("api-overrides-int", call=_api("load_scenario", "kursk-assault", 5),
            expect=("overrides", "5 (int)")),
    Hostile("api-seed-float", call=_api("run", "kursk-assault", seed=1.5),
            expect=("seed", "must be an integer", "1.5 (float)")),
    Hostile("api-seed-bool", call=_api("run", "kursk-assault", seed=True),
            expect=("seed", "True (bool)")),
    Hostile("api-seed-2**70", call=_api("run", "kursk-assault", seed=2**70),
            expect=("seed", "[0, 2**63)")),
    Hostile("api-seed-numpy-negative", call=_api("run", "kursk-assault", seed=np.int64(-1)),
            expect=("seed", "not -1")),
    Hostile("api-seed-huge-int", call=_api("run", "kursk-assault", seed=10**5000),
            expect=("seed", "bit integer")),
    Hostile("api-scenario-int", call=_api("load_scenario", 42),
            expect=("scenario", "42 (int)")),
    Hostile("api-events-str", call=_api("run", "kursk-assault", events="no"),
            expect=("events", "True or False")),
    Hostile("api-out-int", call=_api("run", "kursk-assault", out=5),
            expect=("out", "must be a path")),
    Hostile("api-progress-not-callable", call=_api("run", "kursk-assault", progress=3),
            expect=("progress", "function")),
    Hostile("api-sim-from-name", call=_sim_from_name, expect=("scenario", "Scenario")),
    Hostile("api-campaign-days-0", call=_api("run_campaign", "kursk-campaign", days=0),
            expect=("days", "at least 1")),
    Hostile("api-campaign-days-float", call=_api("run_campaign", "kursk-campaign", days=1.5),
            expect=("days", "must be an integer")),
    Hostile("api-campaign-seed-float", call=_api("run_campaign", "kursk-campaign", 2.5),
            expect=("seed", "2.5 (float)")),
    Hostile("api-campaign-no-learning-str", call=_api("run_campaign", "kursk-campaign",
                                                      no_learning="attacker", days=1),
            expect=("no_learning", "list of sides")),
    Hostile("api-load-campaign-overrides-str", call=_api("load_campaign", "kursk-campaign",
                                                         "days=3"),
            expect=("overrides", "single str")),
    Hostile("api-load-campaign-int", call=_api("load_campaign", 7),
            expect=("campaign", "7 (int)")),
    Hostile("api-experiment-int", call=_experiment("load_experiment", 123),
            expect=("experiment", "123 (int)")),
    Hostile("api-experiment-status-none", call=_experiment("status", None),
            expect=("experiment", "None")),
    Hostile("api-experiment-store-int", call=_experiment("Store", 5),
            expect=("store", "5 (int)")),
    Hostile("api-calibration-float", call=_experiment("load_calibration", 1.5),
            expect=("calibration", "1.5 (float)")),
]

CONTROLS = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_fails_safely(case, tmp_path):
    line = check(case, tmp_path)
    assert not any(c in line for c in CONTROLS), f"control character in {line!r}"


def test_api_workers_must_be_an_integer():
    from dronefront.errors import UserError
    from dronefront.experiments import make_executor

    with pytest.raises(UserError, match=r"workers: must be an integer, not 2\.5"):
        make_executor("local", workers=2.5)
    with pytest.raises(UserError, match="workers: must be at least 1, not 0"):
        make_executor("local", workers=0)


def test_api_accepts_numpy_integers_and_mappings():
    """The checks refuse what is wrong, not what is merely spelled differently."""
    from dronefront.arguments import check_overrides, check_seed

    assert check_seed(np.int64(7)) == 7 and isinstance(check_seed(np.uint8(3)), int)
    assert check_overrides({"parameters.N": np.int64(60), "name": "x"}) == [
        "parameters.N=60", 'name="x"']
    assert check_overrides(x for x in ["dt=1"]) == ["dt=1"]


def test_printable_escapes_controls_and_bidi():
    from dronefront.text import markup_safe, printable

    assert printable("a\x1b[2Jb\x9b\x7f\u202e\tc") == "a\\x1b[2Jb\\x9b\\x7f\\u202e\\x09c"
    assert printable("Kyiv → Київ, 5 km") == "Kyiv → Київ, 5 km"
    assert markup_safe("[bold]x[/bold]\x07") == "\\[bold]x\\[/bold]\\x07"


@pytest.mark.parametrize("name", ["dronefront.text", "dronefront.arguments",
                                  "dronefront.errors"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(name))
    assert failures == 0 and tried > 0


def _import_interrupted() -> None:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:  # what an extension module stopped while it loads raises
        raise ImportError("initialization failed") from None


@pytest.mark.parametrize("raise_it", [KeyboardInterrupt, _import_interrupted],
                         ids=["KeyboardInterrupt", "ImportError-during-Ctrl-C"])
def test_interrupt_inside_a_command_is_one_line_and_130(monkeypatch, capsys, raise_it):
    import dronefront.scenario.loader as loader
    from dronefront.cli import main

    def interrupted(*_args, **_kwargs):
        if raise_it is KeyboardInterrupt:
            raise KeyboardInterrupt
        raise_it()

    monkeypatch.setattr(loader, "load_scenario", interrupted)
    with pytest.raises(SystemExit) as exc:
        main(["validate", "kursk-assault"])
    assert exc.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"


def test_tables_and_labels_escape_user_strings(tmp_path, monkeypatch, capsys):
    """A scenario name with escapes and markup is printed as text by validate and run."""
    from dronefront.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.yaml").write_text(
        'extends: reference-open-field\nname: "\\e[2J\\e]0;pwned\\a[bold]x[/bold]"\n'
        "duration: 20\n")
    with pytest.raises(SystemExit) as exc:
        main(["validate", "evil.yaml"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "\\x1b[2J\\x1b]0;pwned\\x07[bold]x[/bold]" in out and "\x1b" not in out
    with pytest.raises(SystemExit) as exc:
        main(["run", "evil.yaml", "--set", "parameters.N=10", "--out", str(tmp_path / "r")])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "\\x1b[2J" in out and "[bold]x[/bold]" in out and "\x1b" not in out


# --------------------------------------------------------------------------- real processes
def _script_target() -> str:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return scripts["dronefront"]


def _launchers() -> dict[str, list[str]]:
    module, _, func = _script_target().partition(":")
    # what pip's console-script wrapper runs
    shim = f"import sys; from {module} import {func}; sys.exit({func}())"
    return {"-m dronefront": ["-m", "dronefront"], "-m dronefront.cli": ["-m", "dronefront.cli"],
            "console script": ["-c", shim]}


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src,
            "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}


def _stdout_full(launcher: list[str], cwd: Path) -> subprocess.CompletedProcess:
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, *launcher, "schema"], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=cwd, env=_env(),
                              timeout=120, check=False)


def _stdout_closed(launcher: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, *launcher,
                           "scenarios"], stderr=subprocess.PIPE, text=True, cwd=cwd,
                          env=_env(), timeout=120, check=False)


def _stderr_full(launcher: list[str], cwd: Path) -> subprocess.CompletedProcess:
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, *launcher, "validate", "nowhere.yaml"],
                              stdout=subprocess.PIPE, stderr=full, text=True, cwd=cwd,
                              env=_env(), timeout=120, check=False)


def _pipe_closed(launcher: list[str], cwd: Path) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write: EPIPE
    try:
        return subprocess.run([sys.executable, *launcher, "schema"], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=cwd, env=_env(),
                              timeout=120, check=False)
    finally:
        os.close(write)


def _interrupt(launcher: list[str], delay: float, cwd: Path) -> tuple[int, str, str]:
    """Send SIGINT ``delay`` s after the entry module is imported (``-X importtime`` shows
    when), while typer, NumPy and the package are still loading."""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", *launcher, "validate",
                             "kursk-assault"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd, env=_env())
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.rstrip().endswith("| dronefront.entry"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    lines = [x for x in "".join(seen + [err]).splitlines() if not x.startswith("import time:")]
    return proc.returncode, out, "\n".join(lines)


@pytest.fixture(scope="module")
def processes(tmp_path_factory) -> dict[tuple, object]:
    root = tmp_path_factory.mktemp("entry")
    jobs = {}
    launchers = _launchers()
    for name, launcher in launchers.items():
        jobs[("full", name)] = (_stdout_full, launcher)
        jobs[("closed", name)] = (_stdout_closed, launcher)
        jobs[("pipe", name)] = (_pipe_closed, launcher)
    jobs[("stderr-full",)] = (_stderr_full, launchers["console script"])
    delays = [0.05, 0.15, 0.3, 0.5, 0.8, 1.5]
    for i, delay in enumerate(delays):
        name = list(launchers)[i % len(launchers)]
        jobs[("sigint", name, delay)] = (_interrupt, launchers[name], delay)
    with ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 2))) as pool:
        futures = {}
        for key, (fn, *args) in jobs.items():
            folder = root / "-".join(str(k).replace(" ", "_") for k in key)
            folder.mkdir()
            futures[key] = pool.submit(fn, *args, folder)
        return {key: future.result() for key, future in futures.items()}


def test_console_script_is_the_robust_entry_point():
    assert _script_target() == "dronefront.entry:main"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(_launchers()))
def test_stdout_full_is_one_error_line(processes, launcher):
    proc = processes[("full", launcher)]
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: cannot write to standard output: No space left on device\n"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(_launchers()))
def test_stdout_closed_is_one_error_line(processes, launcher):
    proc = processes[("closed", launcher)]
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: cannot write to standard output: Bad file descriptor\n"


@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(_launchers()))
def test_stdout_pipe_closed_exits_141_quietly(processes, launcher):
    proc = processes[("pipe", launcher)]
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


@pytest.mark.slow
def test_error_with_stderr_full_still_exits_2(processes):
    """The error line cannot be written: no traceback, no exit 120 from the final flush."""
    proc = processes[("stderr-full",)]
    assert proc.returncode == 2 and proc.stdout == ""


@pytest.mark.slow
def test_sigint_during_startup_is_one_line_and_130(processes):
    outcomes = {key: value for key, value in processes.items() if key[0] == "sigint"}
    assert outcomes
    for key, (code, out, err) in outcomes.items():
        shown = f"{key}: exit {code}\nstdout: {out[-500:]!r}\nstderr: {err[-1500:]!r}"
        assert "Traceback" not in err, shown
        if code == 130:
            assert err == "interrupted", shown
        elif code == -signal.SIGINT:
            # the signal came as the interpreter shut down, after its own handler was gone:
            # the default action ends the process, which a shell reports as status 130 too
            assert err in ("", "interrupted"), shown
        else:  # finished before the signal came
            assert code == 0 and err == "" and "ok kursk-assault" in out, shown
    assert any(code == 130 for code, _, _ in outcomes.values()), "no run was interrupted"
