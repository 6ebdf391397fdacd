"""Circuit breaker: closed -> open -> half_open -> closed/open, on a fake monotonic clock."""

from __future__ import annotations

import asyncio

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.breaker import BreakerState, CircuitBreaker, counts_against_health
from ivcrush_tui.resilience.correlation import correlation_scope


class FakeMono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def state_of(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # via a call, so mypy does not narrow the property between checks


def err(code: ErrorCode) -> ProviderError:
    return ProviderError(code, "boom", provider="tradier", endpoint="quotes")


async def fail(code: ErrorCode = ErrorCode.TIMEOUT) -> None:
    raise err(code)


async def ok() -> str:
    return "ok"


async def trip(breaker: CircuitBreaker, n: int, code: ErrorCode = ErrorCode.TIMEOUT) -> None:
    for _ in range(n):
        with pytest.raises(ProviderError):
            await breaker.call("quotes", lambda: fail(code))


@pytest.fixture
def clock() -> FakeMono:
    return FakeMono()


@pytest.fixture
def breaker(clock: FakeMono) -> CircuitBreaker:
    return CircuitBreaker("tradier", failure_threshold=5, reset_timeout_s=60.0, monotonic=clock)


async def test_opens_after_five_consecutive_failures(breaker: CircuitBreaker) -> None:
    await trip(breaker, 4)
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 4
    await trip(breaker, 1)
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.seconds_to_half_open() == pytest.approx(60.0)


async def test_success_resets_the_streak(breaker: CircuitBreaker) -> None:
    await trip(breaker, 4)
    assert await breaker.call("quotes", ok) == "ok"
    assert breaker.consecutive_failures == 0
    await trip(breaker, 4)
    assert state_of(breaker) is BreakerState.CLOSED


async def test_open_circuit_fails_fast_without_calling(
    breaker: CircuitBreaker, clock: FakeMono
) -> None:
    await trip(breaker, 5)
    clock.t += 18.2
    called = False

    async def never() -> None:
        nonlocal called
        called = True
        await asyncio.sleep(3600)  # would hang the test if the breaker let it through

    with correlation_scope("c0ffee00"), pytest.raises(ProviderError) as info:
        await asyncio.wait_for(breaker.call("chains", never), timeout=1.0)
    exc = info.value
    assert not called
    assert exc.code is ErrorCode.CIRCUIT_OPEN
    assert exc.provider == "tradier"
    assert exc.endpoint == "chains"
    assert "retry in 42s" in exc.message
    assert exc.correlation_id == "c0ffee00"
    assert exc.retry_after_s == 42.0
    assert breaker.seconds_to_half_open() == pytest.approx(41.8)


async def test_half_open_allows_exactly_one_probe(breaker: CircuitBreaker, clock: FakeMono) -> None:
    await trip(breaker, 5)
    clock.t += 60.0
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert breaker.seconds_to_half_open() == 0.0
    release = asyncio.Event()
    probe_calls = 0

    async def probe() -> str:
        nonlocal probe_calls
        probe_calls += 1
        await release.wait()
        return "up"

    task = asyncio.create_task(breaker.call("quotes", probe))
    await asyncio.sleep(0)
    # concurrent callers fail fast while the probe is in flight
    for _ in range(3):
        with pytest.raises(ProviderError) as info:
            await breaker.call("quotes", ok)
        assert info.value.code is ErrorCode.CIRCUIT_OPEN
    release.set()
    assert await task == "up"
    assert probe_calls == 1
    assert state_of(breaker) is BreakerState.CLOSED
    assert await breaker.call("quotes", ok) == "ok"


async def test_failed_probe_reopens_and_restarts_timer(
    breaker: CircuitBreaker, clock: FakeMono
) -> None:
    await trip(breaker, 5)
    clock.t += 75.0
    await trip(breaker, 1)  # the probe
    assert state_of(breaker) is BreakerState.OPEN
    assert breaker.seconds_to_half_open() == pytest.approx(60.0)
    clock.t += 59.0
    with pytest.raises(ProviderError) as info:
        await breaker.call("quotes", ok)
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    clock.t += 1.0
    assert await breaker.call("quotes", ok) == "ok"
    assert state_of(breaker) is BreakerState.CLOSED
    states = [(t.from_state, t.to_state) for t in breaker.transitions]
    assert states == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]
    assert breaker.transitions[0].at == 1000.0
    assert breaker.transitions[-1].at == pytest.approx(1000.0 + 75 + 60)


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.AUTH,
        ErrorCode.NOT_FOUND,
        ErrorCode.BAD_REQUEST,
        ErrorCode.QUOTA_EXHAUSTED,
        ErrorCode.PREMIUM,
        ErrorCode.RATE_LIMITED,
        ErrorCode.INVALID_SYMBOL,
    ],
)
async def test_non_health_errors_do_not_trip(breaker: CircuitBreaker, code: ErrorCode) -> None:
    await trip(breaker, 20, code)
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0


