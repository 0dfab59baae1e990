"""Bounded sizes: every input that asks for too much is refused with one line, before
anything is allocated (dronefront.limits)."""

from __future__ import annotations

import contextlib
import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dronefront import limits
from dronefront.errors import UserError
from tests.safety.hostile import Hostile, check

REPO = Path(__file__).resolve().parents[2]
LIMIT = "raise it with DRONEFRONT_LIMITS"


# --------------------------------------------------------------------------- files
def _bomb(levels: int = 9) -> str:
    """A 'billion laughs': each level is ten aliases of the one below (10^9 strings)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
              for i in range(1, levels + 1)]
    return "name: bomb\n" + "\n".join(lines) + "\n"


DEEP_LIST = "name: deep\nd: " + "[" * 20_000 + "]" * 20_000 + "\n"
DEEP_MAP = "name: deep\n" + "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 \
    + "v: 1\n"
MANY_ALIASES = "name: a\nx: &x 1\ny: [" + ", ".join(["*x"] * 10_001) + "]\n"
BIG = "name: big\n# " + "x" * 10_000_001 + "\n"


def _experiment(body: str) -> str:
    return "name: e\nkind: toy-ishigami\nmetrics: [y]\n" + body


FACTORS_2 = "factors: {x1: {range: [0, 1]}, x2: {range: [0, 1]}}\n"
FULL_10_9 = "factors:\n" + "".join(
    f"  x{i}: {{levels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}\n" for i in range(9)
) + "design: full_factorial\n"
NOLH_60 = "factors:\n" + "".join(f"  x{i}: {{range: [0, 1]}}\n" for i in range(60)) \
    + "design: nolh\n"


def _campaign(force: str = "{strength: 1000, battalions: 10, assault_size: 360}",
              start: str = "2024-12-05", end: str = "2025-01-01", extra: str = "") -> str:
    return (f"kind: campaign\nname: c\nengagement: kursk-assault\nstart: {start}\n"
            f"end: {end}\nforce: {force}\n{extra}")


TWO_BIG_UNITS = """\
name: two
sides:
  attacker:
    units:
      - {name: a, count: 6000000, start: [0, 0]}
      - {name: b, count: 6000000, start: [0, 0]}
