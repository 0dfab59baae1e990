"""Reported patterns, each with its sources, its reported range and a model measurement.

Pattern-oriented validation (Grimm et al. 2005, see docs/validation.md): the model is
trusted when it reproduces several independent patterns, observed at different scales
(sortie, engagement, campaign), at once. Each :class:`Pattern` states a claim in words, names
the original publications, gives the reported range (or ``None`` where the record gives
none, or a direction only) and measures the model's figure over seeds with a 95% interval.

The simulation runs are shared: one :class:`Runs` batch holds one set of ``kursk-assault``
seeds per variant and one set of ``kursk-campaign`` seeds, and every pattern reads from it.

>>> m = Measurement.from_values("share", [0.2, 0.3, 0.25])
>>> round(m.mean, 3), m.n
(0.25, 3)
>>> Range(0.1, 0.3).verdict(m), Direction(+1).verdict(m), NoRange().verdict(m)
('pass', 'pass', 'no sourced range')
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

Verdict = Literal["pass", "fail", "no sourced range"]
Scale = Literal["sortie", "engagement", "campaign"]
Unit = Literal["share", "count", "difference", "share difference"]

#: The model's interval: Student-t interval of the mean of the per-seed figures.
INTERVAL_METHOD = ("mean over seeds of the per-seed figure; 95% interval = mean ± "
                   "t(0.975, n-1) · sd / √n (normal standard error, Student t quantile)")
DEFAULT_SEEDS = 20
#: The campaign runs to the last dated public estimate (examples/data): 2025-01-22.
CAMPAIGN_END = dt.date(2025, 1, 22)
ASSAULT = "kursk-assault"
CAMPAIGN = "kursk-campaign"
#: Where the dated casualty estimates live (a repository file, not package data).
CASUALTY_DATA = (Path(__file__).resolve().parents[3] / "examples" / "data"
                 / "kursk-reported-casualties.csv")
#: Point figures reported as "about N" are read as N ± ABOUT, as in
#: examples/calibrate-kursk.yaml (``about: 0.2``).
ABOUT = 0.2


# ----------------------------------------------------------------------------- records
@dataclass(frozen=True)
class Source:
    """An original publication: outlet or authors, date, link, reliability tag.

    ``tag`` follows docs/sources-notes.md: A official/think-tank/peer-reviewed/major outlet
    quoting named officials, B secondary or party to the war, C weak.
    """

    outlet: str
    date: str
    link: str | None
    tag: str
    says: str = ""

    def markdown(self) -> str:
        name = f"[{self.outlet}]({self.link})" if self.link else self.outlet
        return f"{name}, {self.date} [{self.tag}]"


@dataclass(frozen=True)
class Measurement:
    """A model figure over seeds: the per-seed values, their mean and 95% interval."""

    unit: Unit
    values: tuple[float, ...]
    mean: float
    low: float
    high: float
    n: int
    dropped: int = 0  # seeds where the figure is undefined (e.g. no FPV strike)

    @classmethod
    def from_values(cls, unit: Unit, values: Iterable[float | None]) -> Measurement:
        """Mean and Student-t 95% interval of the defined per-seed values."""
        raw = [None if v is None else float(v) for v in values]
        kept = np.array([v for v in raw if v is not None and math.isfinite(v)], float)
        n = int(kept.size)
        if n == 0:
            return cls(unit, (), math.nan, math.nan, math.nan, 0, len(raw))
        mean = float(kept.mean())
        if n == 1:
            half = math.inf
        else:
            from scipy.stats import t

            half = float(t.ppf(0.975, n - 1) * kept.std(ddof=1) / math.sqrt(n))
        return cls(unit, tuple(kept.tolist()), mean, mean - half, mean + half, n,
                   len(raw) - n)


@dataclass(frozen=True)
class Range:
    """A sourced range: the pattern passes when the model's mean lies within it.

    ``low`` or ``high`` may be ``None`` (an open bound, e.g. "more than 3,000").
    """

    low: float | None
    high: float | None
    text: str = ""

    def verdict(self, m: Measurement) -> Verdict:
        if m.n == 0:
            return "fail"
        ok = (self.low is None or m.mean >= self.low) and (
            self.high is None or m.mean <= self.high)
        return "pass" if ok else "fail"


@dataclass(frozen=True)
class Direction:
    """A direction only: the figure is a paired difference (variant minus baseline, or
    later minus earlier); it passes when its 95% interval excludes 0 on the side of
    ``sign`` (+1 rising, -1 falling)."""

    sign: int
    text: str = ""

    def verdict(self, m: Measurement) -> Verdict:
        if m.n < 2:
            return "fail"
        return "pass" if (m.low > 0 if self.sign > 0 else m.high < 0) else "fail"


@dataclass(frozen=True)
class NoRange:
    """The public record gives no range (or only a point figure from one source)."""

    text: str = "no range given"

    def verdict(self, m: Measurement) -> Verdict:
        return "no sourced range"


Expectation = Range | Direction | NoRange


@dataclass(frozen=True)
class Pattern:
    """One reported pattern and how the model measures it.

    ``measure_runs`` maps a shared :class:`Runs` batch to the per-seed values; ``diagnosis``
    says what drives the figure in the model and what would move it (printed when the row
    fails).
    """

    id: str
    claim: str
    scale: Scale
    sources: tuple[Source, ...]
    expect: Expectation
    figure: str
    unit: Unit
    measure_runs: Callable[[Runs], list[float | None]]
    diagnosis: str = ""

    def measure(self, seeds: int | Sequence[int] = DEFAULT_SEEDS, runs: Runs | None = None,
                ) -> Measurement:
        """The model's figure over ``seeds`` (a count from seed 1, or a list), or over the
        seeds of an existing ``runs`` batch."""
        runs = runs if runs is not None else Runs(seeds)
        return Measurement.from_values(self.unit, self.measure_runs(runs))

    def verdict(self, m: Measurement) -> Verdict:
        return self.expect.verdict(m)


# ----------------------------------------------------------------------------- runs
def _assault_summary(args: tuple[int, tuple[str, ...]]) -> dict[str, Any]:
    import dronefront

    seed, overrides = args
    return dronefront.run(ASSAULT, seed=seed, overrides=list(overrides), events=False).summary


def _campaign_days() -> int:
    from dronefront.campaign.runner import load_campaign

    return (CAMPAIGN_END - load_campaign(CAMPAIGN).start).days + 1


def _campaign_record(seed: int) -> dict[str, Any]:
    """What the patterns read from one campaign run: its summary and daily table."""
    from dronefront.campaign.runner import run_campaign

    result = run_campaign(CAMPAIGN, seed=seed, days=_campaign_days())
    return {"summary": result.summary, "daily": result.daily.to_pylist()}


@dataclass
class Runs:
    """Simulation runs shared between patterns, made on first use and kept.

    ``assault(overrides)`` gives the ``kursk-assault`` summaries of every seed under those
    overrides (the same seeds for every variant: common random numbers); ``campaign()`` the
    ``kursk-campaign`` records to :data:`CAMPAIGN_END`. ``workers`` > 1 runs campaigns in
    that many processes; ``progress`` shows rich progress bars.
    """

    seeds: int | Sequence[int] = DEFAULT_SEEDS
    workers: int = 1
    progress: bool = False
    _assaults: dict[tuple[str, ...], list[dict]] = field(default_factory=dict, repr=False)
    _campaigns: list[dict] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.seeds, int):
            self.seeds = list(range(1, self.seeds + 1))
        self.seeds = [int(s) for s in self.seeds]

    def _map(self, label: str, fn: Callable, items: list, pool: bool) -> list:
        from dronefront.terminal import progress_bar

        out: list = []
        with progress_bar(label, total=len(items)) if self.progress else _quiet() as update:
            if pool and self.workers > 1 and len(items) > 1:
                import multiprocessing

                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(min(self.workers, len(items)), mp_context=ctx) as ex:
                    for item in ex.map(fn, items):
                        out.append(item)
                        update(len(out))
            else:
                for item in items:
                    out.append(fn(item))
                    update(len(out))
        return out

    def assault(self, overrides: Sequence[str] = ()) -> list[dict[str, Any]]:
        key = tuple(overrides)
        if key not in self._assaults:
            label = f"{ASSAULT} {' '.join(key) or '(shipped defaults)'}"
            self._assaults[key] = self._map(label, _assault_summary,
                                            [(s, key) for s in self.seeds], pool=False)
        return self._assaults[key]

    def campaign(self) -> list[dict[str, Any]]:
        if self._campaigns is None:
            self._campaigns = self._map(f"{CAMPAIGN} to {CAMPAIGN_END}", _campaign_record,
                                        list(self.seeds), pool=True)
        return self._campaigns


class _quiet:
    def __enter__(self) -> Callable[[int], None]:
        return lambda done: None

    def __exit__(self, *exc: object) -> None:
        return None


# ----------------------------------------------------------------------------- figures
def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@lru_cache(maxsize=1)
def _attack_roles() -> dict[str, str]:
    """Drone type name -> role, for the built-in engagement (thermal variants included)."""
    from dronefront.scenario.loader import load_scenario

    types = load_scenario(ASSAULT).all_drone_types()
    roles = {name: t.role for name, t in types.items()}
    roles.update({f"{name}_thermal": role for name, role in list(roles.items())})
    return roles


def _fpv_fates(summary: dict) -> dict[str, int]:
    """The defender's FPV sorties (radio and fibre) summed by fate."""
    roles = _attack_roles()
    total: dict[str, int] = {}
    for name, fates in summary["drones"]["defender"].items():
        if roles.get(name) != "fpv":
            continue
        for fate, value in fates.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                total[fate] = total.get(fate, 0) + value
    return total


