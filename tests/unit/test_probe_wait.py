"""Half-open recovery through the Guard: while the one probe is in flight, other calls wait for
its outcome (bounded) instead of failing with circuit_open, so the first scan after an outage is
not lost; a failed probe still fails them fast."""

from __future__ import annotations

import asyncio

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.breaker import BreakerState, CircuitBreaker
from ivcrush_tui.resilience.guard import Guard
from ivcrush_tui.resilience.retry import RetryPolicy


class Mono:
    def __init__(self) -> None:
        self.t = 10.0

    def __call__(self) -> float:
        return self.t


def open_guard(mono: Mono, *, probe_wait_s: float = 5.0) -> Guard:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout_s=30.0, monotonic=mono)
    guard = Guard(
        "p",
        breaker=breaker,
        retry=RetryPolicy(attempts=1),
        probe_wait_s=probe_wait_s,
        monotonic=mono,
    )
    permit = breaker.acquire("q")
    breaker.record_failure(
        ProviderError(ErrorCode.UNAVAILABLE, "down", provider="p", endpoint="q"), permit
    )
    assert breaker.state is BreakerState.OPEN
    mono.t += 30.0
    assert breaker.seconds_to_half_open() == 0.0
    assert breaker.state.value == "half_open"
    return guard


async def test_callers_wait_for_a_successful_probe_and_then_go_through() -> None:
    guard = open_guard(Mono())
    gate = asyncio.Event()
    sent: list[str] = []

    async def probe() -> str:
        sent.append("probe")
        await gate.wait()
        return "probe-ok"

    async def other() -> str:
        sent.append("other")
        return "ok"

    first = asyncio.create_task(guard.run("q", probe))
    await asyncio.sleep(0)
    assert guard.breaker.probe_in_flight
    waiting = [asyncio.create_task(guard.run("q", other)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert sent == ["probe"]  # nobody else was sent while the probe ran
    assert not any(t.done() for t in waiting)
    gate.set()
    assert await first == "probe-ok"
    assert await asyncio.gather(*waiting) == ["ok"] * 5
    assert guard.breaker.state is BreakerState.CLOSED


async def test_a_failed_probe_fails_the_waiters_with_circuit_open() -> None:
    guard = open_guard(Mono())
    gate = asyncio.Event()

    async def probe() -> str:
        await gate.wait()
        raise ProviderError(ErrorCode.UNAVAILABLE, "still down", provider="p", endpoint="q")

    async def other() -> str:
        raise AssertionError("must not be sent")

    first = asyncio.create_task(guard.run("q", probe))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(guard.run("q", other))
    await asyncio.sleep(0.01)
    gate.set()
    with pytest.raises(ProviderError) as probe_err:
        await first
    assert probe_err.value.code is ErrorCode.UNAVAILABLE
    with pytest.raises(ProviderError) as waiter_err:
        await waiter
    assert waiter_err.value.code is ErrorCode.CIRCUIT_OPEN
    assert guard.breaker.state is BreakerState.OPEN


async def test_the_wait_is_bounded() -> None:
    guard = open_guard(Mono(), probe_wait_s=0.05)
    hang = asyncio.Event()

    async def probe() -> str:
        await hang.wait()
        return "late"

    first = asyncio.create_task(guard.run("q", probe))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(ProviderError) as info:
        await guard.run("q", probe)
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    assert 0.04 <= loop.time() - t0 < 1.0
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not guard.breaker.probe_in_flight  # a cancelled probe frees the slot


async def test_zero_probe_wait_keeps_the_fail_fast_behaviour() -> None:
    guard = open_guard(Mono(), probe_wait_s=0.0)
    hang = asyncio.Event()

    async def probe() -> str:
        await hang.wait()
        return "late"

    first = asyncio.create_task(guard.run("q", probe))
    await asyncio.sleep(0)
    with pytest.raises(ProviderError, match="probe request is in flight"):
        await guard.run("q", probe)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_wait_for_probe_returns_at_once_without_a_probe() -> None:
    breaker = CircuitBreaker("p")
    assert await asyncio.wait_for(breaker.wait_for_probe(10.0), 0.5) is BreakerState.CLOSED
