"""Recording and encoding of the HTML replay (no browser needed)."""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

import dronefront
from dronefront.cli import main
from dronefront.errors import UserError
from dronefront.viz import build_replay, record_from_run_dir, record_run, thinning, write_replay
from dronefront.viz.replay import STATIC

MAX_BYTES = 5_000_000


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "kursk-assault-seed1"
    dronefront.run("kursk-assault", seed=1, out=out)
    return out


@pytest.fixture(scope="module")
def recording(run_dir: Path):
    return record_from_run_dir(run_dir)


def _payload(page: str) -> tuple[dict, bytes]:
    meta = json.loads(re.search(r'<script id="meta" type="application/json">(.*?)</script>',
                                page, re.S).group(1))
    data = re.search(r'<script id="data" type="application/octet-stream">(.*?)</script>',
                     page, re.S).group(1)
    return meta, zlib.decompress(base64.b64decode(data))


def _decode_delta(blob: bytes, spec: dict, shape: tuple[int, int]) -> np.ndarray:
    n = spec["length"]
    raw = np.frombuffer(blob, np.uint8, 2 * n, spec["offset"])
    d = (raw[:n].astype(np.uint16) | (raw[n:].astype(np.uint16) << 8)).view(np.int16)
    return np.cumsum(d.reshape(shape).astype(np.int64), axis=0).astype(np.int16)


def test_recording_matches_the_run(run_dir: Path, recording) -> None:
    stored = json.loads((run_dir / "summary.json").read_text())
    assert json.loads(json.dumps(recording.result.summary)) == stored
    steps = recording.scenario.steps
    assert recording.steps[0] == 0 and recording.steps[-1] == steps
    assert recording.x.shape == (steps + 1, 150)
    # the final frame is the final state
    np.testing.assert_allclose(recording.x[-1], recording.result.state.soldiers.x, atol=1e-3)
    assert (recording.status[-1] == recording.result.state.soldiers.status).all()
    assert recording.note() == ""


def test_replay_is_small_self_contained_and_decodes(recording, tmp_path: Path) -> None:
    out = write_replay(recording, tmp_path / "replay.html")
    size = out.stat().st_size
    print(f"kursk-assault replay: {size} bytes")
    assert size < MAX_BYTES
    page = out.read_text()
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(?!data:)", page)
    meta, blob = _payload(page)
    frames, n = meta["frames"], meta["soldiers"]
    qx = _decode_delta(blob, meta["arrays"]["sx"], (frames, n))
    x = meta["origin"][0] + qx * meta["scale"]
    assert np.abs(x - recording.x).max() <= meta["scale"] * 0.51 + 1e-6
    steps = np.frombuffer(blob, np.int32, frames, meta["arrays"]["frame_step"]["offset"])
    assert (steps == recording.steps).all()
    kinds = np.frombuffer(blob, np.int8, meta["arrays"]["b_kind"]["length"],
                          meta["arrays"]["b_kind"]["offset"])
    assert {0, 2} <= set(kinds.tolist())  # FPV strikes and shells are in the replay
    assert meta["jammers"] and meta["objectives"] and meta["terrain"]["nx"] == 240


def test_dispersed_replay_size(tmp_path: Path) -> None:
    rec = record_run("kursk-assault-dispersed", seed=1)
    size = write_replay(rec, tmp_path / "d.html").stat().st_size
    assert size < MAX_BYTES


def test_static_assets_are_safe_to_inline() -> None:
    js = (STATIC / "replay.js").read_text()
    assert "</script" not in js.lower() and "<!--" not in js
    assert "http" not in js and "import(" not in js and "fetch(" not in js


def test_thinning_rule() -> None:
    assert thinning(150, 720) == (1, 1)
    assert thinning(10_000, 900) == (1, 1)
    assert thinning(25_000, 900) == (3, 1)
    stride, every = thinning(10_000, 5_000)
    assert stride == 1 and 10_000 * (5_000 // every + 1) <= 12_000_000 + 10_000


def test_thinned_recording_says_so() -> None:
    rec = record_run("reference-open-field", 1, ["parameters.N=90", "duration=60"],
                     max_soldiers=40, max_samples=40 * 10)
    assert rec.soldier_stride == 3 and rec.soldier_index.size == 30
    assert rec.every > 1
    note = rec.note()
    assert "1 in 3 soldiers" in note and f"every {rec.every} steps" in note
    meta, _ = _payload(build_replay(rec))
    assert meta["note"] == note and meta["total_soldiers"] == 90


def test_changed_run_is_refused(run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in run_dir.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    summary = json.loads((bad / "summary.json").read_text())
    summary["sides"]["attacker"]["killed"] += 1
    (bad / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(UserError, match="different result at sides.attacker.killed"):
        record_from_run_dir(bad)


def test_cli_replay_and_errors(run_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as done:
        main(["replay", str(run_dir), "-o", str(out)])
    assert done.value.code in (0, None)
    assert out.stat().st_size > 1000
    for argv, message in (
        (["replay", "-o", str(out)], "either a run folder or --scenario"),
        (["replay", str(tmp_path / "nope")], "no such run folder"),
        (["replay", str(tmp_path)], "not a run folder"),
        (["replay", "--scenario", "kursk-asault"], "did you mean 'kursk-assault'"),
        (["replay", "--scenario", "kursk-assault", "--set", "dt=-1"], "dt"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


MARKERS = ("intercept", "autonomous", "misidentified", "rf_detection", "site_destroyed",
           "evacuated")


@pytest.mark.parametrize("name,overrides", [
    ("layered-defence", []),  # interceptors, RF detection, destroyed sites
    ("ew-screen", ["drone_types.fpv_radio.autonomy_range=1500",
                   "drone_types.fpv_radio.misidentification=0.5",
                   "sides.defender.units.0.doctrine.casualty_care.mode=treat"]),
])
def test_replay_draws_every_layer_autonomy_and_care_event(name, overrides) -> None:
    rec = record_run(name, 1, overrides)
    meta, blob = _payload(build_replay(rec))
    spec = meta["arrays"]["b_kind"]
    codes = np.frombuffer(blob, np.int8, spec["length"], spec["offset"])
    by_name = {k["name"]: (code, k) for code, k in enumerate(meta["blast_kinds"])}
    ev = rec.result.events.to_pandas()
    seen = set()
    for kind in MARKERS:
        rows = ev[ev["kind"] == kind]
        if kind == "intercept":  # a hit is a drone loss (x), a miss its own marker
            parts = {"intercept": rows[rows["value"] == 1.0],
                     "intercept_miss": rows[rows["value"] == 0.0]}
        else:
            parts = {kind: rows}
        for label, part in parts.items():
            code, info = by_name[label]
            assert info["shape"] in ("cross", "ring", "triangle", "square") and info["label"]
            assert (codes == code).sum() == len(part), label
            if len(part):
                seen.add(label)
    expected = ({"intercept", "intercept_miss", "rf_detection", "site_destroyed"}
                if name == "layered-defence" else {"autonomous", "misidentified", "evacuated"})
    assert expected <= seen
    js = (STATIC / "replay.js").read_text()
    assert "'marks'" in js and "SHAPE_LAYER" in js
