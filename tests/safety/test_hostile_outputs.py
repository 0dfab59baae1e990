"""Hostile output paths: nothing of the user's is replaced, written through or left half-done.

Every command with an output option (run, campaign, replay, report, experiment results,
sensitivity, calibrate, lanchester solve/fit) checks it before any work: cases that must
fail early patch the model to fail the test if it runs. Full disks, refused permissions and
names too long for the filesystem end as one line, with no temporary file left behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dronefront.cli
import dronefront.experiments.analysis
import dronefront.experiments.calibration
import dronefront.lanchester.plots
import dronefront.viz.record
import dronefront.viz.report  # noqa: F401  (imported before any case patches their names)
from tests.safety.hostile import MARKER, Hostile, check, prepare, run_case, snapshot

RUN = ["run", "reference-open-field", "--set", "parameters.N=30", "--set", "duration=20"]
CAMPAIGN = ["campaign", "kursk-campaign", "--days", "1"]
REPLAY = ["replay", "--scenario", "reference-open-field", "--set", "parameters.N=30",
          "--set", "duration=20"]
SOLVE = ["lanchester", "solve", "--a0", "1000", "--b0", "800", "--alpha", "0.01",
         "--beta", "0.01", "--days", "10"]
LONG = "x" * 300
RUN_FOLDER = ("r", "r/*")

SOBOL = """\
name: toy
kind: toy-ishigami
factors:
  x1: {range: [-3, 3]}
  x2: {range: [-3, 3]}
  x3: {range: [-3, 3]}
design: {type: sobol, samples: 8, seed: 1}
metrics: [y]
"""
CALIBRATION = """\
name: fit
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.05]}
observed:
  file: obs.csv
  series: [{model: cumulative_casualties, low: low, high: high}]
