"""HTML reports: one offline file of tables and inline PNG plots.

:func:`build_report` looks at what PATH is and hands it to the matching *report kind*: run
folders and campaign folders are known here; other kinds (experiment stores) add their own
with :func:`register_report_kind` (a ``detect(path) -> bool`` and a
``render(path) -> html``), reusing :func:`page`, :func:`section`, :func:`table` and
:func:`figure_img`. A kind registered with ``compare=True`` also takes
``render(path, compare=[...])``, the folders given with ``--compare``; one registered
with ``options=("experiment",)`` also receives those keyword options of
:func:`build_report` (``--experiment`` on the command line) when they are given.
Experiment stores (``.duckdb`` files written by ``dronefront experiment run`` and
``dronefront calibrate``) are a kind of their own, registered at the end of this module.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from dronefront.engine.result import Result
from dronefront.engine.state import FATES
from dronefront.errors import UserError
from dronefront.viz.data import RunData, as_run_data, is_run_dir, load_run

if TYPE_CHECKING:
    from dronefront.viz.data import CampaignData

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1d1d1d; max-width: 1000px; margin: 20px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px;
  border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
figure { margin: 8px 0 18px; } figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 12px; }
nav a { margin-right: 10px; }
h3 { font-size: 16px; margin: 20px 0 6px; } h4 { font-size: 14px; margin: 14px 0 4px; }
.note { color: #7a4b00; background: #fff6e0; padding: 4px 8px; font-size: 13px; }
"""


# --------------------------------------------------------------------------- building blocks
def esc(value: Any) -> str:
    """HTML-escape any value."""
    return html.escape(str(value))


def fmt(value: Any, digits: int = 2) -> str:
    """A number for a table: integers as they are, floats rounded, None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


_NUMBER = re.compile(r"^[-+]?\$?[\d,]*\.?\d+(e[-+]?\d+)?(%|[kM])?$")  # 12.3%, $1,500, 2e-05


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table (values formatted with :func:`fmt` and escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    def cell(v: Any) -> str:
        numeric = v is None or (isinstance(v, int | float) and not isinstance(v, bool)) or (
            isinstance(v, str) and _NUMBER.match(v) is not None)
        return f'<td class="num">{esc(fmt(v))}</td>' if numeric else f"<td>{esc(fmt(v))}</td>"

    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_img(fig: Figure, caption: str = "", alt: str = "") -> str:
    """A figure as an inline base64 PNG ``<figure>`` (no external files)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (f'<figure><img alt="{esc(alt or caption)}" '
            f'src="data:image/png;base64,{data}">{cap}</figure>')


def section(ident: str, title: str, *parts: str) -> str:
    """A report section with an anchor id."""
    return f'<section id="{esc(ident)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]],
         nav: Sequence[tuple[str, str]] | None = None) -> str:
    """A whole report page from ``(id, title, html)`` sections, with a table of contents
    (of the sections, or of ``nav``'s ``(id, title)`` entries when given)."""
    links = nav if nav is not None else [(i, t) for i, t, _ in sections]
    nav_html = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in links)
    body = "".join(s for _, _, s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<link rel=\"icon\" href=\"data:,\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
        f"<p class=\"meta\">{subtitle}</p><nav>{nav_html}</nav>{body}</body></html>\n"
    )


# --------------------------------------------------------------------------- dispatch
@dataclass(frozen=True)
class ReportKind:
    """A kind of PATH that ``dronefront report`` understands."""

    name: str
    detect: Callable[[Path], bool]
    render: Callable[..., str]
    compare: bool = False  # render(path, compare=[...]) takes folders to compare with
    options: tuple[str, ...] = ()  # keyword options of build_report that render takes


_KINDS: list[ReportKind] = []


def register_report_kind(name: str, detect: Callable[[Path], bool],
                         render: Callable[..., str], *, compare: bool = False,
                         options: Sequence[str] = ()) -> None:
    """Teach :func:`build_report` a new kind of PATH (replacing one of the same name).

    With ``compare=True``, ``render`` is called as ``render(path, compare=[...])`` and
    receives the ``--compare`` folders (an empty list when none were given). ``options``
    names keyword options of :func:`build_report` (e.g. ``"experiment"``) that ``render``
    accepts; each is passed when it is given (not None).
    """
    _KINDS[:] = [k for k in _KINDS if k.name != name]
    _KINDS.append(ReportKind(name, detect, render, compare, tuple(options)))


def report_kinds() -> list[str]:
    """Names of the kinds of PATH that reports exist for."""
    return [k.name for k in _KINDS]


def build_report(path: Any, compare: Any = None, **options: Any) -> str:
    """The HTML report for PATH (a run folder, campaign folder or experiment store), or for
    a Result, RunData, CampaignResult or CampaignData.

    ``options``: keyword options of a kind, e.g. ``experiment="NAME"`` to report one
    experiment of a store (its name or the start of its hash).

    ``compare``: another campaign (folder or CampaignResult), or a list of them, to show
    next to a campaign (e.g. the same campaign with learning off). Without it, a campaign
    folder is compared with its siblings of the same campaign and seed but other learning
    flags (see :func:`campaign_counterparts`).
    """
    others = _as_list(compare)
    given = {k: v for k, v in options.items() if v is not None}
    if given and not isinstance(path, str | Path):
        raise UserError(f"--{next(iter(given))} applies to experiment stores only",
                        field=f"--{next(iter(given))}")
    if isinstance(path, Result | RunData):
        if others:
            raise UserError("--compare applies to campaign folders only", field="--compare")
        return run_report(as_run_data(path))
    if not isinstance(path, str | Path):
        from dronefront.viz.data import as_campaign_data

        return campaign_report(as_campaign_data(path), others)
    path = Path(path)
    if not path.exists():
        raise UserError("no such file or folder", file=str(path))
    for kind in _KINDS:
        if kind.detect(path):
            what = kind.name.replace("_", " ")
            for name in given:
                if name not in kind.options:
                    raise UserError(f"--{name} does not apply to a {what}", file=str(path),
                                    field=f"--{name}")
            if kind.compare:
                return kind.render(path, compare=others, **given)
            if others:
                raise UserError(f"--compare does not apply to a {what}",
                                file=str(path), field="--compare")
            return kind.render(path, **given)
    raise UserError(
        f"cannot report on this: not a {' or '.join(k.replace('_', ' ') for k in report_kinds())}"
        " (a run folder holds manifest.json and summary.json; a campaign folder also "
        "daily.parquet; an experiment store is the .duckdb file of dronefront experiment "
        "run or calibrate)", file=str(path),
    )


