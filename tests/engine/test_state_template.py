"""State templates (engine/state.py, ``StateTemplate``): a state copied from a scenario's
template, stacked for an ensemble or refilled into an ensemble's row is, column by column,
the state ``build_state`` lays out from scratch; the shared terrain raster and the
template's own arrays are never changed by a run."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from dronefront.engine.ensemble import Ensemble
from dronefront.engine.sim import Sim
from dronefront.engine.state import (
    _TEMPLATES,
    LAYER_ARRAYS,
    LAYER_TABLES,
    TABLES,
    StateTemplate,
    _build_state,
    build_state,
    state_template,
)
from dronefront.engine.terrain import rasterize
from dronefront.errors import UserError
from dronefront.scenario.loader import builtin_names, load_scenario
from tests.engine.test_memos import _bits

#: kursk-assault with its assault company in a dispersed formation: slots drawn per seed
DISPERSED = ["sides.attacker.units.0.doctrine.formation=dispersed"]


def _engagements() -> list[str]:
    out = []
    for name in builtin_names():
        try:
            scenario = load_scenario(name)
        except UserError:
            continue  # a campaign
        if scenario.lessons is None:
            out.append(name)
    return out


def _columns(state) -> dict[str, object]:
    """Every column of every table, the layers and the per-run constants, by name."""
    out: dict[str, object] = {}
    for name in TABLES:
        table = getattr(state, name)
        for field, value in zip(table._fields, table, strict=True):
            out[f"{name}.{field}"] = value
    if state.layers is not None:
        for name in LAYER_TABLES:
            table = getattr(state.layers, name)
            for field, value in zip(table._fields, table, strict=True):
                out[f"layers.{name}.{field}"] = value
        for name in LAYER_ARRAYS:
            out[f"layers.{name}"] = getattr(state.layers, name)
        for name, value in state.layers.tallies.items():
            out[f"layers.tallies.{name}"] = value
        out["layers.contacts"] = state.layers.contacts
        out["layers.fire_calls"] = state.layers.fire_calls
    for name in ("posture_concealment", "posture_protection", "track_ttl", "contacts", "seen",
                 "warnings", "unit_names", "objective_names", "weapon_names", "step",
                 "next_sortie", "casualty_epoch", "track_epoch", "order_epoch", "shocks",
                 "drill_next", "dt"):
        out[name] = getattr(state, name)
    for side, grid in enumerate(state.grids):
        for field, value in zip(grid._fields, grid, strict=True):
            out[f"grids.{side}.{field}"] = value
    out["streams.seed"] = state.streams.seed
    out["terrain.grid"] = state.terrain.grid
    return out


def _assert_same_state(got, want) -> None:
    a, b = _columns(got), _columns(want)
    assert a.keys() == b.keys()
    for key, x in a.items():
        y = b[key]
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.dtype == y.dtype and x.shape == y.shape, key
            assert x.tobytes() == y.tobytes(), key
        else:
            assert x == y, key


@pytest.mark.parametrize("name", _engagements())
def test_template_states_equal_states_built_from_scratch(name):
    scenario = load_scenario(name, ["parameters.N=300"] if name == "reference-open-field"
                             else [])
    template = StateTemplate(scenario)
    for seed in (5, 1, 12):  # not in order
        _assert_same_state(template.build(seed), _build_state(scenario, seed, {}))


def test_dispersed_slots_are_drawn_per_seed_through_every_path():
    scenario = load_scenario("kursk-assault", DISPERSED)
    template = StateTemplate(scenario)
    assert template.scatter, "the dispersed platoons must be laid out per seed"
    screen = load_scenario("ew-screen")
    other = StateTemplate(screen)  # another scenario's template in between
    seeds = [9, 2, 40]
    scratch = [_build_state(scenario, seed, {}) for seed in seeds]
    # the seed moves the soldiers (else this test proves little)
    assert not np.array_equal(scratch[0].soldiers.x, scratch[1].soldiers.x)
    for seed, want in zip(seeds, scratch, strict=True):
        _assert_same_state(template.build(seed), want)
        _assert_same_state(other.build(seed), _build_state(screen, seed, {}))
    stacked = template.stack(seeds)
    for got, want in zip(stacked, scratch, strict=True):
        _assert_same_state(got, want)
    # a row refilled for another seed after a run over it
    ensemble = Ensemble(scenario, seeds, events=False)
    for _ in range(30):
        ensemble.step()
    fresh = ensemble.template.refill(ensemble.states[1], 77)
    _assert_same_state(fresh, _build_state(scenario, 77, {}))
    assert fresh.soldiers.x.base is ensemble.states[0].soldiers.x.base  # still a stacked row


def test_single_run_from_a_template_equals_one_from_scratch():
    scenario = load_scenario("kursk-assault", DISPERSED + ["duration=1200"])
    first = Sim(scenario, 6).run()  # first build of this object: from scratch
    assert state_template(scenario, first=False) is not None  # the second one is kept
    second = Sim(scenario, 6).run()
    assert first.summary == second.summary
    assert _bits(first.timeseries) == _bits(second.timeseries)
    assert _bits(first.events) == _bits(second.events)


def test_runs_change_neither_the_shared_raster_nor_the_template():
    scenario = load_scenario("kursk-assault", DISPERSED + ["duration=1200"])
    template = state_template(scenario)
    before = [a.copy() for a in template.arrays]
    raster = rasterize(scenario.terrain)
    results = [Sim(scenario, seed).run() for seed in (1, 2)]
    results += Ensemble(scenario, [3, 4]).run()
    for result in results:
        assert result.state.terrain is template.state.terrain  # shared, not copied
        assert result.state.soldiers.x.base is not template.state.soldiers.x
    shared = template.state.terrain
    for field in ("grid", "concealment", "cover", "movement"):
        assert getattr(shared, field).tobytes() == getattr(raster, field).tobytes(), field
    for a, b in zip(template.arrays, before, strict=True):
        assert a.tobytes() == b.tobytes()
    # and the runs did change their own copies (the comparison is not vacuous)
    assert any(r.summary["sides"]["attacker"]["casualties"] for r in results)


def test_templates_are_kept_per_scenario_object_while_it_lives():
    scenario = load_scenario("fpv-drill")
    assert state_template(scenario, first=False) is None  # seen once: built from scratch
    build_state(scenario, 1)
    kept = state_template(scenario, first=False)
    assert kept is not None and state_template(scenario) is kept
    assert build_state(scenario, 2).soldiers.x is not kept.state.soldiers.x
    # an equal scenario object has a template of its own
    assert state_template(load_scenario("fpv-drill")) is not kept
    key = id(scenario)
    del scenario, kept
    gc.collect()
    assert key not in _TEMPLATES  # dropped with its scenario: nothing kept it alive
