"""The experiment, sensitivity and calibrate commands end to end (typer's test runner)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from dronefront.cli import app
from dronefront.errors import UserError
from tests.experiments.experiment_helpers import ishigami, small_engagement, write

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_experiment_run_status_results(tmp_path):
    path = small_engagement(tmp_path, points=3, replicates=2)
    store = tmp_path / "s.duckdb"
    out = invoke("experiment", "run", path, "--store", store)
    assert out.exit_code == 0, out.output
    assert "6 runs" in out.output and "6/6 finished" in out.output
    out = invoke("experiment", "run", path, "--store", store)
    assert "0 runs" in out.output and "6 already stored" in out.output
    out = invoke("experiment", "status", path, "--store", store)
    assert "6/6 finished" in out.output and "latin_hypercube" in out.output
    out = invoke("experiment", "results", path, "--store", store)
    frame = pd.read_csv(io.StringIO(out.stdout))
    assert len(frame) == 6 and {"spacing", "drill", "sides.attacker.casualties"} <= set(frame)
    assert frame[["point", "replicate"]].values.tolist() == [[p, r] for p in range(3)
                                                             for r in range(2)]
    invoke("experiment", "results", path, "--store", store, "--format", "parquet",
           "--output", tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "r.parquet"), frame,
                                  check_dtype=False)
    out = invoke("experiment", "results", path, "--store", store, "--format", "table",
                 "--stats", "sides.attacker.casualties")
    assert "ci_low" in out.output
    with pytest.raises(UserError, match="needs --output"):
        invoke("experiment", "results", path, "--store", store, "--format", "parquet")


def test_status_before_any_run(tmp_path):
    path = small_engagement(tmp_path, points=3, replicates=2)
    with pytest.raises(UserError, match="'small' .* has no stored runs"):
        invoke("experiment", "status", path, "--store", tmp_path / "none.duckdb")


def test_sensitivity_command(tmp_path):
    path = ishigami(tmp_path, samples=64)
    out = invoke("sensitivity", path, "--metric", "y", "--store", tmp_path / "s.duckdb",
                 "--plot", tmp_path / "tornado.png")
    assert out.exit_code == 0, out.output
    assert "Sobol indices of y" in out.output and "ST_conf" in out.output
    assert (tmp_path / "tornado.png").exists()
    lhs = write(tmp_path / "lhs.yaml", path.read_text().replace(
        "{type: sobol, samples: 64, seed: 1}", "{type: latin_hypercube, points: 5}"))
    with pytest.raises(UserError, match="needs design type sobol or morris"):
        invoke("sensitivity", lhs, "--metric", "y", "--store", tmp_path / "s.duckdb")


def test_calibrate_command(tmp_path):
    (tmp_path / "obs.csv").write_text("date,window,low,high\n2024-12-20,cumulative,2000,2600\n"
                                      "2025-01-10,past-7-days,,900\n")
    path = write(tmp_path / "cal.yaml", """\
name: fit
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.05]}
  learning: {levels: [0.0, 0.03, 0.06]}
observed:
  file: obs.csv
  series: [{model: cumulative_casualties, low: low, high: high}]
trials: 12
batch: 4
""")
    out = invoke("calibrate", path, "--store", tmp_path / "s.duckdb", "--plot",
                 tmp_path / "fit.png", "--output", tmp_path / "trials.csv")
    assert out.exit_code == 0, out.output
    assert "best trial" in out.output and "spread over the best 2 trials" in out.output
    assert (tmp_path / "fit.png").exists()
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 12
