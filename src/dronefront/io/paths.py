"""Paths written inside files: resolved against the file's folder and kept inside it.

The containment rule: a path inside a scenario, campaign, experiment or calibration file
(``extends``, ``terrain.raster_file``, ``engagement``, ``scenario``, ``observed.file``), or
inside a run folder's manifest, is relative to the folder of that file and must resolve
(symbolic links followed) to that folder or one of its subfolders. Absolute paths and
``..`` that leave the folder are refused. A scenario reference that is a plain name (no
``/`` and no ``.yaml``/``.yml`` suffix) and not a file next to the referring one is a
built-in scenario. Paths typed on the command line are the user's own and resolve against
the current folder as usual.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("x\\n")
>>> inside("a.csv", d) == (d / "a.csv").resolve()
True
>>> try:
...     inside("../etc/passwd", d, file="s.yaml", field="terrain.raster_file")
... except UserError as exc:
...     print(exc.message)
must stay inside the file's folder (no absolute paths, no '..' leaving it)
"""

from __future__ import annotations

import codecs
from pathlib import Path

from dronefront.errors import UserError

SNIFF_BYTES = 8192
OUTSIDE = "must stay inside the file's folder (no absolute paths, no '..' leaving it)"


def inside(ref: str, base_dir: Path, *, file: str | None = None, line: int | None = None,
           field: str | None = None) -> Path:
    """``ref`` resolved against ``base_dir``; a UserError if it is absolute or leaves it.

    Only where the path points is checked, not whether anything is there.
    """
    text = str(ref)
    if not text.strip() or "\0" in text:
        raise UserError("must be a relative path", file=file, line=line, field=field)
    base = Path(base_dir).resolve()
    candidate = Path(text)
    if candidate.is_absolute() or text.startswith("~"):
        raise UserError(OUTSIDE, file=file, line=line, field=field)
    try:
        resolved = (base / candidate).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise UserError("cannot resolve the path", file=file, line=line, field=field) \
            from None
    if not resolved.is_relative_to(base):
        raise UserError(OUTSIDE, file=file, line=line, field=field)
    return resolved


def looks_like_file(ref: str) -> bool:
    """Whether a scenario reference is a path rather than a built-in name.

    >>> looks_like_file("kursk-assault"), looks_like_file("my.yaml"), looks_like_file("a/b")
    (False, True, True)
    """
    return ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref or ref.startswith("~")


def text_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable UTF-8 text file (``None`` if it is one).

    Reads only the first few kilobytes: a NUL byte or invalid UTF-8 there means a binary
    file. The answer never quotes the file.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except IsADirectoryError:
        return "a folder, not a file"
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc.__class__.__name__}"
    if b"\0" in head:
        return "binary file"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "binary file (not UTF-8 text)"
    return None
