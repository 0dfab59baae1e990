"""Ensembles (docs/engine.md, "Ensembles"): replicate ``r`` of an ensemble is bit-identical
to the single run with its seed (summary, series, events), its tables are views of stacked
arrays, and a column whose shape differs between replicates stays per replicate."""

from __future__ import annotations

import numpy as np
import pytest

import dronefront
from dronefront.engine.ensemble import TABLES, Ensemble, stack_states, stacked
from dronefront.engine.sim import Sim
from dronefront.engine.state import build_state
from dronefront.errors import UserError
from dronefront.scenario.loader import builtin_names, load_scenario
from dronefront.scenario.models import Scenario
from tests.engine.test_memos import _bits

# Built-ins shrunk where a full run is long; the mechanics they exercise stay.
SHRINK = {"reference-open-field": ["parameters.N=300", "duration=300"],
          "lanchester-aimed-fire": ["duration=120"]}


def _engagements() -> list[str]:
    """Every built-in that loads as one engagement (campaigns do not)."""
    out = []
    for name in builtin_names():
        try:
            load_scenario(name)
        except UserError:
            continue
        out.append(name)
    return out


def _same(ensemble_results, scenario: Scenario, seeds, events: bool = True) -> None:
    for seed, got in zip(seeds, ensemble_results, strict=True):
        want = Sim(scenario, seed, events=events).run()
        assert got.summary == want.summary, seed
        assert _bits(got.timeseries) == _bits(want.timeseries), seed
        assert _bits(got.events) == _bits(want.events), seed


def test_small_ensemble_equals_single_runs_to_the_bit():
    scenario = load_scenario("kursk-assault")
    seeds = [3, 1, 4, 15]  # any order, not only 1..R
    ensemble = Ensemble(scenario, seeds)
    assert ensemble.apart == []
    assert "record" in ensemble.batched
    results = ensemble.run()
    _same(results, scenario, seeds)
    # the replicates differ from each other (else the comparison proves little)
    assert len({r.summary["sides"]["attacker"]["killed"] for r in results}) > 1


def test_run_ensemble_is_exported_and_keeps_events_off():
    scenario = load_scenario("reference-open-field", ["parameters.N=120", "duration=200"])
    results = dronefront.run_ensemble(scenario, [7, 8], events=False)
    assert [r.summary["seed"] for r in results] == [7, 8]
    assert all(r.events.num_rows == 0 for r in results)
    _same(results, scenario, [7, 8], events=False)
    # one replicate: no batched calls, the same result
    single = dronefront.Ensemble(scenario, [9], events=False)
    assert single.batched == []
    _same(single.run(), scenario, [9], events=False)


def test_decoy_dummies_and_batched_flight_equal_single_runs():
    # the flight stage's per-replicate part skips replicates with nothing in the air, and
    # dummies are looked for only while drones fly: both paths must agree
    unit = "sides.attacker.units.0."
    scenario = load_scenario("fpv-drill", [f"{unit}doctrine.drill=[decoy,engage]",
                                           f"{unit}doctrine.decoy_kind=dummy"])
    ensemble = Ensemble(scenario, [1, 2, 3])
    assert {"movement", "jamming", "flight"} <= set(ensemble.batched)
    results = ensemble.run()
    _same(results, scenario, [1, 2, 3])
    assert sum((r.events.to_pandas()["kind"] == "decoy").sum() for r in results) > 0


def test_tables_are_views_of_stacked_arrays():
    scenario = load_scenario("layered-defence")
    states = [build_state(scenario, seed) for seed in (1, 2, 3)]
    assert stack_states(states) == []
    for name in TABLES:
        for column in getattr(states[0], name)._fields:
            values = [getattr(getattr(s, name), column) for s in states]
            if isinstance(values[0], np.ndarray):
                block = stacked(values)
                assert block is not None and block.shape == (3, *values[0].shape), column
    layers = [s.layers for s in states]
    assert stacked([x.interceptors.x for x in layers]) is not None
    assert stacked([x.tallies["intercepts"] for x in layers]) is not None
    # a write through replicate 1's view lands in the stacked array, and only in row 1
    block = stacked([s.soldiers.x for s in states])
    states[1].soldiers.x[0] = -1.0
    assert block[1, 0] == -1.0 and block[0, 0] != -1.0 and block[2, 0] != -1.0


