"""The report of one engagement (a run folder, a Result or RunData)."""

from __future__ import annotations

from pathlib import Path

from dronefront.engine.state import FATES
from dronefront.viz.data import RunData, is_campaign_dir, is_run_dir, load_run
from dronefront.viz.report.html import esc, figure_img, fmt, page, pct, section, table


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
         pct(v.get("objective_progress")), pct(v.get("objective_reached_share")),
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
    drone_rows = [(side, kind, *(f.get(k, 0) for k in fates), f.get("in_flight", 0),
                   f.get("strikes", 0), f.get("cost_lost"))
                  for side, types in s.get("drones", {}).items() for kind, f in types.items()]
    drones = section(
        "drones", "Drones",
        table(["side", "type", *(f.replace("_", " ") for f in fates), "in flight", "strikes",
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



def render_run_dir(path: Path) -> str:
    """The report of a run folder."""
    return run_report(load_run(path))


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a run folder (and not a campaign folder)."""
    return is_run_dir(path) and not is_campaign_dir(path)
