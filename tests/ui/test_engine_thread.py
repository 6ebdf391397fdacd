"""The engine thread's bridge on its own: results, exceptions, streams, cancellation and stop,
between the test's loop and the engine thread's loop (no engine involved)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from ivcrush_tui.app.engine_thread import EngineThread, EngineThreadError
from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError


@pytest.fixture
def engine() -> Iterator[EngineThread]:
    et = EngineThread("test-engine")
    et.start()
    yield et
    if et.alive:  # a test that failed before stopping it: do not leave the thread running
        asyncio.run(et.stop(timeout_s=2.0))


async def _where() -> tuple[int, asyncio.AbstractEventLoop]:
    return threading.get_ident(), asyncio.get_running_loop()


async def test_run_returns_the_result_computed_on_the_engine_thread(engine: EngineThread) -> None:
    ident, loop = await engine.run(_where())
    assert ident != threading.get_ident()
    assert engine.thread is not None
    assert ident == engine.thread.ident
    assert loop is not asyncio.get_running_loop()
    assert await engine.stop()


async def test_exceptions_cross_with_their_type_and_fields(engine: EngineThread) -> None:
    async def fail() -> None:
        raise ProviderError(ErrorCode.UNAVAILABLE, "down", provider="tradier", endpoint="quotes")

    with pytest.raises(ProviderError) as info:
        await engine.run(fail())
    assert isinstance(info.value, IvCrushError)
    assert info.value.code == ErrorCode.UNAVAILABLE
    assert info.value.provider == "tradier"

    async def bug() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await engine.run(bug())
    assert await engine.stop()


async def test_cancelling_the_caller_cancels_the_engine_task_and_waits_for_it(
    engine: EngineThread,
) -> None:
    log: list[str] = []
    started = threading.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # unwinding takes a moment (a store rollback, say)
            log.append("cancelled")
            raise

    caller = asyncio.create_task(engine.run(slow()))
    while not started.is_set():  # noqa: ASYNC110 - a thread's event, polled from this loop
        await asyncio.sleep(0.005)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert log == ["cancelled"]  # unwound before the caller saw its cancellation
    assert await engine.stop()


async def test_a_call_cancelled_before_it_started_reports_at_once(engine: EngineThread) -> None:
    ran: list[str] = []
    hold = threading.Event()

    async def block_engine() -> None:
        hold.wait(5)  # the engine loop is busy: the next call is queued behind this one

    async def body() -> None:
        ran.append("ran")

    blocker = asyncio.create_task(engine.run(block_engine()))
    await asyncio.sleep(0.02)
    caller = asyncio.create_task(engine.run(body()))
    await asyncio.sleep(0.02)
    caller.cancel()
    await asyncio.sleep(0.02)  # the caller has asked the (busy) engine loop to cancel it
    assert not caller.done()  # ... and waits for the engine side to report
    t0 = time.monotonic()
    hold.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert time.monotonic() - t0 < 1.0  # not the unwind time limit
    await blocker
    assert ran == []  # cancelled before it started: its body never ran
    assert await engine.stop()


async def test_stream_yields_in_order_and_closing_it_closes_the_source(
    engine: EngineThread,
) -> None:
    closed: list[int] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for i in range(1000):
                await asyncio.sleep(0.001)
                yield i
        finally:
            await asyncio.sleep(0.02)
            closed.append(threading.get_ident())

    got: list[int] = []
    stream = engine.stream(numbers)
    async for n in stream:
        got.append(n)
        if n == 4:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert got == [0, 1, 2, 3, 4]
    assert engine.thread is not None
    assert closed == [engine.thread.ident]

    everything = [n async for n in engine.stream(lambda: _count(50))]
    assert everything == list(range(50))
    assert await engine.stop()


async def _count(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


async def test_a_stream_raises_the_source_exception_after_its_items(engine: EngineThread) -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise IvCrushError(ErrorCode.INTERNAL, "scan broke")

    got: list[int] = []

    async def collect() -> None:
        async for n in engine.stream(broken):
            got.append(n)

    with pytest.raises(IvCrushError, match="scan broke"):
        await collect()
    assert got == [1]
    assert await engine.stop()


async def test_stop_cancels_running_calls_then_runs_final_then_joins(engine: EngineThread) -> None:
    order: list[str] = []

    async def forever() -> AsyncIterator[int]:
        try:
            while True:
                await asyncio.sleep(0.01)
                yield 0
        finally:
            order.append("stream closed")

    async def consume() -> None:
        async for _ in engine.stream(forever):
            pass

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)

    async def final() -> None:
        order.append("final")

    assert await engine.stop(final)
    assert order == ["stream closed", "final"]
    assert engine.thread is not None
    assert not engine.thread.is_alive()
    with pytest.raises(EngineThreadError):
        await consumer  # the engine stopped under it: an error, not a silent end
    with pytest.raises(EngineThreadError):
        await engine.run(_where())


async def test_stop_is_bounded_when_the_engine_hangs(engine: EngineThread) -> None:
    release = threading.Event()

    async def stuck() -> None:
        release.wait(10)  # blocks the engine loop itself: nothing can cancel it

    task = asyncio.create_task(engine.run(stuck()))
    await asyncio.sleep(0.02)
    t0 = time.monotonic()
    assert not await engine.stop(timeout_s=0.3)
    assert time.monotonic() - t0 < 1.5
    release.set()
    assert engine.thread is not None
    engine.thread.join(2.0)
    assert not engine.thread.is_alive()  # it ends once unblocked
    task.cancel()