def fpv_share(fates: Iterable[str]) -> Callable[[Runs], list[float | None]]:
    """Per seed: the share of FPV sorties launched that ended in one of ``fates``."""
    wanted = tuple(fates)

    def measure(runs: Runs) -> list[float | None]:
        out = []
        for summary in runs.assault():
            f = _fpv_fates(summary)
            out.append(_ratio(sum(f.get(k, 0) for k in wanted), f.get("launched", 0)))
        return out

    return measure


#: FPV sortie endings other than a hit, jamming or a return to base.
OTHER_LOSSES = ("failed", "missed", "crashed", "shot_down")


def _campaign_columns(record: dict, prefix: str = "casualties_") -> dict[str, int]:
    total: dict[str, int] = {}
    for row in record["daily"]:
        for key, value in row.items():
            if key.startswith(prefix) and value is not None:
                total[key] = total.get(key, 0) + value
    return total


def casualty_share(roles: Iterable[str]) -> Callable[[Runs], list[float | None]]:
    """Per seed: the share of the campaign's casualties caused by the weapons of ``roles``
    (``casualties_<role>`` columns of the daily table)."""
    wanted = tuple(roles)

    def measure(runs: Runs) -> list[float | None]:
        out = []
        for record in runs.campaign():
            by_role = _campaign_columns(record)
            total = sum(r["casualties"] for r in record["daily"])
            out.append(_ratio(sum(by_role.get(f"casualties_{k}", 0) for k in wanted), total))
        return out

    return measure


