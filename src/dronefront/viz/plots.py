"""Plots of one engagement or one campaign, each returning a matplotlib Figure.

Every engagement plot takes a :class:`~dronefront.engine.result.Result`, a run folder path
or a :class:`~dronefront.viz.data.RunData`. Every ``campaign_*`` plot takes a
:class:`~dronefront.campaign.runner.CampaignResult` (what ``dronefront.run_campaign``
returns), a campaign folder path or a :class:`CampaignData`. Figures are built without
pyplot, so they work in scripts, servers and notebooks alike (in Jupyter, a returned Figure
displays inline).

>>> from dronefront.viz import plots                               # doctest: +SKIP
>>> fig = plots.casualties_over_time("runs/kursk-assault-seed1")  # doctest: +SKIP
>>> fig.savefig("casualties.png")                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap, to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon
from matplotlib.ticker import FuncFormatter, MultipleLocator

from dronefront.engine.result import Result
from dronefront.engine.state import FATES
from dronefront.scenario.models import SIDES
from dronefront.viz.data import (
    CampaignData,
    CampaignLike,
    RunData,
    as_campaign_data,
    as_run_data,
    is_campaign_dir,
    learning_label,
    load_campaign_dir,
)

RunLike = Result | RunData | str | Path
__all__ = ["CampaignData", "as_campaign_data", "is_campaign_dir", "learning_label",
           "load_campaign_dir"]

SIDE_COLORS = {"attacker": "#1f5fd6", "defender": "#d62728"}
CAUSE_COLORS = {
    "fpv_radio": "#ff7f0e", "fpv_fibre": "#b8860b", "bomber": "#9467bd",
    "loitering": "#e377c2", "artillery": "#7a3b10", "small_arms": "#2ca02c",
    "isr_quad": "#17becf", "isr_fixed_wing": "#0d7f8c",
}
EXTRA_COLORS = ("#8c564b", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a", "#6b6ecf")
FATE_COLORS = {
    "expended": "#ff7f0e", "shot_down": "#111111", "jammed": "#17becf",
    "crashed": "#8c564b", "returned": "#2ca02c", "missed": "#e377c2", "failed": "#7f7f7f",
    "in flight at end": "#c7c7c7",
}
EVENT_STYLE = {  # kind: colour, marker, label
    "strike": ("#ff7f0e", "o", "drone strike"),
    "bomb": ("#9467bd", "s", "bomb"),
    "shell": ("#7a3b10", "^", "artillery shell"),
}
TERRAIN_COLORS = {
    "open": "#e9e5cc", "treeline": "#9fc27f", "forest": "#5f8f52", "village": "#c7b3a0",
    "trench": "#9c7b58", "road": "#a8a8a8",
}


def _color(name: str, known: dict[str, str], seen: dict[str, str]) -> str:
    if name in known:
        return known[name]
    if name not in seen:
        seen[name] = EXTRA_COLORS[len(seen) % len(EXTRA_COLORS)]
    return seen[name]


def _fig(width: float = 8.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _empty(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555")
    return fig


def _sides_present(run: RunData) -> list[str]:
    return [s for s in SIDES if run.summary["sides"].get(s, {}).get("initial", 0) > 0]


def _minutes(value: float, _pos: object = None) -> str:
    return f"{value / 60:g}"


def _time_axis(ax, duration: float) -> None:
    """x axis in minutes with round ticks (1, 2, 5, 10, 15, 30, 60... minutes apart)."""
    minutes = max(duration, 1.0) / 60
    step = next((m for m in (0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440)
                 if minutes / m <= 8), 2880)
    ax.xaxis.set_major_locator(MultipleLocator(step * 60))
    ax.xaxis.set_major_formatter(FuncFormatter(_minutes))
    ax.set_xlim(0, max(duration, 1.0))
    ax.set_xlabel("time (min)")


def _money(value: float, _pos: object = None) -> str:
    if abs(value) >= 1e6:
        return f"${value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"${value / 1e3:g}k"
    return f"${value:g}"


def casualty_table(run: RunLike) -> pd.DataFrame:
    """One row per soldier who became a casualty: first time hit, side and weapon."""
    data = as_run_data(run)
    ev = data.events
    if ev.num_rows == 0:
        return pd.DataFrame(columns=["time", "side", "cause", "target", "status"])
    df = ev.select(["time", "kind", "side", "cause", "target", "value"]).to_pandas()
    df = df[df["kind"].astype(str) == "casualty"]
    df = df.drop_duplicates("target", keep="first")
    return pd.DataFrame({
        "time": df["time"].to_numpy(float), "side": df["side"].astype(str).to_numpy(),
        "cause": df["cause"].astype(str).to_numpy(), "target": df["target"].to_numpy(),
        "status": np.where(df["value"].to_numpy() == 2, "killed", "wounded"),
    })


def casualties_over_time(run: RunLike) -> Figure:
    """Cumulative casualties per side, stacked by the weapon that first hit each soldier.

    The dashed line is the wounded + killed count from the per-step series.
    """
    data = as_run_data(run)
    sides = _sides_present(data)
    fig = _fig(8.0, 2.8 * max(1, len(sides)) + 0.4)
    if not sides:
        return _empty(fig, "no soldiers")
    table = casualty_table(data)
    duration = float(data.summary.get("duration_s") or 0.0)
    ts = data.timeseries.to_pandas() if data.timeseries.num_rows else None
    seen: dict[str, str] = {}
    axes = fig.subplots(len(sides), 1, sharex=True, squeeze=False)[:, 0]
    grid = np.linspace(0.0, max(duration, 1.0), 400)
    for ax, side in zip(axes, sides, strict=True):
        mine = table[table["side"] == side]
        causes = sorted(mine["cause"].unique(), key=lambda c: -int((mine["cause"] == c).sum()))
        if causes:
            stacks = [np.searchsorted(np.sort(mine.loc[mine["cause"] == c, "time"].to_numpy()),
                                      grid, side="right") for c in causes]
            ax.stackplot(grid, stacks, labels=causes, step="post", alpha=0.85,
                         colors=[_color(c, CAUSE_COLORS, seen) for c in causes])
        if ts is not None:
            rows = ts[ts["side"].astype(str) == side]
            ax.plot(rows["time"], rows["wounded"] + rows["killed"], "k--", lw=1,
                    label="wounded + killed (series)")
        initial = data.summary["sides"][side]["initial"]
        ax.set_title(f"{side}: {len(mine)} of {initial} soldiers became casualties",
                     loc="left", fontsize=10)
        ax.set_ylabel("casualties")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if causes or ts is not None:
            ax.legend(loc="upper left", fontsize=8, frameon=False)
        if not causes:
            ax.text(0.5, 0.5, "no casualties", transform=ax.transAxes, ha="center",
                    color="#555")
    _time_axis(axes[-1], duration)
    return fig


def strength_over_time(run: RunLike) -> Figure:
    """Healthy, wounded and killed soldiers per side over time (from the per-step series)."""
    data = as_run_data(run)
    sides = _sides_present(data)
    fig = _fig(8.0, 3.2)
    if not sides or data.timeseries.num_rows == 0:
        return _empty(fig, "no per-step series")
    ts = data.timeseries.to_pandas()
    ax = fig.add_subplot()
    styles = {"healthy": "-", "wounded": ":", "killed": "--"}
    for side in sides:
        rows = ts[ts["side"].astype(str) == side]
        for col, style in styles.items():
            ax.plot(rows["time"], rows[col], style, color=SIDE_COLORS.get(side, "#444"),
                    label=f"{side} {col}")
    _time_axis(ax, float(data.summary.get("duration_s") or ts["time"].max()))
    ax.set_ylabel("soldiers")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2, frameon=False)
    return fig


def drones_by_fate(run: RunLike) -> Figure:
    """Sorties per side and drone type, split by how each ended."""
    data = as_run_data(run)
    rows = []
    for side in SIDES:
        for kind, fates in data.summary.get("drones", {}).get(side, {}).items():
            rows.append((side, kind, fates))
    fig = _fig(8.0, 0.9 + 0.45 * max(1, len(rows)))
    if not rows:
        return _empty(fig, "no drones launched")
    ax = fig.add_subplot()
    names = [f for f in FATES if f != "launched"]
    labels = [f"{side} · {kind}" for side, kind, _ in rows]
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    parts = {f: np.array([r[2].get(f, 0) for r in rows], float) for f in names}
    launched = np.array([r[2].get("launched", 0) for r in rows], float)
    parts["in flight at end"] = np.maximum(0.0, launched - sum(parts.values()))
    for fate, values in parts.items():
        if values.sum() == 0:
            continue
        ax.barh(y, values, left=left, color=FATE_COLORS.get(fate, "#999"),
                label=fate.replace("_", " "), edgecolor="white", linewidth=0.5)
        left += values
    for yi, (_, _, fates), total in zip(y, rows, left, strict=True):
        ax.text(total, yi, f"  {int(fates.get('strikes', 0))} strikes", va="center", fontsize=8)
    ax.set_yticks(y, labels)
    ax.set_xlabel("sorties")
    ax.set_xlim(0, max(1.0, left.max()) * 1.25)
    ax.legend(fontsize=8, ncol=3, frameon=False, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return fig


def cost_exchange(run: RunLike) -> Figure:
    """What each side spent, lost and inflicted (USD), with its cost-exchange ratio."""
    data = as_run_data(run)
    cost = data.summary.get("cost", {})
    sides = [s for s in SIDES if s in cost]
    fig = _fig(8.0, 3.2)
    if not sides:
        return _empty(fig, "no cost data")
    ax = fig.add_subplot()
    bars = (("spent", "spent (drones lost + shells)", "#7f7f7f"),
            ("value_of_losses", "value of own losses", "#d9a441"),
            ("value_inflicted", "value inflicted", "#3a8d3a"))
    width = 0.25
    x = np.arange(len(sides))
    for k, (key, label, color) in enumerate(bars):
        values = [float(cost[s].get(key) or 0.0) for s in sides]
        ax.bar(x + (k - 1) * width, values, width, label=label, color=color)
    top = max([float(cost[s].get(k) or 0.0) for s in sides for k, _, _ in bars] + [1.0])
    for xi, side in zip(x, sides, strict=True):
        ratio = cost[side].get("cost_exchange_ratio")
        text = "ratio: n/a" if ratio is None else f"ratio: {ratio:.2f}"
        ax.text(xi, top * 1.05, text, ha="center", fontsize=9)
    ax.set_xticks(x, sides)
    ax.set_ylim(0, top * 1.18)
    ax.yaxis.set_major_formatter(FuncFormatter(_money))
    ax.set_ylabel("USD")
    ax.set_title("cost-exchange ratio = value inflicted / spent", loc="left", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=3)
    ax.grid(axis="y", alpha=0.3)
    return fig


def event_map(run: RunLike) -> Figure:
    """Terrain, objectives, jammers, every strike, bomb and shell, and where soldiers fell."""
    from dronefront.engine.terrain import rasterize

    data = as_run_data(run)
    scenario = data.scenario
    terrain = rasterize(scenario.terrain)
    fig = _fig(8.0, 7.0)
    ax = fig.add_subplot()
    colors = [TERRAIN_COLORS.get(c, EXTRA_COLORS[i % len(EXTRA_COLORS)])
              for i, c in enumerate(terrain.classes)]
    ny, nx = terrain.grid.shape
    x1, y1 = terrain.x0 + nx * terrain.cell, terrain.y0 + ny * terrain.cell
    ax.imshow(terrain.grid, origin="lower", extent=(terrain.x0, x1, terrain.y0, y1),
              cmap=ListedColormap(colors), vmin=-0.5, vmax=len(colors) - 0.5,
              interpolation="nearest")
    xs, ys = [terrain.x0, x1], [terrain.y0, y1]
    for obj in scenario.objectives:
        if obj.rect is not None:
            ox0, oy0, ox1, oy1 = obj.rect
            pts = [(ox0, oy0), (ox1, oy0), (ox1, oy1), (ox0, oy1)]
        else:
            pts = list(obj.polygon or [])
        ax.add_patch(Polygon(pts, closed=True, fill=False, ls="--", lw=1.5, ec="#b07800"))
    for side in SIDES:
        for jam in getattr(scenario.sides, side).jammers:
            ax.add_patch(Circle(jam.position, jam.radius, fc=SIDE_COLORS[side], alpha=0.1,
                                ec=SIDE_COLORS[side], ls=":"))
    ev = data.events.to_pandas() if data.events.num_rows else pd.DataFrame(
        columns=["kind", "x", "y", "side"])
    kinds = ev["kind"].astype(str)
    table = casualty_table(data)
    if len(table):
        cas = ev[kinds == "casualty"].drop_duplicates("target", keep="first")
        for side in SIDES:
            sel = cas[cas["side"].astype(str) == side]
            if len(sel):
                ax.scatter(sel["x"], sel["y"], s=12, c=SIDE_COLORS[side], marker="x",
                           label=f"{side} casualty ({len(sel)})", linewidths=1)
                xs += list(sel["x"])
                ys += list(sel["y"])
    for kind, (color, marker, label) in EVENT_STYLE.items():
        sel = ev[kinds == kind]
        if len(sel):
            ax.scatter(sel["x"], sel["y"], s=22, c=color, marker=marker, alpha=0.8,
                       label=f"{label} ({len(sel)})", linewidths=0)
            xs += list(sel["x"])
            ys += list(sel["y"])
    xs_arr, ys_arr = np.asarray(xs, float), np.asarray(ys, float)
    pad = 0.03 * max(np.ptp(xs_arr), np.ptp(ys_arr), 1.0)
    ax.set_xlim(xs_arr.min() - pad, xs_arr.max() + pad)
    ax.set_ylim(ys_arr.min() - pad, ys_arr.max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
    return fig


#: The plots of a run report, in order: (section id, title, function).
RUN_PLOTS = (
    ("casualties", "Casualties over time, by cause", casualties_over_time),
    ("strength", "Strength over time", strength_over_time),
    ("drones", "Drone sorties by fate and type", drones_by_fate),
    ("cost", "Cost exchange", cost_exchange),
    ("map", "Where it happened", event_map),
)


# =========================================================================== campaigns
# A campaign folder (``dronefront campaign ... --out DIR`` or ``CampaignResult.write``) holds
# manifest.json, summary.json, daily.parquet (one row per day), doctrine.parquet (day,
# battalion, dimension, option, probability) and engagements.parquet.

CAMPAIGN_CAUSES = ("fpv", "bomber", "loitering", "artillery", "small_arms")
CAMPAIGN_CAUSE_COLORS = {
    "fpv": "#ff7f0e", "bomber": "#9467bd", "loitering": "#e377c2",
    "artillery": "#7a3b10", "small_arms": "#2ca02c", "isr": "#17becf",
}
#: Line colours of the campaigns in a comparison, in order (the first is the report's own).
COMPARE_COLORS = ("#1f5fd6", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")
ROLLING_DAYS = 7
DOCTRINE_UNITS = {"spacing": "m", "concealment": "discipline, 0-1",
                  "shooters": "per platoon", "spotters": "per platoon",
                  "night": "prefers night assaults", "pace": "m/s"}


# --------------------------------------------------------------------------- helpers
def _rolling_ratio(num: pd.Series, den: pd.Series, window: int = ROLLING_DAYS) -> pd.Series:
    """sum(num) / sum(den) over the last ``window`` calendar days, left blank (NaN) on the
    days where ``den`` is 0 (no assaults, e.g. pauses)."""
    n = num.astype(float).rolling(window, min_periods=1).sum()
    d = den.astype(float).rolling(window, min_periods=1).sum()
    return (n / d.where(d > 0)).where(den.astype(float) > 0)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return num.astype(float) / den.where(den > 0)


def _col(daily: pd.DataFrame, name: str) -> pd.Series:
    if name in daily.columns:
        return pd.to_numeric(daily[name], errors="coerce").astype(float)
    return pd.Series(np.nan, index=daily.index, dtype=float)


def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _pauses(ax, daily: pd.DataFrame, label: bool = True) -> None:
    """Shade the days without combat (campaign pauses)."""
    if "combat" not in daily.columns or "date" not in daily.columns:
        return
    quiet = ~daily["combat"].fillna(True).astype(bool).to_numpy()
    dates = daily["date"].to_numpy()
    half = np.timedelta64(12, "h")
    start = None
    first = True
    for i, q in enumerate([*quiet, False]):
        if q and start is None:
            start = i
        elif not q and start is not None:
            ax.axvspan(dates[start] - half, dates[i - 1] + half, color="#999", alpha=0.15,
                       lw=0, label="pause (no assaults)" if (label and first) else None)
            first = False
            start = None


def _reinforcements(ax, daily: pd.DataFrame) -> None:
    if "replacements" not in daily.columns:
        return
    for date, count in zip(daily["date"], daily["replacements"], strict=True):
        if count and count > 0:
            ax.axvline(date, color="#2ca02c", ls=":", lw=1)
            ax.annotate(f"+{int(count):,}", (date, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -12), textcoords="offset points", fontsize=8,
                        color="#2ca02c")


def _no_daily(c: CampaignData) -> bool:
    return len(c.daily) == 0 or "date" not in c.daily.columns


def _final(series: pd.Series, style: str | None = None) -> str:
    """The last value of a series, for a legend: 1,735 / 0.4 / 0.0300 / 12.3%."""
    values = series.dropna()
    if values.empty:
        return "-"
    value = float(values.iloc[-1])
    if style is None:
        style = ",.0f" if abs(value) >= 100 else (".3g" if abs(value) >= 0.1 else ".3f")
    return format(value, style)


def _cause_columns(daily: pd.DataFrame) -> list[str]:
    found = [c.removeprefix("casualties_") for c in daily.columns
             if c.startswith("casualties_")]
    order = {c: i for i, c in enumerate(CAMPAIGN_CAUSES)}
    return sorted(found, key=lambda c: (order.get(c, len(order)), c))


# --------------------------------------------------------------------------- plots
def campaign_casualties(campaign: CampaignLike) -> Figure:
    """Attacker casualties per day and the 7-day rolling mean per assault, stacked by cause.

    Top: casualties per day (bars, stacked by the weapon role). Bottom: casualties per
    assault over the last 7 days (stacked by role; dots are single days).
    """
    c = as_campaign_data(campaign)
    fig = _fig(9.6, 6.4)
    if _no_daily(c):
        return _empty(fig, "no campaign days")
    d = c.daily
    x = d["date"]
    causes = _cause_columns(d)
    causes = [k for k in causes if _col(d, f"casualties_{k}").fillna(0).sum() > 0] or causes
    seen: dict[str, str] = {}
    colors = {k: _color(k, CAMPAIGN_CAUSE_COLORS, seen) for k in causes}
    top, bottom = fig.subplots(2, 1, sharex=True)
    base = np.zeros(len(d))
    for k in causes:
        values = _col(d, f"casualties_{k}").fillna(0).to_numpy()
        top.bar(x, values, bottom=base, width=0.85, color=colors[k],
                label=k.replace("_", " "), linewidth=0)
        base += values
    total = _col(d, "casualties")
    _pauses(top, d)
    top.set_ylabel("casualties per day")
    top.set_title(f"attacker casualties per day, by cause: {int(total.fillna(0).sum()):,} in "
                  f"{int(_col(d, 'assaults').fillna(0).sum()):,} assaults", loc="left",
                  fontsize=10)
    top.grid(axis="y", alpha=0.3)
    top.legend(fontsize=8, frameon=False, ncol=len(causes) + 1, loc="upper right")

    assaults = _col(d, "assaults").fillna(0)
    valid = (assaults > 0).to_numpy()
    lower = np.zeros(len(d))
    for k in causes:
        part = _rolling_ratio(_col(d, f"casualties_{k}").fillna(0), assaults).fillna(0)
        upper = lower + part.to_numpy()
        bottom.fill_between(x, lower, upper, where=valid, color=colors[k], alpha=0.85,
                            lw=0, interpolate=False)
        lower = upper
    rolling = _rolling_ratio(total.fillna(0), assaults)
    bottom.plot(x, rolling, color="#111", lw=1.2, label=f"{ROLLING_DAYS}-day mean, all causes")
    bottom.plot(x, _ratio(total.fillna(0), assaults), "o", ms=2.5, color="#555",
                label="single day")
    _pauses(bottom, d, label=False)
    bottom.set_ylabel("casualties per assault")
    bottom.set_title(f"casualties per assault, {ROLLING_DAYS}-day rolling mean, by cause",
                     loc="left", fontsize=10)
    bottom.grid(axis="y", alpha=0.3)
    bottom.legend(fontsize=8, frameon=False, loc="upper right")
    for ax in (top, bottom):
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.0) * 1.12)  # room for the legend
    _date_axis(bottom)
    return fig


def campaign_doctrine(campaign: CampaignLike) -> Figure:
    """Doctrine trajectories: per dimension, the mean probability (over battalions) of each
    option over time, stacked to 1 (one small panel per dimension)."""
    c = as_campaign_data(campaign)
    doc = c.doctrine
    dims = list(dict.fromkeys(doc["dimension"].astype(str))) if len(doc) else []
    ncols = 2
    nrows = max(1, math.ceil(len(dims) / ncols))
    fig = _fig(9.6, 0.6 + 2.3 * nrows)
    if not dims or "date" not in doc.columns:
        return _empty(fig, "no doctrine trajectories")
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False).ravel()
    battalions = doc["battalion"].nunique() if "battalion" in doc.columns else 1
    for ax, dim in zip(axes, dims, strict=False):
        rows = doc[doc["dimension"].astype(str) == dim]
        options = list(dict.fromkeys(rows["option"].astype(str)))
        mean = (rows.assign(option=rows["option"].astype(str))
                .pivot_table(index="date", columns="option", values="probability",
                             aggfunc="mean")
                .reindex(columns=options).fillna(0.0))
        colors = _option_colors(options)
        ax.stackplot(mean.index, mean.to_numpy().T, labels=options, colors=colors,
                     alpha=0.9, lw=0)
        ax.set_ylim(0, 1)
        ax.set_xlim(mean.index.min(), mean.index.max())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
        unit = DOCTRINE_UNITS.get(dim)
        ax.set_title(dim.replace("_", " ") + (f" ({unit})" if unit else ""), loc="left",
                     fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], fontsize=7.5, frameon=False,
                  loc="center left", bbox_to_anchor=(1.0, 0.5), handlelength=1.0)
        _date_axis(ax)
    for ax in axes[len(dims):]:
        ax.set_visible(False)
    fig.suptitle(f"doctrine: mean probability of each option over {battalions} battalion"
                 f"{'s' if battalions != 1 else ''}", fontsize=10, x=0.01, ha="left")
    return fig


def _option_colors(options: list[str]) -> list[str]:
    """A sequential palette for numeric (ordered) options, a qualitative one otherwise."""
    from matplotlib import colormaps

    try:
        values = [float(o) for o in options]
    except ValueError:
        values = []
    if values and len(set(values)) == len(values) and not set(options) <= {"True", "False"}:
        cmap = colormaps["viridis"]
        rank = np.argsort(np.argsort(values))
        span = max(len(values) - 1, 1)
        return [to_hex(cmap(0.1 + 0.8 * r / span)) for r in rank]
    if set(options) <= {"True", "False"}:
        return ["#1f3a93" if o == "True" else "#f0c05a" for o in options]
    cmap = colormaps["tab10"]
    return [to_hex(cmap(i % 10)) for i in range(len(options))]


def campaign_skills(campaign: CampaignLike) -> Figure:
    """Skill trajectories: mean experience, spotting and marksmanship of active soldiers."""
    c = as_campaign_data(campaign)
    fig = _fig(9.6, 3.0)
    if _no_daily(c):
        return _empty(fig, "no campaign days")
    d = c.daily
    panels = (("mean_experience", "mean experience (drone encounters survived)", "#555"),
              ("mean_spotting", "mean spotting skill", "#1f5fd6"),
              ("mean_marksmanship", "mean marksmanship skill", "#d62728"))
    axes = fig.subplots(1, 3, sharex=True)
    for ax, (col, title, color) in zip(axes, panels, strict=True):
        values = _col(d, col)
        ax.plot(d["date"], values, color=color, lw=1.5)
        _pauses(ax, d, label=False)
        ax.set_title(f"{title}\nfinal {_final(values)}", loc="left", fontsize=9)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0, top=max(float(values.max(skipna=True) or 0) * 1.15, 1e-9)
                    if values.notna().any() else 1)
        _date_axis(ax)
    return fig


def campaign_adaptation(campaign: CampaignLike) -> Figure:
    """The drone side's adaptation: fibre-optic FPV share, thermal share and decoy commitment."""
    c = as_campaign_data(campaign)
    fig = _fig(9.6, 3.2)
    if _no_daily(c):
        return _empty(fig, "no campaign days")
    d = c.daily
    ax = fig.add_subplot()
    lines = (("fibre_share", "fibre-optic FPV share", "#b8860b", "-"),
             ("thermal_share", "thermal (night-capable) share", "#7b2cbf", "-"),
             ("decoy_commit", "commit to decoys", "#111", "-"))
    for col, label, color, style in lines:
        values = _col(d, col)
        ax.plot(d["date"], values, style, color=color, lw=1.8,
                label=f"{label} (final {_final(values, '.1%')})")
    night = _rolling_ratio(_col(d, "night_assaults").fillna(0), _col(d, "assaults").fillna(0))
    if night.fillna(0).sum() > 0:
        ax.plot(d["date"], night, ":", color="#555", lw=1.2,
                label=f"attacker night assaults ({ROLLING_DAYS}-day share)")
    _pauses(ax, d)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_title("drone-side adaptation", loc="left", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    _date_axis(ax)
    return fig


def campaign_stocks(campaign: CampaignLike) -> Figure:
    """Attacker strength, the defender's drone and shell stocks, and its cumulative spend."""
    c = as_campaign_data(campaign)
    fig = _fig(9.6, 6.0)
    if _no_daily(c):
        return _empty(fig, "no campaign days")
    d = c.daily
    x = d["date"]
    (strength, drones), (shells, spend) = fig.subplots(2, 2, sharex=True)
    strength.plot(x, _col(d, "strength"), color="#1f5fd6", lw=1.8, label="active strength")
    for col, label, style in (("cumulative_killed", "killed (cumulative)", "--"),
                              ("cumulative_returned", "returned wounded (cumulative)", ":"),
                              ("cumulative_replacements", "replacements (cumulative)", "-.")):
        values = _col(d, col)
        if values.fillna(0).sum() > 0:
            strength.plot(x, values, style, color="#444", lw=1, label=label)
    _reinforcements(strength, d)
    strength.set_title("attacker strength (soldiers)", loc="left", fontsize=10)
    strength.legend(fontsize=7.5, frameon=False, loc="best")
    strength.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))

    stock_cols = sorted(c for c in d.columns if c.startswith("stock_"))
    seen: dict[str, str] = {}
    for col in stock_cols:
        kind = col.removeprefix("stock_")
        values = _col(d, col)
        drones.plot(x, values, lw=1.6, color=_color(kind, CAUSE_COLORS, seen),
                    label=f"{kind} (final {_final(values)})")
    drones.set_title("defender drone stocks (airframes)", loc="left", fontsize=10)
    if stock_cols:
        drones.legend(fontsize=7.5, frameon=False, loc="upper left")
    else:
        drones.text(0.5, 0.5, "no limited drone stocks", transform=drones.transAxes,
                    ha="center", color="#555")

    stock = _col(d, "shells_stock")
    shells.plot(x, stock, color="#7a3b10", lw=1.6, label=f"shells in stock (final "
                                                          f"{_final(stock)})")
    fired = _col(d, "shells_fired").fillna(0).cumsum()
    if fired.iloc[-1] > 0:
        shells.plot(x, fired, "--", color="#c07a3e", lw=1.4,
                    label=f"shells fired, cumulative ({_final(fired)})")
    shells.set_title("defender artillery shells", loc="left", fontsize=10)
    shells.legend(fontsize=7.5, frameon=False, loc="best")
    shells.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))

    spent = _col(d, "cumulative_spend_usd")
    spend.plot(x, spent, color="#3a3a3a", lw=1.8)
    spend.fill_between(x, 0, spent.fillna(0), color="#7f7f7f", alpha=0.2, lw=0)
    spend.yaxis.set_major_formatter(FuncFormatter(_money))
    total = float(spent.dropna().iloc[-1]) if spent.notna().any() else 0.0
    spend.set_title(f"defender spend, cumulative: ${total / 1e6:,.2f}M" if total >= 1e6 else
                    f"defender spend, cumulative: ${total:,.0f}", loc="left", fontsize=10)
    spend.text(0.02, 0.94, "drones lost + shells fired", transform=spend.transAxes,
               fontsize=8, va="top", color="#555")
    for ax in (strength, drones, shells, spend):
        _pauses(ax, d, label=False)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        _date_axis(ax)
    return fig


