"""The Guard: every provider request goes breaker -> rate limiter -> attempt, retried by policy.

It implements `resilience.protocols.CallGuard` and keeps `ProviderStats` (counts, latencies,
last error) for the health view. Every error it raises carries the current correlation id. Each
attempt's latency is checked against its endpoint's baseline (`LatencyBaselines`): a slow request
is logged as a warning, at most once per endpoint per minute.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.resilience.baselines import LatencyBaselines, default_baselines
from ivcrush_tui.resilience.breaker import CircuitBreaker, Permit
from ivcrush_tui.resilience.correlation import correlation_scope, current_correlation_id
from ivcrush_tui.resilience.errors import UnspentError
from ivcrush_tui.resilience.logs import FILE_FIRST
from ivcrush_tui.resilience.ratelimit import RateLimiter, Refundable, utc_now
from ivcrush_tui.resilience.retry import RetryPolicy

T = TypeVar("T")
log = logging.getLogger(__name__)

# Seconds a call waits for the outcome of an in-flight half-open probe before failing with
# circuit_open: about one request timeout (a probe never takes longer than its own timeout).
PROBE_WAIT_S = 15.0


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0..100) by linear interpolation between order statistics (the
    numpy default); None for no values."""
    data = sorted(values)
    if not data:
        return None
    rank = (len(data) - 1) * min(max(p, 0.0), 100.0) / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (rank - lo)


# Told of every attempt as it ends: (endpoint, latency in milliseconds, ok). `ivcrush serve`
# feeds its Prometheus request counters and latency histograms from it.
AttemptListener = Callable[[str, float, bool], None]


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """The last error seen: stable code, human message, correlation id, when (aware UTC)."""

    code: str
    message: str
    correlation_id: str | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class OperationSummary:
    """Latency of one endpoint's attempts in this run (milliseconds; None without samples)."""

    count: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class ProviderStats:
    """What the guard observed for one provider: read by health and the UI.

    `calls`/`failures` count logical calls (run()); `attempts`/`attempt_failures` count requests
    actually sent. Latencies (ms) are kept for the last `max_samples` attempts, overall and per
    endpoint."""

    def __init__(self, max_samples: int = 500) -> None:
        self.max_samples = max_samples
        self.calls = 0
        self.failures = 0
        self.attempts = 0
        self.attempt_failures = 0
        self.retries = 0
        self.last_error: ErrorRecord | None = None
        self.last_success_at: dt.datetime | None = None
        self.last_call_ok: bool | None = None  # None before the first call
        self.last_success_mono: float | None = None  # the guard's monotonic clock, seconds
        self.last_ok_latency_ms: float | None = None  # of the last successful attempt
        self._latencies: deque[float] = deque(maxlen=max_samples)
        self._by_endpoint: dict[str, deque[float]] = {}
        self._count_by_endpoint: dict[str, int] = {}
        self.attempt_listeners: list[AttemptListener] = []

    def latencies_ms(self) -> list[float]:
        """Recent attempt latencies, oldest first (milliseconds)."""
        return list(self._latencies)

    @property
    def p50_ms(self) -> float | None:
        return percentile(self._latencies, 50)

    @property
    def p95_ms(self) -> float | None:
        return percentile(self._latencies, 95)

    @property
    def p99_ms(self) -> float | None:
        return percentile(self._latencies, 99)

    def endpoint_latencies_ms(self, endpoint: str) -> list[float]:
        """Recent attempt latencies of one endpoint, oldest first (milliseconds)."""
        return list(self._by_endpoint.get(endpoint, ()))

    def operations(self) -> dict[str, OperationSummary]:
        """Per-endpoint latency summary of the attempts in this run."""
        out = {}
        for name, samples in self._by_endpoint.items():
            out[name] = OperationSummary(
                count=self._count_by_endpoint.get(name, 0),
                mean_ms=sum(samples) / len(samples) if samples else None,
                p50_ms=percentile(samples, 50),
                p95_ms=percentile(samples, 95),
                p99_ms=percentile(samples, 99),
            )
        return out

    def record_attempt(self, endpoint: str, latency_ms: float, *, ok: bool) -> None:
        """One request was sent and finished after `latency_ms` milliseconds."""
        self.attempts += 1
        if not ok:
            self.attempt_failures += 1
        elif math.isfinite(latency_ms) and latency_ms >= 0:
            self.last_ok_latency_ms = latency_ms
        if math.isfinite(latency_ms) and latency_ms >= 0:
            self._latencies.append(latency_ms)
            samples = self._by_endpoint.setdefault(endpoint, deque(maxlen=self.max_samples))
            samples.append(latency_ms)
        self._count_by_endpoint[endpoint] = self._count_by_endpoint.get(endpoint, 0) + 1
        for listener in self.attempt_listeners:
            listener(endpoint, latency_ms, ok)

    def record_error(self, exc: BaseException, at: dt.datetime) -> None:
        """Remember `exc` as the last error."""
        if isinstance(exc, IvCrushError):
            self.last_error = ErrorRecord(str(exc.code), exc.message, exc.correlation_id, at)
        else:
            self.last_error = ErrorRecord(
                str(ErrorCode.INTERNAL), type(exc).__name__, current_correlation_id(), at
            )

    def record_call(self, *, ok: bool, at: dt.datetime, mono: float | None = None) -> None:
        """One logical call ended (successfully or not) at `at`, `mono` on a monotonic clock."""
        self.calls += 1
        self.last_call_ok = ok
        if ok:
            self.last_success_at = at
            self.last_success_mono = mono
        else:
            self.failures += 1


