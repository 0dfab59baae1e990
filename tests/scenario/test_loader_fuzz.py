"""Fuzz the scenario loader: whatever the input, it returns a Scenario or raises UserError.

Three generators: random mutations of a valid scenario mapping (dropped keys, values replaced
by random types, strings, expressions and negative numbers, unknown keys), random edits of a
valid scenario's YAML text plus random YAML-ish text, and random ``--set`` assignments.

Any other exception fails the test.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dronefront.errors import UserError
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import Scenario

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # ast.parse of junk =expr

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)

BASE: dict[str, Any] = {
    "name": "fuzz",
    "description": "fuzz base",
    "parameters": {"N": 60, "D": "=max(1, N // 30)"},
    "dt": 5,
    "duration": 300,
    "terrain": {
        "bounds": [-500, -500, 500, 500],
        "cell_size": 10,
        "features": [{"terrain": "forest", "rect": [0, 0, 100, 100]}],
        "classes": {"swamp": {"concealment": 0.2, "cover": 0.1, "movement": 0.3}},
    },
    "objectives": [{"name": "hill", "rect": [-50, 400, 50, 450]}],
    "drone_types": {"my_fpv": {"base": "fpv_radio", "speed": 25}},
    "sides": {
        "attacker": {
            "units": [{
                "name": "company",
                "count": "=N",
                "start": [0, 0],
                "waypoints": [[0, 400]],
                "objective": "hill",
                "doctrine": {"formation": "line", "spacing": 5, "drill": ["freeze"]},
                "skills": {"spotting": 0.5, "marksmanship": 0.01},
                "direct_fire": {"rate": 2, "kill_prob": 0.01},
            }],
            "jammers": [{"name": "j", "position": [0, -100], "radius": 500}],
        },
        "defender": {
            "teams": [{"drone": "my_fpv", "count": "=D", "position": [0, 600]}],
            "batteries": [{"name": "b", "position": [0, 5000]}],
        },
    },
    "counter_drone": {"detect_prob": 0.5},
    "posture_protection": {"moving": 0, "halted": 0.1, "concealed": 0.3, "dug_in": 0.6},
}

def assert_loads_or_user_error(source: Any, overrides: list[str] | None = None) -> None:
    try:
        result = load_scenario(source, overrides)
    except UserError as exc:
        message = str(exc)
        assert message.strip(), "empty UserError message"
        assert len(message.splitlines()) == 1, repr(message)
        assert "Traceback" not in message
    else:
        assert isinstance(result, Scenario)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="dronefront-fuzz-") as name:
        yield Path(name)


def test_base_is_valid(workdir):
    path = workdir / "base.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
    assert isinstance(load_scenario(path), Scenario)


# --------------------------------------------------------------------------- strategies
FIELD_NAMES = [
    "name", "dt", "duration", "night", "terrain", "objectives", "drone_types", "sides",
    "attacker", "defender", "units", "teams", "count", "speed", "spacing", "doctrine",
    "base", "drone", "objective", "rect", "polygon", "lethality", "radius", "kill",
    "parameters", "extends", "overrides", "raster_file", "0", "-1", "",
]


@st.composite
def expressions(draw, depth: int = 0) -> str:
    """Small arithmetic expressions over known and unknown names (no huge powers)."""
    atoms = st.one_of(
        st.integers(-100, 100).map(str),
        st.floats(-1e3, 1e3, allow_nan=False).map(repr),
        st.sampled_from(["N", "D", "X", "inf", "nan"]),
    )
    if depth >= 2 or draw(st.booleans()):
        return draw(atoms)
    kind = draw(st.sampled_from(["bin", "pow", "call", "neg", "junk"]))
    a = draw(expressions(depth + 1))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
        return f"({a} {op} {draw(expressions(depth + 1))})"
    if kind == "pow":
        return f"({a}) ** {draw(st.integers(-3, 3))}"
    if kind == "call":
        func = draw(st.sampled_from(["min", "max", "abs", "round", "int", "float", "ceil",
                                     "floor", "sqrt", "open", "len"]))
        args = draw(st.lists(expressions(depth + 1), max_size=3))
        return f"{func}({', '.join(args)})"
    if kind == "neg":
        return f"-{a}"
    return a + draw(st.sampled_from(["(", ")", ",", "if", "[0]", ".real", " lambda", "'a'"]))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e4, -1e-3),
    st.text(max_size=12),
    st.sampled_from(FIELD_NAMES + ["fpv_radio", "isr_quad", "hill", "open", "line"]),
    expressions().map(lambda e: "=" + e),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), children,
                        max_size=4),
    ),
    max_leaves=8,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (not the root itself)."""
    out: list[tuple] = []
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, child in items:
        out.append((*prefix, key))
        out.extend(paths(child, (*prefix, key)))
    return out


def containers(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Paths to every mapping inside ``node``, the root included."""
    out = [prefix] if isinstance(node, dict) else []
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, child in items:
        out.extend(containers(child, (*prefix, key)))
    return out


def get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


@st.composite
def mutated_scenarios(draw) -> dict:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "replace", "replace", "insert"]))
        if op == "insert":
            where = draw(st.sampled_from(containers(data)))
            key = draw(st.sampled_from(FIELD_NAMES) | st.text(min_size=1, max_size=8))
            get(data, where)[key] = draw(values)
            continue
        candidates = paths(data)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent = get(data, path[:-1])
        if op == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return data


# --------------------------------------------------------------------------- tests
@FUZZ
@given(data=mutated_scenarios())
def test_mutated_scenario(workdir, data):
    path = workdir / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert_loads_or_user_error(path)


BASE_TEXT = yaml.safe_dump(BASE, sort_keys=False)
YAMLISH = st.text(
    alphabet=st.sampled_from([*" \n\t:-[]{},#&*!|>'\"%@`?=.0123456789abcdeNxyz_\\", "\u00e9"]),
    max_size=80,
)


@st.composite
def edited_texts(draw) -> str:
    text = BASE_TEXT
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 20)))
        text = text[:start] + draw(YAMLISH) + text[end:]
    return text


@FUZZ
@given(text=st.one_of(edited_texts(), YAMLISH, st.text(max_size=60)))
def test_random_yaml_text(workdir, text):
    path = workdir / "text.yaml"
    path.write_text(text, encoding="utf-8")
    assert_loads_or_user_error(path)


SET_PATHS = [".".join(map(str, p)) for p in paths(BASE)]


@st.composite
def assignments(draw) -> str:
    path = draw(st.sampled_from(SET_PATHS) | st.text(max_size=15)
                | st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=5).map(".".join))
    value = draw(st.one_of(
        YAMLISH, values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
    ))
    separator = draw(st.sampled_from(["=", "=", "=", "", "=="]))
    return f"{path}{separator}{value}"


@FUZZ
@given(overrides=st.lists(assignments(), min_size=1, max_size=3))
def test_random_set_overrides(workdir, overrides):
    path = workdir / "set-base.yaml"
    if not path.exists():
        path.write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
    assert_loads_or_user_error(path, overrides)