def _as_list(compare: Any) -> list[Any]:
    if compare is None:
        return []
    if isinstance(compare, list | tuple):
        return list(compare)
    return [compare]


def write_report(path: Any, out: str | Path, compare: Any = None, **options: Any) -> Path:
    """Write the report for PATH to ``out`` atomically (missing folders are created);
    returns the output path."""
    from dronefront.io.outputs import check_output, write_text

    out = check_output(out, "out", make_parents=True)
    return write_text(out, build_report(path, compare, **options), make_parents=True)


# --------------------------------------------------------------------------- run report
def run_report(run: RunData) -> str:
    """The report of one engagement: summary tables and plots."""
    from dronefront.viz import plots

    s = run.summary
    m = run.manifest
    sides = {k: v for k, v in s.get("sides", {}).items() if v.get("initial", 0) > 0}
    where = f" &middot; folder <code>{esc(run.path)}</code>" if run.path else ""
    subtitle = (
        f"seed {esc(s.get('seed'))} &middot; {esc(fmt(s.get('duration_s'), 0))} s in "
        f"{esc(s.get('steps'))} steps &middot; dronefront {esc(m.get('dronefront_version'))}"
        f" &middot; scenario SHA-256 <code>{esc(str(m.get('scenario_sha256', ''))[:12])}</code>"
        f"{where}"
    )
    summary_rows = [
        (name, v["initial"], v["healthy"], v["wounded"], v["killed"], v["casualties"],
         _pct(v.get("objective_progress")), _pct(v.get("objective_reached_share")),
         v.get("casualties_per_fpv_strike"), v.get("drone_encounters"))
        for name, v in sides.items()
    ]
    summary_html = table(
        ["side", "initial", "healthy", "wounded", "killed", "casualties",
         "objective progress", "reached objective", "casualties per FPV strike",
         "drone encounters"], summary_rows,
    ) + ("<p>Exchange ratio (attacker / defender casualties): "
         f"{esc(fmt(s.get('exchange_ratio')))}</p>")

    cause_rows = [(name, cause, c["killed"], c["wounded"], c["killed"] + c["wounded"])
                  for name, v in sides.items()
                  for cause, c in sorted(v["casualties_by_cause"].items(),
                                         key=lambda i: -(i[1]["killed"] + i[1]["wounded"]))]
    figures = {ident: (title, fn(run)) for ident, title, fn in plots.RUN_PLOTS}

    def fig(ident: str, caption: str) -> str:
        title, figure = figures[ident]
        return f"<h3>{esc(title)}</h3>" + figure_img(figure, caption, alt=title)

    casualties = section(
        "casualties", "Casualties",
        table(["side", "cause", "killed", "wounded", "casualties"], cause_rows)
        if cause_rows else "<p>No casualties.</p>",
        fig("casualties", "Each soldier counted once, when first hit, by the weapon that hit "
                          "it; the table attributes a soldier to the last weapon that hit it."),
        fig("strength", "Healthy, wounded and killed soldiers per side, per step."),
    )
    fates = list(FATES)
    drone_rows = [(side, kind, *(f.get(k, 0) for k in fates), f.get("strikes", 0),
                   f.get("cost_lost"))
                  for side, types in s.get("drones", {}).items() for kind, f in types.items()]
    drones = section(
        "drones", "Drones",
        table(["side", "type", *(f.replace("_", " ") for f in fates), "strikes",
               "cost lost (USD)"], drone_rows) if drone_rows else "<p>No drones flew.</p>",
        fig("drones", "Sorties by how they ended; 'returned' airframes fly again."),
    )
    munition_rows = [(name, v["munitions"].get("shells"), v["munitions"].get("shells_cost"),
                      v["munitions"].get("counterdrone_shots"),
                      v["munitions"].get("direct_fire_shots")) for name, v in sides.items()]
    cost_rows = [(name, c.get("spent"), c.get("value_of_losses"), c.get("value_inflicted"),
                  c.get("cost_exchange_ratio")) for name, c in s.get("cost", {}).items()]
    cost = section(
        "cost", "Munitions and cost exchange",
        table(["side", "shells fired", "shells cost (USD)", "counter-drone shots",
               "direct-fire shots"], munition_rows),
        table(["side", "spent (USD)", "value of own losses (USD)", "value inflicted (USD)",
               "cost-exchange ratio"], cost_rows),
        fig("cost", "Spent: drones lost plus shells fired. Value inflicted: the enemy's "
                    "soldiers (a wounded one counts half) and drones lost."),
    )
    where_html = section("map", "Where it happened",
                         fig("map", "Terrain classes, objectives (dashed), jammer zones, "
                                    "every strike, bomb and shell, and where soldiers fell."))
    summary = section("summary", "Summary", summary_html)
    sections = [("summary", "Summary", summary), ("casualties", "Casualties", casualties),
                ("drones", "Drones", drones), ("cost", "Cost", cost),
                ("map", "Map", where_html)]
    return page(f"dronefront report: {s.get('scenario', 'run')}", subtitle, sections)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _render_run_dir(path: Path) -> str:
    return run_report(load_run(path))


def _is_run_folder(path: Path) -> bool:
    from dronefront.viz.data import is_campaign_dir

    return is_run_dir(path) and not is_campaign_dir(path)


