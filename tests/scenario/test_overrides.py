"""--set on fields of built-in drone types the file does not declare."""

from __future__ import annotations

import pytest

from dronefront.errors import UserError
from dronefront.scenario.loader import load_scenario
from dronefront.scenario.models import DEFAULT_DRONE_TYPES


def test_set_changes_a_copy_of_a_builtin_type():
    spec = load_scenario("kursk-assault", ["drone_types.fpv_radio.lethality.0.kill=0.3",
                                           "drone_types.bomber.speed=12"])
    types = spec.all_drone_types()
    assert types["fpv_radio"].lethality[0].kill == 0.3
    assert types["bomber"].speed == 12
    base = DEFAULT_DRONE_TYPES["fpv_radio"]
    assert types["fpv_radio"].lethality[1] == base.lethality[1]  # the rest as built in
    assert types["fpv_radio"].model_copy(update={"lethality": base.lethality}) == base
    assert DEFAULT_DRONE_TYPES["fpv_radio"].lethality[0].kill == 0.6  # built-in untouched


def test_builtin_type_override_is_still_validated():
    with pytest.raises(UserError, match="kill \\+ wound must not exceed 1"):
        load_scenario("kursk-assault", ["drone_types.fpv_radio.lethality.0.kill=0.9"])
