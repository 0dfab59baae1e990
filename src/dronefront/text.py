"""User-given strings made safe for a terminal.

Scenario, unit, drone, campaign, experiment and file names come from the user and are
printed in error lines, tables and progress labels. :func:`printable` shows their control
characters as escapes (an ``ESC`` would otherwise let a name clear the screen or retitle the
window); :func:`markup_safe` also keeps rich from reading ``[bold]`` in them as markup.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), and the Unicode bidirectional
# embeddings, overrides and isolates, which reorder what the terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """``str(value)`` with control characters shown as ``\\xNN`` (``\\uNNNN``) escapes.

    >>> printable("a\\x1b[2Jb\\x07")
    'a\\\\x1b[2Jb\\\\x07'
    >>> printable("Kursk assault, day 3")
    'Kursk assault, day 3'
    """
    return _UNSAFE.sub(_escape, str(value))


def markup_safe(value: object) -> str:
    """:func:`printable`, and rich markup in it escaped: for f-strings given to rich.

    >>> markup_safe("[bold]x\\x1b")
    '\\\\[bold]x\\\\x1b'
    """
    from rich.markup import escape

    return escape(printable(value))
