"""HTML reports: one offline file of tables and inline PNG plots.

:func:`build_report` looks at what PATH is and hands it to the matching *report kind*. Only
run folders are known today; campaign folders and experiment stores add their own kind
with :func:`register_report_kind` (a ``detect(path) -> bool`` and a
``render(path) -> html``), reusing :func:`page`, :func:`section`, :func:`table` and
:func:`figure_img`.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from dronefront.engine.result import Result
from dronefront.engine.state import FATES
from dronefront.errors import UserError
from dronefront.viz.data import RunData, as_run_data, is_run_dir, load_run

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


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table (values formatted with :func:`fmt` and escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    def cell(v: Any) -> str:
        numeric = v is None or (isinstance(v, int | float) and not isinstance(v, bool))
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
    render: Callable[[Path], str]


_KINDS: list[ReportKind] = []


def register_report_kind(name: str, detect: Callable[[Path], bool],
                         render: Callable[[Path], str]) -> None:
    """Teach :func:`build_report` a new kind of PATH (replacing one of the same name)."""
    _KINDS[:] = [k for k in _KINDS if k.name != name]
    _KINDS.append(ReportKind(name, detect, render))


def report_kinds() -> list[str]:
    """Names of the kinds of PATH that reports exist for."""
    return [k.name for k in _KINDS]


def build_report(path: str | Path | Result | RunData) -> str:
    """The HTML report for PATH (a run folder today), or for a Result / RunData."""
    if isinstance(path, Result | RunData):
        return run_report(as_run_data(path))
    path = Path(path)
    if not path.exists():
        raise UserError("no such file or folder", file=str(path))
    for kind in _KINDS:
        if kind.detect(path):
            return kind.render(path)
    raise UserError(
        f"cannot report on this: not a {' or '.join(k.replace('_', ' ') for k in report_kinds())}"
        " (a run folder holds manifest.json and summary.json)", file=str(path),
    )


def write_report(path: str | Path | Result | RunData, out: str | Path) -> Path:
    """Write the report for PATH to ``out``; returns the output path."""
    out = Path(out)
    text = build_report(path)
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


register_report_kind("run_folder", is_run_dir, _render_run_dir)
