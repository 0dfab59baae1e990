"""dronefront: infantry against small drones, drone-cued artillery and jamming.

>>> import dronefront
>>> result = dronefront.run("reference-open-field", seed=1, overrides=["parameters.N=60"])
>>> result.summary["sides"]["attacker"]["initial"]
60

Names are imported on first use, so ``import dronefront`` (and the ``dronefront`` command's
start-up, see :mod:`dronefront.entry`) loads no NumPy, Numba or pydantic until needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dronefront.api import run
    from dronefront.campaign import Campaign, CampaignResult, load_campaign, run_campaign
    from dronefront.engine.result import Result
    from dronefront.engine.sim import Sim
    from dronefront.errors import UserError
    from dronefront.scenario.loader import builtin_names, load_scenario
    from dronefront.scenario.models import Scenario

__version__ = "0.1.0"

_WHERE = {
    "Campaign": "campaign", "CampaignResult": "campaign", "load_campaign": "campaign",
    "run_campaign": "campaign", "Result": "engine.result", "Sim": "engine.sim",
    "UserError": "errors", "builtin_names": "scenario.loader",
    "load_scenario": "scenario.loader", "Scenario": "scenario.models", "run": "api",
}
__all__ = [
    "Campaign", "CampaignResult", "Result", "Scenario", "Sim", "UserError", "builtin_names",
    "load_campaign", "load_scenario", "run", "run_campaign",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        missing = AttributeError(f"module {__name__!r} has no attribute {name!r}")
        if name.startswith("_"):
            raise missing
        try:  # a subpackage used as an attribute: dronefront.engine after import dronefront
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise missing from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
