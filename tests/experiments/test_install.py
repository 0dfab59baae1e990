"""Installing posterior medians edits the campaign file in place (comments and layout kept)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from dronefront.experiments.install import BUILTIN, edit_values, provenance_comment

CAMPAIGN = BUILTIN / "kursk-campaign.yaml"

#: Every path the shipped calibration fits, with values unlike the file's.
FITTED = {
    "force.assault_size": 321,
    "start": "2024-12-05",
    "engagement_overrides.sides.defender.teams.2.count": 5,
    "learning.attacker.learner.rate": 0.7123456,
    "learning.attacker.skills.spotting.rate": 0.0456789,
    "learning.defender.rate": 0.05,
    "engagement_overrides.drone_types.fpv_radio.casualty_scale": 0.61,
    "engagement_overrides.drone_types.fpv_radio.killed_share_scale": 0.333333,
}


def _get(data: dict, path: str):
    parts = path.split(".")
    if parts[0] == "engagement_overrides":
        return data["engagement_overrides"][".".join(parts[1:])]
    for part in parts:
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def test_medians_edit_the_campaign_in_place() -> None:
    text = CAMPAIGN.read_text(encoding="utf-8")
    edited = edit_values(text, FITTED)
    before, after = yaml.safe_load(text), yaml.safe_load(edited)
    for path, value in FITTED.items():
        got = _get(after, path)
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=2e-3)  # 3 significant digits
        elif path == "start":
            assert got == dt.date(2024, 12, 5)  # still a plain date, not a quoted string
        else:
            assert got == value
    # Nothing else moved: put the old values back and the data are the old data.
    restored = yaml.safe_load(edit_values(edited, {p: _get(before, p) for p in FITTED}))
    assert restored == before
    # Every comment and every line that holds no fitted value is unchanged, in order.
    old_lines, new_lines = text.splitlines(), edited.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert len(changed) == len(FITTED)
    for i in changed:  # a changed line keeps its comment
        assert old_lines[i].partition("#")[2] == new_lines[i].partition("#")[2]


def test_a_missing_path_is_added_or_refused() -> None:
    text = "name: x\nengagement_overrides:\n  a: 1  # one\nforce: {size: 2}\n"
    out = edit_values(text, {"engagement_overrides.b.c": 0.5, "force.gap": 3})
    assert out == ("name: x\nengagement_overrides:\n  a: 1  # one\n"
                   "  b.c: 0.5  # posterior median\nforce: {size: 2, gap: 3}\n")
    with pytest.raises(ValueError, match="no 'learning'"):
        edit_values(text, {"learning.rate": 0.1})
    with pytest.raises(ValueError, match="not a single value"):
        edit_values(text, {"force": 1})


def test_provenance_replaces_only_the_leading_comment(tmp_path: Path) -> None:
    text = CAMPAIGN.read_text(encoding="utf-8")
    out = provenance_comment(text, ["Calibrated today.", "Second line."])
    assert out.startswith("# Calibrated today.\n# Second line.\nkind: campaign\n")
    body = text[text.index("kind: campaign"):]
    assert out.endswith(body)