trials: 4
batch: 2
"""
OBSERVED = "date,window,low,high\n2024-12-20,cumulative,2000,2600\n"
STRENGTHS = "day,a,b\n0,1000,800\n1,990,790\n2,981,781\n3,973,772\n"
EXPERIMENTS = {"toy.yaml": SOBOL, "cal.yaml": CALIBRATION, "obs.csv": OBSERVED}


def _legacy_manifest(kind: str) -> str:
    """A manifest as dronefront wrote it before manifests said ``written_by``."""
    if kind == "run":
        data = {"scenario": {"name": "x"}, "scenario_sha256": "0" * 64, "seed": 1,
                "dronefront_version": "0.1.0", "files": []}
    else:
        data = {"campaign": {"name": "x"}, "campaign_sha256": "0" * 64, "seed": 1,
                "dronefront_version": "0.1.0", "files": []}
    return json.dumps(data)


@dataclass
class Out(Hostile):
    """A hostile case with patches applied (through ``monkeypatch``) while it runs."""

    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def _never(what: str) -> Callable[..., None]:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{what} ran before the output argument was checked")

    return fail


def no_sim(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.engine.sim.Sim.run", _never("the engagement"))


def no_campaign(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.campaign.runner._CampaignState.run_day", _never("the campaign"))


def no_record(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.viz.record.record_run", _never("the recording"))


def no_report(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.viz.report.build_report", _never("the report"))


def no_results(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.experiments.runner.results", _never("the results query"))


def no_experiment(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.experiments.runner.run_experiment", _never("the experiment"))


def no_calibration(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.experiments.calibration.calibrate", _never("the calibration"))


def no_solve(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.lanchester.laws.solve", _never("the solver"))


def no_fit(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.lanchester.fitting.fit", _never("the fit"))


def _full_disk(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _half_then_full(path_arg: int) -> Callable[..., None]:
    """A writer that writes part of its file, then finds the disk full."""

    def write(*args: object, **kwargs: object) -> None:
        Path(str(args[path_arg])).write_bytes(b"half a file")
        _full_disk()

    return write


def disk_full_on_flush(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("dronefront.io.outputs.fsync_file", _full_disk)


def disk_full_in_parquet(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("pyarrow.parquet.write_table", _half_then_full(1))


def disk_full_in_savefig(mp: pytest.MonkeyPatch) -> None:
    mp.setattr("matplotlib.figure.Figure.savefig", _half_then_full(1))


def permission_denied_on_create(mp: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    mp.setattr("tempfile.mkstemp", refuse)


def read_only_folders(mp: pytest.MonkeyPatch) -> None:
    """Tests run as root, which may write anywhere: pretend no folder is writable."""
    real = os.access
    mp.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode))


def small_results(mp: pytest.MonkeyPatch) -> None:
    import pandas as pd

    mp.setattr("dronefront.experiments.runner.results",
               lambda *_a, **_k: pd.DataFrame({"point": [0, 1], "y": [1.5, 2.5]}))


def results_then_full_disk(mp: pytest.MonkeyPatch) -> None:
    small_results(mp)
    mp.setattr("pandas.DataFrame.to_parquet", _half_then_full(1))


def _combine(*patches: Callable[[pytest.MonkeyPatch], None]):
    def patch(mp: pytest.MonkeyPatch) -> None:
        for one in patches:
            one(mp)

    return patch


def _symlink_to_precious(sandbox: Path) -> None:
    (sandbox / "lnk").symlink_to(sandbox / "precious")
    (sandbox / "fig.png").symlink_to(sandbox / "precious" / "notes.txt")


def _api_run(out: Path | None, **kwargs: object):
    import dronefront

    return dronefront.run("reference-open-field", out=out,
                          overrides=["parameters.N=30", "duration=20"], **kwargs)


def _api_campaign(out: Path, **kwargs: object):
    import dronefront

    return dronefront.run_campaign("kursk-campaign", days=1, out=out, **kwargs)


#: A run folder made once (before any case patches the writers) and copied into sandboxes.
_SOURCE: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _run_source(tmp_path_factory: pytest.TempPathFactory) -> None:
    out = tmp_path_factory.mktemp("source") / "run1"
    _api_run(out)
    _SOURCE[:] = [out]


def _run_folder(sandbox: Path) -> None:
    shutil.copytree(_SOURCE[0], sandbox / "run1")


def _folder(name: str) -> Callable[[Path], None]:
    def make(sandbox: Path) -> None:
        (sandbox / name).mkdir()

    return make


CASES = [
    # ------------------------------------------------------------------ run: --out
    Out("run-out-user-file", RUN + ["--out", "notes.txt"],
        files={"notes.txt": f"mine {MARKER}\n"}, expect=("--out", "notes.txt", "a file",
                                                         "--force"), patch=no_sim),
    Out("run-out-user-folder", RUN + ["--out", "precious"],
        expect=("--out", "precious", "did not write", "--force"), patch=no_sim),
    Out("run-out-empty-user-folder", RUN + ["--out", "empty"], setup=_folder("empty"),
        expect=("--out", "empty", "--force"), patch=no_sim),
    Out("run-out-campaign-folder", RUN + ["--out", "camp"],
        files={"camp/manifest.json": _legacy_manifest("campaign")},
        expect=("--out", "campaign folder", "not a run folder"), patch=no_sim),
    Out("run-out-foreign-manifest", RUN + ["--out", "other"],
        files={"other/manifest.json": '{"name": "my web app", "version": 3}'},
        expect=("--out", "other", "did not write"), patch=no_sim),
    Out("run-out-symlink-forced", RUN + ["--out", "lnk", "--force"], setup=_symlink_to_precious,
        expect=("--out", "lnk", "symbolic link"), patch=no_sim),
    Out("run-out-working-folder-forced", RUN + ["--out", ".", "--force"],
        expect=("--out", "working folder"), patch=no_sim),
    Out("run-out-working-run-folder", RUN + ["--out", "."],
        files={"manifest.json": _legacy_manifest("run")},
        expect=("--out", "working folder"), patch=no_sim),
    Out("run-out-empty-string", RUN + ["--out", ""], expect=("--out",), patch=no_sim),
    Out("run-out-parent-forced", RUN + ["--out", "..", "--force"],
        expect=("--out", "working folder"), patch=no_sim),
    Out("run-out-under-a-file", RUN + ["--out", "precious/notes.txt/r"],
        expect=("--out", "precious/notes.txt", "not a folder"), patch=no_sim),
    Out("run-out-name-too-long", RUN + ["--out", LONG], expect=("--out", "too long"),
        patch=no_sim),
    Out("run-out-read-only", RUN + ["--out", "r"], expect=("--out", "Permission denied"),
        patch=_combine(read_only_folders, no_sim)),
    Out("run-out-full-disk", RUN + ["--out", "r"], expect=("cannot write r",
                                                           "No space left"),
        patch=disk_full_in_parquet),
    Out("run-force-fresh-path", RUN + ["--out", "r", "--force"], code=0, may_create=RUN_FOLDER),
    Out("run-missing-parents-created", RUN + ["--out", "new/deeper/r"], code=0,
        may_create=("new", "new/deeper", "new/deeper/r", "new/deeper/r/*")),
    Out("run-name-dotdot", RUN + ["--set", "name=../../escaped"], code=0,
        may_create=("runs", "runs/escaped-seed1", "runs/escaped-seed1/*")),
    Out("run-name-absolute", RUN + ["--set", "name={dir}/../abs"], code=0,
        may_create=("runs", "runs/*-abs-seed1", "runs/*-abs-seed1/*")),
    Out("run-name-hidden-dot", RUN + ["--set", "name=.hidden"], code=0,
        may_create=("runs", "runs/hidden-seed1", "runs/hidden-seed1/*")),
    Out("run-look-alike-siblings-kept", RUN + ["--out", "r"], code=0, may_create=RUN_FOLDER,
        files={".r.tmp-mine/keep.txt": f"mine {MARKER}\n",
               ".r.old-mine/.dronefront-partial": "not what dronefront writes\n",
               ".r.tmp-live/.dronefront-partial": f"dronefront-partial {os.getpid()}\n"}),
    # ------------------------------------------------------------------ campaign: --out
    Out("campaign-out-user-file", CAMPAIGN + ["--out", "precious/notes.txt"],
        expect=("--out", "notes.txt", "a file", "--force"), patch=no_campaign),
    Out("campaign-out-user-folder", CAMPAIGN + ["--out", "precious"],
        expect=("--out", "precious", "--force"), patch=no_campaign),
    Out("campaign-out-old-run-folder", CAMPAIGN + ["--out", "old"],
        files={"old/manifest.json": _legacy_manifest("run"), "old/summary.json": "{}"},
        expect=("--out", "run folder", "not a campaign folder"), patch=no_campaign),
    Out("campaign-out-symlink-forced", CAMPAIGN + ["--out", "lnk", "--force"],
        setup=_symlink_to_precious, expect=("symbolic link",), patch=no_campaign),
    Out("campaign-name-dotdot", CAMPAIGN + ["--set", "name=../../c", "--no-learning",
                                            "defender"], code=0,
        may_create=("runs", "runs/c-seed1-no-defender", "runs/c-seed1-no-defender/*")),
    Out("campaign-force-fresh-path", CAMPAIGN + ["--out", "c", "--force"], code=0,
        may_create=("c", "c/*")),
    # ------------------------------------------------------------------ Python API
    Out("api-run-out-user-folder", call=lambda d: _api_run(d / "precious"),
        expect=("out", "precious", "force"), patch=no_sim),
    Out("api-run-out-symlink-forced", call=lambda d: _api_run(d / "lnk", force=True),
        setup=_symlink_to_precious, expect=("symbolic link",), patch=no_sim),
    Out("api-campaign-out-user-file", call=lambda d: _api_campaign(d / "precious/notes.txt"),
        expect=("out", "notes.txt", "force"), patch=no_campaign),
    Out("api-write-run-over-campaign", call=lambda d: _api_run(None).write(d / "camp"),
        files={"camp/manifest.json": _legacy_manifest("campaign")},
        expect=("campaign folder", "not a run folder")),
    # ------------------------------------------------------------------ replay / report
    Out("replay-out-folder", REPLAY + ["-o", "page.html"], setup=_folder("page.html"),
        expect=("--out", "page.html", "is a folder"), patch=no_record),
    Out("replay-out-not-html", REPLAY + ["-o", "precious/notes.txt"],
        expect=("--out", ".html"), patch=no_record),
    Out("replay-out-symlink", REPLAY + ["-o", "x.html"],
        setup=lambda d: (d / "x.html").symlink_to(d / "precious" / "notes.txt"),
        expect=("--out", "symbolic link"), patch=no_record),
    Out("replay-out-full-disk", REPLAY + ["-o", "replay.html"],
        expect=("cannot write replay.html", "No space left"), patch=disk_full_on_flush),
    Out("report-out-folder", ["report", "run1", "-o", "run1"], setup=_run_folder,
        expect=("--out", "run1"), patch=no_report),
    Out("report-out-name-too-long", ["report", "run1", "-o", LONG + ".html"],
        setup=_run_folder, expect=("--out", "too long"), patch=no_report),
    Out("report-out-under-a-file", ["report", "run1", "-o", "precious/notes.txt/r.html"],
        setup=_run_folder, expect=("--out", "not a folder"), patch=no_report),
    Out("report-out-full-disk", ["report", "run1", "-o", "r.html"], setup=_run_folder,
        expect=("cannot write r.html", "No space left"), patch=disk_full_on_flush),
    Out("report-out-permission-denied", ["report", "run1", "-o", "r.html"], setup=_run_folder,
        expect=("cannot write r.html", "Permission denied"),
        patch=permission_denied_on_create),
    # ------------------------------------------------------------------ experiment results
    Out("results-output-folder", ["experiment", "results", "toy.yaml", "--output", "d.csv"],
        files=EXPERIMENTS, setup=_folder("d.csv"), expect=("--output", "is a folder"),
        patch=no_results),
    Out("results-output-overwrites-yaml", ["experiment", "results", "toy.yaml", "--format",
                                           "parquet", "--output", "toy.yaml"],
        files=EXPERIMENTS, expect=("--output", ".parquet"), patch=no_results),
    Out("results-output-missing-parent", ["experiment", "results", "toy.yaml", "--output",
                                          "nope/r.csv"],
        files=EXPERIMENTS, expect=("--output", "does not exist"), patch=no_results),
    Out("results-output-table", ["experiment", "results", "toy.yaml", "--format", "table",
                                 "--output", "r.csv"],
        files=EXPERIMENTS, expect=("--output",), patch=no_results),
    Out("results-output-full-disk", ["experiment", "results", "toy.yaml", "--format",
                                     "parquet", "--output", "r.parquet"],
        files=EXPERIMENTS, expect=("cannot write r.parquet", "No space left"),
        patch=results_then_full_disk),
    # ------------------------------------------------------------------ sensitivity / calibrate
    Out("sensitivity-plot-txt", ["sensitivity", "toy.yaml", "--metric", "y", "--plot",
                                 "t.txt"],
        files=EXPERIMENTS, expect=("--plot", "t.txt", ".png"), patch=no_experiment),
    Out("sensitivity-plot-folder", ["sensitivity", "toy.yaml", "--metric", "y", "--plot",
                                    "fig.png"],
        files=EXPERIMENTS, setup=_folder("fig.png"), expect=("--plot", "is a folder"),
        patch=no_experiment),
    Out("sensitivity-plot-read-only", ["sensitivity", "toy.yaml", "--metric", "y", "--plot",
                                       "t.png"],
        files=EXPERIMENTS, expect=("--plot", "Permission denied"),
        patch=_combine(read_only_folders, no_experiment)),
    Out("calibrate-plot-txt", ["calibrate", "cal.yaml", "--plot", "fit.txt"],
        files=EXPERIMENTS, expect=("--plot", "fit.txt", ".png"), patch=no_calibration),
    Out("calibrate-plot-missing-parent", ["calibrate", "cal.yaml", "--plot", "no/fit.png"],
        files=EXPERIMENTS, expect=("--plot", "does not exist"), patch=no_calibration),
    Out("calibrate-output-folder", ["calibrate", "cal.yaml", "--output", "precious"],
        files=EXPERIMENTS, expect=("--output", "precious"), patch=no_calibration),
    Out("calibrate-output-symlink", ["calibrate", "cal.yaml", "--output", "t.csv"],
        files=EXPERIMENTS, setup=lambda d: (d / "t.csv").symlink_to(d / "precious/sub/data.csv"),
        expect=("--output", "symbolic link"), patch=no_calibration),
    # ------------------------------------------------------------------ lanchester
    Out("lanchester-solve-plot-gif", SOLVE + ["--plot", "out.gif"],
        expect=("--plot", ".png"), patch=no_solve),
    Out("lanchester-solve-plot-folder", SOLVE + ["--plot", "fig.svg"],
        setup=_folder("fig.svg"), expect=("--plot", "is a folder"), patch=no_solve),
    Out("lanchester-solve-plot-symlink", SOLVE + ["--plot", "fig.png"],
        setup=_symlink_to_precious, expect=("--plot", "symbolic link"), patch=no_solve),
    Out("lanchester-solve-plot-full-disk", SOLVE + ["--plot", "fig.png"],
        expect=("cannot write fig.png", "No space left"), patch=disk_full_in_savefig),
    Out("lanchester-fit-plot-missing-parent", ["lanchester", "fit", "s.csv", "--plot",
                                               "no/fit.pdf"],
        files={"s.csv": STRENGTHS}, expect=("--plot", "does not exist"), patch=no_fit),
    Out("lanchester-fit-plot-too-long", ["lanchester", "fit", "s.csv", "--plot",
                                         LONG + ".png"],
        files={"s.csv": STRENGTHS}, expect=("--plot", "too long"), patch=no_fit),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_output(case: Out, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.patch is not None:
        case.patch(monkeypatch)
    check(case, tmp_path)


def test_enough_cases() -> None:
    assert len(CASES) >= 35 and len({c.id for c in CASES}) == len(CASES)


# ---------------------------------------------------------------------- beyond the harness
# These change what was there before on purpose (the harness allows only new paths).


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_force_replaces_a_user_folder_only_when_asked(tmp_path: Path) -> None:
    from dronefront.errors import UserError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text(MARKER)
    with pytest.raises(UserError, match="--force"):
        _api_run(mine)
    assert _files(mine) == {"notes.txt": MARKER.encode()}
    _api_run(mine, force=True)
    assert "manifest.json" in _files(mine) and "notes.txt" not in _files(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_run_folder_replaces_an_earlier_one_old_manifests_too(tmp_path: Path) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "manifest.json").write_text(_legacy_manifest("run"))
    (out / "stale.txt").write_text("from an older run")
    _api_run(out)
    first = json.loads((out / "manifest.json").read_text())
    assert first["written_by"] == {"program": "dronefront", "kind": "run"}
    assert not (out / "stale.txt").exists()
    _api_run(out)  # a run folder of ours: replaced without --force
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask() -> int:
    from dronefront.io.outputs import current_umask

    return current_umask()


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_stale_siblings_of_a_killed_write_are_cleaned(tmp_path: Path) -> None:
    dead = f"dronefront-partial {_dead_pid()}\n"
    for name in (".r.tmp-abc123", ".r.old-def456"):
        (tmp_path / name / "old").mkdir(parents=True)
        (tmp_path / name / "old" / "summary.json").write_text("{}")
        (tmp_path / name / ".dronefront-partial").write_text(dead)
    kept = {
        ".r.tmp-mine": "no marker",  # a user's look-alike
        ".r.tmp-live": f"dronefront-partial {os.getpid()}\n",  # a write still going on
        ".q.tmp-other": dead,  # a sibling of another target
    }
    for name, marker in kept.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / ("keep.txt" if marker == "no marker" else ".dronefront-partial")
         ).write_text(marker)
    (tmp_path / ".r.tmp-link").symlink_to(tmp_path / ".r.tmp-abc123")
    _api_run(tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["r", ".r.tmp-link", *kept])
    assert (tmp_path / ".r.tmp-mine" / "keep.txt").read_text() == "no marker"


_KILLED_WRITE = """
import os, sys
import pyarrow.parquet as pq
import dronefront
pq.write_table = lambda *a, **k: os.kill(os.getpid(), 9)  # killed while writing
dronefront.run("reference-open-field", out=sys.argv[1],
               overrides=["parameters.N=30", "duration=20"])
