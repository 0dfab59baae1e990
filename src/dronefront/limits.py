"""Bounded sizes: documented caps on what an input may ask for, checked before allocating.

Every size a file or an option controls (soldiers, drones, steps, design points, replicates,
campaign days, YAML nodes...) is compared with a cap at validation time, so a mistyped
``count: 1.0e+9`` is refused at once with one line instead of filling the machine's memory
for minutes. The defaults suit real work on a laptop; a big machine raises them with one
environment variable, a comma-separated list of ``name=number``::

    DRONEFRONT_LIMITS="soldiers=5e7,memory_gb=200" dronefront run big.yaml

The table and how to raise the caps: ``docs/limits.md``.

>>> check("replicates", 10)
>>> try:
...     check("replicates", 10**9, field="replicates")
... except UserError as exc:
...     print(exc.field, "|", exc.message.split(" (raise")[0])
replicates | 1,000,000,000 replicates exceeds the limit of 100,000
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator

from dronefront.errors import UserError

ENV = "DRONEFRONT_LIMITS"
GB = 1e9


@dataclass(frozen=True)
class Limit:
    """One cap: its name in ``DRONEFRONT_LIMITS``, default, unit and what it bounds."""

    name: str
    default: float
    unit: str
    what: str


def _memory_default() -> float:
    """Half the machine's physical memory, in GB (8 GB where the OS does not say)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = -1
    return total / 2 / GB if total > 0 else 8.0


#: The caps, in the order of ``docs/limits.md``.
TABLE: tuple[Limit, ...] = (
    Limit("soldiers", 10_000_000, "soldiers", "soldiers in one scenario (all units)"),
    Limit("drones", 1_000_000, "drones", "drone slots in one scenario (operator teams: "
          "the sum of the teams' counts; sorties reuse a slot)"),
    Limit("steps", 1_000_000, "steps", "steps of one run (duration / dt)"),
    Limit("design_points", 1_000_000, "design points", "points of one experiment's design, "
          "counted from its parameters before any is generated"),
    Limit("replicates", 100_000, "replicates", "replicates of an experiment or calibration "
          "(and bootstrap replicates of a Lanchester fit)"),
    Limit("runs", 1_000_000, "runs", "runs of one experiment (points x replicates) or "
          "calibration (trials x replicates)"),
    Limit("campaign_days", 10_000, "days", "days of a campaign (start to end)"),
    Limit("campaign_strength", 10_000_000, "soldiers", "soldiers who ever serve in a "
          "campaign (strength plus reinforcements)"),
    Limit("battalions", 1_000, "battalions", "battalions of a campaign force (note passing "
          "between them grows with the square)"),
    Limit("engagements", 100_000, "engagements", "engagements of a campaign "
          "(days x assaults per day)"),
    Limit("lanchester_days", 1_000_000, "days", "horizon of a Lanchester solution "
          "(one output row per day)"),
    Limit("yaml_bytes", 10_000_000, "bytes", "size of a YAML file"),
    Limit("input_bytes", 500_000_000, "bytes", "size of a CSV input (terrain raster, "
          "observations, strength data)"),
    Limit("yaml_nodes", 1_000_000, "nodes", "YAML nodes after alias expansion"),
    Limit("yaml_aliases", 10_000, "aliases", "YAML aliases (*name) in one file"),
    Limit("yaml_depth", 100, "levels", "nesting depth of YAML lists and mappings"),
    Limit("memory_gb", 0.0, "GB", "estimated memory of one run's state (default: half "
          "the machine's RAM, 8 GB where unknown)"),
)
LIMITS: dict[str, Limit] = {limit.name: limit for limit in TABLE}


