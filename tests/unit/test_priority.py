"""PrioritySemaphore: bounded holders, lowest priority first (FIFO on ties), cancellation-safe."""

from __future__ import annotations

import asyncio

import pytest

from ivcrush_tui.priority import PrioritySemaphore, current_priority


async def test_free_slots_are_handed_to_the_most_urgent_waiter() -> None:
    sem = PrioritySemaphore(1)
    order: list[str] = []
    await sem.acquire()

    async def waiter(name: str, prio: float) -> None:
        async with sem.slot(prio):
            order.append(name)

    tasks = [
        asyncio.create_task(waiter(n, p)) for n, p in [("c", 3), ("a", 1), ("b", 1), ("z", -1)]
    ]
    await asyncio.sleep(0)
    assert sem.waiting == 4
    sem.release()
    await asyncio.gather(*tasks)
    assert order == ["z", "a", "b", "c"]  # lowest first; a before b (first come)
    assert sem.free == 1


async def test_priority_defaults_to_the_tasks_context() -> None:
    sem = PrioritySemaphore(1)
    order: list[int] = []
    await sem.acquire()

    async def waiter(rank: int) -> None:
        current_priority.set(float(rank))
        async with sem.slot():
            order.append(rank)

    tasks = [asyncio.create_task(waiter(r)) for r in (5, 2, 9, 1)]
    await asyncio.sleep(0)
    sem.release()
    await asyncio.gather(*tasks)
    assert order == [1, 2, 5, 9]


async def test_never_more_holders_than_slots() -> None:
    sem = PrioritySemaphore(3)
    inside = peak = 0

    async def work(i: int) -> None:
        nonlocal inside, peak
        async with sem.slot(i % 4):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(work(i) for i in range(40)))
    assert peak == 3
    assert sem.free == 3


async def test_cancelled_waiters_never_leak_a_slot() -> None:
    sem = PrioritySemaphore(1)
    await sem.acquire()
    waiting = asyncio.create_task(sem.acquire(0))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    sem.release()
    assert sem.free == 1
    # Cancelled right after the slot was handed over: the slot comes back.
    await sem.acquire()
    handed = asyncio.create_task(sem.acquire(0))
    await asyncio.sleep(0)
    sem.release()  # hands the slot to `handed`...
    handed.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert sem.free == 1


def test_needs_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        PrioritySemaphore(0)
