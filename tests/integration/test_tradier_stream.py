"""Tradier market streaming end to end: the real TradierStream and httpx against the demo's
streaming endpoints, in-process (DemoTransport) and on the loopback server (DemoServer), with
the demo's stream faults (reference/provider-apis.md §1.11, issue 14 "Streaming" and "Bad input").
Nothing of the code under test is mocked; time is shortened through StreamOptions."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.domain import ErrorCode
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.providers.demo.stream_feed import StreamConfig
from ivcrush_tui.providers.demo.transport import DEMO_TRADIER_BASE, DemoTransport
from ivcrush_tui.providers.tradier_events import (
    StreamEvent,
    StreamQuote,
    StreamSummary,
    StreamTimesale,
    StreamTrade,
)
from ivcrush_tui.providers.tradier_stream import (
    StreamHealth,
    StreamOptions,
    StreamState,
    TradierStream,
)

AS_OF = dt.date(2026, 4, 29)
NOW = dt.datetime(2026, 4, 29, 15, 30, tzinfo=NY).astimezone(UTC)
TOKEN = "stream-secret-token-9f3a"
FAST = StreamOptions(
    stale_after_s=2.0, check_interval_s=0.05, backoff_base_s=0.02, backoff_max_s=0.1
)


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(AS_OF)


@pytest.fixture(scope="module")
def options(market: DemoMarket) -> list[str]:
    """Four listed AAPL contracts near the money (OCC symbols)."""
    exp = market.expirations("AAPL")[1]
    spot = market.spot("AAPL", NOW)
    chain = market.chain("AAPL", exp, NOW)
    near = sorted(chain, key=lambda c: abs(c.strike - spot))[:4]
    return [c.symbol for c in near]


class Endpoint:
    """One demo endpoint (in-process or loopback) and an httpx client for it."""

    def __init__(self, kind: str, market: DemoMarket, stream: StreamConfig) -> None:
        self.kind = kind
        self.server: DemoServer | None = None
        if kind == "server":
            self.server = DemoServer(market, clock=lambda: NOW, stream=stream).start()
            self.streams = self.server.streams
            self.base = self.server.tradier_base
            self.set_down = self.server.set_down
            self.http = httpx.AsyncClient(timeout=5.0)
        else:
            transport = DemoTransport(market, lambda: NOW, stream=stream)
            self.streams = transport.streams
            self.base = DEMO_TRADIER_BASE
            self.set_down = transport.set_down
            self.http = httpx.AsyncClient(transport=transport, timeout=5.0)

    def stream(self, symbols: list[str], **kw: Any) -> TradierStream:
        kw.setdefault("options", FAST)
        return TradierStream(self.http, base_url=self.base, token=TOKEN, symbols=symbols, **kw)

    async def close(self) -> None:
        await self.http.aclose()
        if self.server is not None:
            self.server.stop()


@contextlib.asynccontextmanager
async def endpoint(
    kind: str, market: DemoMarket, stream: StreamConfig | None = None
) -> AsyncIterator[Endpoint]:
    ep = Endpoint(kind, market, stream or StreamConfig(rate_per_s=200.0))
    try:
        yield ep
    finally:
        await ep.close()


async def collect(
    stream: TradierStream,
    until: Callable[[list[StreamEvent]], bool],
    timeout_s: float = 10.0,
) -> list[StreamEvent]:
    """Events until `until(events)` holds, or the iterator ends, or the timeout."""
    got: list[StreamEvent] = []

    async def run() -> None:
        async with contextlib.aclosing(stream.events()) as events:
            async for event in events:
                got.append(event)
                if until(got):
                    return

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await run()
    return got


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


KINDS = ["transport", "server"]


@pytest.mark.parametrize("kind", KINDS)
async def test_session_and_events_parse(kind: str, market: DemoMarket, options: list[str]) -> None:
    async with endpoint(kind, market) as ep:
        every_kind = StreamOptions(filters=("quote", "trade", "summary", "timesale"))
        stream = ep.stream(["AAPL", "BRK.B", "ZZZZQ", *options], options=every_kind)
        health_inside: list[StreamHealth] = []

        def until(events: list[StreamEvent]) -> bool:
            if len(events) >= 60:
                health_inside.append(stream.health())
            return len(events) >= 60

        events = await collect(stream, until)
        health = health_inside[0]
    assert len(events) >= 60
    symbols = {e.symbol for e in events}
    assert symbols == {"AAPL", "BRK.B", *options}  # unknown symbols produce no events
    kinds = {type(e) for e in events}
    assert kinds == {StreamSummary, StreamQuote, StreamTrade, StreamTimesale}
    spot = market.spot("AAPL", NOW)
    aapl = [e for e in events if isinstance(e, StreamQuote) and e.symbol == "AAPL"]
    assert aapl
    assert aapl[0].bid is not None
    assert aapl[0].ask is not None
    assert aapl[0].bid <= spot <= aapl[0].ask
    rest = market.stock_quote("AAPL", NOW)  # what /markets/quotes answers at that instant
    assert (aapl[0].bid, aapl[0].ask) == (rest.bid, rest.ask)
    assert aapl[0].bid_at == NOW  # stamped by the demo's injected clock
    opt = [e for e in events if isinstance(e, StreamQuote) and e.symbol == options[0]]
    contract = market.contract(options[0], NOW)
    assert opt
    assert contract is not None
    assert (opt[0].bid, opt[0].ask) == (contract.bid, contract.ask)  # the chain model's price
    assert health.state is StreamState.LIVE
    assert health.mode == "LIVE"
    assert health.connected
    assert stream.health().state is StreamState.CLOSED  # the consumer left: no longer live
    assert health.events == len(events)
    assert health.malformed == 0
    assert health.reconnects == 0
    assert health.last_event_age_s is not None
    assert health.last_event_age_s < 1.0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_subscription_change_reconnects_with_the_new_symbols(
    kind: str, market: DemoMarket
) -> None:
    async with endpoint(kind, market) as ep:
        stream = ep.stream(["AAPL"])
        changed_at: list[int] = []

        def until(events: list[StreamEvent]) -> bool:
            if len(events) == 20:
                stream.set_symbols(["MSFT", "NVDA"])
                changed_at.append(len(events))
            return len(events) >= 80

        events = await collect(stream, until)
        health = stream.health()
        sessions = ep.streams.stats().sessions
    after = events[changed_at[0] :]
    assert {e.symbol for e in events[: changed_at[0]]} == {"AAPL"}
    assert {e.symbol for e in after} == {"MSFT", "NVDA"}
    assert stream.symbols == ("MSFT", "NVDA")
    assert health.resubscribes == 1
    assert health.reconnects == 0
    assert sessions == 2  # a new session id for the new connection


@pytest.mark.parametrize(("kind", "reset"), [("transport", False), ("server", True)])
async def test_reconnects_after_the_server_drops_the_stream(
    kind: str, reset: bool, market: DemoMarket
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    cfg = StreamConfig(rate_per_s=500.0, drop_after_events=10, drop_reset=reset)
    async with endpoint(kind, market, cfg) as ep:
        stream = ep.stream(["AAPL", "MSFT"], sleep=sleep)
        events = await collect(stream, lambda e: len(e) >= 50)
        health = stream.health()
        stats = ep.streams.stats()
    assert len(events) >= 50
    assert health.reconnects >= 3
    assert stats.sessions == health.reconnects + 1  # every connect took a fresh session
    assert len(waits) == health.reconnects
    assert all(0.0 <= w <= FAST.backoff_max_s for w in waits)  # bounded back-off
    assert health.error_code in (ErrorCode.UNAVAILABLE, None) or health.error is not None


async def test_backoff_grows_while_connects_fail_and_is_capped(market: DemoMarket) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    async with endpoint("transport", market) as ep:
        ep.set_down(True)  # every session request: 503
        opts = StreamOptions(check_interval_s=0.05, backoff_base_s=1.0, backoff_max_s=8.0)
        stream = ep.stream(["AAPL"], sleep=sleep, options=opts)
        await collect(stream, lambda e: False, timeout_s=0.5)
        health = stream.health()
    assert len(waits) >= 6
    assert health.error_code is ErrorCode.UNAVAILABLE
    assert health.mode == "POLL"
    assert waits[0] <= 1.0
    assert waits[2] >= 2.0
    assert max(waits) <= 8.0
    assert waits[-1] >= 4.0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_keepalive_only_stream_is_reconnected_in_market_hours(
    kind: str, market: DemoMarket
) -> None:
    cfg = StreamConfig(keepalive_only=True, keepalive_s=0.05)
    opts = StreamOptions(
        stale_after_s=0.4, check_interval_s=0.05, backoff_base_s=0.01, backoff_max_s=0.02
    )
    async with endpoint(kind, market, cfg) as ep:
        stream = ep.stream(["AAPL"], options=opts)
        await collect(stream, lambda e: False, timeout_s=1.5)
        health = stream.health()
    assert health.events == 0
    assert health.keepalives > 5
    assert health.reconnects >= 2
    assert health.error_code is ErrorCode.TIMEOUT
    assert health.error is not None
    assert "only keep-alives" in health.error


async def test_keepalives_keep_the_stream_outside_market_hours(market: DemoMarket) -> None:
    cfg = StreamConfig(keepalive_only=True, keepalive_s=0.05)
    opts = StreamOptions(stale_after_s=0.3, check_interval_s=0.05)
    async with endpoint("transport", market, cfg) as ep:
        stream = ep.stream(["AAPL"], options=opts, market_open=lambda: False)
        await collect(stream, lambda e: False, timeout_s=1.0)
        health = stream.health()
    assert health.reconnects == 0
    assert health.keepalives > 5


async def test_the_keepalive_rule_follows_the_injected_clock(market: DemoMarket) -> None:
    """30 s of Tradier's rule, on a fake monotonic clock moved by the test."""
    clock = [1000.0]
    cfg = StreamConfig(keepalive_only=True, keepalive_s=0.02)
    opts = StreamOptions(stale_after_s=30.0, check_interval_s=0.02, backoff_base_s=0.0)
    async with endpoint("transport", market, cfg) as ep:
        stream = ep.stream(["AAPL"], options=opts, monotonic=lambda: clock[0])

        async def advance() -> None:
            await wait_until(lambda: stream.health().state is StreamState.LIVE)
            await asyncio.sleep(0.2)
            clock[0] += 29.0
            await asyncio.sleep(0.2)
            assert stream.health().reconnects == 0  # 29 s: still alive
            clock[0] += 1.5
            await asyncio.sleep(0.3)

        mover = asyncio.create_task(advance())
        await collect(stream, lambda e: False, timeout_s=1.2)
        await mover
        health = stream.health()
    assert health.reconnects >= 1
    assert health.error is not None
    assert "30 s" in health.error


