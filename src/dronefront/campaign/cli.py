"""``dronefront campaign``: run a campaign with a progress bar and print its curve."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dronefront.text import markup_safe


def register(app: typer.Typer) -> None:
    app.command("campaign")(campaign_cmd)


def campaign_cmd(
    campaign: Annotated[str, typer.Argument(help="Built-in campaign name or YAML path.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Output folder (default runs/NAME-seedN).")]
    = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a field.")] = None,
    no_learning: Annotated[list[str] | None, typer.Option(
        "--no-learning", help="Switch off a side's learning: attacker or defender.")] = None,
    days: Annotated[int | None, typer.Option(help="Stop after this many days.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace whatever is at --out, not only an earlier campaign folder.")]
    = False,
    posterior: Annotated[bool, typer.Option(
        "--posterior", help="Run draws from the campaign's shipped posterior instead of one "
        "point: median and 50%/90% intervals per date (a forecast folder).")] = False,
    draws: Annotated[int, typer.Option(
        "--draws", help="With --posterior: how many posterior draws (one run each).")] = 20,
    export_lessons: Annotated[Path | None, typer.Option(
        "--export-lessons", help="Write what both sides end with to this lessons file "
        "(YAML, dronefront-lessons/2).")] = None,
) -> None:
    """Run a campaign: daily engagements with learning on both sides."""
    if posterior:
        if export_lessons is not None:
            from dronefront.errors import UserError

            raise UserError("--export-lessons needs a single run, not --posterior",
                            field="export-lessons")
        _posterior_cmd(campaign, seed, out, set_ or [], no_learning or [], days, draws, force)
        return
    from dronefront.campaign.runner import (
        check_days,
        daily_casualty_table,
        load_campaign,
        run_campaign,
    )
    from dronefront.io.outputs import check_output, default_folder
    from dronefront.terminal import console, progress_bar

    spec = load_campaign(campaign, set_ or [])
    check_days(days)  # before the progress bar takes the terminal
    off = no_learning or []
    suffix = "-".join(f"no-{side}" for side in sorted(set(off)))
    out = default_folder(spec.name, seed, suffix) if out is None else out
    check_output(out, "--out", folder="campaign", force=force, make_parents=True)
    horizon = spec.days if days is None else min(days, spec.days)
    with progress_bar(f"{spec.name} days", horizon, engagements=0) as update:
        result = run_campaign(
            spec, seed, no_learning=off, days=days,
            progress=lambda d, _t, e: update(d, engagements=e),
        )
    result.write(out, force=force)
    if export_lessons is not None:
        from dronefront.campaign.lessons import write_lessons

        assert result.lessons is not None
        write_lessons(result.lessons, export_lessons)
        console.print(f"lessons file: [bold]{markup_safe(export_lessons)}[/bold] (after day "
                      f"{result.lessons.day}, {result.lessons.date})")
    table = Table(title=f"{markup_safe(spec.name)}: daily attacker casualties (seed {seed})")
    for col in ("date", "assaults", "casualties", "killed", "strength"):
        table.add_column(col, justify="right")
    for date, assaults, casualties, killed, strength in daily_casualty_table(result):
        table.add_row(str(date), str(assaults), str(casualties), str(killed), str(strength))
    console.print(table)
    s = result.summary
    console.print(
        f"casualties {s['casualties']} (killed {s['killed']}), engagements {s['engagements']}, "
        f"per assault: first week {_fmt(s['casualties_per_assault_first_week'])}, "
        f"last two weeks {_fmt(s['casualties_per_assault_last_two_weeks'])}; "
        f"defender spend ${s['defender_spend_usd']:,.0f}"
    )
    outcomes = s["fpv_sortie_outcomes"]
    console.print(
        f"shoot-downs per drone encounter: first week "
        f"{_fmt(s['shoot_downs_per_encounter_first_week'], 3)}, last two weeks "
        f"{_fmt(s['shoot_downs_per_encounter_last_two_weeks'], 3)}; FPV sorties "
        f"{outcomes['sorties']:,}, failed or missed {_fmt(outcomes['failed_or_missed'], 2)}; "
        f"days a short stock cut an engagement: {s['stocks']['days_short']['days']}"
    )
    console.print(f"campaign folder: [bold]{markup_safe(out)}[/bold]  ({result.seconds:.1f} s)")


def _posterior_cmd(campaign: str, seed: int, out: Path | None, overrides: list[str],
                   no_learning: list[str], days: int | None, draws: int, force: bool) -> None:
    """Posterior draws of a campaign through :func:`dronefront.experiments.forecast`."""
    import datetime as dt

    from dronefront.campaign.runner import check_days, load_campaign
    from dronefront.errors import UserError
    from dronefront.extras import require
    from dronefront.io.outputs import check_output, default_folder
    from dronefront.terminal import console, progress_bar

    require("dronefront campaign --posterior", "experiments")
    require("dronefront campaign --posterior", "plots", "matplotlib")
    from dronefront.experiments.forecast import builtin_posterior, forecast, read_posterior_file

    if no_learning:
        raise UserError("--posterior runs the calibrated campaign; --no-learning does not "
                        "apply", field="no-learning")
    spec = load_campaign(campaign, overrides)
    check_days(days)
    beside = Path(campaign).with_suffix(".posterior.yaml")  # for a campaign file of one's own
    post = read_posterior_file(beside) if campaign.endswith((".yaml", ".yml")) \
        and beside.is_file() else builtin_posterior(campaign)
    post.scenario = campaign
    post.fixed = [*post.fixed, *overrides]
    until = spec.end if days is None else min(spec.end, spec.start + dt.timedelta(days - 1))
    out = default_folder(spec.name, seed, "posterior") if out is None else out
    check_output(out, "--out", folder="forecast", force=force, make_parents=True)
    with progress_bar(f"{spec.name} posterior draws", draws) as update:
        result = forecast(post, until, draws=draws, seed=seed, progress=update)
    result.write(out, force=force)
    q = result.quantiles
    shown = sorted({o.date for o in post.observations if o.date <= until} | {until})
    table = Table(title=f"{markup_safe(spec.name)}: {draws} posterior draws (seeds {seed}.."
                        f"{seed + draws - 1})")
    for col in ("date", "series", "q05", "q25", "median", "q75", "q95"):
        table.add_column(col, justify="right")
    for r in q[q.date.isin(shown)].itertuples(index=False):
        table.add_row(str(r.date), r.series, *(f"{getattr(r, c):,.0f}"
                                               for c in ("q05", "q25", "median", "q75", "q95")))
    console.print(table)
    checks = result.checks()
    if not checks.empty:
        hits = int(checks.hit.sum())
        console.print(f"{hits} of {len(checks)} dated observations overlap the 90% interval")
    console.print(f"forecast folder: [bold]{markup_safe(out)}[/bold]")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
