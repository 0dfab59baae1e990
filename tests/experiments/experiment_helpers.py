"""Helpers for the experiment tests: write small experiment files, compare stores."""

from __future__ import annotations

import math
from pathlib import Path

PI = math.pi

#: A fast engagement: 60 soldiers, 2 minutes of the reference model.
FAST = "{parameters.N: 60, duration: 120}"


def write(path: Path, text: str) -> Path:
    """Write ``text`` (dedented by the caller) to ``path`` and return it."""
    path.write_text(text)
    return path


def small_engagement(tmp: Path, *, points: int = 6, replicates: int = 3,
                     timeseries: bool = False, name: str = "small.yaml") -> Path:
    """A Latin hypercube over spacing and drill on the reference model."""
    return write(tmp / name, f"""\
name: small
scenario: reference-open-field
overrides: {FAST}
factors:
  sides.attacker.units.0.doctrine.spacing: {{range: [1, 10]}}
  sides.attacker.units.0.doctrine.drill: {{levels: [[], [engage]]}}
design: {{type: latin_hypercube, points: {points}, seed: 2}}
replicates: {replicates}
seed: 5
metrics:
  - sides.attacker.casualties
  - sides.attacker.killed
  - "sides.attacker.munitions.*"
  - exchange_ratio
timeseries: {str(timeseries).lower()}
""")


def ishigami(tmp: Path, samples: int = 512) -> Path:
    """A Sobol experiment on the Ishigami toy model."""
    return write(tmp / "ishigami.yaml", f"""\
name: ishigami
kind: toy-ishigami
factors:
  x1: {{range: [{-PI!r}, {PI!r}]}}
  x2: {{range: [{-PI!r}, {PI!r}]}}
  x3: {{range: [{-PI!r}, {PI!r}]}}
design: {{type: sobol, samples: {samples}, seed: 1}}
metrics: [y]
""")
