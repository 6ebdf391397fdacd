"""Coalescer: many lookups share provider calls; full batches go at once, partial ones after a
quiet spell (capped); failures reach every waiter of the batch."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Mapping

import pytest

from ivcrush_tui.engine.batching import Coalescer


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.fail: Exception | None = None

    async def __call__(self, keys: list[str]) -> Mapping[str, str]:
        self.calls.append(keys)
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return {k: k.lower() for k in keys if k != "MISSING"}


async def test_concurrent_lookups_share_one_call() -> None:
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(fetch, max_batch=100, linger_s=0.01)
    a, b = await asyncio.gather(c.get(["A", "B"]), c.get(["B", "C", "MISSING"]))
    assert a == {"A": "a", "B": "b"}
    assert b == {"B": "b", "C": "c"}  # keys the provider did not return are absent
    assert fetch.calls == [["A", "B", "C", "MISSING"]]


async def test_full_batches_go_at_once_and_the_rest_waits() -> None:
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(fetch, max_batch=3, linger_s=0.05, max_wait_s=0.2)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    first = asyncio.create_task(c.get(["A", "B", "C", "D"]))
    await asyncio.sleep(0.01)
    assert fetch.calls == [["A", "B", "C"]]  # the full batch did not wait
    assert not first.done()  # D waits for company
    await first
    assert fetch.calls == [["A", "B", "C"], ["D"]]
    assert loop.time() - t0 >= 0.04


async def test_a_steady_trickle_fills_batches_until_the_cap() -> None:
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(fetch, max_batch=100, linger_s=0.03, max_wait_s=0.12)

    async def late(i: int) -> dict[str, str]:
        await asyncio.sleep(0.01 * i)
        return await c.get([f"K{i}"])

    await asyncio.gather(*(late(i) for i in range(30)))  # one key every 10 ms for 300 ms
    # Each quiet spell is shorter than linger, so batches close only at the 120 ms cap.
    assert 2 <= len(fetch.calls) <= 4
    assert sum(len(x) for x in fetch.calls) == 30


async def test_an_urgent_lookup_sends_the_pending_keys_at_once() -> None:
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(fetch, max_batch=100, linger_s=5.0)
    waiting = asyncio.ensure_future(c.get(["A"]))  # would wait 5 s for company
    await asyncio.sleep(0)
    assert fetch.calls == []
    got = await asyncio.wait_for(c.get(["B"], urgent=True), 1.0)
    assert got == {"B": "b"}
    assert fetch.calls == [["A", "B"]]  # one request, the earlier key included
    assert await asyncio.wait_for(waiting, 1.0) == {"A": "a"}


async def test_a_failed_batch_fails_every_waiter() -> None:
    fetch = Recorder()
    fetch.fail = RuntimeError("provider down")
    c: Coalescer[str] = Coalescer(fetch, max_batch=10, linger_s=0.001)
    results = await asyncio.gather(c.get(["A"]), c.get(["B"]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(fetch.calls) == 1


async def test_a_call_ended_by_one_failed_key_leaves_no_unretrieved_error() -> None:
    # Two keys in two batches, both failing: the call raises the first error, and the second's
    # must not end up as asyncio's "Future exception was never retrieved" (a traceback on stderr).
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    try:
        fetch = Recorder()
        fetch.fail = RuntimeError("provider down")
        c: Coalescer[str] = Coalescer(fetch, max_batch=1, linger_s=0.001)
        with pytest.raises(RuntimeError):
            await c.get(["A", "B"])
        await asyncio.sleep(0.01)  # both batches have failed
        assert len(fetch.calls) == 2
        del c, fetch
        gc.collect()  # an unretrieved exception is reported when its future is collected
        assert reported == []
    finally:
        loop.set_exception_handler(None)


async def test_aclose_cancels_batches_in_flight() -> None:
    started = asyncio.Event()

    async def hang(keys: list[str]) -> Mapping[str, str]:
        started.set()
        await asyncio.sleep(10)
        return {}

    c: Coalescer[str] = Coalescer(hang, max_batch=1, linger_s=0.001)
    waiter = asyncio.create_task(c.get(["A"]))
    await started.wait()
    await c.aclose()
    with pytest.raises(asyncio.CancelledError):
        await waiter


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Coalescer(Recorder(), max_batch=0)


async def test_a_held_partial_batch_waits_until_hold_turns_false() -> None:
    fetch = Recorder()
    holding = [True]
    seen: list[int] = []

    def hold(waiting: int) -> bool:
        seen.append(waiting)
        return holding[0]

    c: Coalescer[str] = Coalescer(
        fetch, max_batch=3, linger_s=0.01, max_wait_s=0.02, hold=hold, max_hold_s=5
    )
    first = asyncio.create_task(c.get(["A"]))
    await asyncio.sleep(0.1)  # well past max_wait: held
    assert fetch.calls == []
    assert seen
    assert set(seen) == {1}  # asked with the number of callers waiting
    second = asyncio.create_task(c.get(["B", "C", "D"]))  # fills one batch: goes at once
    await asyncio.sleep(0.005)
    assert fetch.calls == [["A", "B", "C"]]
    assert await first == {"A": "a"}
    assert not second.done()  # D is held
    assert c.waiting_callers == 1
    holding[0] = False
    assert await second == {"B": "b", "C": "c", "D": "d"}
    assert fetch.calls == [["A", "B", "C"], ["D"]]


async def test_a_hold_never_lasts_beyond_max_hold() -> None:
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(
        fetch, max_batch=10, linger_s=0.01, max_wait_s=0.01, hold=lambda n: True, max_hold_s=0.08
    )
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await c.get(["A"]) == {"A": "a"}
    assert loop.time() - t0 >= 0.07
    assert fetch.calls == [["A"]]


async def test_the_batch_size_can_follow_the_owner() -> None:
    fetch = Recorder()
    size = [2]
    c: Coalescer[str] = Coalescer(fetch, max_batch=lambda: size[0], linger_s=0.01)
    await c.get(["A", "B", "C"])
    size[0] = 4
    await c.get(["D", "E", "F", "G", "H"])
    assert fetch.calls == [["A", "B"], ["C"], ["D", "E", "F", "G"], ["H"]]


class Slots:
    """One request slot, handed out by `release` (the test decides when a slot comes)."""

    def __init__(self) -> None:
        self.sem = asyncio.Semaphore(0)
        self.held = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.sem.acquire()
        self.held += 1
        try:
            yield
        finally:
            self.held -= 1


async def test_a_due_batch_takes_its_keys_when_its_slot_comes() -> None:
    fetch = Recorder()
    slots = Slots()
    c: Coalescer[str] = Coalescer(fetch, max_batch=10, linger_s=0.01, slot=slots.slot)
    first = asyncio.create_task(c.get(["A"]))
    await asyncio.sleep(0.05)  # due, but no slot yet
    assert fetch.calls == []
    late = asyncio.create_task(c.get(["B", "C"]))  # arrives while the batch waits for a slot
    await asyncio.sleep(0.05)
    slots.sem.release()
    assert await first == {"A": "a"}
    assert await late == {"B": "b", "C": "c"}
    assert fetch.calls == [["A", "B", "C"]]  # one request: the late keys rode along


async def test_keys_beyond_a_waiting_batch_form_the_next_one() -> None:
    fetch = Recorder()
    slots = Slots()
    c: Coalescer[str] = Coalescer(fetch, max_batch=2, linger_s=0.01, slot=slots.slot)
    tasks = [asyncio.create_task(c.get([k])) for k in "ABC"]
    await asyncio.sleep(0.05)
    slots.sem.release()
    slots.sem.release()
    await asyncio.gather(*tasks)
    assert fetch.calls == [["A", "B"], ["C"]]  # the oldest keys first, never above max_batch


def _complete_when_all_wait(in_flight: list[int]) -> tuple[Recorder, Coalescer[str]]:
    """A coalescer whose batch is complete once `in_flight[0]` callers wait on it."""
    fetch = Recorder()
    c: Coalescer[str] = Coalescer(
        fetch, max_batch=100, linger_s=5.0, complete=lambda waiting: waiting >= in_flight[0]
    )
    return fetch, c


async def test_a_batch_goes_at_once_when_every_caller_waits_on_it() -> None:
    fetch, c = _complete_when_all_wait([2])
    first = asyncio.create_task(c.get(["A"]))
    await asyncio.sleep(0.01)
    assert fetch.calls == []  # one of two callers: it lingers
    assert await asyncio.wait_for(c.get(["B"]), 1.0) == {"B": "b"}
    assert await first == {"A": "a"}
    assert fetch.calls == [["A", "B"]]


async def test_recheck_sends_the_batch_when_the_last_other_caller_has_left() -> None:
    in_flight = [2]
    fetch, c = _complete_when_all_wait(in_flight)
    first = asyncio.create_task(c.get(["A"]))
    await asyncio.sleep(0.01)
    c.recheck()
    await asyncio.sleep(0.01)
    assert fetch.calls == []  # the other caller may still add keys
    in_flight[0] = 1  # it finished without asking
    c.recheck()
    assert await asyncio.wait_for(first, 1.0) == {"A": "a"}
