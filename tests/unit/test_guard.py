"""Guard: breaker -> limiter -> attempt under the retry policy; stats; correlation ids."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable, Callable, Mapping

import numpy as np
import pytest

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.resilience.breaker import BreakerState, CircuitBreaker
from ivcrush_tui.resilience.correlation import correlation_scope
from ivcrush_tui.resilience.guard import Guard, ProviderStats, percentile
from ivcrush_tui.resilience.protocols import CallGuard
from ivcrush_tui.resilience.ratelimit import AlphaVantageLimiter, TradierWindowLimiter
from ivcrush_tui.resilience.retry import RetryPolicy

T0 = dt.datetime(2026, 5, 11, 19, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return T0 + dt.timedelta(seconds=self.t - 100.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


class RecordingLimiter:
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.rate_limited: list[float | None] = []
        self.exhausted = 0
        self.headers: list[Mapping[str, str]] = []

    async def acquire(self, endpoint: str = "-") -> None:
        self.events.append(f"acquire:{endpoint}")

    def observe(self, headers: Mapping[str, str]) -> None:
        self.headers.append(headers)

    def on_rate_limited(self, retry_after_s: float | None = None) -> None:
        self.rate_limited.append(retry_after_s)

    async def mark_exhausted(self) -> None:
        self.exhausted += 1


def state_of(guard: Guard) -> BreakerState:
    return guard.breaker.state  # via a call, so mypy does not narrow the property


def err(code: ErrorCode, retry_after_s: float | None = None) -> ProviderError:
    return ProviderError(
        code, "boom", provider="tradier", endpoint="quotes", retry_after_s=retry_after_s
    )


def make_guard(
    clock: FakeClock,
    *,
    attempts: int = 4,
    threshold: int = 5,
    limiter: object | None = None,
) -> Guard:
    return Guard(
        "tradier",
        breaker=CircuitBreaker(
            "tradier", failure_threshold=threshold, reset_timeout_s=60.0, monotonic=clock.monotonic
        ),
        retry=RetryPolicy(attempts=attempts, sleep=clock.sleep, rng=random.Random(1)),
        limiter=limiter,  # type: ignore[arg-type]
        stats=ProviderStats(),
        monotonic=clock.monotonic,
        now=clock.now,
    )


def script(
    clock: FakeClock, outcomes: list[ErrorCode | None], latency_s: float = 0.05
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        clock.t += latency_s
        code = outcomes.pop(0) if outcomes else None
        if code is not None:
            raise err(code)
        return "ok"

    return attempt, calls


async def test_guard_is_a_callguard() -> None:
    guard: CallGuard = make_guard(FakeClock())
    assert await guard.run("quotes", lambda: asyncio.sleep(0, result=3)) == 3


async def test_success_records_stats() -> None:
    clock = FakeClock()
    guard = make_guard(clock)
    attempt, _ = script(clock, [], latency_s=0.123)
    assert await guard.run("quotes", attempt) == "ok"
    stats = guard.stats
    assert (stats.calls, stats.failures, stats.attempts, stats.retries) == (1, 0, 1, 0)
    assert stats.latencies_ms() == [pytest.approx(123.0)]
    assert stats.last_success_at == T0 + dt.timedelta(seconds=0.123)
    assert stats.last_error is None


async def test_seconds_since_success_follows_the_last_call() -> None:
    clock = FakeClock()
    guard = make_guard(clock, attempts=1)
    assert guard.seconds_since_success() is None  # no call yet
    attempt, _ = script(clock, [None, ErrorCode.UNAVAILABLE, None], latency_s=0.2)
    await guard.run("quotes", attempt)
    assert guard.seconds_since_success() == pytest.approx(0.0)
    assert guard.stats.last_ok_latency_ms == pytest.approx(200.0)
    clock.t += 12.5
    assert guard.seconds_since_success() == pytest.approx(12.5)
    with pytest.raises(ProviderError):
        await guard.run("quotes", attempt)
    assert guard.seconds_since_success() is None  # the last call failed: nothing to lean on
    assert guard.stats.last_ok_latency_ms == pytest.approx(200.0)
    await guard.run("quotes", attempt)
    assert guard.seconds_since_success() == pytest.approx(0.0)


async def test_transient_failures_are_retried_through_breaker_and_limiter() -> None:
    clock = FakeClock()
    events: list[str] = []
    limiter = RecordingLimiter(events)
    guard = make_guard(clock, limiter=limiter)
    attempt, calls = script(clock, [ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE])
    with correlation_scope("1234abcd"):
        assert await guard.run("chains", attempt) == "ok"
    assert len(calls) == 3
    assert events == ["acquire:chains"] * 3  # the limiter is asked once per attempt
    stats = guard.stats
    assert (stats.calls, stats.failures, stats.attempts, stats.attempt_failures) == (1, 0, 3, 2)
    assert stats.retries == 2
    assert stats.last_error is not None
    assert (stats.last_error.code, stats.last_error.correlation_id) == ("unavailable", "1234abcd")
    assert guard.breaker.consecutive_failures == 0
    assert len(clock.sleeps) == 2  # back-off between attempts


async def test_errors_carry_the_correlation_id() -> None:
    clock = FakeClock()
    guard = make_guard(clock, attempts=1)
    attempt, _ = script(clock, [ErrorCode.AUTH])
    with correlation_scope("deadbeef"), pytest.raises(ProviderError) as info:
        await guard.run("quotes", attempt)
    assert info.value.correlation_id == "deadbeef"
    assert guard.stats.last_error is not None
    assert guard.stats.last_error.correlation_id == "deadbeef"
    assert guard.stats.last_error.at == T0 + dt.timedelta(seconds=0.05)


async def test_a_scope_is_opened_when_the_caller_has_none() -> None:
    clock = FakeClock()
    guard = make_guard(clock, attempts=1)
    attempt, _ = script(clock, [ErrorCode.NOT_FOUND])
    with pytest.raises(ProviderError) as info:
        await guard.run("quotes", attempt)
    cid = info.value.correlation_id
    assert cid is not None
    assert len(cid) == 8
    int(cid, 16)


@pytest.mark.parametrize(
    "code", [ErrorCode.AUTH, ErrorCode.PREMIUM, ErrorCode.QUOTA_EXHAUSTED, ErrorCode.BAD_REQUEST]
)
async def test_permanent_errors_are_not_retried(code: ErrorCode) -> None:
    clock = FakeClock()
    guard = make_guard(clock)
    attempt, calls = script(clock, [code, None])
    with pytest.raises(ProviderError) as info:
        await guard.run("quotes", attempt)
    assert info.value.code is code
    assert len(calls) == 1
    assert clock.sleeps == []
    assert (guard.stats.calls, guard.stats.failures) == (1, 1)


async def test_open_circuit_fails_fast_without_limiter_or_attempt() -> None:
    clock = FakeClock()
    events: list[str] = []
    guard = make_guard(clock, attempts=1, threshold=2, limiter=RecordingLimiter(events))
    for _ in range(2):
        attempt, _ = script(clock, [ErrorCode.TIMEOUT])
        with pytest.raises(ProviderError):
            await guard.run("quotes", attempt)
    assert state_of(guard) is BreakerState.OPEN
    events.clear()
    attempt, calls = script(clock, [])
    with correlation_scope("0badf00d"), pytest.raises(ProviderError) as info:
        await guard.run("quotes", attempt)
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    assert info.value.correlation_id == "0badf00d"
    assert calls == []
    assert events == []  # no rate-limit budget spent on a call that was never made
    assert guard.stats.last_error is not None
    assert guard.stats.last_error.code == "circuit_open"


async def test_breaker_opening_mid_retries_stops_them() -> None:
    clock = FakeClock()
    guard = make_guard(clock, attempts=4, threshold=2)
    attempt, calls = script(clock, [ErrorCode.TIMEOUT] * 4)
    with pytest.raises(ProviderError) as info:
        await guard.run("quotes", attempt)
    assert info.value.code is ErrorCode.CIRCUIT_OPEN  # the third attempt fails fast
    assert len(calls) == 2


async def test_rate_limited_informs_the_limiter_and_retries() -> None:
    clock = FakeClock()
    limiter = RecordingLimiter([])
    guard = make_guard(clock, limiter=limiter)
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise err(ErrorCode.RATE_LIMITED, retry_after_s=3.0)
        return "ok"

    assert await guard.run("quotes", attempt) == "ok"
    assert limiter.rate_limited == [3.0]
    assert clock.sleeps == [3.0]  # retry_after honoured by the retry policy


async def test_quota_exhausted_answer_marks_the_limiter() -> None:
    clock = FakeClock()
    limiter = RecordingLimiter([])
    guard = make_guard(clock, limiter=limiter)
    attempt, calls = script(clock, [ErrorCode.QUOTA_EXHAUSTED])
    with pytest.raises(ProviderError):
        await guard.run("EARNINGS", attempt)
    assert limiter.exhausted == 1
    assert len(calls) == 1


async def test_observe_headers_reaches_the_tradier_limiter() -> None:
    clock = FakeClock()
    limiter = TradierWindowLimiter(monotonic=clock.monotonic, now=clock.now, sleep=clock.sleep)
    guard = make_guard(clock, limiter=limiter)
    expiry = round((clock.now().timestamp() + 30.0) * 1000)

    async def attempt() -> str:
        guard.observe_headers(
            {
                "X-Ratelimit-Allowed": "120",
                "X-Ratelimit-Used": "120",
                "X-Ratelimit-Available": "0",
                "X-Ratelimit-Expiry": str(expiry),
            }
        )
        return "ok"

    await guard.run("quotes", attempt)
    budget = limiter.budget()
    assert (budget.allowed, budget.available) == (120, 0)
    # the next call waits for the window instead of provoking a 429
    await guard.run("quotes", lambda: asyncio.sleep(0, result="ok"))
    assert clock.sleeps == [pytest.approx(61.0)]


async def test_guard_without_limiter_ignores_headers() -> None:
    guard = make_guard(FakeClock())
    guard.observe_headers({"X-Ratelimit-Available": "0"})
    assert await guard.run("q", lambda: asyncio.sleep(0, result=1)) == 1


class MemoryQuotaStore:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    async def used(self, provider: str, day: str) -> int:
        return self.counts.get((provider, day), 0)

    async def add(self, provider: str, day: str, n: int = 1) -> int:
        self.counts[(provider, day)] = self.counts.get((provider, day), 0) + n
        return self.counts[(provider, day)]


async def test_limiter_refusal_frees_the_half_open_probe() -> None:
    clock = FakeClock()
    limiter = AlphaVantageLimiter(
        quota_store=MemoryQuotaStore(),
        daily_quota=0,
        monotonic=clock.monotonic,
        now=clock.now,
        sleep=clock.sleep,
    )
    guard = make_guard(clock, attempts=1, threshold=1, limiter=limiter)
    attempt, _ = script(clock, [ErrorCode.TIMEOUT])
    guard.limiter = None
    with pytest.raises(ProviderError):
        await guard.run("q", attempt)  # opens the circuit
    guard.limiter = limiter
    clock.t += 60.0
    attempt, calls = script(clock, [])
    with correlation_scope("cafe0001"), pytest.raises(ProviderError) as info:
        await guard.run("q", attempt)
    assert info.value.code is ErrorCode.QUOTA_EXHAUSTED
    assert info.value.correlation_id == "cafe0001"
    assert calls == []
    assert state_of(guard) is BreakerState.HALF_OPEN
    guard.limiter = None
    assert await guard.run("q", attempt) == "ok"  # the probe slot was released
    assert state_of(guard) is BreakerState.CLOSED


async def test_cancellation_is_not_a_failure() -> None:
    clock = FakeClock()
    guard = make_guard(clock)

    async def hang() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(guard.run("q", hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guard.stats.failures == 0
    assert guard.stats.last_error is None
    assert guard.breaker.consecutive_failures == 0


async def test_untyped_exception_is_recorded_and_propagates() -> None:
    clock = FakeClock()
    guard = make_guard(clock)

    async def buggy() -> None:
        raise KeyError("strike")

    with pytest.raises(KeyError):
        await guard.run("chains", buggy)
    assert guard.stats.last_error is not None
    assert guard.stats.last_error.code == "internal"
    assert guard.breaker.consecutive_failures == 1


async def test_1000_calls_with_20_percent_transient_failures() -> None:
    clock = FakeClock()
    guard = make_guard(clock)
    rng = random.Random(11)

    async def flaky() -> str:
        clock.t += 0.2
        if rng.random() < 0.2:
            raise err(rng.choice([ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE]))
        return "ok"

    ok = 0
    for _ in range(1000):
        try:
            await guard.run("quotes", flaky)
            ok += 1
        except IvCrushError:
            pass
    assert ok >= 950
    assert guard.stats.calls == 1000
    assert guard.stats.failures == 1000 - ok
    assert guard.stats.attempts > 1000


def test_percentiles_match_numpy_linear() -> None:
    values = [float(v) for v in random.Random(5).sample(range(1, 1000), 137)]
    for p in (50, 95, 99):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0


def test_stats_are_bounded_and_per_operation() -> None:
    stats = ProviderStats(max_samples=10)
    for i in range(25):
        stats.record_attempt("quotes" if i % 2 else "chains", float(i), ok=True)
    assert stats.latencies_ms() == [float(i) for i in range(15, 25)]
    assert stats.p50_ms == pytest.approx(19.5)
    assert stats.p95_ms == pytest.approx(float(np.percentile(range(15, 25), 95)))
    assert stats.p99_ms is not None
    ops = stats.operations()
    assert ops["quotes"].count == 12
    assert ops["chains"].count == 13
    assert ops["chains"].mean_ms == pytest.approx(float(np.mean(range(6, 25, 2))))
    assert ops["chains"].p95_ms is not None
    stats.record_attempt("quotes", float("nan"), ok=False)  # never stored as a sample
    assert all(v == v for v in stats.latencies_ms())
    assert stats.attempt_failures == 1
