"""ABC-SMC calibration: coordinates, determinism across executors, resume after Ctrl-C,
posterior storage, forecast quantiles, validation blocks and the shipped posterior."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from dronefront.errors import UserError
from dronefront.experiments.abc import (
    ABCSettings,
    calibrate_abc,
    decode,
    encode,
    history_path,
    identification,
    until_plan,
    weighted_quantile,
)
from dronefront.experiments.calibration import load_calibration
from dronefront.experiments.executors import Executor, LocalExecutor
from dronefront.experiments.forecast import (
    QUANTILES,
    forecast,
    load_posterior,
    read_posterior_file,
    write_posterior_file,
)
from dronefront.experiments.models import attrition
from dronefront.experiments.spec import Factor
from dronefront.experiments.store import Store
from dronefront.experiments.validation import BEGIN, END, markdown, write_section
from tests.experiments.experiment_helpers import write

TRUE = {"rate": 0.02, "learning": 0.03, "kill_share": 0.25}
SMALL = ABCSettings(population=16, generations=3, batch=4)


def observations(folder, truth=TRUE, seed=0, noise=0.0, widen=0.08):
    """Intervals of +-``widen`` around one run of the synthetic campaign."""
    over = [f"{k}={v}" for k, v in truth.items()] + [f"noise={noise}"]
    f = attrition("", seed, over)[1].to_pandas()
    lines = ["date,source,window,cas_low,cas_high,kill_low,kill_high"]
    for day, source in ((6, "a"), (15, "b"), (25, "a"), (40, "c")):
        r = f.iloc[day]
        c, k = r.cumulative_casualties, r.cumulative_killed
        lines.append(f"{r.date},{source},cumulative,{c * (1 - widen):.1f},{c * (1 + widen):.1f},"
                     f"{k * (1 - widen):.1f},{k * (1 + widen):.1f}")
    (folder / "obs.csv").write_text("\n".join(lines) + "\n")


CAL = """\
name: abc-toy
kind: toy-attrition
overrides: {{noise: {noise}}}
parameters:
  rate: {{range: [0.005, 0.06], log: true}}
  learning: {{range: [0.0, 0.1]}}
  kill_share: {{range: [0.05, 0.6]}}
observed:
  file: obs.csv
  series:
    - {{model: cumulative_casualties, low: cas_low, high: cas_high}}
    - {{model: cumulative_killed, low: kill_low, high: kill_high}}
