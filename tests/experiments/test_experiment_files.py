"""Bad experiment and calibration files fail as one-line UserErrors with file, line, field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dronefront.errors import UserError
from dronefront.experiments.calibration import load_calibration
from dronefront.experiments.runner import extract_metrics, load_experiment, run_experiment
from tests.experiments.experiment_helpers import FAST, write

GOOD = f"""\
name: probe
scenario: reference-open-field
overrides: {FAST}
factors:
  sides.attacker.units.0.doctrine.spacing:
    range: [1, 10]
  sides.attacker.units.0.doctrine.drill:
    levels: [[], [engage]]
design:
  type: latin_hypercube
  points: 4
replicates: 2
metrics:
  - sides.attacker.casualties
"""


def fails(tmp_path: Path, text: str, *, line: int | None, field: str | None,
          contains: str) -> UserError:
    path = write(tmp_path / "bad.yaml", text)
    with pytest.raises(UserError) as info:
        load_experiment(path)
    exc = info.value
    message = str(exc)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert exc.line == line, message
    assert exc.field == field, message
    assert contains in message, message
    return exc


def test_good_file_loads(tmp_path):
    plan = load_experiment(write(tmp_path / "good.yaml", GOOD))
    assert len(plan.points) == 4 and plan.total == 8 and plan.model.name == "engagement"


@pytest.mark.parametrize(("old", "new", "line", "field", "contains"), [
    ("replicates: 2", "replicate: 2", 12, "replicate", "did you mean 'replicates'"),
    ("replicates: 2", "replicates: 0", 12, "replicates", "greater than or equal to 1"),
    ("    range: [1, 10]", "    range: [10, 1]", 6,
     "factors[sides.attacker.units.0.doctrine.spacing].range", "low < high"),
    ("    range: [1, 10]", "    range: [1, 10]\n    levels: [1, 2]", 5,
     "factors[sides.attacker.units.0.doctrine.spacing]", "exactly one of"),
    ("  type: latin_hypercube\n  points: 4", "  type: latin_hypercube", 9, "design.points",
     "needs 'points'"),
    ("  type: latin_hypercube", "  type: latin-hypercube", 10, "design.type",
     "full_factorial"),
    ("  points: 4", "  points: 4\n  samples: 64", 12, "design.samples",
     "does not apply to design latin_hypercube"),
    ("  type: latin_hypercube\n  points: 4", "  type: sobol\n  samples: 100", 11,
     "design.samples", "power of two"),
    ("  type: latin_hypercube\n  points: 4", "  type: full_factorial", 5,
     "factors[sides.attacker.units.0.doctrine.spacing]", "needs 'levels'"),
    ("metrics:\n  - sides.attacker.casualties", "metrics: []", 13, "metrics",
     "at least 1 item"),
    ("name: probe", "name: probe\nkind: engagment", 2, "kind", "did you mean 'engagement'"),
    ("scenario: reference-open-field", "scenario: kursk-asault", 2, "scenario",
     "did you mean 'kursk-assault'"),
    ("scenario: reference-open-field", "scenario: missing.yaml", 2, "scenario",
     "no such scenario file"),
    ("scenario: reference-open-field\n", "", None, "scenario", "needs a scenario"),
    ("    range: [1, 10]", "    range: [-5, 10]", 5,
     "factors[sides.attacker.units.0.doctrine.spacing]", "value -5.0"),
    ("    levels: [[], [engage]]", "    levels: [[], [dance]]", 7,
     "factors[sides.attacker.units.0.doctrine.drill]", "value ['dance']"),
    ("  sides.attacker.units.0.doctrine.spacing:", "  sides.attacker.units.3.doctrine.spacing:",
     5, "factors[sides.attacker.units.3.doctrine.spacing]", "out of range"),
    (f"overrides: {FAST}", "overrides: {parameters.N: 60, duration: -1}", 3,
     "overrides.duration", "greater than 0"),
    ("replicates: 2", "replicates: 2\nchunk: 0", 13, "chunk", "greater than or equal to 1"),
    ("replicates: 2", "replicates: 2\nchunk: 20000", 13, "chunk",
     "less than or equal to 10000"),
    ("replicates: 2", "replicates: 2\nchunk: many", 13, "chunk", "valid integer"),
])
def test_bad_experiment_files(tmp_path, old, new, line, field, contains):
    assert old in GOOD
    fails(tmp_path, GOOD.replace(old, new), line=line, field=field, contains=contains)


def test_invalid_yaml_and_missing_file(tmp_path):
    fails(tmp_path, GOOD.replace("replicates: 2", "replicates: [2"), line=13, field=None,
          contains="invalid YAML")
    with pytest.raises(UserError, match="no such experiment file"):
        load_experiment(tmp_path / "nope.yaml")
    fails(tmp_path, "- a list\n", line=1, field=None, contains="must be a YAML mapping")


def test_metric_typo_is_reported_at_its_line_on_the_first_run(tmp_path):
    path = write(tmp_path / "m.yaml", GOOD.replace("sides.attacker.casualties",
                                                   "sides.attacker.casualtys"))
    with pytest.raises(UserError) as info:
        run_experiment(path, store=tmp_path / "s.duckdb")
    message = str(info.value)
    assert "\n" not in message and f"{path}:14: metrics.0:" in message
    assert "did you mean 'casualties'" in message


def test_metric_paths():
    summary = {"a": {"b": 1, "c": {"d": 2.5}, "e": "text", "f": None}, "l": [{"x": 1}]}
    assert extract_metrics(summary, ["a.b", "a.c.d", "a.f", "l.0.x"]) == {
        "a.b": 1.0, "a.c.d": 2.5, "a.f": None, "l.0.x": 1.0}
    assert extract_metrics(summary, ["a.*"]) == {"a.b": 1.0, "a.f": None}
    with pytest.raises(KeyError, match="a mapping"):
        extract_metrics(summary, ["a.c"])
    with pytest.raises(KeyError, match="has no 'z'"):
        extract_metrics(summary, ["a.z"])


CAL = """\
name: fit
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.05]}
observed:
  file: obs.csv
  series:
    - {model: cumulative_casualties, low: low, high: high}