# --------------------------------------------------------------------------- campaign report
#: Summary rows of a campaign: (label, summary key, format).
CAMPAIGN_METRICS = (
    ("days", "days", "int"), ("engagements", "engagements", "int"),
    ("casualties (killed + wounded)", "casualties", "int"), ("killed", "killed", "int"),
    ("wounded", "wounded", "int"), ("returned to duty", "returned", "int"),
    ("replacements", "replacements", "int"), ("final strength", "final_strength", "int"),
    ("casualties per assault, first week", "casualties_per_assault_first_week", "num"),
    ("casualties per assault, last two weeks", "casualties_per_assault_last_two_weeks",
     "num"),
    ("days until the 7-day mean per assault halved", "days_to_halve_casualties_per_assault",
     "int"),
    ("shoot-downs per encounter, first week", "shoot_downs_per_encounter_first_week", "pct"),
    ("shoot-downs per encounter, last two weeks", "shoot_downs_per_encounter_last_two_weeks",
     "pct"),
    ("FPV share of casualties, first week", "fpv_casualty_share_first_week", "pct"),
    ("FPV share of casualties, last two weeks", "fpv_casualty_share_last_two_weeks", "pct"),
    ("defender spend (USD)", "defender_spend_usd", "usd"),
    ("final fibre-optic FPV share", "final_fibre_share", "pct"),
    ("final decoy commitment", "final_decoy_commit", "pct"),
)


def _metric(value: Any, style: str) -> Any:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if style == "pct":
        return f"{value:.1%}"
    if style == "usd":
        return f"${value:,.0f}"
    if style == "int" and float(value).is_integer():
        return int(value)
    return float(value)


def _learning_text(learning: dict[str, bool]) -> str:
    return ", ".join(f"{side} {'on' if on else 'off'}" for side, on in learning.items()) or "-"


def campaign_counterparts(path: str | Path, limit: int = 3) -> list[Path]:
    """Sibling folders of the same campaign (same ``campaign_sha256``) and seed whose
    learning flags differ, e.g. ``runs/NAME-seed1-no-attacker`` next to ``runs/NAME-seed1``.
    """
    from dronefront.viz.data import _read_manifest, is_campaign_dir

    path = Path(path).resolve()
    mine = _read_manifest(path) if path.is_dir() else None
    if not mine or mine.get("campaign_sha256") is None:
        return []
    found = []
    try:
        siblings = sorted(p for p in path.parent.iterdir() if p.is_dir() and p != path)
    except OSError:
        return []
    for other in siblings:
        if not is_campaign_dir(other):
            continue
        theirs = _read_manifest(other)
        if (theirs and theirs.get("campaign_sha256") == mine["campaign_sha256"]
                and theirs.get("seed") == mine.get("seed")
                and theirs.get("learning") != mine.get("learning")):
            found.append(other)
            if len(found) >= limit:
                break
    return found


def _render_campaign_dir(path: Path, compare: Sequence[Any] = ()) -> str:
    from dronefront.viz.data import is_campaign_dir, load_campaign_dir

    campaign = load_campaign_dir(path)
    others = []
    for other in compare:
        if isinstance(other, str | Path):
            if not Path(other).exists():
                raise UserError("no such campaign folder", file=str(other), field="--compare")
            if not is_campaign_dir(Path(other)):
                raise UserError("not a campaign folder (needs manifest.json, summary.json "
                                "and daily.parquet)", file=str(other), field="--compare")
        others.append(other)
    found_by = "given"
    if not others:
        others = list(campaign_counterparts(path))
        found_by = "sibling"
    return campaign_report(campaign, others, found_by=found_by)


def campaign_report(campaign: CampaignData, compare: Sequence[Any] = (),
                    found_by: str = "given") -> str:
    """The report of one campaign, compared with ``compare`` (campaign folders, results or
    CampaignData) where given."""
    from dronefront.viz import plots

    c = campaign
    others = [plots.as_campaign_data(o) for o in compare]
    s, m, d = c.summary, c.manifest, c.daily
    dates = ""
    if len(d) and "date" in d.columns:
        dates = (f" &middot; {esc(d['date'].iloc[0].date())} to "
                 f"{esc(d['date'].iloc[-1].date())}")
    where = f" &middot; folder <code>{esc(c.path)}</code>" if c.path else ""
    subtitle = (
        f"campaign {esc(c.name)} &middot; seed {esc(c.seed)} &middot; "
        f"{esc(s.get('days', len(d)))} days{dates} &middot; learning: "
        f"{esc(_learning_text(c.learning))} &middot; dronefront "
        f"{esc(m.get('dronefront_version'))} &middot; campaign SHA-256 "
        f"<code>{esc(str(m.get('campaign_sha256', ''))[:12])}</code>{where}"
    )

    def fig(figure: Figure, title: str, caption: str) -> str:
        return f"<h3>{esc(title)}</h3>" + figure_img(figure, caption, alt=title)

    titles = {ident: title for ident, title, _ in plots.CAMPAIGN_PLOTS}
    funcs = {ident: fn for ident, _, fn in plots.CAMPAIGN_PLOTS}

    def plot(ident: str, caption: str) -> str:
        return fig(funcs[ident](c), titles[ident], caption)

    rows = [(label, _metric(s.get(key), style)) for label, key, style in CAMPAIGN_METRICS
            if key in s]
    note = "" if others else (
        "<p class=\"meta\">No learning-on/off counterpart: run the same campaign and seed with "
        "<code>--no-learning attacker</code> into a folder next to this one, or pass "
        "<code>--compare FOLDER</code>.</p>")
    sections = [("summary", "Summary", section(
        "summary", "Summary",
        f"<p>Learning: {esc(_learning_text(c.learning))}.</p>",
        table(["metric", "value"], rows), note))]
    sections.append(("casualties", "Casualties", section(
        "casualties", "Casualties",
        plot("casualties", "Attacker soldiers killed or wounded, by the role of the weapon "
                           "that hit them (fpv, bomber, loitering munition, artillery, small "
                           "arms). Grey bands: pauses without assaults."))))
    if others:
        sections.append(("compare", "Learning on/off", _compare_section(c, others, found_by)))
    modes = s.get("doctrine_modes") or {}
    dims = list(dict.fromkeys(k for v in modes.values() for k in v))
    mode_table = (
        "<p>Most likely doctrine of each battalion at the end:</p>"
        + table(["battalion", *dims], [(b, *(v.get(k) for k in dims))
                                       for b, v in modes.items()])) if modes else ""
    sections.append(("doctrine", "Doctrine", section(
        "doctrine", "Doctrine",
        plot("doctrine", "Each band is one option of a doctrine dimension; its height is the "
                         "probability a battalion draws it, averaged over battalions."),
        mode_table)))
    sections.append(("skills", "Skills", section(
        "skills", "Skills",
        plot("skills", "Means over the active attacking soldiers; skills grow with the "
                       "drone encounters a soldier survives (constant when skills are off)."))))
    sections.append(("adaptation", "Drone side", section(
        "adaptation", "Drone-side adaptation",
        plot("adaptation", "The defender's drone mix and tactics as they adapt to the "
                           "attacker (and to the notes it captures)."))))
    sections.append(("stocks", "Stocks", section(
        "stocks", "Strength, stocks and spend",
        plot("stocks", "Dotted green lines: reinforcements. Drone types without a limited "
                       "stock are not drawn."))))
    sections.append(("shootdowns", "Shoot-downs", section(
        "shootdowns", "Shoot-downs per encounter",
        plot("shootdowns", "Drones shot down by the attackers per drone they detected."))))
    return page(f"dronefront campaign report: {c.name}", subtitle, sections)


