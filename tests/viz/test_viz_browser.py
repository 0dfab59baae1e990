"""The replay and the report in real headless Chromium, driven over the DevTools pipe."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import dronefront
from dronefront.viz import record_from_run_dir, write_replay, write_report
from dronefront.viz.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} not found (Debian: apt-get install -y chromium)",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

CANVAS_DIGEST = """(() => {
  const c = document.getElementById('canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 3 * d[i + 1] + 7 * d[i + 2]) >>> 0;
  return h;
})()"""
NEXT_FRAME = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    run_dir = root / "kursk-assault-seed1"
    dronefront.run("kursk-assault", seed=1, out=run_dir)
    replay = write_replay(record_from_run_dir(run_dir), root / "replay.html")
    report = write_report(run_dir, root / "report.html")
    return {"replay": replay, "report": report}


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def test_replay_plays_seeks_toggles_and_hovers(pages: dict[str, Path], browser: Browser) -> None:
    b = browser
    b.open(pages["replay"].as_uri())
    b.wait_for("document.body.dataset.ready === '1'")
    assert b.evaluate("document.getElementById('time').textContent").startswith("0:00:00")
    b.evaluate("dronefrontReplay.fitSoldiers()")
    b.evaluate(NEXT_FRAME, await_promise=True)

    b.evaluate("document.getElementById('play').click()")
    assert b.evaluate("dronefrontReplay.state().playing") is True
    time.sleep(0.6)
    first = b.evaluate(CANVAS_DIGEST)
    t1 = b.evaluate("dronefrontReplay.state().t")
    time.sleep(0.6)
    second = b.evaluate(CANVAS_DIGEST)
    t2 = b.evaluate("dronefrontReplay.state().t")
    assert t2 > t1 > 0
    assert first != second, "the canvas did not change while playing"

    # hover a soldier: the tooltip names it
    b.evaluate("document.getElementById('play').click()")
    b.evaluate(NEXT_FRAME, await_promise=True)
    x, y = b.evaluate("dronefrontReplay.screenPosition('soldier', 0)")
    b.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
    b.wait_for("!document.getElementById('tooltip').hidden")
    tip = b.evaluate("document.getElementById('tooltip').textContent")
    assert re.match(r"soldier #\d+ \(attacker\)\nunit: assault-company", tip), tip
    assert "status: healthy" in tip and "posture: moving" in tip
    b.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 2, "y": 2})

    # drag the slider to the end
    b.evaluate("""(() => { const s = document.getElementById('slider');
        s.value = s.max; s.dispatchEvent(new Event('input', {bubbles: true})); })()""")
    b.evaluate(NEXT_FRAME, await_promise=True)
    assert b.evaluate("document.getElementById('time').textContent") == "1:00:00 / 1:00:00"
    assert "step 720 / 720" in b.evaluate("document.getElementById('step').textContent")
    counts = b.evaluate("document.getElementById('counts').textContent")
    assert "killed" in counts and "attacker 120" in counts

    # toggle a layer off and on
    b.evaluate("dronefrontReplay.fitSoldiers()")
    b.evaluate(NEXT_FRAME, await_promise=True)
    shown = b.evaluate(CANVAS_DIGEST)
    b.evaluate("document.getElementById('layer-soldiers').click()")
    b.evaluate(NEXT_FRAME, await_promise=True)
    assert b.evaluate("document.getElementById('layer-soldiers').checked") is False
    hidden = b.evaluate(CANVAS_DIGEST)
    assert hidden != shown, "hiding soldiers did not change the picture"
    b.evaluate("document.getElementById('layer-soldiers').click()")
    b.evaluate(NEXT_FRAME, await_promise=True)
    assert b.evaluate(CANVAS_DIGEST) == shown

    # a moment with FPV strikes on the tight ranks, for the record
    b.evaluate("dronefrontReplay.seek(372); dronefrontReplay.setView(-59, 370, 5)")
    b.evaluate(NEXT_FRAME, await_promise=True)
    ARTIFACTS.mkdir(exist_ok=True)
    b.screenshot(ARTIFACTS / "replay.png")
    assert b.errors == [], b.errors
    assert all(u.startswith(("file:", "data:")) for u in b.requests), b.requests


def test_report_renders_offline(pages: dict[str, Path], browser: Browser) -> None:
    browser.open(pages["report"].as_uri())
    images = browser.evaluate("""Array.from(document.images).map(
        i => i.complete && i.naturalWidth > 0)""")
    assert len(images) == 5 and all(images)
    headings = browser.evaluate("Array.from(document.querySelectorAll('h2'), h => h.textContent)")
    assert headings[:2] == ["Summary", "Casualties"]
    assert browser.errors == [], browser.errors
    assert all(u.startswith(("file:", "data:")) for u in browser.requests), browser.requests
