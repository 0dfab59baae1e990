"""The hostile-input harness itself catches what it is meant to catch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.safety.hostile import MARKER, Hostile, check


def _deletes_precious(sandbox: Path) -> None:
    (sandbox / "precious" / "notes.txt").unlink()


def _echoes(sandbox: Path) -> None:
    from dronefront.errors import UserError

    raise UserError((sandbox / "precious" / "notes.txt").read_text())


def _leaves_file(sandbox: Path) -> None:
    from dronefront.errors import UserError

    (sandbox / "half-written.tmp").write_text("x")
    raise UserError("failed")


@pytest.mark.parametrize("call", [_deletes_precious, _echoes, _leaves_file])
def test_harness_catches_unsafe_failures(call, tmp_path):
    with pytest.raises(AssertionError):
        check(Hostile("bad", call=call), tmp_path)


def test_harness_passes_a_clean_error(tmp_path):
    line = check(Hostile("ok", args=["validate", "no-such.yaml"], expect=("no-such.yaml",)),
                 tmp_path)
    assert line.startswith("error: ") and MARKER not in line
