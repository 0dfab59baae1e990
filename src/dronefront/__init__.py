"""dronefront: infantry against small drones, drone-cued artillery and jamming.

>>> import dronefront
>>> result = dronefront.run("reference-open-field", seed=1, overrides=["parameters.N=60"])
>>> result.summary["sides"]["attacker"]["initial"]
60

Names are imported on first use, so ``import dronefront`` (and the ``dronefront`` command's
start-up, see :mod:`dronefront.entry`) loads no NumPy, Numba or pydantic until needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dronefront.lazy import lazy_exports

if TYPE_CHECKING:
    from dronefront.api import run
    from dronefront.campaign import Campaign, CampaignResult, load_campaign, run_campaign
    from dronefront.engine.ensemble import Ensemble, run_ensemble
    from dronefront.engine.result import Result
    from dronefront.engine.sim import Sim
    from dronefront.errors import UserError
    from dronefront.scenario.loader import builtin_names, load_scenario
    from dronefront.scenario.models import Scenario

__version__ = "0.1.0"

_EXPORTS = {
    "api": ["run"],
    "campaign": ["Campaign", "CampaignResult", "load_campaign", "run_campaign"],
    "engine.ensemble": ["Ensemble", "run_ensemble"],
    "engine.result": ["Result"],
    "engine.sim": ["Sim"],
    "errors": ["UserError"],
    "scenario.loader": ["builtin_names", "load_scenario"],
    "scenario.models": ["Scenario"],
}
__all__ = [
    "Campaign", "CampaignResult", "Ensemble", "Result", "Scenario", "Sim", "UserError",
    "builtin_names", "load_campaign", "load_scenario", "run", "run_campaign", "run_ensemble",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), subpackages=True)