def killed_share(runs: Runs) -> list[float | None]:
    """Per seed: killed / (killed + wounded) over the campaign to :data:`CAMPAIGN_END`."""
    return [_ratio(r["summary"]["killed"], r["summary"]["casualties"]) for r in runs.campaign()]


def _combat_rows(record: dict) -> list[dict]:
    return [r for r in record["daily"] if r.get("assaults")]


def _early_late(record: dict, key: str, num: str, den: str) -> tuple[float | None, ...]:
    """(first week, last two weeks) of combat days: the summary's own fields if present,
    else the ratio of ``num`` to ``den`` summed over those days of the daily table."""
    summary = record["summary"]
    first, last = (summary.get(f"{key}_first_week"), summary.get(f"{key}_last_two_weeks"))
    if f"{key}_first_week" in summary and f"{key}_last_two_weeks" in summary:
        return first, last
    rows = _combat_rows(record)

    def ratio(rs: list[dict]) -> float | None:
        return _ratio(sum(r.get(num) or 0 for r in rs), sum(r.get(den) or 0 for r in rs))

    return ratio(rows[:7]), ratio(rows[-14:])


def later_minus_first(key: str, num: str, den: str) -> Callable[[Runs], list[float | None]]:
    """Per seed: the last two combat weeks' figure minus the first week's."""

    def measure(runs: Runs) -> list[float | None]:
        out = []
        for record in runs.campaign():
            first, last = _early_late(record, key, num, den)
            out.append(None if first is None or last is None else last - first)
        return out

    return measure


