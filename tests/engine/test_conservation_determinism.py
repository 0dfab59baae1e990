"""Bookkeeping invariants, determinism and common random numbers."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pyarrow.compute as pc
import pytest

import dronefront
from dronefront.engine.state import FATES

SCENARIOS = ["kursk-assault", "kursk-assault-dispersed", "ew-screen", "swarm-breach"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_soldiers_and_drones_are_conserved_every_step(engine_run, name):
    result = engine_run(name, 3)
    ts = result.timeseries.to_pandas()
    initial = {side: v["initial"] for side, v in result.summary["sides"].items()}
    for side, rows in ts.groupby("side", observed=True):
        total = rows.healthy + rows.wounded + rows.killed
        assert (total == initial[side]).all()
        assert rows.killed.is_monotonic_increasing
        launched = rows.launched
        accounted = rows.drones_flying + sum(rows[f] for f in FATES[1:])
        assert (launched == accounted).all()
    assert ts.launched.iloc[-2:].sum() > 0, "the scenario should launch drones"


def test_same_seed_gives_identical_outputs(tmp_path):
    a = dronefront.run("kursk-assault", seed=5, out=tmp_path / "a")
    b = dronefront.run("kursk-assault", seed=5, out=tmp_path / "b")
    assert a.summary == b.summary
    for name in ("summary.json", "timeseries.parquet", "events.parquet", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    c = dronefront.run("kursk-assault", seed=6)
    assert c.summary != a.summary, "a different seed should change the outcome"


def test_identical_across_processes(tmp_path):
    dronefront.run("kursk-assault", seed=9, out=tmp_path / "here")
    code = (
        "import dronefront, sys; dronefront.run('kursk-assault', seed=9, out=sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True)
    for name in ("summary.json", "timeseries.parquet", "events.parquet"):
        here = hashlib.sha256((tmp_path / "here" / name).read_bytes()).hexdigest()
        there = hashlib.sha256((tmp_path / "there" / name).read_bytes()).hexdigest()
        assert here == there, name


def _launches(result):
    ev = result.events
    launches = ev.filter(pc.equal(ev["kind"], "launch"))
    return list(zip(launches["step"].to_pylist(), launches["actor"].to_pylist(),
                    launches["target"].to_pylist(), strict=True))


def test_common_random_numbers_without_counterdrone_fire():
    """Switching fire off leaves launches and targets unchanged until the first shoot-down.

    Fire also makes a diving FPV more likely to miss (model.md §8.5); that effect is set to 0
    here, so a shoot-down is the only way fire can change the drone side's draws.
    """
    steady = ["drone_types.fpv_radio.miss_under_fire=0", "drone_types.fpv_fibre.miss_under_fire=0"]
    for seed in range(1, 21):  # the first seed in which the defence loses a drone to fire
        base = dronefront.run("kursk-assault-dispersed", seed=seed, overrides=steady)
        ev = base.events
        downs = ev.filter(pc.and_(pc.equal(ev["kind"], "shoot_down"),
                                  pc.equal(ev["side"], "defender")))
        if downs.num_rows > 0:
            break
    assert downs.num_rows > 0, "no seed of 20 shoots anything down"
    quiet = dronefront.run("kursk-assault-dispersed", seed=seed, overrides=[
        *steady, "sides.attacker.units.0.doctrine.drill=[freeze]"])
    first = min(downs["step"].to_pylist())
    before = [row for row in _launches(base) if row[0] <= first]
    quiet_before = [row for row in _launches(quiet) if row[0] <= first]
    assert len(before) > 3
    assert before == quiet_before
    assert _launches(base) != _launches(quiet), "after the first shoot-down the runs diverge"


def test_jammers_off_keeps_other_draws():
    """Turning jammers off must not move the ISR detections before the first jam loss."""
    base = dronefront.run("kursk-assault", seed=4)
    off = dronefront.run("kursk-assault", seed=4,
                         overrides=["sides.attacker.jammers.0.active=false"])
    ev = base.events
    jams = ev.filter(pc.equal(ev["kind"], "jam_loss"))
    assert jams.num_rows > 0
    first = min(jams["step"].to_pylist())

    def detections(result):
        e = result.events
        d = e.filter(pc.and_(pc.equal(e["kind"], "detection"), pc.less(e["step"], first)))
        return d.select(["step", "platoon", "value", "x", "y"]).to_pylist()

    assert detections(base) == detections(off)
    assert len(detections(base)) > 0
    assert off.summary["drones"]["defender"].get("isr_quad", {}).get("jammed", 0) == 0


def test_summary_matches_events(engine_run):
    result = engine_run("kursk-assault", 3)
    ev = result.events.to_pandas()
    att = result.summary["sides"]["attacker"]
    casualty_rows = ev[(ev.kind == "casualty") & (ev.side == "attacker")]
    killed_rows = casualty_rows[casualty_rows.value == 2]
    assert killed_rows.target.nunique() == att["killed"]
    launches = int((ev.kind == "launch").sum())
    assert launches == sum(v["launched"] for t in result.summary["drones"].values()
                           for v in t.values())
    assert np.isclose(result.timeseries.to_pandas().launched.max(), launches)


def test_event_log_off_changes_nothing_else():
    with_log = dronefront.run("kursk-assault-dispersed", seed=8)
    without = dronefront.run("kursk-assault-dispersed", seed=8, events=False)
    assert with_log.events.num_rows > 0 and without.events.num_rows == 0
    assert with_log.summary == without.summary
    assert with_log.timeseries.equals(without.timeseries)
