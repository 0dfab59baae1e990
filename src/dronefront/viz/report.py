"""HTML reports: one offline file of tables and inline PNG plots.

:func:`build_report` looks at what PATH is and hands it to the matching *report kind*: run
folders and campaign folders are known here; other kinds (experiment stores) add their own
with :func:`register_report_kind` (a ``detect(path) -> bool`` and a
``render(path) -> html``), reusing :func:`page`, :func:`section`, :func:`table` and
:func:`figure_img`. A kind registered with ``compare=True`` also takes
``render(path, compare=[...])``, the folders given with ``--compare``.
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


_NUMBER = re.compile(r"^[-+]?\$?[\d,]*\.?\d+(%|[kM])?$")  # 12.3%, $1,500, -0.5, $2.5M


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


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """A whole report page from ``(id, title, html)`` sections, with a table of contents."""
    nav = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t, _ in sections)
    body = "".join(s for _, _, s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<link rel=\"icon\" href=\"data:,\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>"
        f"<p class=\"meta\">{subtitle}</p><nav>{nav}</nav>{body}</body></html>\n"
    )


# --------------------------------------------------------------------------- dispatch
@dataclass(frozen=True)
class ReportKind:
    """A kind of PATH that ``dronefront report`` understands."""

    name: str
    detect: Callable[[Path], bool]
    render: Callable[..., str]
    compare: bool = False  # render(path, compare=[...]) takes folders to compare with


_KINDS: list[ReportKind] = []


def register_report_kind(name: str, detect: Callable[[Path], bool],
                         render: Callable[..., str], *, compare: bool = False) -> None:
    """Teach :func:`build_report` a new kind of PATH (replacing one of the same name).

    With ``compare=True``, ``render`` is called as ``render(path, compare=[...])`` and
    receives the ``--compare`` folders (an empty list when none were given).
    """
    _KINDS[:] = [k for k in _KINDS if k.name != name]
    _KINDS.append(ReportKind(name, detect, render, compare))


def report_kinds() -> list[str]:
    """Names of the kinds of PATH that reports exist for."""
    return [k.name for k in _KINDS]


def build_report(path: Any, compare: Any = None) -> str:
    """The HTML report for PATH (a run or campaign folder), or for a Result, RunData,
    CampaignResult or CampaignData.

    ``compare``: another campaign (folder or CampaignResult), or a list of them, to show
    next to a campaign (e.g. the same campaign with learning off). Without it, a campaign
    folder is compared with its siblings of the same campaign and seed but other learning
    flags (see :func:`campaign_counterparts`).
    """
    others = _as_list(compare)
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
            if kind.compare:
                return kind.render(path, compare=others)
            if others:
                raise UserError(f"--compare does not apply to a {kind.name.replace('_', ' ')}",
                                file=str(path), field="--compare")
            return kind.render(path)
    raise UserError(
        f"cannot report on this: not a {' or '.join(k.replace('_', ' ') for k in report_kinds())}"
        " (a run folder holds manifest.json and summary.json; a campaign folder also "
        "daily.parquet)", file=str(path),
    )


def _as_list(compare: Any) -> list[Any]:
    if compare is None:
        return []
    if isinstance(compare, list | tuple):
        return list(compare)
    return [compare]


def write_report(path: Any, out: str | Path, compare: Any = None) -> Path:
    """Write the report for PATH to ``out``; returns the output path."""
    out = Path(out)
    text = build_report(path, compare)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write report: {exc.strerror or exc}", file=str(out)) from None
    return out


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