def _per_fpv_strike(summary: dict) -> float | None:
    return summary["sides"]["attacker"].get("casualties_per_fpv_strike")


def paired(variant: Sequence[str], baseline: Sequence[str],
           figure: Callable[[dict], float | None]) -> Callable[[Runs], list[float | None]]:
    """Per seed: ``figure`` under ``variant`` overrides minus under ``baseline`` overrides,
    on the same seeds (common random numbers)."""

    def measure(runs: Runs) -> list[float | None]:
        out = []
        for a, b in zip(runs.assault(variant), runs.assault(baseline), strict=True):
            fa, fb = figure(a), figure(b)
            out.append(None if fa is None or fb is None else fa - fb)
        return out

    return measure


def casualties_per_fpv_sortie(summary: dict) -> float | None:
    """The attacker's casualties per FPV sortie launched against it."""
    roles = _attack_roles()
    launched = sum(fates.get("launched", 0)
                   for name, fates in summary["drones"]["defender"].items()
                   if roles.get(name) == "fpv")
    return _ratio(summary["sides"]["attacker"]["casualties"], launched)


def attack_shot_down_share(summary: dict) -> float | None:
    """Share of the defender's attack sorties (FPV, bomber, loitering) shot down."""
    roles = _attack_roles()
    launched = down = 0
    for name, fates in summary["drones"]["defender"].items():
        if roles.get(name) in ("fpv", "bomber", "loitering"):
            launched += fates.get("launched", 0)
            down += fates.get("shot_down", 0)
    return _ratio(down, launched)


def _cumulative_at(record: dict, date: dt.date, window: str) -> float | None:
    rows = {r["date"]: r for r in record["daily"]}
    if date not in rows:
        return None
    value = rows[date]["cumulative_casualties"]
    if window == "past-7-days":
        before = rows.get(date - dt.timedelta(days=7))
        value -= before["cumulative_casualties"] if before else 0
    return value


def cumulative_at(date: dt.date, window: str) -> Callable[[Runs], list[float | None]]:
    """Per seed: the campaign's cumulative casualties at the end of ``date`` (or its increase
    over the 7 days before, for a ``past-7-days`` window)."""

    def measure(runs: Runs) -> list[float | None]:
        return [_cumulative_at(r, date, window) for r in runs.campaign()]

    return measure


# ----------------------------------------------------------------------------- sources
S_NOTES_FPV = Source(
    "none found: docs/sources-notes.md §1, §7 list what was checked", "—", None, "—")
S_ISTORIES = Source(
    "Russian military medics, Voenno-meditsinskii zhurnal (Russian MoD), Mar 2025 issue, "
    "as reported by iStories", "25 Mar 2025", "https://istories.media/en/news/2025/03/25/uavs-injures/",
    "B", "of ~6,000 wounded Russian servicemen (positional fighting), >75% were hurt by "
    "UAVs, ~20% by artillery, ~4% by small arms; the same outlet relays a Ukrainian "
    "estimate that UAVs cause 70-80% of all military casualties")
S_KLEINE = Source("Kleine Zeitung, 'Der Drohnenkrieg und Europas Stunde null'", "2025",
                  "https://www.kleinezeitung.at/politik/aussenpolitik/20159478/"
                  "der-drohnenkrieg-und-europas-stunde-null", "B",
                  "drones cause 'up to 80%' of losses (men and materiel)")
S_NIS_JAN = Source("South Korean NIS, as reported by The Moscow Times", "31 Jan 2025",
                   "https://www.themoscowtimes.com/2025/01/31/north-korean-troops-pulled-"
                   "from-kursk-front-line-amid-heavy-losses-nyt-a87811", "A",
                   "~300 killed, ~2,700 wounded (NIS, 13 Jan 2025): 10% killed")
S_BBC = Source("Western officials via BBC, as reported by Forces News", "Jan 2025",
               "https://www.forcesnews.com/ukraine/north-korean-troops-pulled-russian-"
               "frontline-amid-heavy-losses", "A",
               "~4,000 casualties, ~1,000 of them killed: 25% killed")
