"""A warm rescan at Tradier's 120/min window (issue 14): each ticker's ATM quotes are kept per
underlying, so a rescan finds them without waiting for a batch of other tickers, in the same
runtime and after a restart (the L2 cache in the store); a new name's quotes are the only ones
fetched. Real loopback server, real SQLite; the clock is injected (client and server)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.engine.clock import SteppedClock
from ivcrush_tui.engine.runtime import Runtime, open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.store.repositories import EventsRepo
from tests.integration.live_env import NOW, market, settings_for, write_config

LATENCY_S = 0.4
WARM = ["AAPL", "MSFT"]  # scanned first
NEW = "NVDA"  # added at the rescan: cold
# The rescan comes within the quotes' and chains' 30 s cache lifetime (the console's entry-window
# refresh is 15 s).
RESCAN_AFTER = dt.timedelta(seconds=10)
QUOTES = "/tradier/v1/markets/quotes"


class ServerClock:
    def __init__(self) -> None:
        self.at = NOW.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def server_clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
def server(server_clock: ServerClock) -> Iterator[DemoServer]:
    # Tradier's live window: quote batches are held for company (requests are scarce).
    with DemoServer(market(), FaultConfig(tradier_limit_per_min=120), server_clock) as srv:
        yield srv


async def _scan(rt: Runtime, symbols: list[str]) -> list[tuple[float, Analysis]]:
    """(seconds from the scan's start, outcome), in completion order."""
    engine = Engine(rt)
    t0 = time.perf_counter()
    try:
        return [(time.perf_counter() - t0, a) async for a in engine.scan(symbols, rt.clock.now())]
    finally:
        await engine.aclose()


def _quote_requests(server: DemoServer) -> int:
    return server.request_counts.get(QUOTES, 0)


async def test_a_warm_rescan_does_not_wait_for_a_batch_held_for_a_new_name(
    server: DemoServer, server_clock: ServerClock, tmp_path: Path
) -> None:
    settings = settings_for(write_config(tmp_path, server))
    clock = SteppedClock(NOW)
    async with open_runtime(settings, clock) as rt:
        first = await _scan(rt, WARM)
        assert [a.status for _, a in first] == [Status.OK, Status.OK]

        later = NOW + RESCAN_AFTER
        clock.set(later)
        server_clock.at = later.astimezone(dt.UTC)
        server.set_faults(FaultConfig(tradier_limit_per_min=120, latency_ms=LATENCY_S * 1000))
        rescan = await _scan(rt, [*WARM, NEW])

    assert all(a.status is Status.OK for _, a in rescan)
    order = [a.symbol for _, a in rescan]
    # The warm names come first: their ATM quotes were kept, so they did not wait while the
    # new name's expirations and chain travelled (one batch for all three took two round trips
    # more than the scan's stock quotes: all three came together).
    assert set(order[:2]) == set(WARM), order
    first_at, new_at = rescan[0][0], rescan[2][0]
    assert first_at < 1.6 * LATENCY_S, rescan  # one round trip: the stock quotes
    assert new_at > first_at + 0.5 * LATENCY_S  # the new name's requests, after it


async def test_a_rescan_after_a_restart_finds_each_tickers_quotes_in_the_store(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, SteppedClock(NOW)) as rt:
        first = await _scan(rt, [*WARM, NEW])
    assert all(a.status is Status.OK for _, a in first)
    # The three names' ATM quotes rode in one batch. A rescan of two of them, in a new runtime
    # (nothing in memory), asks for the stock quotes only: each name's option quotes come from
    # the store, kept per underlying (the batch's own key, three names, is not asked again).
    server.reset_counters()
    async with open_runtime(settings, SteppedClock(NOW + RESCAN_AFTER)) as rt:
        rescan = await _scan(rt, WARM)
    assert all(a.status is Status.OK for _, a in rescan)
    assert _quote_requests(server) == 1, server.request_counts
    by_symbol = {a.symbol: a for _, a in first}
    for _, a in rescan:  # the term structure stands on the same expirations as before
        before = by_symbol[a.symbol].term
        assert a.term is not None
        assert before is not None
        assert len(a.term.points) > 1
        assert [p.expiration for p in a.term.points] == [p.expiration for p in before.points]


async def test_a_later_process_the_same_day_reuses_the_stores_calendar(
    server: DemoServer, tmp_path: Path
) -> None:
    # The first runtime of the day loads the earnings calendar into the store; a later one (a
    # fresh `ivcrush scan`) neither reads it again nor rewrites the stored events, and its names
    # still have their upcoming events.
    settings = settings_for(write_config(tmp_path, server))
    async with open_runtime(settings, SteppedClock(NOW)) as rt:
        await _scan(rt, WARM)
        stamped = await EventsRepo(rt.db).last_fetched(WARM[0])
    assert stamped is not None
    server.reset_counters()
    async with open_runtime(settings, SteppedClock(NOW + RESCAN_AFTER)) as rt:
        engine = Engine(rt)
        try:
            await engine.ensure_earnings_calendar(rt.clock.now())
            assert engine.calendar_error(rt.clock.now()) is None
        finally:
            await engine.aclose()
        rescan = await _scan(rt, WARM)
        # Not rewritten: a rewrite stamps every listed event with its own time.
        assert await EventsRepo(rt.db).last_fetched(WARM[0]) == stamped
    assert server.request_counts.get("/alphavantage/query", 0) == 0, server.request_counts
    assert all(a.status is Status.OK for _, a in rescan)
    # The next day is loaded again.
    async with open_runtime(settings, SteppedClock(NOW + dt.timedelta(days=1))) as rt:
        engine = Engine(rt)
        try:
            await engine.ensure_earnings_calendar(rt.clock.now())
        finally:
            await engine.aclose()
    assert server.request_counts.get("/alphavantage/query", 0) >= 1


async def test_the_first_result_of_a_shared_batch_does_not_wait_for_the_others_analyses(
    server: DemoServer, server_clock: ServerClock, tmp_path: Path
) -> None:
    # A rescan after the quotes' 30 s: every name's last input is the one ATM quote batch, so all
    # of them are ready to be analysed at once. The most urgent is analysed and its result
    # (ledger row written) returned first; the others' analyses do not run before it is out.
    names = ["AAPL", "MSFT", "NVDA", "GOOGL", "AMZN"]
    settings = settings_for(write_config(tmp_path, server))
    clock = SteppedClock(NOW)
    async with open_runtime(settings, clock) as rt:
        assert all(a.status is Status.OK for _, a in await _scan(rt, names))
        later = NOW + dt.timedelta(seconds=60)
        clock.set(later)
        server_clock.at = later.astimezone(dt.UTC)
        server.set_faults(FaultConfig(tradier_limit_per_min=120, latency_ms=100))
        server.reset_counters()
        engine = Engine(rt)
        analysed: list[str] = []
        engine.inputs_hook = lambda inputs, _: analysed.append(inputs.symbol)
        analysed_at_first: int | None = None
        results: list[Analysis] = []
        try:
            async for a in engine.scan(names, later):
                if analysed_at_first is None:
                    analysed_at_first = len(analysed)
                results.append(a)
        finally:
            await engine.aclose()
    assert all(a.status is Status.OK for a in results)
    assert sorted(analysed) == sorted(names)
    assert _quote_requests(server) == 2, server.request_counts  # stock quotes, one ATM batch
    assert results[0].symbol == names[0]  # the most urgent first
    # Its own analysis, and at most the next one's (started as the slot was handed on, before
    # the scan's consumer resumed): not all five.
    assert analysed_at_first is not None
    assert analysed_at_first <= 2, analysed