"""
CALIBRATION = """\
name: cal
kind: toy-ishigami
parameters: {x1: {range: [0, 1]}}
observed: {file: obs.csv, series: [{model: y}]}
"""
STRENGTH_CSV = "day,a,b\n0,1000,800\n1,990,792\n2,981,784\n3,972,777\n"


def _scenario(*sets: str, command: str = "validate", name: str = "reference-open-field"
              ) -> list[str]:
    args = [command, name]
    for s in sets:
        args += ["--set", s]
    return args


# --------------------------------------------------------------------------- env cases
@contextlib.contextmanager
def _env(value: str) -> Iterator[None]:
    old = os.environ.get(limits.ENV)
    os.environ[limits.ENV] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[limits.ENV]
        else:
            os.environ[limits.ENV] = old


def _load_with(env: str, *overrides: str):
    def call(_sandbox: Path) -> None:
        from dronefront.scenario.loader import load_scenario

        with _env(env):
            load_scenario("reference-open-field", list(overrides))

    return call


def _with_env(env: str, call):
    """``call(sandbox)`` with the limits setting ``env``."""
    def wrapped(sandbox: Path) -> None:
        with _env(env):
            call(sandbox)

    return wrapped


def _run_raster(sandbox: Path) -> None:
    import dronefront

    dronefront.run(sandbox / "s.yaml", seed=1)


def _fit_strengths(sandbox: Path) -> None:
    from dronefront.lanchester.fitting import read_strength_csv

    read_strength_csv(sandbox / "strengths.csv")


RASTER_SCENARIO = ("extends: reference-open-field\n"
                   "overrides: {terrain.raster_file: r.csv, duration: 5}\n")


def _deep_with_raised_cap(sandbox: Path) -> None:
    from dronefront.scenario.loader import load_scenario

    with _env("yaml_depth=100000"):  # past what the recursive composer's stack holds
        load_scenario(sandbox / "deep.yaml")


CASES = [
    # ---- scenario sizes (validate and run)
    Hostile("soldiers-by-parameter", _scenario("parameters.N=1000000000"),
            expect=("sides.attacker.units.0.count", "1,000,000,000 soldiers",
                    "limit of 10,000,000", f"{LIMIT}=soldiers")),
    Hostile("soldiers-run", _scenario("parameters.N=1000000000", command="run"),
            expect=("sides.attacker.units.0.count", "soldiers=")),
    Hostile("soldiers-1e21", _scenario("sides.attacker.units.0.count=1.0e+21"),
            expect=("--set", "sides.attacker.units.0.count", "1e+21 soldiers")),
    Hostile("soldiers-inf", _scenario("sides.attacker.units.0.count=.inf"),
            expect=("sides.attacker.units.0.count", "finite")),
    Hostile("soldiers-nan", _scenario("sides.attacker.units.0.count=.nan"),
            expect=("sides.attacker.units.0.count", "finite")),
    Hostile("soldiers-negative", _scenario("sides.attacker.units.0.count=-5"),
            expect=("sides.attacker.units.0.count", "greater than or equal to 1")),
    Hostile("soldiers-in-all", ["validate", "two.yaml"], files={"two.yaml": TWO_BIG_UNITS},
            expect=("two.yaml", "sides:", "12,000,000 soldiers in all", "soldiers=")),
    Hostile("steps", _scenario("duration=1.0e+9", "dt=0.001"),
            expect=("duration", "steps", "limit of 1,000,000", "steps=")),
    Hostile("steps-run", _scenario("duration=1.0e+9", command="run"),
            expect=("duration", "1,000,000,000 steps")),
    Hostile("steps-overflow", _scenario("dt=1.0e-300"), expect=("duration", "steps=")),
    Hostile("drones", _scenario("sides.defender.teams.0.count=1000000000"),
            expect=("sides.defender.teams.0.count", "drones", "drones=")),
    Hostile("drones-run", _scenario("sides.defender.teams.0.count=1.0e+12", command="run"),
            expect=("sides.defender.teams.0.count", "drones=")),
    Hostile("memory-terrain", _scenario(
        "terrain.bounds=[-1000000, -1000000, 1000000, 1000000]", "terrain.cell_size=0.01"),
        expect=("terrain.cell_size", "GB of memory", "memory_gb=")),
    Hostile("memory-spread", _scenario("sides.attacker.units.0.layout.dx=1.0e+9",
                                       command="run"),
            expect=("sides.attacker.units", "GB of memory", "memory_gb=")),
    # ---- YAML
    Hostile("yaml-billion-laughs", ["validate", "bomb.yaml"], files={"bomb.yaml": _bomb()},
            expect=("bomb.yaml:", "nodes", "yaml_nodes=")),
    Hostile("yaml-deep-list", ["validate", "deep.yaml"], files={"deep.yaml": DEEP_LIST},
            expect=("deep.yaml:2:", "levels of nesting", "yaml_depth=")),
    Hostile("yaml-deep-mapping", ["validate", "deep.yaml"], files={"deep.yaml": DEEP_MAP},
            expect=("deep.yaml:", "nesting", "yaml_depth=")),
    Hostile("yaml-aliases", ["validate", "a.yaml"], files={"a.yaml": MANY_ALIASES},
            expect=("a.yaml:3:", "10,001 aliases", "yaml_aliases=")),
    Hostile("yaml-too-big", ["validate", "big.yaml"], files={"big.yaml": BIG},
            expect=("big.yaml", "bytes", "yaml_bytes=")),
    Hostile("yaml-bomb-experiment", ["experiment", "run", "e.yaml"],
            files={"e.yaml": _experiment(_bomb())}, expect=("e.yaml:", "yaml_nodes=")),
    Hostile("yaml-big-experiment", ["experiment", "status", "e.yaml"],
            files={"e.yaml": BIG}, expect=("e.yaml", "yaml_bytes=")),
    Hostile("yaml-depth-raised-past-the-stack", call=_deep_with_raised_cap,
            files={"deep.yaml": DEEP_LIST}, expect=("deep.yaml", "nested too deeply")),
    # ---- CSV inputs: checked by size before they are read
    Hostile("raster-over-input-bytes", call=_with_env("input_bytes=100", _run_raster),
            files={"s.yaml": RASTER_SCENARIO, "r.csv": "open\n" * 200},
            expect=("r.csv", "terrain.raster_file", "input_bytes=")),
    Hostile("strengths-over-input-bytes", call=_with_env("input_bytes=100", _fit_strengths),
            files={"strengths.csv": "day,a,b\n" + "1,100,100\n" * 50},
            expect=("strengths.csv", "bytes", "input_bytes=")),
    # ---- experiments: designs, replicates, runs
    Hostile("lhs-points", ["experiment", "run", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: latin_hypercube, points: 1000000000}\n")},
        expect=("e.yaml:5:", "design.points", "1,000,000,000 design points",
                "design_points=")),
    Hostile("lhs-points-1e21", ["experiment", "status", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: latin_hypercube, points: 1.0e+21}\n")},
        expect=("design.points", "1e+21 design points")),
    Hostile("full-factorial", ["experiment", "run", "e.yaml"],
            files={"e.yaml": _experiment(FULL_10_9)},
            expect=("factors", "1,000,000,000 design points")),
    Hostile("sobol-2-30", ["experiment", "run", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: sobol, samples: 1073741824}\n")},
        expect=("design.samples", "4,294,967,296 design points")),
    Hostile("nolh-points", ["experiment", "status", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: nolh, points: 2000000}\n")},
        expect=("design.points", "2,097,153 design points")),
    Hostile("nolh-factors", ["experiment", "run", "e.yaml"],
            files={"e.yaml": _experiment(NOLH_60)},
            expect=("factors", "2,147,483,649 design points")),
    Hostile("morris", ["experiment", "run", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: morris, trajectories: 1000000000}\n")},
        expect=("design.trajectories", "design_points=")),
    Hostile("replicates-status", ["experiment", "status", "e.yaml"],
            files={"e.yaml": _experiment("replicates: 1.0e+11\n")},
            expect=("e.yaml:4:", "replicates", "100,000,000,000 replicates", "replicates=")),
    Hostile("replicates-run", ["experiment", "run", "e.yaml"],
            files={"e.yaml": _experiment("replicates: 1000000\n")},
            expect=("replicates", "replicates=")),
    Hostile("replicates-inf", ["experiment", "status", "e.yaml"],
            files={"e.yaml": _experiment("replicates: .inf\n")},
            expect=("replicates", "finite")),
    Hostile("replicates-negative", ["experiment", "status", "e.yaml"],
            files={"e.yaml": _experiment("replicates: -3\n")},
            expect=("replicates", "greater than or equal to 1")),
    Hostile("runs", ["experiment", "run", "e.yaml"], files={"e.yaml": _experiment(
        FACTORS_2 + "design: {type: latin_hypercube, points: 1000}\nreplicates: 5000\n")},
        expect=("replicates", "5,000,000 runs (1,000 points x 5,000 replicates)", "runs=")),
    Hostile("calibration-replicates", ["calibrate", "c.yaml"],
            files={"c.yaml": CALIBRATION + "replicates: 1.0e+6\n"},
            expect=("c.yaml:", "replicates", "1,000,000 replicates", "replicates=")),
    Hostile("calibration-runs", ["calibrate", "c.yaml"],
            files={"c.yaml": CALIBRATION + "trials: 100000\nreplicates: 100\n"},
            expect=("trials", "10,000,000 runs (100,000 trials x 100 replicates)", "runs=")),
    # ---- campaigns
    Hostile("campaign-strength", ["validate", "c.yaml"], files={"c.yaml": _campaign(
        "{strength: 1000000000, battalions: 10, assault_size: 360}")},
        expect=("c.yaml:6:", "force.strength", "campaign_strength=")),
    Hostile("campaign-strength-run", ["campaign", "c.yaml"], files={"c.yaml": _campaign(
        "{strength: 1.0e+21, battalions: 10, assault_size: 360}")},
        expect=("force.strength", "1e+21 soldiers")),
    Hostile("campaign-reinforcements", ["campaign", "c.yaml"], files={"c.yaml": _campaign(
        extra="reinforcements:\n  - {date: 2024-12-10, count: 1000000000}\n")},
        expect=("reinforcements", "soldiers with reinforcements")),
    Hostile("campaign-days", ["validate", "c.yaml"], files={"c.yaml": _campaign(
        start="0001-01-01", end="9999-12-31")},
        expect=("c.yaml:5:", "end", "days (start to end)", "campaign_days=")),
    Hostile("campaign-battalions", ["campaign", "c.yaml"], files={"c.yaml": _campaign(
        "{strength: 100000, battalions: 1000000, assault_size: 360}")},
        expect=("force.battalions", "battalions=")),
    Hostile("campaign-assault-size", ["validate", "c.yaml"], files={"c.yaml": _campaign(
        "{strength: 1000, battalions: 10, assault_size: 1000000000}")},
        expect=("force.assault_size", "soldiers=")),
    Hostile("campaign-engagements", ["validate", "c.yaml"], files={"c.yaml": _campaign(
        "{strength: 1000, battalions: 10, assault_size: 360, assaults_per_day: 100000}")},
        expect=("force.assaults_per_day", "engagements=")),
    Hostile("campaign-template", ["validate", "kursk-campaign", "--set",
                                  "engagement_overrides.duration=1.0e+9"],
            expect=("duration", "steps=")),
    Hostile("campaign-days-option", ["campaign", "kursk-campaign", "--days", "1000000000000"],
            expect=("--days", "campaign_days=")),
    Hostile("campaign-days-negative", ["campaign", "kursk-campaign", "--days", "-1"],
            expect=("--days", "at least 1")),
    # ---- Lanchester
    Hostile("lanchester-days", ["lanchester", "solve", "--a0", "100", "--b0", "80",
                                "--alpha", "0.01", "--beta", "0.01", "--days", "1e12"],
            expect=("days", "1,000,000,000,000 days", "lanchester_days=")),
    Hostile("lanchester-days-inf", ["lanchester", "solve", "--a0", "100", "--b0", "80",
                                    "--alpha", "0.01", "--beta", "0.01", "--days", "inf"],
            expect=("days", "> 0")),
    Hostile("lanchester-days-nan", ["lanchester", "solve", "--a0", "100", "--b0", "80",
                                    "--alpha", "0.01", "--beta", "0.01", "--days", "nan"],
            expect=("days", "> 0")),
    Hostile("lanchester-boot", ["lanchester", "fit", "s.csv", "--boot", "1000000000000"],
            files={"s.csv": STRENGTH_CSV}, expect=("bootstrap replicates", "replicates=")),
    # ---- the setting itself
    Hostile("env-bad-value", call=_load_with("soldiers=lots"),
            expect=("DRONEFRONT_LIMITS", "soldiers must be a number > 0", "'lots'")),
    Hostile("env-unknown-name", call=_load_with("soldier=2e7"),
            expect=("DRONEFRONT_LIMITS", "unknown limit 'soldier'", "did you mean 'soldiers'")),
    Hostile("env-negative", call=_load_with("steps=-1"),
            expect=("DRONEFRONT_LIMITS", "steps must be a number > 0")),
    Hostile("env-inf", call=_load_with("memory_gb=inf"),
            expect=("DRONEFRONT_LIMITS", "memory_gb must be a number > 0")),
    Hostile("env-lowered", call=_load_with("soldiers=100", "parameters.N=101"),
            expect=("sides.attacker.units.0.count", "101 soldiers", "limit of 100")),
]


SLOW = {"yaml-depth-raised-past-the-stack"}  # composes 20,000 levels before refusing


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c.id in SLOW
                                  else c for c in CASES], ids=lambda c: c.id)
def test_hostile_limits(case: Hostile, tmp_path: Path) -> None:
    check(case, tmp_path)


# --------------------------------------------------------------------------- memory cap
def test_memory_cap_refuses_before_allocating(monkeypatch, tmp_path, capsys):
    """A scenario whose state would need far more than the memory cap is refused before
    the state builder runs, and while allocating almost nothing."""
    import dronefront.engine.sim as sim
    from dronefront.cli import main

    def never(*_args, **_kwargs):
        raise AssertionError("build_state reached")

    monkeypatch.setattr(sim, "build_state", never)
    monkeypatch.setenv(limits.ENV, "soldiers=1e12,drones=1e9")
    monkeypatch.chdir(tmp_path)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "reference-open-field", "--set", "parameters.N=500000000"])
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    err = capsys.readouterr().err
    print(f"memory cap refusal: {seconds:.3f} s, traced peak {peak / 1e6:.1f} MB")
    assert exit_.value.code == 2
    assert err.count("\n") == 1 and "GB of memory" in err and "memory_gb=" in err
    assert "sides.attacker.units.0.count" in err
    assert peak < 50e6  # the state of 5e8 soldiers would be over 100 GB
    assert not list(tmp_path.iterdir())


def test_memory_estimate_parts_follow_the_state(monkeypatch):
    """The estimate grows with the fields that size the state, and names them."""
    from dronefront.scenario.loader import load_scenario

    base = load_scenario("reference-open-field")
    parts = limits.scenario_memory(base)
    bigger = limits.scenario_memory(load_scenario(base, {"sides.attacker.units.0.count": 30000}))
    assert bigger["sides.attacker.units.0.count"] > 5 * parts["sides.attacker.units.0.count"]
    assert bigger["duration"] == parts["duration"]
    longer = limits.scenario_memory(load_scenario(base, {"duration": 9000}))
    assert longer["duration"] == pytest.approx(10 * parts["duration"])
    monkeypatch.setenv(limits.ENV, "memory_gb=0.001")
    with pytest.raises(UserError, match="memory_gb="):
        load_scenario(base, {"sides.attacker.units.0.count": 30000})


def test_memory_estimate_uses_the_engines_grid_cell():
    from dronefront.engine.spatial import GRID_CELL

    assert limits.GRID_CELL == GRID_CELL


# --------------------------------------------------------------------------- raising caps
def test_raising_a_cap_lets_a_just_over_case_validate(monkeypatch):
    from dronefront.scenario.loader import load_scenario

    over = ["sides.attacker.units.0.count=10000001"]
    with pytest.raises(UserError, match="limit of 10,000,000"):
        load_scenario("reference-open-field", over)
    monkeypatch.setenv(limits.ENV, " soldiers=2e7 , memory_gb=100 ")
    scenario = load_scenario("reference-open-field", over)
    assert scenario.sides.attacker.units[0].count == 10_000_001


def test_raising_the_yaml_depth_cap(monkeypatch):
    from dronefront.scenario.loader import parse_yaml

    text = "a: " + "[" * 150 + "]" * 150 + "\n"
    with pytest.raises(UserError, match="yaml_depth"):
        parse_yaml(text, "t.yaml")
    monkeypatch.setenv(limits.ENV, "yaml_depth=200")
    data, _ = parse_yaml(text, "t.yaml")
    depth, node = 0, data["a"]
    while node:
        node, depth = node[0], depth + 1
    assert depth == 149


def test_yaml_anchors_within_the_caps_still_expand():
    from dronefront.scenario.loader import parse_yaml

    data, _ = parse_yaml(_bomb(levels=4), "t.yaml")  # 10^4 strings: allowed
    assert len(data["a4"]) == 10 and len(data["a4"][0][0][0]) == 10


# --------------------------------------------------------------------------- shipped files
def test_every_builtin_and_example_validates_under_the_defaults(monkeypatch):
    from dronefront.campaign.runner import load_campaign
    from dronefront.experiments.calibration import load_calibration
    from dronefront.experiments.runner import load_experiment
    from dronefront.scenario.loader import builtin_names, load_raw, load_scenario

    monkeypatch.delenv(limits.ENV, raising=False)
    names = builtin_names()
    assert "kursk-campaign" in names and "reference-open-field" in names
    for name in names:
        if load_raw(name)[0].get("kind") == "campaign":
            assert load_campaign(name).days > 100
        else:
            assert load_scenario(name).steps > 0
    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert len(examples) >= 3
    for path in examples:
        if "observed" in path.read_text():
            assert load_calibration(path).spec.trials > 0
        else:
            assert load_experiment(path).total > 0
    # The engine's own benchmark size fits with room to spare.
    load_scenario("reference-open-field", ["parameters.N=300000"])


# --------------------------------------------------------------------------- design counts
@pytest.mark.parametrize("design", [
    {"type": "full_factorial"},
    {"type": "latin_hypercube", "points": 7},
    {"type": "nolh"},
    {"type": "nolh", "points": 20},
    {"type": "sobol", "samples": 8},
    {"type": "sobol", "samples": 8, "second_order": True},
    {"type": "morris", "trajectories": 3},
])
def test_design_count_matches_the_built_design(design):
    from dronefront.experiments.designs import build
    from dronefront.experiments.spec import Design, Factor

    factors = {"a": Factor(levels=[1, 2, 3]), "b": Factor(levels=[1, 2]),
               "c": Factor(levels=[0, 1, 2, 3])}
    spec = Design(**design)
    count, _ = spec.count(len(factors), [3, 2, 4])
    assert count == len(build(spec, factors))


# --------------------------------------------------------------------------- monotone
@pytest.fixture(scope="module")
def reference():
    from dronefront.scenario.loader import load_scenario

    return load_scenario("reference-open-field")


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2_000_000), extra=st.integers(1, 2_000_000),
       steps=st.integers(1, 500_000), more=st.integers(1, 500_000))
def test_memory_estimate_is_monotone(reference, n, extra, steps, more):
    from dronefront.scenario.loader import load_scenario

    def estimate(count: int, duration: int) -> float:
        scenario = load_scenario(reference, {"sides.attacker.units.0.count": count,
                                             "duration": duration})
        return sum(limits.scenario_memory(scenario).values())

    base = estimate(n, steps)
    assert estimate(n + extra, steps) > base
    assert estimate(n, steps + more) > base
