"""HTML reports and the plot API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import dronefront
from dronefront.cli import main
from dronefront.errors import UserError
from dronefront.viz import build_report, plots


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "kursk-assault-seed2"
    dronefront.run("kursk-assault", seed=2, out=out)
    return out


def test_run_report_sections_and_images(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    with pytest.raises(SystemExit) as done:
        main(["report", str(run_dir), "-o", str(out)])
    assert done.value.code in (0, None)
    page = out.read_text()
    for ident in ("summary", "casualties", "drones", "cost", "map"):
        assert f'<section id="{ident}">' in page
    for text in ("Casualties over time, by cause", "Drone sorties by fate and type",
                 "Cost exchange", "fpv_radio", "artillery", "cost-exchange ratio"):
        assert text in page
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 5 and all(len(i) > 5000 for i in images)
    # offline: nothing fetched from anywhere
    assert "http://" not in page and "https://" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def test_plots_accept_result_and_folder(run_dir: Path) -> None:
    result = dronefront.run("kursk-assault", seed=2)
    for fn in (plots.casualties_over_time, plots.drones_by_fate, plots.cost_exchange,
               plots.strength_over_time, plots.event_map):
        assert isinstance(fn(run_dir), Figure)
    fig = plots.casualties_over_time(result)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    table = plots.casualty_table(result)
    assert len(table) == result.summary["sides"]["attacker"]["casualties"] + \
        result.summary["sides"]["defender"]["casualties"]


def test_report_of_a_result_without_drones() -> None:
    result = dronefront.run("lanchester-aimed-fire", seed=1)
    page = build_report(result)
    assert "No drones flew." in page


def test_unknown_kinds_are_user_errors(tmp_path: Path, capsys) -> None:
    with pytest.raises(UserError, match="no such file or folder"):
        build_report(tmp_path / "missing")
    with pytest.raises(UserError, match="not a run folder"):
        build_report(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
