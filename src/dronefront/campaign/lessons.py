"""Lessons as a file: what a campaign's sides end with, carried into new fights.

A lessons file (``format: dronefront-lessons/2``; ``/1`` files, without the coherence
rules and ammunition, still load) holds, for the attacker, every soldier on strength with
the drone encounters he survived (per battalion, in roster order), the skill curves that
turn encounters into skills, each battalion's doctrine distribution (and Thompson beliefs)
and the note it holds (its last doctrine and reward), the coherence rules its doctrines
were drawn under and its counter-drone ammunition stocks; for the drone side (the
campaign's defender), its adapted state (targeting beliefs, fibre and thermal shares, decoy
commitment) and its stocks. It is data: validated like a scenario, bounded in size, and
nothing in it is run. An engagement takes it as ``lessons: FILE`` (veterans per attacker
unit, with their skills and, platoon by platoon, their doctrine; the drone side's state on
request), a campaign as ``lessons: {file: FILE, veterans: SHARE}`` (veterans per
battalion). Lessons that do not fit the new theatre are not filtered: skills and doctrines
are applied as they are, and the new fight's mechanics decide what they are worth.

>>> from dronefront.campaign.runner import run_campaign
>>> result = run_campaign("kursk-campaign", seed=1, days=1,
...                       overrides=["engagement_overrides.duration=300"])
>>> lessons = result.lessons
>>> lessons.format, lessons.day, len(lessons.attacker.battalions)
('dronefront-lessons/2', 1, 10)
"""

from __future__ import annotations

import datetime as dt
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dronefront import limits
from dronefront.engine.rng import stream_key
from dronefront.engine.state import POLICIES
from dronefront.errors import UserError
from dronefront.learning.doctrine import DoctrineSpace, Requirement, sample_choice
from dronefront.learning.skills import SkillCurve

