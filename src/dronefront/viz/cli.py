"""The ``replay`` and ``report`` commands, mounted on the main CLI by :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dronefront.errors import UserError
from dronefront.extras import require
from dronefront.terminal import console, progress_bar
from dronefront.text import markup_safe

#: What ``replay`` and ``report`` may write.
HTML_SUFFIXES = (".html", ".htm")



def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def replay_cmd(
    run_dir: Annotated[Path | None, typer.Argument(
        help="Run folder to replay (re-simulated from its manifest and checked).")] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="HTML file to write.")] = Path(
        "replay.html"),
    scenario: Annotated[str | None, typer.Option(
        "--scenario", help="Replay a built-in scenario or YAML file instead of a run folder.")]
    = None,
    seed: Annotated[int, typer.Option(help="Random seed (with --scenario).")] = 1,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a field: dotted.path=value (with --scenario; repeatable).")]
    = None,
    every: Annotated[int, typer.Option(
        min=1, help="Record positions every N steps (raised automatically for big runs).")] = 1,
    max_soldiers: Annotated[int, typer.Option(
        min=1, help="Most soldiers drawn; larger runs show every k-th soldier.")] = 10_000,
) -> None:
    """Write a self-contained HTML replay of one engagement (opens offline)."""
    from dronefront.io.outputs import check_output
    from dronefront.viz.record import record_run
    from dronefront.viz.replay import record_from_run_dir, write_replay

    check_output(out, "--out", suffixes=HTML_SUFFIXES, make_parents=True)
    if (run_dir is None) == (scenario is None):
        raise UserError("give either a run folder or --scenario NAME (not both)",
                        field="replay")
    if run_dir is not None and set_:
        raise UserError("--set only applies with --scenario; a run folder is replayed as run",
                        field="--set")
    label = str(run_dir) if run_dir is not None else f"{scenario} seed {seed}"
    with progress_bar(f"recording {label}", every=20) as advance:
        if run_dir is not None:
            recording = record_from_run_dir(run_dir, every, max_soldiers=max_soldiers,
                                            progress=advance)
        else:
            recording = record_run(scenario, seed, set_ or [], every,
                                   max_soldiers=max_soldiers, progress=advance)
    path = write_replay(recording, out)
    played = recording.played_by
    if played:
        console.print(f"policy-played: [bold]{markup_safe(str(played.get('policy', '?')))}"
                      f"[/bold] (control {markup_safe(str(played.get('control')))}: "
                      "its orders re-played from the run's actions table)")
    console.print(f"replay: [bold]{markup_safe(path)}[/bold] ({_size(path)}; "
                  f"{recording.steps.size} frames, {recording.soldier_index.size:,} soldiers, "
                  f"{recording.drone_x.shape[1]} drone slots)")
    if recording.note():
        console.print(f"thinned: {recording.note()}")


def report_cmd(
    path: Annotated[Path, typer.Argument(
        help="Run folder, campaign folder or experiment store (.duckdb) to report on.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="HTML file to write.")] = Path(
        "report.html"),
    compare: Annotated[list[Path] | None, typer.Option(
        "--compare", help="Campaign folder to compare with, e.g. the same campaign with "
        "--no-learning (repeatable; default: sibling folders of the same campaign and seed "
        "with other learning flags).")] = None,
    experiment: Annotated[str | None, typer.Option(
        "--experiment", help="With an experiment store: report only this experiment (its "
        "name or the start of its hash; default: every experiment in the store).")] = None,
) -> None:
    """Write an HTML report (tables and plots) that opens offline."""
    require("dronefront report", "plots")
    from dronefront.io.outputs import check_output
    from dronefront.viz.report import write_report

    check_output(out, "--out", suffixes=HTML_SUFFIXES, make_parents=True)
    written = write_report(path, out, compare=compare or None, experiment=experiment)
    console.print(f"report: [bold]{markup_safe(written)}[/bold] ({_size(written)})")


def register(app: typer.Typer) -> None:
    """Add the ``replay`` and ``report`` commands to the ``dronefront`` CLI."""
    app.command("replay")(replay_cmd)
    app.command("report")(report_cmd)