S_NIS_APR = Source("South Korean NIS, as reported by Korea JoongAng Daily", "30 Apr 2025",
                   "https://koreajoongangdaily.joins.com/news/2025-04-30/national/northKorea/"
                   "NIS-estimates-4700-North-Korean-casualties-in-Russias-war-in-Ukraine/"
                   "2297489", "A", "4,700 casualties incl. ~600 dead: 13% killed")
S_HUR_KBS = Source("Ukrainian defence intelligence, as reported by KBS", "6 Mar 2025",
                   "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8192764", "A/B",
                   ">3,600 wounded and >400 dead: ~10% killed; 'gradually adapting'")
S_WAPO = Source("Washington Post, as reported by DV", "23 Dec 2024",
                "https://dv.is/frettir/2024/12/23/eiga-ekki-ord-yfir-malalida-putins-hvad-"
                "eru-ad-gera", "B", "'40-50 men running across a field … a perfect target'")
S_RFA = Source("Radio Free Asia, as published by Korea Daily US", "17 Dec 2024",
               "https://koreadailyus.com/north-korean-troops-in-russia-branded-as-zombie-"
               "like-after-succumbing-to-ukrainian-drones", "B",
               "about 200 advanced 'like zombies' and were 'easy targets' for FPVs")
S_YOMIURI = Source("Yomiuri Shimbun (SOF commander 'Green')", "28 Feb 2025",
                   "https://japannews.yomiuri.co.jp/world/europe/20250228-240775", "A",
                   "by mid-February they dispersed and advanced fast")
S_NYT_KRONE = Source("New York Times, as reported by Krone", "Dec 2024",
                     "https://www.krone.at/3654361", "B",
                     "'quite skilled at shooting; they have repeatedly destroyed drones'")
S_GUR_KBS = Source("Ukrainian defence intelligence (HUR) via ABC, as reported by KBS World",
                   "Dec 2024", "https://world.kbs.co.kr/service/news_view.htm?Seq_Code="
                   "102372&lang=g", "B",
                   "after heavy losses, units set up extra observation posts to spot drones")
S_NPR = Source("NPR, as published by WVTF", "16 Jun 2025",
               "https://www.wvtf.org/2025-06-16/north-koreans-fighting-for-russia-against-"
               "ukraine-have-grown-skilled-in-drone-warfare", "A",
               "'went from World War II tactics to managing on the battlefield with drones'")
S_NIS_KBSW = Source("South Korean NIS, as reported by KBS World", "Apr 2025",
                    "https://world.kbs.co.kr/service/news_view.htm?Seq_Code=192744&lang=e",
                    "A", "combat skills 'significantly improved', drones included")
S_DIARY = Source("Wall Street Journal translation of a soldier's diary, as reported by "
                 "Firstpost", "Jan 2025",
                 "https://www.firstpost.com/explainers/how-north-korean-soldiers-used-bait-"
                 "by-russia-in-ukraine-war-13852339.html", "A/B",
                 "one 'bait' stands still so the drone stops; two shoot it down")
S_NIKKEI = Source("Nikkei analysis of captured notes, as reported by Chosun Biz",
                  "28 Feb 2025", "https://biz.chosun.com/en/en-international/2025/02/28/"
                  "IQ72F6C2LJA7LPBJPSOTWFCIFM", "A",
                  "groups of three: one guides (draws the drone), two shoot")
S_WSJ = Source("Wall Street Journal (smaller groups on return); Ukrainska Pravda, quoting "
               "HUR's Vadym Skibitskyi", "19 Feb 2025",
               "https://www.pravda.com.ua/eng/news/2025/02/19/7499053/", "A",
               "'fast learners'; smaller groups, better integrated with Russian fires")


# ----------------------------------------------------------------------------- patterns
# Trained shooters: marksmanship at the per-shot fire model's trained reference
# (``counter_drone.skill_reference``, model.md §10).
_DECOY_BASE = ("sides.attacker.units.0.skills.marksmanship=0.3",
               "sides.attacker.units.0.doctrine.shooters=4",
               "sides.attacker.units.0.doctrine.decoys=1")
