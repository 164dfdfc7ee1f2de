"""Atomic file writes: readers see the old file or the complete new one, never a part.

Every file the project writes for the user (checkpoints, results, metrics, generated datasets)
goes through :func:`atomic_write`: the data goes into a temporary file in the destination folder,
is flushed to disk (fsync), gets the permissions the user's umask gives a new file
(``0o666 & ~umask``: 0644 under the common umask 022, rather than the 0600 of temporary files),
and is renamed over the destination with ``os.replace``.
"""
from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Callable

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it (Linux ``/proc``), else set and restored
    under a lock (a file created by another thread in between gets the stricter 077)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


def new_folder_mode() -> int:
    """The mode a plain ``os.mkdir`` would give a new folder: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], object]) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    ``data`` is the bytes to write, or a function that writes into the open binary file it is
    given (e.g. ``lambda f: torch.save(obj, f)``). The destination folder must exist. On any error
    the temporary file is removed and the previous ``path`` (if any) is left untouched; an
    unwritable folder raises OSError "<path>: cannot write ...".
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OSError(f"{path}: cannot write: folder {path.parent} is missing or not writable "
                      f"({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), new_file_mode())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
