"""Malformed scenarios must fail as one-line UserErrors naming file, line and field.

Every case starts from ``BASE`` (a small valid scenario) or a built-in, breaks one thing and
checks the message: a ``UserError`` (nothing else), a single line, the file, the dotted field
path and, where the YAML has one, the right 1-based line.

Tests under "formerly bugs" pin bugs that fuzzing found (control characters, recursive
aliases, impossible dates, huge expressions...), so they stay fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dronefront.errors import UserError
from dronefront.scenario.loader import builtin_names, load_scenario
from dronefront.scenario.models import Scenario

BASE = """\
name: probe
description: a small valid scenario for error tests
parameters:
  N: 60
dt: 5
duration: 600
terrain:
  bounds: [-500, -500, 500, 500]
  features:
    - {terrain: forest, rect: [0, 0, 100, 100]}
objectives:
  - name: hill
    rect: [-50, 400, 50, 450]
drone_types:
  my_fpv:
    base: fpv_radio
    speed: 25
sides:
  attacker:
    units:
      - name: company
        count: "=N"
        start: [0, 0]
        waypoints: [[0, 400]]
        objective: hill
        doctrine:
          formation: line
          spacing: 5
  defender:
    teams:
      - drone: my_fpv
        count: 2
        position: [0, 600]
counter_drone:
  detect_prob: 0.5
