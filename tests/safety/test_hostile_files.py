"""Files are data, never code; paths in files stay inside their folder; errors never echo
another file's content. Every case runs through the hostile-input harness."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.safety.hostile import MARKER, Hostile, check

EXP = "e.yaml"
STORE = "s.duckdb"
OBS = "date,window,low,high\n2024-12-10,cumulative,100,300\n"
SERIES = "[{model: cumulative_casualties, low: low, high: high}]"


def experiment(kind: str = "toy-ishigami", scenario: str | None = None, extra: str = "") -> str:
    text = f"name: probe\nkind: {json.dumps(kind)}\nmetrics: [y]\n{extra}"
    return text + (f"scenario: {scenario}\n" if scenario else "")


def calibration(kind: str = "toy-attrition", observed: str = "obs.csv",
                scenario: str | None = None) -> str:
    text = (f"name: fit\nkind: {json.dumps(kind)}\nparameters: {{rate: {{range: [0.01, 0.05]}}}}"
            f"\nobserved: {{file: {json.dumps(observed)}, series: {SERIES}}}\ntrials: 2\n")
    return text + (f"scenario: {scenario}\n" if scenario else "")


def raster_scenario(raster: str) -> str:
    """The reference model (a 1 x 1 cell terrain) with a raster file."""
    return ("extends: reference-open-field\n"
            f"overrides: {{terrain.raster_file: {json.dumps(raster)}, duration: 5}}\n")


def manifest(scenario: dict) -> str:
    return json.dumps({"scenario": scenario, "seed": 1, "dronefront_version": "0.1.0"})


def _stored_then_changed(sandbox: Path) -> None:
    """Run a one-point experiment on a base scenario file, then change the base."""
    from dronefront.experiments.runner import run_experiment

    run_experiment(sandbox / EXP, store=sandbox / STORE)
    base = sandbox / "base.yaml"
    base.write_text(base.read_text().replace("duration: 5", "duration: 6"))


def _run_on_raster(sandbox: Path) -> None:
    import dronefront

    dronefront.run(sandbox / "s.yaml", seed=1, out=sandbox / "run")
    (sandbox / "r.csv").unlink()  # the run folder holds its own copy


BASE = "extends: reference-open-field\noverrides: {parameters.N: 10, duration: 5}\n"
NEEDS_KIND = ("kind", "unknown model kind", "known: campaign")
RMTREE = experiment("shutil:rmtree", "precious")
INSIDE = "must stay inside the file's folder"

CASES = [
    # --- a file's kind is a registry name, never code
    Hostile("kind-rmtree-run", ["experiment", "run", EXP, "--store", STORE], files={EXP: RMTREE},
            expect=(*NEEDS_KIND, "shutil:rmtree", "e.yaml:2")),
    Hostile("kind-rmtree-status", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: RMTREE}, expect=NEEDS_KIND),
    Hostile("kind-rmtree-results", ["experiment", "results", EXP, "--store", STORE],
            files={EXP: RMTREE}, expect=NEEDS_KIND),
    Hostile("kind-rmtree-calibrate", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration("shutil:rmtree", scenario="precious"), "obs.csv": OBS},
            expect=(*NEEDS_KIND, "c.yaml:2")),
    Hostile("kind-os-system", ["experiment", "run", EXP, "--store", STORE],
            files={EXP: experiment("os:system", "'touch pwned'")}, expect=NEEDS_KIND),
    Hostile("kind-status-imports-nothing", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("tests.safety.tripwire:go")}, expect=NEEDS_KIND),
    Hostile("kind-unknown", ["experiment", "run", EXP, "--store", STORE],
            files={EXP: experiment("warp-drive")}, expect=NEEDS_KIND),
    Hostile("kind-close-name", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("toy-ishigam")}, expect=("did you mean 'toy-ishigami'",)),
    # --- experiment scenario: inside the file's folder
    Hostile("scenario-absolute", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("engagement", "{dir}/../outside.yaml")},
            expect=("scenario", INSIDE)),
    Hostile("scenario-dotdot", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("engagement", "../outside.txt")}, expect=("scenario", INSIDE)),
    # --- terrain.raster_file
    Hostile("raster-absolute", ["validate", "s.yaml"],
            files={"s.yaml": raster_scenario("{dir}/../outside.txt")},
            expect=("s.yaml:2", "terrain.raster_file", INSIDE)),
    Hostile("raster-dotdot", ["validate", "s.yaml"],
            files={"s.yaml": raster_scenario("../outside.txt")},
            expect=("terrain.raster_file", INSIDE)),
    Hostile("raster-in-file-dotdot", ["validate", "s.yaml"],
            files={"s.yaml": "extends: reference-open-field\nterrain:\n"
                             "  raster_file: ../outside.txt\n"},
            expect=("s.yaml:3", INSIDE)),
    Hostile("raster-binary", ["validate", "s.yaml"],
            files={"s.yaml": raster_scenario("r.csv"), "r.csv": b"\x89PNG\r\n\x1a\n\x00\x00\xff"},
            expect=("not a raster", "binary file")),
    Hostile("raster-missing", ["validate", "s.yaml"], files={"s.yaml": raster_scenario("r.csv")},
            expect=("raster file not found",)),
    Hostile("raster-folder", ["validate", "s.yaml"], files={"s.yaml": raster_scenario("precious")},
            expect=("not a raster", "folder")),
    Hostile("raster-is-precious-notes", ["run", "s.yaml", "--out", "out"],
            files={"s.yaml": raster_scenario("precious/notes.txt")},
            expect=("not a terrain class",)),
    Hostile("raster-wrong-shape", ["run", "s.yaml", "--out", "out"],
            files={"s.yaml": raster_scenario("precious/sub/data.csv")},
            expect=("expected a CSV of terrain class names, 1 rows x 1 columns",)),
    Hostile("raster-set-missing", ["validate", "reference-open-field", "--set",
                                   "terrain.raster_file=nope.csv"],
            expect=("--set terrain.raster_file=nope.csv", "raster file not found")),
    Hostile("raster-set-binary", ["validate", "reference-open-field", "--set",
                                  "terrain.raster_file=b.csv"],
            files={"b.csv": b"\x00\x01\x02\xff"}, expect=("binary file",)),
    Hostile("raster-set-folder", ["validate", "reference-open-field", "--set",
                                  "terrain.raster_file=precious"], expect=("folder",)),
    Hostile("raster-set-run-precious", ["run", "reference-open-field", "--out", "out", "--set",
                                        "terrain.raster_file=precious/notes.txt"],
            expect=("not a terrain class",)),
    Hostile("raster-experiment-override-dotdot", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("engagement", "reference-open-field",
                             "overrides: {terrain.raster_file: ../outside.txt}\n")},
            expect=("overrides[terrain.raster_file]", INSIDE)),
    Hostile("engagement-experiment-override-dotdot",
            ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("campaign", "kursk-campaign",
                                   "overrides: {engagement: ../eng.yaml}\n"),
                   "eng.yaml": "extends: kursk-assault\n"},
            expect=("overrides.engagement", INSIDE)),
    # --- calibration observed.file
    Hostile("observed-dotdot", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(observed="../outside.txt")},
            expect=("c.yaml:4", "observed.file", INSIDE)),
    Hostile("observed-absolute", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(observed="{dir}/precious/notes.txt")},
            expect=("observed.file", INSIDE)),
    Hostile("observed-precious-notes", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(observed="precious/notes.txt")},
            expect=("not a CSV with columns date,window,low,high", "no column 'date'")),
    Hostile("observed-binary", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(),
                   "obs.csv": b"date,window\x00\xfe\xff" + MARKER.encode()},
            expect=("not a CSV", "binary file")),
    Hostile("observed-bad-cells", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(), "obs.csv": f"date,window,low,high\n{MARKER},,1,2\n"},
            expect=("obs.csv:2", "not an ISO date")),
    Hostile("observed-bad-number", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration(),
                   "obs.csv": f"date,window,low,high\n2024-12-10,,{MARKER},2\n"},
            expect=("obs.csv:2: low: not a number",)),
    Hostile("observed-missing", ["calibrate", "c.yaml", "--store", STORE],
            files={"c.yaml": calibration()}, expect=("no such observations file 'obs.csv'",)),
    # --- campaign engagement: relative to the campaign file, wherever it is run from
    Hostile("campaign-engagement-beside-file", ["validate", "camp/c.yaml"],
            files={"camp/c.yaml": "extends: kursk-campaign\nengagement: eng.yaml\n",
             "camp/eng.yaml": "extends: kursk-assault\nname: my-template\n"}, code=0),
    Hostile("campaign-engagement-dotdot", ["validate", "camp/c.yaml"],
            files={"camp/c.yaml": "extends: kursk-campaign\nengagement: ../eng.yaml\n",
             "eng.yaml": "extends: kursk-assault\n"}, expect=("engagement", INSIDE)),
    Hostile("campaign-template-raster-dotdot", ["validate", "c.yaml"],
            files={"c.yaml": "extends: kursk-campaign\nengagement_overrides:\n"
                             "  terrain.raster_file: ../outside.txt\n"},
            expect=("c.yaml:3", "terrain.raster_file", INSIDE)),
    Hostile("extends-dotdot", ["validate", "sub/s.yaml"],
            files={"sub/s.yaml": "extends: ../base.yaml\n", "base.yaml": BASE},
            expect=("extends", INSIDE)),
    # --- replay of a folder that is not a dronefront run
    Hostile("replay-garbage-manifest", ["replay", "run", "--out", "r.html"],
            files={"run/manifest.json": f"columns: root:x:0:0 {MARKER}\n",
                   "run/summary.json": "{}"},
            expect=("manifest.json", "not JSON")),
    Hostile("replay-binary-manifest", ["replay", "run", "--out", "r.html"],
            files={"run/manifest.json": b"\xff\xfe\x00" + MARKER.encode(),
                   "run/summary.json": "{}"},
            expect=("not JSON: binary file",)),
    Hostile("replay-foreign-manifest", ["replay", "run", "--out", "r.html"],
            files={"run/manifest.json": json.dumps({"owner": MARKER, "seed": MARKER}),
             "run/summary.json": "{}"}, expect=("not a dronefront run manifest",)),
    Hostile("replay-manifest-outside-raster", ["replay", "run", "--out", "r.html"],
            files={"run/manifest.json": manifest({"terrain": {"raster_file": "../../outside.txt"}}),
             "run/summary.json": "{}"},
            expect=("raster_file", "outside the run folder", "--scenario")),
    Hostile("replay-manifest-absolute-raster", ["replay", "run", "--out", "r.html"],
            files={"run/manifest.json": manifest(
                {"terrain": {"raster_file": "{dir}/precious/notes.txt"}}),
             "run/summary.json": "{}"}, expect=("raster_file", "outside the run folder")),
    Hostile("replay-run-on-raster", ["replay", "run", "--out", "r.html"],
            files={"s.yaml": BASE.replace("}", ", terrain.raster_file: r.csv}"),
                   "r.csv": "forest\n"},
            setup=_run_on_raster, code=0, may_create=("r.html",)),
    Hostile("report-run-garbage-parquet", ["report", "run", "--out", "r.html"],
            files={"run/manifest.json": manifest({}), "run/summary.json": "{}",
                   "run/timeseries.parquet": f"{MARKER}\n" * 3,
                   "run/events.parquet": b"PAR1\x00" + MARKER.encode() + b"PAR1"},
            expect=("timeseries.parquet", "not a Parquet file")),
    # --- other files that are not what they should be: said, never quoted
    Hostile("extends-precious-notes", ["validate", "s.yaml"],
            files={"s.yaml": "extends: precious/notes.txt\n"},
            expect=("extends", "must be a YAML mapping")),
    Hostile("scenario-precious-csv", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment("engagement", "precious/sub/data.csv")},
            expect=("must be a YAML mapping",)),
    Hostile("lanchester-precious-notes", ["lanchester", "fit", "precious/notes.txt"],
            expect=("header column 1 is not one of",)),
    Hostile("lanchester-bad-cell", ["lanchester", "fit", "d.csv"],
            files={"d.csv": f"day,a,b\n0,10,9\n1,{MARKER},8\n"},
            expect=("d.csv:3: a: not a number",)),
    Hostile("lanchester-binary", ["lanchester", "fit", "d.csv"],
            files={"d.csv": b"day,a,b\n\x00\x01"}, expect=("binary file",)),
    # --- results and status of an experiment the store does not hold
    Hostile("results-not-stored", ["experiment", "results", EXP, "--store", STORE],
            files={EXP: experiment()}, expect=("'probe'", "has no stored runs")),
    Hostile("status-not-stored", ["experiment", "status", EXP, "--store", STORE],
            files={EXP: experiment()}, expect=("has no stored runs",)),
    Hostile("results-base-changed", ["experiment", "results", EXP, "--store", STORE],
            files={EXP: experiment("engagement", "base.yaml").replace(
                "[y]", "[sides.attacker.casualties]"), "base.yaml": BASE},
            expect=("has no stored runs", "base scenario changed"),
            setup=_stored_then_changed),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_file(case: Hostile, tmp_path: Path) -> None:
    line = check(case, tmp_path)
    assert MARKER.lower() not in line.lower()  # not even lower-cased
    if case.id == "results-base-changed":  # both keys, 12 characters each
        keys = [w.strip("(),:") for w in line.split() if len(w.strip("(),:")) == 12]
        assert len(set(keys)) == 2, line


def test_custom_kind_runs_on_local_and_processes(tmp_path: Path) -> None:
    """A kind registered in the driver runs in worker processes too (its function travels
    pickled by reference), with the same results as in-process."""
    from dronefront.experiments import register_model, results, run_experiment
    from tests.safety.custom_kind import square

    register_model("toy-square", square, needs_scenario=False)
    path = tmp_path / "sq.yaml"
    path.write_text("name: sq\nkind: toy-square\nfactors: {x: {levels: [1, 2, 3]}}\n"
                    "replicates: 2\nmetrics: [y, pid]\n")
    frames = {}
    for executor in ("local", "processes"):
        store = tmp_path / f"{executor}.duckdb"
        report = run_experiment(path, executor=executor, store=store, workers=2)
        assert report.ran == 6
        frames[executor] = results(path, store=store)
    for frame in frames.values():
        assert frame["y"].tolist() == [x * x + r for x in (1, 2, 3) for r in (0, 1)]
    here = float(__import__("os").getpid())
    assert set(frames["local"]["pid"]) == {here}
    assert here not in set(frames["processes"]["pid"])
