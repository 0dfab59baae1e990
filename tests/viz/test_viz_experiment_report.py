"""The experiment-store report (``dronefront report STORE.duckdb``) and its plots."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from matplotlib.figure import Figure

from dronefront.cli import main
from dronefront.errors import UserError
from dronefront.experiments import calibrate, run_experiment
from dronefront.experiments.models import attrition
from dronefront.viz import build_report, plots
from dronefront.viz.report import report_kinds

PI = math.pi

NOISE = """\
name: noise
kind: toy-noise
factors:
  x: {levels: [0.0, 1.0, 2.0]}
  sigma: {levels: [0.5]}
design: full_factorial
replicates: 6
seed: 3
metrics: [y]
"""

ISHIGAMI = f"""\
name: ishigami
kind: toy-ishigami
factors:
  x1: {{range: [{-PI!r}, {PI!r}]}}
  x2: {{range: [{-PI!r}, {PI!r}]}}
  x3: {{range: [{-PI!r}, {PI!r}]}}
design: {{type: sobol, samples: 32, seed: 1}}
metrics: [y]
"""

MORRIS = ISHIGAMI.replace("name: ishigami", "name: morris").replace(
    "{type: sobol, samples: 32, seed: 1}", "{type: morris, trajectories: 4, seed: 1}")

CALIBRATION = """\
name: fit-toy
kind: toy-attrition
parameters:
  rate: {range: [0.005, 0.06], log: true}
  learning: {range: [0.0, 0.1]}
observed:
  file: obs.csv
  series:
    - {model: cumulative_casualties, low: cas_low, high: cas_high}
trials: 10
batch: 5
startup_trials: 5
replicates: 2
seed: 3
top: 0.2
"""


def _observations(folder: Path) -> None:
    """+-5% intervals around the toy model's true curve, one past-7-days window."""
    daily = attrition("", 0, ["rate=0.02", "learning=0.03"])[1].to_pandas()
    lines = ["date,window,cas_low,cas_high"]
    for day in (5, 15, 30):
        c = daily.cumulative_casualties.iloc[day]
        lines.append(f"{daily.date.iloc[day]},cumulative,{c * 0.95:.1f},{c * 1.05:.1f}")
    week = daily.cumulative_casualties.iloc[25] - daily.cumulative_casualties.iloc[18]
    lines.append(f"{daily.date.iloc[25]},past-7-days,{week * 0.9:.1f},")
    (folder / "obs.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("experiment-store")
    path = root / "s.duckdb"
    for name, text in (("noise", NOISE), ("ishigami", ISHIGAMI), ("morris", MORRIS)):
        (root / f"{name}.yaml").write_text(text)
        run_experiment(root / f"{name}.yaml", store=path)
    _observations(root)
    (root / "cal.yaml").write_text(CALIBRATION)
    calibrate(root / "cal.yaml", store=path)
    return path


def _images(html: str) -> list[str]:
    return re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)