"""


# --------------------------------------------------------------------------- helpers
def variant(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the base text"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of ``text`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def write(tmp_path: Path, text: str | bytes, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_error(source, overrides=None) -> UserError:
    """The UserError raised by loading ``source`` (any other outcome fails the test)."""
    with pytest.raises(UserError) as info:
        load_scenario(source, overrides)
    return info.value


def check(
    error: UserError,
    *,
    file: str | None = None,
    line: int | None = None,
    field: str | None = None,
    contains: tuple[str, ...] = (),
) -> str:
    """Assert the shape of a UserError message and return it."""
    text = str(error)
    assert text, "empty message"
    assert "\n" not in text and "\r" not in text, text
    assert len(text.splitlines()) == 1, text
    assert "Traceback" not in text
    if file is not None:
        assert error.file == file, text
        assert text.startswith(f"{file}:"), text
    if line is not None:
        assert error.line == line, text
        assert text.startswith(f"{file}:{line}: "), text
    if field is not None:
        assert error.field == field, text
        assert f"{field}: " in text, text
    for part in contains:
        assert part in text, f"{part!r} not in {text!r}"
    return text


def test_base_is_valid(tmp_path):
    scenario = load_scenario(write(tmp_path, BASE))
    assert isinstance(scenario, Scenario)
    assert scenario.sides.attacker.units[0].count == 60
    assert scenario.all_drone_types()["my_fpv"].speed == 25


# --------------------------------------------------------------------------- file cases
# (id, old, new, field, needle marking the expected line or None, substrings of the message)
FILE_CASES = [
    ("unknown-top-level", "dt: 5", "dtt: 5", "dtt", "dtt:", ("unknown field 'dtt'", "'dt'")),
    (
        "unknown-nested-doctrine", "spacing: 5", "spacng: 5",
        "sides.attacker.units.0.doctrine.spacng", "spacng:",
        ("unknown field 'spacng'", "did you mean 'spacing'"),
    ),
    (
        "unknown-nested-drone-type", "speed: 25", "speeed: 25",
        "drone_types.my_fpv.speeed", "speeed:", ("did you mean 'speed'",),
    ),
    (
        "unknown-nested-counter-drone", "detect_prob: 0.5", "detect_prb: 0.5",
        "counter_drone.detect_prb", "detect_prb:", ("did you mean 'detect_prob'",),
    ),
    (
        "wrong-type-int", "count: 2\n", "count: many\n",
        "sides.defender.teams.0.count", "count: many", ("integer", "'many'"),
    ),
    (
        "wrong-type-point", "start: [0, 0]", "start: north",
        "sides.attacker.units.0.start", "start: north", ("'north'",),
    ),
    (
        "wrong-type-bool", "duration: 600", "duration: 600\nnight: perhaps",
        "night", "night:", ("boolean", "'perhaps'"),
    ),
    (
        "wrong-type-enum", "formation: line", "formation: blob",
        "sides.attacker.units.0.doctrine.formation", "formation: blob", ("'blob'",),
    ),
    (
        "wrong-type-list", "waypoints: [[0, 400]]", "waypoints: 7",
        "sides.attacker.units.0.waypoints", "waypoints: 7", ("list",),
    ),
    (
        "negative-drone-speed", "speed: 25", "speed: -3",
        "drone_types.my_fpv.speed", "speed: -3", ("greater than 0", "-3"),
    ),
    (
        "negative-dt", "dt: 5", "dt: -1", "dt", "dt: -1", ("greater than 0",),
    ),
    (
        "probability-above-one", "detect_prob: 0.5", "detect_prob: 1.5",
        "counter_drone.detect_prob", "detect_prob: 1.5", ("less than or equal to 1", "1.5"),
    ),
    (
        "probability-below-zero", "speed: 25", "speed: 25\n    sensor_detect_prob: -0.2",
        "drone_types.my_fpv.sensor_detect_prob", "sensor_detect_prob:",
        ("greater than or equal to 0",),
    ),
    (
        "spacing-zero", "spacing: 5", "spacing: 0",
        "sides.attacker.units.0.doctrine.spacing", "spacing: 0", ("greater than 0",),
    ),
    (
        "spacing-negative", "spacing: 5", "spacing: -2.5",
        "sides.attacker.units.0.doctrine.spacing", "spacing: -2.5", ("greater than 0",),
    ),
    (
        "unknown-drone-type", "drone: my_fpv", "drone: my_fvp",
        "sides.defender.teams.0.drone", "drone: my_fvp",
        ("unknown drone type 'my_fvp'", "my_fpv"),
    ),
    (
        "unknown-objective", "objective: hill", "objective: hil",
        "sides.attacker.units.0.objective", "objective: hil",
        ("unknown objective 'hil'", "hill"),
    ),
    (
        "unknown-drone-base", "base: fpv_radio", "base: fpv_radi",
        "drone_types.my_fpv.base", "base: fpv_radi", ("unknown base 'fpv_radi'", "fpv_radio"),
    ),
    (
        "missing-required-start", "        start: [0, 0]\n", "",
        "sides.attacker.units.0.start", "- name: company", ("Field required",),
    ),
    (
        "missing-required-name", "name: probe\n", "", "name", None, ("Field required",),
    ),
    (
        "missing-required-team-drone", "      - drone: my_fpv\n        count: 2",
        "      - count: 2", "sides.defender.teams.0.drone", "- count: 2", ("Field required",),
    ),
    (
        "bad-expression-syntax", 'count: "=N"', 'count: "=N +"',
        "sides.attacker.units.0.count", 'count: "=N +"', ("bad expression 'N +'",),
    ),
    (
        "bad-expression-unknown-name", 'count: "=N"', 'count: "=M * 2"',
        "sides.attacker.units.0.count", 'count: "=M', ("unknown parameter 'M'", "N"),
    ),
    (
        "bad-expression-call", 'count: "=N"', 'count: "=__import__(1)"',
        "sides.attacker.units.0.count", "count:", ("bad expression",),
    ),
    (
        "bad-parameter-expression", "N: 60", 'N: "=1 / 0"',
        "parameters.N", "N:", ("bad expression", "division"),
    ),
    (
        "parameter-not-a-number", "N: 60", "N: sixty",
        "parameters.N", "N: sixty", ("must be a number",),
    ),
    (
        "duplicate-key", "dt: 5", "dt: 5\ndt: 6", "dt", "dt: 6", ("duplicate key",),
    ),
    (
        "ring-kill-plus-wound", "speed: 25",
        "speed: 25\n    lethality:\n      - {radius: 5, kill: 0.8, wound: 0.5}",
        "drone_types.my_fpv.lethality.0", "radius: 5", ("kill + wound",),
    ),
    (
        "terrain-bounds-inverted", "bounds: [-500, -500, 500, 500]",
        "bounds: [500, -500, -500, 500]", "terrain", "terrain:", ("x1 > x0",),
    ),
    (
        "unknown-terrain-class", "terrain: forest", "terrain: jungle",
        "terrain.features.0.terrain", "jungle", ("unknown terrain class 'jungle'", "forest"),
    ),
    (
        "missing-raster-file", "  bounds: [-500, -500, 500, 500]",
        "  bounds: [-500, -500, 500, 500]\n  raster_file: no-such-raster.csv",
        "terrain.raster_file", "raster_file:", ("raster file not found",),
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "contains"),
    [pytest.param(*case[1:], id=case[0]) for case in FILE_CASES],
)
def test_malformed_file(tmp_path, old, new, field, needle, contains):
    text = variant(old, new)
    path = write(tmp_path, text)
    line = line_of(text, needle) if needle else 1
    check(load_error(path), file=str(path), line=line, field=field, contains=contains)


def test_error_names_file_as_given(tmp_path, monkeypatch):
    """A relative path appears in the message as the user typed it."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, variant("dt: 5", "dt: -5"), "relative.yaml")
    check(load_error("relative.yaml"), file="relative.yaml", line=5, field="dt")


