"""Rate limiters on fake time: Tradier's fixed window (against a tiny server model) and Alpha
Vantage's spacing + persistent daily quota."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.correlation import correlation_scope
from ivcrush_tui.resilience.ratelimit import AlphaVantageLimiter, TradierWindowLimiter

ET = ZoneInfo("America/New_York")
START = dt.datetime(2026, 5, 11, 14, 0, tzinfo=dt.UTC)  # a Monday, 10:00 ET


class FakeClock:
    """monotonic / now / sleep sharing one fake timeline; sleeping advances it."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.t = 5000.0
        self.start = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t - 5000.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(seconds, 0.0)
        await asyncio.sleep(0)


class FakeTradier:
    """Tradier's documented limit: a fixed 60 s window starting with the first request,
    X-Ratelimit-* headers on every answer, 429 beyond the allowance (provider-apis.md §1.8)."""

    def __init__(self, clock: FakeClock, allowed: int = 120, expiry_in_ms: bool = True) -> None:
        self.clock = clock
        self.allowed = allowed
        self.expiry_in_ms = expiry_in_ms
        self.window_end: float | None = None
        self.used = 0
        self.windows: list[int] = []  # accepted requests per window
        self.rejected = 0

    def handle(self) -> tuple[int, dict[str, str]]:
        t = self.clock.monotonic()
        if self.window_end is None or t >= self.window_end:
            self.window_end = t + 60.0
            self.used = 0
            self.windows.append(0)
        status = 200
        if self.used >= self.allowed:
            status = 429
            self.rejected += 1
        else:
            self.used += 1
            self.windows[-1] += 1
        expiry_epoch = self.clock.now().timestamp() + (self.window_end - t)
        expiry = round(expiry_epoch * 1000) if self.expiry_in_ms else round(expiry_epoch)
        return status, {
            "X-Ratelimit-Allowed": str(self.allowed),
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Available": str(self.allowed - self.used),
            "X-Ratelimit-Expiry": str(expiry),
        }


def tradier_limiter(clock: FakeClock, allowed: int = 120) -> TradierWindowLimiter:
    return TradierWindowLimiter(
        allowed, monotonic=clock.monotonic, now=clock.now, sleep=clock.sleep
    )


@pytest.mark.parametrize("expiry_in_ms", [True, False])
async def test_300_sequential_calls_no_429_over_three_windows(expiry_in_ms: bool) -> None:
    clock = FakeClock()
    server = FakeTradier(clock, expiry_in_ms=expiry_in_ms)
    limiter = tradier_limiter(clock)
    for _ in range(300):
        await limiter.acquire()
        await clock.sleep(0.04)  # network latency
        status, headers = server.handle()
        limiter.observe(headers)
        if status == 429:
            limiter.on_rate_limited()
    assert server.rejected == 0
    assert server.windows == [120, 120, 60]
    # It bursts, then waits only for the window: 300 calls take about two windows.
    assert 120.0 < clock.t - 5000.0 < 140.0


async def test_300_concurrent_calls_no_429_over_three_windows() -> None:
    clock = FakeClock()
    server = FakeTradier(clock)
    limiter = tradier_limiter(clock)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(300):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            await limiter.acquire()
            status, headers = server.handle()
            await asyncio.sleep(0)  # let other workers interleave before the answer is seen
            limiter.observe(headers)
            assert status == 200

    await asyncio.gather(*(worker() for _ in range(12)))
    assert server.rejected == 0
    assert server.windows == [120, 120, 60]


async def test_concurrent_acquire_never_overshoots_observed_budget() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    await limiter.acquire()  # our window estimate: [5000, 5061]
    clock.t += 29.0
    expiry_ms = round((clock.now().timestamp() + 31.0) * 1000)  # server window ends at 5060
    limiter.observe(
        {
            "X-Ratelimit-Allowed": "120",
            "X-Ratelimit-Used": "117",
            "X-Ratelimit-Available": "3",
            "X-Ratelimit-Expiry": str(expiry_ms),
        }
    )
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(clock.t)

    await asyncio.gather(*(one() for _ in range(10)))
    assert granted[:3] == [5029.0] * 3  # exactly the remaining budget, no more
    assert all(t >= 5061.0 for t in granted[3:])  # the rest waited for the window to expire
    assert clock.sleeps == [pytest.approx(32.0)]  # 31 s + 1 s margin, then one burst
    assert limiter.budget().used == 7