def test_columns_that_differ_in_shape_stay_per_replicate():
    states = [build_state(load_scenario("reference-open-field", [f"parameters.N={n}"]), 1)
              for n in (60, 80)]
    apart = stack_states(states)
    assert "soldiers.x" in apart and "care.wounded_step" in apart
    assert "drones.x" not in apart  # the same drone teams in both
    assert stacked([s.soldiers.x for s in states]) is None
    assert stacked([s.drones.x for s in states]) is not None


def test_an_ensemble_needs_a_scenario_and_seeds():
    with pytest.raises(UserError, match="seeds"):
        Ensemble(load_scenario("fpv-drill"), [])
    with pytest.raises(UserError, match="Scenario"):
        Ensemble("fpv-drill", [1])  # type: ignore[arg-type]


@pytest.mark.slow
def test_64_replicates_of_kursk_assault_equal_64_single_runs():
    scenario = load_scenario("kursk-assault")
    seeds = list(range(1, 65))
    _same(dronefront.run_ensemble(scenario, seeds), scenario, seeds)


@pytest.mark.slow
@pytest.mark.parametrize("name", _engagements())
def test_every_builtin_engagement_ensemble_equals_single_runs(name):
    scenario = load_scenario(name, SHRINK.get(name, []))
    seeds = [1, 2, 3]
    ensemble = Ensemble(scenario, seeds)
    assert ensemble.apart == []
    _same(ensemble.run(), scenario, seeds)


def _step_sim_to(sim: Sim, step: int) -> None:
    while sim.state.step < step:
        sim.step()


@pytest.mark.parametrize("name", ["kursk-assault", "fpv-drill"])
def test_reset_replicate_runs_on_as_a_fresh_single_run(name):
    """``Ensemble.reset(r, seed)`` mid-run: replicate ``r`` runs on bit-identical to
    ``Sim(scenario, seed)`` from step 0 while the others, on other steps now, are
    untouched; a second reset of another replicate later leaves three phases at once."""
    scenario = load_scenario(name, ["duration=600"] if name == "kursk-assault" else [])
    seeds = [2, 5, 9]
    ensemble = Ensemble(scenario, seeds)
    batched = set(ensemble.batched)
    assert {"movement", "flight", "record"} <= batched
    assert "direct_fire" in batched or name == "fpv-drill"  # fpv-drill has no rifle fire
    for _ in range(37):
        ensemble.step()
    ensemble.reset(1, 42)
    assert ensemble.states.steps.tolist() == [37, 0, 37]
    assert ensemble.states[1].step == 0
    for _ in range(15):
        ensemble.step()
    ensemble.reset(2, 7)
    assert set(ensemble.batched) == batched  # every call rebound, none dropped
    results = ensemble.run()  # each replicate to its own last step
    assert ensemble.states.steps.tolist() == [scenario.steps] * 3
    _same(results, scenario, [2, 42, 7])
    # a replicate's stacked rows really are the arrays its state reads
    assert stacked([s.soldiers.x for s in ensemble.states]) is not None


def test_reset_matches_a_single_run_step_by_step():
    """Between resets and at every step, the reset replicate's columns equal a single
    run's with the new seed, and the untouched replicate's equal its own single run."""
    scenario = load_scenario("kursk-assault", ["duration=400"])
    ensemble = Ensemble(scenario, [1, 2], events=False)
    keep = Sim(scenario, 1, events=False)
    for _ in range(20):
        ensemble.step()
        keep.step()
    ensemble.reset(1, 3)
    fresh = Sim(scenario, 3, events=False)
    for _ in range(60):
        ensemble.step()
        keep.step()
        fresh.step()
        for got, want in ((ensemble.states[0], keep.state), (ensemble.states[1], fresh.state)):
            assert got.step == want.step
            for table in ("soldiers", "drones", "platoons"):
                for col, a in getattr(got, table)._asdict().items():
                    if isinstance(a, np.ndarray):
                        b = getattr(getattr(want, table), col)
                        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), col


def test_reset_checks_its_replicate():
    ensemble = Ensemble(load_scenario("fpv-drill"), [1, 2], events=False)
    with pytest.raises(UserError, match="replicate 2"):
        ensemble.reset(2, 1)