def _compare_section(c: CampaignData, others: list[CampaignData], found_by: str) -> str:
    from dronefront.viz import plots

    runs = [c, *others]
    labels = plots.compare_labels(runs)
    how = ("Compared with the folder given with <code>--compare</code>"
           if found_by == "given" else
           "Compared with sibling folders of the same campaign and seed")
    folders = ", ".join(f"<code>{esc(o.path)}</code>" for o in others if o.path)
    rows = [(label, *(_metric(r.summary.get(key), style) for r in runs))
            for label, key, style in CAMPAIGN_METRICS if any(key in r.summary for r in runs)]
    return section(
        "compare", "Learning on/off comparison",
        f"<p>{how}{': ' + folders if folders else ''}.</p>",
        table(["metric", *labels], rows),
        "<h3>This campaign against the others</h3>" + figure_img(
            plots.campaign_compare(*runs),
            "Solid: this campaign; dashed: the others. Rolling means are casualties (or "
            "shoot-downs) over the last 7 days divided by assaults (or detected drones).",
            alt="Learning on/off comparison"),
    )


def _is_campaign_folder(path: Path) -> bool:
    from dronefront.viz.data import is_campaign_dir

    return is_campaign_dir(path)


register_report_kind("run_folder", _is_run_folder, _render_run_dir)
register_report_kind("campaign_folder", _is_campaign_folder, _render_campaign_dir,
                     compare=True)


# --------------------------------------------------------------------------- experiment stores
#: Most design points listed in a table (the plots show all of them).
MAX_TABLE_POINTS = 40
#: Most metrics drawn in the per-point and paired-difference plots and analysed for
#: sensitivity (the tables list every metric).
MAX_PLOT_METRICS = 6
_STORE_TABLES = {"experiments", "design_points", "runs", "metrics"}


def is_experiment_store(path: Path) -> bool:
    """Whether ``path`` looks like an experiment store: a ``.duckdb`` file, or any file with
    DuckDB's header (``DUCK`` at byte 8)."""
    if not path.is_file():
        return False
    if path.suffix.lower() in (".duckdb", ".ddb"):
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head[8:12] == b"DUCK"