def campaign_shootdowns(campaign: CampaignLike) -> Figure:
    """Drones shot down per drone encounter (detected drone) over time, with daily counts."""
    c = as_campaign_data(campaign)
    fig = _fig(9.6, 4.6)
    if _no_daily(c):
        return _empty(fig, "no campaign days")
    d = c.daily
    x = d["date"]
    downs, detected = _col(d, "shoot_downs").fillna(0), _col(d, "drones_detected").fillna(0)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    top.plot(x, _ratio(downs, detected), "o", ms=3, color="#888", label="single day")
    top.plot(x, _rolling_ratio(downs, detected), color="#111", lw=1.6,
             label=f"{ROLLING_DAYS}-day rolling (shot down / detected)")
    _pauses(top, d)
    total = f"{int(downs.sum()):,} shot down of {int(detected.sum()):,} drones detected"
    top.set_title(f"shoot-downs per drone encounter: {total}", loc="left", fontsize=10)
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1%}"))
    top.set_ylim(bottom=0)
    top.legend(fontsize=8, frameon=False, loc="upper left")
    bottom.bar(x, detected, width=0.85, color="#bbb", label="drones detected", linewidth=0)
    bottom.bar(x, downs, width=0.85, color="#111", label="shot down", linewidth=0)
    _pauses(bottom, d, label=False)
    bottom.set_ylabel("per day")
    bottom.legend(fontsize=8, frameon=False, loc="upper left", ncol=2)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    _date_axis(bottom)
    return fig


