"""Ensembles: R replicates of one scenario advanced in lockstep over stacked arrays.

Each replicate's state is the one a single run builds (``sim.initial_state``), laid out
straight into one stacked array per column (leading replicate axis, ``(R, *shape)``) from
the scenario's ``StateTemplate``; with a lessons file each is built on its own and then
every table column is re-homed into the stacked arrays and each replicate's tables rebound
to the views ``stacked[r]`` (``stack_states``). Tables are never rebound during a run
(docs/engine.md), so the views stay valid and every in-place write lands in the stacked
arrays. Each replicate keeps its
own stages (their memos), event log, random streams and ``State`` scalars; a stage that
offers a batched call (``batch``) advances all replicates in one call over the stacked
arrays, the others are called once per replicate. Replicate ``r`` is bit-identical to
``Sim(scenario, seeds[r]).run()``.

>>> from dronefront.scenario.loader import load_scenario
>>> scenario = load_scenario("reference-open-field", ["parameters.N=60"])
>>> results = run_ensemble(scenario, [1, 2])
>>> [r.summary["seed"] for r in results]
[1, 2]
>>> results[1].summary["sides"] == Sim(scenario, 2).run().summary["sides"]
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from dronefront.arguments import check_seed
from dronefront.engine.batch import Replicates, stacked
from dronefront.engine.events import EventLog
from dronefront.engine.result import Result
from dronefront.engine.series import SERIES, batch_recorder
from dronefront.engine.sim import Sim, check_scenario, initial_state
from dronefront.engine.state import (
    LAYER_ARRAYS,
    LAYER_TABLES,
    TABLES,
    Layers,
    State,
    StateTemplate,
    state_template,
)
from dronefront.errors import UserError
from dronefront.scenario.models import Scenario

__all__ = ["Ensemble", "Replicates", "run_ensemble", "stack_states", "stacked"]

#: A batched stage call: advances every replicate by the stage's part of one step.
BatchCall = Callable[[list[State], list[EventLog]], None]


def _restack(values: list, where: str, apart: list[str], memo: dict) -> list:
    """``values`` (one per replicate) re-homed as views of one stacked array, when all are
    arrays of one shape and dtype; otherwise the same values (named in ``apart`` if arrays).
    ``memo`` keeps arrays shared between fields shared."""
    if not all(isinstance(v, np.ndarray) for v in values):
        return values
    key = tuple(id(v) for v in values)
    if key in memo:
        return memo[key]
    first = values[0]
    if any(v.shape != first.shape or v.dtype != first.dtype for v in values):
        apart.append(where)
        return values
    block = np.stack(values)
    views = [block[r] for r in range(len(values))]
    memo[key] = views
    return views


def _restack_table(tables: list, where: str, apart: list[str], memo: dict) -> list:
    columns = {name: _restack([getattr(t, name) for t in tables], f"{where}.{name}", apart,
                              memo) for name in tables[0]._fields}
    return [t._replace(**{name: views[r] for name, views in columns.items()})
            for r, t in enumerate(tables)]


def stack_states(states: Sequence[State]) -> list[str]:
    """Re-home every table column of ``states`` (replicates of one scenario) into one
    stacked array per column, ``(R, *shape)``, and rebind each state's tables to the views
    ``stacked[r]``. Call before any stage is built (stages keep views of the tables).
    Returns the columns that stay per replicate (their shapes or dtypes differ).

    >>> from dronefront.scenario.loader import load_scenario
    >>> from dronefront.engine.state import build_state
    >>> scenario = load_scenario("reference-open-field", ["parameters.N=60"])
    >>> states = [build_state(scenario, seed) for seed in (1, 2)]
    >>> stack_states(states)
    []
    >>> stacked([s.soldiers.x for s in states]).shape
    (2, 60)
    """
    apart: list[str] = []
    memo: dict = {}
    states = list(states)
    for name in TABLES:
        tables = [getattr(s, name) for s in states]
        if any(t is None for t in tables):
            continue
        for state, table in zip(states, _restack_table(tables, name, apart, memo),
                                strict=True):
            setattr(state, name, table)
    layers = [s.layers for s in states]
    if all(isinstance(x, Layers) for x in layers):
        for name in LAYER_TABLES:
            tables = _restack_table([getattr(x, name) for x in layers], f"layers.{name}",
                                    apart, memo)
            for x, table in zip(layers, tables, strict=True):
                setattr(x, name, table)
        for name in LAYER_ARRAYS:
            views = _restack([getattr(x, name) for x in layers], f"layers.{name}", apart, memo)
            for x, view in zip(layers, views, strict=True):
                setattr(x, name, view)
        for name in layers[0].tallies:
            views = _restack([x.tallies.get(name) for x in layers], f"layers.tallies.{name}",
                             apart, memo)
            for x, view in zip(layers, views, strict=True):
                x.tallies[name] = view
    return apart


def _rehome_table(old, new, where: str, apart: list[str]):
    """``new`` (a table of a fresh state) with each stacked column's values copied into
    ``old``'s view (row ``r`` of the stacked array) and rebound to that view."""
    return new._replace(**{name: _rehome(getattr(old, name), getattr(new, name),
                                         f"{where}.{name}", apart) for name in new._fields})


