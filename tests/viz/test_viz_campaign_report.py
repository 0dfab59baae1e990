"""The campaign report (``dronefront report CAMPAIGN_FOLDER``) and the campaign plots."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import dronefront
from dronefront.cli import main
from dronefront.errors import UserError
from dronefront.viz import build_report, plots
from dronefront.viz.report import campaign_counterparts, report_kinds

SMALL = ["force.strength=900", "force.battalions=3", "force.assault_size=120",
         "force.companies_per_assault=2", "engagement_overrides.duration=1200"]
SECTIONS = ("summary", "casualties", "doctrine", "skills", "adaptation", "stocks",
            "shootdowns")
HEADINGS = ("Daily casualties, by cause", "Doctrine trajectories", "Skill trajectories",
            "Drone-side adaptation", "Strength, stocks and spend", "Shoot-downs per encounter")


@pytest.fixture(scope="module")
def camps(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("campaigns")
    on_dir = root / "runs" / "small-seed1"
    off_dir = root / "runs" / "small-seed1-no-attacker"
    on = dronefront.run_campaign("kursk-campaign", seed=1, days=6, overrides=SMALL,
                                 out=on_dir)
    off = dronefront.run_campaign("kursk-campaign", seed=1, days=6, overrides=SMALL,
                                  no_learning=["attacker"], out=off_dir)
    lone = root / "lone" / "small-seed1"
    shutil.copytree(on_dir, lone)
    return {"on": on, "off": off, "on_dir": on_dir, "off_dir": off_dir, "lone": lone}


def _images(page: str) -> list[str]:
    return re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)


def _offline(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert not re.search(r'(src|href)="(?!data:|#)', page)


def _report(args: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", *args])
    assert done.value.code in (0, None)


def test_campaign_report_sections_images_offline(camps: dict, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _report([str(camps["lone"]), "-o", str(out)])
    page = out.read_text()
    for ident in SECTIONS:
        assert f'<section id="{ident}">' in page
    for text in (*HEADINGS, "casualties per assault, first week", "fpv", "battalion"):
        assert text in page
    # no counterpart next to the lone copy: no comparison, a hint instead
    assert '<section id="compare">' not in page
    assert "--no-learning attacker" in page
    images = _images(page)
    assert len(images) >= 5 and all(len(i) > 5000 for i in images)
    _offline(page)


def test_compare_option_adds_the_comparison(camps: dict, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _report([str(camps["lone"]), "--compare", str(camps["off_dir"]), "-o", str(out)])
    page = out.read_text()
    assert '<section id="compare">' in page
    assert "Learning on/off comparison" in page and "attacker learning off" in page
    assert "--compare" in page and str(camps["off_dir"]) in page
    assert len(_images(page)) == len(plots.CAMPAIGN_PLOTS) + 1
    _offline(page)


def test_siblings_are_compared_automatically(camps: dict) -> None:
    assert campaign_counterparts(camps["on_dir"]) == [camps["off_dir"].resolve()]
    assert campaign_counterparts(camps["off_dir"]) == [camps["on_dir"].resolve()]
    assert campaign_counterparts(camps["lone"]) == []
    page = build_report(camps["on_dir"])
    assert '<section id="compare">' in page and "sibling folders" in page
    assert camps["off_dir"].name in page


def test_report_of_a_campaign_result(camps: dict) -> None:
    page = build_report(camps["on"], compare=camps["off"])
    assert '<section id="compare">' in page and "learning on" in page
    assert "kursk-campaign" in page
    _offline(page)


def test_plot_functions_return_figures(camps: dict) -> None:
    for _ident, _title, fn in plots.CAMPAIGN_PLOTS:
        assert isinstance(fn(camps["on_dir"]), Figure)
    for fn in (plots.campaign_casualties, plots.campaign_doctrine, plots.campaign_skills):
        assert isinstance(fn(camps["off"]), Figure)
    fig = plots.campaign_compare(camps["on_dir"], camps["off"])
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert len(plots.campaign_doctrine(camps["on"]).get_axes()) >= 6
    data = plots.as_campaign_data(camps["on_dir"])
    assert data.label == "learning on" and plots.as_campaign_data(
        camps["off"]).label == "attacker learning off"
    assert {"casualties_fpv", "casualties_artillery", "mean_spotting", "fibre_share"} <= set(
        data.daily.columns)


def test_campaign_and_run_folders_are_told_apart(camps: dict, tmp_path: Path) -> None:
    assert "campaign_folder" in report_kinds() and "run_folder" in report_kinds()
    assert plots.is_campaign_dir(camps["on_dir"])
    run_dir = tmp_path / "run"
    dronefront.run("lanchester-aimed-fire", seed=1, out=run_dir)
    assert not plots.is_campaign_dir(run_dir)
    assert "<h1>dronefront report" in build_report(run_dir)
    with pytest.raises(UserError, match="--compare does not apply to a run folder"):
        build_report(run_dir, compare=camps["off_dir"])


def test_bad_compare_and_broken_folders_are_user_errors(camps: dict, tmp_path: Path,
                                                        capsys) -> None:
    out = str(tmp_path / "r.html")
    with pytest.raises(SystemExit) as exc:
        main(["report", str(camps["lone"]), "--compare", str(tmp_path / "nope"), "-o", out])
    assert exc.value.code == 2
    with pytest.raises(UserError, match="not a campaign folder"):
        build_report(camps["lone"], compare=tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(camps["lone"], broken)
    (broken / "daily.parquet").unlink()
    with pytest.raises(UserError, match="file not found"):
        build_report(broken)
    assert "Traceback" not in capsys.readouterr().err