def campaign_compare(first: CampaignLike, second: CampaignLike,
                     *more: CampaignLike) -> Figure:
    """Two or more campaigns side by side (e.g. learning on and off): casualties per assault
    (7-day rolling), cumulative casualties, strength and shoot-downs per encounter."""
    runs = [as_campaign_data(c) for c in (first, second, *more)]
    labels = compare_labels(runs)
    fig = _fig(9.6, 6.4)
    if all(_no_daily(r) for r in runs):
        return _empty(fig, "no campaign days")
    starts = {r.daily["date"].iloc[0] for r in runs if not _no_daily(r)}
    by_date = len(starts) == 1
    axes = fig.subplots(2, 2, sharex=True)
    panels = (
        (axes[0, 0], "casualties per assault, 7-day rolling mean",
         lambda d: _rolling_ratio(_col(d, "casualties").fillna(0),
                                  _col(d, "assaults").fillna(0))),
        (axes[0, 1], "cumulative casualties", lambda d: _col(d, "cumulative_casualties")),
        (axes[1, 0], "attacker strength (active soldiers)", lambda d: _col(d, "strength")),
        (axes[1, 1], "shoot-downs per encounter, 7-day rolling",
         lambda d: _rolling_ratio(_col(d, "shoot_downs").fillna(0),
                                  _col(d, "drones_detected").fillna(0))),
    )
    for k, (run, label) in enumerate(zip(runs, labels, strict=True)):
        if _no_daily(run):
            continue
        d = run.daily
        x = d["date"] if by_date else _col(d, "day")
        color = COMPARE_COLORS[k % len(COMPARE_COLORS)]
        for ax, _title, series in panels:
            ax.plot(x, series(d), color=color, lw=1.8 if k == 0 else 1.5,
                    ls="-" if k == 0 else "--", label=label if ax is axes[0, 0] else None)
    for ax, title, _series in panels:
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if by_date:
            _date_axis(ax)
            _pauses(ax, runs[0].daily, label=False)
        else:
            ax.set_xlabel("campaign day")
    axes[1, 1].yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1%}"))
    for ax in (axes[0, 1], axes[1, 0]):
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
    fig.legend(loc="outside upper center", ncol=min(len(runs), 4), frameon=False, fontsize=9)
    return fig


