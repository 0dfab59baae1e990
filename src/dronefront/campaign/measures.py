"""Campaign figures by week and over seeds: is the attacker learning, does supply bind?

The daily table (``CampaignResult.daily``) holds counts; these helpers turn them into the
ratios the acceptance questions ask about, always as ratios of sums (a week with more
assaults weighs more), never as means of daily ratios.

>>> rows = [{"day": d, "assaults": 1, "casualties": 10 - d, "shoot_downs": d,
...          "drones_detected": 10} for d in range(14)]
>>> [w["casualties_per_assault"] for w in weekly(rows)]
[7.0, 0.0]
>>> [w["shoot_downs_per_encounter"] for w in weekly(rows)]
[0.3, 1.0]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: How an FPV sortie can end, as daily ``fpv_<fate>`` columns (the engine's fates after
#: "launched", and those still in the air when the engagement ended).
FPV_OUTCOMES = ("expended", "shot_down", "jammed", "crashed", "returned", "missed", "failed",
                "in_flight")


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _rows(daily: Any) -> list[dict[str, Any]]:
    if hasattr(daily, "to_pylist"):
        return daily.to_pylist()
    return list(daily)


def weekly(daily: Any) -> list[dict[str, Any]]:
    """Per calendar week of the campaign (days 0-6, 7-13, ...): assaults, casualties per
    assault, shoot-downs per drone encounter, FPV sorties and the share that failed or
    missed, and the stocks at the week's end. ``daily`` is the daily table or its rows."""
    rows = _rows(daily)
    out: list[dict[str, Any]] = []
    for week in range((max((r["day"] for r in rows), default=-1)) // 7 + 1):
        mine = [r for r in rows if r["day"] // 7 == week]
        if not mine:
            continue

        def total(key: str, rows_: list[dict[str, Any]] = mine) -> float:
            return sum(r.get(key) or 0 for r in rows_)

        entry: dict[str, Any] = {
            "week": week, "first_day": mine[0]["day"], "assaults": total("assaults"),
            "casualties": total("casualties"),
            "casualties_per_assault": _ratio(total("casualties"), total("assaults")),
            "drones_detected": total("drones_detected"), "shoot_downs": total("shoot_downs"),
            "shoot_downs_per_encounter": _ratio(total("shoot_downs"),
                                                total("drones_detected")),
            "fpv_sorties": total("fpv_sorties"),
            "fpv_failed_or_missed_share": _ratio(total("fpv_failed") + total("fpv_missed"),
                                                 total("fpv_sorties")),
        }
        last = mine[-1]
        entry.update({k: last[k] for k in sorted(last)
                      if k.startswith("stock_") or k == "shells_stock"})
        out.append(entry)
    return out


def fpv_sortie_outcomes(daily: Any) -> dict[str, Any]:
    """How the campaign's FPV sorties ended: the count of sorties and each outcome's share,
    plus ``failed_or_missed`` (the sorties that failed or whose dive missed)."""
    rows = _rows(daily)
    sorties = sum(r.get("fpv_sorties") or 0 for r in rows)
    counts = {f: sum(r.get(f"fpv_{f}") or 0 for r in rows) for f in FPV_OUTCOMES}
    shares = {f: _ratio(n, sorties) for f, n in counts.items()}
    return {"sorties": sorties, "shares": shares,
            "failed_or_missed": _ratio(counts["failed"] + counts["missed"], sorties)}


def early_late(daily: Any, early: int = 7, late: int = 14) -> dict[str, float | None]:
    """Shoot-downs per encounter and casualties per assault over the first ``early`` and the
    last ``late`` assault days (days with at least one assault)."""
    combat = [r for r in _rows(daily) if r.get("assaults")]

    def ratio(rows_: list[dict[str, Any]], num: str, den: str) -> float | None:
        return _ratio(sum(r[num] for r in rows_), sum(r[den] for r in rows_))

    first, last = combat[:early], combat[-late:] if combat else []
    return {
        "shoot_downs_per_encounter_first_week": ratio(first, "shoot_downs",
                                                      "drones_detected"),
        "shoot_downs_per_encounter_last_two_weeks": ratio(last, "shoot_downs",
                                                          "drones_detected"),
        "casualties_per_assault_first_week": ratio(first, "casualties", "assaults"),
        "casualties_per_assault_last_two_weeks": ratio(last, "casualties", "assaults"),
    }


def over_seeds(dailies: Iterable[Any]) -> dict[str, Any]:
    """The acceptance figures over several campaigns (one daily table per seed): each seed's
    early/late ratios, their means, how many seeds show the rise in shoot-downs per
    encounter and the fall in casualties per assault, and the pooled FPV outcome shares."""
    tables = [_rows(d) for d in dailies]
    per_seed = [early_late(t) for t in tables]

    def mean(key: str) -> float | None:
        vals = [p[key] for p in per_seed if p[key] is not None]
        return float(np.mean(vals)) if vals else None

    def count(up: str, down: str) -> int:
        return sum(1 for p in per_seed if p[up] is not None and p[down] is not None
                   and p[up] > p[down])

    pooled = fpv_sortie_outcomes([r for t in tables for r in t])
    return {
        "seeds": len(tables),
        "per_seed": per_seed,
        "mean": {k: mean(k) for k in (per_seed[0] if per_seed else {})},
        "seeds_shoot_downs_rise": count("shoot_downs_per_encounter_last_two_weeks",
                                        "shoot_downs_per_encounter_first_week"),
        "seeds_casualties_fall": count("casualties_per_assault_first_week",
                                       "casualties_per_assault_last_two_weeks"),
        "fpv_sortie_outcomes": pooled,
    }


def stock_report(daily: Any, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per stock column (``stock_<type>``, ``shells_stock``): its value after the first
    day, its minimum and its end value; and ``days_short``, the days on which a short stock
    cut an engagement's airframes or rounds (the daily ``supply_short`` column)."""
    rows = _rows(daily)
    keys = names or sorted({k for r in rows for k in r
                            if k.startswith("stock_") or k == "shells_stock"})
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        vals = [r[key] for r in rows if r.get(key) is not None]
        if vals:
            out[key] = {"start": vals[0], "min": min(vals), "end": vals[-1]}
    out["days_short"] = {"days": sum(1 for r in rows if r.get("supply_short"))}
    return out