# --------------------------------------------------------------------------- YAML syntax
@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        pytest.param("speed: 25", "speed: 25: 3", "speed: 25: 3", id="mapping-value-in-scalar"),
        pytest.param("dt: 5", "dt: 5\n\tx: 1", "\tx: 1", id="tab-indent"),
        pytest.param("  my_fpv:", "  my_fpv:\n   - oops", "- oops", id="bad-indentation"),
    ],
)
def test_invalid_yaml_names_line(tmp_path, old, new, needle):
    text = variant(old, new)
    path = write(tmp_path, text)
    error = load_error(path)
    message = check(error, file=str(path), contains=("invalid YAML",))
    assert error.line is not None, message
    # The parser reports where it noticed the problem: the broken line or at most the next.
    assert line_of(text, needle) <= error.line <= line_of(text, needle) + 1, message


def test_invalid_yaml_unclosed_flow_sequence(tmp_path):
    text = variant("dt: 5", "dt: [5")
    path = write(tmp_path, text)
    error = load_error(path)
    check(error, file=str(path), contains=("invalid YAML",))
    assert error.line in (line_of(text, "dt: [5"), line_of(text, "dt: [5") + 1)


def test_invalid_yaml_value_tag(tmp_path):
    text = variant("name: probe", "name: !!python/object:os.system probe")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=1, contains=("invalid YAML",))


def test_non_scalar_mapping_key(tmp_path):
    text = variant("dt: 5", "? [a, b]\n: 1\ndt: 5")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=line_of(text, "? [a, b]"),
          contains=("plain scalars",))


# --------------------------------------------------------------------------- whole-file cases
@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("# only a comment\n", id="comment-only"),
        pytest.param("- name: probe\n- dt: 5\n", id="top-level-list"),
        pytest.param("just a string\n", id="top-level-scalar"),
    ],
)
def test_not_a_mapping(tmp_path, text):
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=1, contains=("must be a YAML mapping",))


def test_not_utf8(tmp_path):
    path = write(tmp_path, b"name: \xff\xfe probe\n")
    check(load_error(path), file=str(path), contains=("cannot read file",))


def test_missing_file(tmp_path):
    path = tmp_path / "does-not-exist.yaml"
    check(load_error(path), file=str(path), contains=("no such scenario file",))
    check(load_error(str(path)), file=str(path), contains=("no such scenario file",))


def test_directory_instead_of_file(tmp_path):
    check(load_error(tmp_path), file=str(tmp_path), contains=("no such scenario file",))


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("kursk-asault", "kursk-assault"), ("swarm-breech", "swarm-breach"),
     ("reference-openfield", "reference-open-field")],
)
def test_unknown_builtin_suggests_nearest(name, suggestion):
    message = check(load_error(name), contains=(f"unknown scenario {name!r}",))
    assert f"did you mean {suggestion!r}" in message
    for builtin in builtin_names():
        assert builtin in message


def test_unknown_builtin_without_close_match():
    message = check(load_error("zzzzqqq"), contains=("unknown scenario 'zzzzqqq'",))
    assert "did you mean" not in message