@pytest.mark.parametrize("kind", KINDS)
async def test_malformed_events_are_skipped_and_counted(kind: str, market: DemoMarket) -> None:
    cfg = StreamConfig(rate_per_s=400.0, malformed_every=4)
    async with endpoint(kind, market, cfg) as ep:
        stream = ep.stream(["AAPL", "MSFT", "NVDA"])
        events = await collect(stream, lambda e: len(e) >= 150)
        health = stream.health()
    assert len(events) >= 150
    assert health.malformed >= 40  # one line in four
    assert health.reconnects == 0
    assert health.state is StreamState.CLOSED  # ended by the consumer, never failed


@pytest.mark.parametrize("kind", KINDS)
async def test_401_on_the_session_ends_in_the_auth_state(kind: str, market: DemoMarket) -> None:
    async with endpoint(kind, market, StreamConfig(session_status=401)) as ep:
        stream = ep.stream(["AAPL"])
        events = await collect(stream, lambda e: False)
        health = stream.health()
    assert events == []
    assert health.state is StreamState.FAILED
    assert health.mode == "POLL"
    assert health.error_code is ErrorCode.AUTH
    assert health.error is not None
    assert "polling" in health.error
    assert TOKEN not in health.error
    assert health.reconnects == 0


async def test_sandbox_like_refusal_is_permanent(market: DemoMarket) -> None:
    async with endpoint("transport", market, StreamConfig(session_status=400)) as ep:
        stream = ep.stream(["AAPL"])
        await collect(stream, lambda e: False)
        health = stream.health()
    assert health.state is StreamState.FAILED
    assert health.error_code is ErrorCode.BAD_REQUEST


