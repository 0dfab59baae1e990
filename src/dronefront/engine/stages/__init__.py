"""The stages of a step. Each is built once per run from the state and called each step.

>>> from dronefront.engine.stages.movement import Movement
>>> isinstance(Movement, type) and Movement.name
'movement'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from dronefront.engine.events import EventLog
    from dronefront.engine.state import State


class Stage(Protocol):
    """The stage contract: ``__init__`` takes the state (and reads per-run constants from
    it); a call advances the state by this stage's part of one step, reading and writing
    only state fields and appending events to the log."""

    name: ClassVar[str]

    def __call__(self, state: State, log: EventLog) -> None: ...
