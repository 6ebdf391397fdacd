"""An asyncio event loop in a daemon thread, and the bridge that lets another loop use it.

The console's engine (HTTP clients, store, parsing and analysis: ~40 ms of CPU a ticker) runs
on this loop, so its work never sits in the console's event loop between a key press and its
frame. Everything the engine owns is created and used on this loop only; the console's loop
reaches it through `run` (one coroutine) and `stream` (an async iterator), which

- return results and raise exceptions as they are (the same objects: types cross unchanged);
- cancel the engine-side task when the caller is cancelled or closes the stream, and wait
  (bounded) until that task has unwound, so a cancelled call has ended in the engine too when
  the caller sees its CancelledError, as on one loop.

Not `asyncio.run_coroutine_threadsafe`: a task it cancels before its first step never runs the
coroutine's body, so nothing could tell the caller that it has ended; here the engine-side task
is created and watched by our own callbacks, which always report.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")

# How long a cancelled caller waits for the engine-side task to unwind (store rollbacks, the
# scan's own cleanup), seconds. A bound, not an expected time (that is milliseconds).
UNWIND_WAIT_S: Final = 2.0
# `stop`: cancelling what runs, `final` (closing the runtime) and the thread's exit together,
# at most this long, seconds: the app's exit must never hang on the engine.
STOP_TIMEOUT_S: Final = 4.0

_END: Final = object()  # end of a stream (its outcome is in the pump's future)


class EngineThreadError(RuntimeError):
    """The engine thread is not running (not started, or stopping), or stopped a call."""


class _Call(Generic[T]):
    """One coroutine submitted to the engine loop. `outcome` lives on the caller's loop and is
    resolved (result, exception or cancelled) only once the engine-side task has ended."""

    def __init__(self, outcome: asyncio.Future[T], engine: asyncio.AbstractEventLoop) -> None:
        self.outcome = outcome
        self._engine = engine
        self._task: asyncio.Task[T] | None = None  # engine loop only

    def cancel(self) -> None:
        """Ask the engine loop to cancel the task (from the caller's thread)."""

        def cancel_task() -> None:
            # Runs after `begin` (both were queued from this thread, in order): the task exists
            # unless `begin` refused to start it, in which case the outcome is settled already.
            if self._task is not None:
                self._task.cancel()

        with contextlib.suppress(RuntimeError):  # the engine loop has closed: nothing runs
            self._engine.call_soon_threadsafe(cancel_task)

    async def unwind(self) -> None:
        """Cancel, and wait (at most UNWIND_WAIT_S) until the engine-side task has ended."""
        if self.outcome.done():
            return
        self.cancel()
        await asyncio.wait({self.outcome}, timeout=UNWIND_WAIT_S)

    def result(self) -> T:
        """The outcome (done): the task's result or exception; EngineThreadError when it was
        cancelled on the engine side (the engine stopping) rather than by the caller."""
        if self.outcome.cancelled():
            raise EngineThreadError("the engine stopped before the call completed")
        return self.outcome.result()


class EngineThread:
    """A private event loop in a daemon thread. `start` it, then `run`/`stream` from another
    loop, and `stop` it once."""

    def __init__(self, name: str = "ivcrush-engine") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Tasks started through the bridge and still running: touched on the engine loop only.
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Start the thread. Work can be submitted at once (it runs once the loop spins)."""
        if self._thread is not None:
            raise EngineThreadError(f"{self.name} was started already")
        # Created here, not in the thread, so that `run` may be called straight away.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # After `stop` (or its time limit): whatever still runs is abandoned.
            try:
                for task in asyncio.all_tasks(loop):
                    task.cancel()
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    # -- the bridge ----------------------------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T], *, shutting_down: bool = False) -> _Call[T]:
        """Start `coro` as a task on the engine loop (from the caller's loop)."""
        caller = asyncio.get_running_loop()
        loop = self._loop
        if loop is None or (self._stopping and not shutting_down):
            coro.close()  # never started: no "never awaited" warning
            raise EngineThreadError(f"{self.name} is not running")
        call: _Call[T] = _Call(caller.create_future(), loop)

        def report(task: asyncio.Task[T] | None) -> None:  # on the caller's loop
            out = call.outcome
            if out.done():
                return
            if task is None or task.cancelled():
                out.cancel()
            elif (exc := task.exception()) is not None:
                out.set_exception(exc)
            else:
                out.set_result(task.result())

        def ended(task: asyncio.Task[T] | None) -> None:  # on the engine loop
            if task is not None:
                self._tasks.discard(task)
                if not task.cancelled():
                    task.exception()  # retrieved here too: no warning if nobody waits any more
            with contextlib.suppress(RuntimeError):  # the caller's loop has closed
                caller.call_soon_threadsafe(report, task)

        def begin() -> None:  # on the engine loop
            if self._stopping and not shutting_down:
                coro.close()
                ended(None)
                return
            task = loop.create_task(coro)
            call._task = task
            self._tasks.add(task)
            task.add_done_callback(ended)

        try:
            loop.call_soon_threadsafe(begin)
        except RuntimeError:  # the engine loop has closed
            coro.close()
            raise EngineThreadError(f"{self.name} is not running") from None
        # An outcome nobody awaits any more (its caller was cancelled) must not warn either.
        call.outcome.add_done_callback(lambda f: f.cancelled() or f.exception())
        return call

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the engine loop and return its result (or raise its exception).
        Cancelling the caller cancels it there, and returns once it has unwound."""
        call = self._submit(coro)
        try:
            await asyncio.wait({call.outcome})
        except asyncio.CancelledError:
            await call.unwind()
            raise
        return call.result()

    async def stream(self, source: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
        """Iterate `source()` on the engine loop, yielding its items here in order. Closing or
        cancelling this iterator closes the engine-side one (its `finally` runs there).

        Items produced in one turn of the engine loop (results that completed together) cross
        as one batch: one wake-up of the caller's loop, not one per item."""
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        batch: list[T] = []

        def send() -> None:  # on the engine loop, after the turn that produced the items
            if batch:
                caller.call_soon_threadsafe(queue.put_nowait, batch.copy())
                batch.clear()

        async def pump() -> None:
            items = source()
            try:
                async for item in items:
                    if not batch:
                        asyncio.get_running_loop().call_soon(send)
                    batch.append(item)
            finally:
                send()  # before the end is reported: the last items never trail it
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    await aclose()

        call = self._submit(pump())
        # Queued on this loop after every batch (the pump's sends precede its end): the end mark.
        call.outcome.add_done_callback(lambda _: queue.put_nowait(_END))
        try:
            while True:
                got = await queue.get()
                if got is _END:
                    call.result()  # the engine side's exception, if any
                    return
                for item in got:
                    yield item
        finally:
            await call.unwind()

    # -- shutdown --------------------------------------------------------------------------------

    async def stop(
        self,
        final: Callable[[], Awaitable[None]] | None = None,
        *,
        timeout_s: float = STOP_TIMEOUT_S,
    ) -> bool:
        """Cancel the calls running on the engine loop and wait for them, then `await final()`
        there (e.g. close the runtime), then stop the loop and join the thread, all within
        `timeout_s`. Returns True when the thread has ended (False: left behind, a daemon)."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return True
        if self._stopping:
            return not thread.is_alive()
        caller = asyncio.get_running_loop()
        deadline = caller.time() + timeout_s

        async def shutdown() -> None:
            try:
                me = asyncio.current_task()
                running = [t for t in self._tasks if t is not me]
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
                if final is not None:
                    await final()
            finally:
                loop.call_soon(loop.stop)

        call = self._submit(shutdown(), shutting_down=True)
        self._stopping = True  # from here on, new calls are refused
        try:
            await asyncio.wait({call.outcome}, timeout=timeout_s)
        finally:
            if not call.outcome.done():  # shutdown hung (or we were cancelled): stop regardless
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(loop.stop)
            left = max(0.0, deadline - caller.time())
            await asyncio.to_thread(thread.join, left)
        if call.outcome.done() and not call.outcome.cancelled():
            call.outcome.result()  # `final`'s exception, if any
        return not thread.is_alive()
