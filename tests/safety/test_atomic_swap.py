"""Replacing a run folder: swapped in one step where the system allows, so the earlier
folder is there until the new one is."""

from __future__ import annotations

import sys

import pytest

import dronefront
from dronefront.io import rundir

SMALL = ["parameters.N=20", "duration=10"]


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("A")
    (b / "x").write_text("B")
    swapped = rundir.exchange(a, b)
    if sys.platform == "linux":
        assert swapped
    if swapped:
        assert (a / "x").read_text() == "B" and (b / "x").read_text() == "A"


@pytest.mark.parametrize("one_step", [True, False])
def test_a_run_folder_is_replaced_whole(tmp_path, monkeypatch, one_step):
    if not one_step:
        monkeypatch.setattr(rundir, "exchange", lambda a, b: False)
    out = tmp_path / "run"
    dronefront.run("reference-open-field", seed=1, overrides=SMALL, out=out)
    first = (out / "summary.json").read_text()
    dronefront.run("reference-open-field", seed=2, overrides=SMALL, out=out)
    assert (out / "summary.json").read_text() != first
    assert not (out / rundir.PARTIAL_MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no sibling left


def test_a_failed_swap_leaves_the_earlier_folder_unmarked(tmp_path, monkeypatch):
    out = tmp_path / "run"
    dronefront.run("reference-open-field", seed=1, overrides=SMALL, out=out)
    first = (out / "summary.json").read_text()

    def refuse(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rundir, "exchange", refuse)
    with pytest.raises(dronefront.UserError):
        dronefront.run("reference-open-field", seed=2, overrides=SMALL, out=out)
    assert (out / "summary.json").read_text() == first
    assert not (out / rundir.PARTIAL_MARKER).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def _dead_pid() -> int:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_a_killed_file_write_is_cleaned_by_the_next(tmp_path):
    from dronefront.io.outputs import sibling_prefix, write_text

    target = tmp_path / "report.html"
    prefix = sibling_prefix(target.name, "tmp")
    dead = tmp_path / f"{prefix}{_dead_pid()}-abc123"  # what a SIGKILL mid-write leaves
    dead.write_text("half")
    alive = tmp_path / f"{prefix}{__import__('os').getpid()}-def456"  # a write under way
    alive.write_text("busy")
    mine = tmp_path / f"{prefix}notes"  # a user's file that merely looks alike
    mine.write_text("keep")
    write_text(target, "<html></html>")
    assert target.read_text() == "<html></html>"
    assert not dead.exists() and alive.exists() and mine.read_text() == "keep"
