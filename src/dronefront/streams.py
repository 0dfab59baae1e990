"""The standard streams at the edge of the program: the one error line, written so that a
full or closed stderr is no traceback, and a Ctrl-C recognised however it arrives.

Standard library only: :mod:`dronefront.entry` uses it before anything heavy is imported.
"""

from __future__ import annotations

import os
import sys


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was raised while handling, a Ctrl-C.

    An extension module interrupted while it initialises raises ``ImportError:
    initialization failed`` with the KeyboardInterrupt only as its context.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def silence(fd: int) -> None:
    """Point descriptor ``fd`` at the null device, so the final flush at exit cannot fail."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except OSError:
        pass


def say(line: str) -> None:
    """Write one line to stderr; a full or closed stderr is not a traceback (nor exit 120)."""
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        silence(2)