replicates: {replicates}
seed: {seed}
"""


def toy(folder, *, noise=0.0, replicates=1, seed=3, truth=TRUE, data_seed=0):
    observations(folder, truth, data_seed, noise)
    return write(folder / "cal.yaml", CAL.format(noise=noise, replicates=replicates,
                                                 seed=seed))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("abc")
    path = toy(tmp)
    return path, tmp, calibrate_abc(path, settings=SMALL, store=tmp / "s.duckdb")


def test_unit_coordinates_round_trip():
    log = Factor(range=[0.01, 1.0], log=True)
    assert decode(log, encode(log, 0.1)) == pytest.approx(0.1)
    levels = Factor(levels=["2024-12-05", "2024-12-09", "2024-12-12"])
    assert [decode(levels, u) for u in (0.0, 0.34, 0.999, 1.0)] == \
        ["2024-12-05", "2024-12-09", "2024-12-12", "2024-12-12"]
    assert decode(levels, encode(levels, "2024-12-09")) == "2024-12-09"
    assert decode(Factor(range=[1, 6], integer=True), 0.99) == 6


def test_weighted_quantile_follows_the_weights():
    v = np.arange(10.0)
    w = np.where(v >= 5, 1.0, 1e-9)
    assert weighted_quantile(v, w, [0.15])[0] >= 5 and weighted_quantile(v, w, [0.05])[0] > 4
    assert weighted_quantile(v, np.ones(10), [0.5])[0] == pytest.approx(4.5)


def test_until_keeps_earlier_observations_and_changes_the_key(fitted):
    path, _, _ = fitted
    plan = load_calibration(path)
    cut = until_plan(plan, plan.observations[3].date)
    assert {o.date for o in cut.observations} == {o.date for o in plan.observations[:4]}
    assert [o.index for o in cut.observations] == list(range(len(cut.observations)))
    assert cut.key != plan.key
    with pytest.raises(UserError, match="no observation"):
        until_plan(plan, dt.date(2000, 1, 1))


def test_posterior_narrows_around_the_truth_and_is_stored(fitted):
    path, tmp, result = fitted
    assert len(result.particles) == SMALL.population
    assert result.particles.weight.sum() == pytest.approx(1.0)
    eps = result.generations.epsilon.to_numpy()
    assert np.isinf(eps[0]) and np.all(np.diff(eps[1:]) <= 0)
    ident = result.identification.set_index("parameter")
    # the casualty curve pins the rate; the killed curve the kill share
    assert ident.loc["rate", "q05"] <= TRUE["rate"] <= ident.loc["rate", "q95"]
    assert ident.loc["rate", "width_ratio"] < 0.7
    with Store(tmp / "s.duckdb") as db:
        particles, gens = db.posterior(result.key)
    assert np.allclose(particles.weight, result.particles.weight)
    assert particles["rate"].tolist() == result.particles["rate"].tolist()
    assert len(gens) == len(result.generations)
    assert history_path(tmp / "s.duckdb", result.key).is_file()


def test_identification_flags_an_uninformed_parameter(fitted):
    _, _, result = fitted
    rng = np.random.default_rng(0)
    fake = result.particles.copy()
    fake["u:learning"] = rng.uniform(size=len(fake))
    fake["u:rate"] = 0.5 + 0.01 * rng.standard_normal(len(fake))
    fake["weight"] = 1 / len(fake)
    table = identification(result.plan, fake).set_index("parameter")
    assert not table.loc["learning", "identified"]
    assert table.loc["rate", "identified"]


def test_processes_executor_gives_the_same_posterior(fitted, tmp_path):
    path, _, result = fitted
    again = calibrate_abc(path, settings=SMALL, store=tmp_path / "p.duckdb",
                          executor="processes", workers=2)
    pd.testing.assert_frame_equal(again.particles, result.particles)


class Interrupting(Executor):
    """Runs tasks locally, then raises KeyboardInterrupt on the ``after``-th map call."""

    def __init__(self, after: int) -> None:
        self.inner, self.after, self.calls = LocalExecutor(), after, 0

    def map(self, fn, scenario, tasks, **kw):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return self.inner.map(fn, scenario, tasks, **kw)


def test_rerun_after_ctrl_c_continues_to_the_same_posterior(fitted, tmp_path):
    path, _, result = fitted
    store = tmp_path / "r.duckdb"
    with pytest.raises(KeyboardInterrupt):
        calibrate_abc(path, settings=SMALL, store=store, executor=Interrupting(9))
    with Store(store) as db:
        before = len(db.runs(db.experiments()[0].key))
    assert before > 0
    again = calibrate_abc(path, settings=SMALL, store=store)
    pd.testing.assert_frame_equal(again.particles, result.particles)
    assert again.ran < result.ran  # the stored simulations were not run again
    # more generations continue the stored history instead of starting over
    more = calibrate_abc(path, settings=dataclass_replace(SMALL, generations=4), store=store)
    assert len(more.generations) == 4
    pd.testing.assert_frame_equal(more.generations.iloc[:3], result.generations)


def test_budget_holds_inside_a_generation_and_the_cut_one_is_dropped(tmp_path):
    """--max-runs counts runs (replicates); a generation the budget cuts short is not
    stored, the posterior is that of the finished generations, a rerun with the same
    budget gives it again from the store, and a larger budget finishes the cut one."""
    path = toy(tmp_path, replicates=2)
    full = calibrate_abc(path, settings=SMALL, store=tmp_path / "full.duckdb")
    runs = full.generations.simulations.tolist()  # runs per generation (2 per proposal)
    budget = runs[0] + runs[1] + 2 * (runs[2] // 4) + 1  # odd: half a proposal is not run
    cut_settings = dataclass_replace(SMALL, max_runs=budget)
    store = tmp_path / "cut.duckdb"
    cut = calibrate_abc(path, settings=cut_settings, store=store)
    assert full.ran == sum(runs)  # every run simulated is one pyABC counted
    assert runs[0] + runs[1] < cut.ran == budget - 1
    assert cut.cut is not None and cut.cut["generation"] == 2
    assert cut.cut["accepted"] < SMALL.population
    assert cut.cut["proposals"] == (budget - runs[0] - runs[1]) // 2
    pd.testing.assert_frame_equal(cut.generations, full.generations.iloc[:2])
    two = calibrate_abc(path, settings=dataclass_replace(SMALL, generations=2),
                        store=tmp_path / "two.duckdb")
    assert two.cut is None
    pd.testing.assert_frame_equal(cut.particles, two.particles)
    with Store(store) as db:
        _, gens = db.posterior(cut.key)
    assert len(gens) == 2  # the cut generation is not stored as if complete
    again = calibrate_abc(path, settings=cut_settings, store=store)
    assert again.ran == 0
    pd.testing.assert_frame_equal(again.particles, cut.particles)
    more = calibrate_abc(path, settings=SMALL, store=store)
    pd.testing.assert_frame_equal(more.particles, full.particles)
    assert more.ran == full.ran - cut.ran  # the cut generation's runs reused
    with pytest.raises(UserError, match="generation 0"):
        calibrate_abc(path, settings=dataclass_replace(SMALL, max_runs=2 * 16 - 1),
                      store=tmp_path / "none.duckdb")


def test_cli_says_which_generation_the_budget_dropped(tmp_path, capsys):
    from dronefront.cli import main

    path = toy(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["calibrate", str(path), "--method", "abc", "--population", "16",
              "--generations", "3", "--max-runs", "30", "--store", str(tmp_path / "c.duckdb")])
    assert stop.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "generation 1 reached --max-runs with" in out and "was dropped" in out


def dataclass_replace(settings, **kw):
    import dataclasses

    return dataclasses.replace(settings, **kw)


def test_forecast_quantiles_are_ordered_and_reproducible(fitted, tmp_path):
    path, tmp, result = fitted
    until = dt.date(2025, 1, 20)
    a = forecast(result.plan.spec.name, until, store=tmp / "s.duckdb", draws=12)
    b = forecast(result.plan.spec.name, until, store=tmp / "s.duckdb", draws=12)
    pd.testing.assert_frame_equal(a.quantiles, b.quantiles)
    q = a.quantiles[list(QUANTILES)].to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-9)
    assert a.quantiles.date.max() == until
    # the 90% interval really holds 90% of the draws on a date
    day = a.runs[a.runs.date == until]["cumulative_casualties"]
    band = a.at(until)
    assert ((day >= band["q05"]) & (day <= band["q95"])).mean() >= 0.8
    checks = a.checks()
    assert len(checks) == len(result.plan.observations) and checks.hit.dtype == bool
    folder = a.write(tmp_path / "fc")
    assert {p.name for p in folder.iterdir()} >= {"manifest.json", "forecast.csv",
                                                  "checks.csv", "forecast.png"}
    from dronefront.viz.report import build_report

    html = build_report(folder)
    assert "Predictive quantiles" in html and "90%" in html


def test_posterior_file_round_trip(fitted, tmp_path):
    _, tmp, result = fitted
    post = load_posterior(result.plan.spec.name, tmp / "s.duckdb")
    post.provenance = {"method": "test"}
    path = write_posterior_file(tmp_path / "p.yaml", post, {"noise": 0.0})
    back = read_posterior_file(path)
    assert back.parameters == post.parameters and back.fixed == ["noise=0.0"]
    assert np.allclose(back.particles.weight, post.particles.weight, atol=1e-7)
    assert back.medians()["rate"] == pytest.approx(post.medians()["rate"], rel=1e-6)
    (tmp_path / "bad.yaml").write_text("name: x\nparticles: 3\n")
    with pytest.raises(UserError, match="not a posterior file"):
        read_posterior_file(tmp_path / "bad.yaml")


def test_validation_block_replaces_only_its_own_section(tmp_path):
    doc = tmp_path / "validation.md"
    doc.write_text("# Validation\n\nPattern table here.\n")
    row = {"date": dt.date(2025, 1, 13), "series": "killed", "low": 240.0, "high": 360.0,
           "q05": 100.0, "median": 250.0, "q95": 400.0, "hit": True}
    split = pd.DataFrame([row])
    loso = pd.DataFrame([{"left_out": "NIS", **row, "hit": False}])
    block = markdown(split, loso, split=dt.date(2024, 12, 27), settings=ABCSettings(),
                     draws=40, seconds=60, command="x")
    write_section(doc, block)
    write_section(doc, block.replace("hit |", "HIT |"))
    text = doc.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "Pattern table here." in text and "| NIS |" in text and "miss" in text


def test_cli_rejects_an_unknown_method_and_a_bad_date(fitted, capsys):
    from dronefront.cli import main

    path, _, _ = fitted
    for args in (["--method", "mcmc"], ["--method", "abc", "--until", "13/01/2025"]):
        with pytest.raises(SystemExit) as stop:
            main(["calibrate", str(path), *args])
        assert stop.value.code == 2
    text = capsys.readouterr().err
    assert "--method must be optimize or abc" in text and "ISO date" in text


def test_shipped_posterior_reads_and_names_its_provenance():
    from dronefront.experiments.forecast import builtin_posterior

    post = builtin_posterior("kursk-campaign")
    assert post.kind == "campaign" and len(post.particles) >= 10
    assert {"data", "method", "date", "command"} <= set(post.provenance)
    assert post.observations  # the dated data it was fitted to, for the checks


@pytest.mark.slow
def test_ninety_percent_posterior_intervals_cover_the_truth(tmp_path):
    """Acceptance 1: over synthetic campaigns with known parameters (noisy, 2 replicates),
    the 90% posterior interval holds the true value of each identified parameter."""
    hits = total = 0
    rng = np.random.default_rng(11)
    for k in range(6):
        truth = {"rate": float(np.exp(rng.uniform(np.log(0.01), np.log(0.04)))),
                 "learning": float(rng.uniform(0.01, 0.06)),
                 "kill_share": float(rng.uniform(0.15, 0.45))}
        folder = tmp_path / f"c{k}"
        folder.mkdir()
        path = toy(folder, noise=0.15, replicates=2, seed=100 + k, truth=truth,
                   data_seed=1000 + k)
        result = calibrate_abc(path, settings=ABCSettings(population=40, generations=5),
                               store=folder / "s.duckdb")
        for r in result.identification.itertuples(index=False):
            if r.identified:
                total += 1
                hits += r.q05 <= truth[r.parameter] <= r.q95
    print(json.dumps({"covered": hits, "identified": total}))
    assert total >= 8  # rate and kill share at least are identified in most campaigns
    assert hits / total >= 0.75


def test_time_split_and_leave_one_source_out_check_only_unseen_figures(fitted, tmp_path):
    from dronefront.experiments.validation import leave_one_source_out, time_split

    path, _, _ = fitted
    plan = load_calibration(path)
    split = plan.observations[3].date  # the second date: two later dates stay unseen
    table = time_split(path, split, settings=ABCSettings(population=12, generations=2),
                       store=tmp_path / "v.duckdb", draws=8)
    assert len(table) == 4 and (table.date > split).all()
    assert table.hit.dtype == bool and (table.q05 <= table.q95).all()
    loso = leave_one_source_out(path, settings=ABCSettings(population=12, generations=2),
                                store=tmp_path / "v.duckdb", draws=8)
    assert set(loso.left_out) == {"a", "b", "c"}
    assert len(loso) == len(plan.observations)