def compare_labels(runs: list[CampaignData]) -> list[str]:
    """Legend labels of compared campaigns: their learning flags, plus the folder when
    two would read the same."""
    labels = [r.label for r in runs]
    for k, run in enumerate(runs):
        if labels.count(run.label) > 1 or len({r.name for r in runs}) > 1:
            where = run.path.name if run.path is not None else f"#{k + 1}"
            labels[k] = f"{run.label} ({where})"
    return labels


#: The plots of a campaign report, in order: (section id, title, function).
CAMPAIGN_PLOTS = (
    ("casualties", "Daily casualties, by cause", campaign_casualties),
    ("doctrine", "Doctrine trajectories", campaign_doctrine),
    ("skills", "Skill trajectories", campaign_skills),
    ("adaptation", "Drone-side adaptation", campaign_adaptation),
    ("stocks", "Strength, stocks and spend", campaign_stocks),
    ("shootdowns", "Shoot-downs per encounter", campaign_shootdowns),
)


# =========================================================================== experiments
# Plots of an experiment store (``dronefront experiment run ... --store PATH``): per-point
# statistics from ``experiments.analysis.point_stats``, paired differences from
# ``paired_difference`` and calibration trials. (The tornado plot is
# ``experiments.analysis.tornado``; the calibration fit is ``CalibrationResult.plot``.)

