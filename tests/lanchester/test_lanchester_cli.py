"""``lanchester solve`` and ``lanchester fit`` through typer's CliRunner on the sub-app."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dronefront.lanchester as lanchester_pkg
from dronefront.errors import UserError
from dronefront.lanchester import (
    Reinforcement,
    fitting,
    laws,
    plots,
    stochastic,
    synthetic_data,
    write_strength_csv,
)
from dronefront.lanchester.cli import app

runner = CliRunner()
IWO = ["--a0", "54000", "--b0", "21500", "--alpha", "0.0106", "--beta", "0.0544",
       "--reinforce", "A:2:6000", "--reinforce", "A:5:13000", "--days", "36"]


@pytest.fixture(scope="module")
def iwo_csv(tmp_path_factory) -> Path:
    data = synthetic_data("square", 54000, 21500, 0.0106, 0.0544, days=36, seed=1,
                          reinforcements=[Reinforcement("A", 2, 6000),
                                          Reinforcement("A", 5, 13000)])
    path = tmp_path_factory.mktemp("lanchester") / "iwo.csv"
    write_strength_csv(data, path)
    return path


def test_solve_prints_trajectory_and_outcome(tmp_path: Path):
    png = tmp_path / "iwo.png"
    result = runner.invoke(app, ["solve", *IWO, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "winner: A" in out and "52,796.7" in out and "day 35.44" in out
    assert "A 20,203, B 21,500" in out
    assert "57,722" in out  # day 2, after the 6,000 arrive
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_solve_thins_long_tables_and_projects(tmp_path: Path):
    svg = tmp_path / "lin.svg"
    result = runner.invoke(app, ["solve", "--law", "linear", "--a0", "1000", "--b0", "800",
                                 "--alpha", "2e-5", "--beta", "1e-5", "--days", "365",
                                 "--rows", "12", "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    rows = [ln for ln in result.output.splitlines() if ln.strip()[:1].isdigit()]
    assert 10 <= len(rows) <= 12
    assert "(projected)" in result.output or "never" in result.output
    assert svg.read_text().lstrip().startswith("<?xml")


def test_solve_generalized_law():
    result = runner.invoke(app, ["solve", "--law", "generalized", "--p", "0.5", "--q", "0.5",
                                 "--a0", "1000", "--b0", "800", "--alpha", "0.01", "--beta",
                                 "0.01", "--days", "400"])
    assert result.exit_code == 0, result.output
    assert "winner: A" in result.output and "day 288.73" in result.output


@pytest.mark.parametrize(("args", "field"), [
    (["--reinforce", "A:two:5"], "--reinforce"),
    (["--plot", "out.gif"], "--plot"),
    (["--days", "0"], "days"),
])
def test_solve_user_errors_propagate(args, field):
    base = ["solve", "--a0", "100", "--b0", "80", "--alpha", "0.01", "--beta", "0.01"]
    result = runner.invoke(app, base + args)
    assert isinstance(result.exception, UserError), result.output
    assert result.exception.field == field


def test_fit_prints_coefficients_and_quality(iwo_csv: Path, tmp_path: Path):
    png = tmp_path / "fit.png"
    result = runner.invoke(app, ["fit", str(iwo_csv), "--boot", "60", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "alpha" in out and "0.0106" in out and "0.054" in out and "95% low" in out
    assert "R² 0.9999" in out and "AIC" in out
    assert png.exists()


def test_fit_select_prints_aic_table(iwo_csv: Path):
    result = runner.invoke(app, ["fit", str(iwo_csv), "--select", "--boot", "20",
                                 "--method", "ls"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ΔAIC" in out and "BIC" in out
    for law in ("square", "linear", "logarithmic", "mixed", "generalized"):
        assert law in out
    assert "best by AIC: square" in out


def test_fit_bad_csv_propagates_user_error(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("day,a,b\n0,100,90\n1,x,80\n")
    result = runner.invoke(app, ["fit", str(bad)])
    assert isinstance(result.exception, UserError)
    assert (result.exception.file, result.exception.line, result.exception.field) == (
        str(bad), 3, "a")
    result = runner.invoke(app, ["fit", str(tmp_path / "missing.csv")])
    assert isinstance(result.exception, UserError)


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "solve" in result.output and "fit" in result.output


@pytest.mark.parametrize("module", [lanchester_pkg, laws, stochastic, fitting, plots],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0 and (tried > 0 or module is plots)
