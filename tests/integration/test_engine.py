"""The engine against the demo market behind a real loopback HTTP server ("live" mode over real
sockets, fake credentials): streaming under bounded concurrency, batched quotes, expirations
cached for the day, candidates, the ledger hook, quota-aware resumable backfill, the scan time
limit and cancellation safety. Calendar rules per /work/shared/METHODS.md §1.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from ivcrush_tui.analytics.analysis import Status
from ivcrush_tui.calendar import NY, UTC, default_calendar
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.domain import EarningsEvent, Timing
from ivcrush_tui.engine.backfill import run_backfill
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.service import AV_IN_FLIGHT, STARTING_RESERVE, Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.responses import AV_PATH, TRADIER_PREFIX
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.store.repositories import BackfillRepo, EventsRepo, LedgerRepo, WatchlistRepo

DAY = dt.date(2026, 11, 23)  # a Monday with names reporting (demo market)
INSIDE = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)  # entry window
OUTSIDE = dt.datetime(2026, 11, 23, 11, 0, tzinfo=NY).astimezone(UTC)
LATER = dt.datetime(2026, 11, 23, 15, 45, tzinfo=NY).astimezone(UTC)
CONCURRENCY = 4
TICKERS = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "JPM", "XOM", "KO", "PEP", "WMT", "DIS", "NKE"]


class Clock:
    """The server's (and the test's) adjustable 'now'."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(DAY)


@pytest.fixture
def clock() -> Clock:
    return Clock(INSIDE)


@pytest.fixture
def server(market: DemoMarket, clock: Clock) -> Iterator[DemoServer]:
    with DemoServer(market, FaultConfig(tradier_limit_per_min=None), clock) as srv:
        yield srv


def settings_for(
    srv: DemoServer, tmp: Path, *, av_server: DemoServer | None = None, extra: str = ""
) -> Settings:
    """Live-mode settings pointing at the loopback server; storage in tmp; no pacing."""
    av = av_server or srv
    path = tmp / "config.toml"
    path.write_text(
        f"""
[tradier]
token = "test-token"
base_url = "{srv.tradier_base}"
[alphavantage]
api_key = "test-key"
base_url = "{av.av_base}"
max_per_second = 100.0
daily_quota = 100000
[engine]
concurrency = {CONCURRENCY}
[resilience]
retry_attempts = 2
backoff_base_s = 0.01
backoff_max_s = 0.05
[storage]
path = "{tmp / "ivcrush.sqlite3"}"
log_dir = "{tmp / "log"}"
{extra}
""",
        encoding="utf-8",
    )
    settings = load_settings(path, {})
    assert not settings.demo
    return settings


@dataclasses.dataclass
class Counting(httpx.AsyncBaseTransport):
    """A real socket transport that records requests in flight and their start times."""

    inner: httpx.AsyncBaseTransport = dataclasses.field(default_factory=httpx.AsyncHTTPTransport)
    in_flight: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys("tae", 0))
    peak: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys("tae", 0))
    starts: list[float] = dataclasses.field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kinds = ["a"] if request.url.path == AV_PATH else ["t"]
        if request.url.path.endswith("/expirations"):
            kinds.append("e")  # a ticker's first request
        for kind in kinds:
            self.in_flight[kind] += 1
            self.peak[kind] = max(self.peak[kind], self.in_flight[kind])
        self.starts.append(time.perf_counter())
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            for kind in kinds:
                self.in_flight[kind] -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def tradier_counts(srv: DemoServer) -> dict[str, int]:
    return {
        k.removeprefix(TRADIER_PREFIX): v
        for k, v in srv.request_counts.items()
        if k.startswith(TRADIER_PREFIX) and v
    }


@pytest.fixture
async def runtime(server: DemoServer, tmp_path: Path, clock: Clock) -> AsyncIterator[Runtime]:
    async with open_runtime(settings_for(server, tmp_path), FixedClock(clock())) as rt:
        yield rt


async def backfill(rt: Runtime, symbols: list[str]) -> None:
    report = await run_backfill(rt, symbols, quarters=12, out=Console(file=io.StringIO()))
    assert report.complete
    assert not report.failed


