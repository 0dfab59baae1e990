"""Hostile input to the commands the other tables touch least: ``scenarios``, ``schema``,
``warmup`` and ``sensitivity``, and command lines that are wrong as command lines."""

from __future__ import annotations

import pytest

from tests.safety.hostile import Hostile, check

NOISE = """\
name: noise
kind: toy-noise
factors:
  x: {range: [0, 1]}
design: {DESIGN}
replicates: 2
metrics: [y]
"""
SOBOL = NOISE.replace("{DESIGN}", "{type: sobol, samples: 8, seed: 1}")
FACTORIAL = NOISE.replace("{DESIGN}", "{type: latin_hypercube, points: 4}")

CASES = [
    Hostile("scenarios-extra-argument", ["scenarios", "precious/notes.txt"],
            expect=("unexpected extra argument",)),
    Hostile("schema-unknown-option", ["schema", "--out", "precious"], expect=("--out",)),
    Hostile("warmup-extra-argument", ["warmup", "kursk-assault"],
            expect=("unexpected extra argument",)),
    Hostile("unknown-command", ["rn", "kursk-assault"], expect=("rn",)),
    Hostile("run-missing-scenario", ["run"], expect=("Missing argument",)),
    Hostile("run-seed-not-a-number", ["run", "kursk-assault", "--seed", "one"],
            expect=("--seed",)),
    Hostile("sensitivity-missing-metric", ["sensitivity", "e.yaml"], files={"e.yaml": SOBOL},
            expect=("--metric",)),
    Hostile("sensitivity-not-a-sensitivity-design", ["sensitivity", "e.yaml", "--metric", "y",
                                                     "--store", "s.duckdb"],
            files={"e.yaml": FACTORIAL}, expect=("e.yaml", "design", "sobol or morris")),
    Hostile("sensitivity-plot-is-a-folder", ["sensitivity", "e.yaml", "--metric", "y",
                                             "--plot", "precious", "--store", "s.duckdb"],
            files={"e.yaml": SOBOL}, expect=("--plot", "precious")),
    Hostile("sensitivity-plot-suffix", ["sensitivity", "e.yaml", "--metric", "y", "--plot",
                                        "t.txt", "--store", "s.duckdb"],
            files={"e.yaml": SOBOL}, expect=("--plot", "t.txt")),
    Hostile("sensitivity-plot-missing-folder", ["sensitivity", "e.yaml", "--metric", "y",
                                                "--plot", "no/such/t.png", "--store",
                                                "s.duckdb"],
            files={"e.yaml": SOBOL}, expect=("--plot",)),
    Hostile("sensitivity-store-is-a-file-of-yours", ["sensitivity", "e.yaml", "--metric", "y",
                                                     "--store", "precious/notes.txt"],
            files={"e.yaml": SOBOL}, expect=("precious/notes.txt",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_command_fails_safely(case: Hostile, tmp_path) -> None:
    check(case, tmp_path)
