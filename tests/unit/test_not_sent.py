"""Requests that never left the machine (connection refused, connect timeout) are retried and
counted by the breaker like any outage, but give their Alpha Vantage quota unit back; and an open
circuit's message names the failure that opened it."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.providers.alphavantage import AlphaVantageClient
from ivcrush_tui.providers.http import make_http_client, provider_error_from_httpx
from ivcrush_tui.resilience.breaker import CircuitBreaker
from ivcrush_tui.resilience.errors import NotSentError
from ivcrush_tui.resilience.guard import Guard
from ivcrush_tui.resilience.ratelimit import AlphaVantageLimiter
from ivcrush_tui.resilience.retry import RetryPolicy

NOW = dt.datetime(2026, 11, 23, 20, 30, tzinfo=dt.UTC)


class MemoryQuota:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    async def used(self, provider: str, day: str) -> int:
        return self.counts.get((provider, day), 0)

    async def add(self, provider: str, day: str, n: int = 1) -> int:
        self.counts[(provider, day)] = self.counts.get((provider, day), 0) + n
        return self.counts[(provider, day)]


@pytest.mark.parametrize(
    ("exc", "code", "not_sent"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), ErrorCode.UNAVAILABLE, True),
        (httpx.ConnectTimeout("timed out"), ErrorCode.TIMEOUT, True),
        (httpx.ReadTimeout("timed out"), ErrorCode.TIMEOUT, False),
        (httpx.ReadError("reset"), ErrorCode.UNAVAILABLE, False),
        (httpx.RemoteProtocolError("closed"), ErrorCode.UNAVAILABLE, False),
    ],
)
def test_only_connect_failures_are_marked_not_sent(
    exc: Exception, code: ErrorCode, not_sent: bool
) -> None:
    err = provider_error_from_httpx(exc, provider="p", endpoint="e")
    assert err.code is code
    assert isinstance(err, NotSentError) is not_sent
    assert isinstance(err, ProviderError)
    assert err.transient


def _av(handler: httpx.MockTransport, quota: MemoryQuota, attempts: int) -> tuple[
    httpx.AsyncClient, AlphaVantageClient, AlphaVantageLimiter
]:  # fmt: skip
    limiter = AlphaVantageLimiter(1000.0, 3, quota_store=quota, now=lambda: NOW)
    guard = Guard(
        "alphavantage",
        breaker=CircuitBreaker("alphavantage", failure_threshold=100),
        retry=RetryPolicy(attempts=attempts, base_s=0.0, jitter=False),
        limiter=limiter,
    )
    http = make_http_client(timeout_s=1.0, transport=handler)
    client = AlphaVantageClient(
        http, base_url="https://www.alphavantage.co/query", api_key="k-1234", guard=guard
    )
    return http, client, limiter


async def test_refused_connections_keep_the_daily_quota() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    quota = MemoryQuota()
    http, client, limiter = _av(httpx.MockTransport(refuse), quota, attempts=4)
    async with http:
        for _ in range(3):  # 12 attempts against a quota of 3
            with pytest.raises(ProviderError) as info:
                await client.earnings_history("MSFT")
            assert info.value.code is ErrorCode.UNAVAILABLE
            assert "connection failed" in info.value.message
    assert await limiter.remaining() == 3  # nothing reached the provider, nothing was spent
    assert quota.counts == {  # counted before sending (crash-safe), refunded after
        ("alphavantage", "2026-11-23"): 12,
        ("alphavantage:refunded", "2026-11-23"): 12,
    }


async def test_requests_that_reached_the_server_spend_the_quota() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    quota = MemoryQuota()
    http, client, limiter = _av(httpx.MockTransport(broken), quota, attempts=2)
    async with http:
        with pytest.raises(ProviderError):
            await client.earnings_history("MSFT")
    assert await limiter.remaining() == 1  # two attempts were sent: two units gone


async def test_refunds_persist_for_the_next_process_and_belong_to_their_day() -> None:
    clock = {"now": NOW}
    store = MemoryQuota()
    first = AlphaVantageLimiter(1000.0, 3, quota_store=store, now=lambda: clock["now"])
    for _ in range(3):
        await first.acquire()
        await first.refund()  # three refused connections
    restarted = AlphaVantageLimiter(1000.0, 3, quota_store=store, now=lambda: clock["now"])
    assert await restarted.remaining() == 3  # a cron run a minute later still has its quota
    await restarted.acquire()
    assert await restarted.remaining() == 2
    assert store.counts == {
        ("alphavantage", "2026-11-23"): 4,
        ("alphavantage:refunded", "2026-11-23"): 3,
    }
    clock["now"] = NOW + dt.timedelta(days=1)
    assert await restarted.remaining() == 3  # a new day: nothing used, nothing refunded


def test_an_open_circuit_names_the_failure_that_opened_it() -> None:
    breaker = CircuitBreaker("tradier", failure_threshold=2)
    for _ in range(2):
        permit = breaker.acquire("quotes")
        breaker.record_failure(
            NotSentError(
                ErrorCode.UNAVAILABLE,
                "connection failed (ConnectError: [Errno 111] Connection refused)",
                provider="tradier",
                endpoint="quotes",
            ),
            permit,
        )
    with pytest.raises(ProviderError) as info:
        breaker.acquire("quotes")
    assert info.value.code is ErrorCode.CIRCUIT_OPEN
    assert info.value.message.startswith(
        "circuit open after 2 consecutive failures (last: unavailable: connection failed "
        "(ConnectError: [Errno 111] Connection refused)); retry in "
    )


def test_a_long_cause_is_shortened() -> None:
    breaker = CircuitBreaker("p", failure_threshold=1)
    permit = breaker.acquire("e")
    breaker.record_failure(
        ProviderError(ErrorCode.BAD_PAYLOAD, "x" * 500, provider="p", endpoint="e"), permit
    )
    with pytest.raises(ProviderError) as info:
        breaker.acquire("e")
    assert "(last: bad_payload: xxx" in info.value.message
    assert "...)" in info.value.message
    assert len(info.value.message) < 200
