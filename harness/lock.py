"""One writer per output folder: a lock held for the whole run, refused at once when taken."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_FILE = ".lock"


class FolderBusyError(RuntimeError):
    """Another run holds the folder's lock."""


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold DIR/.lock exclusively; never wait silently for another run to finish."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE, blocking=False)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusyError(
            f"{folder} is in use by another run; wait for it to finish or choose another --out"
        ) from None
    try:
        yield
    finally:
        lock.release()