async def test_a_plain_http_stream_url_off_loopback_is_refused(market: DemoMarket) -> None:
    async with endpoint("transport", market) as ep:
        ep.streams.set_origin("http://stream.example.invalid")
        stream = ep.stream(["AAPL"])
        events = await collect(stream, lambda e: False)
        health = stream.health()
    assert events == []
    assert ep.streams.stats().streams == 0
    assert health.state is StreamState.FAILED
    assert health.error_code is ErrorCode.CONFIG
    assert health.error is not None
    assert "https" in health.error


async def test_a_new_session_on_the_account_ends_the_old_stream(market: DemoMarket) -> None:
    """One market session per account: the console and `serve` must not both stream."""
    async with endpoint("transport", market) as ep:
        first = ep.stream(["AAPL"])
        second = ep.stream(["MSFT"])
        task = asyncio.create_task(collect(first, lambda e: False, timeout_s=1.0))
        await wait_until(lambda: first.health().events >= 5)
        await collect(second, lambda e: len(e) >= 5)
        await task
    assert first.health().reconnects >= 1


async def test_no_secret_in_any_log_line(
    market: DemoMarket, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = StreamConfig(rate_per_s=300.0, drop_after_events=15, malformed_every=5)
    async with endpoint("server", market, cfg) as ep:
        stream = ep.stream(["AAPL", "MSFT"])
        await collect(stream, lambda e: len(e) >= 60)
        session_ids = ep.streams.issued()
    async with endpoint("server", market, StreamConfig(session_status=401)) as ep:
        await collect(ep.stream(["AAPL"]), lambda e: False)
    assert session_ids
    assert caplog.records
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "reconnecting" in text
    assert TOKEN not in text
    assert not [s for s in session_ids if s in text]
    assert TOKEN not in repr(stream)


@pytest.mark.parametrize(
    ("kind", "rate", "names"),
    [("transport", 400.0, 50), ("server", 400.0, 50), ("server", 1000.0, 100)],
)
async def test_the_demo_stream_runs_at_its_configured_rate(
    kind: str, rate: float, names: int, market: DemoMarket
) -> None:
    async with endpoint(kind, market, StreamConfig(rate_per_s=rate, tick_s=0.01)) as ep:
        symbols = list(market.symbols[:names])
        stream = ep.stream(symbols, options=StreamOptions(filters=("quote", "trade")))
        first = await collect(stream, lambda e: len(e) >= 1)  # connected, first event in
        assert first
        t0 = time.monotonic()
        events = await collect(stream, lambda e: False, timeout_s=1.0)
        elapsed = time.monotonic() - t0
        health = stream.health()
    measured = len(events) / elapsed
    assert 0.7 * rate <= measured <= 1.3 * rate
    assert len({e.symbol for e in events}) == names
    assert health.events_per_s > 0.5 * rate


async def test_close_ends_the_iterator_and_an_empty_set_idles(market: DemoMarket) -> None:
    async with endpoint("transport", market) as ep:
        stream = ep.stream([])
        got: list[StreamEvent] = []

        async def consume() -> None:
            async with contextlib.aclosing(stream.events()) as events:
                async for event in events:
                    got.append(event)

        task = asyncio.create_task(consume())
        await wait_until(lambda: stream.health().state is StreamState.IDLE)
        assert ep.streams.stats().sessions == 0  # nothing to stream: no session spent
        stream.set_symbols(["AAPL"])
        await wait_until(lambda: len(got) >= 5)
        stream.close()
        async with asyncio.timeout(2.0):
            await task
    assert stream.health().state is StreamState.CLOSED
    assert stream.health().mode == "POLL"


async def test_a_new_subscription_cuts_the_back_off_short(market: DemoMarket) -> None:
    async with endpoint("transport", market) as ep:
        ep.set_down(True)
        opts = StreamOptions(check_interval_s=0.05, backoff_base_s=30.0, backoff_max_s=60.0)
        stream = ep.stream(["AAPL"], options=opts)
        task = asyncio.create_task(collect(stream, lambda e: len(e) >= 3, timeout_s=5.0))
        await wait_until(lambda: stream.health().state is StreamState.BACKOFF)
        ep.set_down(False)
        stream.set_symbols(["MSFT"])  # without the cut, the next try is 15-30 s away
        async with asyncio.timeout(3.0):
            events = await task
    assert {e.symbol for e in events} == {"MSFT"}


async def test_a_refused_stream_is_retried_with_a_new_session(market: DemoMarket) -> None:
    """A stream refused after a good session (here: too many symbols, which the demo answers
    400) is not an auth failure: it backs off and tries again with a fresh session."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    async with endpoint("transport", market) as ep:
        symbols = [f"A{i:04d}" for i in range(5001)]
        stream = ep.stream(symbols, sleep=sleep)
        await collect(stream, lambda e: False, timeout_s=0.3)
        health = stream.health()
        sessions = ep.streams.stats().sessions
    assert health.state is not StreamState.FAILED
    assert health.error_code is ErrorCode.UNAVAILABLE
    assert health.error is not None
    assert "HTTP 400 opening the stream" in health.error
    assert sessions >= 2
    assert len(waits) >= 1
