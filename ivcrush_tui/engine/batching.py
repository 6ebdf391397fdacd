"""Coalesce per-ticker lookups into batched provider requests (quotes for many symbols at once).

Tickers ask for the keys they need; keys share one provider call (up to `max_batch` keys). A full
batch goes out at once; a partial one waits until no key has arrived for `linger_s` (keys of
tickers finishing one after another keep joining it), but never longer than `max_wait_s` after
its first key. This keeps the request budget near two calls per ticker even though each
ticker's analysis runs on its own.

When requests are scarce (Tradier's 120 a minute), the owner can also pass `hold`: when a partial
batch is due, `hold(waiting)` is asked with the number of callers whose keys are in it; while it
answers True the batch keeps waiting for company (asked again every `linger_s`, for at most
`max_hold_s`). Every partial batch sent early is one request more in the window; the engine
holds while some of its tickers may still add keys (engine/quote_stage.py).

`complete(waiting)` lets the owner say that no other caller will add keys (every ticker it has in
flight waits on this batch): the batch then goes at once instead of lingering.

With `slot` (the owner's request slots), a due batch first waits for a slot and only then takes
its keys (the oldest pending, up to `max_batch`): keys that arrive while it waits ride along
instead of waiting for a batch of their own, so a busy scan sends fewer, fuller batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

V = TypeVar("V")

Fetch = Callable[[list[str]], Awaitable[Mapping[str, V]]]
Slot = Callable[[], AbstractAsyncContextManager[object]]


class Coalescer(Generic[V]):
    """Batches `get(keys)` calls into `fetch(list_of_keys)` calls; results are shared."""

    def __init__(
        self,
        fetch: Fetch[V],
        *,
        max_batch: int | Callable[[], int] = 200,
        linger_s: float = 0.01,
        max_wait_s: float | None = None,
        hold: Callable[[int], bool] | None = None,
        max_hold_s: float = 1.0,
        slot: Slot | None = None,
        complete: Callable[[int], bool] | None = None,
    ) -> None:
        """`max_batch`: keys per fetch (or a function giving it, asked at each batch).
        `linger_s`: seconds without a new key before a partial batch goes out; `max_wait_s`
        (default: linger_s): the longest a key waits for its batch to fill, unless `hold` says
        otherwise then; `max_hold_s`: the longest any key waits (seconds after the batch's first
        key). `slot`: a context manager each fetch is made in (the owner's request slot); a due
        batch takes its keys when it has one. `complete(waiting)`: asked after each `get` with the
        number of callers waiting; True (no other caller will add keys) sends the batch at once."""
        if isinstance(max_batch, int) and max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self._fetch = fetch
        self._batch_size = max_batch
        self._linger_s = linger_s
        self._max_wait_s = linger_s if max_wait_s is None else max(max_wait_s, linger_s)
        self._hold = hold
        self._max_hold_s = max(max_hold_s, self._max_wait_s)
        self._slot = slot
        self._closed = False  # after aclose no batch is started
        self._complete = complete
        self._departing = 0  # due batches waiting for a slot (each takes up to max_batch keys)
        self._pending: dict[str, list[asyncio.Future[V | None]]] = {}
        self._caller_of: dict[asyncio.Future[V | None], int] = {}  # pending futures only
        self._callers = itertools.count()
        self._first_at: float | None = None  # loop time of the oldest pending key
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, keys: Iterable[str], *, urgent: bool = False) -> dict[str, V]:
        """Values for `keys` (keys the provider did not return are absent). `urgent`: send the
        pending keys now, these included, instead of waiting for company.

        Raises the error of the batch the keys rode in."""
        loop = asyncio.get_running_loop()
        futures: dict[str, asyncio.Future[V | None]] = {}
        caller = next(self._callers)
        for key in dict.fromkeys(keys):
            fut: asyncio.Future[V | None] = loop.create_future()
            # The first failed key ends this call: the others' errors are retrieved here, or
            # asyncio logs "Future exception was never retrieved" with a traceback on stderr.
            fut.add_done_callback(_retrieve)
            self._pending.setdefault(key, []).append(fut)
            self._caller_of[fut] = caller
            futures[key] = fut
        if urgent or (self._complete is not None and self._complete(self.waiting_callers)):
            self._flush()
        elif self._uncovered() >= self._max_batch:
            self._flush(full_only=True)
        if self._uncovered() > 0:
            now = loop.time()
            if self._first_at is None:
                self._first_at = now
            due = min(now + self._linger_s, self._first_at + self._max_wait_s)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(due, self._due)
        out: dict[str, V] = {}
        for key, fut in futures.items():
            value = await fut
            if value is not None:
                out[key] = value
        return out

    def recheck(self) -> None:
        """The owner's count of callers changed: send the pending keys now if `complete` says
        no other caller will add keys."""
        self._prune()
        if (
            self._complete is not None
            and self._uncovered() > 0
            and self._complete(self.waiting_callers)
        ):
            self._flush()

    def _prune(self) -> None:
        """Drop pending keys nobody waits for any more (their callers were cancelled)."""
        for key in [k for k, futs in self._pending.items() if all(f.done() for f in futs)]:
            for fut in self._pending.pop(key):
                self._caller_of.pop(fut, None)
        if not self._pending:
            self._first_at = None

    @property
    def _max_batch(self) -> int:
        size = self._batch_size
        return max(1, size() if callable(size) else size)

    @property
    def waiting_callers(self) -> int:
        """How many `get` calls have keys in the batch not sent yet."""
        return len({self._caller_of[f] for futs in self._pending.values() for f in futs})

    def _uncovered(self) -> int:
        """Pending keys no batch waiting for a slot will take."""
        return len(self._pending) - self._departing * self._max_batch

    def _due(self) -> None:
        """A partial batch is due: send it, unless the owner holds it (then look again)."""
        self._timer = None
        self._prune()
        if self._uncovered() <= 0:
            return
        if self._hold is not None and self._first_at is not None:
            loop = asyncio.get_running_loop()
            now = loop.time()
            last = self._first_at + self._max_hold_s
            if now < last and self._hold(self.waiting_callers):
                self._timer = loop.call_at(min(now + self._linger_s, last), self._due)
                return
        self._flush()

    def _flush(self, *, full_only: bool = False) -> None:
        """Send the pending keys (only whole batches when `full_only`). With a slot, each batch
        waits for one and takes its keys then."""
        if not full_only and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        size = self._max_batch
        loop = asyncio.get_running_loop()
        while (
            not self._closed and (left := self._uncovered()) > 0 and (not full_only or left >= size)
        ):
            if self._slot is None:
                task = loop.create_task(self._run(self._take(size)))
            else:
                self._departing += 1
                task = loop.create_task(self._depart(self._slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._uncovered() <= 0:
            self._first_at = None

    def _take(self, size: int) -> dict[str, list[asyncio.Future[V | None]]]:
        """Remove the oldest `size` pending keys, for one batch."""
        batch = {k: self._pending.pop(k) for k in list(self._pending)[:size]}
        for futs in batch.values():
            for fut in futs:
                self._caller_of.pop(fut, None)
        return batch

    async def _depart(self, slot: Slot) -> None:
        """A due batch: wait for a slot, then take the keys pending at that moment."""
        taken = False
        try:
            async with slot():
                self._departing -= 1
                taken = True
                self._prune()
                batch = self._take(self._max_batch)
                if batch:
                    await self._run(batch)
        finally:
            if not taken:  # cancelled while waiting: its keys are left to the others
                self._departing -= 1

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
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):  # already delivered to the waiters
                await task


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
