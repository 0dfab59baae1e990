"""Autonomy, swarms and counter-drone layers (docs/model.md §12a)."""

from __future__ import annotations

import numpy as np
import pytest

from dronefront.engine.sim import OPTIONAL_STAGES, STAGE_NAMES, Sim
from dronefront.engine.state import FATES, FLYING, build_state
from dronefront.errors import UserError
from dronefront.scenario.loader import load_scenario

LAYERED = "layered-defence"


def _run(name: str, overrides: list[str], seed: int, events: bool = False):
    return Sim(load_scenario(name, overrides), seed, events=events).run()


def test_scenarios_without_layer_fields_build_no_layers_and_no_extra_stage():
    sim = Sim(load_scenario("ew-screen"), 1)
    assert sim.state.layers is None
    assert "layers" not in [stage.name for stage in sim.stages]
    assert "layers" not in sim.run().summary


@pytest.mark.parametrize("name", [LAYERED, "ew-screen", "fpv-drill"])
def test_the_built_stages_are_stage_names_in_order_less_unneeded_optional_ones(name):
    sim = Sim(load_scenario(name), 1, events=False)
    built = [stage.name for stage in sim.stages]
    needed = [n for n in STAGE_NAMES if n not in OPTIONAL_STAGES
              or (n == "layers" and name == LAYERED)]
    assert built == needed
    assert "care" in built and ("layers" in built) == (name == LAYERED)


def test_a_bad_salvo_is_the_one_line_error_naming_the_field():
    with pytest.raises(UserError, match="salvo"):
        load_scenario(LAYERED, ["sides.attacker.teams.2.salvo=0"])


def test_layered_defence_is_deterministic():
    a = _run(LAYERED, [], 3, events=True)
    b = _run(LAYERED, [], 3, events=True)
    assert a.summary == b.summary
    assert a.events.to_pandas().equals(b.events.to_pandas())  # NaN-safe


def test_every_interceptor_sortie_ends_in_one_fate_and_each_hit_downs_a_drone():
    res = _run(LAYERED, [], 2, events=True)
    row = res.summary["drones"]["defender"]["interceptor_fpv"]
    ended = sum(row[f] for f in FATES[1:])
    assert row["launched"] == ended + row["in_flight"] and row["launched"] > 0
    layers = res.summary["layers"]["defender"]
    assert layers["intercepts"] == row["expended"]  # an interceptor is expended only by a hit
    kinds = res.events.column("kind").to_pylist()
    values = res.events.column("value").to_pylist()
    hits = sum(1 for k, v in zip(kinds, values, strict=True) if k == "intercept" and v == 1.0)
    assert hits == layers["intercepts"]
    assert row["missed"] == sum(1 for k, v in zip(kinds, values, strict=True)
                                if k == "intercept" and v == 0.0)


def test_salvo_members_launch_together():
    res = _run(LAYERED, ["sides.defender.teams.0.count=0",
                         "sides.defender.rf_detectors.0.detect_prob=0"], 1, events=True)
    ev = res.events.to_pandas()
    fpv = ev[(ev["kind"] == "launch") & (ev["weapon"] == "fpv_radio")]
    per_step = fpv.groupby("step").size()
    assert len(per_step) > 3
    # 12 teams in salvos of 4; failures and lost teams aside, launches come 4 at a time.
    assert (per_step % 4 == 0).mean() > 0.9


def _close_mate_pairs(radius: float, seed: int) -> int:
    """Step-pairs of flying salvo mates whose targets lie within 15 m of each other."""
    sc = load_scenario(LAYERED, ["sides.defender.teams.0.count=0",
                                 "sides.defender.rf_detectors.0.detect_prob=0",
                                 "sides.defender.jammers.0.strength=0",
                                 "sides.defender.jammers.1.strength=0",
                                 f"sides.attacker.teams.2.deconfliction_radius={radius}"])
    sim = Sim(sc, seed, events=False)
    d, s = sim.state.drones, sim.state.soldiers
    close = 0
    while sim.state.step < sc.steps:
        sim.step()
        holding = (d.salvo >= 0) & (d.state == FLYING) & (d.target >= 0)
        for group in np.unique(d.salvo[holding]):
            tg = d.target[holding & (d.salvo == group)]
            gap = np.hypot(s.x[tg][:, None] - s.x[tg][None, :],
                           s.y[tg][:, None] - s.y[tg][None, :])
            close += int(np.triu(gap <= 15, 1).sum())
    return close


def test_deconfliction_spreads_swarm_mates_over_different_soldiers():
    without = sum(_close_mate_pairs(0, seed) for seed in (1, 2))
    with_ = sum(_close_mate_pairs(15, seed) for seed in (1, 2))
    assert without > 0
    assert with_ < 0.5 * without


def _close_salvo_strikes(radius: float, seed: int) -> tuple[int, int]:
    """(pairs of strikes by one salvo within 30 s and 15 m of each other, strikes)."""
    sc = load_scenario(LAYERED, ["sides.defender.teams.0.count=0",
                                 "sides.defender.rf_detectors.0.detect_prob=0",
                                 "sides.defender.jammers.0.strength=0",
                                 "sides.defender.jammers.1.strength=0",
                                 f"sides.attacker.teams.2.deconfliction_radius={radius}"])
    sim = Sim(sc, seed, events=True)
    d = sim.state.drones
    salvo_of: dict[int, int] = {}
    while sim.state.step < sc.steps:
        sim.step()
        flying = np.flatnonzero((d.state == FLYING) & (d.salvo >= 0))
        salvo_of.update(zip(d.sortie[flying].tolist(), d.salvo[flying].tolist(), strict=True))
    ev = sim.result().events.to_pandas()
    st = ev[(ev["kind"] == "strike") & ev["actor"].isin(list(salvo_of))]
    group = st["actor"].map(salvo_of).to_numpy()
    step, x, y = st["step"].to_numpy(), st["x"].to_numpy(), st["y"].to_numpy()
    together = (group[:, None] == group[None, :]) & (np.abs(step[:, None] - step[None, :])
                                                     <= 30 / sc.dt)
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= 15
    return int(np.triu(together & near, 1).sum()), len(st)


