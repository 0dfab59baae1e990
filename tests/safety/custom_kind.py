"""A custom model kind for the register_model test: defined at module level, so worker
processes can unpickle it by reference."""

from __future__ import annotations

import os

from dronefront.experiments.models import parse_overrides


def square(scenario: str, seed: int, overrides: list[str]) -> tuple[dict, None]:
    """``y = x^2 + seed``; ``pid`` says which process ran it."""
    p = parse_overrides(overrides, {"x": 0.0}, "toy-square")
    return {"y": p["x"] ** 2 + seed, "pid": float(os.getpid())}, None