@dataclass
class StoredExperiment:
    """One row of a store's ``experiments`` table, JSON columns decoded."""

    key: str
    name: str
    kind: str
    scenario: str
    file: str
    spec: dict[str, Any]
    factors: dict[str, Any]
    design: dict[str, Any]
    points: int
    replicates: int
    created: Any
    version: str
    runs: int = 0

    @property
    def is_calibration(self) -> bool:
        return self.design.get("type") == "calibration"

    @property
    def ident(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "experiment"
        return f"{slug}-{self.key[:8]}"


def open_store(path: str | Path) -> Any:
    """Open an experiment store read-only; a file that is not one is a one-line UserError."""
    from dronefront.experiments.store import Store

    db = Store(path, read_only=True)
    try:
        tables = {r[0] for r in db.con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    except Exception:  # noqa: BLE001 - any DuckDB failure means: not a store we can read
        tables = set()
    if not _STORE_TABLES <= tables:
        db.close()
        raise UserError("not an experiment store (a DuckDB file without the experiments, "
                        "design_points, runs and metrics tables)", file=str(path))
    return db


def _json(text: Any) -> Any:
    import json

    if text is None:
        return {}
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}


def stored_experiments(db: Any) -> list[StoredExperiment]:
    """Every experiment (and calibration) in an open store, oldest first."""
    rows = db.con.execute(
        "SELECT e.experiment, e.name, e.kind, e.scenario, e.file, e.spec, e.factors, "
        "e.design, e.points, e.replicates, e.created, e.version, "
        "(SELECT count(*) FROM runs r WHERE r.experiment = e.experiment), "
        "(SELECT count(*) FROM design_points d WHERE d.experiment = e.experiment) "
        "FROM experiments e ORDER BY e.created, e.experiment").fetchall()
    return [StoredExperiment(
        key=r[0], name=r[1] or "experiment", kind=r[2] or "", scenario=r[3] or "",
        file=r[4] or "", spec=_json(r[5]) or {}, factors=_json(r[6]) or {},
        design=_json(r[7]) or {}, points=max(int(r[8] or 0), int(r[13])), replicates=int(r[9] or 1),
        created=r[10], version=r[11] or "", runs=int(r[12])) for r in rows]


def select_experiments(experiments: list[StoredExperiment], wanted: str | None,
                       file: str = "") -> list[StoredExperiment]:
    """The experiments named ``wanted`` (a name, or the start of a hash); all when None."""
    if wanted is None:
        return experiments
    found = [e for e in experiments if e.name == wanted]
    if not found and len(wanted) >= 4:
        found = [e for e in experiments if e.key.startswith(wanted.lower())]
    if not found:
        import difflib

        names = list(dict.fromkeys(e.name for e in experiments))
        close = difflib.get_close_matches(wanted, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"no experiment {wanted!r} in this store{hint} (it holds: "
                        f"{', '.join(names) or 'none'})", file=file or None,
                        field="--experiment")
    return found


def _num(value: Any, digits: int = 4) -> Any:
    """A float for a table with ``digits`` significant digits; NaN and None as '-'."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if not np.isfinite(v):
            return None if np.isnan(v) else ("inf" if v > 0 else "-inf")
        if v != 0 and abs(v) >= 10 ** digits:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return value


def _value_text(value: Any) -> str:
    import json

    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def _factor_text(factor: dict[str, Any]) -> str:
    if factor.get("levels") is not None:
        return "levels " + ", ".join(_value_text(v) for v in factor["levels"])
    low, high = factor.get("range") or (None, None)
    extra = [w for w in ("integer", "log") if factor.get(w)]
    return f"range [{_value_text(low)}, {_value_text(high)}]" + (
        f" ({', '.join(extra)})" if extra else "")


def _design_text(design: dict[str, Any]) -> str:
    from dronefront.experiments.spec import DESIGN_FIELDS

    kind = str(design.get("type", "?"))
    shown = DESIGN_FIELDS.get(kind, {"sampler", "seed"}) | {"construction", "max_abs_corr"}
    opts = [f"{k} {_value_text(v)}" for k, v in design.items()
            if k in shown and k != "type" and v is not None]
    return kind.replace("_", " ") + (f" ({', '.join(opts)})" if opts else "")


def _sub(ident: str, title: str, *parts: str) -> str:
    return f'<section id="{esc(ident)}"><h3>{esc(title)}</h3>{"".join(parts)}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def _fig_html(figure: Figure, title: str, caption: str) -> str:
    return f"<h4>{esc(title)}</h4>" + figure_img(figure, caption, alt=title)


def render_experiment_store(path: str | Path, experiment: str | None = None) -> str:
    """The report of an experiment store: every experiment in it, or the ones ``experiment``
    names (a name or the start of a hash)."""
    path = Path(path)
    db = open_store(path)
    try:
        chosen = select_experiments(stored_experiments(db), experiment, str(path))
        sections = []
        if len(chosen) > 1 or experiment is None:
            sections.append(("store", "Store", _store_overview(chosen)))
        for e in chosen:
            sections.append((e.ident, e.name, _experiment_block(db, e, path)))
    finally:
        db.close()
    count = f"{len(chosen)} experiment{'s' if len(chosen) != 1 else ''}"
    subtitle = f"store <code>{esc(path)}</code> &middot; {esc(count)}"
    title = (f"dronefront experiment report: {chosen[0].name}" if len(chosen) == 1
             else "dronefront experiment report")
    return page(title, subtitle, sections)


def _store_overview(experiments: list[StoredExperiment]) -> str:
    rows = [(f"{e.name}", "calibration" if e.is_calibration else _design_text(e.design),
             e.kind, e.points, e.replicates, e.runs, e.key[:12], str(e.created)[:19])
            for e in experiments]
    links = "".join(f'<li><a href="#{esc(e.ident)}">{esc(e.name)}</a> '
                    f"<code>{esc(e.key[:12])}</code></li>" for e in experiments)
    body = (table(["experiment", "design", "model kind", "points", "replicates",
                   "finished runs", "hash", "created"], rows) + f"<ul>{links}</ul>")
    if not experiments:
        body = "<p>The store holds no experiments.</p>"
    return section("store", "Experiments in this store", body)


def _experiment_block(db: Any, e: StoredExperiment, path: Path) -> str:
    try:
        if e.is_calibration:
            parts = _calibration_parts(db, e, path)
        else:
            parts = _experiment_parts(db, e)
    except UserError as exc:
        parts = [_sub(f"{e.ident}-error", "Cannot analyse this experiment",
                      _note(exc.message))]
    head = (f"<p class=\"meta\">experiment <code>{esc(e.key[:16])}</code> &middot; "
            f"model {esc(e.kind)}{' ' + esc(e.scenario) if e.scenario else ''} &middot; "
            f"{esc(e.runs)} finished runs &middot; created {esc(str(e.created)[:19])}"
            + (f" &middot; dronefront {esc(e.version)}" if e.version else "") + "</p>")
    what = "Calibration" if e.is_calibration else "Experiment"
    return (f'<section id="{esc(e.ident)}"><h2>{what}: {esc(e.name)}</h2>{head}'
            f"{''.join(parts)}</section>")


# ---------------------------------------------------------------- designed experiments
def experiment_plan(db: Any, e: StoredExperiment) -> Any:
    """An :class:`~dronefront.experiments.runner.Plan` rebuilt from what the store recorded
    (spec, design points), so the analysis functions work without the experiment file."""
    from pydantic import ValidationError

    from dronefront.experiments.designs import Points
    from dronefront.experiments.models import get_model
    from dronefront.experiments.runner import Plan
    from dronefront.experiments.spec import DESIGN_FIELDS, Experiment

    data = dict(e.spec)
    design = data.get("design")
    if isinstance(design, dict) and design.get("type") in DESIGN_FIELDS:
        # a dumped spec holds every design field; the file format allows only the type's own
        keep = DESIGN_FIELDS[design["type"]] | {"type"}
        data["design"] = {k: v for k, v in design.items() if k in keep and v is not None}
    try:
        spec = Experiment.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"its recorded spec no longer validates (written by dronefront "
                        f"{e.version or '?'}): {str(exc).splitlines()[0]}") from None
    spec = spec.model_copy(update={"replicates": max(e.replicates, 1)})
    frame = db.points(e.key)
    unit = np.array([list(u) for u in frame["unit"]], dtype=float).reshape(
        len(frame), len(spec.factors))
    points = Points(unit, list(frame["values"]), dict(e.design))
    try:
        model = get_model(e.kind)
    except UserError:
        model = None  # a kind that is not importable here: not needed for analysis
    return Plan(spec, e.file or e.name, {}, model, e.scenario, points, key=e.key)  # type: ignore[arg-type]


def _point_labels(plan: Any) -> dict[int, str]:
    names = plan.factor_columns()
    labels = {}
    for i, values in enumerate(plan.points.values):
        text = ", ".join(f"{names.get(p, p)}={_value_text(v)}" for p, v in values.items())
        labels[i] = f"{i}: {text}" if text else f"point {i}"
    return labels


def _experiment_parts(db: Any, e: StoredExperiment) -> list[str]:
    from dronefront.experiments.runner import metric_columns, results

    plan = experiment_plan(db, e)
    frame = results(plan, db)
    metrics = metric_columns(plan, frame)
    labels = _point_labels(plan)
    parts = [_design_part(e, plan, frame)]
    if frame.empty or not metrics:
        parts.append(_sub(f"{e.ident}-points", "Design points",
                          "<p>No finished runs with metrics yet.</p>"))
        return parts
    parts.append(_points_part(e, plan, frame, metrics, labels))
    parts.append(_paired_part(e, plan, frame, metrics, labels))
    if plan.spec.design.type in ("sobol", "morris"):
        parts.append(_sensitivity_part(e, plan, frame, metrics))
    return parts


def _design_part(e: StoredExperiment, plan: Any, frame: Any) -> str:
    spec = plan.spec
    n_points = len(plan.points)
    total = n_points * spec.replicates
    seeds = sorted({int(s) for s in frame["seed"]}) if not frame.empty else []
    seed_text = (f"common random numbers: replicate r runs with seed {spec.seed} + r at "
                 f"every design point")
    if seeds:
        seed_text += f" (seeds used: {seeds[0]}..{seeds[-1]})"
    rows = [("model kind", e.kind), ("scenario", e.scenario or "-"),
            ("experiment file", e.file or "-"), ("design", _design_text(e.design)),
            ("design points", n_points), ("replicates", spec.replicates),
            ("finished runs", f"{len(frame)} of {total}"), ("seed policy", seed_text),
            ("metrics", ", ".join(spec.metrics)),
            ("fixed overrides", ", ".join(f"{k}={_value_text(v)}"
                                          for k, v in spec.overrides.items()) or "-"),
            ("time series kept", "yes" if spec.timeseries else "no")]
    names = plan.factor_columns()
    factor_rows = [(names[p], p, _factor_text(f.model_dump(mode="json")))
                   for p, f in spec.factors.items()]
    body = table(["setting", "value"], rows)
    body += (table(["factor", "path", "values"], factor_rows) if factor_rows
             else "<p>No factors: one point, replicated.</p>")
    if spec.description:
        body = f"<p>{esc(spec.description)}</p>" + body
    missing = total - len(frame)
    if missing > 0:
        body += _note(f"{missing} of {total} runs are not finished; run the same "
                      "experiment again to resume. The statistics below use the finished "
                      "runs only.")
    return _sub(f"{e.ident}-design", "Design", body)


def _points_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str],
                 labels: dict[int, str]) -> str:
    from dronefront.experiments.analysis import point_stats
    from dronefront.viz import plots

    names = list(plan.factor_columns().values())
    stats = {m: point_stats(frame, m) for m in metrics}
    parts = []
    shown = min(len(plan.points), MAX_TABLE_POINTS)
    if len(plan.points) > shown:
        parts.append(_note(f"The tables list the first {shown} of {len(plan.points)} "
                           "design points; the plot shows them all."))
    for metric, st in stats.items():
        rows = []
        for d in st.head(shown).to_dict("records"):
            ci = ("-" if not np.isfinite(d["ci_low"]) else
                  f"[{_num(d['ci_low'])}, {_num(d['ci_high'])}]")
            rows.append((int(d["point"]), *(_value_text(d[n]) if n in d else "-"
                                            for n in names),
                         int(d["n"]), _num(d["mean"]), ci, _num(d["std"]),
                         _num(d.get("q0.05")), _num(d.get("q0.5")), _num(d.get("q0.95"))))
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["point", *names, "n", "mean", "95% CI", "std", "q5%", "median", "q95%"], rows))
    drawn = dict(list(stats.items())[:MAX_PLOT_METRICS])
    more = (f" The first {MAX_PLOT_METRICS} of {len(stats)} metrics are drawn."
            if len(stats) > MAX_PLOT_METRICS else "")
    parts.append(_fig_html(
        plots.experiment_point_stats(drawn, labels), "Mean and spread per design point",
        "Dots and dark bars: the mean over replicates and its 95% Student-t confidence "
        "interval; light bars: the 5-95% quantiles of the replicates." + more))
    if plan.spec.replicates < 2:
        parts.insert(0, _note("One replicate per point: no confidence intervals."))
    return _sub(f"{e.ident}-points", "Design points: mean, CI and quantiles", *parts)


def _paired_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str],
                 labels: dict[int, str]) -> str:
    from dronefront.experiments.analysis import paired_difference
    from dronefront.viz import plots

    title = "Paired differences against the baseline point"
    base = 0
    n_points = len(plan.points)
    if n_points < 2:
        return _sub(f"{e.ident}-paired", title, "<p>One design point: nothing to compare.</p>")
    if plan.spec.replicates < 2:
        return _sub(f"{e.ident}-paired", title, _note(
            "Paired differences need at least 2 replicates per point (the same seeds at "
            "each point); this experiment has 1."))
    shown = list(range(1, min(n_points, MAX_TABLE_POINTS + 1)))
    diffs: dict[str, list[Any]] = {}
    skipped: list[str] = []
    for metric in metrics:
        out = []
        for b in shown:
            try:
                out.append(paired_difference(frame, metric, base, b))
            except UserError as exc:
                skipped.append(f"{metric} point {b}: {exc.message}")
        diffs[metric] = out
    parts = [f"<p>Each point minus point {base} (<i>{esc(labels.get(base, ''))}</i>), "
             "matched replicate by replicate: replicate r runs on the same seed at every "
             "point. <b>CRN variance reduction</b> = 1 - var(b - a) / (var a + var b), the "
             "share of the difference's variance that common random numbers removed "
             "compared with independent seeds; <b>efficiency</b> = how many times more "
             "replicates independent seeds would need for the same precision.</p>"]
    if n_points - 1 > len(shown):
        parts.append(_note(f"The first {len(shown)} of {n_points - 1} comparisons are "
                           "shown."))
    for metric, rows in diffs.items():
        if not rows:
            continue
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["point", "n", "mean (base)", "mean (point)", "difference", "95% CI",
             "CRN variance reduction", "efficiency", "correlation"],
            [(labels.get(d.b, d.b), d.n, _num(d.mean_a), _num(d.mean_b),
              _num(d.mean_difference),
              "-" if not np.isfinite(d.ci_low) else f"[{_num(d.ci_low)}, {_num(d.ci_high)}]",
              "-" if not np.isfinite(d.variance_reduction) else f"{d.variance_reduction:.1%}",
              _num(d.efficiency, 3), _num(d.correlation, 3)) for d in rows]))
    if skipped:
        parts.append(_note(f"{len(skipped)} comparisons skipped, e.g. {skipped[0]}"))
    drawn = dict(list(diffs.items())[:MAX_PLOT_METRICS])
    if any(drawn.values()):
        parts.append(_fig_html(
            plots.experiment_paired_differences(drawn, labels),
            f"Differences from point {base}",
            "Dots and bars: the mean paired difference and its 95% CI (red where the CI "
            "excludes 0); right: the variance reduction bought by common random numbers."))
    return _sub(f"{e.ident}-paired", title, *parts)


def _sensitivity_part(e: StoredExperiment, plan: Any, frame: Any, metrics: list[str]) -> str:
    from dronefront.experiments.analysis import sensitivity, tornado

    kind = "Sobol" if plan.spec.design.type == "sobol" else "Morris"
    parts = [f"<p>{kind} indices of each metric over the design "
             + ("(first-order S1 and total-order ST, with bootstrap 95% confidence "
                "half-widths)" if kind == "Sobol" else
                "(mu*: mean absolute elementary effect per full factor range, with its 95% "
                "confidence half-width; sigma: spread of the effects, i.e. interactions or "
                "non-linearity)")
             + ", on the mean over replicates at each point.</p>"]
    for metric in metrics[:MAX_PLOT_METRICS]:
        try:
            indices = sensitivity(plan, frame, metric)
        except UserError as exc:
            parts.append(f"<h4>{esc(metric)}</h4>" + _note(exc.message))
            continue
        cols = [c for c in indices.columns if c != "factor"]
        parts.append(f"<h4>{esc(metric)}</h4>" + table(
            ["factor", *cols], [(r[0], *(_num(v, 3) for v in r[1:]))
                                for r in indices[["factor", *cols]].itertuples(index=False)]))
        parts.append(figure_img(tornado(indices, title=metric),
                                f"{kind} tornado of {metric}: bars sorted by "
                                + ("total-order index." if kind == "Sobol" else "mu*."),
                                alt=f"{kind} tornado: {metric}"))
    if len(metrics) > MAX_PLOT_METRICS:
        parts.append(_note(f"The first {MAX_PLOT_METRICS} of {len(metrics)} metrics are "
                           "analysed."))
    return _sub(f"{e.ident}-sensitivity", f"Sensitivity ({kind})", *parts)


# ---------------------------------------------------------------- calibrations
def _calibration_plan(e: StoredExperiment, store: Path) -> tuple[Any, str]:
    """The calibration's plan: its file if it is still there unchanged (same hash), else
    rebuilt from the recorded spec with the observations read again. ``(None, why)`` when
    the observations cannot be found."""
    from pydantic import ValidationError

    from dronefront.experiments.calibration import (
        Calibration,
        CalibrationPlan,
        load_calibration,
        read_observations,
    )

    recorded = Path(e.file) if e.file else None
    folder = store.resolve().parent
    candidates = [] if recorded is None else [recorded, folder / recorded,
                                              folder / recorded.name]
    for candidate in candidates:
        if candidate.is_file():
            try:
                plan = load_calibration(candidate)
            except UserError:
                continue
            if plan.key == e.key:
                return plan, ""
    try:
        spec = Calibration.model_validate(e.spec)
    except ValidationError as exc:
        return None, (f"its recorded spec no longer validates: "
                      f"{str(exc).splitlines()[0]}")
    spec = spec.model_copy(update={"replicates": max(e.replicates, 1)})
    bases = list(dict.fromkeys(
        [*(c.parent for c in candidates), folder]))
    for base in bases:
        try:
            observations, observed_file = read_observations(spec.observed, base)
        except UserError:
            continue
        plan = CalibrationPlan(spec, e.file or e.name, {}, None, e.scenario,  # type: ignore[arg-type]
                               observations, observed_file,
                               [f"{k}={v}" for k, v in spec.overrides.items()], e.key)
        return plan, (f"The calibration file {e.file or '?'} has changed or moved; the fit "
                      f"is scored against the observations in {observed_file} as they are "
                      "now.")
    return None, (f"the observations file {spec.observed.file!r} (relative to "
                  f"{e.file or 'the calibration file'}) was not found, so losses and the "
                  "fit cannot be shown")


def calibration_result(db: Any, e: StoredExperiment, store: Path) -> tuple[Any, str]:
    """A :class:`~dronefront.experiments.calibration.CalibrationResult` read back from the
    store (no model runs): each stored trial scored against the observations.
    ``(None, why)`` when that is not possible."""
    import importlib
    from types import SimpleNamespace

    import pyarrow as pa

    # the module, not the function of the same name that dronefront.experiments exports
    cal = importlib.import_module("dronefront.experiments.calibration")

    plan, why = _calibration_plan(e, store)
    if plan is None:
        return None, why
    long = db.metrics(e.key)
    long = long[long.replicate < plan.spec.replicates]
    points = db.points(e.key)
    trials = []
    for row in points.itertuples(index=False):
        mine = long[long.point == row.point]
        if mine.empty:
            continue
        params = {}
        for p, f in plan.spec.parameters.items():
            value = row.values.get(p)
            params[p] = f.levels.index(value) if f.levels is not None else value
        trials.append(SimpleNamespace(number=int(row.point), params=params,
                                      value=cal._trial_loss(plan, mine)))
    if not trials:
        return None, "no finished trials yet"
    try:
        result = cal._result(plan, db, SimpleNamespace(trials=trials), len(trials))
    except (OSError, pa.ArrowException) as exc:
        return None, f"cannot read the stored time series: {exc}"
    return result, why


def _calibration_parts(db: Any, e: StoredExperiment, path: Path) -> list[str]:
    from dronefront.viz import plots

    spec = e.spec
    result, why = calibration_result(db, e, path)
    observed = spec.get("observed") or {}
    rows = [("model kind", e.kind), ("scenario", e.scenario or "-"),
            ("calibration file", e.file or "-"),
            ("search", _design_text(e.design) + f", batches of {spec.get('batch')}, "
                       f"{spec.get('startup_trials')} random start-up trials"),
            ("trials stored", e.points), ("replicates per trial", e.replicates),
            ("seed policy", f"replicate r of every trial runs with seed {spec.get('seed')} "
                            "+ r (common random numbers)"),
            ("observations", observed.get("file", "-") if result is None else
             f"{len(result.plan.observations)} intervals from "
             f"{result.plan.observed_file}"),
            ("fixed overrides", ", ".join(f"{k}={_value_text(v)}" for k, v in
                                          (spec.get("overrides") or {}).items()) or "-")]
    param_rows = [(p, _factor_text(f)) for p, f in (spec.get("parameters") or {}).items()]
    design = (table(["setting", "value"], rows) + table(["parameter", "values"], param_rows))
    if spec.get("description"):
        design = f"<p>{esc(spec['description'])}</p>" + design
    parts = [_sub(f"{e.ident}-design", "Calibration set-up", design)]
    if result is None:
        parts.append(_sub(f"{e.ident}-best", "Best parameters", _note(f"Not shown: {why}.")))
        return parts
    top = result.plan.spec.top
    k = max(1, int(np.ceil(top * len(result.trials))))
    best_rows = [(p, _value_text(v)) for p, v in result.best_params.items()]
    spread = result.spread
    spread_cols = [c for c in spread.columns if c != "parameter"]
    best = (
        (_note(why) if why else "")
        + f"<p>Best trial <b>{result.best_trial}</b> of {len(result.trials)}: loss "
          f"<b>{esc(_num(result.best_loss))}</b> (0 = every model value inside its "
          "interval).</p>"
        + table(["parameter", "best"], best_rows)
        + f"<h4>Spread over the best {k} trials ({top:.0%})</h4>"
        + "<p>A wide spread means the data do not pin that parameter down.</p>"
        + table(["parameter", *spread_cols],
                [(r[0], *(_num(v) if isinstance(v, float) else _value_text(v)
                          for v in r[1:])) for r in spread.itertuples(index=False)])
        + _fig_html(plots.calibration_parameters(result.trials,
                                                 list(result.plan.spec.parameters),
                                                 result.best_trial, top),
                    "Loss against each parameter",
                    f"Grey: all trials; blue: the best {top:.0%}; red star: the best trial."))
    parts.append(_sub(f"{e.ident}-best", "Best parameters", best))
    fit = result.fit
    fit_rows = [(r.date, r.window, r.series, _num(r.low), _num(r.high), _num(r.model),
                 _num(r.model_min), _num(r.model_max), _num(r.loss))
                for r in fit.itertuples(index=False)]
    fit_html = table(["date", "window", "series", "low", "high", "model (mean)",
                      "model min", "model max", "loss"], fit_rows)
    if result.curves.empty:
        fit_html += _note("The best trials' daily tables are not in the store's time-series "
                          "folder, so the curves cannot be drawn.")
    else:
        fit_html += _fig_html(
            result.plot(), "Best trials against the reported intervals",
            "Blue: the best trial (thin: each replicate; thick: their mean); grey: the mean "
            f"curves of the other best {top:.0%} trials; red: the reported intervals "
            "(arrows: open bounds).")
    parts.append(_sub(f"{e.ident}-fit", "Fit against the observed data", fit_html))
    parts.append(_sub(f"{e.ident}-trials", "Search history", _fig_html(
        plots.calibration_trials(result.trials, result.best_trial), "Loss per trial",
        "Grey: each trial's loss (mean model value over its replicates scored against "
        "every interval); blue: the best loss so far.")))
    return parts


register_report_kind("experiment_store", is_experiment_store, render_experiment_store,
                     options=("experiment",))
