"""Coalesce per-ticker lookups into batched provider requests (quotes for many symbols at once).

Tickers ask for the keys they need; requests arriving within `linger_s` of each other share one
provider call (up to `max_batch` keys). This keeps the request budget near two calls per ticker even
though each ticker's analysis runs on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")

Fetch = Callable[[list[str]], Awaitable[Mapping[str, V]]]


class Coalescer(Generic[V]):
    """Batches `get(keys)` calls into `fetch(list_of_keys)` calls; results are shared."""

    def __init__(self, fetch: Fetch[V], *, max_batch: int = 200, linger_s: float = 0.01) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._pending: dict[str, list[asyncio.Future[V | None]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, keys: Iterable[str]) -> dict[str, V]:
        """Values for `keys` (keys the provider did not return are absent).

        Raises the error of the batch the keys rode in."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[V | None]] = {}
        for key in dict.fromkeys(keys):
            fut: asyncio.Future[V | None] = loop.create_future()
            self._pending.setdefault(key, []).append(fut)
            futures[key] = fut
        if len(self._pending) >= self._max_batch:
            self._flush()
        elif self._timer is None and self._pending:
            self._timer = loop.call_later(self._linger_s, self._flush)
        out: dict[str, V] = {}
        for key, fut in futures.items():
            value = await fut
            if value is not None:
                out[key] = value
        return out

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            keys = list(self._pending)[: self._max_batch]
            batch = {k: self._pending.pop(k) for k in keys}
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: dict[str, list[asyncio.Future[V | None]]]) -> None:
        try:
            values = await self._fetch(list(batch))
        except BaseException as exc:  # every waiter sees the failure, including cancellation
            for futs in batch.values():
                for fut in futs:
                    if not fut.done():
                        if isinstance(exc, asyncio.CancelledError):
                            fut.cancel()
                        else:
                            fut.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for key, futs in batch.items():
            for fut in futs:
                if not fut.done():
                    fut.set_result(values.get(key))

    async def aclose(self) -> None:
        """Cancel batches still in flight (on shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):  # already delivered to the waiters
                await task
