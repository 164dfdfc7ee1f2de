"""A copy of what a run prints, in its run folder: ``train.log``.

Each invocation appends a header line (date, command, process id), then everything the process
prints to stdout and stderr, including the one-line ``error:`` of a failed run and the traceback
of a crash. Progress-bar redraws (writes holding a carriage return, only made on a terminal) stay
on the terminal. Output that bypasses ``sys.stdout`` / ``sys.stderr`` (a DataLoader worker's, C
libraries') is not copied. The file is line-buffered, so a killed job's log is complete up to its
last line.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any, Sequence, TextIO

TRAIN_LOG = "train.log"


class _Tee:
    """Writes to a stream and to a copy; everything else is the stream's."""

    def __init__(self, stream: TextIO, copy: TextIO) -> None:
        self._stream, self._copy = stream, copy
        self._dropped_redraw = False

    def write(self, text: str) -> int:
        self._stream.write(text)
        redraw = "\r" in text
        # A bar's redraws, and the bare newline that ends a bar, stay on the terminal.
        if not redraw and not (self._dropped_redraw and text == "\n"):
            self._copy.write(text)
        self._dropped_redraw = redraw
        return len(text)

    def flush(self) -> None:
        self._stream.flush()
        self._copy.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ConsoleCopy:
    """Context manager: while active, ``sys.stdout`` and ``sys.stderr`` also write to ``path``
    (appended, after a header naming ``command``); restored on exit."""

    def __init__(self, path: str | os.PathLike, command: Sequence[str]) -> None:
        self.path = Path(path)
        self.command = list(command)
        self._file: TextIO | None = None
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> "ConsoleCopy":
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)
        self._file.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(self.command)} "
                         f"(pid {os.getpid()})\n")
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self._file)  # type: ignore[assignment]
        sys.stderr = _Tee(sys.stderr, self._file)  # type: ignore[assignment]
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._file is not None and self._saved is not None
        sys.stdout, sys.stderr = self._saved
        if error is not None and not isinstance(error, SystemExit):
            self._file.write("".join(traceback.format_exception(kind, error, tb)))
        self._file.close()