async def test_expiry_ms_and_seconds_agree_and_headers_are_case_insensitive() -> None:
    results = []
    for expiry in ("ms", "s"):
        clock = FakeClock()
        limiter = tradier_limiter(clock)
        epoch = clock.now().timestamp() + 42.0
        value = str(round(epoch * 1000)) if expiry == "ms" else str(round(epoch))
        limiter.observe(
            {
                "x-ratelimit-allowed": "120",
                "X-RATELIMIT-USED": "20",
                "X-Ratelimit-Available": "100",
                "x-RateLimit-Expiry": value,
            }
        )
        results.append(limiter.budget())
    ms, s = results
    assert ms == s
    assert (ms.allowed, ms.used, ms.available) == (120, 20, 100)
    assert ms.resets_in_s == pytest.approx(43.0)  # 42 s + the 1 s safety margin


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Ratelimit-Used": "lots", "X-Ratelimit-Available": "", "X-Ratelimit-Expiry": "soon"},
        {"X-Ratelimit-Allowed": "-5", "X-Ratelimit-Used": "1.5", "X-Ratelimit-Expiry": "nan"},
        {"X-Ratelimit-Allowed": "0", "X-Ratelimit-Expiry": "-1"},
        {"Content-Type": "application/json"},
    ],
)
async def test_malformed_headers_are_ignored(headers: dict[str, str]) -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    limiter.observe(headers)
    budget = limiter.budget()
    assert (budget.allowed, budget.used, budget.available, budget.resets_in_s) == (
        120,
        0,
        120,
        None,
    )


async def test_absurd_expiry_ignored_but_counts_kept() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    await limiter.acquire()
    far = round((clock.now().timestamp() + 86400.0) * 1000)  # e.g. a frozen --as-of clock
    limiter.observe({"X-Ratelimit-Used": "100", "X-Ratelimit-Expiry": str(far)})
    budget = limiter.budget()
    assert budget.used == 100
    assert budget.resets_in_s == pytest.approx(61.0)  # our own estimate, not a day


async def test_late_answer_from_an_expired_window_is_ignored() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    await limiter.acquire()
    past = round((clock.now().timestamp() - 1.0) * 1000)
    limiter.observe({"X-Ratelimit-Used": "120", "X-Ratelimit-Expiry": str(past)})
    assert limiter.budget().available == 119


async def test_other_client_on_the_token_is_respected() -> None:
    clock = FakeClock()
    server = FakeTradier(clock)
    for _ in range(100):  # another process already spent 100 in this window
        server.handle()
    clock.t += 5.0
    limiter = tradier_limiter(clock)
    for _ in range(60):
        await limiter.acquire()
        status, headers = server.handle()
        limiter.observe(headers)
        if status == 429:
            limiter.on_rate_limited()
    # Only the very first request may be blind; after its headers the limiter knows.
    assert server.rejected == 0
    assert server.windows == [120, 40]


async def test_429_blocks_until_the_window_resets() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    await limiter.acquire()  # opens our window estimate [5000, 5061]
    clock.t += 10.0
    expiry = round((clock.now().timestamp() + 49.5) * 1000)  # the server's window ends at 5059.5
    limiter.observe({"X-Ratelimit-Used": "7", "X-Ratelimit-Expiry": str(expiry)})
    limiter.on_rate_limited(None)
    assert limiter.budget().available == 0
    await limiter.acquire()
    assert clock.t == pytest.approx(5061.0)  # the later of the two estimates of the window end
    assert limiter.budget().used == 1  # a fresh window


async def test_429_with_retry_after() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    limiter.on_rate_limited(5.0)
    assert limiter.budget().resets_in_s == pytest.approx(6.0)
    await limiter.acquire()
    assert clock.t == pytest.approx(5006.0)


async def test_retry_after_replaces_the_known_window_end() -> None:
    # Inside a window estimated to end at 5061, a 429 with Retry-After: 2 used to wait out the
    # whole window (61 s): the server's word is the wait.
    clock = FakeClock()
    limiter = tradier_limiter(clock)
    await limiter.acquire()  # opens our window estimate [5000, 5061]
    clock.t += 5.0
    limiter.on_rate_limited(2.0)
    await limiter.acquire()
    assert clock.t == pytest.approx(5008.0)  # 2 s + the 1 s safety margin, not 5061


async def test_requests_at_the_end_of_a_window_count_in_the_next() -> None:
    clock = FakeClock()
    limiter = tradier_limiter(clock, allowed=10)
    await limiter.acquire()  # window [5000, 5061]
    clock.t = 5060.5
    for _ in range(3):
        await limiter.acquire()  # may reach the server after its window (5060) ended
    clock.t = 5061.0  # our window rolls
    budget = limiter.budget()
    assert budget.used == 3
    assert budget.available == 7


def test_invalid_tradier_allowance() -> None:
    with pytest.raises(ValueError, match="allowed_per_min"):
        TradierWindowLimiter(0)


# -- Alpha Vantage ---------------------------------------------------------------------------------


class MemoryQuotaStore:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    async def used(self, provider: str, day: str) -> int:
        return self.counts.get((provider, day), 0)

    async def add(self, provider: str, day: str, n: int = 1) -> int:
        self.counts[(provider, day)] = self.counts.get((provider, day), 0) + n
        return self.counts[(provider, day)]


