"""Client-side rate limiters: stay inside each provider's limits instead of discovering them.

Tradier: a FIXED one-minute window per token that starts with the first request (not sliding);
every response reports the window in X-Ratelimit-Allowed / Used / Available / Expiry. We burst
while budget remains, then wait for the window to expire (provider-apis.md §1.8).

Alpha Vantage: about 1 request per second plus a small daily quota (25 on the free tier),
reported only as HTTP 200 bodies (provider-apis.md §2.2). We space requests and count every one in
a persistent per-day store so the quota survives restarts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.correlation import current_correlation_id
from ivcrush_tui.resilience.protocols import QuotaStore

ET = ZoneInfo("America/New_York")
WINDOW_S = 60.0  # Tradier's fixed window length, seconds
# A header's window end further than this from ours describes a different window (seconds).
_SAME_WINDOW_TOL_S = 3.0
# How long before a server window's start a request may have been reserved (queueing + latency).
_LATENCY_TOL_S = 10.0
# Reservations this close to a window's end (plus the margin) are counted in the next window too.
_CARRY_S = 2.0
# Expiry headers further ahead than this are skew or garbage (seconds beyond one window).
_MAX_SKEW_S = 5.0

# Store key suffix of the units refunded by requests that never left ("alphavantage:refunded").
REFUND_SUFFIX = ":refunded"
# Alpha Vantage spacing margin, as a fraction of the nominal interval (1/s -> 1.1 s).
MARGIN_FRACTION = 0.1

Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> dt.datetime:
    """The wall clock as an aware UTC datetime (the default `now` at the edges only)."""
    return dt.datetime.now(dt.UTC)


@runtime_checkable
class Refundable(Protocol):
    """A limiter that can give back the unit of a request that was never sent."""

    async def refund(self) -> None: ...


class RateLimiter(Protocol):
    """What the Guard needs from a limiter."""

    async def acquire(self, endpoint: str = "-") -> None:
        """Wait until one request may be sent (raise a typed ProviderError if it never may)."""
        ...

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers."""
        ...

    def on_rate_limited(self, retry_after_s: float | None = None) -> None:
        """The provider said we went too fast."""
        ...

    async def mark_exhausted(self) -> None:
        """The provider said a quota is used up."""
        ...


@dataclass(frozen=True, slots=True)
class RateBudget:
    """A snapshot of the Tradier window: requests allowed / used / available in it, and seconds
    until it resets (None when no window is open: the next request opens one)."""

    allowed: int
    used: int
    available: int
    resets_in_s: float | None


def _header_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0 or number != int(number):
        return None
    return int(number)


