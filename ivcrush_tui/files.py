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
