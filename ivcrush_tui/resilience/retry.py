"""Retry of transient provider failures: exponential back-off with jitter (tenacity).

Only `ProviderError.transient` failures are retried (timeout, unavailable, rate_limited, which
includes Alpha Vantage's burst message). Auth, bad_request, premium, quota_exhausted, not_found,
bad_payload and circuit_open fail at once: repeating the same request cannot help.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from ivcrush_tui.domain import ProviderError

T = TypeVar("T")
log = logging.getLogger(__name__)


# Set by `single_attempt()`: a caller whose answer must come quickly (a health probe) asks once.
_SINGLE_ATTEMPT: ContextVar[bool] = ContextVar("ivcrush_single_attempt", default=False)


@contextlib.contextmanager
def single_attempt() -> Iterator[None]:
    """Within this block (and the tasks it starts), every RetryPolicy makes one attempt only:
    `health` must answer in seconds, and a provider that fails once is the answer."""
    token = _SINGLE_ATTEMPT.set(True)
    try:
        yield
    finally:
        _SINGLE_ATTEMPT.reset(token)


def is_retryable(exc: BaseException) -> bool:
    """True for transient provider failures (worth the same request again, later)."""
    return isinstance(exc, ProviderError) and exc.transient


class RetryPolicy:
    """Retry a call up to `attempts` times in total (the first included).

    Back-off before retry n (n = 1, 2, ...): w = min(max_s, base_s * 2**(n-1)) seconds, with
    "equal jitter" (w/2 + uniform(0, w/2)) when `jitter`; a `retry_after_s` on the error replaces
    it, capped at `retry_after_cap_s`.
    """

    def __init__(
        self,
        attempts: int = 4,
        base_s: float = 0.5,
        max_s: float = 8.0,
        jitter: bool = True,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        retry_after_cap_s: float = 60.0,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {attempts}")
        if not (base_s >= 0 and max_s >= 0 and math.isfinite(base_s) and math.isfinite(max_s)):
            raise ValueError(f"back-off must be finite and >= 0, got base {base_s}, max {max_s}")
        self.attempts = attempts
        self.base_s = base_s
        self.max_s = max_s
        self.jitter = jitter
        self.retry_after_cap_s = retry_after_cap_s
        self._sleep = sleep
        self._rng = rng or random.Random()

    def backoff_s(self, retry_number: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before retry `retry_number` (1-based) after failure `exc`."""
        after = getattr(exc, "retry_after_s", None)
        if isinstance(after, int | float) and math.isfinite(after) and after >= 0:
            return float(min(after, self.retry_after_cap_s))
        wait = min(self.max_s, self.base_s * 2.0 ** (retry_number - 1))
        if self.jitter:
            wait = wait / 2 + self._rng.uniform(0, wait / 2)
        return wait

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await `fn()`, retrying transient failures; the last failure is re-raised as is."""
        if _SINGLE_ATTEMPT.get():
            return await fn()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return await retrying(fn)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return self.backoff_s(state.attempt_number, exc)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.info("retry %d after %s (waiting %.2fs)", state.attempt_number, exc, wait)