def expiry_epoch_s(value: str | None) -> float | None:
    """X-Ratelimit-Expiry as epoch seconds: values above 1e12 are milliseconds (the documented
    form), smaller ones seconds (seen in some third-party notes)."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return number / 1000.0 if number > 1e12 else number


class TradierWindowLimiter:
    """Tradier's fixed one-minute window, tracked locally and corrected by response headers.

    Every `acquire` reserves a slot under a lock, so N concurrent callers never overshoot the
    budget between observations. The local window estimate starts at the first reservation and
    lasts WINDOW_S + `margin_s` (the server's window starts when that request arrives, slightly
    later); header observations only ever make the estimate more conservative, except when they
    reveal a later window than ours.
    """

    def __init__(
        self,
        allowed_per_min: int = 120,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = utc_now,
        sleep: Sleep = asyncio.sleep,
        margin_s: float = 1.0,
    ) -> None:
        """`allowed_per_min`: requests per window until the headers say otherwise (> 0).
        `margin_s`: seconds added after the window's end before counting a new window."""
        if allowed_per_min < 1:
            raise ValueError(f"allowed_per_min must be >= 1, got {allowed_per_min}")
        self._allowed = allowed_per_min
        self._monotonic = monotonic
        self._now = now
        self._sleep = sleep
        self._margin = margin_s
        self._window_end: float | None = None  # monotonic seconds, margin included
        self._sent: deque[float] = deque()  # monotonic times of reservations in this window
        # How many more requests the server has counted in this window than we had reserved when
        # it told us (other clients on the token, or a window that began before ours): the max
        # over observations of (reported Used - our reservations at that moment).
        self._excess = 0
        self._blocked_until = -math.inf
        self._lock = asyncio.Lock()

    # -- observation ------------------------------------------------------------------------------

    @property
    def allowed_per_min(self) -> int:
        """Requests allowed per window: the configured value until a response's headers say."""
        return self._allowed

    def budget(self) -> RateBudget:
        """Snapshot of the current window (counts requests; seconds until reset)."""
        t = self._monotonic()
        self._roll(t)
        used = min(self._used(), self._allowed)
        ends = [e for e in (self._window_end, self._blocked_until) if e is not None and e > t]
        return RateBudget(
            allowed=self._allowed,
            used=used,
            available=self._allowed - used if t >= self._blocked_until else 0,
            resets_in_s=max(ends) - t if ends else None,
        )

    # -- the limiter protocol ---------------------------------------------------------------------

    async def acquire(self, endpoint: str = "-") -> None:
        """Wait until a request fits in the current window, and reserve its slot."""
        async with self._lock:
            while True:
                t = self._monotonic()
                if t < self._blocked_until:
                    await self._sleep(self._blocked_until - t)
                    continue
                self._roll(t)
                if self._window_end is None:
                    self._window_end = t + WINDOW_S + self._margin
                if self._used() < self._allowed:
                    self._sent.append(t)
                    return
                await self._sleep(max(self._window_end - t, 0.001))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Fold in a response's X-Ratelimit-* headers (case-insensitive; bad values ignored)."""
        lower = {k.lower(): v for k, v in headers.items()}
        allowed = _header_int(lower.get("x-ratelimit-allowed"))
        used = _header_int(lower.get("x-ratelimit-used"))
        available = _header_int(lower.get("x-ratelimit-available"))
        expiry = expiry_epoch_s(lower.get("x-ratelimit-expiry"))
        if allowed is not None and allowed > 0:
            self._allowed = allowed
        server_used = self._server_count(used, available)
        t = self._monotonic()
        self._roll(t)
        end: float | None = None
        if expiry is not None:
            resets_in = expiry - self._now().timestamp()
            if -WINDOW_S <= resets_in <= 0:
                return  # a late answer from a window that is already over: its counts are stale
            # Beyond one window either way: clock skew, a frozen --as-of clock or garbage; the
            # counts still hold, the expiry does not.
            if 0 < resets_in <= WINDOW_S + _MAX_SKEW_S:
                end = t + resets_in + self._margin
        if end is None:
            if server_used is None:
                return
            if self._window_end is None:
                self._window_end = t + WINDOW_S + self._margin
            self._excess = max(self._excess, server_used - len(self._sent))
            return
        if self._window_end is None:
            self._window_end = end
            self._excess = (server_used or 0) - len(self._sent)
        elif end > self._window_end + _SAME_WINDOW_TOL_S:
            # The server's window started later than our estimate: re-anchor on it and keep only
            # the reservations that may have landed in it.
            self._window_end = end
            start = end - self._margin - WINDOW_S - _LATENCY_TOL_S
            while self._sent and self._sent[0] < start:
                self._sent.popleft()
            self._excess = (server_used or 0) - len(self._sent)
        else:
            # Same window (or one that started before ours, e.g. another client on the token):
            # only ever extend the end and raise the count.
            self._window_end = max(self._window_end, end)
            self._excess = max(self._excess, (server_used or 0) - len(self._sent))

    def on_rate_limited(self, retry_after_s: float | None = None) -> None:
        """A 429: treat the window as full and block `acquire` until it resets (`retry_after_s`
        when given, else the known window end, else one full window)."""
        t = self._monotonic()
        if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
            # The server named the wait: it replaces our estimate of the window's end (which
            # made a Retry-After of 2 s wait out a whole minute). Should its window really run
            # longer, the next answer is another 429 with another Retry-After.
            until = t + min(retry_after_s, WINDOW_S + _MAX_SKEW_S) + self._margin
            self._window_end = until
        elif self._window_end is not None and self._window_end > t:
            until = self._window_end
        else:
            until = t + WINDOW_S + self._margin
            self._window_end = until
        self._blocked_until = max(self._blocked_until, until)
        self._excess = max(self._excess, self._allowed - len(self._sent))

    async def mark_exhausted(self) -> None:
        """Tradier has no daily quota; a 'quota' answer is a full window."""
        self.on_rate_limited(None)

    # -- internals --------------------------------------------------------------------------------

    def _used(self) -> int:
        # Our own reservations are exact for our own usage (the server's Used lags behind the
        # requests in flight); add what the server counted beyond them.
        return len(self._sent) + max(0, self._excess)

    def _roll(self, t: float) -> None:
        if self._window_end is not None and t >= self._window_end:
            # Requests reserved in the last moments of a window may reach the server after its
            # window ended, so they count in the next one: carry them over.
            cutoff = self._window_end - self._margin - _CARRY_S
            self._sent = deque(s for s in self._sent if s >= cutoff)
            self._window_end = None
            self._excess = 0
        if self._window_end is None:
            # Carried reservations matter only while the server window they opened may last.
            while self._sent and self._sent[0] < t - WINDOW_S - self._margin:
                self._sent.popleft()

    def _server_count(self, used: int | None, available: int | None) -> int | None:
        # Used + Available == Allowed normally; when they disagree take the larger usage.
        counts = []
        if used is not None:
            counts.append(used)
        if available is not None:
            counts.append(max(self._allowed - available, 0))
        return max(counts) if counts else None


