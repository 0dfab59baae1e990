"""A module that must never be imported by reading a file: importing it leaves a file
named ``TRIPPED`` in the current folder (which the hostile-input harness reports)."""

from pathlib import Path

Path("TRIPPED").write_text("imported\n")


def go(*args: object) -> None:
    """What a file would call."""
    Path("TRIPPED-CALLED").write_text("called\n")
