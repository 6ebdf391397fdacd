"""Who owns the account's market stream (docs/ARCHITECTURE.md, "Market streaming").

Tradier allows one market session per account: a new session ends the previous one's stream, so
two processes streaming on one account knock each other off in turn. The streaming process holds
an exclusive `fcntl.flock` on `stream-<first 12 hex of sha256(token)>.lock` beside the database
(released by the kernel when the process dies); a process that cannot take it polls. `ivcrush
serve` takes it first when it runs; a console started while `serve` holds it polls.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path

__all__ = ["StreamLock", "lock_path"]


def lock_path(database_path: Path, token: str) -> Path:
    """The lock file of the account `token` streams for, beside the database."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:12]
    return database_path.parent / f"stream-{digest}.lock"


class StreamLock:
    """An exclusive, non-blocking lock on `path`; `owner` names the holder ("serve", "console")."""

    def __init__(self, path: Path, owner: str) -> None:
        self.path = path
        self.owner = owner
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> str | None:
        """Take the lock. None when taken, else who holds it ("serve (pid 123)")."""
        if self._fd is not None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            return holder
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.owner} (pid {os.getpid()})".encode(), 0)
        self._fd = fd
        return None

    def holder(self) -> str | None:
        """Who holds the lock now (None when free or held by us); does not take it."""
        if self._fd is not None or not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