@pytest.mark.parametrize("code", [ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.BAD_PAYLOAD])
async def test_health_errors_trip(breaker: CircuitBreaker, code: ErrorCode) -> None:
    await trip(breaker, 5, code)
    assert state_of(breaker) is BreakerState.OPEN


async def test_untyped_exception_counts_and_cancellation_does_not() -> None:
    assert counts_against_health(ValueError("parse bug"))
    assert not counts_against_health(asyncio.CancelledError())
    assert not counts_against_health(err(ErrorCode.AUTH))


async def test_non_health_answer_closes_a_half_open_circuit(
    breaker: CircuitBreaker, clock: FakeMono
) -> None:
    await trip(breaker, 5)
    clock.t += 60.0
    await trip(breaker, 1, ErrorCode.NOT_FOUND)  # the provider answered
    assert state_of(breaker) is BreakerState.CLOSED


async def test_cancelled_probe_frees_the_slot(breaker: CircuitBreaker, clock: FakeMono) -> None:
    await trip(breaker, 5)
    clock.t += 60.0

    async def hang() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(breaker.call("quotes", hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert await breaker.call("quotes", ok) == "ok"  # a new probe is allowed
    assert state_of(breaker) is BreakerState.CLOSED


async def test_released_permit_frees_the_probe(breaker: CircuitBreaker, clock: FakeMono) -> None:
    await trip(breaker, 5)
    clock.t += 60.0
    permit = breaker.acquire("quotes")
    assert permit.probe
    with pytest.raises(ProviderError):
        breaker.acquire("quotes")
    breaker.release(permit)
    assert breaker.acquire("quotes").probe


async def test_late_outcomes_from_before_opening_are_ignored(
    breaker: CircuitBreaker, clock: FakeMono
) -> None:
    early = breaker.acquire("quotes")  # started while closed
    await trip(breaker, 5)
    breaker.record_success(early)  # arrives after the circuit opened
    assert state_of(breaker) is BreakerState.OPEN
    clock.t += 60.0
    probe = breaker.acquire("quotes")
    breaker.record_failure(err(ErrorCode.TIMEOUT), early)  # stale: must not re-open
    assert state_of(breaker) is BreakerState.HALF_OPEN
    breaker.record_success(probe)
    assert state_of(breaker) is BreakerState.CLOSED


async def test_transition_history_is_bounded(clock: FakeMono) -> None:
    breaker = CircuitBreaker(
        "av", failure_threshold=1, reset_timeout_s=10.0, monotonic=clock, history=3
    )
    for _ in range(5):
        await trip(breaker, 1)
        clock.t += 10.0
        await breaker.call("q", ok)
    assert len(breaker.transitions) == 3
    assert breaker.transitions[-1].to_state is BreakerState.CLOSED
    at, frm, to = breaker.transitions[-1]  # plain (time, from, to) tuples
    assert (frm, to) == (BreakerState.HALF_OPEN, BreakerState.CLOSED)
    assert at == clock.t


def test_invalid_parameters_rejected() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker("x", failure_threshold=0)
    with pytest.raises(ValueError, match="reset_timeout_s"):
        CircuitBreaker("x", reset_timeout_s=0.0)


async def test_every_transition_is_a_warning_that_names_the_outage_id(
    breaker: CircuitBreaker, clock: FakeMono, caplog: pytest.LogCaptureFixture
) -> None:
    """The runbook's grep <id>: the id of the call that opened the circuit is on the opening line
    (the logging filter adds it) and is named by the probe and recovery lines that follow."""
    caplog.set_level("INFO", logger="ivcrush_tui.resilience.breaker")
    with correlation_scope("0badc0de"):
        await trip(breaker, 5)
    clock.t += 61.0
    assert state_of(breaker) is BreakerState.HALF_OPEN
    with correlation_scope("5eed1e55"):
        assert await breaker.call("quotes", ok) == "ok"
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING"] * 3
    assert lines[0][1].startswith("tradier circuit closed -> open after 5 consecutive failures")
    assert "(last: timeout: boom)" in lines[0][1]
    assert lines[1][1] == "tradier circuit open -> half_open (opened by [0badc0de])"
    assert lines[2][1] == "tradier circuit half_open -> closed (opened by [0badc0de])"
