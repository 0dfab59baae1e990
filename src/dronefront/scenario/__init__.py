"""Scenario files: typed models, YAML loading with line numbers, built-in registry."""

from dronefront.scenario.loader import builtin_names, load_scenario
from dronefront.scenario.models import Scenario

__all__ = ["Scenario", "builtin_names", "load_scenario"]