# --------------------------------------------------------------------------- extends
def test_unknown_extends_base(tmp_path):
    text = "name: child\nextends: no-such-base\n"
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=2, field="extends",
          contains=("unknown scenario 'no-such-base'",))


def test_extends_typo_suggests_builtin(tmp_path):
    path = write(tmp_path, "extends: kursk-asault\nname: child\n")
    check(load_error(path), file=str(path), line=1, field="extends",
          contains=("did you mean 'kursk-assault'",))


def test_extends_missing_file(tmp_path):
    path = write(tmp_path, "extends: parent.yaml\nname: child\n")
    check(load_error(path), file=str(path), line=1, field="extends",
          contains=("no such scenario file",))


def test_extends_not_a_string(tmp_path):
    path = write(tmp_path, "name: child\nextends: [kursk-assault]\n")
    check(load_error(path), file=str(path), line=2, field="extends")


def test_extends_cycle(tmp_path):
    write(tmp_path, "extends: b.yaml\nname: a\n", "a.yaml")
    path = write(tmp_path, "extends: a.yaml\nname: b\n", "b.yaml")
    check(load_error(path), file=str(path), line=1, field="extends", contains=("too deep",))


def test_extends_relative_to_file(tmp_path, monkeypatch):
    """A base named by a relative path is found next to the file; its errors name the child."""
    write(tmp_path, variant("dt: 5", "dt: 0"), "parent.yaml")
    monkeypatch.chdir("/")
    child = write(tmp_path, "extends: parent.yaml\nname: child\n", "child.yaml")
    message = check(load_error(child), file=str(child), field="dt")
    assert "greater than 0" in message


def test_extends_override_bad_index(tmp_path):
    text = "extends: kursk-assault\nname: child\noverrides:\n  sides.attacker.units.5.count: 3\n"
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=4,
          field="overrides.sides.attacker.units.5.count", contains=("out of range",))


def test_extends_override_bad_value(tmp_path):
    text = ("extends: kursk-assault\nname: child\noverrides:\n"
            "  sides.attacker.units.0.doctrine.spacing: -1\n")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=4,
          field="sides.attacker.units.0.doctrine.spacing", contains=("greater than 0",))


def test_extends_overrides_not_a_mapping(tmp_path):
    path = write(tmp_path, "extends: kursk-assault\nname: child\noverrides: [1, 2]\n")
    check(load_error(path), file=str(path), line=3, field="overrides")


def test_extends_ok(tmp_path):
    text = "extends: kursk-assault\nname: child\noverrides:\n  duration: 60\n"
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.name == "child" and scenario.duration == 60


# --------------------------------------------------------------------------- --set overrides
SET_CASES = [
    ("bad-index", "sides.attacker.units.7.count=3", "sides.attacker.units.7",
     ("index 7 out of range", "1 items")),
    ("negative-bad-index", "sides.attacker.units.-2.count=3", "sides.attacker.units.-2",
     ("out of range",)),
    ("non-numeric-index", "sides.attacker.units.x.count=3", "sides.attacker.units.x",
     ("list index expected", "'x'")),
    ("unknown-field", "sides.attacker.units.0.doctrine.spacng=3",
     "sides.attacker.units.0.doctrine.spacng", ("did you mean 'spacing'",)),
    ("unknown-top-level-field", "durration=60", "durration", ("did you mean 'duration'",)),
    ("out-of-range-spacing", "sides.attacker.units.0.doctrine.spacing=-3",
     "sides.attacker.units.0.doctrine.spacing", ("greater than 0", "-3")),
    ("out-of-range-probability", "counter_drone.detect_prob=2", "counter_drone.detect_prob",
     ("less than or equal to 1",)),
    ("out-of-range-count", "sides.attacker.units.0.count=0", "sides.attacker.units.0.count",
     ("greater than or equal to 1",)),
    ("wrong-type", "dt=fast", "dt", ("valid number", "'fast'")),
    ("unknown-drone-type", "sides.defender.teams.0.drone=nope", "sides.defender.teams.0.drone",
     ("unknown drone type 'nope'",)),
    ("field-inside-scalar", "dt.x=3", "dt.x", ("cannot set a field inside",)),
    ("bad-expression", "sides.attacker.units.0.count==N+", "sides.attacker.units.0.count",
     ("bad expression",)),
]


