"""Output paths: checked before any work, written atomically, OS errors as one line.

:func:`check_output` vets an output argument (``--out``, ``--output``, ``--plot``) before a
command starts working; :func:`atomic_file` writes one file through a temporary sibling that
becomes the target only when everything was written; :func:`safe_name` turns a scenario's
name into a folder name that stays where it is put. Run folders (:mod:`.rundir`) build on
these.

A symbolic link at an output path is never written through nor replaced (even with
``--force``): it is refused with a one-line error, so a link can't redirect a write
elsewhere nor be swapped for a file without the user noticing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dronefront.errors import UserError

#: Kinds of folder dronefront writes; the manifest of each says which it is.
FOLDER_KINDS = ("run", "campaign", "forecast")
#: The file inside a temporary or trash sibling that says dronefront made it.
PARTIAL_MARKER = ".dronefront-partial"
PARTIAL_TEXT = "dronefront-partial"
#: Longest folder name made from a scenario name (characters).
SAFE_NAME_LEN = 80
_NAME_MAX = 255
_PATH_MAX = 4096
_MANIFEST_MAX_BYTES = 64 << 20


def shown(path: str | os.PathLike) -> str:
    """``path`` as printed in a message, control characters escaped (see
    :func:`dronefront.text.printable`).

    >>> shown("runs/a b"), shown("x\\x1b[2Jy")
    ('runs/a b', 'x\\\\x1b[2Jy')
    """
    from dronefront.text import printable

    return printable(os.fspath(path))


def write_error(exc: OSError, path: str | os.PathLike) -> UserError:
    """The one-line error for an OSError while writing ``path``.

    >>> str(write_error(OSError(errno.ENOSPC, "No space left on device"), "r.html"))
    'cannot write r.html: No space left on device'
    """
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
    return UserError(f"cannot write {shown(path)}: {reason}")


def safe_name(name: str, limit: int = SAFE_NAME_LEN) -> str:
    """A folder name from ``name``: letters, digits, ``-``, ``_`` and ``.`` only, no leading
    dot, never ``..``, at most ``limit`` characters (``run`` if nothing is left).

    >>> safe_name("../../etc/passwd"), safe_name("/abs/dir/x"), safe_name("Курськ 2024")
    ('etc-passwd', 'abs-dir-x', 'Курськ-2024')
    >>> safe_name("..."), safe_name("a\\x00b\\nc")
    ('run', 'a-b-c')
    """
    text = re.sub(r"[^\w.-]+", "-", name)
    text = re.sub(r"\.{2,}", ".", text)
    text = text.strip(".-")[:limit].rstrip(".-")
    return text or "run"


def default_folder(name: str, seed: int, suffix: str = "") -> Path:
    """``runs/<safe name>-seedN[-suffix]``: where a run or campaign goes without ``--out``.

    >>> default_folder("../x", 3).as_posix(), default_folder("c", 1, "no-attacker").as_posix()
    ('runs/x-seed3', 'runs/c-seed1-no-attacker')
    """
    tail = f"-{safe_name(suffix, 40)}" if suffix else ""
    return Path("runs") / f"{safe_name(name)}-seed{int(seed)}{tail}"


def stamp(kind: str) -> dict[str, str]:
    """The manifest field that says dronefront wrote a folder of this ``kind``."""
    assert kind in FOLDER_KINDS
    return {"program": "dronefront", "kind": kind}


def folder_kind(path: str | os.PathLike) -> str | None:
    """``run`` or ``campaign`` when ``path`` is a folder dronefront wrote (by its
    ``manifest.json``, including manifests older than the ``written_by`` field), else None."""
    folder = Path(path)
    manifest = folder / "manifest.json"
    try:
        if folder.is_symlink() or not folder.is_dir():
            return None
        info = manifest.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MANIFEST_MAX_BYTES:
            return None
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    written = data.get("written_by")
    if isinstance(written, dict) and written.get("program") == "dronefront":
        kind = written.get("kind")
        return kind if kind in FOLDER_KINDS else None
    if "dronefront_version" in data:  # written before manifests carried written_by
        if "scenario_sha256" in data and "seed" in data:
            return "run"
        if "campaign_sha256" in data:
            return "campaign"
    return None


def _describe(path: Path) -> str:
    kind = folder_kind(path)
    if kind is not None:
        return f"a {kind} folder"
    if path.is_dir():
        return "a folder dronefront did not write"
    return "a file" if path.is_file() else "not a regular file"


def _guarded(path: Path) -> bool:
    """Whether replacing ``path`` would remove the working folder, home or the root."""
    target = path.resolve()
    places = [Path.cwd().resolve()]
    with contextlib.suppress(RuntimeError, KeyError):  # no home folder known
        places.append(Path.home().resolve())
    for place in places:
        if place == target or target in place.parents:
            return True
    return target == Path(target.anchor)


def _too_long(path: Path) -> str | None:
    if len(os.fsencode(path)) > _PATH_MAX:
        return f"path too long ({len(os.fsencode(path))} bytes)"
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > _NAME_MAX:
            return f"file name too long ({size} bytes; at most {_NAME_MAX})"
    return None


def check_output(
    path: str | os.PathLike,
    option: str,
    *,
    suffixes: Sequence[str] | None = None,
    folder: str | None = None,
    force: bool = False,
    make_parents: bool = False,
) -> Path:
    """Check an output argument before any work; return it as a Path.

    For a file (``folder`` None): the suffix is one of ``suffixes`` (any when None) and the
    path is not a folder. For a ``folder`` of kind ``run`` or ``campaign``: whatever is at
    the path is a folder of that kind, or ``force`` is set (never the working folder, home
    or ``/``). Either way the path is not a symbolic link, its names fit the filesystem and
    its parent is a writable folder (missing parents are allowed with ``make_parents``: the
    writer creates them). Raises :class:`UserError` naming ``option``.

    >>> check_output("plot.txt", "--plot", suffixes=(".png",))
    Traceback (most recent call last):
    ...
    dronefront.errors.UserError: --plot: plot.txt: the file name must end in .png
    """
    if "\0" in os.fspath(path):
        raise UserError(f"{shown(path)}: a path cannot hold a NUL character", field=option)
    p = Path(path)

    def fail(reason: str) -> UserError:
        return UserError(f"{shown(p)}: {reason}", field=option)

    if folder is None and suffixes is not None and p.suffix.lower() not in suffixes:
        raise fail(f"the file name must end in {', '.join(suffixes)}")
    try:
        reason = _too_long(p)
        if reason:
            raise fail(reason)
        if p.is_symlink():
            raise fail("is a symbolic link; dronefront neither writes through links nor replaces "
                       "them (remove it or choose another path)")
        if os.path.lexists(p):
            if folder is None:
                if p.is_dir():
                    raise fail("is a folder; give a file name")
                if not p.is_file():
                    raise fail("is not a regular file")
            elif _guarded(p):
                raise fail("would replace the working folder, home or / (not even with --force)")
            elif folder_kind(p) != folder and not force:
                raise fail(f"is {_describe(p)}, not a {folder} folder; dronefront only "
                           f"replaces its own {folder} folders (use --force to replace it)")
        _check_parent(p, fail, make_parents)
    except OSError as exc:  # a folder on the way that can't be searched, a loop of links
        raise fail(exc.strerror or str(exc)) from None
    return p


def _check_parent(p: Path, fail: Callable[[str], UserError], make_parents: bool) -> None:
    walked = Path(p.anchor)
    for part in p.parts[1:] if p.anchor else p.parts:
        if part == ".." and not os.path.lexists(walked):
            raise fail(f"'..' follows {shown(walked)}, which does not exist")
        walked /= part
    parent = Path(os.path.abspath(p)).parent
    existing = parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if existing != parent and not make_parents:
        raise fail(f"the folder {shown(p.parent)} does not exist")
    if not existing.is_dir():
        raise fail(f"{shown(existing)} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        raise fail(f"cannot write in {shown(existing)}: "
                   f"{os.strerror(errno.EROFS if read_only else errno.EACCES)}")


def current_umask() -> int:
    """The process umask (for the mode of files written through a temporary sibling)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs here (so whatever it was writing is abandoned)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def clean_stale_files(target: Path) -> list[Path]:
    """Remove the ``.NAME.tmp-PID-*`` files beside ``target`` left by a write whose process
    is gone (a SIGKILL between writing and renaming); return what was removed. Anything
    else is left alone."""
    prefix = sibling_prefix(target.name, "tmp")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(os.path.abspath(target.parent)))
    except OSError:
        return removed
    for entry in entries:
        pid, sep, _ = entry.name[len(prefix):].partition("-")
        if (entry.name.startswith(prefix) and sep and pid.isdigit()
                and entry.is_file(follow_symlinks=False) and process_gone(int(pid))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def sibling_prefix(name: str, what: str) -> str:
    """The name start of a temporary (``tmp``) or trash (``old``) sibling of ``name``,
    short enough that the sibling's name fits the filesystem.

    >>> sibling_prefix("report.html", "tmp")
    '.report.html.tmp-'
    """
    while len(os.fsencode(name)) > _NAME_MAX - 40:
        name = name[:-1]
    return f".{name}.{what}-"


def fsync_file(path: str | os.PathLike) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, make_parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; write it in the block. On success it is
    flushed to disk and renamed onto ``path``; on any failure (Ctrl-C too) it is removed.
    An OSError becomes a one-line :class:`UserError` naming the path.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_file(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['a.txt'])
    >>> import shutil; shutil.rmtree(target.parent)
    """
    target = Path(path)
    check_output(target, "output", make_parents=make_parents)
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_files(target)
        # an absolute name: pandas and pyarrow would expand a leading "~" of a relative one;
        # the process id in it lets a later write tell a killed write's leftover
        fd, name = tempfile.mkstemp(prefix=f"{sibling_prefix(target.name, 'tmp')}"
                                           f"{os.getpid()}-",
                                    dir=os.path.abspath(target.parent))
        os.close(fd)
    except OSError as exc:
        raise write_error(exc, target) from None
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_error(exc, target) from None
        raise


def write_text(path: str | os.PathLike, text: str, *, make_parents: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_file(path, make_parents=make_parents) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def plot_suffixes() -> tuple[str, ...]:
    """The file suffixes matplotlib can save a figure as (``.png``, ``.svg``, ``.pdf``...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(f".{ext}" for ext in sorted(FigureCanvasBase.get_supported_filetypes()))


def save_figure(fig: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Save a matplotlib figure atomically, in the format its suffix names; return the path."""
    target = Path(path)
    with atomic_file(target) as tmp:
        fig.savefig(tmp, format=target.suffix[1:].lower() or None, **kwargs)
    return target