def _offline(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def _section(page: str, ident_end: str) -> str:
    """The HTML of the (first) sub-section whose id ends with ``ident_end``."""
    match = re.search(rf'<section id="[^"]*{re.escape(ident_end)}">(.*?)</section>', page,
                      re.S)
    assert match, ident_end
    return match.group(1)


def _report(args: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", *args])
    assert done.value.code in (0, None)


def test_store_report_has_every_experiment_offline(store: Path, tmp_path: Path) -> None:
    assert "experiment_store" in report_kinds()
    out = tmp_path / "report.html"
    _report([str(store), "-o", str(out)])
    page = out.read_text()
    _offline(page)
    for heading in ("Experiments in this store", "Experiment: noise", "Experiment: ishigami",
                    "Experiment: morris", "Calibration: fit-toy", "<h3>Design</h3>",
                    "Design points: mean, CI and quantiles",
                    "Paired differences against the baseline point",
                    "CRN variance reduction", "Sensitivity (Sobol)", "Sensitivity (Morris)",
                    "Best parameters", "Fit against the observed data", "Search history"):
        assert heading in page, heading
    assert "common random numbers" in page and "seeds used: 3..8" in page
    # one section per experiment; every plot section carries at least one inline image
    blocks = re.split(r'(?=<section id="[^"]*"><h2>)', page)
    by_name = {re.search(r"<h2>[^:<]*: ([^<]*)</h2>", b).group(1): b
               for b in blocks if re.search(r"<h2>[^:<]*: ", b)}
    assert set(by_name) == {"noise", "ishigami", "morris", "fit-toy"}
    noise = by_name["noise"]
    points = _section(noise, "-points")
    assert len(_images(points)) >= 1
    dash = '<td class="num">-</td>'
    assert dash * 3 + "</tr>" not in points  # quantiles are filled in
    assert re.search(r"<td>\[-?\d[^<]*, -?\d[^<]*\]</td>", points)  # CI intervals
    assert len(_images(_section(noise, "-paired"))) >= 1
    assert "Sensitivity" not in noise  # a full factorial has no tornado
    assert len(_images(_section(by_name["ishigami"], "-sensitivity"))) >= 1
    assert len(_images(_section(by_name["morris"], "-sensitivity"))) >= 1
    assert "S1" in by_name["ishigami"] and "mu_star" in by_name["morris"]
    # one replicate: no paired differences, said so instead of failing
    assert "at least 2 replicates" in by_name["ishigami"]
    cal = by_name["fit-toy"]
    for ident in ("-best", "-fit", "-trials"):
        assert len(_images(_section(cal, ident))) >= 1, ident
    assert "Best trial" in cal and "rate" in cal and "past-7-days" in cal
    assert re.search(r"<td>trials stored</td><td[^>]*>10</td>", cal)


def test_paired_differences_show_the_crn_variance_reduction(store: Path) -> None:
    page = build_report(store, experiment="noise")
    # toy-noise with sigma 0.5: CRN removes 1 / (1 + 0.25) = 80% of the variance
    paired = _section(page, "-paired")
    shares = [float(v) for v in re.findall(r"<td[^>]*>(-?\d+\.\d)%</td>", paired)]
    assert len(shares) == 2 and all(50 < v < 100 for v in shares), shares
    assert "Experiment: ishigami" not in page and "Experiments in this store" not in page


def test_pick_one_experiment_by_name_or_hash(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "one.html"
    _report([str(store), "-o", str(out), "--experiment", "fit-toy"])
    page = out.read_text()
    assert "Calibration: fit-toy" in page and "Experiment: noise" not in page
    key = re.search(r"experiment <code>([0-9a-f]{16})</code>", page).group(1)
    assert "Calibration: fit-toy" in build_report(store, experiment=key[:8])


def test_calibration_without_its_observations_still_reports(store: Path,
                                                           tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "copy.duckdb"
    moved.parent.mkdir()
    shutil.copy(store, moved)  # neither the calibration file, its CSV nor the series
    page = build_report(moved, experiment="fit-toy")
    assert "Calibration set-up" in page and "Not shown" in page
    assert "obs.csv" in page


def test_bad_paths_and_names_are_one_line_user_errors(store: Path, tmp_path: Path,
                                                      capsys) -> None:
    with pytest.raises(UserError, match="no experiment 'nosie'.*did you mean 'noise'"):
        build_report(store, experiment="nosie")
    fake = tmp_path / "fake.duckdb"
    fake.write_text("not a database\n")
    with pytest.raises(UserError) as err:
        build_report(fake)
    assert "fake.duckdb" in str(err.value) and "\n" not in str(err.value)
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(UserError, match="not an experiment store"):
        build_report(empty)
    run_dir = tmp_path / "folder"
    run_dir.mkdir()
    with pytest.raises(UserError, match="cannot report on this"):
        build_report(run_dir, experiment="noise")
    for args in ([str(fake)], [str(tmp_path / "missing.duckdb")],
                 [str(store), "--experiment", "nope"]):
        with pytest.raises(SystemExit) as done:
            main(["report", *args, "-o", str(tmp_path / "r.html")])
        assert done.value.code == 2, args
        lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
        assert len(lines) == 1 and "Traceback" not in lines[0], lines


def test_plot_functions_return_figures() -> None:
    import pandas as pd

    from dronefront.experiments.analysis import paired_difference, point_stats

    frame = pd.DataFrame({"point": [0, 0, 0, 1, 1, 1], "replicate": [0, 1, 2] * 2,
                          "y": [1.0, 2.0, 3.5, 2.0, 3.1, 4.4]})
    assert isinstance(plots.experiment_point_stats({"y": point_stats(frame, "y")},
                                                   {0: "a", 1: "b"}), Figure)
    diff = paired_difference(frame, "y", 0, 1)
    assert isinstance(plots.experiment_paired_differences({"y": [diff]}), Figure)
    trials = pd.DataFrame({"trial": [0, 1, 2], "loss": [0.5, 0.0, 0.01],
                           "rate": [0.1, 0.2, 0.3], "mode": ["a", "b", "a"]})
    assert isinstance(plots.calibration_trials(trials, 1), Figure)
    assert isinstance(plots.calibration_parameters(trials, ["rate", "mode"], 1, 0.5), Figure)
    assert isinstance(plots.calibration_trials(trials.iloc[:0]), Figure)