def _rehome(old, new, where: str, apart: list[str]):
    if where in apart or not isinstance(new, np.ndarray) or not isinstance(old, np.ndarray):
        return new  # kept per replicate: the fresh state's own
    if old.shape != new.shape or old.dtype != new.dtype:
        raise UserError(f"the new replicate's {where} ({new.dtype} {new.shape}) does not fit "
                        f"the ensemble's ({old.dtype} {old.shape})", field="seed")
    old[...] = new
    return old


def rehome_state(old: State, new: State, apart: list[str]) -> None:
    """Copy ``new``'s tables into the stacked rows ``old``'s tables are views of, and rebind
    ``new``'s tables to those views (the inverse direction of ``stack_states``, for one
    replicate); columns named in ``apart`` stay ``new``'s own."""
    for name in TABLES:
        table = getattr(new, name)
        if table is not None and getattr(old, name) is not None:
            setattr(new, name, _rehome_table(getattr(old, name), table, name, apart))
    if isinstance(old.layers, Layers) and isinstance(new.layers, Layers):
        o, n = old.layers, new.layers
        for name in LAYER_TABLES:
            setattr(n, name, _rehome_table(getattr(o, name), getattr(n, name),
                                           f"layers.{name}", apart))
        for name in LAYER_ARRAYS:
            setattr(n, name, _rehome(getattr(o, name), getattr(n, name), f"layers.{name}",
                                     apart))
        for name in n.tallies:
            n.tallies[name] = _rehome(o.tallies.get(name), n.tallies[name],
                                      f"layers.tallies.{name}", apart)


