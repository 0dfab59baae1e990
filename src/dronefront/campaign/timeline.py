"""A campaign's timeline: deliveries, production changes and technology, with a ledger.

Each morning, after production and before any assault, every event not yet fired whose
date is today, or whose condition holds on the morning's state, fires once: its items go
into the receiving side's stocks, its production rates replace the old ones, and its
technology changes the engagement template for every later engagement. The ledger keeps,
per stocked item (the defender's drones and shells, the attacker's counter-drone rounds
by weapon class, ``ammunition.CLASS``), what the campaign started with, produced, received
and spent, so that
``initial + produced + received - spent = final`` holds item by item; costs use the
scenario's own cost fields (a drone type's ``cost``, a battery's ``cost_per_round``).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

from dronefront.errors import UserError
from dronefront.scenario.loader import set_path, validate
from dronefront.scenario.models import DEFAULT_DRONE_TYPES

ITEM_FIELDS = ("initial", "produced", "received", "spent")


class Timeline:
    """The timeline of one campaign run (``_CampaignState.timeline``)."""

    def __init__(self, state: Any) -> None:
        self.state = state
        spec = state.spec
        self.events = spec.timeline
        self.fired = [False] * len(self.events)
        rounds = [f"ammunition.{name}" for name in spec.ammunition]
        items = [*spec.drone_stocks, "shells", *rounds]
        for k, event in enumerate(self.events):
            for key in ("receive", "production"):
                for item in getattr(event, key):
                    if item not in items:
                        raise UserError(f"not a stocked item; known: {items} (a drone type "
                                        "needs a drone_stocks entry, a weapon class an "
                                        "ammunition entry)",
                                        field=f"timeline.{k}.{key}.{item}")
        self.ledger = {name: dict.fromkeys(ITEM_FIELDS, 0.0) for name in items}
        for name in spec.drone_stocks:
            self.ledger[name]["initial"] = state.stock[name]
        self.ledger["shells"]["initial"] = state.shells
        for name in spec.ammunition:
            self.ledger[f"ammunition.{name}"]["initial"] = state.ammunition[name]
        self.log: list[dict[str, Any]] = []

    def values(self, day: int) -> dict[str, float]:
        """The names a ``when`` condition may use, on this morning's state."""
        state = self.state
        out = {f"stock.{name}": float(v) for name, v in state.stock.items()}
        out.update({f"ammunition.{name}": float(v) for name, v in state.ammunition.items()})
        out.update(shells=float(state.shells), day=float(day),
                   strength=float(state.roster.active.sum()),
                   casualties=float(state.cum["killed"] + state.cum["wounded"]))
        return out

    def unit_cost(self, item: str) -> float:
        if item == "shells":
            batteries = self.state.template["sides"]["defender"].get("batteries", [])
            return float(batteries[0]["cost_per_round"]) if batteries else 0.0
        if item.startswith("ammunition."):
            return 0.0  # weapon classes have no cost field: rounds are counted, not priced
        return float(self.state.types[item]["cost"])

    def morning(self, day: int, date: dt.date, row: dict[str, Any]) -> None:
        state = self.state
        for item in self.ledger:  # this morning's production, at the rate before events
            self.ledger[item]["produced"] += state.production[item]
        values = self.values(day)
        fired = 0
        for k, event in enumerate(self.events):
            if self.fired[k]:
                continue
            due = event.date == date if event.date is not None else event.holds(values)
            if not due:
                continue
            self.fired[k] = True
            fired += 1
            self._fire(k, event, day, date)
        row["timeline_events"] = fired

    def _fire(self, k: int, event: Any, day: int, date: dt.date) -> None:
        state = self.state
        cost = 0.0
        for item, n in event.receive.items():
            if item == "shells":
                state.shells += n
            elif item.startswith("ammunition."):
                state.ammunition[item.removeprefix("ammunition.")] += n
            else:
                state.stock[item] += n
            self.ledger[item]["received"] += n
            cost += n * self.unit_cost(item)
        for item, rate in event.production.items():
            state.production[item] = rate
        if event.engagement:
            changed = copy.deepcopy(state.template)
            for dotted, value in event.engagement.items():
                set_path(changed, dotted, value, file=f"timeline.{k}.engagement")
            state.template = validate(changed, file=f"timeline.{k}.engagement").model_dump(
                mode="json")
            state.types = {**{n: t.model_dump(mode="json")
                              for n, t in DEFAULT_DRONE_TYPES.items()},
                           **state.template["drone_types"]}
            fpv = {n for n, t in state.types.items() if t["role"] == "fpv"}
            state.fpv_types = fpv | {f"{n}_thermal" for n in fpv}
        self.log.append({
            "event": k, "label": event.label, "side": event.side, "day": day,
            "date": date.isoformat(), "trigger": event.when or "date",
            "received": dict(event.receive), "received_cost_usd": cost,
            "production": dict(event.production), "engagement": dict(event.engagement),
        })

    def spent(self, item: str, n: float) -> None:
        if item in self.ledger:
            self.ledger[item]["spent"] += n

    def report(self) -> dict[str, Any]:
        """Per item: initial, produced, received, spent, final and their costs; per side:
        what it received (items and cost) and spent; the events as they fired."""
        state = self.state
        items: dict[str, dict[str, Any]] = {}
        for item, entry in self.ledger.items():
            final = (state.shells if item == "shells" else
                     state.ammunition[item.removeprefix("ammunition.")]
                     if item.startswith("ammunition.") else state.stock[item])
            unit = self.unit_cost(item)
            items[item] = {**entry, "final": float(final) if math.isfinite(final) else None,
                           "unit_cost_usd": unit,
                           **{f"{key}_cost_usd": entry[key] * unit for key in ITEM_FIELDS}}
        sides: dict[str, dict[str, Any]] = {}
        for side in ("attacker", "defender"):
            mine = [e for e in self.log if e["side"] == side]
            received: dict[str, float] = {}
            for e in mine:
                for item, n in e["received"].items():
                    received[item] = received.get(item, 0.0) + n
            sides[side] = {
                "events": len(mine), "received": received,
                "received_cost_usd": sum(e["received_cost_usd"] for e in mine),
                "technology": sum(1 for e in mine if e["engagement"]),
            }
        for side in ("attacker", "defender"):  # the attacker's stocks are its rounds
            mine = {k: v for k, v in items.items()
                    if k.startswith("ammunition.") == (side == "attacker")}
            if side == "attacker" and not mine:
                continue
            sides[side]["spent"] = {k: v["spent"] for k, v in mine.items()}
            sides[side]["spent_cost_usd"] = sum(v["spent_cost_usd"] for v in mine.values())
        return {"items": items, "sides": sides, "events": self.log,
                "not_fired": [k for k, done in enumerate(self.fired) if not done]}
