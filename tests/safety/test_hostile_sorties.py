"""Hostile values for the sortie-outcome parameters of a drone type (model.md §8.5): each is
one error line naming the field, exit 2, nothing written."""

from __future__ import annotations

import pytest

from tests.safety.hostile import Hostile, check


def _file(field: str, value: str) -> str:
    return (f"extends: kursk-assault\ndrone_types:\n  fpv_radio:\n    base: fpv_radio\n"
            f"    {field}: {value}\n")


def _set(field: str, value: str) -> list[str]:
    return ["validate", "kursk-assault", "--set", f"drone_types.fpv_radio.{field}={value}"]


CASES = [
    Hostile("skill-zero-in-file", ["validate", "s.yaml"],
            files={"s.yaml": _file("operator_skill", "0")},
            expect=("s.yaml:5", "operator_skill", "greater than 0")),
    Hostile("skill-negative", _set("operator_skill", "-2"),
            expect=("operator_skill", "greater than 0")),
    Hostile("skill-infinite", _set("operator_skill", "inf"),
            expect=("operator_skill", "finite")),
    Hostile("failure-above-one", _set("failure_prob", "1.5"),
            expect=("failure_prob", "less than or equal to 1")),
    Hostile("failure-negative-in-file", ["validate", "s.yaml"],
            files={"s.yaml": _file("failure_prob", "-0.1")},
            expect=("s.yaml:5", "failure_prob")),
    Hostile("miss-nan", _set("terminal_miss", "nan"), expect=("terminal_miss", "finite")),
    Hostile("miss-text", _set("terminal_miss", "often"), expect=("terminal_miss",)),
    Hostile("speed-sensitivity-negative", _set("miss_per_speed", "-1"),
            expect=("miss_per_speed", "greater than or equal to 0")),
    Hostile("jamming-sensitivity-nan", _set("miss_per_jamming", "nan"),
            expect=("miss_per_jamming", "finite")),
    Hostile("fire-sensitivity-negative-in-file", ["validate", "s.yaml"],
            files={"s.yaml": _file("miss_under_fire", "-0.5")},
            expect=("s.yaml:5", "miss_under_fire")),
    Hostile("run-with-bad-skill", ["run", "kursk-assault", "--out", "r", "--set",
                                   "drone_types.fpv_fibre.operator_skill=0"],
            expect=("operator_skill",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_sortie_parameters(case: Hostile, tmp_path):
    check(case, tmp_path)
