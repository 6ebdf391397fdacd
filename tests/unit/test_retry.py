"""RetryPolicy: only transient failures are retried, with capped exponential back-off + jitter."""

from __future__ import annotations

import random

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.retry import RetryPolicy, is_retryable, single_attempt


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def err(code: ErrorCode, retry_after_s: float | None = None) -> ProviderError:
    return ProviderError(
        code, "boom", provider="tradier", endpoint="quotes", retry_after_s=retry_after_s
    )


class Flaky:
    """Fails with the given errors in order, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_twenty_percent_transient_failures_mostly_recovered() -> None:
    rng = random.Random(20260511)
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=4, sleep=sleep, rng=random.Random(7))

    async def flaky() -> str:
        if rng.random() < 0.2:
            raise err(
                rng.choice([ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE, ErrorCode.RATE_LIMITED])
            )
        return "ok"

    successes = 0
    failures: list[ProviderError] = []
    for _ in range(1000):
        try:
            await policy.call(flaky)
            successes += 1
        except ProviderError as exc:
            failures.append(exc)
    assert all(f.transient for f in failures)  # only exhausted retries fail
    # Independent 20 % failures with 4 attempts: expected success 1 - 0.2**4 = 99.84 %.
    assert successes >= 950
    assert sleep.calls  # it did retry


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.AUTH,
        ErrorCode.BAD_REQUEST,
        ErrorCode.PREMIUM,
        ErrorCode.QUOTA_EXHAUSTED,
        ErrorCode.NOT_FOUND,
        ErrorCode.CIRCUIT_OPEN,
        ErrorCode.BAD_PAYLOAD,
    ],
)
async def test_permanent_failures_are_not_retried(code: ErrorCode) -> None:
    sleep = FakeSleep()
    original = err(code, retry_after_s=1.0)
    fn = Flaky(original)
    with pytest.raises(ProviderError) as info:
        await RetryPolicy(sleep=sleep).call(fn)
    assert info.value is original
    assert fn.calls == 1
    assert sleep.calls == []


async def test_untyped_exceptions_are_not_retried() -> None:
    fn = Flaky(ValueError("bug"))
    with pytest.raises(ValueError, match="bug"):
        await RetryPolicy(sleep=FakeSleep()).call(fn)
    assert fn.calls == 1


async def test_exponential_backoff_without_jitter_and_last_error_reraised() -> None:
    sleep = FakeSleep()
    errors = [err(ErrorCode.TIMEOUT) for _ in range(4)]
    fn = Flaky(*errors)
    with pytest.raises(ProviderError) as info:
        await RetryPolicy(attempts=4, base_s=0.5, max_s=8.0, jitter=False, sleep=sleep).call(fn)
    assert info.value is errors[-1]  # the original error, not a tenacity RetryError
    assert fn.calls == 4
    assert sleep.calls == [0.5, 1.0, 2.0]


async def test_backoff_is_capped() -> None:
    sleep = FakeSleep()
    fn = Flaky(*(err(ErrorCode.UNAVAILABLE) for _ in range(4)))
    assert await RetryPolicy(attempts=5, base_s=1.0, max_s=3.0, jitter=False, sleep=sleep).call(
        fn
    ) == ("ok")
    assert sleep.calls == [1.0, 2.0, 3.0, 3.0]


async def test_jitter_stays_within_half_to_full_backoff() -> None:
    policy = RetryPolicy(base_s=0.5, max_s=8.0, jitter=True, rng=random.Random(3))
    for n in range(1, 8):
        full = min(8.0, 0.5 * 2 ** (n - 1))
        waits = [policy.backoff_s(n) for _ in range(200)]
        assert all(full / 2 <= w <= full for w in waits)
        assert max(waits) - min(waits) > full / 10  # it does vary


async def test_retry_after_is_honoured_and_capped() -> None:
    sleep = FakeSleep()
    fn = Flaky(err(ErrorCode.RATE_LIMITED, retry_after_s=7.0), err(ErrorCode.RATE_LIMITED, 900.0))
    policy = RetryPolicy(attempts=3, base_s=0.5, jitter=True, sleep=sleep, retry_after_cap_s=30.0)
    assert await policy.call(fn) == "ok"
    assert sleep.calls == [7.0, 30.0]


async def test_success_on_first_attempt_does_not_sleep() -> None:
    sleep = FakeSleep()
    fn = Flaky()
    assert await RetryPolicy(sleep=sleep).call(fn) == "ok"
    assert (fn.calls, sleep.calls) == (1, [])


def test_is_retryable_and_validation() -> None:
    assert is_retryable(err(ErrorCode.TIMEOUT))
    assert not is_retryable(err(ErrorCode.AUTH))
    assert not is_retryable(TimeoutError())
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="back-off"):
        RetryPolicy(base_s=-1.0)


async def test_single_attempt_makes_one_try_inside_the_block_only() -> None:
    sleep = FakeSleep()
    policy = RetryPolicy(attempts=4, jitter=False, sleep=sleep)
    first = err(ErrorCode.TIMEOUT)
    fn = Flaky(first, err(ErrorCode.TIMEOUT))
    with single_attempt(), pytest.raises(ProviderError) as info:
        await policy.call(fn)
    assert info.value is first
    assert fn.calls == 1
    assert sleep.calls == []
    # Outside the block the policy retries again (the flag does not leak).
    assert await policy.call(fn) == "ok"
    assert fn.calls == 3
