"""Each built-in scenario does what its description says (`dronefront scenarios`), over seeds.

One test per scenario; a new built-in scenario must add its own (the last test checks).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

import dronefront
from dronefront.lanchester.validation import aimed_fire_check
from dronefront.scenario.loader import builtin_names

SEEDS = (1, 2, 3)
CHECKED = {"ew-screen", "fpv-drill", "kursk-assault", "kursk-assault-dispersed", "kursk-campaign",
           "lanchester-aimed-fire", "reference-open-field", "swarm-breach",
           "layered-defence",  # its claims: tests/engine/test_layers.py
           "fortified-line-breach", "fortified-line-breach-veterans",
           "fortified-line-breach-green", "fortified-line-breach-no-interceptors"}


def _side(result, name: str = "attacker") -> dict:
    return result.summary["sides"][name]


def _events(result, kind: str):
    return result.events.filter(pc.equal(result.events["kind"], kind))


def test_every_builtin_scenario_has_a_claim_test():
    assert set(builtin_names()) == CHECKED


def test_kursk_assault_company_advances_under_isr_cued_fpvs_bomber_and_artillery(engine_run):
    for seed in SEEDS:
        r = engine_run("kursk-assault", seed)
        a, drones = _side(r), r.summary["drones"]["defender"]
        # it advances (the route is 2.1 km) until its losses break its platoons
        assert a["objective_progress"] > 0.1
        assert _events(r, "break").num_rows > 0
        assert drones["isr_quad"]["launched"] + drones["isr_fixed_wing"]["launched"] > 0
        assert drones["fpv_radio"]["strikes"] > 0 and drones["bomber"]["strikes"] > 0
        causes = a["casualties_by_cause"]
        assert {"fpv_radio", "bomber", "artillery"} <= set(causes)
        # The jammer section (600 m around (0, -100)) covers only the start line: every FPV
        # lost to jamming fell near it, and FPVs still strike further on.
        jam = _events(r, "jam_loss")
        dist = np.hypot(jam["x"].to_numpy(), jam["y"].to_numpy() + 100.0)
        assert (dist <= 600.0 + 1.0).all()
        strikes = _events(r, "strike")
        assert (strikes["y"].to_numpy() > 500.0).any()


def test_kursk_assault_dispersed_lessons_cut_losses_per_strike_and_down_drones(engine_run):
    tight, spread, downs = [], [], 0
    for seed in SEEDS:
        base, lessons = _side(engine_run("kursk-assault", seed)), \
            _side(engine_run("kursk-assault-dispersed", seed))
        tight.append(base["casualties_per_fpv_strike"])
        spread.append(lessons["casualties_per_fpv_strike"])
        downs += lessons["drones_shot_down"]
        assert base["drones_shot_down"] == 0  # no shooters, no drill in the original
    assert np.mean(spread) < np.mean(tight)
    assert downs > 0  # designated shooters and the engage drill bring drones down


def test_fpv_drill_one_platoon_under_fpvs_shoots_some_down_with_its_shotguns(engine_run):
    downs = strikes = 0
    for seed in SEEDS:
        r = engine_run("fpv-drill", seed)
        a, fpv = _side(r), r.summary["drones"]["defender"]["fpv_radio"]
        downs += a["shoot_downs_by_weapon"]["shotgun"]
        strikes += fpv["strikes"]
        assert a["shoot_downs_by_weapon"]["rifle"] == 0  # only the designated shooters engage
        assert a["casualties"] > 0
    assert downs > 0 and strikes > downs  # some, not nearly all


def test_ew_screen_jamming_grounds_radio_fpvs_and_fibre_takes_some_back(engine_run):
    off = ["sides.defender.jammers.0.active=false", "sides.defender.jammers.1.active=false"]
    with_ew, without = [], []
    for seed in SEEDS:
        on_run, off_run = engine_run("ew-screen", seed), engine_run("ew-screen", seed, *off)
        radio, fibre = (on_run.summary["drones"]["attacker"][k] for k in ("fpv_radio",
                                                                          "fpv_fibre"))
        assert radio["jammed"] > 0 and fibre["jammed"] == 0
        assert fibre["strikes"] > 0  # what fibre takes back: strikes EW cannot stop
        assert off_run.summary["drones"]["attacker"]["fpv_radio"]["jammed"] == 0
        with_ew.append(_side(on_run, "defender")["casualties"])
        without.append(_side(off_run, "defender")["casualties"])
    assert np.mean(with_ew) < np.mean(without)  # what EW buys


def test_swarm_breach_drones_strike_the_line_before_the_infantry_assaults_it(engine_run):
    for seed in SEEDS[:2]:
        r = engine_run("swarm-breach", seed)
        drones = r.summary["drones"]["attacker"]
        assert sum(t["launched"] for t in drones.values()) >= 200  # hundreds of drones
        assert drones["loitering"]["launched"] > 0
        line = _side(r, "defender")
        assert line["drones_shot_down"] > 0  # counter-drone teams
        assert sum(t["jammed"] for t in drones.values()) > 0  # EW
        # The breach is tried and decided within the scenario: the company closes with the
        # line and either reaches it or is stopped to the last man, and the infantry fight
        # follows the drone strikes.
        company = _side(r)
        assert company["objective_progress"] > 0.8
        assert company["objective_reached_share"] > 0 or company["healthy"] == 0
        casualties = _events(r, "casualty")
        rifle = pc.equal(casualties["cause"].cast("string"), "small_arms")
        assert pc.any(rifle).as_py()
        first_rifle = pc.min(casualties.filter(rifle)["step"]).as_py()
        assert pc.min(_events(r, "strike")["step"]).as_py() < first_rifle


def test_lanchester_aimed_fire_is_the_square_law_limit():
    check = aimed_fire_check(replicates=50, seed=1)  # the acceptance of docs/validation.md
    assert check.max_relative_error < 0.05
    assert check.engine_b[-1] < 0.05 * check.engine_b[0] < check.engine_a[-1]


def test_reference_open_field_blocks_walk_north_and_d_fpvs_hit_the_densest(engine_run):
    for n in (50, 600):
        r = engine_run("reference-open-field", 1, f"parameters.N={n}", "duration=300")
        s, p = r.state.soldiers, r.state.platoons
        assert s.n == n and np.bincount(s.platoon).max() == 30
        assert r.state.drones.n == max(1, n // 100)
        assert _side(r)["objective_progress"] > 0  # they walk north towards y = 1000
        assert (p.hx == 0).all() and (p.hy == 1).all()
        strikes = r.summary["drones"]["defender"]["reference_fpv"]["strikes"]
        assert strikes > 0


def test_kursk_campaign_daily_assaults_a_pause_and_reinforcements():
    campaign = dronefront.load_campaign("kursk-campaign")
    assert campaign.force.strength + sum(r.count for r in campaign.reinforcements) > 11000
    assert str(campaign.end) == "2025-04-30"
    for seed in SEEDS[:2]:
        # Daily company-size assaults in tight ranks, against drones and artillery.
        first = dronefront.run_campaign("kursk-campaign", seed=seed, days=3).daily.to_pandas()
        assert str(first.date.iloc[0]) == str(campaign.start) and first.combat.all()
        assert str(campaign.start).startswith("2024-12-")  # mid-December, as described
        assert (first.assaults == 1).all()
        assert (first.assault_soldiers >= 0.9 * campaign.force.assault_size).all()
        # Company-size: each of the assault's companies, whatever size the calibration
        # fits for the whole assault within its prior (120-600, examples/calibrate-kursk.yaml).
        force = campaign.force
        assert 120 <= force.assault_size <= 600
        assert 40 <= force.assault_size / force.companies_per_assault <= 250
        # Tight ranks: under a third of the 10 m of the dispersed lesson on the first day.
        assert first.expected_spacing.iloc[0] < 3.0
        assert first.casualties_fpv.sum() > 0 and first.casualties_artillery.sum() > 0
        # Learning on both sides: soldiers' spotting grows with encounters, and the drone
        # side changes its fibre share.
        assert (np.diff(first.mean_spotting) > 0).all()
        assert first.fibre_share.iloc[-1] != first.fibre_share.iloc[0]
        # Mid-January the assaults stop.
        pause = dronefront.run_campaign("kursk-campaign", seed=seed, days=4,
                                        overrides=["start=2025-01-14"]).daily.to_pandas()
        assert pause.combat.tolist() == [True, True, False, False]
        # Reinforcements arrive on 1 February.
        late = dronefront.run_campaign("kursk-campaign", seed=seed, days=1,
                                       overrides=["start=2025-02-01"]).daily.to_pandas()
        assert late.replacements.iloc[0] >= 1500


def test_fortified_line_breach_layered_defence_against_swarms_ew_guns_and_half_veterans(
        engine_run):
    holding, shotgun_downs = [], 0
    for seed in SEEDS:
        r = engine_run("fortified-line-breach", seed)
        layers, att_drones = r.summary["layers"], r.summary["drones"]["attacker"]
        # The attacker's swarm flies in salvos and its radio FPVs meet the line's jammers;
        # its ISR finds those jammers for its guns.
        assert att_drones["fpv_radio"]["launched"] > 0 and att_drones["fpv_radio"]["jammed"] > 0
        assert layers["attacker"]["jammers_located"] > 0
        # The line's layers: interceptors, the RF detector locating drone teams, its own
        # FPVs striking the assault, and shotgun shooters bringing drones down.
        assert layers["defender"]["intercepts"] > 0 and layers["defender"]["teams_located"] > 0
        assert r.summary["drones"]["defender"]["fpv_radio"]["strikes"] > 0
        assert _side(r, "defender")["drones_shot_down"] > 0
        shotgun_downs += _side(r)["shoot_downs_by_weapon"]["shotgun"]
        # Half of the 180 are veterans with the lessons file's skills.
        s = r.state.soldiers
        assert np.count_nonzero((s.side == 0) & (s.spotting > 0.3 + 1e-9)) == 90
        breach = r.summary["breach"]["trench"]
        assert breach["sent"] == 180
        assert breach["breached"] == (breach["holding"] >= 0.2 * 180)
        holding.append(breach["holding"])
    assert shotgun_downs > 0
    # The assault is decided at the trench, not short of it: some seeds put men into it
    # (about 2 in 5 since the veterans bring their own, slower doctrine).
    holding += [engine_run("fortified-line-breach", seed).summary["breach"]["trench"]["holding"]
                for seed in range(4, 11)]
    assert max(holding) > 0


def test_fortified_line_breach_veterans_spot_and_shoot_down_more_than_green(engine_run):
    # Under the same orders (the veterans' own doctrine left out) the lessons' skills
    # show alone: veterans spot further and bring down more drones.
    vet_downs = green_downs = 0
    for seed in SEEDS:
        vet, green = (engine_run("fortified-line-breach-veterans", seed,
                                 "lessons.doctrine=false"),
                      engine_run("fortified-line-breach-green", seed))
        sv, sg = vet.state.soldiers, green.state.soldiers
        assert sv.spotting[sv.side == 0].min() > sg.spotting[sg.side == 0].max()
        vet_downs += _side(vet)["drones_shot_down"]
        green_downs += _side(green)["drones_shot_down"]
    assert vet_downs > green_downs  # what the lessons' marksmanship buys


def test_fortified_line_breach_veterans_bring_their_doctrine_and_lose_fewer(engine_run):
    # With their doctrine (drawn platoon by platoon from the file's distributions) the
    # veterans move as they learned to at Kursk: wider, more concealed, most with an
    # engage drill. Over 10 seeds they lose fewer soldiers than green attackers.
    vet_cas = green_cas = 0
    for seed in range(1, 11):
        vet = engine_run("fortified-line-breach-veterans", seed)
        green = engine_run("fortified-line-breach-green", seed)
        vet_cas += _side(vet)["casualties"]
        green_cas += _side(green)["casualties"]
        if seed == 1:
            p = vet.state.platoons
            assert p.engage[p.side == 0].any() and (p.discipline[p.side == 0] > 0).any()
    assert vet_cas < green_cas


def test_fortified_line_breach_green_is_the_base_without_veterans(engine_run):
    for seed in SEEDS[:2]:
        green = engine_run("fortified-line-breach-green", seed)
        assert green.scenario.lessons is None
        s = green.state.soldiers
        assert np.allclose(s.spotting[s.side == 0], 0.3)
        # No veterans is the same run as the base with its veteran share at 0.
        assert green.summary == engine_run("fortified-line-breach", seed,
                                           "lessons.veterans=0",
                                           "name=fortified-line-breach-green").summary


def test_fortified_line_breach_no_interceptors_lets_more_of_the_swarm_through(engine_run):
    # The assault's jammers break radio interceptors' links (model.md §12a), which halves
    # the interceptors' gain (40 seeds: 3.7 +- 1.6 strikes fewer with them, 6.9 +- 1.2 with
    # unjammable fibre ones): three seeds resolve the gain of the unjammable ones only.
    strikes = {"with": 0, "without": 0}
    for seed in SEEDS:
        for key, name, extra in (
                ("with", "fortified-line-breach", ("drone_types.interceptor_fpv.link=fibre",)),
                ("without", "fortified-line-breach-no-interceptors", ())):
            r = engine_run(name, seed, *extra)
            strikes[key] += sum(t["strikes"] for t in r.summary["drones"]["attacker"].values())
            if key == "without":
                assert "interceptor_fpv" not in r.summary["drones"]["defender"]
                assert r.summary["layers"]["defender"]["intercepts"] == 0
    assert strikes["without"] > strikes["with"]


def test_the_assaults_jammers_break_fortified_line_interceptors(engine_run):
    jammed = [engine_run("fortified-line-breach", seed).summary for seed in SEEDS]
    fibre = [engine_run("fortified-line-breach", seed,
                        "drone_types.interceptor_fpv.link=fibre").summary for seed in SEEDS]
    assert sum(s["layers"]["attacker"]["interceptors_jammed"] for s in jammed) > 0
    assert all(s["layers"]["attacker"]["interceptors_jammed"] == 0 for s in fibre)
    for s in jammed:  # each jammed interceptor is a fate of the defender's sorties
        assert (s["drones"]["defender"]["interceptor_fpv"]["jammed"]
                == s["layers"]["attacker"]["interceptors_jammed"])
