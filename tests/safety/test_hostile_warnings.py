"""Hostile values of the warning parameters (``counter_drone.warning_delay`` / ``_radius``)."""

from __future__ import annotations

import pytest

from tests.safety.hostile import Hostile, check

WARNINGS_YAML = """\
name: warned
extends: kursk-assault-dispersed
counter_drone: {warning_delay: 5, warning_radius: %s}
"""

CASES = [
    Hostile("warning-delay-negative",
            ["validate", "kursk-assault", "--set", "counter_drone.warning_delay=-5"],
            expect=("warning_delay",)),
    Hostile("warning-radius-not-a-number",
            ["validate", "kursk-assault", "--set", "counter_drone.warning_radius=far"],
            expect=("warning_radius",)),
    Hostile("warning-radius-infinite-in-file", ["validate", "precious/warned.yaml"],
            files={"precious/warned.yaml": WARNINGS_YAML % ".inf"},
            expect=("warning_radius",)),
    Hostile("warning-radius-negative-in-file", ["validate", "precious/warned.yaml"],
            files={"precious/warned.yaml": WARNINGS_YAML % "-300"},
            expect=("warned.yaml", "warning_radius")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_warning_parameters_fail_safely(case, tmp_path):
    check(case, tmp_path)
