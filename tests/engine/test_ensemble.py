"""Ensembles (docs/engine.md, "Ensembles"): replicate ``r`` of an ensemble is bit-identical
to the single run with its seed (summary, series, events), its tables are views of stacked
arrays, and a column whose shape differs between replicates stays per replicate."""

from __future__ import annotations

import numpy as np
import pytest

import dronefront
from dronefront.engine.ensemble import TABLES, Ensemble, stack_states, stacked
from dronefront.engine.sim import Sim, build_stages
from dronefront.engine.stages import artillery as artillery_module
from dronefront.engine.stages import care as care_module
from dronefront.engine.stages import flight_kernels as fk
from dronefront.engine.stages import morale as morale_module
from dronefront.engine.stages.drones import Launch
from dronefront.engine.stages.layers import CounterDroneLayers
from dronefront.engine.state import FAILED, build_state
from dronefront.errors import UserError
from dronefront.scenario.loader import builtin_names, load_scenario
from dronefront.scenario.models import Scenario
from tests.engine.test_memos import _bits

#: the stages with memos whose batched calls mirror them (docs/engine.md, "Ensembles")
MEMO_STAGES = {"care", "artillery", "launch", "morale"}

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
    stages = {stage.name: stage for stage in ensemble.sims[0].stages}
    assert {"counterdrone", "launch"} <= set(ensemble.batched)
    # sensing is batched wherever some sensor may look (else the stage does nothing)
    assert ("sensing" in ensemble.batched) == (stages["sensing"].sensors.ids.size > 0)
    assert set(stages) & MEMO_STAGES <= set(ensemble.batched)
    _same(ensemble.run(), scenario, seeds)


def test_batched_sensing_and_counterdrone_use_each_replicates_own_unit_state():
    # replicate 1's soldiers hide and spot differently from replicate 0's: a batched call
    # that used replicate 0's values for all would give replicate 1 replicate 0's rules
    scenario = load_scenario("kursk-assault", ["duration=900"])
    seeds = [1, 1, 2]

    def alter(state):
        state.platoons.discipline[:] = 0.9
        state.soldiers.spotting[:] *= 3.0

    ensemble = Ensemble(scenario, seeds)
    assert {"sensing", "counterdrone"} <= set(ensemble.batched)
    alter(ensemble.states[1])
    results = ensemble.run()
    for r, seed in enumerate(seeds):
        sim = Sim(scenario, seed)
        if r == 1:
            alter(sim.state)
        want = sim.run()
        assert results[r].summary == want.summary, r
        assert _bits(results[r].events) == _bits(want.events), r
    kinds = [r.events.to_pandas()["kind"] for r in results]
    # the same seed with other unit state gives other sightings and contacts
    assert (kinds[0] == "detection").sum() != (kinds[1] == "detection").sum()
    assert (kinds[0] == "spotted").sum() < (kinds[1] == "spotted").sum()


@pytest.mark.parametrize("way", ["in place", "packed", "apart"])
def test_grid_consumers_agree_whether_grids_are_packed_or_not(monkeypatch, way):
    # sensing and counterdrone read every replicate's grids in one kernel call, straight
    # from movement's GridStore ("in place") or gathered and copied ("packed": movement's
    # offer withheld), or (gathered grids too large: limit 0 here) call the single-run
    # kernel per replicate ("apart"): every path equals single runs, interceptors and
    # their contacts included. Read in place, no size limit applies (limit 0 there too)
    # and no replicate's own stage is called.
    from dronefront.engine import batch
    from dronefront.engine.stages import movement

    if way != "in place":
        def withheld(store):  # the grids stay lent to the store, but it is not offered
            batch._PACKED.offered = None

        monkeypatch.setattr(movement, "offer_grids", withheld)
    monkeypatch.setattr(batch, "PACK_LIMIT", 10**9 if way == "packed" else 0)
    layouts: list[int | None] = []
    original = batch.packed_grids

    def watched(states):
        got = original(states)
        layouts.append(None if got is None else len(got))
        return got

    from dronefront.engine.stages import counterdrone, sensing
    monkeypatch.setattr(sensing, "packed_grids", watched)
    monkeypatch.setattr(counterdrone, "packed_grids", watched)
    own = [0]
    for cls in (sensing.Sensing, counterdrone.CounterDrone):
        def counted(self, state, log, original=cls.__call__):
            own[0] += 1
            return original(self, state, log)

        monkeypatch.setattr(cls, "__call__", counted)
    scenario = load_scenario("fortified-line-breach", ["duration=900"])
    seeds = [2, 3]
    ensemble = Ensemble(scenario, seeds)
    assert {"sensing", "counterdrone", "movement"} <= set(ensemble.batched)
    results = ensemble.run()
    assert set(layouts) == {{"in place": 6, "packed": 4, "apart": None}[way]}
    assert (own[0] == 0) == (way != "apart")
    _same(results, scenario, seeds)
    kinds = [set(r.events.to_pandas()["kind"]) for r in results]
    assert all({"detection", "spotted", "shot"} <= k for k in kinds)