def test_deconfliction_spreads_a_salvos_strikes_over_seeds():
    seeds = (1, 2, 3, 4)
    off = np.array([_close_salvo_strikes(0, seed) for seed in seeds])
    on = np.array([_close_salvo_strikes(15, seed) for seed in seeds])
    # Comparable strike counts, so the drop is in where the strikes land, not how many.
    assert abs(on[:, 1].sum() - off[:, 1].sum()) < 0.2 * off[:, 1].sum()
    assert off[:, 0].sum() >= 40  # undeconflicted mates often share a target or a knot
    assert on[:, 0].sum() < 0.3 * off[:, 0].sum()
    assert (on[:, 0] < off[:, 0]).all()


@pytest.mark.parametrize("radius", [0, 15])
def test_omniscient_densest_salvo_mates_take_targets_apart_at_launch(radius):
    sc = load_scenario(LAYERED, ["sides.defender.teams.0.count=0",
                                 "sides.attacker.teams.2.targeting=omniscient",
                                 f"sides.attacker.teams.2.deconfliction_radius={radius}"])
    sim = Sim(sc, 1, events=False)
    d, s = sim.state.drones, sim.state.soldiers
    sim.step()  # every team is ready at the start: the first salvo launches now
    mates = np.flatnonzero((d.salvo == 0) & (d.state == FLYING))
    assert mates.size >= 2
    tg = d.target[mates]
    assert (tg >= 0).all()
    gap = np.hypot(s.x[tg][:, None] - s.x[tg][None, :], s.y[tg][:, None] - s.y[tg][None, :])
    apart = gap[np.triu_indices(tg.size, 1)]
    if radius:
        assert (apart > radius).all()
    else:
        assert (apart == 0).all()  # all take the one densest soldier


def test_an_rf_located_team_that_is_destroyed_never_launches_again():
    res = _run(LAYERED, ["sides.defender.teams.0.count=0"], 1, events=True)
    st = res.state
    dead = np.flatnonzero(~st.layers.team_alive)
    assert dead.size > 0
    assert res.summary["layers"]["defender"]["teams_destroyed"] == dead.size
    ev = res.events.to_pandas()
    lost = ev[(ev["kind"] == "site_destroyed") & (ev["value"] == 0.0)]
    assert set(lost["actor"]) == set(dead.tolist())
    assert (st.drones.inventory[dead] == 0).all()


def test_autonomous_drones_in_their_last_leg_are_not_jammed():
    jammed = {}
    for reach in (0, 1500):
        sc = load_scenario("ew-screen", [f"drone_types.fpv_radio.autonomy_range={reach}"])
        runs = [Sim(sc, seed, events=False).run().summary for seed in (1, 2, 3)]
        jammed[reach] = sum(r["drones"]["attacker"]["fpv_radio"]["jammed"] for r in runs)
        if reach:
            assert all(r["layers"]["attacker"]["autonomous_legs"] > 0 for r in runs)
    assert jammed[1500] < 0.5 * jammed[0]


def test_an_autonomous_type_is_built_with_its_own_miss_rate():
    sc = load_scenario("ew-screen", ["drone_types.fpv_radio.autonomy_range=300",
                                     "drone_types.fpv_radio.autonomy_miss=0.4"])
    st = build_state(sc, 1)
    k = st.types.names.index("fpv_radio")
    assert st.types.autonomy_range[k] == 300 and st.types.autonomy_miss[k] == 0.4
    assert st.layers is not None and st.layers.interceptors.n == 0


@pytest.mark.slow
def test_jammings_effect_on_strikes_falls_as_autonomy_range_grows():
    seeds = range(1, 13)
    effect = []
    for reach in (0, 600, 1500):
        strikes = {}
        for jam in (0.0, 0.08):
            sc = load_scenario("ew-screen", [
                f"drone_types.fpv_radio.autonomy_range={reach}",
                f"sides.defender.jammers.0.strength={jam}",
                f"sides.defender.jammers.1.strength={jam}"])
            strikes[jam] = np.array([Sim(sc, s, events=False).run().summary["drones"]
                                     ["attacker"]["fpv_radio"]["strikes"] for s in seeds])
        effect.append((strikes[0.0] - strikes[0.08]).mean())
    assert effect[0] > effect[1] > effect[2]
    assert effect[2] < 0.5 * effect[0]


@pytest.mark.slow
@pytest.mark.parametrize("off", ["sides.defender.teams.0.count=0",
                                 "sides.defender.rf_detectors.0.detect_prob=0"])
def test_each_layer_changes_defender_casualties_by_more_than_3_se(off):
    seeds = range(1, 41)
    full = np.array([_run(LAYERED, [], s).summary["sides"]["defender"]["casualties"]
                     for s in seeds])
    without = np.array([_run(LAYERED, [off], s).summary["sides"]["defender"]["casualties"]
                        for s in seeds])
    diff = without - full
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert diff.mean() > 3 * se
