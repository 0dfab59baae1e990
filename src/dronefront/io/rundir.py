"""Run folders: written to a temporary sibling and renamed into place.

A failed or interrupted run leaves nothing half-written: either the whole folder appears
or nothing does (an existing folder of the same name is replaced only on success).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


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
    path.write_text(json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n")


def write_parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression="zstd")


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``target`` only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    trash = None
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, trash / "old")
    os.replace(tmp, target)
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)