def test_grids_read_in_place_from_movements_store_equal_grids_packed_one_by_one():
    # movement offers its GridStore (batch.offer_grids): the layout read in place from the
    # store's buffers must give every replicate the very grids gathered grid by grid, every
    # step, and must be the one the grid consumers get
    from dronefront.engine import batch
    from dronefront.engine.spatial import grid_columns

    scenario = load_scenario("kursk-assault", ["duration=900"])
    ensemble = Ensemble(scenario, [1, 2, 3], events=False)
    store = ensemble.calls[ensemble.names.index("movement")].store
    for _ in range(ensemble.steps):
        ensemble.step()
        fast = batch.packed_grids(ensemble.states)  # sensing's, memoised
        assert len(fast) == 6 and fast[0] is store.frames and fast[2] is store.start[0]
        batch._PACKED.grids, batch._PACKED.offered = (), None
        slow = batch.packed_grids(ensemble.states)  # gathered from each state's grids
        assert len(slow) == 4
        for r, state in enumerate(ensemble.states):
            want = grid_columns(state.grids)
            for got in (batch.grid_rows(fast, r), batch.grid_rows(slow, r)):
                for g, w in zip(got, want, strict=True):
                    assert g[:5] == w[:5] and [type(v) for v in g[:5]] == \
                        [type(v) for v in w[:5]]
                    assert np.array_equal(g[5], w[5]) and np.array_equal(g[6], w[6])


def test_large_grids_stay_batched_when_read_in_place(monkeypatch):
    # reference-open-field at N = 3,000: the attacker's grid holds about 4,500 cells, above
    # batch.PACK_LIMIT; read in place from movement's store, counter-drone stays batched
    # (no replicate's own stage is called) and the ensemble equals single runs (it fields
    # no sensors: sensing's in-place path is checked on fortified-line-breach above)
    from dronefront.engine import batch
    from dronefront.engine.stages.counterdrone import CounterDrone

    scenario = load_scenario("reference-open-field", ["duration=120"])
    seeds = [3, 4]
    calls = [0]

    def counted(self, state, log, original=CounterDrone.__call__):
        calls[0] += 1
        return original(self, state, log)

    monkeypatch.setattr(CounterDrone, "__call__", counted)
    ensemble = Ensemble(scenario, seeds)
    assert {"counterdrone", "movement"} <= set(ensemble.batched)
    ensemble.step()
    grids = ensemble.states[0].grids
    assert grids[0].start.shape[0] + grids[1].start.shape[0] > batch.PACK_LIMIT
    results = ensemble.run()
    assert calls[0] == 0
    _same(results, scenario, seeds)
    assert results[0].summary != results[1].summary


def test_batched_calls_rebind_a_rebuilt_replicate():
    # what Ensemble.reset relies on: after replicate 1's stages are rebuilt, the batched
    # calls' ``reset`` hooks make the kernels read and write the new stages' memos
    from dronefront.engine.stages.counterdrone import CounterDrone
    from dronefront.engine.stages.drones import Launch
    from dronefront.engine.stages.sensing import Sensing

    scenario = load_scenario("kursk-assault", ["duration=600"])
    seeds = [4, 5]
    ensemble = Ensemble(scenario, seeds)
    state = ensemble.states[1]
    for k, stage in enumerate(ensemble.sims[1].stages):
        if isinstance(stage, Sensing | CounterDrone | Launch):
            fresh = (Launch(state, stage.targeter) if isinstance(stage, Launch)
                     else type(stage)(state))
            ensemble.sims[1].stages[k] = fresh
            ensemble.calls[k].reset(1, fresh, state)
            memo = {Sensing: "mark", Launch: "idle"}.get(type(stage))
            if memo is not None:  # the kernel writes the new stage's memo
                assert getattr(fresh, memo) is not getattr(stage, memo)
                assert stacked([getattr(ensemble.sims[0].stages[k], memo),
                                getattr(fresh, memo)]) is not None
    _same(ensemble.run(), scenario, seeds)


