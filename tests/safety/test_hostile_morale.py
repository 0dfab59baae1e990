"""Hostile values for the suppression and cohesion parameters (docs/model.md §11a): each is
one error line, exit 2, nothing touched."""

from __future__ import annotations

import pytest

from tests.safety.hostile import Hostile, check

UNIT = "sides.attacker.units.0.doctrine"
BAD_FILE = """name: bad-morale
sides:
  attacker:
    units:
      - {name: a, count: 5, start: [0, 0], doctrine: {on_break: flee, breakpoint: -0.1}}
"""

CASES = [
    Hostile("on-break-unknown", args=["validate", "kursk-assault", "--set",
                                      f"{UNIT}.on_break=flee"], expect=("on_break", "flee")),
    Hostile("breakpoint-above-one", args=["validate", "kursk-assault", "--set",
                                          f"{UNIT}.breakpoint=1.5"], expect=("breakpoint",)),
    Hostile("breakpoint-nan", args=["validate", "kursk-assault", "--set",
                                    f"{UNIT}.breakpoint=nan"], expect=("breakpoint",)),
    Hostile("radius-zero", args=["validate", "kursk-assault", "--set", "suppression.radius=0"],
            expect=("suppression.radius",)),
    Hostile("recovery-negative", args=["run", "kursk-assault", "--set",
                                       "suppression.recovery_time=-60"],
            expect=("suppression.recovery_time",)),
    Hostile("threshold-inf", args=["validate", "kursk-assault", "--set",
                                   "suppression.threshold=inf"], expect=("threshold",)),
    Hostile("crawl-above-one", args=["validate", "kursk-assault", "--set",
                                     "suppression.crawl=2"], expect=("suppression.crawl",)),
    Hostile("prone-protection-above-one", args=["validate", "kursk-assault", "--set",
                                                "posture_protection.prone=3"],
            expect=("posture_protection",)),
    Hostile("suppression-not-a-section", args=["validate", "kursk-assault", "--set",
                                               "suppression=loud"], expect=("suppression",)),
    Hostile("on-break-in-a-file", args=["validate", "{dir}/bad.yaml"],
            files={"bad.yaml": BAD_FILE}, expect=("bad.yaml:5", "doctrine")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_morale_input_fails_safely(case, tmp_path):
    check(case, tmp_path)