async def scan_all(rt: Runtime, symbols: list[str], now: dt.datetime) -> list[str]:
    engine = Engine(rt)
    try:
        return [a.status.value async for a in engine.scan(symbols, now)]
    finally:
        await engine.aclose()


# -- streaming, concurrency, batching, caching -----------------------------------------------------


async def test_scan_streams_under_bounded_concurrency(
    server: DemoServer, tmp_path: Path, clock: Clock
) -> None:
    # A wide window, advertised: with Tradier's 120/min the engine would trade streaming for
    # fewer quote requests (one batch held for all twelve tickers).
    server.set_faults(FaultConfig(latency_ms=20, tradier_limit_per_min=100_000))
    transport = Counting()
    settings = settings_for(server, tmp_path)
    async with open_runtime(settings, FixedClock(INSIDE), transport=transport) as rt:
        engine = Engine(rt)
        yielded: list[tuple[float, str]] = []
        async for result in engine.scan(TICKERS, INSIDE):
            yielded.append((time.perf_counter(), result.symbol))
        await engine.aclose()
    assert sorted(s for _, s in yielded) == sorted(TICKERS)  # each ticker exactly once
    # Tradier requests never exceed the semaphore; Alpha Vantage has its own small bound.
    assert 1 < transport.peak["t"] <= CONCURRENCY
    assert transport.peak["a"] <= AV_IN_FLIGHT
    # Tickers' first requests leave STARTING_RESERVE slots to the tickers already under way.
    assert 1 <= transport.peak["e"] <= CONCURRENCY - STARTING_RESERVE
    # Streaming: the first result is out while later requests are still being sent.
    assert yielded[0][0] < max(transport.starts)
    # Earliest-started tickers are served first: the first results come from the list's head.
    first_half = {s for _, s in yielded[: len(TICKERS) // 2]}
    assert len(first_half & set(TICKERS[: len(TICKERS) // 2 + 2])) >= len(TICKERS) // 2 - 1


async def test_quotes_are_batched_about_two_requests_per_ticker(
    server: DemoServer, runtime: Runtime
) -> None:
    await backfill(runtime, TICKERS)  # history and past events come from the store
    server.reset_counters()
    statuses = await scan_all(runtime, TICKERS, INSIDE)
    assert statuses.count("ok") == len(TICKERS)
    counts = tradier_counts(server)
    n = len(TICKERS)
    assert counts["/markets/options/expirations"] == n
    assert counts["/markets/options/chains"] == n
    assert "/markets/history" not in counts  # backfilled through the previous session
    # One stock-quote batch plus shared ATM-quote batches: far fewer than one per ticker.
    assert counts["/markets/quotes"] <= n // 2 + 1
    assert sum(counts.values()) <= 2.5 * n + 1


async def test_expirations_are_cached_for_the_day(
    server: DemoServer, tmp_path: Path, clock: Clock
) -> None:
    settings = settings_for(server, tmp_path)
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        await scan_all(rt, TICKERS[:5], INSIDE)
    server.reset_counters()
    clock.at = LATER  # a second scan, later the same day, in a new process (new runtime)
    async with open_runtime(settings, FixedClock(LATER)) as rt:
        statuses = await scan_all(rt, TICKERS[:5], LATER)
    assert statuses == ["ok"] * 5
    counts = tradier_counts(server)
    assert "/markets/options/expirations" not in counts
    assert counts["/markets/options/chains"] == 5  # option prices are fetched again


# -- candidates and the ledger ---------------------------------------------------------------------


async def test_candidates_are_entry_date_names_plus_watchlist_names_reporting_soon(
    runtime: Runtime, market: DemoMarket
) -> None:
    cal = default_calendar()
    soon = [s for s in market.symbols if DAY + dt.timedelta(days=2) <= market.next_event(s).date
            <= DAY + dt.timedelta(days=7)]  # fmt: skip
    far = [s for s in market.symbols if market.next_event(s).date > DAY + dt.timedelta(days=20)]
    await WatchlistRepo(runtime.db).add([soon[0], far[0]])
    engine = Engine(runtime)
    try:
        names = await engine.candidates(DAY, INSIDE)
    finally:
        await engine.aclose()
    expected = {
        e.symbol
        for e in market.calendar_events(DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=7))
        if cal.entry_date(e.date, e.timing) == DAY
    }
    assert expected  # the demo day has names to enter
    assert set(names) == expected | {soon[0]}
    assert far[0] not in names
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("at", "inside"), [(INSIDE, True), (OUTSIDE, False)])
async def test_ledger_rows_only_inside_the_entry_window(
    server: DemoServer, tmp_path: Path, clock: Clock, at: dt.datetime, inside: bool
) -> None:
    clock.at = at
    async with open_runtime(settings_for(server, tmp_path), FixedClock(at)) as rt:
        statuses = await scan_all(rt, ["AAPL", "MSFT", "BRK.A"], at)
        rows = await LedgerRepo(rt.db).list()
    assert statuses.count("ok") == 2  # BRK.A has no listed options: never in the ledger
    assert len(rows) == (2 if inside else 0)
    assert all(r.taken_at == at and r.mode == "live" for r in rows)
    assert {r.symbol for r in rows} <= {"AAPL", "MSFT"}


async def test_a_ledger_write_that_fails_is_counted_not_swallowed(
    server: DemoServer, runtime: Runtime
) -> None:
    # A store that turned read-only mid-run (a real SQLite state: writes are refused): the
    # analysis still comes back, and the engine counts the lost decision so the run exits 1.
    engine = Engine(runtime)
    try:
        assert (await engine.analyze("AAPL", INSIDE)).ok  # warms the caches, stores its row
        assert engine.lost_writes == 0
        await runtime.db._conn.execute("PRAGMA query_only = ON")
        result = await engine.analyze("AAPL", INSIDE)  # every input fresh: only the ledger writes
    finally:
        await engine.aclose()
        await runtime.db._conn.execute("PRAGMA query_only = OFF")
    assert result.ok, result.error
    assert engine.lost_writes == 1
    assert len(await LedgerRepo(runtime.db).list()) == 1  # the first row only


async def test_a_calendar_that_cannot_be_stored_is_not_called_unavailable(
    server: DemoServer, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    # A read-only store refuses the quota count and the events: the log and the rows say the
    # store, not "earnings calendar unavailable" (which sends the trader to the wrong place).
    engine = Engine(runtime)
    await runtime.db._conn.execute("PRAGMA query_only = ON")
    try:
        result = await engine.analyze("AAPL", INSIDE)
    finally:
        await engine.aclose()
        await runtime.db._conn.execute("PRAGMA query_only = OFF")
    assert "earnings calendar not loaded: the store refused a write" in caplog.text
    assert "earnings calendar unavailable" not in caplog.text
    assert result.error is not None
    assert result.error.code == "storage"


async def test_an_event_released_today_is_not_upcoming(
    runtime: Runtime, market: DemoMarket
) -> None:
    engine = Engine(runtime)
    try:
        await engine.ensure_earnings_calendar(INSIDE)
        today = [market.next_event(s) for s in market.symbols if market.next_event(s).date == DAY]
        bmo = next(e for e in today if e.timing is Timing.BMO)
        amc = next(e for e in today if e.timing is Timing.AMC)
        # 15:30 ET: the BMO release is out (its entry was yesterday); the AMC one is tonight.
        assert (await engine.upcoming_event(amc.symbol, INSIDE)).date == DAY  # type: ignore[union-attr]
        later = await engine.upcoming_event(bmo.symbol, INSIDE)
        assert later is None or later.date > DAY
        # Before the open the BMO release is still ahead.
        pre_open = dt.datetime(2026, 11, 23, 8, 0, tzinfo=NY).astimezone(UTC)
        assert (await engine.upcoming_event(bmo.symbol, pre_open)).date == DAY  # type: ignore[union-attr]
    finally:
        await engine.aclose()


async def test_a_moved_earnings_date_replaces_the_stored_one(
    runtime: Runtime, market: DemoMarket
) -> None:
    # The store still holds an earlier calendar's date for a name, the day after today, while
    # the calendar now lists a later one (the company has since confirmed its date): the
    # analysis must use the listed date, with its expiration and entry date, not the stale one.
    sym, real = next(
        (s, e)
        for s in TICKERS
        if (e := market.upcoming_event(s)) is not None and e.date > DAY + dt.timedelta(days=2)
    )
    stale = DAY + dt.timedelta(days=1)
    events = EventsRepo(runtime.db)
    await events.upsert(
        [EarningsEvent(sym, stale, Timing.BMO)], fetched_at=INSIDE - dt.timedelta(days=2)
    )
    engine = Engine(runtime)
    try:
        result = await engine.analyze(sym, INSIDE)
    finally:
        await engine.aclose()
    assert result.schedule is not None, result.error
    assert result.schedule.event.date == real.date
    assert result.schedule.event.date != stale
    upcoming = await events.upcoming(sym, on_or_after=DAY)
    assert upcoming is not None
    assert upcoming.date == real.date  # the stale row is gone from the store


# -- backfill: quota-aware and resumable -----------------------------------------------------------


async def test_backfill_stops_on_the_daily_quota_and_resumes_the_next_day(
    server: DemoServer, tmp_path: Path, clock: Clock
) -> None:
    server.set_faults(FaultConfig(tradier_limit_per_min=None, av_daily_quota=3))
    settings = settings_for(server, tmp_path)
    names = TICKERS[:5]
    out = io.StringIO()
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        report = await run_backfill(rt, names, quarters=8, out=Console(file=out, width=200))
        pending = await BackfillRepo(rt.db).pending(names)
    assert not report.complete
    assert report.stopped_reason is not None
    assert "quota_exhausted" in report.stopped_reason
    assert report.completed == names[:3]
    assert list(pending) == names[3:]
    assert report.resume_at == dt.datetime(2026, 11, 24, 0, 0, tzinfo=NY).astimezone(UTC)
    text = out.getvalue()
    assert "resume after 2026-11-24 00:00 ET" in text
    assert "3 done, 2 left" in text
    # Same day, new process: the persisted quota says no without spending a request.
    server.reset_counters()
    async with open_runtime(settings, FixedClock(LATER)) as rt:
        again = await run_backfill(rt, names, quarters=8, out=Console(file=io.StringIO()))
    assert not again.complete
    assert server.request_counts[AV_PATH] == 0
    # The next day it resumes where it stopped and completes, re-fetching nothing done.
    next_day = dt.datetime(2026, 11, 24, 10, 0, tzinfo=NY).astimezone(UTC)
    clock.at = next_day
    server.reset_counters()
    async with open_runtime(settings, FixedClock(next_day)) as rt:
        final = await run_backfill(rt, names, quarters=8, out=Console(file=io.StringIO()))
        assert await BackfillRepo(rt.db).pending(names) == ()
    assert final.complete
    assert not final.failed
    assert final.completed == names
    assert server.request_counts[AV_PATH] == 2


# -- the scan time limit and cancellation ----------------------------------------------------------


async def test_scan_time_limit_reports_unfinished_tickers_as_timeouts(
    server: DemoServer, runtime: Runtime
) -> None:
    server.set_faults(FaultConfig(latency_ms=150, tradier_limit_per_min=None))
    engine = Engine(runtime)
    try:
        t0 = time.perf_counter()
        results = [a async for a in engine.scan(TICKERS, INSIDE, timeout_s=0.4)]
        elapsed = time.perf_counter() - t0
    finally:
        await engine.aclose()
    assert elapsed < 2.0
    assert sorted(a.symbol for a in results) == sorted(TICKERS)
    timeouts = [a for a in results if a.status is Status.ERROR]
    assert timeouts
    assert all(a.error and a.error.code == "timeout" for a in timeouts)


async def test_scan_time_limit_names_the_rate_window_it_waited_for(
    server: DemoServer, runtime: Runtime
) -> None:
    # A window of 3 requests a minute: the scan spends its time waiting for it, and the rows it
    # could not finish say so (they used to say only 'timeout: scan time limit reached').
    server.set_faults(FaultConfig(latency_ms=20, tradier_limit_per_min=3))
    engine = Engine(runtime)
    try:
        results = [a async for a in engine.scan(TICKERS, INSIDE, timeout_s=1.0)]
    finally:
        await engine.aclose()
    unfinished = [a for a in results if a.status is Status.ERROR]
    assert unfinished
    for a in unfinished:
        assert a.error is not None
        assert a.error.code == "rate_limited", a.error
        assert "engine.scan_timeout_s = 1 s" in a.error.message
        assert "tradier" in a.error.message


async def test_cancelling_a_scan_midway_leaks_nothing(server: DemoServer, tmp_path: Path) -> None:
    server.set_faults(FaultConfig(latency_ms=40, tradier_limit_per_min=None))
    settings = settings_for(server, tmp_path)
    # Two request slots: the tickers finish in waves, so the first result comes well before the
    # last (with every ticker in flight at once they may all finish within a few milliseconds).
    settings = dataclasses.replace(
        settings, engine=dataclasses.replace(settings.engine, concurrency=2)
    )
    before = asyncio.all_tasks()
    async with open_runtime(settings, FixedClock(INSIDE)) as rt:
        engine = Engine(rt)
        got: list[str] = []

        async def consume() -> None:
            async for a in engine.scan(TICKERS, INSIDE):
                got.append(a.symbol)

        task = asyncio.create_task(consume())
        while not got:  # noqa: ASYNC110 - polls the consumer's progress, not an event
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Breaking out of the iterator early is just as clean.
        async for _ in engine.scan(TICKERS[::-1], INSIDE):
            break
        await engine.aclose()
        assert await rt.db.integrity_check()
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before <= {asyncio.current_task()}
    assert 0 < len(got) < len(TICKERS)
    with sqlite3.connect(tmp_path / "ivcrush.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_tradier_down_fails_every_ticker_with_a_code(
    server: DemoServer, runtime: Runtime
) -> None:
    server.set_down(True)
    engine = Engine(runtime)
    try:
        results = [a async for a in engine.scan(TICKERS[:6], INSIDE)]
    finally:
        await engine.aclose()
    assert len(results) == 6
    codes = {a.error.code for a in results if a.error}
    assert all(a.status is Status.ERROR for a in results)
    assert codes <= {"unavailable", "circuit_open"}


async def test_market_cap_is_fetched_by_a_single_analysis_and_only_read_by_scans(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OVERVIEW costs Alpha Vantage quota: one call per name per METADATA_MAX_AGE, and only from
    a single analysis; a scan shows what the store holds. The expiration's cycle and settlement
    come along on every analysis with an event expiration."""
    calls: list[str] = []
    overview = runtime.alphavantage.overview

    async def spy(symbol: str) -> Any:
        calls.append(symbol)
        return await overview(symbol)

    monkeypatch.setattr(runtime.alphavantage, "overview", spy)
    engine = Engine(runtime)
    try:
        scanned = [a async for a in engine.scan(TICKERS, INSIDE)]
        assert not calls  # a scan never spends quota on company facts
        assert all(a.market_cap is None for a in scanned)
        ok = [a for a in scanned if a.status is Status.OK]
        assert ok
        info = ok[0].expiration_info
        assert info is not None
        assert info.cycle in ("weekly", "monthly")
        assert info.settlement == "PM"  # equity options
        symbol = ok[0].symbol
        first = await engine.analyze(symbol, INSIDE)
        assert calls == [symbol]
        assert first.market_cap is not None
        assert first.market_cap > 0
        again = await engine.analyze(symbol, INSIDE)
        assert calls == [symbol]  # stored and fresh: no second call
        assert again.market_cap == first.market_cap
        rescanned = [a async for a in engine.scan([symbol], INSIDE)]
        assert rescanned[0].market_cap == first.market_cap  # a scan reads the store
    finally:
        await engine.aclose()