@pytest.mark.parametrize(
    ("assignment", "field", "contains"),
    [pytest.param(*case[1:], id=case[0]) for case in SET_CASES],
)
def test_bad_set_override(assignment, field, contains):
    error = load_error("kursk-assault", [assignment])
    message = check(error, field=field, contains=contains)
    assert error.file is not None and error.file.startswith("--set"), message
    assert message.startswith("--set"), message


def test_bad_set_override_on_parameters():
    error = load_error("reference-open-field", ["parameters.N=abc"])
    check(error, field="parameters.N", contains=("must be a number",))
    assert error.file == "--set"


def test_bad_set_override_as_mapping():
    error = load_error("kursk-assault", {"dt": -1})
    check(error, field="dt", contains=("greater than 0",))
    assert error.file == "--set"


def test_bad_set_override_on_file(tmp_path):
    path = write(tmp_path, BASE)
    error = load_error(path, ["sides.defender.teams.3.count=1"])
    check(error, field="sides.defender.teams.3", contains=("out of range",))


@pytest.mark.parametrize(
    ("assignment", "contains"),
    [("dt", "expected PATH=VALUE"), ("=3", "empty field path"), ("...=3", "empty field path")],
)
def test_malformed_set_assignment(assignment, contains):
    message = check(load_error("kursk-assault", [assignment]), contains=(contains,))
    assert message.startswith("--set"), message


def test_good_set_override_still_loads():
    scenario = load_scenario("kursk-assault", ["sides.attacker.units.0.doctrine.spacing=7"])
    assert scenario.sides.attacker.units[0].doctrine.spacing == 7


# --------------------------------------------------------------------------- formerly bugs
def test_unknown_terrain_class_names_feature(tmp_path):
    text = variant("terrain: forest", "terrain: jungle")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=line_of(text, "jungle"),
          field="terrain.features.0.terrain")


def test_unclosed_quote_names_its_line(tmp_path):
    text = variant("name: probe", "name: 'probe")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path), line=1, contains=("invalid YAML",))


@pytest.mark.parametrize("character", ["\x1f", "\x00", "\x07"])
def test_control_character(tmp_path, character):
    path = write(tmp_path, variant("name: probe", f"name: probe{character}"))
    check(load_error(path), file=str(path), line=1, contains=("invalid YAML",))


def test_recursive_yaml_alias(tmp_path):
    text = variant("description: a small", "loop: &a [*a]\ndescription: a small")
    path = write(tmp_path, text)
    check(load_error(path), file=str(path))


@pytest.mark.parametrize("base", ["[fpv_radio]", "{a: 1}"])
def test_unhashable_drone_base(tmp_path, base):
    path = write(tmp_path, variant("base: fpv_radio", f"base: {base}"))
    check(load_error(path), file=str(path), field="drone_types.my_fpv.base")


@pytest.mark.parametrize("expression", ["-" * 5000 + "1", "1+" * 5000 + "1"])
def test_deep_expression(tmp_path, expression):
    path = write(tmp_path, variant("dt: 5", f'dt: "={expression}"'))
    check(load_error(path), file=str(path), field="dt")


def test_impossible_timestamp_in_file(tmp_path):
    path = write(tmp_path, variant("dt: 5", "dt: 2020-13-45"))
    check(load_error(path), file=str(path), line=5)


def test_impossible_timestamp_in_set():
    check(load_error("kursk-assault", ["dt=2020-13-45"]), field="dt")


@pytest.mark.parametrize("index", ["--1", "²"])
def test_odd_list_index_in_set(index):
    check(load_error("kursk-assault", [f"sides.attacker.units.{index}.count=3"]),
          field=f"sides.attacker.units.{index}")


def test_recursive_set_value():
    load_error("kursk-assault", ["description=&a [*a]"])


@pytest.mark.parametrize("suffix", ["", ".yaml"])
def test_overlong_name(suffix):
    check(load_error("a" * 5000 + suffix))
