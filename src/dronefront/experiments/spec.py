"""Experiment files: YAML validated with pydantic, errors as one line with file, line and field.

An experiment names a base scenario and a model kind, the factors to vary (dotted paths into
the scenario, each with a ``range`` or ``levels``), a design, replicates and the metrics to keep::

    name: spacing-vs-drill
    scenario: kursk-assault            # built-in name, or a path relative to this file
    kind: engagement                   # model kind (see dronefront.experiments.models)
    factors:
      sides.attacker.units.0.doctrine.spacing: {levels: [1.5, 5, 10]}
      sides.attacker.units.0.doctrine.shooters: {range: [0, 12], integer: true}
    design: {type: latin_hypercube, points: 20, seed: 3}
    replicates: 10
    seed: 1                            # replicate r runs with seed = seed + r at every point
    metrics: [sides.attacker.casualties, "sides.*.killed"]

>>> exp = parse_experiment('''
... name: t
... kind: toy-ishigami
... factors: {x1: {range: [-3.14, 3.14]}}
... design: {type: latin_hypercube, points: 4}
... metrics: [y]
... ''', "t.yaml")
>>> exp.design.type, exp.factors["x1"].range
('latin_hypercube', (-3.14, 3.14))
"""

from __future__ import annotations

import math
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dronefront.arguments import check_path
from dronefront.errors import UserError
from dronefront.experiments.executors import MAX_CHUNK
from dronefront.limits import Count, check_file_size, fmt, require
from dronefront.scenario.loader import explain_error, line_for, parse_yaml

Lines = dict[tuple, int]
DesignType = Literal["full_factorial", "latin_hypercube", "nolh", "sobol", "morris"]

#: Which optional design fields each design type accepts.
DESIGN_FIELDS: dict[str, set[str]] = {
    "full_factorial": set(),
    "latin_hypercube": {"points", "seed"},
    "nolh": {"points"},
    "sobol": {"samples", "second_order", "seed"},
    "morris": {"trajectories", "levels", "seed"},
}