FORMAT = "dronefront-lessons/2"
#: Every format this version reads (``/1``: before coherence rules, ammunition and side).
FORMATS = ("dronefront-lessons/1", "dronefront-lessons/2")
Encounters = Annotated[int, Field(ge=0)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillCurves(Model):
    """The curves that turn encounters survived into skills (as in the source campaign)."""

    spotting: SkillCurve
    marksmanship: SkillCurve


class DimensionState(Model):
    """One doctrine dimension of a battalion: its options and their probabilities, plus the
    Thompson beliefs (mean reward and count per option) where the learner keeps them."""

    options: list[Any] = Field(min_length=1)
    probabilities: list[float] = Field(min_length=1)
    means: list[float] | None = None
    counts: list[float] | None = None

    @model_validator(mode="after")
    def _shape(self) -> DimensionState:
        n = len(self.options)
        for key in ("probabilities", "means", "counts"):
            value = getattr(self, key)
            if value is not None and len(value) != n:
                raise ValueError(f"{key}: {len(value)} values for {n} options")
        if any(not 0.0 <= p <= 1.0 for p in self.probabilities) or not \
                abs(sum(self.probabilities) - 1.0) < 1e-6:
            raise ValueError("probabilities: each in [0, 1], summing to 1")
        return self


class Note(Model):
    """A note a battalion holds: the doctrine of its last assault and its reward."""

    doctrine: dict[str, Any]
    reward: float


class BattalionLessons(Model):
    """One battalion: its soldiers' encounters, its doctrine distribution, its note."""

    experience: list[Encounters] = Field(
        description="Drone encounters survived by each soldier on strength, roster order.")
    doctrine: dict[str, DimensionState] = Field(default_factory=dict)
    note: Note | None = None


class AttackerLessons(Model):
    """The attacking force's lessons: skill curves, whose turn it was, its battalions."""

    skills: SkillCurves
    next_battalion: int = Field(0, ge=0, description="Whose turn to assault it was next.")
    battalions: list[BattalionLessons] = Field(min_length=1)
    requires: list[Requirement] | None = Field(
        None, description="The coherence rules the doctrines were drawn under (format /2); "
        "absent: the default rules where the file's options fit them.")
    ammunition: dict[str, float] = Field(
        default_factory=dict, description="Counter-drone rounds in stock at export, by "
        "weapon class (campaign `ammunition`, format /2).")

    @model_validator(mode="after")
    def _rounds(self) -> AttackerLessons:
        for name, n in self.ammunition.items():
            if not (0.0 <= n < float("inf")):
                raise ValueError(f"ammunition.{name}: must be a finite number >= 0")
        for b, bat in enumerate(self.battalions if self.requires is not None else []):
            if bat.doctrine:
                try:
                    _space(self, b)
                except ValueError:
                    raise ValueError(f"requires: the rules do not fit battalion {b}'s "
                                     "doctrine options") from None
        return self

    @model_validator(mode="after")
    def _sizes(self) -> AttackerLessons:
        limits.require("battalions", len(self.battalions), "attacker.battalions")
        soldiers = sum(len(b.experience) for b in self.battalions)
        limits.require("campaign_strength", soldiers, "attacker.battalions",
                       unit="soldiers in the lessons file")
        return self


class DroneSideLessons(Model):
    """The drone side's adapted state (``learning/opponent.py``) and its stocks."""

    side: Literal["defender"] = Field(
        "defender", description="Which side of its campaign this state describes: the "
        "defender, whose drone teams the campaign's drone-side learner adapts.")
    policy_means: dict[str, float]
    policy_counts: dict[str, float]
    reward_scale: float | None = None
    fibre_share: float = Field(ge=0.0, le=1.0)
    thermal_share: float = Field(ge=0.0, le=1.0)
    decoy_commit: float = Field(ge=0.0, le=1.0)
    notes_read: int = Field(0, ge=0)
    stocks: dict[str, float] = Field(default_factory=dict,
                                     description="Finite drone stocks at export.")
    shells: float = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _policies(self) -> DroneSideLessons:
        for key in ("policy_means", "policy_counts"):
            unknown = set(getattr(self, key)) - set(POLICIES)
            if unknown:
                raise ValueError(f"{key}: unknown targeting policy {sorted(unknown)[0]!r}; "
                                 f"known: {list(POLICIES)}")
        return self


class Lessons(Model):
    """A lessons file: one campaign's learned state after ``day`` days."""

    kind: Literal["lessons"] = "lessons"
    format: Literal["dronefront-lessons/1", "dronefront-lessons/2"] = Field(
        description="File format and version (this version writes /2 and reads both).")
    campaign: str = Field(description="The campaign the lessons come from.")
    seed: int = Field(ge=0)
    day: int = Field(ge=0, description="Days run when exported (the next day's index).")
    date: dt.date = Field(description="The last day run.")
    attacker: AttackerLessons | None = None
    drone_side: DroneSideLessons | None = None


# --------------------------------------------------------------------------- export
def lessons_of(state: Any) -> Lessons:
    """The lessons of a campaign state (``runner._CampaignState``) as it stands."""
    spec, roster, learner, side = state.spec, state.roster, state.learner, state.drone_side
    curves = spec.learning.attacker.skills
    exp = roster.experience if state.skills_on else np.zeros_like(roster.experience)
    battalions = []
    for b in range(spec.force.battalions):
        on = roster.active & (roster.battalion == b)
        doctrine = {}
        for d, (name, options) in enumerate(learner.space.options.items()):
            doctrine[name] = DimensionState(
                options=list(options),
                probabilities=[float(p) for p in learner.probs[b][d]],
                means=[float(m) for m in learner.means[b][d]],
                counts=[float(c) for c in learner.counts[b][d]])
        note = None
        if learner.history[b]:
            choice, reward = learner.history[b][-1]
            note = Note(doctrine=learner.space.decode(choice), reward=float(reward))
        battalions.append(BattalionLessons(experience=[int(e) for e in exp[on]],
                                           doctrine=doctrine, note=note))
    attacker = AttackerLessons(
        skills=SkillCurves(spotting=curves.spotting, marksmanship=curves.marksmanship),
        next_battalion=state.next_battalion, battalions=battalions,
        requires=list(learner.space.active_requirements()),
        ammunition={k: float(v) for k, v in state.ammunition.items()})
    drone = DroneSideLessons(
        policy_means={p: float(m) for p, m in zip(POLICIES, side.means, strict=True)},
        policy_counts={p: float(c) for p, c in zip(POLICIES, side.counts, strict=True)},
        reward_scale=None if side.reward_scale is None else float(side.reward_scale),
        fibre_share=float(side.fibre_share), thermal_share=float(side.thermal_share),
        decoy_commit=float(side.decoy_commit), notes_read=int(side.notes_read),
        stocks={k: float(v) for k, v in state.stock.items() if np.isfinite(v)},
        shells=float(state.shells))
    days = len(state.rows)
    return Lessons(format=FORMAT, campaign=spec.name, seed=state.seed, day=days,
                   date=spec.start + dt.timedelta(days=max(days - 1, 0)),
                   attacker=attacker, drone_side=drone)


class _FlowLists(yaml.SafeDumper):
    """Lists of scalars on one line (a soldier list stays one line); mappings in blocks."""


def _list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_FlowLists.add_representer(list, _list)


def write_lessons(lessons: Lessons, path: str | Path) -> Path:
    """Write a lessons file (YAML) atomically; returns its path.

    Floats are written by ``repr``, so reading the file back gives the same numbers.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError("is a folder, not a lessons file path", field="--export-lessons")
    data = lessons.model_dump(mode="json")
    text = yaml.dump(data, Dumper=_FlowLists, sort_keys=False, width=100,
                     allow_unicode=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- import
def read_lessons(path: str | Path, *, file: str | None = None, line: int | None = None,
                 field: str | None = "lessons") -> Lessons:
    """Read and validate a lessons file. A missing or unreadable file is reported against
    the file that names it (``file``, ``line``, ``field``); a bad field inside it against
    the lessons file itself, with its line."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        raise UserError(f"lessons file not found: {str(path)[-200:]}", file=file, line=line,
                        field=field) from None
    if not path.is_file():
        raise UserError(f"not a lessons file: {str(path)[-200:]}", file=file, line=line,
                        field=field)
    return _read(str(path.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _read(path: str, _mtime: int, _size: int) -> Lessons:
    from dronefront.scenario.loader import parse_yaml, validate

    display = path[-200:]
    limits.check_file_size(path, display)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read file: {exc.__class__.__name__}", file=display) from None
    data, lines = parse_yaml(text, display)
    if not isinstance(data, dict):
        raise UserError("a lessons file must be a YAML mapping", file=display, line=1)
    return validate(data, file=display, lines=lines, model=Lessons)


def veteran_pool(lessons: Lessons, battalion: int | None, field: str = "lessons") -> np.ndarray:
    """Encounters survived of the soldiers veterans are drawn from, in order."""
    att = lessons.attacker
    if att is None:
        raise UserError("the lessons file holds no attacker side", field=field)
    if battalion is None:
        return np.array([e for b in att.battalions for e in b.experience], np.int64)
    if battalion >= len(att.battalions):
        raise UserError(f"the lessons file has {len(att.battalions)} battalions (got "
                        f"{battalion})", field=f"{field}.battalion")
    return np.array(att.battalions[battalion].experience, np.int64)


def veteran_sources(lessons: Lessons, battalion: int | None) -> np.ndarray:
    """The file's battalion of each soldier of :func:`veteran_pool`, in the same order."""
    att = lessons.attacker
    assert att is not None
    if battalion is not None:
        return np.full(len(att.battalions[battalion].experience), battalion, np.int64)
    return np.array([b for b, bat in enumerate(att.battalions) for _ in bat.experience],
                    np.int64)


def take(pool: np.ndarray, start: int, n: int) -> np.ndarray:
    """``n`` values of ``pool`` from ``start`` on, reusing it from its start when it runs out
    (an empty pool gives green soldiers, 0 encounters).

    >>> take(np.array([5, 6, 7]), 2, 4).tolist()
    [7, 5, 6, 7]
    """
    if pool.size == 0:
        return np.zeros(n, np.int64)
    return pool[(start + np.arange(n)) % pool.size]


def apply_veterans(state: Any, scenario: Any) -> None:
    """Give each attacker unit's veterans their skills from the scenario's lessons file
    (the engine's hook for ``lessons:``; see :class:`~dronefront.scenario.models.
    ScenarioLessons`)."""
    spec = scenario.lessons
    lessons = read_lessons(spec.file)
    pool = veteran_pool(lessons, spec.battalion)
    curves = lessons.attacker.skills
    soldiers = state.soldiers
    cursor = 0
    for u, unit in enumerate(scenario.sides.attacker.units):
        share = veteran_share(spec, unit)
        idx = np.flatnonzero(soldiers.unit == u)[: int(round(share * unit.count))]
        if idx.size == 0:
            continue
        exp = take(pool, cursor, idx.size)
        cursor += idx.size
        soldiers.spotting[idx] = curves.spotting(exp)
        soldiers.marksmanship[idx] = curves.marksmanship(exp)


def veteran_share(spec: Any, unit: Any) -> float:
    """The share of veterans a scenario's ``lessons`` gives an attacker unit."""
    return spec.veterans.get(unit.name, 0.0) if isinstance(spec.veterans, dict) \
        else spec.veterans


def imported(scenario: Any, seed: int) -> tuple[Any, dict[int, Any]]:
    """What a scenario's lessons file changes before its state is built (the engine's
    hook for ``lessons:``; skills follow in :func:`apply_veterans`): the scenario, with
    the defender's drone teams fielded by the file's drone side where ``drone_side`` asks
    for it, and the doctrine of each veteran platoon, by platoon index."""
    spec = scenario.lessons
    lessons = read_lessons(spec.file)
    if spec.drone_side:
        scenario = _with_drone_side(scenario, lessons)
    return scenario, veteran_doctrines(scenario, lessons, seed) if spec.doctrine else {}


def veteran_doctrines(scenario: Any, lessons: Lessons, seed: int) -> dict[int, Any]:
    """Each veteran platoon's doctrine: platoon ``p`` of an attacker unit with ``n_v``
    veterans (its first soldiers) holds ``v_p = clip(n_v - p * platoon_size, 0, size_p)``;
    where ``2 v_p >= size_p`` it takes the unit's doctrine with the dimensions of one draw
    from the distribution of the file's battalion its first veteran comes from (stream
    ``lessons.doctrine``, keyed by platoon and dimension; the file's coherence rules)."""
    from dronefront.campaign.assault import apply_doctrine
    from dronefront.scenario.models import Doctrine

    spec = scenario.lessons
    pool = veteran_pool(lessons, spec.battalion)
    sources = veteran_sources(lessons, spec.battalion)
    key = stream_key(seed, "lessons.doctrine")
    out: dict[int, Any] = {}
    platoon = cursor = 0
    for unit in scenario.sides.attacker.units:
        n_v = min(int(round(veteran_share(spec, unit) * unit.count)), unit.count)
        size = unit.platoon_size
        for p in range(math.ceil(unit.count / size)):
            members = min(size, unit.count - p * size)
            vets = min(max(n_v - p * size, 0), members)
            b = int(sources[(cursor + p * size) % pool.size]) if pool.size else (
                spec.battalion or 0)
            drawn = _draw(lessons, b, key, platoon) if vets and 2 * vets >= members else None
            if drawn:
                holder = {"doctrine": unit.doctrine.model_dump(mode="json")}
                apply_doctrine(holder, drawn)
                try:
                    out[platoon] = Doctrine.model_validate(holder["doctrine"])
                except ValueError as exc:
                    raise UserError(f"a veteran doctrine does not fit unit {unit.name!r}: "
                                    f"{str(exc).splitlines()[-1][:120]}",
                                    field="lessons.doctrine") from None
            platoon += 1
        cursor += n_v
    return out


def _draw(lessons: Lessons, battalion: int, key: np.uint64, platoon: int) -> dict[str, Any]:
    """One doctrine from a battalion's distribution (empty if the file holds none)."""
    att = lessons.attacker
    assert att is not None
    dims = att.battalions[battalion].doctrine
    if not dims:
        return {}
    space = _space(att, battalion)
    probs = [np.array(dims[name].probabilities, float) for name in space.options]
    return space.decode(sample_choice(space, probs, key, platoon, 0))


def _space(att: AttackerLessons, battalion: int) -> DoctrineSpace:
    """The file's doctrine space of a battalion, under its coherence rules (default rules
    for a file without them, where its options fit them)."""
    options = {name: list(dim.options) for name, dim in
               att.battalions[battalion].doctrine.items()}
    if att.requires is not None:
        return DoctrineSpace(options=options, habit={}, requires=att.requires)
    try:
        return DoctrineSpace(options=options, habit={})
    except ValueError:
        return DoctrineSpace(options=options, habit={}, requires=[])


def best_policy(side: DroneSideLessons) -> str:
    """The targeting policy the drone side believes in most (highest mean; ties: the first
    in ``POLICIES``)."""
    means = [side.policy_means.get(p, -math.inf) for p in POLICIES]
    return POLICIES[int(np.argmax(means))]


def _with_drone_side(scenario: Any, lessons: Lessons) -> Any:
    """The scenario with its defender's drone teams as the file's drone side fields them
    (:func:`~dronefront.campaign.assault.field_teams`): its best-believed policy, fibre
    and thermal shares (thermal at night), and its decoy commitment."""
    from dronefront.campaign.assault import add_thermal_types, field_teams
    from dronefront.scenario.loader import validate

    side = lessons.drone_side
    if side is None:
        raise UserError("the lessons file holds no drone side", field="lessons.drone_side")
    data = scenario.model_dump(mode="json")
    types = {name: t.model_dump(mode="json") for name, t in
             scenario.all_drone_types().items()}
    defender = data["sides"]["defender"]
    defender["drone_doctrine"]["decoy_commit"] = side.decoy_commit
    teams, thermal = field_teams(defender["teams"], types, side.fibre_share,
                                 side.thermal_share, scenario.night, best_policy(side))
    defender["teams"] = teams
    add_thermal_types(data, types, thermal)
    return validate(data, file=f"{scenario.name}: lessons.drone_side")


def restore_doctrine(learner: Any, battalion: int, lessons: BattalionLessons,
                     weight: float) -> None:
    """Mix a battalion's doctrine distribution (and Thompson beliefs) with the file's:
    ``p <- (1 - w) p + w q`` per dimension, ``q`` the file's probabilities of the options
    this space has (renormalised; options it lacks are dropped). ``w`` = 1 with the same
    options takes the file's numbers exactly. With ``w`` > 0 the battalion also holds the
    file's note (its last doctrine and reward), where this space has every option of it."""
    if weight <= 0.0:
        return
    b, w = battalion, weight
    for d, (name, options) in enumerate(learner.space.options.items()):
        dim = lessons.doctrine.get(name)
        if dim is None:
            continue
        same = list(dim.options) == list(options)
        if same:
            q = np.array(dim.probabilities, float)
        else:
            q = np.zeros(len(options))
            for option, p in zip(dim.options, dim.probabilities, strict=True):
                if option in options:
                    q[options.index(option)] += p
            if q.sum() <= 0.0:
                continue
            q = q / q.sum()
        if w == 1.0 and same:
            learner.probs[b][d] = q
        else:
            p = (1 - w) * learner.probs[b][d] + w * q
            learner.probs[b][d] = p / p.sum()
        if same and dim.means is not None and dim.counts is not None:
            m, c = np.array(dim.means, float), np.array(dim.counts, float)
            if w == 1.0:
                learner.means[b][d], learner.counts[b][d] = m, c
            else:
                learner.means[b][d] = (1 - w) * learner.means[b][d] + w * m
                learner.counts[b][d] = (1 - w) * learner.counts[b][d] + w * c
    note = lessons.note
    options = learner.space.options
    if note is not None and all(name in note.doctrine and note.doctrine[name] in opts
                                for name, opts in options.items()):
        choice = np.array([opts.index(note.doctrine[name]) for name, opts in options.items()],
                          np.int64)
        learner.history[b].append((choice, float(note.reward)))


def restore_drone_side(side: Any, lessons: DroneSideLessons) -> None:
    """Set the drone side's adapted state from the file (policies it does not name keep
    their current beliefs)."""
    side.means = np.array([lessons.policy_means.get(p, m) for p, m in
                           zip(POLICIES, side.means, strict=True)], float)
    side.counts = np.array([lessons.policy_counts.get(p, c) for p, c in
                            zip(POLICIES, side.counts, strict=True)], float)
    side.reward_scale = lessons.reward_scale
    side.fibre_share = lessons.fibre_share
    side.thermal_share = lessons.thermal_share
    side.decoy_commit = lessons.decoy_commit
    side.notes_read = lessons.notes_read


def import_lessons(state: Any, lessons: Lessons, config: Any) -> None:
    """A campaign starting from a lessons file (``Campaign.lessons``): in battalion ``b``
    the first ``round(v_b * n_b)`` soldiers are veterans, taking the encounters of the
    file's battalion ``b mod B'`` in order; the battalion's doctrine distribution is mixed
    with the file's with weight ``v_b`` (:func:`restore_doctrine`); the drone side starts
    from the file's adapted state when ``config.drone_side``."""
    att = lessons.attacker
    roster = state.roster
    if att is not None:
        for b in range(state.spec.force.battalions):
            v = config.share(b)
            source = att.battalions[b % len(att.battalions)]
            members = np.flatnonzero(roster.battalion == b)
            n = int(round(v * members.size))
            roster.experience[members[:n]] = take(np.array(source.experience, np.int64), 0, n)
            restore_doctrine(state.learner, b, source, v)
    if config.drone_side and lessons.drone_side is not None:
        restore_drone_side(state.drone_side, lessons.drone_side)
