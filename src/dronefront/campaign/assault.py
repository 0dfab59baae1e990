"""One assault: companies with learned doctrines placed into an engagement template."""

from __future__ import annotations

import copy
from typing import Any

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
    data = copy.deepcopy(template)
    data["night"] = night
    proto = data["sides"]["attacker"]["units"][0]
    units = []
    n = len(sizes)
    for k, (size, doctrine) in enumerate(zip(sizes, doctrines, strict=True)):
        unit = copy.deepcopy(proto)
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
