"""Errors a user can cause, reported at the edge as one line with exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's input: a file, a field, a value or a name.

    The CLI prints ``str(error)`` on one line to stderr and exits with status 2.
    The message names the file, the line where known and the field path.

    >>> str(UserError("bad value", file="s.yaml", line=3, field="dt"))
    's.yaml:3: dt: bad value'
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
        return " ".join(f"{where}{field}{self.message}".split())
