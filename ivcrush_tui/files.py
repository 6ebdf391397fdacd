"""Writing a user's files safely: private (0600) and atomic (a crash leaves the old file or the new
one, never half of one)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_fd(fd: int, data: bytes, *, cleanup: Callable[[], object]) -> None:
    """Write `data` to the open descriptor `fd` with mode 0600, flushed to disk, and close it;
    on failure call `cleanup` (e.g. unlink the file) and re-raise."""
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)  # independent of the umask (mkstemp is 0600 already)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        cleanup()
        raise


def replace_atomically(path: Path, data: bytes) -> None:
    """Replace (or create) `path` with `data` through a temporary file in the same folder.
    Raises OSError; the folder must exist."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    write_fd(fd, data, cleanup=lambda: tmp.unlink(missing_ok=True))
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def private_dir(path: Path) -> None:
    """Create `path` (and missing parents) if needed; a folder this creates is 0700 (only its
    last component: the parents are the user's own, e.g. ~/.local/share). Raises OSError."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return  # created meanwhile by another process: theirs is made the same way
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (an existing file is left as it is).
    SQLite gives its -wal and -shm files the mode of the database file, so creating the database
    this way keeps all three private. Raises OSError."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)  # independent of the umask
    os.close(fd)
