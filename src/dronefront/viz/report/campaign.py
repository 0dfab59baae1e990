"""The report of one campaign, compared with its learning-on/off counterparts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from dronefront.errors import UserError
from dronefront.viz.data import CampaignData, is_campaign_dir, load_campaign_dir, read_manifest
from dronefront.viz.report.html import esc, figure_img, page, section, table

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
    path = Path(path).resolve()
    mine = read_manifest(path) if path.is_dir() else None
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
        theirs = read_manifest(other)
        if (theirs and theirs.get("campaign_sha256") == mine["campaign_sha256"]
                and theirs.get("seed") == mine.get("seed")
                and theirs.get("learning") != mine.get("learning")):
            found.append(other)
            if len(found) >= limit:
                break
    return found


def render_campaign_dir(path: Path, compare: Sequence[Any] = ()) -> str:
    """The report of a campaign folder, compared with ``compare`` or else its siblings."""
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




def is_campaign_folder(path: Path) -> bool:
    """Whether ``path`` is a campaign folder."""
    return is_campaign_dir(path)
