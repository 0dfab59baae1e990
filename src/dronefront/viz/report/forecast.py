"""Report of a forecast folder (``dronefront forecast`` / ``campaign --posterior``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pandas as pd

from dronefront.errors import UserError
from dronefront.io.outputs import folder_kind
from dronefront.viz.report.html import esc, page, section, table


def is_forecast_folder(path: Path) -> bool:
    """Whether ``path`` is a folder a forecast wrote (by its manifest)."""
    return folder_kind(path) == "forecast"


def render_forecast_dir(path: Path) -> str:
    """The report page: what was run, the quantile table at the observed dates and the last
    date, the checks against the observations and the plot."""
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        q = pd.read_csv(path / "forecast.csv")
        checks = pd.read_csv(path / "checks.csv")
        png = (path / "forecast.png").read_bytes()
    except (OSError, ValueError) as exc:
        raise UserError(f"not a readable forecast folder ({exc.__class__.__name__})",
                        file=str(path)) from None
    until = str(manifest.get("until"))
    dates = set(checks["date"].astype(str)) | {until}
    shown = q[q["date"].astype(str).isin(dates)]
    cols = ["q05", "q25", "median", "q75", "q95"]
    rows = [[r["date"], r["series"], *(f"{r[c]:,.0f}" for c in cols)]
            for _, r in shown.iterrows()]
    check_rows = [[r["date"], r["series"], r["low"], r["high"], f"{r['q05']:,.0f}",
                   f"{r['q95']:,.0f}", "hit" if bool(r["hit"]) else "miss"]
                  for _, r in checks.iterrows()]
    prov = manifest.get("provenance") or {}
    img = ('<img alt="forecast bands" src="data:image/png;base64,'
           f'{base64.b64encode(png).decode()}">')
    sections = [
        ("forecast", "Forecast", section(
            "forecast", "Predictive quantiles",
            f"<p>{esc(manifest.get('draws'))} posterior draws of {esc(manifest.get('name'))} "
            f"to {esc(until)} (seed {esc(manifest.get('seed'))}); 50% interval = q25-q75, "
            "90% = q05-q95.</p>",
            table(["date", "series", *cols], rows), img)),
        ("checks", "Observations", section(
            "checks", "Observations against the 90% interval",
            table(["date", "series", "low", "high", "q05", "q95", "result"], check_rows))),
        ("provenance", "Provenance", section(
            "provenance", "Posterior provenance",
            table(["field", "value"], [[k, json.dumps(v)] for k, v in prov.items()]))),
    ]
    return page(f"Forecast: {manifest.get('name')}", esc(str(path)), sections)