DECOY_ENGAGE = (*_DECOY_BASE, "sides.attacker.units.0.doctrine.drill=[decoy, engage]")
ENGAGE_ONLY = (*_DECOY_BASE, "sides.attacker.units.0.doctrine.drill=[engage]")
DISPERSED = ("sides.attacker.units.0.doctrine.spacing=10",)


def _fixed_patterns() -> list[Pattern]:
    fpv_note = ("The FPV failure, miss and jamming parameters are assumptions (model.md "
                "§8.5, §9); no public figure can confirm or refute this row.")
    return [
        Pattern(
            "fpv-hit-share", "Share of FPV sorties that hit their target", "sortie",
            (S_NOTES_FPV,), NoRange("no range given: the circulating '60-80% of FPVs "
                                    "fail' is not traced to its original publication"),
            f"hit (expended) / launched, radio and fibre FPV, `{ASSAULT}`", "share",
            fpv_share(("expended",)), fpv_note),
        Pattern(
            "fpv-jammed-share", "Share of FPV sorties lost to jamming", "sortie",
            (S_NOTES_FPV,), NoRange("no range given for FPVs (a ~50% jammed share is "
                                    "reported for Shahed-class drones only)"),
            f"jammed / launched, `{ASSAULT}`", "share", fpv_share(("jammed",)), fpv_note),
        Pattern(
            "fpv-other-loss-share",
            "Share of FPV sorties lost to other causes (failure, pilot error, missed dive, "
            "crash, shot down)", "sortie", (S_NOTES_FPV,),
            NoRange("no range given (pilot error is ~40% of all drone losses per Gen. "
                    "Sanders, not a share of sorties)"),
            f"(failed + missed + crashed + shot down) / launched, `{ASSAULT}`", "share",
            fpv_share(OTHER_LOSSES), fpv_note),
        Pattern(
            "drone-casualty-share",
            "Drones cause most casualties in 2024-25, far more than artillery and small "
            "arms", "campaign", (S_ISTORIES, S_KLEINE),
            Range(0.70, 0.80, "70-80% (Ukrainian estimate; Russian medics: >75%)"),
            f"casualties from FPV, bomber and loitering drones / all casualties, "
            f"`{CAMPAIGN}` to {CAMPAIGN_END}", "share",
            casualty_share(("fpv", "bomber", "loitering")),
            "The split follows the defender's drone and artillery strength in the campaign "
            "template and how many men each weapon hits: the calibration fits the radio "
            "FPV's team count and casualty_scale to the casualty counts (2 teams, 0.75), "
            "the other rings are assumptions. The reported figures are wounded in "
            "positional fighting; an assault campaign puts more men in rifle and artillery "
            "range (the model's artillery share is ~25% against the medics' ~20%). A "
            "sourced casualty radius for shells would move it."),
        Pattern(
            "artillery-casualty-share", "Artillery's share of casualties, 2024-25",
            "campaign", (S_ISTORIES,),
            NoRange("no range given: one point figure, ~20% (Russian medics, wounded, "
                    "positional phase)"),
            f"artillery casualties / all casualties, `{CAMPAIGN}`", "share",
            casualty_share(("artillery",))),
        Pattern(
            "small-arms-casualty-share", "Small arms' share of casualties, 2024-25",
            "campaign", (S_ISTORIES,),
            NoRange("no range given: one point figure, ~4% (Russian medics, wounded, "
                    "positional phase)"),
            f"small-arms casualties / all casualties, `{CAMPAIGN}`", "share",
            casualty_share(("small_arms",))),
        Pattern(
            "kursk-killed-share",
            "Killed share among the North Korean force's casualties in Kursk", "campaign",
            (S_NIS_JAN, S_BBC, S_HUR_KBS, S_NIS_APR),
            Range(0.10, 0.25, "10-25% (the spread of the official estimates)"),
            f"killed / (killed + wounded), `{CAMPAIGN}` to {CAMPAIGN_END}", "share",
            killed_share,
            "The killed share follows each weapon's share of the men it hits who die "
            "(model.md §11): shells and bombs kill 12-16% (set from the 5-20% lethality "
            "of fragments in the historical record), rifles a third (likewise), the radio "
            "FPV what the calibration fits to the killed counts through its "
            "killed_share_scale, which moves the killed share without moving the casualty "
            "counts. Casualty care (§11b) and weighted targeting (§8.6) spare the fallen "
            "a second strike."),
        Pattern(
            "fpv-strike-bunched-vs-dispersed",
            "An FPV strike hurts more men in a bunched group than in dispersed infantry",
            "engagement", (S_WAPO, S_RFA, S_YOMIURI),
            Direction(+1, "direction only: bunched > dispersed"),
            f"casualties per FPV strike at 1.5 m spacing minus at 10 m, `{ASSAULT}`, "
            "same seeds", "difference", paired((), DISPERSED, _per_fpv_strike),
            "Casualties per strike come from the lethality rings against the formation's "
            "density (model.md §5, §11)."),
        Pattern(
            "shoot-downs-rising",
            "Shoot-downs per drone encounter rise as the force trains and drills (Kursk "
            "reports)", "campaign", (S_NYT_KRONE, S_GUR_KBS, S_NIS_KBSW, S_NPR),
            Direction(+1, "direction only: rising"),
            f"shoot-downs per drone detected, last two combat weeks minus first week, "
            f"`{CAMPAIGN}` to {CAMPAIGN_END}", "share difference",
            later_minus_first("shoot_downs_per_encounter", "shoot_downs", "drones_detected"),
            "Shoot-downs need shooters with contact in range; they rise only if the "
            "doctrine learner adopts `engage` with shooters and marksmanship grows with "
            "encounters (model.md §10, §15). With the shipped fire defaults shoot-downs "
            "are few, so each run's rise is noisy and the interval can include 0. "
            "Shot-by-shot counter-drone fire, or drills that reach the doctrine sooner, "
            "would move it."),
        Pattern(
            "decoy-and-shoot",
            "The decoy-and-shoot drill (one bait, two shooters) costs fewer casualties per "
            "drone sortie than engaging alone", "engagement", (S_DIARY, S_NIKKEI),
            Direction(-1, "direction only: fewer casualties with the bait"),
            f"casualties per FPV sortie with `[decoy, engage]` minus with `[engage]`, "
            f"trained shooters (4 per platoon, marksmanship 0.3, 1 decoy), `{ASSAULT}`, "
            f"same seeds", "difference",
            paired(DECOY_ENGAGE, ENGAGE_ONLY, casualties_per_fpv_sortie),
            "The bait pays when a drone commits to him (the operator's `decoy_commit`) "
            "and is either shot down by the ready shooters or spends its charge on one man "
            "instead of the densest group (model.md §10)."),
        Pattern(
            "decoy-and-shoot-downs",
            "The decoy-and-shoot drill brings drones down", "engagement",
            (S_DIARY, S_NIKKEI),
            Direction(+1, "direction only: more shoot-downs with the bait"),
            f"share of attack sorties shot down with `[decoy, engage]` minus with "
            f"`[engage]`, the same trained shooters, `{ASSAULT}`, same seeds",
            "share difference",
            paired(DECOY_ENGAGE, ENGAGE_ONLY, attack_shot_down_share),
            "A committed drone dives at a known spot covered by the ready shooters: more "
            "rounds at short range (model.md §10)."),
        Pattern(
            "casualties-per-assault-falling",
            "Casualties per assault fall over the first weeks as the force adapts",
            "campaign", (S_WSJ, S_NIS_KBSW, S_NPR),
            Direction(-1, "direction only: falling"),
            f"casualties per assault, last two combat weeks minus first week, "
            f"`{CAMPAIGN}` to {CAMPAIGN_END}", "difference",
            later_minus_first("casualties_per_assault", "casualties", "assaults"),
            "Falls through doctrine learning, skills and the campaign's stocks (model.md "
            "§15-16)."),
    ]