def av_limiter(
    clock: FakeClock, store: MemoryQuotaStore, quota: int = 25, per_s: float = 1.0
) -> AlphaVantageLimiter:
    return AlphaVantageLimiter(
        per_s,
        quota,
        quota_store=store,
        monotonic=clock.monotonic,
        now=clock.now,
        sleep=clock.sleep,
    )


async def test_av_requests_are_spaced() -> None:
    clock = FakeClock()
    limiter = av_limiter(clock, MemoryQuotaStore())
    times = []
    for _ in range(4):
        await limiter.acquire()
        times.append(clock.t)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= 1.0 for g in gaps)
    assert gaps == pytest.approx([1.1, 1.1, 1.1])  # 1 s + 0.1 s margin (provider-apis §2.2)


async def test_av_concurrent_requests_are_spaced() -> None:
    clock = FakeClock()
    limiter = av_limiter(clock, MemoryQuotaStore(), per_s=2.0)
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(clock.t)

    await asyncio.gather(*(one() for _ in range(5)))
    times.sort()
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(times))


async def test_av_quota_persists_across_restart_and_exhausts_with_reset_time() -> None:
    clock = FakeClock()
    store = MemoryQuotaStore()
    first = av_limiter(clock, store, quota=3)
    for _ in range(2):
        await first.acquire()
    assert await first.remaining() == 1
    # "restart": a new limiter on the same store
    second = av_limiter(clock, store, quota=3)
    assert await second.remaining() == 1
    await second.acquire()
    assert await second.remaining() == 0
    before = dict(store.counts)
    clock.sleeps.clear()
    with correlation_scope("abad1dea"), pytest.raises(ProviderError) as info:
        await second.acquire("EARNINGS")
    exc = info.value
    assert exc.code is ErrorCode.QUOTA_EXHAUSTED
    assert exc.endpoint == "EARNINGS"
    assert exc.correlation_id == "abad1dea"
    assert "resets at 2026-05-12 00:00 ET" in exc.message
    # 10:00 ET on 2026-05-11 (+ a few seconds of spacing) + 14 h = midnight ET
    assert exc.retry_after_s == pytest.approx(14 * 3600.0, abs=5.0)
    assert store.counts == before  # nothing counted, nothing sent
    assert clock.sleeps == []  # and it did not wait first


async def test_av_day_boundary_is_us_eastern_midnight() -> None:
    # 23:30 ET on 2026-05-11 is already 2026-05-12 in UTC: still the same quota day.
    clock = FakeClock(dt.datetime(2026, 5, 12, 3, 30, tzinfo=dt.UTC))
    store = MemoryQuotaStore()
    limiter = av_limiter(clock, store, quota=1)
    assert limiter.quota_day() == "2026-05-11"
    await limiter.acquire()
    with pytest.raises(ProviderError):
        await limiter.acquire()
    clock.t += 31 * 60  # 00:01 ET
    assert limiter.quota_day() == "2026-05-12"
    assert await limiter.remaining() == 1
    await limiter.acquire()
    assert store.counts == {("alphavantage", "2026-05-11"): 1, ("alphavantage", "2026-05-12"): 1}


@pytest.mark.parametrize(
    ("now", "reset_utc"),
    [
        (dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC), dt.datetime(2026, 1, 16, 5, 0)),  # EST
        (dt.datetime(2026, 7, 15, 20, 0, tzinfo=dt.UTC), dt.datetime(2026, 7, 16, 4, 0)),  # EDT
    ],
)
async def test_av_reset_time_follows_dst(now: dt.datetime, reset_utc: dt.datetime) -> None:
    limiter = av_limiter(FakeClock(now), MemoryQuotaStore())
    assert limiter.resets_at() == reset_utc.replace(tzinfo=dt.UTC)


async def test_av_mark_exhausted_persists() -> None:
    clock = FakeClock()
    store = MemoryQuotaStore()
    first = av_limiter(clock, store, quota=25)
    await first.acquire()
    await first.mark_exhausted()  # the provider's 25/day message
    assert await first.remaining() == 0
    second = av_limiter(clock, store, quota=25)
    assert await second.remaining() == 0
    with pytest.raises(ProviderError) as info:
        await second.acquire()
    assert info.value.code is ErrorCode.QUOTA_EXHAUSTED


async def test_av_burst_message_pushes_the_next_request_back() -> None:
    clock = FakeClock()
    limiter = av_limiter(clock, MemoryQuotaStore())
    await limiter.acquire()
    limiter.on_rate_limited(5.0)
    await limiter.acquire()
    assert clock.t == pytest.approx(5005.0)


async def test_av_zero_quota_and_validation() -> None:
    clock = FakeClock()
    with pytest.raises(ProviderError):
        await av_limiter(clock, MemoryQuotaStore(), quota=0).acquire()
    with pytest.raises(ValueError, match="max_per_second"):
        av_limiter(clock, MemoryQuotaStore(), per_s=0.0)
    with pytest.raises(ValueError, match="daily_quota"):
        av_limiter(clock, MemoryQuotaStore(), quota=-1)