def test_layers_and_lessons_ensemble_batches_the_memo_stages(monkeypatch):
    # interceptors, RF detectors and a lessons file (veterans)
    scenario = load_scenario("fortified-line-breach")
    seeds = [1, 2]
    ensemble = Ensemble(scenario, seeds)
    assert MEMO_STAGES | {"layers"} <= set(ensemble.batched)
    woken = [0]
    with monkeypatch.context() as patch:
        _counted(patch, CounterDroneLayers, "__call__", woken)
        results = ensemble.run()
    # the layers' gate skipped steps (jammers already called for fire, nothing flying)
    assert 0 < woken[0] < 0.9 * ensemble.steps * len(seeds)
    _same(results, scenario, seeds)
    kinds = np.concatenate([r.events.column("kind").to_numpy(zero_copy_only=False)
                            for r in results]).astype(str)
    # the layers acted: emitters found, sites shelled, drones intercepted
    assert {"rf_detection", "site_destroyed", "intercept"} <= set(kinds.tolist())


def _counted(monkeypatch, owner, name: str, calls: list[int], many=None) -> None:
    """Count in ``calls[0]`` the calls of ``owner.name`` from now on (``many(args, out)``
    at a call, else 1)."""
    original = getattr(owner, name)

    def counted(*args):
        out = original(*args)
        calls[0] += 1 if many is None else many(args, out)
        return out

    monkeypatch.setattr(owner, name, counted)


def test_batched_memo_gates_do_exactly_the_work_single_runs_do(monkeypatch):
    # The mirrored memos must wake a replicate exactly when its own stage would: the
    # ensemble does each memo kernel's work as often as the single runs together, and
    # calls a stage only when its own gate lets it work (a gate that woke too rarely would
    # also break the results; one that woke too often would cost).
    scenario = load_scenario("kursk-assault", ["duration=900"])
    seeds = [1, 2, 3]
    names = ("_care", "_todo", "plan_launch", "_suppress")
    counts = {name: [0] for name in names}
    woken = [0]  # the replicates the batched launch gate had plan
    Ensemble(scenario, seeds).step()  # compiles the batched kernels with the real ones
    with monkeypatch.context() as patch:
        # Counted: the replicates each batched kernel steps, and the kernel calls of the
        # replicates left to their own stage.
        _counted(patch, care_module, "_care_rows", counts["_care"], lambda a, out: out[2])
        _counted(patch, care_module, "_send_rows", counts["_care"], lambda a, out: out[1])
        _counted(patch, care_module, "_care", counts["_care"])
        _counted(patch, artillery_module, "_todo_rows", counts["_todo"],
                 lambda a, out: out[1])
        _counted(patch, artillery_module, "_todo", counts["_todo"])
        _counted(patch, morale_module, "_suppress", counts["_suppress"])
        # the replicates with shocks the batched morale kernel suppresses itself
        _counted(patch, morale_module, "_morale_rows", counts["_suppress"],
                 lambda a, out: int(a[7]) * int((a[8][2] & ~a[3]).sum()))
        _counted(patch, fk, "plan_launch", counts["plan_launch"])
        _counted(patch, Launch, "plan", woken)
        ensemble = Ensemble(scenario, seeds)
        assert MEMO_STAGES <= set(ensemble.batched)
        results = ensemble.run()
    together = {name: c[0] for name, c in counts.items()}
    counts = {name: [0] for name in names}
    for module, name in ((care_module, "_care"), (artillery_module, "_todo"),
                         (fk, "plan_launch"), (morale_module, "_suppress")):
        _counted(monkeypatch, module, name, counts[name])
    singles = [Sim(scenario, seed).run() for seed in seeds]
    alone = {name: c[0] for name, c in counts.items()}
    assert together == alone
    assert woken[0] == alone["plan_launch"]
    steps = ensemble.steps * len(seeds)
    assert all(0 < n < steps for n in alone.values()), alone  # the gates did skip work
    for got, want in zip(results, singles, strict=True):
        assert got.summary == want.summary
        assert _bits(got.events) == _bits(want.events)


