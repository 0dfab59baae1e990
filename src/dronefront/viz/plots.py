"""Plots of one engagement, each returning a matplotlib Figure (for reports and notebooks).

Every function takes a :class:`~dronefront.engine.result.Result`, a run folder path or a
:class:`~dronefront.viz.data.RunData`. Figures are built without pyplot, so they work in
scripts, servers and notebooks alike (in Jupyter, a returned Figure displays inline).

>>> from dronefront.viz import plots                               # doctest: +SKIP
>>> fig = plots.casualties_over_time("runs/kursk-assault-seed1")  # doctest: +SKIP
>>> fig.savefig("casualties.png")                                 # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Polygon
from matplotlib.ticker import FuncFormatter, MultipleLocator

from dronefront.engine.result import Result
from dronefront.engine.state import FATES
from dronefront.scenario.models import SIDES
from dronefront.viz.data import RunData, as_run_data

RunLike = Result | RunData | str | Path

SIDE_COLORS = {"attacker": "#1f5fd6", "defender": "#d62728"}
CAUSE_COLORS = {
    "fpv_radio": "#ff7f0e", "fpv_fibre": "#b8860b", "bomber": "#9467bd",
    "loitering": "#e377c2", "artillery": "#7a3b10", "small_arms": "#2ca02c",
    "isr_quad": "#17becf", "isr_fixed_wing": "#0d7f8c",
}
EXTRA_COLORS = ("#8c564b", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a", "#6b6ecf")
FATE_COLORS = {
    "expended": "#ff7f0e", "shot_down": "#111111", "jammed": "#17becf",
    "crashed": "#8c564b", "returned": "#2ca02c", "in flight at end": "#c7c7c7",
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