class Guard:
    """Breaker -> limiter -> attempt, under a retry policy; implements CallGuard."""

    def __init__(
        self,
        provider: str,
        *,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        limiter: RateLimiter | None = None,
        stats: ProviderStats | None = None,
        baselines: LatencyBaselines | None = None,
        probe_wait_s: float = PROBE_WAIT_S,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        """`baselines`: per-endpoint latency baselines (default: `default_baselines(provider)`).
        `probe_wait_s`: seconds a call waits for an in-flight half-open probe (0: fail fast)."""
        self.provider = provider
        self.breaker = breaker
        self.retry = retry
        self.limiter = limiter
        self.stats = stats if stats is not None else ProviderStats()
        self.baselines = (
            baselines if baselines is not None else default_baselines(provider, monotonic=monotonic)
        )
        self.probe_wait_s = max(0.0, probe_wait_s)
        self._monotonic = monotonic
        self._now = now

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Feed a response's headers to the rate limiter (Tradier X-Ratelimit-*)."""
        if self.limiter is not None:
            self.limiter.observe(headers)

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` (one request + parse) with breaker, limiter and retries.

        Raises the final ProviderError (or CIRCUIT_OPEN / QUOTA_EXHAUSTED without sending), always
        stamped with the correlation id (a new scope is opened when the caller has none)."""
        if current_correlation_id() is None:
            with correlation_scope():
                return await self._run(endpoint, attempt)
        return await self._run(endpoint, attempt)

    async def _run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        tries = 0

        async def once() -> T:
            nonlocal tries
            tries += 1
            if tries > 1:
                self.stats.retries += 1
            return await self._once(endpoint, attempt)

        try:
            result = await self.retry.call(once)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            _stamp(exc)
            self.stats.record_error(exc, self._now())
            self.stats.record_call(ok=False, at=self._now())
            self._log_failure(endpoint, exc, tries)
            raise
        self.stats.record_call(ok=True, at=self._now(), mono=self._monotonic())
        return result

    def _log_failure(self, endpoint: str, exc: BaseException, tries: int) -> None:
        """A refusal by the open circuit, or a transient failure that used up its retries:
        WARNING, so the correlation id the user was shown is in the log file (the filter adds
        it to the line). Typed answers (not_found, auth, ...) are the ticker's error, logged by
        the engine."""
        if not isinstance(exc, ProviderError):
            return
        if exc.code is ErrorCode.CIRCUIT_OPEN:
            log.warning(
                "%s %s refused: circuit_open: %s", self.provider, endpoint, exc.message,
                extra=FILE_FIRST,
            )  # fmt: skip
        elif exc.transient:
            log.warning(
                "%s %s: retries exhausted after %d attempt(s): %s: %s",
                self.provider, endpoint, tries, exc.code, exc.message,
                extra=FILE_FIRST,
            )  # fmt: skip

    def seconds_since_success(self) -> float | None:
        """Seconds since the last logical call succeeded, None when the last call failed or
        none has succeeded yet (the guard's monotonic clock: immune to `--as-of`)."""
        stats = self.stats
        if not stats.last_call_ok or stats.last_success_mono is None:
            return None
        return max(0.0, self._monotonic() - stats.last_success_mono)

    async def _permit(self, endpoint: str) -> Permit:
        """The breaker's permit. While a half-open probe is in flight, wait (up to
        `probe_wait_s`) for its outcome instead of failing: right after an outage every ticker
        of a scan asks at once, and all but one would fail although the provider is back."""
        loop = asyncio.get_running_loop()  # the clock the wait itself runs on
        deadline = loop.time() + self.probe_wait_s
        while True:
            try:
                return self.breaker.acquire(endpoint)
            except ProviderError as exc:
                left = deadline - loop.time()
                if exc.code is not ErrorCode.CIRCUIT_OPEN or not self.breaker.probe_in_flight:
                    raise
                if left <= 0:
                    raise
                await self.breaker.wait_for_probe(left)

    async def _once(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        permit = await self._permit(endpoint)
        if self.limiter is not None:
            try:
                await self.limiter.acquire(endpoint)
            except BaseException:
                self.breaker.release(permit)  # nothing was sent: no outcome to record
                raise
        t0 = self._monotonic()
        try:
            result = await attempt()
        except asyncio.CancelledError:
            self.breaker.release(permit)
            raise
        except BaseException as exc:
            _stamp(exc)
            latency_ms = (self._monotonic() - t0) * 1000.0
            self.stats.record_attempt(endpoint, latency_ms, ok=False)
            self.baselines.check(endpoint, latency_ms)
            self.stats.record_error(exc, self._now())
            self.breaker.record_failure(exc, permit)
            await self._inform_limiter(exc)
            raise
        latency_ms = (self._monotonic() - t0) * 1000.0
        self.stats.record_attempt(endpoint, latency_ms, ok=True)
        self.baselines.check(endpoint, latency_ms)
        self.breaker.record_success(permit)
        return result

    async def _inform_limiter(self, exc: BaseException) -> None:
        if self.limiter is None or not isinstance(exc, ProviderError):
            return
        if isinstance(exc, UnspentError) and isinstance(self.limiter, Refundable):
            await self.limiter.refund()  # never sent, or never answered: it spent no quota
        elif exc.code is ErrorCode.RATE_LIMITED:
            self.limiter.on_rate_limited(exc.retry_after_s)
        elif exc.code is ErrorCode.QUOTA_EXHAUSTED:
            try:
                await self.limiter.mark_exhausted()
            except IvCrushError as store_exc:  # keep the provider's error as the one raised
                log.warning(
                    "%s: could not persist the exhausted quota: %s", self.provider, store_exc
                )


def _stamp(exc: BaseException) -> None:
    if isinstance(exc, IvCrushError) and exc.correlation_id is None:
        exc.correlation_id = current_correlation_id()
