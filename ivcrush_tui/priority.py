"""A semaphore that hands free slots to the most urgent waiter first.

Why: a scan starts every ticker at once. With a FIFO semaphore all tickers advance in lockstep
(every first request, then every second one), so the first result arrives only near the end.
Serving the earliest-started ticker's next request first makes tickers finish one after another
(results stream from the first few round trips on) at the same total throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator
from contextvars import ContextVar

# Lower runs first. Shared batches (quotes many tickers wait on) use BATCH_PRIORITY; a single
# interactive `analyze` uses the default; scan tickers use 1, 2, ... in their start order.
BATCH_PRIORITY = -1.0
DEFAULT_PRIORITY = 0.0
current_priority: ContextVar[float] = ContextVar("ivcrush_priority", default=DEFAULT_PRIORITY)


class PrioritySemaphore:
    """At most `value` holders; a released slot goes to the waiter with the lowest priority
    (ties: first come, first served). Cancellation-safe: a cancelled waiter never leaks a slot."""

    def __init__(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"value must be >= 1, got {value}")
        self._free = value
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @property
    def free(self) -> int:
        return self._free

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, fut in self._waiters if not fut.done())

    async def acquire(self, priority: float | None = None) -> None:
        prio = current_priority.get() if priority is None else priority
        if self._free > 0:  # free slots exist only while no live waiter is queued
            self._free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (prio, next(self._seq), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just before the cancellation
            else:
                fut.cancel()  # dropped lazily from the heap
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)  # hand the slot over directly
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def slot(self, priority: float | None = None) -> AsyncIterator[None]:
        """Hold one slot for the block (priority: explicit, else the task's current_priority)."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()
