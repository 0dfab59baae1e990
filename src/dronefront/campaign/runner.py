"""The campaign runner: each day's assaults run on the engine and feed the learners.

Per day: the wounded due back return, replacements arrive, stocks are produced; then (unless
the day is in a pause) the battalion whose turn it is sends its assault group forward in
``companies_per_assault`` companies, each with a doctrine drawn from the battalion's
distribution and soldiers whose skills follow their experience. The engagement's outcome
updates soldiers (killed, evacuated, experience), the battalion's learner, the drone side's
adaptation and the stocks. At the end of the day, notes pass between battalions.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from dronefront import limits
from dronefront.arguments import (
    check_callable,
    check_int,
    check_overrides,
    check_path,
    check_seed,
    check_source,
    describe,
)
from dronefront.campaign.assault import add_thermal_types, assault_scenario, field_teams
from dronefront.campaign.lessons import (
    Lessons,
    import_lessons,
    lessons_of,
    read_lessons,
    restore_doctrine,
    restore_drone_side,
    write_lessons,
)
from dronefront.campaign.measures import (
    FPV_OUTCOMES,
    fpv_sortie_outcomes,
    stock_report,
    weekly,
)
from dronefront.campaign.models import Campaign
from dronefront.campaign.timeline import Timeline
from dronefront.engine.rng import stream_key, uniforms
from dronefront.engine.sim import Sim
from dronefront.engine.state import DRONE_ROLES, KILLED, LOST_FATES, WOUNDED, unit_loads
from dronefront.errors import UserError
from dronefront.io.jsonable import jsonable, tree_copy
from dronefront.io.outputs import check_output, stamp
from dronefront.io.rundir import (
    atomic_dir,
    canonical_json,
    sha256_of,
    write_json,
    write_parquet,
)
from dronefront.learning.diffusion import NoteNetwork
from dronefront.learning.doctrine import DoctrineLearner
from dronefront.learning.opponent import DroneSide
from dronefront.scenario.loader import (
    apply_override,
    load_raw,
    parse_value,
    set_path,
    validate,
)
from dronefront.scenario.models import DEFAULT_WEAPONS, Scenario

ACTIVE, AWAY, DEAD, GONE = 0, 1, 2, 3  # campaign soldier status
#: Drone roles whose airframes come back from a sortie that does not end otherwise.
REUSABLE_ROLES = ("isr", "bomber")
FPV_FATES = FPV_OUTCOMES  # daily columns fpv_<fate>: the engine's FATES after "launched"
LEARNING_SIDES = ("attacker", "defender")


def load_campaign(
    path_or_name: str | Path | Campaign, overrides: Iterable[str] | None = None
) -> Campaign:
    """Load a campaign file (built-in name or path) with ``--set`` style overrides.

    ``engagement_overrides.PATH=VALUE`` changes the engagement template at its own dotted
    ``PATH`` (e.g. ``engagement_overrides.sides.defender.teams.2.count=2``).
    """
    check_source(path_or_name, Campaign, "campaign")
    if isinstance(path_or_name, Campaign) and not check_overrides(overrides):
        return path_or_name  # as given: its template is checked when it runs
    return _load(path_or_name, overrides)[0]


def _load(path_or_name: str | Path | Campaign,
          overrides: Iterable[str] | None) -> tuple[Campaign, dict[str, Any]]:
    """:func:`load_campaign` and the engagement template it checked (built once a run)."""
    check_source(path_or_name, Campaign, "campaign")
    assignments = check_overrides(overrides)
    if isinstance(path_or_name, Campaign):
        if not assignments:
            return path_or_name, _template(path_or_name)
        data, lines, display = path_or_name.model_dump(mode="json"), {}, path_or_name.name
    else:
        data, lines, display = load_raw(path_or_name)
    for assignment in assignments:
        path, _, raw = assignment.partition("=")
        head, dot, rest = path.strip().partition(".")
        if head == "engagement_overrides" and dot and rest:
            # The template's own dotted path is one key of engagement_overrides.
            file = f"--set {assignment}"
            value = parse_value(raw, file)
            if not isinstance(data.setdefault("engagement_overrides", {}), dict):
                raise UserError("must be a mapping", file=file, field="engagement_overrides")
            data["engagement_overrides"][rest] = value
            continue
        apply_override(data, assignment, file=f"--set {assignment}")
    campaign = validate(data, file=display, lines=lines, model=Campaign)
    return campaign, _template(campaign)  # check the template now, not on day one


def _template(campaign: Campaign) -> dict[str, Any]:
    data, _, display = load_raw(campaign.engagement)
    data = copy.deepcopy(data)
    for dotted, value in campaign.engagement_overrides.items():
        set_path(data, dotted, value, file=f"{campaign.name}: engagement_overrides")
    scenario = validate(data, file=display)
    if not scenario.sides.attacker.units:
        raise UserError("the engagement template needs an attacker unit to copy",
                        field="engagement")
    template = scenario.model_dump(mode="json")
    if any(e.engagement for e in campaign.timeline):  # technology must fit the template
        changed = copy.deepcopy(template)
        for k, event in enumerate(campaign.timeline):
            for dotted, value in event.engagement.items():
                set_path(changed, dotted, value,
                         file=f"{campaign.name}: timeline.{k}.engagement")
            validate(copy.deepcopy(changed), file=f"{campaign.name}: timeline.{k}.engagement")
    return template


@dataclass
class CampaignResult:
    """Daily table, doctrine trajectories, engagement summaries and the final summary."""

    campaign: Campaign
    seed: int
    learning: dict[str, bool]
    daily: pa.Table
    doctrine: pa.Table
    engagements: pa.Table
    summary: dict[str, Any]
    seconds: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)
    lessons: Lessons | None = None  #: what both sides end with (``--export-lessons``)

    def manifest(self) -> dict[str, Any]:
        from dronefront import __version__

        resolved = self.campaign.model_dump(mode="json")
        return {
            "written_by": stamp("campaign"),
            "campaign": resolved, "campaign_sha256": sha256_of(resolved), "seed": self.seed,
            "learning": self.learning, "dronefront_version": __version__,
            "files": ["summary.json", "daily.parquet", "doctrine.parquet",
                      "engagements.parquet"],
        }

    def write(self, out: str | Path, *, force: bool = False) -> Path:
        """Write the campaign folder atomically; an earlier campaign folder at ``out`` is
        replaced, anything else only with ``force``."""
        out = Path(out)
        with atomic_dir(out, "campaign", force=force) as tmp:
            write_json(tmp / "manifest.json", self.manifest())
            write_json(tmp / "summary.json", self.summary)
            write_parquet(tmp / "daily.parquet", self.daily)
            write_parquet(tmp / "doctrine.parquet", self.doctrine)
            write_parquet(tmp / "engagements.parquet", self.engagements)
        return out


class _Roster:
    """The attacking force, one row per soldier who ever served."""

    def __init__(self, strength: int, battalions: int) -> None:
        self.battalion = np.arange(strength) % battalions
        self.status = np.zeros(strength, np.int8)
        self.experience = np.zeros(strength, np.int64)
        self.return_day = np.full(strength, -1, np.int64)

    def add(self, count: int, battalions: int) -> None:
        active = np.bincount(self.battalion[self.status == ACTIVE], minlength=battalions)
        order = np.argsort(active, kind="stable")
        new_b = order[np.arange(count) % battalions]
        self.battalion = np.concatenate([self.battalion, new_b])
        self.status = np.concatenate([self.status, np.zeros(count, np.int8)])
        self.experience = np.concatenate([self.experience, np.zeros(count, np.int64)])
        self.return_day = np.concatenate([self.return_day, np.full(count, -1, np.int64)])

    @property
    def active(self) -> np.ndarray:
        return self.status == ACTIVE


def run_campaign(
    campaign: Campaign | str | Path,
    seed: int = 0,
    *,
    overrides: Iterable[str] | None = None,
    no_learning: Iterable[str] = (),
    days: int | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    out: str | Path | None = None,
    force: bool = False,
    export_lessons: str | Path | None = None,
) -> CampaignResult:
    """Run a campaign; ``no_learning`` is a list that may hold "attacker" and/or "defender".

    ``export_lessons`` writes the lessons file of the state after the last day run (also
    on the result as ``result.lessons``).

    ``days`` (at least 1) cuts the horizon short (for demos and tests); ``seed`` is an
    integer in [0, 2**63). ``out`` (checked before the campaign runs) and ``force`` are as
    in :meth:`CampaignResult.write`. A wrong argument raises
    :class:`~dronefront.errors.UserError`.
    """
    import time

    started = time.perf_counter()
    seed = check_seed(seed)
    if days is not None:
        days = check_int(days, "days", minimum=1)
    check_callable(progress, "progress")
    if out is not None:
        out = check_path(out, "out")
    if export_lessons is not None:
        export_lessons = check_path(export_lessons, "export_lessons")
    if isinstance(no_learning, str | bytes) or not isinstance(no_learning, Iterable):
        raise UserError(f'must be a list of sides, e.g. ["attacker"], not '
                        f"{describe(no_learning)}", field="no_learning")
    off = list(no_learning)
    unknown = [side for side in off if side not in LEARNING_SIDES]
    if unknown:
        raise UserError(f"--no-learning takes attacker or defender, not "
                        f"{describe(unknown[0])}", field="no_learning")
    off = set(off)
    spec, template = _load(campaign, overrides)
    check_days(days)
    if out is not None:
        check_output(out, "out", folder="campaign", force=force, make_parents=True)
    horizon = spec.days if days is None else min(days, spec.days)
    state = _CampaignState(spec, template, seed, off)
    for day in range(horizon):
        state.run_day(day)
        if progress is not None:
            progress(day + 1, horizon, state.engagement_count)
    result = state.result()
    result.lessons = lessons_of(state)
    result.seconds = time.perf_counter() - started
    if out is not None:
        result.write(out, force=force)
    if export_lessons is not None:
        write_lessons(result.lessons, export_lessons)
    return result


def next_engagement(
    campaign: Campaign | str | Path, lessons: str | Path, *, overrides: Iterable[str] | None
    = None, no_learning: Iterable[str] = (),
) -> tuple[Scenario, int]:
    """The engagement a campaign would fight next from the state in a lessons file: the
    campaign restored from the file alone (its soldiers, doctrine distributions, turn,
    drone side and stocks), the next day's morning run (production, deliveries), and that
    day's first assault built as a scenario whose attackers are all veterans of the file
    (``lessons: {file, veterans: 1, battalion}``). Returns the scenario and the seed the
    campaign gives it; running it reproduces the campaign's own next engagement when the
    morning brings nobody back (returning wounded are not in the file).
    """
    spec = load_campaign(campaign, overrides)
    path = Path(lessons)
    saved = read_lessons(path, field="lessons")
    if saved.attacker is None or saved.drone_side is None:
        raise UserError("the lessons file needs both sides to rebuild a campaign",
                        field="lessons")
    if saved.campaign != spec.name or len(saved.attacker.battalions) != spec.force.battalions:
        raise UserError(f"the lessons file comes from {saved.campaign!r} with "
                        f"{len(saved.attacker.battalions)} battalions, not {spec.name!r} "
                        f"with {spec.force.battalions}", field="lessons")
    state = _CampaignState(spec, _template(spec), saved.seed, set(no_learning))
    state.restore(saved)
    day = saved.day
    state.morning(day, spec.start + dt.timedelta(days=day), _empty_row(day, spec.start))
    battalion = state._next_battalion()
    if battalion is None:
        raise UserError("no battalion can field an assault group", field="lessons")
    plan = state._prepare(day, 0, battalion)
    # The companies already carry the doctrines the restored campaign drew for them (its
    # own stream), and the defender the restored drone side's teams: the engagement's
    # own import takes the veterans' skills only.
    plan.data["lessons"] = {"file": str(path.resolve()), "veterans": 1.0,
                            "battalion": battalion, "doctrine": False, "drone_side": False}
    return validate(plan.data, file=f"{spec.name} day {day}"), plan.seed


@dataclass
class _Plan:
    """One assault as built, before it is fought."""

    data: dict[str, Any]
    seed: int
    group: np.ndarray
    companies: list[np.ndarray]
    choices: list[np.ndarray]
    doctrines: list[dict[str, Any]]
    night: bool
    policy: str
    draw_day: int
    thermal_types: set[str]


def check_days(days: int | None) -> None:
    """A ``--days`` horizon: at least 1 and within the ``campaign_days`` cap."""
    if days is not None:
        if days < 1:
            raise UserError(f"must be at least 1 (got {days})", field="--days")
        limits.check("campaign_days", days, field="--days")


class _CampaignState:
    def __init__(self, spec: Campaign, template: dict, seed: int, off: set[str]) -> None:
        self.spec = spec
        self.template = template
        self.seed = seed
        self.learning = {side: side not in off for side in LEARNING_SIDES}
        att = spec.learning.attacker
        b = spec.force.battalions
        self.roster = _Roster(spec.force.strength, b)
        self.learner = DoctrineLearner(att.doctrine, att.learner, b, seed,
                                       enabled=self.learning["attacker"])
        self.notes = NoteNetwork(att.diffusion, b, seed, enabled=self.learning["attacker"])
        self.drone_side = DroneSide(spec.learning.defender, seed,
                                    enabled=self.learning["defender"])
        self.skills_on = att.skills.enabled and self.learning["attacker"]
        types = template["drone_types"]
        from dronefront.scenario.models import DEFAULT_DRONE_TYPES

        self.types = {**{k: v.model_dump(mode="json") for k, v in DEFAULT_DRONE_TYPES.items()},
                      **types}
        self.fpv_types = {name for name, t in self.types.items() if t["role"] == "fpv"}
        self.fpv_types |= {f"{name}_thermal" for name in self.fpv_types}
        teams = template["sides"]["defender"]["teams"]
        self.stock = {name: float(spec.drone_stocks[name].initial) if name in spec.drone_stocks
                      else math.inf for name in {t["drone"] for t in teams}}
        for name in spec.drone_stocks:
            if name not in self.stock:
                raise UserError(f"no defender team flies {name!r}",
                                field=f"drone_stocks.{name}")
        self.shells = float(spec.shells.initial)
        #: the attacker's counter-drone rounds in stock by weapon class (``ammunition``)
        self.ammunition = {name: float(a.initial) for name, a in spec.ammunition.items()}
        if self.ammunition:
            known = {**DEFAULT_WEAPONS, **template.get("counter_drone", {}).get("weapons", {})}
            for name in self.ammunition:
                if name not in known:
                    raise UserError(f"not a weapon class of the engagement; known: "
                                    f"{sorted(known)}", field=f"ammunition.{name}")
        self._short = False  # whether a short stock cut the engagement being built
        self.next_battalion = 0
        self.engagement_count = 0
        self.rows: list[dict[str, Any]] = []
        self.doctrine_rows: list[dict[str, Any]] = []
        self.engagement_rows: list[dict[str, Any]] = []
        self.cum = {"killed": 0, "wounded": 0, "evacuated": 0, "returned": 0,
                    "replacements": 0, "spend": 0.0}
        self.production = {name: s.production_per_day for name, s in spec.drone_stocks.items()}
        self.production["shells"] = spec.shells.production_per_day
        for name, a in spec.ammunition.items():
            self.production[f"ammunition.{name}"] = a.production_per_day
        self.timeline = Timeline(self) if spec.timeline else None
        if spec.lessons is not None:
            import_lessons(self, read_lessons(spec.lessons.file), spec.lessons)

    def restore(self, saved: Lessons) -> None:
        """Take the whole state a lessons file holds (the round trip of ``next_engagement``):
        the roster becomes the file's soldiers, on strength, battalion by battalion."""
        att, side = saved.attacker, saved.drone_side
        assert att is not None and side is not None
        roster = _Roster(0, self.spec.force.battalions)
        for b, bat in enumerate(att.battalions):
            n = len(bat.experience)
            roster.battalion = np.concatenate([roster.battalion, np.full(n, b, np.int64)])
            roster.status = np.concatenate([roster.status, np.zeros(n, np.int8)])
            roster.experience = np.concatenate([roster.experience,
                                                np.array(bat.experience, np.int64)])
            roster.return_day = np.concatenate([roster.return_day, np.full(n, -1, np.int64)])
        self.roster = roster
        self.next_battalion = att.next_battalion
        for b, bat in enumerate(att.battalions):
            restore_doctrine(self.learner, b, bat, 1.0)
        restore_drone_side(self.drone_side, side)
        for name, value in side.stocks.items():
            if name in self.stock:
                self.stock[name] = value
        self.shells = side.shells
        for name, value in att.ammunition.items():
            if name in self.ammunition:
                self.ammunition[name] = value

    # ---------------------------------------------------------------- one day
    def morning(self, day: int, date: dt.date, row: dict[str, Any]) -> tuple[int, int]:
        """Returns, replacements, production and the timeline, before any assault."""
        spec, roster = self.spec, self.roster
        back = (roster.status == AWAY) & (roster.return_day == day)
        roster.status[back] = ACTIVE
        returned = int(back.sum())
        arriving = sum(r.count for r in spec.reinforcements if r.date == date)
        if arriving:
            roster.add(arriving, spec.force.battalions)
        for name in spec.drone_stocks:
            self.stock[name] += self.production[name]
        self.shells += self.production["shells"]
        for name in spec.ammunition:
            self.ammunition[name] += self.production[f"ammunition.{name}"]
        if self.timeline is not None:
            self.timeline.morning(day, date, row)
        return returned, arriving

    def run_day(self, day: int) -> None:
        spec = self.spec
        date = spec.start + dt.timedelta(days=day)
        row = _empty_row(day, date)
        if self.ammunition:  # a column only where the attacker's rounds are stocked
            row["rounds_fired"] = 0
        returned, arriving = self.morning(day, date, row)
        row.update(returned=returned, replacements=arriving)
        combat = not spec.paused(date)
        row["combat"] = combat
        if combat:
            for a in range(spec.force.assaults_per_day):
                battalion = self._next_battalion()
                if battalion is None:
                    break
                self._assault(day, a, battalion, row)
            self.learner.end_of_day()
            row["notes_shared"] = self.notes.share(day, self.learner)
        self._close_day(day, date, row)

    def _next_battalion(self) -> int | None:
        force = self.spec.force
        b = force.battalions
        need = max(1, math.ceil(force.min_assault_share * force.assault_size))
        strength = np.bincount(self.roster.battalion[self.roster.active], minlength=b)
        for k in range(b):
            candidate = (self.next_battalion + k) % b
            if strength[candidate] >= need:
                self.next_battalion = (candidate + 1) % b
                return candidate
        return None

    def _prepare(self, day: int, a: int, battalion: int) -> _Plan:
        """Build assault ``a`` of ``day`` by ``battalion`` from the state as it stands."""
        force, roster = self.spec.force, self.roster
        members = np.flatnonzero(roster.active & (roster.battalion == battalion))
        group = members[: force.assault_size]
        companies = [c for c in np.array_split(group, force.companies_per_assault) if c.size]
        draw_day = day * 64 + a * 8
        choices = [self.learner.choose(battalion, draw_day + k) for k in range(len(companies))]
        doctrines = [self.learner.space.decode(c) for c in choices]
        night = sum(bool(d.get("night", False)) for d in doctrines) * 2 > len(doctrines)
        policy = self.drone_side.policy(draw_day)
        data, thermal_types = self._engagement(companies, doctrines, night, policy)
        if self.ammunition:
            self._issue(data)
        eng_seed = int(stream_key(self.seed, f"campaign.engagement.{day}.{a}") % (2**31 - 1))
        return _Plan(data, eng_seed, group, companies, choices, doctrines, night, policy,
                     draw_day, thermal_types)

    def _assault(self, day: int, a: int, battalion: int, row: dict[str, Any]) -> None:
        spec, roster = self.spec, self.roster
        plan = self._prepare(day, a, battalion)
        group, companies, choices, doctrines = (plan.group, plan.companies, plan.choices,
                                                plan.doctrines)
        night, policy, draw_day, thermal_types = (plan.night, plan.policy, plan.draw_day,
                                                  plan.thermal_types)
        eng_seed = plan.seed
        scenario = validate(plan.data, file=f"{spec.name} day {day}")
        sim = Sim(scenario, seed=eng_seed, events=False)
        s = sim.state.soldiers
        offset = 0
        curves = spec.learning.attacker.skills
        for company in companies:
            block = slice(offset, offset + company.size)
            exp = roster.experience[company] if self.skills_on else np.zeros(company.size)
            s.spotting[block] = curves.spotting(exp)
            s.marksmanship[block] = curves.marksmanship(exp)
            offset += company.size
        carried = sim.state.arms.rounds.copy() if self.ammunition else None
        result = sim.run()
        self.engagement_count += 1
        summary = result.summary
        # Soldiers: the dead, the evacuated (some return), experience for survivors.
        status = s.status[:offset]
        encounters = s.encounters[:offset]
        soldiers = np.concatenate(companies)
        dead = soldiers[status == KILLED]
        hurt = soldiers[status == WOUNDED]
        roster.status[dead] = DEAD
        light = uniforms(stream_key(self.seed, "campaign.light_wounds"), day, hurt, a)
        light = light < spec.evacuation.light_share
        roster.status[hurt] = np.where(light, AWAY, GONE)
        roster.return_day[hurt[light]] = day + spec.evacuation.return_days
        alive = status != KILLED
        roster.experience[soldiers[alive]] += encounters[alive]
        # Learning from each company's outcome.
        for k in range(len(companies)):
            unit = summary["units"][f"company-{k + 1}"]
            rate = (unit["killed"] + unit["wounded"]) / max(unit["initial"], 1)
            reward = self.learner.reward(unit["progress"] or 0.0, rate)
            self.learner.update(battalion, choices[k], reward)
            drill = doctrines[k].get("drill", "none")
            if self.notes.captured(draw_day + k, battalion, unit["killed"]):
                row["notes_captured"] += 1
                self.drone_side.read_note(str(drill))
        self.drone_side.update(summary, policy, night, self.fpv_types)
        self._account(summary, thermal_types, row)
        if carried is not None:
            self._account_rounds(sim.state, carried, row)
        att = summary["sides"]["attacker"]
        row["assaults"] += 1
        row["supply_short"] += int(self._short)
        row["night_assaults"] += int(night)
        row["assault_soldiers"] += int(group.size)
        row["killed"] += att["killed"]
        row["wounded"] += att["wounded"]
        row["evacuated"] += att["wounded"]
        row["fpv_strikes"] += att["fpv_strikes_received"]
        row["drones_detected"] += att["drones_detected"]
        row["shoot_downs"] += att["drones_shot_down"]
        for weapon, counts in att["casualties_by_cause"].items():
            key = f"casualties_{self._role(weapon)}"
            row[key] = row.get(key, 0) + counts["killed"] + counts["wounded"]
        self.engagement_rows.append({
            "day": day, "date": self.spec.start + dt.timedelta(days=day), "assault": a,
            "battalion": battalion, "seed": eng_seed, "night": night, "policy": policy,
            "soldiers": int(group.size), "killed": att["killed"], "wounded": att["wounded"],
            "casualties": att["casualties"], "fpv_strikes": att["fpv_strikes_received"],
            "shoot_downs": att["drones_shot_down"], "drones_detected": att["drones_detected"],
            "doctrines": str(doctrines), "summary": canonical_json(summary),
        })

    def _role(self, weapon: str) -> str:
        spec = self.types.get(weapon.removesuffix("_thermal"))
        return spec["role"] if spec else weapon

    def _engagement(self, companies: list[np.ndarray], doctrines: list[dict], night: bool,
                    policy: str) -> tuple[dict, set[str]]:
        data = assault_scenario(self.template, [c.size for c in companies], doctrines,
                                self.spec.force.company_gap, night)
        data["name"] = f"{self.spec.name}-assault"
        defender = data["sides"]["defender"]
        defender["drone_doctrine"]["decoy_commit"] = self.drone_side.decoy_commit
        self._short = False
        teams, thermal_types = self._teams(defender["teams"], night, policy)
        defender["teams"] = teams
        add_thermal_types(data, self.types, thermal_types)
        batteries = defender.get("batteries", [])
        for battery in batteries:  # share the stock: no battery plans more than its part
            share = int(self.shells // len(batteries))
            self._short |= share < battery["rounds"]
            battery["rounds"] = int(min(battery["rounds"], share))
        return data, thermal_types

    def _teams(self, teams: list[dict], night: bool, policy: str) -> tuple[list, set[str]]:
        """Split FPV teams radio/fibre and thermal by the drone side's state; cap by stock."""
        side = self.drone_side
        out, thermal = field_teams(teams, self.types, side.fibre_share, side.thermal_share,
                                   night, policy, rebalance=self._stock_split)
        # Cap the teams' airframes by what the stock holds: each team's share is
        # floor(stock / teams), and the remainder goes one each to the first teams, so a
        # short stock flies fewer sorties and none is left idle by rounding.
        for base in self.stock:
            mine = [t for t in out if t["drone"].removesuffix("_thermal") == base]
            n_teams = sum(t["count"] for t in mine)
            if n_teams and math.isfinite(self.stock[base]):
                whole = max(int(self.stock[base]), 0)
                cap, spare = divmod(whole, n_teams)
                for t in mine:
                    if cap >= t["inventory"]:
                        continue
                    self._short = True
                    extra = min(spare, t["count"])  # one more airframe for that many teams
                    spare -= extra
                    if extra and extra < t["count"]:  # split the team: some get one more
                        out.append({**tree_copy(t), "count": extra,
                                    "inventory": min(cap + 1, t["inventory"])})
                        t["count"] -= extra
                        t["inventory"] = cap
                    else:
                        t["inventory"] = min(cap + (1 if extra else 0), t["inventory"])
        return out, thermal

    def _issue(self, data: dict[str, Any]) -> None:
        """Issue the assault's counter-drone rounds from the stocks: where class ``c`` is
        short (``S_c < D_c``, ``D_c`` the rounds its soldiers carry in full), each of them
        carries ``floor(L_c * S_c / D_c)`` of his load ``L_c`` (a unit's ``ammunition``)."""
        scenario = validate(data, file=f"{self.spec.name} assault")
        weapons = scenario.all_weapons()
        units = scenario.sides.attacker.units
        loads = [unit_loads(unit, weapons) for unit in units]
        for name, stock in self.ammunition.items():
            demand = sum(load.get(name, (0, 0))[1] for load in loads)
            if demand <= stock:
                continue
            self._short = True
            share = max(stock, 0.0) / demand
            for unit, load in zip(data["sides"]["attacker"]["units"], loads, strict=True):
                if name in load:
                    per_soldier = load[name][0]
                    unit.setdefault("ammunition", {})[name] = int(
                        math.floor(per_soldier * share))

    def _account_rounds(self, state: Any, carried: np.ndarray, row: dict[str, Any]) -> None:
        """The attacker's rounds fired at drones leave the stocks, class by class."""
        attacker = state.soldiers.side == 0
        fired = np.bincount(state.arms.weapon[attacker],
                            weights=(carried - state.arms.rounds)[attacker],
                            minlength=len(state.arms.names))
        row["rounds_fired"] += int(fired.sum())
        for k, name in enumerate(state.arms.names):
            if name in self.ammunition:
                before = self.ammunition[name]
                self.ammunition[name] = max(before - float(fired[k]), 0.0)
                if self.timeline is not None:
                    self.timeline.spent(f"ammunition.{name}", before - self.ammunition[name])

    def _stock_split(self, radio: dict, fibre: dict, total: int, n_fibre: int) -> int:
        """Fly what the stocks hold: while the teams of one link type would run short of
        airframes and the other type has a team's worth to spare, move a team across."""
        r = self.stock.get(radio["drone"], math.inf)
        f = self.stock.get(fibre["drone"], math.inf)
        inv_r, inv_f = radio["inventory"], fibre["inventory"]
        while (n_fibre < total and r < (total - n_fibre) * inv_r
               and f >= (n_fibre + 1) * inv_f):
            n_fibre += 1
        while n_fibre > 0 and f < n_fibre * inv_f and r >= (total - n_fibre + 1) * inv_r:
            n_fibre -= 1
        return n_fibre

    def _account(self, summary: dict, thermal_types: set[str], row: dict[str, Any]) -> None:
        spent = 0.0
        for name, fates in summary["drones"]["defender"].items():
            base = name.removesuffix("_thermal")
            lost = sum(fates[f] for f in LOST_FATES)
            spec = self.types.get(base)
            role = spec["role"] if spec is not None else None
            # Every sortie draws an airframe; only those that came back return to the
            # stock. One-way roles still in the air when the engagement ends are spent;
            # reusable ones (ISR, bombers) are counted as flying home.
            drawn = fates["launched"] - fates["returned"]
            if role in REUSABLE_ROLES:
                drawn -= fates.get("in_flight", 0)
            if base in self.stock and math.isfinite(self.stock[base]):
                before = self.stock[base]
                self.stock[base] = max(before - drawn, 0.0)
                if self.timeline is not None:
                    self.timeline.spent(base, before - self.stock[base])
            spent += fates["cost_lost"]
            row["drones_lost"] += lost
            if role == "fpv":
                row["fpv_sorties"] += fates["launched"]
                for fate in FPV_FATES:
                    row[f"fpv_{fate}"] += fates.get(fate, 0)
        shells = summary["sides"]["defender"]["munitions"]["shells"]
        before = self.shells
        self.shells = max(self.shells - shells, 0.0)
        if self.timeline is not None:
            self.timeline.spent("shells", before - self.shells)
        row["shells_fired"] += shells
        spent += summary["sides"]["defender"]["munitions"]["shells_cost"]
        row["spend_usd"] += spent

    def _close_day(self, day: int, date: dt.date, row: dict[str, Any]) -> None:
        roster = self.roster
        for key in ("killed", "wounded", "evacuated", "returned", "replacements"):
            self.cum[key] += row[key]
        self.cum["spend"] += row["spend_usd"]
        active = roster.active
        curves = self.spec.learning.attacker.skills
        exp = roster.experience[active] if self.skills_on else np.zeros(int(active.sum()))
        row.update(
            casualties=row["killed"] + row["wounded"],
            strength=int(active.sum()),
            cumulative_killed=self.cum["killed"],
            cumulative_wounded=self.cum["wounded"],
            cumulative_casualties=self.cum["killed"] + self.cum["wounded"],
            cumulative_evacuated=self.cum["evacuated"],
            cumulative_returned=self.cum["returned"],
            cumulative_replacements=self.cum["replacements"],
            cumulative_spend_usd=self.cum["spend"],
            shoot_downs_per_encounter=(row["shoot_downs"] / row["drones_detected"]
                                       if row["drones_detected"] else None),
            mean_experience=float(exp.mean()) if exp.size else 0.0,
            mean_spotting=float(curves.spotting(exp).mean()) if exp.size else 0.0,
            mean_marksmanship=float(curves.marksmanship(exp).mean()) if exp.size else 0.0,
            fibre_share=self.drone_side.fibre_share,
            thermal_share=self.drone_side.thermal_share,
            decoy_commit=self.drone_side.decoy_commit,
            shells_stock=self.shells,
        )
        for name, stock in self.stock.items():
            if math.isfinite(stock):
                row[f"stock_{name}"] = stock
        for name, stock in self.ammunition.items():
            row[f"stock_ammunition_{name}"] = stock
        space = self.learner.space
        dims = list(space.options)
        for b in range(self.spec.force.battalions):
            for d, name in enumerate(dims):
                for k, option in enumerate(space.options[name]):
                    self.doctrine_rows.append({
                        "day": day, "date": date, "battalion": b, "dimension": name,
                        "option": str(option), "probability": float(self.learner.probs[b][d][k]),
                    })
        if "spacing" in dims:
            probs = np.array([self.learner.probs[b][dims.index("spacing")]
                              for b in range(self.spec.force.battalions)])
            row["expected_spacing"] = float((probs @ np.array(space.options["spacing"])).mean())
        self.rows.append(row)

    def result(self) -> CampaignResult:
        rows = self.rows
        # Known columns first, the rest by name: the same order in every process.
        keys = sorted({k for r in rows for k in r}, key=lambda k: (_COLUMN_ORDER.get(k, 999), k))
        columns = {k: [r.get(k, 0 if k.startswith("casualties_") else None) for r in rows]
                   for k in keys}
        daily = pa.table(columns) if rows else pa.table({"day": pa.array([], pa.int64())})
        doctrine = pa.Table.from_pylist(self.doctrine_rows) if self.doctrine_rows else pa.table(
            {"day": pa.array([], pa.int64())})
        engagements = pa.Table.from_pylist(self.engagement_rows) if self.engagement_rows \
            else pa.table({"day": pa.array([], pa.int64())})
        summary = _campaign_summary(self, rows)
        if self.timeline is not None:
            summary["exchange"] = self.timeline.report()
        return CampaignResult(self.spec, self.seed, self.learning, daily, doctrine,
                              engagements, summary)


_COLUMN_ORDER = {k: i for i, k in enumerate((
    "date", "day", "combat", "assaults", "night_assaults", "assault_soldiers", "strength",
    "killed", "wounded", "casualties", "evacuated", "returned", "replacements",
    "cumulative_killed", "cumulative_wounded", "cumulative_casualties",
    "cumulative_evacuated", "cumulative_returned", "cumulative_replacements"))}


def _empty_row(day: int, date: dt.date) -> dict[str, Any]:
    row: dict[str, Any] = {k: 0 for k in (
        "assaults", "night_assaults", "assault_soldiers", "killed", "wounded", "evacuated",
        "fpv_strikes", "fpv_sorties", *(f"fpv_{f}" for f in FPV_FATES), "drones_detected",
        "shoot_downs", "drones_lost", "shells_fired", "notes_shared", "notes_captured",
        "supply_short")}
    row.update({f"casualties_{role}": 0 for role in DRONE_ROLES if role != "isr"})
    row.update(casualties_artillery=0, casualties_small_arms=0, day=day, date=date,
               spend_usd=0.0)
    return row


def _campaign_summary(state: _CampaignState, rows: list[dict]) -> dict[str, Any]:
    combat = [r for r in rows if r["assaults"]]
    per_assault = [r["casualties"] / r["assaults"] for r in combat]
    first = per_assault[:7]
    last = per_assault[-14:]
    halved = None
    if len(per_assault) >= 7:  # a 7-day rolling mean needs a week of fighting
        rolling = np.convolve(per_assault, np.ones(7) / 7, mode="valid")
        below = np.flatnonzero(rolling <= 0.5 * np.mean(first))
        if below.size:
            halved = int(combat[below[0] + 6]["day"])

    def ratio(rows_: list[dict], num: str, den: str) -> float | None:
        n, d = sum(r[num] for r in rows_), sum(r[den] for r in rows_)
        return n / d if d else None

    fpv = [{**r, "fpv": r.get("casualties_fpv", 0)} for r in combat]
    return {
        "campaign": state.spec.name,
        "seed": state.seed,
        "learning": state.learning,
        "days": len(rows),
        "engagements": state.engagement_count,
        "killed": state.cum["killed"],
        "wounded": state.cum["wounded"],
        "casualties": state.cum["killed"] + state.cum["wounded"],
        "replacements": state.cum["replacements"],
        "returned": state.cum["returned"],
        "final_strength": rows[-1]["strength"] if rows else state.spec.force.strength,
        "defender_spend_usd": state.cum["spend"],
        "casualties_per_assault_first_week": float(np.mean(first)) if first else None,
        "casualties_per_assault_last_two_weeks": float(np.mean(last)) if last else None,
        "days_to_halve_casualties_per_assault": halved,
        "shoot_downs_per_encounter_first_week": ratio(combat[:7], "shoot_downs",
                                                      "drones_detected"),
        "shoot_downs_per_encounter_last_two_weeks": ratio(combat[-14:], "shoot_downs",
                                                          "drones_detected"),
        "fpv_casualty_share_first_week": ratio(fpv[:7], "fpv", "casualties"),
        "fpv_casualty_share_last_two_weeks": ratio(fpv[-14:], "fpv", "casualties"),
        "weekly": weekly(rows),
        "fpv_sortie_outcomes": fpv_sortie_outcomes(rows),
        "stocks": stock_report(rows),
        "final_fibre_share": state.drone_side.fibre_share,
        "final_decoy_commit": state.drone_side.decoy_commit,
        "doctrine_modes": {
            f"battalion-{b}": jsonable(state.learner.space.decode(state.learner.mode(b)))
            for b in range(state.spec.force.battalions)
        },
    }


def daily_casualty_table(result: CampaignResult) -> list[tuple]:
    """(date, assaults, casualties, killed, strength) per day, for printing."""
    d = result.daily.to_pydict()
    return list(zip(d["date"], d["assaults"], d["casualties"], d["killed"], d["strength"],
                    strict=True))