def _parse(text: str) -> dict[str, float]:
    """Parse ``name=number,...``; any mistake is one UserError naming the variable."""
    out: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        name = name.strip()
        if name not in LIMITS:
            close = difflib.get_close_matches(name, list(LIMITS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UserError(f"unknown limit {name[:40]!r}{hint} (known: {', '.join(LIMITS)})",
                            field=ENV)
        try:
            value = float(raw) if sep else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise UserError(f"{name} must be a number > 0, like {name}=2e7 "
                            f"(got {raw.strip()[:40]!r})", field=ENV)
        out[name] = value
    return out


def current() -> dict[str, float]:
    """Every cap in force: the defaults overridden by ``DRONEFRONT_LIMITS``."""
    caps = {limit.name: limit.default for limit in TABLE}
    caps["memory_gb"] = _memory_default()
    caps.update(_parse(os.environ.get(ENV, "")))
    return caps


def cap(name: str) -> float:
    """The cap in force for ``name``.

    >>> cap("yaml_depth")
    100
    """
    return current()[name]


def fmt(value: float) -> str:
    """A count for a message: with thousands separators, or in e-notation when huge.

    >>> fmt(10_000_000), fmt(1e21), fmt(2.5)
    ('10,000,000', '1e+21', '2.5')
    """
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.3g}"


def excess(name: str, value: float, unit: str | None = None) -> str | None:
    """Why ``value`` breaks the cap ``name`` (a message without the field), or None.

    >>> excess("steps", 100) is None
    True
    """
    limit = LIMITS[name]
    bound = cap(name)
    if isinstance(value, float) and math.isnan(value):
        return f"{fmt(value)} is not a number"
    if value <= bound:
        return None
    shown = f"{value / GB:.1f}" if name == "memory_gb" else fmt(value)
    bound_text = f"{fmt(bound)} {limit.unit}" if name == "memory_gb" else fmt(bound)
    return (f"{shown} {unit or limit.unit} exceeds the limit of {bound_text} "
            f"(raise it with {ENV}={name}=...)")


def check(name: str, value: float, *, unit: str | None = None, file: str | None = None,
          line: int | None = None, field: str | None = None) -> None:
    """Raise a one-line :class:`UserError` if ``value`` is over the cap ``name``."""
    problem = excess(name, value, unit)
    if problem is not None:
        raise UserError(problem, file=file, line=line, field=field)


def require(name: str, value: float, field: str, unit: str | None = None) -> None:
    """Raise ``ValueError("field: ...")`` if ``value`` is over the cap ``name``.

    For pydantic validators: the loaders turn the message into a UserError at the field's
    line.
    """
    problem = excess(name, value, unit)
    if problem is not None:
        raise ValueError(f"{field}: {problem}")


def whole(value: Any) -> Any:
    """A float with no fractional part as an int, so that ``count: 1.0e+21`` reaches the
    cap check (pydantic refuses ints that large with a less useful message).

    >>> whole(1e21) == 10**21, whole(2.5), whole("x")
    (True, 2.5, 'x')
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


#: An integer count field: a whole float such as ``1.0e+21`` is taken as the int it names,
#: so it meets its cap rather than pydantic's integer-size error.
Count = Annotated[int, BeforeValidator(whole)]


# --------------------------------------------------------------------------- memory
#: Bytes per item of the engine's state, with headroom for the temporaries the build and the
#: stages make (measured on reference-open-field, rounded up): see docs/limits.md.
BYTES_PER_SOLDIER = 256
BYTES_PER_PLATOON = 2048
BYTES_PER_DRONE = 1024
BYTES_PER_STEP = 512
BYTES_PER_GRID_CELL = 48  # two per-side neighbour grids of three int64 arrays
GRID_CELL = 10.0  # metres, as dronefront.engine.spatial.GRID_CELL (a test keeps them equal)


def scenario_memory(scenario: Any) -> dict[str, float]:
    """Estimated bytes a run of ``scenario`` needs, by the field that drives each part.

    Counts the state arrays from the scenario's shapes (soldiers, platoons, drone slots,
    per-step series, terrain raster, neighbour grids over each side's start area); nothing
    is allocated.
    """
    parts: dict[str, float] = {}
    for side_name in type(scenario.sides).model_fields:
        side = getattr(scenario.sides, side_name)
        box = [math.inf, math.inf, -math.inf, -math.inf]
        for i, unit in enumerate(side.units):
            platoons = math.ceil(unit.count / unit.platoon_size)
            parts[f"sides.{side_name}.units.{i}.count"] = (
                unit.count * BYTES_PER_SOLDIER + platoons * BYTES_PER_PLATOON
                * (1 + len(unit.waypoints) / 16))
            doc, layout = unit.doctrine, unit.layout
            columns = layout.columns or max(1, math.ceil(math.sqrt(platoons)))
            rows = math.ceil(platoons / columns)
            frontage = min(unit.platoon_size, unit.count) * doc.spacing
            across = columns * (abs(layout.dx) if layout.dx is not None else frontage) + frontage
            deep = rows * abs(layout.dy) + frontage
            # The unit's footprint at the start: platoons across to the right of its heading
            # and back from it (as build_state lays them out); its corners bound the grid.
            hx, hy = unit.heading
            for a, b in ((-frontage, frontage), (across, frontage), (-frontage, -deep),
                         (across, -deep)):
                x = unit.start[0] + a * hy + b * hx
                y = unit.start[1] - a * hx + b * hy
                box = [min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)]
        if side.units:
            cells = ((box[2] - box[0]) / GRID_CELL + 2) * ((box[3] - box[1]) / GRID_CELL + 2)
            parts[f"sides.{side_name}.units"] = cells * BYTES_PER_GRID_CELL
        for i, team in enumerate(side.teams):
            parts[f"sides.{side_name}.teams.{i}.count"] = team.count * BYTES_PER_DRONE
    parts["duration"] = scenario.duration / scenario.dt * BYTES_PER_STEP
    x0, y0, x1, y1 = scenario.terrain.bounds
    cells = ((x1 - x0) / scenario.terrain.cell_size + 1) * ((y1 - y0) / scenario.terrain.cell_size
                                                             + 1)
    polygons = any(f.polygon is not None for f in scenario.terrain.features)
    parts["terrain.cell_size"] = cells * (33 if polygons else 1)
    return parts


def check_scenario(scenario: Any) -> None:
    """Every size cap of an engagement scenario; raises ``ValueError("field: ...")``."""
    steps = scenario.duration / scenario.dt
    require("steps", steps, "duration", unit=f"steps (duration / dt = "
            f"{fmt(scenario.duration)} / {scenario.dt:g})")
    soldiers = drones = 0
    for side_name in type(scenario.sides).model_fields:
        side = getattr(scenario.sides, side_name)
        for i, unit in enumerate(side.units):
            require("soldiers", unit.count, f"sides.{side_name}.units.{i}.count")
            soldiers += unit.count
        for i, team in enumerate(side.teams):
            require("drones", team.count, f"sides.{side_name}.teams.{i}.count")
            drones += team.count
    require("soldiers", soldiers, "sides", unit="soldiers in all")
    require("drones", drones, "sides", unit="drone slots in all")
    parts = scenario_memory(scenario)
    total = sum(parts.values())
    if total > cap("memory_gb") * GB:
        where = max(parts, key=lambda k: parts[k])
        require("memory_gb", total, where, unit=f"GB of memory (estimated; mostly {where})")


# --------------------------------------------------------------------------- YAML
def check_yaml_events(text: str, file: str) -> None:
    """Bound a YAML text's size, nesting depth, aliases and expanded nodes before composing.

    Reads the event stream (PyYAML's parser is iterative, unlike its composer, which
    recurses once per level); counts every node as it would be after alias expansion, so a
    "billion laughs" file is refused after a few hundred events. YAML syntax errors are
    left to the caller's parser (raised as ``yaml.YAMLError``).
    """
    import yaml

    check("yaml_bytes", len(text), unit="characters", file=file)
    depth_cap, alias_cap, node_cap = cap("yaml_depth"), cap("yaml_aliases"), cap("yaml_nodes")
    sizes: dict[str, int] = {}
    open_: list[tuple[str | None, int]] = []  # (anchor, nodes counted when it opened)
    nodes = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > alias_cap:
                check("yaml_aliases", aliases, file=file, line=line)
            nodes += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            open_.append((event.anchor, nodes - 1))
            if len(open_) > depth_cap:
                check("yaml_depth", len(open_), unit="levels of nesting", file=file, line=line)
        elif isinstance(event, yaml.CollectionEndEvent) and open_:
            anchor, before = open_.pop()
            if anchor is not None:
                sizes[anchor] = nodes - before
        if nodes > node_cap:
            check("yaml_nodes", nodes, unit="nodes (after expanding aliases)", file=file,
                  line=line)


def check_file_size(path: Any, file: str, cap: str = "yaml_bytes",
                    field: str | None = None) -> None:
    """Refuse a file over the cap ``cap`` (``yaml_bytes`` or ``input_bytes``) before reading
    it (no error if it cannot be stat'ed: reading it then reports that)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return
    check(cap, size, file=file, field=field)
