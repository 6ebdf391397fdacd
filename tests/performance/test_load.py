"""Small load tests (marker `performance`, a few seconds in CI); the heavy variants are in
benchmarks/bench_load.py. Real loopback sockets, the demo server answering after 20-30 ms.

Budgets asserted here are loose ceilings (CI machines are slow and shared); the figures measured
on a developer machine are in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.guard import OperationSummary
from tests.integration.live_env import (
    CLOCK,
    collect_garbage,
    market,
    scan,
    server_clock,
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
    faults = FaultConfig(latency_ms=20.0, jitter_ms=10.0, tradier_limit_per_min=100_000)
    with DemoServer(market(), faults, server_clock) as srv:
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