"""


def test_a_killed_write_is_cleaned_up_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITE, str(out)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".r.tmp-"), left
    (tmp_path / ".r.tmp-mine").mkdir()  # a user's look-alike, without the marker
    _api_run(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.tmp-mine", "r"]


def test_a_failed_write_keeps_the_earlier_run_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dronefront.errors import UserError

    out = tmp_path / "r"
    _api_run(out)
    before = _files(out)
    monkeypatch.setattr("pyarrow.parquet.write_table", _half_then_full(1))
    with pytest.raises(UserError, match="No space left on device"):
        _api_run(out)
    assert _files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("module", ["dronefront.io.outputs", "dronefront.io.rundir"])
def test_io_doctests(module: str) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def test_an_atomic_file_is_removed_on_ctrl_c(tmp_path: Path) -> None:
    from dronefront.io.outputs import atomic_file

    target = tmp_path / "t.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
    assert target.read_text() == "old"
    with atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not the temp file's 0600


# ---------------------------------------------------------------------- fuzzed paths and names
_NASTY = st.sampled_from(["..", "../..", "../../..", "/", ".", "", "~", "~/x", "a/../..", " ",
                          "\n", "\x1b[2J", "runs", "precious", "precious/notes.txt",
                          ".r.tmp-x", "x" * 300, "é" * 200])
_TEXT = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",),
                              exclude_characters="\0"), max_size=120)  # argv can't hold NUL
_PIECES = st.lists(st.one_of(_NASTY, _TEXT), min_size=1, max_size=4).map("/".join)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(_NASTY, _TEXT), out=st.one_of(st.none(), _PIECES))
def test_fuzzed_outputs_change_nothing_but_the_output(tmp_path: Path, name: str,
                                                      out: str | None) -> None:
    """Whatever the scenario's name and --out, only the intended folder (and parents it
    needs) may appear; nothing of the user's changes; errors are one line."""
    base = Path(os.path.realpath(tmp_path)) / f"ex{len(list(tmp_path.iterdir()))}" / "a" / "b"
    args = [*RUN, "--set", f"name={json.dumps(name)}"] + ([] if out is None else ["--out", out])
    case = Hostile("fuzz", args=args)
    sandbox = prepare(case, base)
    intended = None
    if out is not None:
        intended = os.path.normpath(os.path.join(sandbox, out))
        if not _inside(intended, str(base.parent.parent)):
            return  # would leave the test's folder: not a place to write to in a test
    before = snapshot(base.parent.parent)
    code, stdout, err = run_case(case, sandbox)
    assert code in (0, 2), (code, err[-500:])
    assert "Traceback" not in err and MARKER not in stdout + err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    after = snapshot(base.parent.parent)
    root = str(base.parent.parent)
    changed = sorted(rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel))
    allowed = str(sandbox / "runs") if out is None else intended
    for rel in changed:
        path = os.path.join(root, rel)
        assert rel not in before or _inside(path, allowed), f"{rel} changed or deleted"
        assert _inside(path, allowed) or _inside(allowed, path), f"{rel} appeared"
    if code == 0 and out is None:
        made = [p for p in (sandbox / "runs").iterdir()]
        assert len(made) == 1 and (made[0] / "manifest.json").is_file()
