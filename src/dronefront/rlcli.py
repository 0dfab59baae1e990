"""The ``dronefront rl`` commands (mounted by :func:`register`; they need the ``rl`` extra).

Outside ``dronefront.rl``, whose import stops without the extra, so the CLI mounts them
either way and a command says which extra it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

rl_app = typer.Typer(help="Learning agents: play an engagement with a policy (docs/rl.md).",
                     no_args_is_help=True)


@rl_app.command("play")
def play_cmd(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or YAML path.")],
    policy: Annotated[str, typer.Option(
        help="Scripted policy: doctrine (the standing orders) or random (allowed options "
        "drawn with --seed).")] = "random",
    seed: Annotated[int, typer.Option(help="Engine seed (and the random policy's).")] = 1,
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default runs/NAME-seedN-POLICY).")] = None,
    control: Annotated[str, typer.Option(
        help="Agents: attacker (platoons), defender (drone teams) or both.")] = "attacker",
    batteries: Annotated[bool, typer.Option(
        "--batteries", help="The controlled sides' artillery batteries are agents too.")]
    = False,
    decision_interval: Annotated[float | None, typer.Option(
        help="Simulated seconds between decisions (default: the scenario's rl setting).")]
    = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a field: dotted.path=value (repeatable).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace whatever is at --out, not only an earlier run folder.")]
    = False,
) -> None:
    """Play one engagement with a scripted policy and write it as a run folder (with its
    actions table) that ``dronefront replay`` shows."""
    from dronefront.extras import require

    require("dronefront rl play", "rl")
    from dronefront.cli import print_summary
    from dronefront.errors import UserError
    from dronefront.io.outputs import check_output, default_folder
    from dronefront.rl.core import Engagement
    from dronefront.rl.policies import POLICY_NAMES, play
    from dronefront.scenario.loader import load_scenario
    from dronefront.terminal import console
    from dronefront.text import markup_safe

    if policy not in POLICY_NAMES:
        raise UserError(f"unknown policy {policy!r}; one of {', '.join(POLICY_NAMES)}",
                        field="--policy")
    spec = load_scenario(scenario, set_ or [])
    out = default_folder(spec.name, seed, policy) if out is None else out
    check_output(out, "--out", folder="run", force=force, make_parents=True)
    e = Engagement(spec, seed, control=control, decision_interval=decision_interval,
                   batteries=batteries, record=True)
    result = play(e, policy, seed)
    result.write(out, force=force, extra={"played_by": e.played_by(f"{policy} (seed {seed})")},
                 tables={"actions.parquet": e.actions_table()})
    print_summary(result.summary)
    console.print(f"run folder: [bold]{markup_safe(out)}[/bold] ({len(e.agents)} agents, "
                  f"{len(e.log)} decisions recorded; dronefront replay {markup_safe(out)})")


def register(app: typer.Typer) -> None:
    """Add ``dronefront rl ...`` to the CLI."""
    app.add_typer(rl_app, name="rl")
