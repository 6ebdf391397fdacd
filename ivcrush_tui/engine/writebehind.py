"""Write-behind: in front of the response cache (a client's `put` returns at once), and the
batch writer of recordings (`BatchWriter`).

Why: the provider clients store every response body in the SQLite cache before returning, while
the engine holds one of its request slots. Under a scan that wait (a queued transaction per
response) kept the slots busy on local disk work instead of provider requests. Here the write is
queued and done by one background task, in order; reads see queued values at once, so nothing
observable changes but the latency. `flush()` (called when the runtime closes) drains the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ivcrush_tui.store.cache import ResponseCache

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_PENDING = 512  # beyond this, `put` writes through (backpressure; bounds memory)


async def _stop(writer: asyncio.Task[None] | None) -> None:
    """Cancel a writer task still running and wait for it (a transaction in progress is rolled
    back by the store)."""
    if writer is not None and not writer.done():
        writer.cancel()
        with contextlib.suppress(BaseException):
            await writer


async def _finish(writer: asyncio.Task[None], timeout_s: float) -> bool:
    """Let `writer` finish for at most `timeout_s` seconds, then stop it; False on timeout.
    On cancellation the writer is stopped and the cancellation propagates."""
    try:
        await asyncio.wait_for(asyncio.shield(writer), timeout_s)
    except TimeoutError:
        return False
    finally:
        await _stop(writer)
    return True


class WriteBehindCache:
    """A ResponseCache whose puts are queued and written by one background task."""

    def __init__(self, inner: ResponseCache) -> None:
        self._inner = inner
        self._pending: dict[tuple[str, str], tuple[str, float]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def get(self, namespace: str, key: str) -> str | None:
        queued = self._pending.get((namespace, key))
        if queued is not None:
            return queued[0]
        return await self._inner.get(namespace, key)

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        if len(self._pending) >= MAX_PENDING:
            await self._inner.put(namespace, key, value, ttl_s)
            return
        self._pending.pop((namespace, key), None)  # re-queue at the end: the newest wins
        self._pending[(namespace, key)] = (value, ttl_s)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending:
            (namespace, key), (value, ttl_s) = next(iter(self._pending.items()))
            try:
                await self._inner.put(namespace, key, value, ttl_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a cache write must never fail anything else
                log.warning("cache write failed (%s): %s", namespace, type(exc).__name__)
            # Drop the entry only if no newer value was queued while it was being written.
            if self._pending.get((namespace, key)) == (value, ttl_s):
                del self._pending[(namespace, key)]

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def discard(self) -> None:
        """Drop what is queued, on purpose (the run was interrupted: exiting promptly matters
        more than a cache). Logged at INFO: this is the expected outcome, not a problem; the
        writer task is cancelled (a transaction in progress is rolled back by the store)."""
        if self._pending:
            log.info("cache: %d queued writes dropped (run interrupted)", len(self._pending))
        self._pending.clear()
        await _stop(self._writer)

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, for at most `timeout_s` seconds (what is left is dropped: it is
        only a cache). On cancellation the writer is stopped (a transaction in progress is
        rolled back by the store) and the cancellation propagates."""
        if self._pending and (self._writer is None or self._writer.done()):
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        writer = self._writer
        if writer is None:
            return
        try:
            if not await _finish(writer, timeout_s):
                log.warning("cache: %d queued writes dropped at shutdown", len(self._pending))
        finally:
            self._pending.clear()


class BatchWriter(Generic[T]):
    """Items queued by a synchronous, never-blocking `submit`, written in order by one background
    task, in batches (everything queued when a write starts goes in one call of `write`).

    For the recorder (engine/recorder.py): a quote or an analysis must never wait for the disk.
    Memory is bounded: beyond `max_pending` items the oldest queued item is dropped and counted
    (`dropped`); a failed write is logged and counted (`lost`), never raised."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        *,
        name: str,
        max_pending: int = 100_000,
    ) -> None:
        self._write = write
        self._name = name
        self._max_pending = max_pending
        self._queue: deque[T] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0
        self.lost = 0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, item: T) -> None:
        """Queue `item` (call on the event loop); the writer task starts if idle."""
        if len(self._queue) >= self._max_pending:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            batch = list(self._queue)
            self._queue.clear()
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a recording must never fail anything else
                self.lost += len(batch)
                log.warning("%s: write of %d items failed: %s", self._name, len(batch), exc)

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, for at most `timeout_s` seconds (what is left is dropped and
        logged)."""
        if self._queue and (self._writer is None or self._writer.done()):
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        writer = self._writer
        if writer is None:
            return
        try:
            if not await _finish(writer, timeout_s):
                log.warning("%s: %d queued items dropped at shutdown", self._name, len(self._queue))
        finally:
            self._queue.clear()

    async def discard(self) -> None:
        """Drop what is queued and stop the writer (the run was interrupted)."""
        self._queue.clear()
        await _stop(self._writer)