class SpecModel(BaseModel):
    """Base of the experiment and calibration file sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(SpecModel):
    """One input varied by the design: a numeric ``range`` or a list of ``levels``.

    A range is sampled uniformly (log-uniformly with ``log: true``); ``integer: true`` gives
    every whole number in the range the same share. Levels may be any YAML values
    (numbers, names, lists): space-filling designs pick them in equal shares.
    """

    range: tuple[float, float] | None = None
    levels: list[Any] | None = None
    integer: bool = False
    log: bool = False
    name: str | None = Field(None, description="Short name for tables and plots.")

    @model_validator(mode="after")
    def _check(self) -> Factor:
        if (self.range is None) == (self.levels is None):
            raise ValueError("give exactly one of 'range: [low, high]' or 'levels: [...]'")
        if self.range is not None:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
                raise ValueError(f"range: must be [low, high] with low < high "
                                 f"(got {[low, high]})")
            if self.log and low <= 0:
                raise ValueError("range: a log range needs low > 0")
            if self.integer and (low != int(low) or high != int(high)):
                raise ValueError("range: an integer range needs whole-number bounds")
        else:
            if not self.levels:
                raise ValueError("levels: must be a non-empty list")
            if self.integer or self.log:
                raise ValueError("'integer' and 'log' apply to ranges, not levels")
        return self

    def value(self, u: float) -> Any:
        """The factor's value at unit coordinate ``u`` in [0, 1].

        >>> Factor(range=(0, 10)).value(0.25), Factor(range=(0, 3), integer=True).value(0.99)
        (2.5, 3)
        >>> Factor(levels=["a", "b"]).value(0.5)
        'b'
        """
        u = min(max(float(u), 0.0), 1.0)
        if self.levels is not None:
            return self.levels[min(int(u * len(self.levels)), len(self.levels) - 1)]
        low, high = self.range  # type: ignore[misc]
        if self.integer:
            count = int(high - low) + 1
            return int(low) + min(int(u * count), count - 1)
        if self.log:
            return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))
        return float(low + u * (high - low))


class Design(SpecModel):
    """The design: which points of the factor space to run.

    ``full_factorial`` (every combination of levels), ``latin_hypercube`` (``points``,
    ``seed``), ``nolh`` (nearly orthogonal Latin hypercube; ``points`` is a minimum),
    ``sobol`` (Saltelli sampling: ``samples`` a power of two, ``second_order``) and
    ``morris`` (``trajectories``, grid ``levels``).
    """

    type: DesignType
    points: Count | None = Field(None, ge=2)
    seed: int = 0
    samples: Count = Field(256, ge=2)
    second_order: bool = False
    trajectories: Count = Field(10, ge=2)
    levels: int = Field(4, ge=2)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"type": data}
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            allowed = DESIGN_FIELDS.get(data["type"])
            if allowed is not None:
                for key in data:
                    if key != "type" and key not in allowed:
                        hint = ", ".join(sorted(allowed)) or "none"
                        raise ValueError(f"design.{key}: does not apply to design "
                                         f"{data['type']} (its fields: {hint})")
        return data

    @model_validator(mode="after")
    def _check(self) -> Design:
        if self.type == "latin_hypercube" and self.points is None:
            raise ValueError("design.points: a latin_hypercube needs 'points'")
        if self.type == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"design.samples: must be a power of two (got {self.samples})")
        return self

    def count(self, k: int, levels: list[int] | None = None) -> tuple[int, str]:
        """How many points this design has for ``k`` factors (``levels``: each factor's
        number of levels, for a full factorial), and the field that sets it; computed from
        the parameters alone, before any point is generated.

        >>> Design(type="sobol", samples=1024).count(3)
        (5120, 'design.samples')
        >>> Design(type="nolh").count(8)
        (33, 'factors')
        """
        if self.type == "full_factorial":
            return math.prod(levels or []), "factors"
        if self.type == "latin_hypercube":
            return int(self.points or 0), "design.points"
        if self.type == "nolh":
            return 2 ** nolh_order(k, self.points) + 1, (
                "factors" if self.points is None else "design.points")
        if self.type == "sobol":
            return self.samples * (2 * k + 2 if self.second_order else k + 2), "design.samples"
        return self.trajectories * (k + 1), "design.trajectories"


def nolh_order(k: int, points: int | None = None) -> int:
    """The ``m`` of a nearly orthogonal Latin hypercube's ``2^m + 1`` runs: the smallest
    with ``2m - 2 >= k`` columns or, given ``points``, with ``2^m + 1 >= points`` runs.

    >>> nolh_order(4), nolh_order(1, points=17), nolh_order(1, points=18)
    (3, 4, 5)
    """
    if points is not None:
        return max(2, (int(points) - 2).bit_length())
    return max(2, -(-k // 2) + 1)


class Experiment(SpecModel):
    """An experiment file: base scenario, model kind, factors, design, replicates, metrics.

    Without ``factors`` (and with the default ``full_factorial`` design) an experiment is a
    single point: replicates of the base scenario.
    """

    name: str
    description: str = ""
    scenario: str | None = Field(None, description="Built-in name or path (relative to file).")
    kind: str | None = Field(None, description="Model kind; default from the scenario file.")
    overrides: dict[str, Any] = Field(default_factory=dict,
                                      description="Fixed dotted-path changes at every point.")
    factors: dict[str, Factor] = Field(default_factory=dict)
    design: Design = Design(type="full_factorial")
    replicates: Count = Field(1, ge=1)
    seed: int = Field(0, ge=0, description="Base seed: replicate r uses seed + r.")
    metrics: list[str] = Field(min_length=1)
    timeseries: bool = False
    chunk: int | None = Field(
        None, ge=1, le=MAX_CHUNK,
        description="Runs sent to a worker at a time (for engagements: replicates of one "
                    "design point run as one ensemble); default: sized from the run time. "
                    "Never changes results.")

    @field_validator("factors")
    @classmethod
    def _factors(cls, value: dict[str, Factor]) -> dict[str, Factor]:
        for path in value:
            if not all(part for part in str(path).split(".")):
                raise ValueError(f"{path!r} is not a dotted field path")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        for metric in value:
            if not metric or not all(part for part in metric.split(".")):
                raise ValueError(f"{metric!r} is not a dotted path into the summary")
        if len(set(value)) != len(value):
            raise ValueError("metrics are listed twice")
        return value

    @model_validator(mode="after")
    def _check(self) -> Experiment:
        if not self.factors and self.design.type != "full_factorial":
            raise ValueError(f"factors: a {self.design.type} design needs at least one factor "
                             f"(without factors, the experiment is one point: replicates only)")
        if self.design.type == "full_factorial":
            for path, factor in self.factors.items():
                if factor.levels is None:
                    raise ValueError(f"factors.{path}: a full_factorial design needs 'levels' "
                                     f"for every factor")
        levels = [len(f.levels or []) for f in self.factors.values()]
        points, where = self.design.count(len(self.factors), levels)
        require("design_points", points, where, unit="design points")
        require("replicates", self.replicates, "replicates")
        require("runs", points * self.replicates, "replicates",
                unit=f"runs ({fmt(points)} points x {fmt(self.replicates)} replicates)")
        taken = {"point", "replicate", "seed", *self.metrics}
        names = [f.name for f in self.factors.values() if f.name]
        for path, factor in self.factors.items():
            if factor.name in taken or names.count(factor.name or "") > 1:
                raise ValueError(f"factors.{path}.name: {factor.name!r} is already the name of "
                                 f"a metric, a key column or another factor")
        return self

    def factor_names(self) -> dict[str, str]:
        """Short, unique display names for the factors (path -> name).

        >>> e = Experiment(name="x", factors={"a.b.0.strength": {"levels": [1]},
        ...     "a.b.1.strength": {"levels": [1]}, "c.spacing": {"levels": [1]}},
        ...     design="full_factorial", metrics=["y"])
        >>> list(e.factor_names().values())
        ['b.0.strength', 'b.1.strength', 'spacing']
        """
        return short_names({p: f.name for p, f in self.factors.items()},
                           reserved={"point", "replicate", "seed", *self.metrics})


def short_names(paths: dict[str, str | None],
                reserved: AbstractSet[str] = frozenset()) -> dict[str, str]:
    """Shortest unique suffixes of dotted paths (explicit names win).

    A suffix in ``reserved`` (a metric's or a key column's name) is lengthened, so factor
    and metric columns never collide.

    >>> short_names({"sides.attacker.killed": None}, reserved={"killed"})
    {'sides.attacker.killed': 'attacker.killed'}
    """
    out: dict[str, str] = {}
    for path, explicit in paths.items():
        if explicit:
            out[path] = explicit
            continue
        parts = path.split(".")
        for cut in range(1, len(parts) + 1):
            name = ".".join(parts[-cut:])
            clash = [p for p in paths if p != path and p.split(".")[-cut:] == parts[-cut:]]
            if not clash and not parts[-cut].isdigit() and name not in reserved:
                out[path] = name
                break
        else:
            out[path] = path
    return out


# --------------------------------------------------------------------------- loading
def display_field(loc: tuple) -> str:
    """A pydantic location as a dotted field (keys with dots in brackets).

    >>> display_field(("factors", "a.b", "range"))
    'factors[a.b].range'
    """
    out = ""
    for part in loc:
        text = str(part)
        if "." in text:
            out += f"[{text}]"
        else:
            out += ("." if out else "") + text
    return out


def validate_model(data: Any, model: type[BaseModel], *, file: str, lines: Lines,
                   what: str = "file") -> Any:
    """Validate plain data as ``model``; the first error becomes a one-line UserError."""
    if not isinstance(data, dict):
        raise UserError(f"an {what} must be a YAML mapping", file=file, line=1)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = explain_error(exc.errors()[0], model)
        raise UserError(message, file=file, line=line_for(loc, lines),
                        field=display_field(loc) or None) from None


def read_yaml(path: str | Path, what: str = "experiment") -> tuple[dict, Lines, str]:
    """Read a YAML file as data plus line map; errors as UserErrors naming the file."""
    check_path(path, what)
    display = str(path)
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such {what} file", file=display)
    check_file_size(p, display)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read file: {exc.__class__.__name__}", file=display) from None
    data, lines = parse_yaml(text, display)
    if not isinstance(data, dict):
        raise UserError(f"an {what} file must be a YAML mapping", file=display, line=1)
    return data, lines, display


def parse_experiment(text: str, file: str = "<experiment>") -> Experiment:
    """Validate experiment YAML text (no scenario or kind checks: see ``load_experiment``)."""
    data, lines = parse_yaml(text, file)
    return validate_model(data, Experiment, file=file, lines=lines, what="experiment")
