"""The ``dronefront`` command line: a thin layer over the Python API.

Errors a user can cause, usage errors included, print one line on stderr and exit with
status 2. The console script is :func:`dronefront.entry.main`, which also handles Ctrl-C
during these imports and a broken standard output.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m dronefront.cli: the handlers must precede the imports
    from dronefront.entry import main as _entry_main

    _entry_main()

import json
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from dronefront.errors import UserError
from dronefront.streams import caused_by_interrupt, say
from dronefront.terminal import console, progress_bar
from dronefront.text import markup_safe

app = typer.Typer(
    help="Simulate infantry against small drones, drone-cued artillery and jamming.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: dotted.path=value (repeatable)."),
]


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the built-in scenarios."""
    from dronefront.scenario.loader import BUILTIN_DIR, builtin_names, parse_yaml

    table = Table("name", "kind", "description", box=None)
    for name in builtin_names():
        data, _ = parse_yaml((BUILTIN_DIR / f"{name}.yaml").read_text(), name)
        first = " ".join(str(data.get("description", "")).split()).split(". ")[0]
        kind = data.get("kind", "engagement")
        table.add_row(name, kind, first if first[-1:] in ".?!" else first + ".")
    console.print(table)


@app.command("validate")
def validate_cmd(file: Annotated[str, typer.Argument(help="Scenario YAML file or name.")],
                 set_: SetOption = None) -> None:
    """Check a scenario or campaign file; exit 0 if valid, 2 with a one-line message if not."""
    from dronefront.campaign.runner import load_campaign
    from dronefront.scenario.loader import load_raw, load_scenario

    if load_raw(file)[0].get("kind") == "campaign":
        campaign = load_campaign(file, set_ or [])
        console.print(f"[green]ok[/green] {markup_safe(file)}: campaign "
                      f"{markup_safe(repr(campaign.name))}, {campaign.days} days on "
                      f"{markup_safe(repr(campaign.engagement))}")
        return
    scenario = load_scenario(file, set_ or [])
    console.print(f"[green]ok[/green] {markup_safe(file)}: scenario "
                  f"{markup_safe(repr(scenario.name))}, {scenario.steps} steps of "
                  f"{scenario.dt:g} s")


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of scenario files."""
    from dronefront.scenario.models import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command("run")
def run_cmd(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or YAML path.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Run folder (default runs/NAME-seedN).")] = None,
    set_: SetOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace whatever is at --out, not only an earlier run folder.")]
    = False,
) -> None:
    """Run one engagement, print its summary and write its run folder."""
    from dronefront.engine.sim import Sim
    from dronefront.io.outputs import check_output, default_folder
    from dronefront.scenario.loader import load_scenario

    spec = load_scenario(scenario, set_ or [])
    out = default_folder(spec.name, seed) if out is None else out
    check_output(out, "--out", folder="run", force=force, make_parents=True)
    sim = Sim(spec, seed=seed)
    with progress_bar(f"{spec.name} seed {seed}", spec.steps, every=20) as advance:
        result = sim.run(progress=advance)
    result.write(out, force=force)
    print_summary(result.summary)
    console.print(f"run folder: [bold]{markup_safe(out)}[/bold]  "
                  f"({result.run_seconds:.2f} s for {spec.steps} steps)")


def print_summary(summary: dict) -> None:
    """Print an engagement summary as three compact tables."""
    table = Table(title=f"{markup_safe(summary['scenario'])} (seed {summary['seed']}, "
                        f"{summary['duration_s']:g} s)")
    for col in ("side", "initial", "killed", "wounded", "objective", "per FPV strike"):
        table.add_column(col, justify="right")
    causes = Table(title="casualties by cause")
    for col in ("side", "cause", "killed", "wounded"):
        causes.add_column(col, justify="right")
    for name, side in summary["sides"].items():
        prog = side["objective_progress"]
        per = side["casualties_per_fpv_strike"]
        table.add_row(markup_safe(name), str(side["initial"]), str(side["killed"]),
                      str(side["wounded"]),
                      "-" if prog is None else f"{prog:.0%}",
                      "-" if per is None else f"{per:.2f}")
        for cause, c in side["casualties_by_cause"].items():
            causes.add_row(markup_safe(name), markup_safe(cause), str(c["killed"]),
                           str(c["wounded"]))
    console.print(table)
    if causes.row_count:
        console.print(causes)
    drones = Table(title="drones by fate")
    for col in ("side", "type", "launched", "hit", "missed", "failed", "shot down", "jammed",
                "crashed", "home", "in flight", "strikes", "hit share"):
        drones.add_column(col, justify="right")
    for side, types in summary["drones"].items():
        for kind, f in types.items():
            dived = f["expended"] + f["missed"] > 0  # bombers and ISR never dive
            hit_share = f["shares"]["expended"] if dived else None
            drones.add_row(markup_safe(side), markup_safe(kind), *(str(f[k]) for k in (
                "launched", "expended", "missed", "failed", "shot_down", "jammed", "crashed",
                "returned", "in_flight", "strikes")),
                "-" if hit_share is None else f"{hit_share:.0%}")
    if drones.row_count:
        console.print(drones)

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    costs = ", ".join(f"{markup_safe(k)} {fmt(v['cost_exchange_ratio'])}"
                      for k, v in summary["cost"].items())
    console.print(f"exchange ratio (attacker/defender casualties): "
                  f"{fmt(summary['exchange_ratio'])}; cost-exchange ratio: {costs}")


#: Modules that add commands: each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = (
    "dronefront.lanchester.cli",
    "dronefront.campaign.cli",
    "dronefront.experiments.cli",
    "dronefront.viz.cli",
    "dronefront.engine.warmup",
    "dronefront.rlcli",
)


def _mount_subcommands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part of the package is not there (yet)
            raise
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
        elif hasattr(module, "app"):
            app.add_typer(module.app, name=name.split(".")[1])


_mount_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI in this process: user and usage errors become one line and exit status 2.

    Ctrl-C prints ``interrupted`` and exits 130. For the console script use
    :func:`dronefront.entry.main`, which adds the same for start-up and a broken stdout.
    """
    try:  # newer typer vendors click
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:  # pragma: no cover - older typer on click
        from click.exceptions import ClickException, NoArgsIsHelpError

    try:
        code = app(args=argv, prog_name="dronefront", standalone_mode=False)
    except NoArgsIsHelpError:
        sys.exit(2)  # the help is already printed
    except ClickException as exc:
        _fail(UserError(_usage_message(exc)))
    except UserError as exc:
        _fail(exc)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    except Exception as exc:  # e.g. ImportError from a module that Ctrl-C stopped loading
        if not caused_by_interrupt(exc):
            raise
        code = 130
    if code == 130:  # typer turns Ctrl-C inside a command into exit status 130
        say("interrupted")
    sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


def _usage_message(exc: Exception) -> str:
    """A usage error as one line, with where to find help."""
    message = exc.format_message().rstrip(".")  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def _fail(exc: UserError) -> NoReturn:
    say(f"error: {exc}")
    sys.exit(2)
