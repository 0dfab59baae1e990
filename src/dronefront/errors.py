"""Errors a user can cause, reported at the edge as one line with exit status 2."""

from __future__ import annotations

from dronefront.text import printable


class UserError(Exception):
    r"""A mistake in the user's input: a file, a field, a value or a name.

    The CLI prints ``str(error)`` on one line to stderr and exits with status 2.
    The message names the file, the line where known and the field path; control
    characters in it are shown as escapes (:func:`dronefront.text.printable`).

    >>> str(UserError("bad value", file="s.yaml", line=3, field="dt"))
    's.yaml:3: dt: bad value'
    >>> str(UserError("unknown scenario 'x\x1b]0;pwned\x07'"))
    "unknown scenario 'x\\x1b]0;pwned\\x07'"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.field}: " if self.field else ""
        # one line, and nothing in a file name or value may drive the terminal
        return printable(" ".join(f"{where}{field}{self.message}".split()))