class Ensemble:
    """R replicates of one scenario (one per seed) over stacked arrays, stepped in lockstep.

    ``sims[r]`` is replicate ``r``'s run (its state, stages, log and series); the stages
    are built per replicate after ``stack_states``, and a stage class that defines
    ``batch(stages, states) -> BatchCall | None`` advances all replicates in one call.
    ``reset(r, seed)`` restarts one replicate in place (the others go on), so replicates
    may be on different steps (``states.steps``); a replicate that reached the scenario's
    last step is not stepped further.
    """

    #: the clock the stage seconds (``spent``) are read with (a benchmark may set
    #: ``time.process_time`` to count CPU time only)
    clock: Callable[[], float] = staticmethod(time.perf_counter)

    def __init__(self, scenario: Scenario, seeds: Sequence[int], *,
                 events: bool = True) -> None:
        started = time.perf_counter()
        check_scenario(scenario)
        seeds = [check_seed(seed) for seed in seeds]
        if not seeds:
            raise UserError("an ensemble needs at least one seed", field="seeds")
        #: the scenario's ``StateTemplate`` (None with a lessons file: its veterans'
        #: doctrines depend on the seed, so each replicate is built from scratch)
        self.template: StateTemplate | None = None
        if scenario.lessons is None:
            self.template = state_template(scenario)
            # built straight into the stacked rows: what stack_states would give
            built = [(scenario, state) for state in self.template.stack(seeds)]
        else:
            built = [initial_state(scenario, seed) for seed in seeds]
        states = Replicates(state for _, state in built)
        #: each replicate's step (``State.step``), kept in step with them
        states.steps = np.zeros(len(states), np.int64)
        self.scenario, self.events = scenario, events
        #: columns kept per replicate (shapes differ between replicates), see stack_states
        self.apart: list[str] = [] if self.template is not None else stack_states(states)
        steps = built[0][0].steps
        self.series = np.zeros((len(seeds), steps, 2, len(SERIES)), np.int64)
        self.sims = [Sim.over(run_scenario, seed, state, self.series[r], events=events)
                     for r, (seed, (run_scenario, state)) in enumerate(zip(seeds, built,
                                                                           strict=True))]
        self.states = states
        self.logs = [sim.log for sim in self.sims]
        self.steps = steps
        names = [tuple(stage.name for stage in sim.stages) for sim in self.sims]
        #: whether all replicates run the same stages (``names``)
        self.lockstep = all(n == names[0] for n in names)
        self.names = names[0]
        #: one entry per stage: its batched call, or None (called once per replicate)
        self.calls: list[BatchCall | None] = [None] * len(names[0])
        #: per stage, the list of its replicates' stages its batched call was built from
        self.stage_lists: list[list] = [[sim.stages[k] for sim in self.sims]
                                        for k in range(len(names[0]))]
        self.record: Callable[[int], None] | None = None
        #: whether the replicates step together (stage by stage, with batched calls): not
        #: for one replicate (it steps as a single run) or replicates with different stages
        self.together = self.lockstep and len(states) > 1
        if self.together:
            for k in range(len(names[0])):
                self.calls[k] = self._batch(k)
            self.record = batch_recorder(states, self.series)
        #: seconds spent per stage (all replicates), then recording
        self.spent = [0.0] * (len(names[0]) + 1)
        share = (time.perf_counter() - started) / len(seeds)
        for sim in self.sims:
            sim.init_seconds = share

    def rebind(self, r: int) -> None:
        """Point every batched call at replicate ``r``'s current state and stages
        (``sims[r].state``, ``sims[r].stages``), after they were rebuilt in place (the
        state's tables copied into row ``r`` of the stacked arrays). The lists the calls
        were built from (``stage_lists``) are updated, and each call re-binds what it keeps
        of replicate ``r`` through its hook ``call.reset(r, stage, state) -> bool``; a call
        without one, or whose hook answers False, is built again over every replicate's
        stages (docs/engine.md, "Ensembles")."""
        sim = self.sims[r]
        self.states[r] = sim.state
        self.logs[r] = sim.log
        for k, call in enumerate(self.calls):
            self.stage_lists[k][r] = sim.stages[k]
            if call is None:
                continue
            hook = getattr(call, "reset", None)
            if hook is None or not hook(r, sim.stages[k], sim.state):
                self.calls[k] = self._batch(k)
        # ``record`` holds only the stacked columns and series: nothing of one replicate

    def _batch(self, k: int) -> BatchCall | None:
        """Stage ``k``'s batched call over every replicate's stage, or None."""
        stages = self.stage_lists[k]
        batch = getattr(type(stages[0]), "batch", None)
        return batch(stages, self.states) if batch is not None else None

    def reset(self, r: int, seed: int) -> None:
        """Restart replicate ``r`` from step 0 with ``seed``, in place; the others go on.

        A fresh state is built as a single run builds it, into row ``r`` of the stacked
        arrays: the scenario's template is copied there and what the seed changes laid out
        again (``StateTemplate.refill``); with a lessons file it is built on its own and
        its tables copied there (``rehome_state``; its tables become those rows' views).
        Replicate ``r`` gets a new ``Sim`` (stages, log, series row ``r`` zeroed). From then
        on replicate ``r`` is bit-identical to ``Sim(scenario, seed)``. Each batched call is
        asked to rebind replicate ``r`` through its ``reset`` hook, ``call.reset(r, stage,
        state) -> bool`` (replicate ``r``'s new stage and state); a call without one, or
        whose hook answers False, is built again over every replicate's stages
        (docs/engine.md, "Ensembles").
        """
        seed = check_seed(seed)
        if not 0 <= r < len(self.sims):
            raise UserError(f"replicate {r} is not in 0..{len(self.sims) - 1}", field="r")
        states = self.states
        if self.template is not None:  # only what the seed changes is laid out again
            scenario, fresh = self.scenario, self.template.refill(states[r], seed)
        else:
            scenario, fresh = initial_state(self.scenario, seed)
            rehome_state(states[r], fresh, self.apart)
        self.series[r] = 0
        sim = Sim.over(scenario, seed, fresh, self.series[r], events=self.events)
        self.sims[r], states[r], self.logs[r] = sim, fresh, sim.log
        states.steps[r] = 0
        names = tuple(stage.name for stage in sim.stages)
        if self.lockstep and names != self.names:  # a lessons file fielded other stages
            # from now on each replicate steps as a single run: its stages get back the
            # memos the batched calls held
            for call in self.calls:
                push = getattr(call, "push", None)
                for q in range(len(self.sims) if push is not None else 0):
                    if q != r:
                        push(q)
            self.lockstep = self.together = False
            self.calls = [None] * len(sim.stages)
            self.record = None
            return
        if self.together:
            self.rebind(r)

    @property
    def batched(self) -> list[str]:
        """Names of the stages (and ``record``) advanced in one call for all replicates."""
        out = [stage.name for stage, call in zip(self.sims[0].stages, self.calls,
                                                 strict=False) if call is not None]
        return [*out, "record"] if self.record is not None else out

    def step(self) -> None:
        """Advance every replicate one step: each stage in order (batched or once per
        replicate), then the series row. A replicate already at the scenario's last step
        stays there (the others step on their own then)."""
        sims, states, logs, spent = self.sims, self.states, self.logs, self.spent
        at = states.steps
        if not self.together:  # each replicate steps as a single run
            for r, sim in enumerate(sims):
                if at[r] < self.steps:
                    sim.step()
                    at[r] += 1
            return
        if at.max() >= self.steps:  # some replicate is done: the others step on their own
            self._step_each(np.flatnonzero(at < self.steps).tolist())
            return
        # replicates on different steps (one was reset): only calls that read each one's
        # step are batched
        apart = at.min() != at.max()
        clock = self.clock
        t0 = clock()
        for k, call in enumerate(self.calls):
            if call is not None and (not apart or getattr(call, "any_step", False)):
                call(states, logs)
            else:
                self._each(k, range(len(sims)))
            t1 = clock()
            spent[k] += t1 - t0
            t0 = t1
        if self.record is not None:
            self.record(at)
        else:
            for sim in sims:
                sim.recorder(sim.state, sim.state.step)
        for state in states:
            state.step += 1
        at += 1
        spent[-1] += clock() - t0

    def _each(self, k: int, rs) -> None:
        """Stage ``k`` called by each replicate in ``rs`` through its own stage. A batched
        call that owns its stages' memos while the ensemble runs (``batch.MemoBatch``) hands
        replicate ``r``'s memos to its stage first (``push(r)``); one that keeps anything
        of a replicate refreshes it after (``pull(r)``)."""
        sims, call = self.sims, self.calls[k]
        push, pull = getattr(call, "push", None), getattr(call, "pull", None)
        for r in rs:
            sim = sims[r]
            if push is not None:
                push(r)
            sim.stages[k](sim.state, sim.log)
            if pull is not None:
                pull(r)

    def _step_each(self, rs: list[int]) -> None:
        """One step of the replicates ``rs`` only, each through its own stages (memos handed
        over as in ``_each``), then their series rows."""
        for k in range(len(self.calls)):
            self._each(k, rs)
        at = self.states.steps
        for r in rs:
            sim = self.sims[r]
            sim.recorder(sim.state, sim.state.step)
            sim.state.step += 1
            at[r] += 1

    def run(self) -> list[Result]:
        """Run every remaining step; one ``Result`` per replicate, in seed order."""
        started = time.perf_counter()
        while self.states.steps.min() < self.steps:
            self.step()
        share = (time.perf_counter() - started) / len(self.sims)
        for sim in self.sims:
            sim.run_seconds += share
        return self.results()

    def results(self) -> list[Result]:
        """One ``Result`` per replicate, of the steps run so far (a stage's seconds in
        lockstep are shared evenly between the replicates)."""
        if self.together:
            for sim in self.sims:
                sim.spent = [seconds / len(self.sims) for seconds in self.spent]
        return [sim.result() for sim in self.sims]


def run_ensemble(scenario: Scenario, seeds: Sequence[int], *,
                 events: bool = True) -> list[Result]:
    """Run one replicate of ``scenario`` per seed in one ensemble (``Ensemble``): result
    ``r`` is bit-identical to ``Sim(scenario, seeds[r], events=events).run()``, faster per
    replicate since per-call overhead is shared."""
    return Ensemble(scenario, seeds, events=events).run()
