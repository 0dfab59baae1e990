"""Policy-played runs: written as run folders, loaded, and re-played from their actions."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pettingzoo")
pytest.importorskip("gymnasium")

import dronefront.rl as rl  # noqa: E402
from dronefront.errors import UserError  # noqa: E402
from dronefront.rl.core import Engagement  # noqa: E402
from dronefront.rl.policies import play  # noqa: E402
from dronefront.scenario.loader import load_scenario  # noqa: E402
from dronefront.viz.data import load_run  # noqa: E402
from dronefront.viz.replay import record_from_run_dir  # noqa: E402

SHORT = ["duration=400"]


def _played(tmp_path, seed: int = 3):
    """A random policy with every kind of agent on kursk-assault, written as a run folder."""
    e = Engagement(load_scenario("kursk-assault", SHORT), seed, control="both",
                   batteries=True, record=True)
    result = play(e, "random", seed)
    result.write(tmp_path / "run", extra={"played_by": e.played_by("random")},
                 tables={"actions.parquet": e.actions_table()})
    return e, result, tmp_path / "run"


def test_played_run_round_trip(tmp_path) -> None:
    """The folder loads with its actions table, and the replay re-plays those orders to the
    same summary (record_from_run_dir checks it against summary.json)."""
    e, result, folder = _played(tmp_path)
    run = load_run(folder)
    assert run.played_by["policy"] == "random" and run.played_by["batteries"] is True
    assert run.actions.equals(e.actions_table())
    acts = run.actions.to_pandas()
    decisions = -(-400 // (e.every * e.scenario.dt))
    assert acts["decision"].nunique() == 3 * decisions  # platoons, teams, battery each time
    assert set(acts["agent"]) == set(e.agents)
    assert (acts.loc[acts["agent"] == "battery_0", "fire"].isin(
        ["rule", "hold", "platoon_0", "platoon_1", "platoon_2", "platoon_3"])).all()
    rec = record_from_run_dir(folder)
    assert rec.played_by["policy"] == "random"
    assert rec.result.summary == result.summary
    assert rec.result.timeseries.equals(result.timeseries)


def test_replay_without_the_orders_is_refused(tmp_path) -> None:
    """Re-played with other orders the run differs, and the replay says so."""
    _, result, folder = _played(tmp_path)
    table = pq.read_table(folder / "actions.parquet").to_pandas()
    table.loc[table["agent"].str.startswith("platoon"), "move"] = "halt"
    table.to_parquet(folder / "actions.parquet")
    with pytest.raises(UserError, match="different result"):
        record_from_run_dir(folder)


def test_doctrine_played_run_is_the_plain_run(tmp_path) -> None:
    """Played by the doctrine, the folder's summary is dronefront run's."""
    from dronefront.engine.sim import Sim

    scenario = load_scenario("kursk-assault", SHORT)
    env = rl.parallel_env(scenario, control="both", batteries=True, record=True)
    env.reset(seed=4)
    while env.agents:
        env.step({})  # no action: every agent keeps its standing order
    env.write_run(tmp_path / "doctrine", policy="doctrine")
    seed = env.engagement.seed
    run = load_run(tmp_path / "doctrine")
    assert run.summary == json.loads(json.dumps(Sim(scenario, seed).run().summary))
    assert run.manifest["seed"] == seed


def test_write_run_needs_record_and_keeps_foreign_folders(tmp_path) -> None:
    env = rl.DronefrontEnv("kursk-assault", overrides=["duration=30"])
    env.reset(seed=1)
    with pytest.raises(UserError, match="record=True"):
        env.write_run(tmp_path / "x")
    env = rl.DronefrontEnv("kursk-assault", overrides=["duration=30"], record=True)
    env.reset(seed=1)
    env.step(env.action_space.sample())
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="did not write"):
        env.write_run(mine)
    assert (mine / "keep.txt").read_text() == "mine"
    env.write_run(tmp_path / "ok")
    assert load_run(tmp_path / "ok").actions.num_rows == 4  # one decision of 4 platoons


def test_cli_rl_play_and_replay(tmp_path, capsys) -> None:
    from dronefront.cli import main

    def cli(argv):
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(argv)
        return info.value.code or 0, capsys.readouterr()

    out = tmp_path / "played"
    code, cap = cli(["rl", "play", "kursk-assault", "--policy", "random", "--seed", "2",
                     "--batteries", "--control", "both", "--set", "duration=200",
                     "--out", str(out)])
    assert code == 0, cap.err
    assert load_run(out).played_by["policy"] == "random (seed 2)"
    code, cap = cli(["replay", str(out), "-o", str(tmp_path / "r.html")])
    assert code == 0, cap.err
    assert "policy-played" in cap.out
    assert "played by random" in (tmp_path / "r.html").read_text()
    code, cap = cli(["rl", "play", "kursk-assault", "--policy", "greedy", "--out",
                     str(tmp_path / "g")])
    assert code == 2 and "unknown policy" in cap.err


def test_random_policy_is_reproducible() -> None:
    scenario = load_scenario("kursk-assault", ["duration=200"])
    a = Engagement(scenario, 9, control="both", batteries=True, record=True)
    b = Engagement(scenario, 9, control="both", batteries=True, record=True)
    assert play(a, "random", 9).summary == play(b, "random", 9).summary
    assert a.actions_table().equals(b.actions_table())
    c = Engagement(scenario, 9, control="both", batteries=True, record=True)
    play(c, "random", 10)
    assert not np.array_equal(a.actions_table()["move"].to_numpy(zero_copy_only=False),
                              c.actions_table()["move"].to_numpy(zero_copy_only=False))
