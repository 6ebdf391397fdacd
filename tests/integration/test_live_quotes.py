"""The live monitor (engine/live_quotes.py) against the demo market's streaming server on
loopback (real httpx, real sockets): after the first scan the tickers are streamed and re-priced
without REST; a refused stream falls back to POLL with the reason; the account's stream lock
makes a second process poll."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path

import pytest

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.config import load_settings
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.live_quotes import LIVE, POLL, LiveMonitor, LiveOptions
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.engine.stream_lock import StreamLock, lock_path
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.providers.demo.streams import StreamConfig
from ivcrush_tui.providers.tradier_events import StreamEvent
from tests.integration.test_engine import settings_for

DAY = dt.date(2026, 11, 23)
INSIDE = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)
TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "JPM"]
FAST = LiveOptions(tick_s=0.02, min_reprice_s=0.05, resubscribe_s=0.05, term_check_s=3600)


class Running:
    """The market's clock: starts inside the entry window and runs 30x real time."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> dt.datetime:
        return INSIDE + dt.timedelta(seconds=30 * (time.monotonic() - self.t0))


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(DAY)


@pytest.fixture
def server(market: DemoMarket) -> Iterator[DemoServer]:
    faults = FaultConfig(tradier_limit_per_min=None)
    stream = StreamConfig(rate_per_s=400, reprice_s=1.0)
    with DemoServer(market, faults, Running(), stream=stream) as srv:
        yield srv


class Seen:
    def __init__(self) -> None:
        self.quotes: list[str] = []
        self.analyses: list[Analysis] = []

    def on_quote(self, symbol: str, quote: StreamEvent, at: dt.datetime) -> None:
        self.quotes.append(symbol)

    def on_analysis(self, analysis: Analysis) -> None:
        self.analyses.append(analysis)


async def wait_for(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def _monitor(
    settings_path: Path, srv: DemoServer
) -> AsyncGenerator[tuple[Engine, LiveMonitor], None]:
    settings = settings_for(srv, settings_path)
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        engine = Engine(rt)
        monitor = LiveMonitor(engine, owner="test", options=FAST)
        try:
            yield engine, monitor
        finally:
            await monitor.stop()
            await engine.aclose()


def _tradier_requests(srv: DemoServer) -> int:
    return sum(n for path, n in srv.stats().requests.items() if "/tradier/" in path)


async def test_scanned_tickers_are_streamed_and_repriced_without_rest(
    server: DemoServer, tmp_path: Path
) -> None:
    gen = _monitor(tmp_path, server)
    engine, monitor = await anext(gen)
    try:
        seen = Seen()
        engine.observers.add(seen)
        await monitor.start()
        first = [a async for a in engine.scan(TICKERS, INSIDE)]
        assert all(a.status is Status.OK for a in first), [a.error for a in first]
        await wait_for(lambda: monitor.status().mode == LIVE)
        batches: list[tuple[Analysis, ...]] = []

        async def collect() -> None:
            async for batch in monitor.updates():
                batches.append(batch)

        task = asyncio.create_task(collect())
        rest_before = _tradier_requests(server)
        await wait_for(lambda: monitor.reprices >= 2 * len(TICKERS))
        task.cancel()
        status = monitor.status()
        assert status.streamed == len(TICKERS)
        assert status.stream is not None
        assert status.stream.connected
        assert status.stream.events > 0
        # Re-priced from streamed quotes alone: no REST request meanwhile (no re-pick needed
        # within a few market minutes, the term refresh is not due).
        assert monitor.repicks == 0
        assert _tradier_requests(server) == rest_before
        live = [a for b in batches for a in b]
        assert {a.symbol for a in live} <= set(TICKERS)
        assert live
        for a in live:
            assert a.status is Status.OK
            assert isinstance(a.implied, ImpliedMove)
            assert a.quote_time is not None
        # The observers saw the streamed quotes and every analysis (scan and re-prices).
        assert set(TICKERS) <= set(seen.quotes)
        assert len(seen.analyses) >= len(first) + len(live)
        # A subscription carries the underlyings and their option legs.
        assert status.stream.symbols > len(TICKERS) * 8
    finally:
        await gen.aclose()


async def test_a_refused_session_falls_back_to_poll_with_the_reason(
    market: DemoMarket, tmp_path: Path
) -> None:
    faults = FaultConfig(tradier_limit_per_min=None)
    stream = StreamConfig(session_status=401)
    with DemoServer(market, faults, Running(), stream=stream) as srv:
        gen = _monitor(tmp_path, srv)
        engine, monitor = await anext(gen)
        try:
            await monitor.start()
            [a async for a in engine.scan(TICKERS[:2], INSIDE)]
            await wait_for(
                lambda: (
                    monitor.status().reason is not None
                    and "failed" in (monitor.status().reason or "")
                )
            )
            status = monitor.status()
            assert status.mode == POLL
            assert status.reason is not None
            assert "401" in status.reason or "auth" in status.reason.lower()
            assert monitor.streamed() == frozenset()
        finally:
            await gen.aclose()


async def test_a_second_process_polls_while_the_stream_is_owned(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(server, tmp_path)
    held = StreamLock(lock_path(settings.database_path, "test-token"), "serve")
    assert held.acquire() is None
    try:
        gen = _monitor(tmp_path, server)
        _engine, monitor = await anext(gen)
        try:
            await monitor.start()
            status = monitor.status()
            assert status.mode == POLL
            assert status.reason is not None
            assert "owned by serve (pid" in status.reason
        finally:
            await gen.aclose()
    finally:
        held.release()
    assert held.holder() is None


async def test_streaming_off_in_config_polls(server: DemoServer, tmp_path: Path) -> None:
    settings = settings_for(server, tmp_path, extra="")
    path = tmp_path / "config.toml"
    text = path.read_text().replace(
        'token = "test-token"', 'token = "test-token"\nstreaming = false'
    )
    path.write_text(text)

    settings = load_settings(path, {})
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        monitor = LiveMonitor(Engine(rt), owner="test")
        await monitor.start()
        assert monitor.status().mode == POLL
        assert "streaming = false" in (monitor.status().reason or "")
        await monitor.stop()


async def test_spot_leaving_the_subscription_re_picks_by_rest(
    server: DemoServer, tmp_path: Path
) -> None:
    gen = _monitor(tmp_path, server)
    engine, monitor = await anext(gen)
    try:
        await monitor.start()
        [a async for a in engine.scan(TICKERS[:1], INSIDE)]
        await wait_for(lambda: monitor.status().mode == LIVE)
        sym = TICKERS[0]
        base = monitor.bases[sym]
        # A subscription that no longer covers spot (as after a big move): the next quote that
        # moves the ticker asks for a re-pick, which re-analyses it by REST and rebases it.
        far = dataclasses.replace(base.plan, low=base.plan.high + 50, high=base.plan.high + 60)
        monitor.bases[sym] = dataclasses.replace(base, plan=far)
        await wait_for(lambda: monitor.repicks == 1 and monitor.bases[sym].plan != far)
        rebased = monitor.bases[sym]
        assert rebased.plan.covers(rebased.analysis.spot or 0.0)
        assert rebased.analysis is not base.analysis  # a new REST analysis (engine.analyze)
        await wait_for(lambda: monitor.reprices > 0)
    finally:
        await gen.aclose()