#: Most points drawn with their own labels; larger designs show point numbers only.
LABELLED_POINTS = 30


def _short(text: str, width: int = 38) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _metric_grid(count: int, n_points: int) -> tuple[Figure, list, int]:
    cols = min(count, 2 if n_points <= LABELLED_POINTS else 3)
    rows = math.ceil(count / cols)
    per_row = (max(2.4, 0.26 * n_points + 1.2) if n_points <= LABELLED_POINTS else 4.0)
    fig = _fig(9.5 if cols > 1 else 8.0, per_row * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[count:]:
        ax.axis("off")
    return fig, list(axes[:count]), cols


def _point_axis(ax, points: list[int], labels: list[str] | None, show: bool) -> None:
    ax.invert_yaxis()
    if labels is not None and len(points) <= LABELLED_POINTS:
        ax.set_yticks(range(len(points)),
                      [_short(lab) if show else "" for lab in labels], fontsize=8)
    else:
        ax.set_ylabel("design point" if show else "")
    ax.grid(axis="x", color="#e5e5e5", lw=0.6)
    ax.set_axisbelow(True)


def experiment_point_stats(stats: dict[str, pd.DataFrame],
                           labels: dict[int, str] | None = None,
                           confidence: float = 0.95) -> Figure:
    """Mean, confidence interval and 5-95% quantile range of each metric at each point.

    ``stats``: metric -> the frame :func:`dronefront.experiments.analysis.point_stats`
    returns (columns point, mean, ci_low, ci_high and q0.05 / q0.95 when present);
    ``labels``: point -> a short description (its factor values), drawn on the y axis when
    there are at most :data:`LABELLED_POINTS` points. One panel per metric.
    """
    if not stats:
        return _empty(_fig(6, 2), "no metrics stored")
    first = next(iter(stats.values()))
    points = [int(p) for p in first["point"]]
    fig, axes, cols = _metric_grid(len(stats), len(points))
    for k, (ax, (metric, frame)) in enumerate(zip(axes, stats.items(), strict=False)):
        frame = frame.set_index("point").reindex(points)
        y = np.arange(len(points))
        many = len(points) > LABELLED_POINTS
        if "q0.05" in frame and "q0.95" in frame and bool(
                (frame["q0.95"] - frame["q0.05"]).fillna(0).gt(0).any()):
            ax.hlines(y, frame["q0.05"], frame["q0.95"], color="#aac4e6", lw=1 if many else 5,
                      label="5-95% of replicates", zorder=1)
        err = np.vstack([frame["mean"] - frame["ci_low"], frame["ci_high"] - frame["mean"]])
        has_ci = bool(np.isfinite(err).any())
        ax.errorbar(frame["mean"], y, xerr=np.where(np.isfinite(err), err, 0.0),
                    fmt="o", ms=2.5 if many else 4, color="#1b4f72", ecolor="#1b4f72",
                    elinewidth=1.2, capsize=0 if many else 2.5, zorder=2,
                    label=f"mean, {confidence:.0%} CI" if has_ci else "mean")
        _point_axis(ax, points, [(labels or {}).get(p, f"point {p}") for p in points],
                    show=k % cols == 0 or many)
        ax.set_title(_short(metric, 60), fontsize=10)
        ax.set_xlabel(_short(metric, 50), fontsize=9)
        if k == 0:
            ax.legend(fontsize=7, loc="best", framealpha=0.9)
    return fig


def experiment_paired_differences(diffs: dict[str, list], labels: dict[int, str] | None = None
                                  ) -> Figure:
    """Paired differences (point minus the baseline point) with their confidence intervals.

    ``diffs``: metric -> list of
    :class:`~dronefront.experiments.analysis.PairedDifference` (same baseline ``a``). Each
    bar's right-hand note is the variance reduction that common random numbers bought
    (``1 - var(b - a) / (var a + var b)``). One panel per metric.
    """
    diffs = {m: d for m, d in diffs.items() if d}
    if not diffs:
        return _empty(_fig(6, 2), "no paired differences (fewer than 2 replicates)")
    first = next(iter(diffs.values()))
    points = [d.b for d in first]
    fig, axes, cols = _metric_grid(len(diffs), len(points))
    many = len(points) > LABELLED_POINTS
    base = first[0].a
    for k, (ax, (metric, rows)) in enumerate(zip(axes, diffs.items(), strict=False)):
        by_b = {d.b: d for d in rows}
        y = np.arange(len(points))
        mean = np.array([by_b[p].mean_difference if p in by_b else np.nan for p in points])
        low = np.array([by_b[p].ci_low if p in by_b else np.nan for p in points])
        high = np.array([by_b[p].ci_high if p in by_b else np.nan for p in points])
        err = np.vstack([mean - low, high - mean])
        significant = (low > 0) | (high < 0)
        colors = np.where(significant, "#c0392b", "#1b4f72")
        ax.axvline(0, color="black", lw=0.8)
        for i in range(len(points)):
            e = err[:, i:i + 1]
            ax.errorbar(mean[i], y[i], xerr=np.where(np.isfinite(e), e, 0.0), fmt="o",
                        ms=2.5 if many else 4, color=colors[i], elinewidth=1.2,
                        capsize=0 if many else 2.5)
        if not many:
            for i, p in enumerate(points):
                vr = by_b[p].variance_reduction if p in by_b else float("nan")
                if math.isfinite(vr):
                    ax.annotate(f"CRN {vr:+.0%}", (1.0, y[i]), xycoords=("axes fraction",
                                                                      "data"),
                                xytext=(3, 0), textcoords="offset points", fontsize=7,
                                va="center", color="#555")
        _point_axis(ax, points, [(labels or {}).get(p, f"point {p}") for p in points],
                    show=k % cols == 0 or many)
        ax.set_title(_short(metric, 60), fontsize=10)
        ax.set_xlabel(f"difference from point {base}", fontsize=9)
    return fig


def _symlog_loss(ax, loss: np.ndarray) -> None:
    positive = loss[np.isfinite(loss) & (loss > 0)]
    if positive.size and positive.max() / max(positive.min(), 1e-300) > 100:
        ax.set_yscale("symlog", linthresh=max(float(positive.min()), 1e-12))


def calibration_trials(trials: pd.DataFrame, best_trial: int | None = None) -> Figure:
    """The loss of each calibration trial and the best loss so far.

    ``trials``: one row per trial with columns ``trial`` and ``loss`` (what
    ``CalibrationResult.trials`` holds). A logarithmic (symlog) axis is used when the losses
    span more than two orders of magnitude.
    """
    fig = _fig(8, 3.2)
    if trials.empty:
        return _empty(fig, "no finished trials")
    data = trials.sort_values("trial")
    loss = data["loss"].to_numpy(dtype=float)
    ax = fig.add_subplot()
    ax.plot(data["trial"], loss, "o", ms=3.5, color="#7f8c8d", label="trial")
    ax.step(data["trial"], np.fmin.accumulate(np.where(np.isfinite(loss), loss, np.inf)),
            where="post", color="#1b4f72", lw=1.6, label="best so far")
    if best_trial is not None and best_trial in set(data["trial"]):
        row = data[data["trial"] == best_trial].iloc[0]
        ax.plot([row["trial"]], [row["loss"]], "*", ms=12, color="#c0392b",
                label=f"best: trial {best_trial}")
    _symlog_loss(ax, loss)
    ax.set_xlabel("trial")
    ax.set_ylabel("loss")
    ax.grid(color="#e5e5e5", lw=0.6)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def calibration_parameters(trials: pd.DataFrame, parameters: list[str],
                           best_trial: int | None = None, top: float | None = None) -> Figure:
    """Loss against each fitted parameter, one panel per parameter (how well the data pin
    it down: a narrow valley is well identified, a flat floor is not).

    ``trials``: columns ``trial``, ``loss`` and one per parameter; ``top``: the share of best
    trials to highlight (the calibration's ``top``).
    """
    params = [p for p in parameters if p in trials.columns]
    if trials.empty or not params:
        return _empty(_fig(6, 2), "no finished trials")
    cols = min(len(params), 3)
    rows = math.ceil(len(params) / cols)
    fig = _fig(3.2 * cols + 1.2, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(params):]:
        ax.axis("off")
    loss = trials["loss"].to_numpy(dtype=float)
    order = np.argsort(np.where(np.isfinite(loss), loss, np.inf), kind="stable")
    k = max(1, math.ceil((top or 0.0) * len(trials))) if top else 0
    best_rows = set(order[:k].tolist())
    for ax, name in zip(axes, params, strict=False):
        raw = trials[name]
        numeric = pd.api.types.is_numeric_dtype(raw)
        if numeric:
            x = raw.to_numpy(dtype=float)
        else:
            cats = list(dict.fromkeys(map(repr, raw)))
            x = np.array([cats.index(repr(v)) for v in raw], dtype=float)
            ax.set_xticks(range(len(cats)), [_short(c, 14) for c in cats], fontsize=7)
        mask = np.array([i in best_rows for i in range(len(trials))])
        ax.plot(x[~mask], loss[~mask], "o", ms=3, color="#95a5a6", label="trial")
        if mask.any():
            ax.plot(x[mask], loss[mask], "o", ms=4, color="#2e86c1",
                    label=f"best {top:.0%}")
        if best_trial is not None and best_trial in set(trials["trial"]):
            i = int(np.flatnonzero(trials["trial"].to_numpy() == best_trial)[0])
            ax.plot([x[i]], [loss[i]], "*", ms=12, color="#c0392b", label="best trial")
        _symlog_loss(ax, loss)
        ax.set_title(_short(name, 40), fontsize=9)
        ax.set_ylabel("loss", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(color="#e5e5e5", lw=0.6)
    axes[0].legend(fontsize=7, loc="best")
    return fig
