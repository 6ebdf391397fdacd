"""Small load tests (marker `performance`, a few seconds in CI); the heavy variants are in
benchmarks/bench_load.py. Real loopback sockets, the demo server answering after 20-30 ms.

Budgets asserted here are loose ceilings (CI machines are slow and shared); the figures measured
on a developer machine are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.engine.clock import FixedClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.providers.tradier import QUOTE_CHUNK
from ivcrush_tui.resilience.guard import OperationSummary
from tests.integration.live_env import (
    CLOCK,
    WIDE_WINDOW,
    collect_garbage,
    market,
    scan,
    server_clock,
    serving,
    settings_for,
    write_config,
)

pytestmark = pytest.mark.performance

# Tradier requests per ticker on a cold scan: expirations + chain + history + shared quotes
# (docs: ~3.3). A regression that un-batches quotes or refetches would break this.
MAX_TRADIER_REQUESTS_PER_TICKER = 4.0


@pytest.fixture(autouse=True)
def _finalize() -> Iterator[None]:
    yield
    collect_garbage()


@pytest.fixture
def server() -> Iterator[DemoServer]:
    faults = FaultConfig(latency_ms=20.0, jitter_ms=10.0, tradier_limit_per_min=WIDE_WINDOW)
    with serving(faults) as srv:
        yield srv


def _check_operations(ops: dict[str, OperationSummary], names: set[str]) -> None:
    assert names <= set(ops), set(ops)
    for name in names:
        s = ops[name]
        assert s.count >= 1
        assert s.mean_ms is not None
        assert s.p50_ms is not None
        assert s.p95_ms is not None
        assert s.p99_ms is not None
        assert 20.0 <= s.p50_ms <= s.p95_ms <= s.p99_ms  # the server's 20 ms floor is visible
        assert s.p99_ms < 5000.0


async def test_a_twenty_ticker_scan(server: DemoServer, tmp_path: Path) -> None:
    settings = settings_for(write_config(tmp_path, server))
    symbols = list(market().symbols[:20])
    t0 = time.perf_counter()
    async with open_runtime(settings, CLOCK) as rt:
        results = await scan(rt, symbols)
        elapsed = time.perf_counter() - t0
        ops = rt.tradier_guard.stats.operations()
        av_ops = rt.av_guard.stats.operations()
    assert len(results) == 20
    assert all(a.status is not Status.ERROR for a in results), [a.error for a in results]
    _check_operations(ops, {"quotes", "expirations", "chains", "history"})
    _check_operations(av_ops, {"EARNINGS"})
    tradier = sum(n for p, n in server.request_counts.items() if p.startswith("/tradier"))
    assert tradier / len(symbols) <= MAX_TRADIER_REQUESTS_PER_TICKER
    assert elapsed < 20.0, elapsed  # ~2 s on a developer machine


async def test_three_concurrent_scanners_on_one_database(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(write_config(tmp_path, server))
    names = market().symbols

    async def one(i: int) -> list[Analysis]:
        async with open_runtime(settings, CLOCK) as rt:
            return await scan(rt, names[5 * i : 5 * i + 5])

    t0 = time.perf_counter()
    batches = await asyncio.gather(*(one(i) for i in range(3)))
    elapsed = time.perf_counter() - t0
    results = [a for b in batches for a in b]
    assert len(results) == 15
    assert all(a.status is not Status.ERROR for a in results), [a.error for a in results]
    assert elapsed < 20.0, elapsed


class QuoteSizes(httpx.AsyncBaseTransport):
    """Real sockets; records how many symbols each /markets/quotes request carries."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sizes: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/markets/quotes"):
            fields = dict(request.url.params)
            if request.method == "POST":
                fields.update(parse_qsl(request.content.decode()))
            self.sizes.append(len(fields["symbols"].split(",")))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_second_scan_the_same_day_fits_one_120_per_minute_window(tmp_path: Path) -> None:
    """Issue #4: later the same day (expirations cached, bars stored) a scan costs one chain per
    ticker plus shared quote batches. With requests scarce, a partial ATM batch is held while
    tickers in flight are not all waiting on it, so batches go out full but for the last one and
    those a QUOTE_MAX_HOLD_S cap lets go (at most one per full batch): on average at least half
    full. Sent every QUOTE_MAX_WAIT_S instead, they were mostly small (8 of 9 here)."""
    n = 40
    names = list(market().symbols[:n])
    # The morning scan is not limited (the server advertises a wide window, the client learns it).
    faults = FaultConfig(latency_ms=30.0, tradier_limit_per_min=100_000)
    with DemoServer(market(), faults, server_clock) as srv:
        # Five request slots: 20 tickers in flight (~500 ATM keys), the rest trickle in as those
        # finish.
        settings = settings_for(write_config(tmp_path, srv, engine={"concurrency": 5}))
        async with open_runtime(settings, CLOCK) as rt:  # the morning's scan: fills the cache
            first = await scan(rt, names)
        assert all(a.status is not Status.ERROR for a in first), [a.error for a in first]
        srv.set_faults(dataclasses.replace(faults, tradier_limit_per_min=120))
        srv.reset_counters()  # and a new window
        later = FixedClock(CLOCK.now() + dt.timedelta(minutes=15))
        transport = QuoteSizes()
        async with open_runtime(settings, later, transport=transport) as rt:  # a new process
            second = await scan(rt, names)
        counts = {
            p.removeprefix("/tradier/v1"): c
            for p, c in srv.request_counts.items()
            if p.startswith("/tradier") and c
        }
        limited = srv.rate_limited_count
    assert all(a.status is not Status.ERROR for a in second), [a.error for a in second]
    assert "/markets/options/expirations" not in counts  # cached for the day
    assert "/markets/history" not in counts  # stored by the first scan
    assert counts["/markets/options/chains"] <= n
    stock, *atm = transport.sizes
    assert stock == n
    assert sum(atm) >= 4 * n * 0.8  # the ATM quotes of the term curves were asked for
    assert len(atm) <= 2 * math.ceil(sum(atm) / QUOTE_CHUNK) + 1, transport.sizes
    assert counts["/markets/quotes"] == 1 + len(atm)
    assert sum(counts.values()) <= 120  # one window
    assert limited == 0
