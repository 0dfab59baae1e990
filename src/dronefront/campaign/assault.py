"""One assault: companies with learned doctrines placed into an engagement template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dronefront.io.jsonable import tree_copy

#: How doctrine dimensions map onto the engine's ``Doctrine`` fields.
DOCTRINE_FIELDS = {
    "spacing": "spacing", "shooters": "shooters", "spotters": "spotters",
    "concealment": "concealment_discipline", "night": "night_movement",
    "pace": "pace", "formation": "formation",
}


def apply_doctrine(unit: dict[str, Any], doctrine: dict[str, Any]) -> None:
    """Write a doctrine choice (from a :class:`DoctrineSpace`) into a unit mapping.

    >>> unit = {"doctrine": {}}
    >>> apply_doctrine(unit, {"spacing": 10.0, "drill": "decoy+engage"})
    >>> unit["doctrine"]
    {'drill': ['decoy', 'engage'], 'decoys': 1, 'spacing': 10.0}
    """
    doc = unit.setdefault("doctrine", {})
    drill = str(doctrine.get("drill", "none"))
    doc["drill"] = [] if drill == "none" else drill.split("+")
    doc["decoys"] = 1 if "decoy" in drill else 0
    for key, field_name in DOCTRINE_FIELDS.items():
        if key in doctrine:
            doc[field_name] = doctrine[key]


def assault_scenario(
    template: dict[str, Any],
    sizes: list[int],
    doctrines: list[dict[str, Any]],
    gap: float,
    night: bool,
) -> dict[str, Any]:
    """The template with its attacker units replaced by companies side by side.

    Company ``k`` is named ``company-{k+1}``, has ``sizes[k]`` soldiers and
    ``doctrines[k]``, and advances on the prototype's route shifted across by ``gap``.
    """
    data = tree_copy(template)
    data["night"] = night
    proto = data["sides"]["attacker"]["units"][0]
    units = []
    n = len(sizes)
    for k, (size, doctrine) in enumerate(zip(sizes, doctrines, strict=True)):
        unit = tree_copy(proto)
        shift = (k - (n - 1) / 2) * gap
        unit["name"] = f"company-{k + 1}"
        unit["count"] = int(size)
        unit["start"] = [proto["start"][0] + shift, proto["start"][1]]
        unit["waypoints"] = [[x + shift, y] for x, y in proto["waypoints"]]
        unit["layout"] = {**unit.get("layout", {}), "dx": None}
        apply_doctrine(unit, doctrine)
        units.append(unit)
    data["sides"]["attacker"]["units"] = units
    return data


#: Drone roles whose teams take the drone side's targeting policy.
POLICY_ROLES = ("fpv", "bomber", "loitering")


def field_teams(
    teams: list[dict[str, Any]],
    types: dict[str, dict[str, Any]],
    fibre_share: float,
    thermal_share: float,
    night: bool,
    policy: str,
    rebalance: Callable[[dict, dict, int, int], int] | None = None,
) -> tuple[list[dict[str, Any]], set[str]]:
    """The drone side's teams as its adapted state fields them (docs/model.md §15.5):
    FPV teams split radio/fibre by ``fibre_share`` (where both link types fly), at night a
    ``thermal_share`` of each FPV team flying the ``<type>_thermal`` variant, and ``policy``
    on every FPV, bomber and loitering team. ``rebalance(radio, fibre, total, n_fibre)``
    may move teams between link types (the campaign's stocks). Returns the teams and the
    thermal type names used (see :func:`add_thermal_types`)."""
    fpv = [t for t in teams if types[t["drone"]]["role"] == "fpv"]
    others = [t for t in teams if types[t["drone"]]["role"] != "fpv"]
    out = [tree_copy(t) for t in others]
    thermal: set[str] = set()
    if fpv:
        total = sum(t["count"] for t in fpv)
        radio = next((t for t in fpv if types[t["drone"]]["link"] == "radio"), None)
        fibre = next((t for t in fpv if types[t["drone"]]["link"] == "fibre"), None)
        n_fibre = round(total * fibre_share) if radio and fibre else 0
        if radio and fibre and rebalance is not None:
            n_fibre = rebalance(radio, fibre, total, n_fibre)
        split = [(radio, total - n_fibre), (fibre, n_fibre)] if radio and fibre else [
            (t, t["count"]) for t in fpv]
        for team, count in split:
            if team is None or count <= 0:
                continue
            n_thermal = round(count * thermal_share) if night else 0
            for kind, n in ((team["drone"], count - n_thermal),
                            (f"{team['drone']}_thermal", n_thermal)):
                if n > 0:
                    out.append({**tree_copy(team), "drone": kind, "count": n})
                    if kind.endswith("_thermal"):
                        thermal.add(kind)
    for team in out:
        role = types[team["drone"].removesuffix("_thermal")]["role"]
        if role in POLICY_ROLES:
            team["policy"] = policy
    return out, thermal


def add_thermal_types(data: dict[str, Any], types: dict[str, dict[str, Any]],
                      thermal: set[str]) -> None:
    """Declare each ``<type>_thermal`` variant: the base type, night-capable, at 1.5 times
    its cost (assumption, docs/model.md §15.5)."""
    for name in sorted(thermal):
        base = name.removesuffix("_thermal")
        data.setdefault("drone_types", {})[name] = {**types[base], "night_capable": True,
                                                     "cost": types[base]["cost"] * 1.5}
