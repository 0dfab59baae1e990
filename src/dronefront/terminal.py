"""The terminal: the two consoles every command prints to, and the one progress bar.

``console`` is standard output (tables, summaries); ``err`` is standard error (progress,
notes, the ``error:`` line). The progress bar draws on ``err`` only when it is a terminal,
so piped and captured output holds no bar.

>>> with progress_bar("demo", total=3) as update:
...     for done in range(1, 4):
...         update(done)
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from dronefront.text import markup_safe

console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _RateColumn(ProgressColumn):
    """Items per second, e.g. ``12.50 runs/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"-- {self.unit}/s" if speed is None else f"{speed:.2f} {self.unit}/s")


@contextlib.contextmanager
def progress_bar(label: str, total: int | None = None, *, rate: str | None = None,
                 every: int = 1, keep: bool = False, **fields: Any
                 ) -> Iterator[Callable[..., None]]:
    """A progress bar on stderr; yields ``update(done, total=None, **fields)``.

    ``label`` is user text (escaped here). ``rate`` names the unit of a rate column (the
    first update sets the starting point, so work done before, e.g. runs already stored,
    does not count towards it). ``every`` redraws only every N items (and at the end);
    ``keep`` leaves the finished bar on screen. ``fields`` are shown after the count as
    ``value name`` and may change with each update.
    """
    columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    columns += [TextColumn(f"{{task.fields[{name}]}} {name}") for name in fields]
    if rate is not None:
        columns += [_RateColumn(rate), TimeElapsedColumn(), TextColumn("eta")]
    columns.append(TimeRemainingColumn() if rate is not None or total is not None
                   else TimeElapsedColumn())
    progress = Progress(*columns, console=err, transient=not keep,
                        disable=not err.is_terminal)
    task = progress.add_task(markup_safe(label), total=total, **fields)
    started = False

    def update(done: int, new_total: int | None = None, **values: Any) -> None:
        nonlocal started
        known = new_total if new_total is not None else progress.tasks[0].total
        if done % every and done != known:
            return
        if rate is not None and not started:
            progress.reset(task, total=known, completed=done, **values)
            started = True
        else:
            progress.update(task, total=known, completed=done, **values)

    with progress:
        yield update