class AlphaVantageLimiter:
    """Spacing plus a persistent daily quota for Alpha Vantage.

    The quota day runs from midnight to midnight US/Eastern. Alpha Vantage does not document when
    its daily count resets; the service is US-based and its data are stamped in US/Eastern time.
    Counting by the ET day is also the safe choice: if the true reset were UTC midnight (earlier
    than ET midnight), we would only hold back for a few extra hours; counting by UTC while the
    provider resets at ET midnight would send requests that are certain to be refused.
    """

    def __init__(
        self,
        max_per_second: float = 1.0,
        daily_quota: int = 25,
        *,
        quota_store: QuotaStore,
        provider: str = "alphavantage",
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = utc_now,
        sleep: Sleep = asyncio.sleep,
        margin_s: float | None = None,
    ) -> None:
        """`max_per_second` (> 0): requests per second; requests are spaced at least
        1 / max_per_second + `margin_s` seconds apart (default margin: a tenth of the interval,
        so 1/s gives the 1.1 s spacing of provider-apis §2.2, and a premium 20/s is not throttled
        to 6.7/s by a fixed 0.1 s). `daily_quota` (>= 0): requests per ET day."""
        if not (math.isfinite(max_per_second) and max_per_second > 0):
            raise ValueError(f"max_per_second must be > 0, got {max_per_second}")
        if daily_quota < 0:
            raise ValueError(f"daily_quota must be >= 0, got {daily_quota}")
        if margin_s is not None and not (math.isfinite(margin_s) and margin_s >= 0):
            raise ValueError(f"margin_s must be >= 0, got {margin_s}")
        self.daily_quota = daily_quota
        self.provider = provider
        base = 1.0 / max_per_second
        self.interval_s = base + (base * MARGIN_FRACTION if margin_s is None else margin_s)
        self._store = quota_store
        self._monotonic = monotonic
        self._now = now
        self._sleep = sleep
        self._next_at = -math.inf  # monotonic time of the earliest next request
        self._exhausted_day: str | None = None
        # Units given back by requests that never left are counted under a second key of the
        # same store (QuotaStore only adds), so every process sees them: used = sent - refunded.
        self.refund_key = f"{provider}{REFUND_SUFFIX}"
        self._lock = asyncio.Lock()

    def quota_day(self) -> str:
        """The current quota day, YYYY-MM-DD in US/Eastern."""
        return self._et_now().date().isoformat()

    def resets_at(self) -> dt.datetime:
        """When the quota resets: the next midnight US/Eastern, as an aware UTC datetime."""
        tomorrow = self._et_now().date() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=ET).astimezone(dt.UTC)

    async def remaining(self) -> int:
        """Requests left today (0 when the provider said the quota is used up)."""
        day = self.quota_day()
        if self._exhausted_day == day:
            return 0
        return max(0, self.daily_quota - await self._used(day))

    async def _used(self, day: str) -> int:
        """Requests of `day` that may have reached the provider (counted minus refunded)."""
        sent = await self._store.used(self.provider, day)
        return sent - await self._store.used(self.refund_key, day) if sent else 0

    async def acquire(self, endpoint: str = "-") -> None:
        """Wait for the spacing, then count one request in today's quota.

        Raises ProviderError(QUOTA_EXHAUSTED, retry_after_s = seconds to the reset) without
        waiting when today's quota is spent."""
        async with self._lock:
            if await self.remaining() <= 0:
                raise self._exhausted(endpoint)
            t = self._monotonic()
            if t < self._next_at:
                await self._sleep(self._next_at - t)
            # Count before sending: a crash after the request must never under-count the quota.
            day = self.quota_day()
            total = await self._store.add(self.provider, day, 1)
            total -= await self._store.used(self.refund_key, day)
            self._next_at = self._monotonic() + self.interval_s
            if total > self.daily_quota:  # another process spent the last request first
                raise self._exhausted(endpoint)

    async def refund(self) -> None:
        """Give back today's unit of a request that never left this machine (connect failure);
        persistent, like the count itself."""
        await self._store.add(self.refund_key, self.quota_day(), 1)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Alpha Vantage sends no rate-limit headers."""

    def on_rate_limited(self, retry_after_s: float | None = None) -> None:
        """The burst message: push the next request back (by `retry_after_s` or one interval)."""
        wait = self.interval_s
        if retry_after_s is not None and math.isfinite(retry_after_s) and retry_after_s > 0:
            wait = max(wait, retry_after_s)
        self._next_at = max(self._next_at, self._monotonic() + wait)

    async def mark_exhausted(self) -> None:
        """The provider said today's quota is used up: remember it, persistently."""
        day = self.quota_day()
        self._exhausted_day = day
        used = await self._used(day)
        if used < self.daily_quota:
            await self._store.add(self.provider, day, self.daily_quota - used)

    def _et_now(self) -> dt.datetime:
        now = self._now()
        if now.tzinfo is None:  # the contract is aware UTC; be lenient with naive UTC
            now = now.replace(tzinfo=dt.UTC)
        return now.astimezone(ET)

    def _exhausted(self, endpoint: str) -> ProviderError:
        reset = self.resets_at()
        wait = max(0.0, (reset - self._et_now()).total_seconds())
        return ProviderError(
            ErrorCode.QUOTA_EXHAUSTED,
            f"daily quota of {self.daily_quota} requests used up; "
            f"resets at {reset.astimezone(ET):%Y-%m-%d %H:%M} ET",
            provider=self.provider,
            endpoint=endpoint,
            correlation_id=current_correlation_id(),
            retry_after_s=wait,
        )
