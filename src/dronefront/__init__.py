"""dronefront: infantry against small drones, drone-cued artillery and jamming.

>>> import dronefront
>>> result = dronefront.run("reference-open-field", seed=1, overrides=["parameters.N=60"])
>>> result.summary["sides"]["attacker"]["initial"]
60
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dronefront.campaign import Campaign, CampaignResult, load_campaign, run_campaign
from dronefront.engine.result import Result
from dronefront.engine.sim import Sim
from dronefront.errors import UserError
from dronefront.scenario.loader import builtin_names, load_scenario
from dronefront.scenario.models import Scenario

__version__ = "0.1.0"
__all__ = [
    "Campaign", "CampaignResult", "Result", "Scenario", "Sim", "UserError", "builtin_names",
    "load_campaign", "load_scenario", "run", "run_campaign",
]


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

    ``scenario`` is a :class:`Scenario`, a built-in name or a YAML path. ``events=False``
    skips the event log (faster; the summary and time series are unchanged). ``out`` is
    checked before the run: an earlier run folder there is replaced, anything else only
    with ``force=True`` (see :meth:`Result.write`).
    """
    from dronefront.io.outputs import check_output

    spec = load_scenario(scenario, overrides)
    if out is not None:
        check_output(out, "out", folder="run", force=force, make_parents=True)
    result = Sim(spec, seed=seed, events=events).run(progress=progress)
    if out is not None:
        result.write(out, force=force)
    return result
