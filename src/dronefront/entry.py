"""The ``dronefront`` console script: a small shell around :func:`dronefront.cli.main`.

This module imports only the standard library, so the handlers below are in place before
typer, rich, NumPy and Numba load. Exit statuses:

- 0 done; 2 a user's mistake (one ``error:`` line on stderr), as :func:`dronefront.cli.main`;
- 130 Ctrl-C at any moment, imports included (one ``interrupted`` line);
- 141 standard output is a pipe closed early (``dronefront scenarios | head -1``): no
  message, the status a shell reports for a coreutils program killed by SIGPIPE;
- 2 standard output cannot be written otherwise (a full disk, ``> /dev/full``, an I/O error,
  a closed descriptor ``>&-``): one ``error: cannot write to standard output: ...`` line.

``python -m dronefront`` and ``python -m dronefront.cli`` run :func:`main` too.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import Any, NoReturn

from dronefront.streams import caused_by_interrupt, say, silence

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE


class StdoutError(Exception):
    """Writing standard output failed.

    Not an :class:`OSError`, so that no layer in between (click turns EPIPE into exit 1)
    takes it for one of its own.
    """

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.errno = error.errno
        self.strerror = error.strerror or str(error)


class _GuardedStream:
    """Standard output whose write errors become :class:`StdoutError`."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise StdoutError(exc) from None

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClosedStream:
    """Stands for standard output when the process started with it closed (``>&-``)."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def _fill_closed_descriptors() -> None:
    """Open the null device on closed descriptors 0-2, so no file we open lands there."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            new = os.open(os.devnull, os.O_RDWR)
            if new != fd:
                os.dup2(new, fd)
                os.close(new)


def _run(argv: list[str] | None) -> Any:
    if sys.stdout is None:
        sys.stdout = _ClosedStream()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    _fill_closed_descriptors()
    sys.stdout = _GuardedStream(sys.stdout)
    try:
        try:
            from dronefront.cli import main as cli_main

            cli_main(argv)
            code: Any = 0
        except SystemExit as exc:
            code = exc.code
        # a full disk shows here rather than in the interpreter's own flush at exit
        sys.stdout.flush()
    except StdoutError as exc:
        silence(1)
        if exc.errno == errno.EPIPE:
            return EXIT_BROKEN_PIPE
        say(f"error: cannot write to standard output: {exc.strerror}")
        return EXIT_USER_ERROR
    return code


def _forget_interrupt() -> None:
    """Keep exit status 130 after a handled Ctrl-C.

    CPython ends the process by SIGINT at exit if a KeyboardInterrupt ever left code run
    through ``PyRun_*`` (as some extension modules do while they import), even when it was
    handled later; each ``PyRun_*`` call resets that latch, so run a no-op through one.
    """
    try:
        import ctypes

        ctypes.pythonapi.PyRun_SimpleString(b"pass")
    except Exception:  # noqa: BLE001 - not CPython: the status may then read as SIGINT
        pass


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and exit."""
    try:
        code = _run(argv)
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still one line
        code = EXIT_INTERRUPTED
        say("interrupted")
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001 - already reported; exit quietly
        silence(1)
    if code == EXIT_INTERRUPTED:
        _forget_interrupt()
    sys.exit(code)
