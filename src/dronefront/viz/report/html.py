"""The building blocks of every report: an HTML page of sections, tables and inline PNG
figures, and the text formats of numbers and experiment settings in them.

>>> table(["n", "side"], [(1200, "attacker")])[-68:]
'<tr><td class="num">1,200</td><td>attacker</td></tr></tbody></table>'
>>> num(0.000123456), num(float("nan")), pct(0.25)
('0.0001235', None, '25%')
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

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



def sub(ident: str, title: str, *parts: str) -> str:
    """A sub-section (``<h3>``) with an anchor id."""
    return f'<section id="{esc(ident)}"><h3>{esc(title)}</h3>{"".join(parts)}</section>'


def note(text: str) -> str:
    """A highlighted remark (something missing, shortened or assumed)."""
    return f'<p class="note">{esc(text)}</p>'


def fig_html(figure: Figure, title: str, caption: str) -> str:
    """A figure under its own ``<h4>`` title."""
    return f"<h4>{esc(title)}</h4>" + figure_img(figure, caption, alt=title)


def pct(value: float | None) -> str:
    """A share as a whole percentage; None as '-'."""
    return "-" if value is None else f"{value:.0%}"


def num(value: Any, digits: int = 4) -> Any:
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


def value_text(value: Any) -> str:
    """A factor or parameter value as text (floats to 4 significant digits, lists as JSON)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def factor_text(factor: dict[str, Any]) -> str:
    """A factor's (or parameter's) levels or range as recorded in a store.

    >>> factor_text({"range": [0.5, 2], "log": True})
    'range [0.5, 2] (log)'
    """
    if factor.get("levels") is not None:
        return "levels " + ", ".join(value_text(v) for v in factor["levels"])
    low, high = factor.get("range") or (None, None)
    extra = [w for w in ("integer", "log") if factor.get(w)]
    return f"range [{value_text(low)}, {value_text(high)}]" + (
        f" ({', '.join(extra)})" if extra else "")


def design_text(design: dict[str, Any]) -> str:
    """A design as recorded in a store: its type and the options that type takes."""
    from dronefront.experiments.spec import DESIGN_FIELDS

    kind = str(design.get("type", "?"))
    shown = DESIGN_FIELDS.get(kind, {"sampler", "seed"}) | {"construction", "max_abs_corr"}
    opts = [f"{k} {value_text(v)}" for k, v in design.items()
            if k in shown and k != "type" and v is not None]
    return kind.replace("_", " ") + (f" ({', '.join(opts)})" if opts else "")