"""


def test_bad_calibration_files(tmp_path):
    csv = tmp_path / "obs.csv"
    csv.write_text("date,window,low,high\n2024-12-10,cumulative,100,200\n")
    assert len(load_calibration(write(tmp_path / "c.yaml", CAL)).observations) == 1
    cases = [
        ("2024-12-10,past-a-week,100,200\n", 2, "window", "past-N-days"),
        ("2024-12-40,cumulative,100,200\n", 2, "date", "ISO date"),
        ("2024-12-10,cumulative,300,200\n", 2, "low", "above high"),
        ("2024-12-10,cumulative,lots,200\n", 2, "low", "not a number"),
    ]
    for row, line, field, contains in cases:
        csv.write_text("date,window,low,high\n" + row)
        with pytest.raises(UserError) as info:
            load_calibration(tmp_path / "c.yaml")
        exc = info.value
        assert (exc.file, exc.line, exc.field) == (str(csv), line, field), str(exc)
        assert contains in str(exc) and "\n" not in str(exc)
    csv.write_text("date,window,lo,high\n2024-12-10,cumulative,100,200\n")
    with pytest.raises(UserError, match="no column 'low'"):
        load_calibration(tmp_path / "c.yaml")
    with pytest.raises(UserError) as info:
        load_calibration(write(tmp_path / "d.yaml", CAL.replace("range: [0.005, 0.05]",
                                                                "range: [0.005]")))
    assert info.value.line == 4 and info.value.field == "parameters.rate.range.1"
    with pytest.raises(UserError) as info:
        load_calibration(write(tmp_path / "e.yaml", CAL.replace("rate:", "rat:")))
    assert info.value.line == 4 and "unknown parameter of toy-attrition" in str(info.value)


def test_cli_prints_one_line_and_exits_2(tmp_path):
    path = write(tmp_path / "bad.yaml", GOOD.replace("replicates: 2", "replicate: 2"))
    proc = subprocess.run([sys.executable, "-m", "dronefront.cli", "experiment", "run",
                           str(path), "--store", str(tmp_path / "s.duckdb")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert f"{path}:12: replicate: unknown field" in proc.stderr


@pytest.mark.parametrize("name", ["spacing-vs-drill.yaml", "ew-sensitivity.yaml"])
def test_shipped_examples_load(name):
    plan = load_experiment(Path(__file__).parents[2] / "examples" / name)
    assert plan.model.name == "engagement" and plan.total >= 480
    if name == "spacing-vs-drill.yaml":
        assert len(plan.points) == 48
        assert {"spacing", "drill", "shooters"} == set(plan.factor_columns().values())
    else:
        # Saltelli without second order: samples x (factors + 2) points.
        assert plan.spec.design.type == "sobol"
        assert len(plan.points) == plan.spec.design.samples * (len(plan.spec.factors) + 2)
        assert set(plan.factor_columns().values()) == {
            "jammer_west", "jammer_east", "radio_teams", "fibre_teams"}


def test_stored_spec_validates_again(tmp_path):
    import json

    import duckdb

    from dronefront.experiments.spec import Experiment

    path = write(tmp_path / "e.yaml", f"""\
name: roundtrip
scenario: reference-open-field
overrides: {FAST}
factors:
  sides.attacker.units.0.doctrine.spacing: {{levels: [1.5, 6]}}
replicates: 1
metrics: [sides.attacker.killed]
""")
    run_experiment(path, store=tmp_path / "s.duckdb", executor="local")
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    try:
        stored = json.loads(con.execute("SELECT spec FROM experiments").fetchone()[0])
    finally:
        con.close()
    again = Experiment.model_validate(stored)
    assert again == load_experiment(path).spec


def test_factor_names_never_take_a_metric_name():
    from dronefront.experiments.spec import Experiment

    spec = Experiment(name="x", factors={"sides.attacker.killed": {"levels": [1]}},
                      metrics=["killed"])
    assert spec.factor_names() == {"sides.attacker.killed": "attacker.killed"}
    with pytest.raises(ValueError, match="already the name of a metric"):
        Experiment(name="x", factors={"a.b": {"levels": [1], "name": "killed"}},
                   metrics=["killed"])