def test_a_rebuilt_replicate_is_rebound_in_the_batched_calls(monkeypatch):
    # Ensemble.rebind(r): the batched calls drop what they kept of replicate r's old
    # stages (memo mirrors, memo rows) and step its new ones; the old ones are never
    # called again.
    scenario = load_scenario("kursk-assault", ["duration=900"])
    seeds = [4, 5, 6]
    ensemble = Ensemble(scenario, seeds)
    sim = ensemble.sims[1]
    old = sim.stages
    retired = {id(stage) for stage in old}
    for cls, method in {(type(stage), "__call__") for stage in old} | {(Launch, "plan")}:
        def guarded(self, *args, original=getattr(cls, method)):
            assert id(self) not in retired, f"the old {self.name} stage was called"
            return original(self, *args)

        monkeypatch.setattr(cls, method, guarded)
    sim.stages = build_stages(sim.state)  # the state at step 0: the same run
    ensemble.rebind(1)
    assert all(ensemble.stage_lists[k][1] is sim.stages[k] for k in range(len(old)))
    launch = next(k for k, s in enumerate(sim.stages) if s.name == "launch")
    assert np.shares_memory(sim.stages[launch].idle, ensemble.calls[launch].idle)
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


def test_reset_into_other_stages_hands_the_memos_back():
    """A reset replicate whose stages differ (a lessons file can field others) ends
    lockstep: every replicate then steps as a single run, with the memos the batched calls
    held handed back to its stages, and each still equals its single run. (Stages whose
    memos were left behind gave equal results too in every case tried: their stale memos
    only wake them early; the hand-back keeps them exact by construction.)"""
    scenario = load_scenario("kursk-assault", ["duration=900"])
    seeds = [1, 2, 3]
    ensemble = Ensemble(scenario, seeds)
    assert MEMO_STAGES <= set(ensemble.batched)
    for _ in range(300):  # far enough for care, artillery and morale memos to matter
        ensemble.step()
    ensemble.names = ("other",)  # as if the new replicate fielded other stages
    ensemble.reset(1, 8)
    assert not ensemble.together and ensemble.batched == []
    _same(ensemble.run(), scenario, [1, 8, 3])


@pytest.mark.parametrize("name", ["kursk-assault", "fortified-line-breach"])
def test_replicates_on_different_steps_stay_batched_and_exact(monkeypatch, name):
    """After resets at steps 37 and 211 the replicates are on three different steps; every
    batched call still advances all of them at once (each at its own step: ``any_step``),
    no stage with a batched call falls back to one call per replicate while every
    replicate has steps left, and each replicate still equals its single run to the bit.
    kursk-assault fields care, artillery and jamming; fortified-line-breach the
    counter-drone layers (interceptors, RF detectors) and a lessons file too."""
    scenario = load_scenario(name)
    ensemble = Ensemble(scenario, [2, 5, 9])
    batched = {k for k, call in enumerate(ensemble.calls) if call is not None}
    assert len(batched) == len(ensemble.calls)  # every stage of these has a batched call
    assert all(getattr(ensemble.calls[k], "any_step", False) for k in batched)
    each: list[tuple[int, bool]] = []  # (stage, every replicate live) per fallback call
    original = Ensemble._each

    def watched(self, k, rs):
        each.append((k, bool(self.states.steps.max() < self.steps)))
        return original(self, k, rs)

    monkeypatch.setattr(Ensemble, "_each", watched)
    # work the per-replicate parts of the batched calls did while the steps differed
    acted = {"settle": [0], "act": [0], "plan": [0], "layers": [0]}
    from dronefront.engine.stages.sensing import Sensing
    for owner, method, key in ((Sensing, "settle", "settle"),
                               (artillery_module.Artillery, "act", "act"),
                               (Launch, "plan", "plan"),
                               (CounterDroneLayers, "__call__", "layers")):
        def apart(*args, original=getattr(owner, method), key=key):
            steps = ensemble.states.steps
            acted[key][0] += int(steps.min() != steps.max())
            return original(*args)

        monkeypatch.setattr(owner, method, apart)
    for _ in range(37):
        ensemble.step()
    ensemble.reset(1, 42)
    while ensemble.states.steps[0] < 211:
        ensemble.step()
    ensemble.reset(2, 7)
    assert ensemble.states.steps.tolist() == [211, 174, 0]
    assert {ensemble.calls[k] is not None for k in batched} == {True}
    results = ensemble.run()
    assert [k for k, live in each if live] == []  # batched throughout while all were live
    assert each  # the last steps of replicates 1 and 2 went one by one (0 was done)
    assert acted["settle"][0] and acted["act"][0] and acted["plan"][0]
    assert acted["layers"][0] or name != "fortified-line-breach"
    _same(results, scenario, [2, 42, 7])