def _bound(raw: str) -> float | None:
    return float(raw) if raw.strip() else None


def casualty_patterns(path: Path = CASUALTY_DATA) -> list[Pattern]:
    """One pattern per dated estimate of ``examples/data/kursk-reported-casualties.csv``.

    Point figures ("about N": low == high) are read as N ± :data:`ABOUT`, the convention of
    ``examples/calibrate-kursk.yaml``; an empty bound is open.
    """
    if not path.exists():
        return []
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            date = dt.date.fromisoformat(row["date"])
            low, high = _bound(row["casualties_low"]), _bound(row["casualties_high"])
            if low is not None and high is not None and low == high:
                text = f"about {low:,.0f} (read as ±{ABOUT:.0%})"
                low, high = low * (1 - ABOUT), high * (1 + ABOUT)
            elif high is None:
                text = f"more than {low:,.0f}"
            else:
                text = f"{low:,.0f}-{high:,.0f}"
            window = row["window"]
            what = ("casualties over the 7 days before" if window == "past-7-days"
                    else "cumulative casualties by")
            out.append(Pattern(
                f"kursk-casualties-{date}", f"{row['source']}: {row['note']}", "campaign",
                (Source(row["source"], str(date), None,
                        "A, party to the war" if "Ukraine" in row["source"] else "A",
                        "examples/data/README.md"),),
                Range(low, high, text), f"{what} {date}, `{CAMPAIGN}`", "count",
                cumulative_at(date, window),
                "The shipped campaign is calibrated to all these dates at once (ABC-SMC "
                "posterior medians of examples/calibrate-kursk.yaml). The estimates "
                "contradict each other: more than 3,000 by 23 Dec and about 3,000 by 13 "
                "Jan leave fewer than 29 a day in between, which no daily-assault campaign "
                "produces, so the fit trades the dates off and no run passes every one. "
                "Weighting the sources by reliability in the calibration file would choose "
                "which dates to pass."))
    return out


