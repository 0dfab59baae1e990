"""Learning agents in the fight: PettingZoo and Gymnasium environments on the engine.

Needs the ``rl`` extra (``pip install 'dronefront[rl]'``). Importing this package registers
``dronefront/<Name>-v0`` Gymnasium environments for every built-in engagement (for example
``gymnasium.make("dronefront/KurskAssault-v0")``). See docs/rl.md.
"""

from __future__ import annotations

from dronefront.extras import require

require("dronefront.rl", "rl")

from dronefront.rl.core import (  # noqa: E402
    PLATOON_FEATURES,
    PLATOON_HEADS,
    TEAM_FEATURES,
    TEAM_HEADS,
    Engagement,
)
from dronefront.rl.envs import (  # noqa: E402
    DronefrontEnv,
    DronefrontParallelEnv,
    DronefrontVectorEnv,
    engagement_names,
    parallel_env,
    register_all,
)

ENV_IDS = register_all()

__all__ = ["ENV_IDS", "PLATOON_FEATURES", "PLATOON_HEADS", "TEAM_FEATURES", "TEAM_HEADS",
           "DronefrontEnv", "DronefrontParallelEnv", "DronefrontVectorEnv", "Engagement",
           "engagement_names", "parallel_env", "register_all"]
