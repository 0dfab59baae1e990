"""``dronefront.run``: one engagement from the Python API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dronefront.arguments import check_callable, check_flag, check_path, check_seed
from dronefront.engine.result import Result
from dronefront.engine.sim import Sim
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import Scenario


def run(
    scenario: Scenario | str | Path,
    seed: int = 0,
    *,
    overrides: Iterable[str] | Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    events: bool = True,
    force: bool = False,
) -> Result:
    """Run one engagement and return its :class:`Result` (and write a run folder if ``out``).

    ``scenario`` is a :class:`Scenario`, a built-in name or a YAML path; ``overrides`` a
    mapping from dotted path to value or a list of ``"dotted.path=value"`` strings; ``seed``
    an integer in [0, 2**63). ``events=False`` skips the event log (faster; the summary and
    time series are unchanged). ``out`` is checked before the run: an earlier run folder
    there is replaced, anything else only with ``force=True`` (see :meth:`Result.write`).
    A wrong argument raises :class:`~dronefront.UserError`.
    """
    from dronefront.io.outputs import check_output

    seed = check_seed(seed)
    events = check_flag(events, "events")
    force = check_flag(force, "force")
    check_callable(progress, "progress")
    if out is not None:
        out = check_path(out, "out")
    spec = load_scenario(scenario, overrides)
    if out is not None:
        check_output(out, "out", folder="run", force=force, make_parents=True)
    result = Sim(spec, seed=seed, events=events).run(progress=progress)
    if out is not None:
        result.write(out, force=force)
    return result