def all_patterns() -> list[Pattern]:
    """Every pattern, in table order."""
    return [*_fixed_patterns(), *casualty_patterns()]


# ----------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Row:
    pattern: Pattern
    measurement: Measurement
    verdict: Verdict


def evaluate(patterns: Sequence[Pattern], runs: Runs) -> list[Row]:
    """Measure every pattern on the shared ``runs``."""
    rows = []
    for p in patterns:
        m = p.measure(runs=runs)
        rows.append(Row(p, m, p.verdict(m)))
    return rows


def _fmt(value: float, unit: Unit, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "—" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    sign = "+" if signed else ""
    if unit in ("share", "share difference"):
        return f"{value * 100:{sign}.1f}%" if unit == "share" or not signed \
            else f"{value * 100:+.1f} pp"
    if unit == "count" or abs(value) >= 100:
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.3g}"


def format_measurement(m: Measurement) -> str:
    """``mean [low, high] (n seeds)`` in the measurement's unit."""
    if m.n == 0:
        return f"undefined ({m.dropped} seeds)"
    signed = m.unit in ("difference", "share difference")
    text = (f"{_fmt(m.mean, m.unit, signed)} [{_fmt(m.low, m.unit, signed)}, "
            f"{_fmt(m.high, m.unit, signed)}], n={m.n}")
    return text + (f" ({m.dropped} undefined)" if m.dropped else "")


def _reported(expect: Expectation, unit: Unit) -> str:
    if isinstance(expect, Range):
        return expect.text or (f"{_fmt(expect.low, unit) if expect.low is not None else '…'}"
                               f"-{_fmt(expect.high, unit) if expect.high is not None else '…'}")
    return expect.text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: Sequence[Row]) -> list[str]:
    """The markdown table, then the failing rows with their reasons."""
    lines = ["| pattern | scale | source (original publication) | reported | "
             "model figure | model: mean [95% interval] | verdict |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        p = r.pattern
        sources = "; ".join(s.markdown() for s in p.sources)
        verdict = {"pass": "**pass**", "fail": "**fail**"}.get(r.verdict, r.verdict)
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{p.id}`: {p.claim}", p.scale, sources, _reported(p.expect, p.unit), p.figure,
            format_measurement(r.measurement), verdict)) + " |")
    failed = [r for r in rows if r.verdict == "fail"]
    if failed:
        lines += ["", "Rows that fail, why, and what would fix them:", ""]
        for r in failed:
            lines.append(f"- `{r.pattern.id}` ({format_measurement(r.measurement)} against "
                         f"{_reported(r.pattern.expect, r.pattern.unit)}): "
                         f"{r.pattern.diagnosis or 'no diagnosis recorded.'}")
    return lines


def default_workers() -> int:
    """Processes for the campaign runs: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))
