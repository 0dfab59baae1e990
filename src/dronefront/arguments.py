"""Checks of the arguments given to the public Python API.

A wrong value from the caller raises :class:`~dronefront.errors.UserError` naming the
argument (the CLI prints it on one line), never a silent conversion: a seed of ``1.5`` is
not truncated to 1, and ``overrides="duration=60"`` is not taken as the characters
``d``, ``u``, ... . Only the standard library is imported here.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dronefront.errors import UserError

#: Seeds are 64-bit signed integers in the run manifest and the experiment store.
SEED_LIMIT = 2**63


def describe(value: object) -> str:
    """A short ``repr`` of ``value`` with its type, for messages.

    >>> describe(1.5)
    '1.5 (float)'
    """
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({type(value).__name__})"


def _int_text(number: int) -> str:
    # str() of a huge int is slow and refused past 4300 digits
    return str(number) if number.bit_length() <= 128 else f"a {number.bit_length()}-bit integer"


def check_int(value: object, field: str, *, minimum: int | None = None,
              limit: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (NumPy integers too, not ``bool``).

    >>> check_int(3, "days", minimum=1)
    3
    >>> check_int(2.0, "days")
    Traceback (most recent call last):
    ...
    dronefront.errors.UserError: days: must be an integer, not 2.0 (float)
    """
    if isinstance(value, bool):
        raise UserError(f"must be an integer, not {describe(value)}", field=field)
    try:
        number = operator.index(value)  # int and NumPy integers; float and str refuse
    except TypeError:
        raise UserError(f"must be an integer, not {describe(value)}", field=field) from None
    if minimum is not None and number < minimum:
        raise UserError(f"must be at least {minimum}, not {_int_text(number)}", field=field)
    if limit is not None and number >= limit:
        raise UserError(f"must be less than {limit}, not {_int_text(number)}", field=field)
    return number


def check_seed(seed: object, field: str = "seed") -> int:
    """A random seed: an integer in [0, 2**63).

    >>> check_seed(7)
    7
    >>> check_seed(1.5)
    Traceback (most recent call last):
    ...
    dronefront.errors.UserError: seed: must be an integer, not 1.5 (float)
    """
    number = check_int(seed, field)
    if not 0 <= number < SEED_LIMIT:
        raise UserError(f"must be in [0, 2**63), not {_int_text(number)}", field=field)
    return number


def check_flag(value: object, field: str) -> bool:
    """A ``True``/``False`` switch (NumPy booleans too)."""
    if isinstance(value, bool):
        return value
    if getattr(value, "dtype", None) is not None and value.dtype.kind == "b" and not getattr(
            value, "shape", ()):  # a NumPy boolean scalar
        return bool(value)
    raise UserError(f"must be True or False, not {describe(value)}", field=field)


def check_path(value: object, field: str) -> Path:
    """A file or folder path: a ``str`` or ``os.PathLike``, not empty."""
    if not isinstance(value, str | os.PathLike):
        raise UserError(f"must be a path (str or Path), not {describe(value)}", field=field)
    path = os.fspath(value)
    if not isinstance(path, str):  # a bytes path
        raise UserError(f"must be a path (str or Path), not {describe(value)}", field=field)
    if not path:
        raise UserError("must not be empty", field=field)
    return Path(path)


def check_source(value: object, model: type, field: str) -> None:
    """``value`` is a ``model`` instance, a built-in name or a path (``str`` or ``Path``)."""
    if isinstance(value, model):
        return
    if not isinstance(value, str | os.PathLike):
        raise UserError(f"must be a {model.__name__}, a built-in name or a path, not "
                        f"{describe(value)}", field=field)
    check_path(value, field)


def check_callable(value: object, field: str) -> None:
    """``value`` is ``None`` or can be called."""
    if value is not None and not callable(value):
        raise UserError(f"must be a function or None, not {describe(value)}", field=field)


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # a NumPy scalar
        return value.item()
    raise TypeError(type(value).__name__)


def check_overrides(overrides: object, field: str = "overrides") -> list[str]:
    """Overrides as ``"dotted.path=value"`` strings.

    ``overrides`` is ``None``, a mapping from dotted path to value, or an iterable of
    ``"dotted.path=value"`` strings; a lone string is refused (it would be read character
    by character).

    >>> check_overrides({"duration": 60, "name": "x"})
    ['duration=60', 'name="x"']
    >>> check_overrides("duration=60")
    Traceback (most recent call last):
    ...
    dronefront.errors.UserError: overrides: must be a mapping or a list of "path=value" \
strings, not a single str: write ["duration=60"]
    """
    if overrides is None:
        return []
    if isinstance(overrides, str | bytes):
        text = overrides.decode(errors="replace") if isinstance(overrides, bytes) else overrides
        raise UserError(f'must be a mapping or a list of "path=value" strings, not a single '
                        f"{type(overrides).__name__}: write [{json.dumps(text[:60])}]",
                        field=field)
    if isinstance(overrides, Mapping):
        out = []
        for key, value in overrides.items():
            if not isinstance(key, str):
                raise UserError(f"keys must be dotted paths (str), not {describe(key)}",
                                field=field)
            try:
                out.append(f"{key}={json.dumps(value, default=_plain)}")
            except (TypeError, ValueError):
                raise UserError(f"{key}: value must be a number, string, bool, list or "
                                f"mapping, not {describe(value)}", field=field) from None
        return out
    if not isinstance(overrides, Iterable):
        raise UserError(f'must be a mapping or a list of "path=value" strings, not '
                        f"{describe(overrides)}", field=field)
    out = list(overrides)
    for item in out:  # the loaders report a string without "=" with its own message
        if not isinstance(item, str):
            raise UserError(f'each must be a "path=value" string, not {describe(item)}',
                            field=field)
    return out
