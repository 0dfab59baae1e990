"""Run folders: written to a temporary sibling and renamed into place.

A failed or interrupted run leaves nothing half-written: either the whole folder appears
or nothing does. An existing folder of the same kind (run or campaign, by its manifest) is
replaced only on success; anything else at the path is refused unless forced. Temporary
siblings that a killed write left behind are removed by the next write to the same place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dronefront.io.outputs import (
    PARTIAL_MARKER,
    PARTIAL_TEXT,
    check_output,
    current_umask,
    fsync_file,
    process_gone,
    sibling_prefix,
    write_error,
    write_text,
)


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace: the form that is hashed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_of(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data``.

    >>> sha256_of({"b": 1, "a": 2}) == sha256_of({"a": 2, "b": 1})
    True
    """
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text(path, json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n")


def write_parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd")


def _mark(folder: Path) -> None:
    (folder / PARTIAL_MARKER).write_text(f"{PARTIAL_TEXT} {os.getpid()}\n")


def _stale(entry: os.DirEntry) -> bool:
    """Whether ``entry`` is a temporary or trash folder of a dronefront write that died."""
    if not entry.is_dir(follow_symlinks=False):
        return False
    marker = Path(entry.path) / PARTIAL_MARKER
    try:
        if not stat.S_ISREG(marker.lstat().st_mode):
            return False
        words = marker.read_text(encoding="utf-8", errors="replace")[:200].split()
    except OSError:
        return False
    if len(words) != 2 or words[0] != PARTIAL_TEXT or not words[1].isdigit():
        return False
    return process_gone(int(words[1]))


def clean_stale(target: Path) -> list[Path]:
    """Remove the ``.NAME.tmp-*`` and ``.NAME.old-*`` siblings of ``target`` that a killed
    dronefront write left (those holding dronefront's marker, written by a process that is
    gone); return what was removed. Anything else is left alone."""
    starts = tuple(sibling_prefix(target.name, what) for what in ("tmp", "old"))
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(starts) and _stale(entry):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(Path(entry.path))
    return removed


def _fsync_tree(folder: Path) -> None:
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            fsync_file(os.path.join(dirpath, name))


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (Linux ``renameat2`` with ``RENAME_EXCHANGE``);
    False where the system or the filesystem cannot, and nothing was changed.

    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a").write_text("A"); _ = (d / "b").write_text("B")
    >>> exchange(d / "a", d / "b") is False or (d / "a").read_text() == "B"
    True
    """
    if sys.platform != "linux":
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library without it
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap(tmp: Path, target: Path) -> None:
    """Put ``tmp`` in place of ``target``. An earlier folder there is swapped out in one
    step where the system allows it, so ``target`` never goes missing; elsewhere it goes to
    a marked trash sibling first (and is put back if the rename fails). What was swapped
    out carries the marker, so a kill before it is removed leaves it for the next write to
    clean."""
    (tmp / PARTIAL_MARKER).unlink()
    if os.path.isdir(target) and not os.path.islink(target):
        _mark(target)
        try:
            swapped = exchange(tmp, target)
        except BaseException:
            (target / PARTIAL_MARKER).unlink(missing_ok=True)
            raise
        if swapped:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        (target / PARTIAL_MARKER).unlink(missing_ok=True)
    trash = None
    if os.path.lexists(target):
        trash = Path(tempfile.mkdtemp(prefix=sibling_prefix(target.name, "old"),
                                      dir=target.parent))
        _mark(trash)
        os.replace(target, trash / "old")
    try:
        os.replace(tmp, target)
    except BaseException:
        if trash is not None:
            os.replace(trash / "old", target)
        raise
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike, kind: str, *, force: bool = False,
               option: str = "out") -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` only if the block succeeds.

    ``target`` may already hold a folder of the same ``kind`` (recognised by its manifest),
    which is replaced; anything else there is refused unless ``force`` (see
    :func:`~dronefront.io.outputs.check_output`). Stale siblings of an earlier killed write
    are removed first. An OSError becomes a one-line :class:`UserError`.
    """
    target = Path(target)
    check_output(target, option, folder=kind, force=force, make_parents=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        # an absolute name: pyarrow would expand a leading "~" of a relative one
        tmp = Path(tempfile.mkdtemp(prefix=sibling_prefix(target.name, "tmp"),
                                    dir=os.path.abspath(target.parent)))
        _mark(tmp)
    except OSError as exc:
        raise write_error(exc, target) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        _fsync_tree(tmp)
        # the run may have taken a while: check again what is at the target now
        check_output(target, option, folder=kind, force=force)
        _swap(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_error(exc, target) from None
        raise