def test_launch_plans_in_one_kernel_call_where_nothing_needs_python(monkeypatch):
    # without events, failures, salvos or deconfliction, and with every omniscient slot on
    # the densest policy (the reference model's FPV teams), LaunchBatch plans every
    # replicate's launches in its kernel (_plan_rows): Launch.plan is never called, drones
    # do launch, and each replicate still equals its single run; with events kept the
    # same ensemble plans in Python, with the same results
    scenario = load_scenario("reference-open-field", ["parameters.N=600", "duration=300"])
    seeds = [1, 2, 3]
    planned = [0]
    _counted(monkeypatch, Launch, "plan", planned)
    ensemble = Ensemble(scenario, seeds, events=False)
    assert "launch" in ensemble.batched
    results = ensemble.run()
    assert planned[0] == 0
    assert all(max(r.timeseries["drones_flying"].to_pylist()) > 0 for r in results)
    _same(results, scenario, seeds, events=False)
    with_events = Ensemble(scenario, seeds, events=True).run()
    assert planned[0] > 0
    for a, b in zip(results, with_events, strict=True):
        assert a.summary == b.summary


def test_launch_kernel_leaves_omniscient_picks_on_other_policies_to_python(monkeypatch):
    # an omniscient team on the nearest policy needs Targeter.select's full path: the
    # kernel leaves those replicates to Launch.plan, and results still equal single runs
    scenario = load_scenario("reference-open-field", [
        "parameters.N=600", "duration=300", "sides.defender.teams.0.policy=nearest"])
    seeds = [4, 5]
    planned = [0]
    _counted(monkeypatch, Launch, "plan", planned)
    results = Ensemble(scenario, seeds, events=False).run()
    assert planned[0] > 0
    _same(results, scenario, seeds, events=False)


def test_launch_kernel_plans_drone_types_that_can_fail(monkeypatch):
    # kursk-assault's drone types can fail at launch: the kernel draws each launched
    # sortie's failure itself (the same counter-based draw), so Launch.plan is never
    # called, some launches do fail, and every replicate equals its single run
    scenario = load_scenario("kursk-assault")
    seeds = list(range(1, 9))
    planned = [0]
    _counted(monkeypatch, Launch, "plan", planned)
    ensemble = Ensemble(scenario, seeds, events=False)
    assert (ensemble.states[0].types.failure_prob > 0).any()
    results = ensemble.run()
    assert planned[0] == 0
    failed = sum(int(s.counters.fates[:, :, FAILED].sum()) for s in ensemble.states)
    assert failed > 0
    _same(results, scenario, seeds, events=False)


@pytest.mark.parametrize("events", [False, True])
def test_artillery_acts_in_one_kernel_call_without_events(monkeypatch, events):
    # without events (and without counter-drone layers) ArtilleryBatch starts every listed
    # replicate's missions and fires its rounds, blasts included, in one _act_rows call:
    # Artillery.act is never called, shells do fall and kill, and each replicate equals its
    # single run; with events kept the acts stay in Python, with the same results
    scenario = load_scenario("kursk-assault")
    seeds = list(range(11, 19))
    acted = [0]
    _counted(monkeypatch, artillery_module.Artillery, "act", acted)
    ensemble = Ensemble(scenario, seeds, events=events)
    assert "artillery" in ensemble.batched
    results = ensemble.run()
    assert (acted[0] > 0) == events
    assert sum(int(s.counters.shells.sum()) for s in ensemble.states) > 0
    code = ensemble.states[0].artillery_code
    assert sum(int((s.soldiers.cause == code).sum()) for s in ensemble.states) > 0
    _same(results, scenario, seeds, events=events)
