"""A harness for hostile inputs: run a command or an API call in a sandbox and check that it
fails safely.

Every case runs in a fresh sandbox folder that also holds a user's own data
(``precious/notes.txt`` and ``precious/sub/data.csv``, whose text carries a marker) and a
file outside the sandbox (``../outside.txt``). The checks:

- exit status (2 for a user's mistake, 130 for Ctrl-C) and exactly one ``error:`` line on
  stderr, no ``Traceback``;
- nothing of the user's changed or deleted, nothing left behind (the sandbox tree, and the
  folder around it, are identical before and after, except paths a case says may appear);
- the marker of any file never appears in what was printed.

Command-line cases run ``dronefront.cli.main`` in this process (fast); an exception other
than ``SystemExit`` escaping it is a traceback a user would see, and fails the case.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "MARKER-b7e1c0de-do-not-print"
PRECIOUS = {
    "precious/notes.txt": f"my own notes {MARKER}\n",
    "precious/sub/data.csv": f"date,value\n2024-12-01,{MARKER}\n",
}
OUTSIDE = f"outside the sandbox {MARKER}\n"


@dataclass
class Hostile:
    """One hostile case.

    ``args`` is a command line (without ``dronefront``) or ``call`` a function of the sandbox
    path. ``{dir}`` in an argument or a file's text becomes the sandbox path. ``expect`` holds
    substrings of the one error line; ``may_create`` glob patterns (relative to the sandbox)
    of paths allowed to appear (for a case whose command succeeds).
    """

    id: str
    args: list[str] | None = None
    call: Callable[[Path], Any] | None = None
    files: dict[str, str | bytes] = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    code: int = 2
    may_create: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a digest of its content (``dir`` for folders)."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            state[os.path.relpath(os.path.join(dirpath, name), root)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            except OSError as exc:  # a fifo, an unreadable file
                digest = f"unreadable:{exc.errno}"
            state[os.path.relpath(path, root)] = digest
    return state


def prepare(case: Hostile, base: Path) -> Path:
    """Lay out the sandbox for ``case`` under ``base``; return the sandbox folder."""
    sandbox = base / "sandbox"
    sandbox.mkdir(parents=True)
    (base / "outside.txt").write_text(OUTSIDE)
    for rel, text in {**PRECIOUS, **case.files}.items():
        target = sandbox / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text.replace("{dir}", str(sandbox)), encoding="utf-8")
    if case.setup is not None:
        case.setup(sandbox)
    return sandbox


@contextlib.contextmanager
def _captured() -> Any:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = old


def run_case(case: Hostile, sandbox: Path) -> tuple[int, str, str]:
    """Run ``case`` in its prepared ``sandbox``: (exit status, stdout, stderr)."""
    cwd = os.getcwd()
    os.chdir(sandbox)
    try:
        with _captured() as (out, err):
            if case.args is not None:
                from dronefront.cli import main

                argv = [a.replace("{dir}", str(sandbox)) for a in case.args]
                try:
                    main(argv)
                    code = 0
                except SystemExit as exc:
                    code = 0 if exc.code is None else int(exc.code)
            else:
                from dronefront.errors import UserError

                assert case.call is not None
                try:
                    case.call(sandbox)
                    code = 0
                except UserError as exc:
                    err.write(f"error: {exc}\n")
                    code = 2
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


def check(case: Hostile, base: Path) -> str:
    """Run ``case`` and assert that it failed safely; return its error line."""
    sandbox = prepare(case, base)
    before = snapshot(base)
    code, out, err = run_case(case, sandbox)
    shown = f"exit {code}\nstdout: {out[-1500:]!r}\nstderr: {err[-1500:]!r}"
    assert code == case.code, shown
    assert "Traceback" not in err and "Traceback" not in out, shown
    assert MARKER not in out and MARKER not in err, "file content echoed\n" + shown
    line = ""
    if case.code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, shown
        line = lines[0]
        assert line.startswith("error: ") and len(line) > len("error: "), shown
        for part in case.expect:
            assert part in line, f"{part!r} not in {line!r}"
    after = snapshot(base)
    prefix = os.path.relpath(sandbox, base)
    for rel, digest in before.items():
        assert after.get(rel) == digest, f"{rel} changed or deleted\n{shown}"
    new = [rel for rel in after if rel not in before]
    allowed = [os.path.join(prefix, pattern) for pattern in case.may_create]
    stray = [rel for rel in new if not any(fnmatch.fnmatch(rel, p) for p in allowed)]
    assert not stray, f"left behind: {sorted(stray)[:10]}\n{shown}"
    return line
