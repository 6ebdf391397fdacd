"""Resilience over real loopback sockets: the whole engine (cache -> limiter -> breaker -> retry ->
httpx) against the demo market's HTTP server with injected faults.

- 50 tickers with 20 % transient failures: >= 95 % succeed, every failure has a code;
- provider down: the breaker opens, the rest fail fast (circuit_open), then recover half-open;
- a stalling server: the scan ends within its timeout budget;
- Tradier's fixed 60 s window: no 429 when the limiter knows the window; a forced 429 is waited
  out and the request succeeds;
- outages keep the last good values (issue 14): after a good scan the provider goes down and the
  breaker opens; `serve`'s `GET /analyses` (over HTTP) and the console on its real backend keep
  each ticker's last good figures with the reason (`stale`; the STALE row), and a good scan
  clears it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import tomli_w

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.screens.watchlist import WatchlistScreen
from ivcrush_tui.config import Settings
from ivcrush_tui.domain import ErrorCode
from ivcrush_tui.engine.clock import RunningClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.breaker import BreakerState, CircuitBreaker
from ivcrush_tui.resilience.ratelimit import TradierWindowLimiter
from ivcrush_tui.resilience.retry import RetryPolicy
from ivcrush_tui.serve.app import ServeApp
from ivcrush_tui.serve.app import serving as serve_http
from ivcrush_tui.store.repositories import WatchlistRepo
from tests.integration.live_env import (
    CLOCK,
    NOW,
    WIDE_WINDOW,
    collect_garbage,
    market,
    scan,
    server_clock,
    serving,
    settings_for,
    write_config,
)

CODES = {c.value for c in ErrorCode}


@pytest.fixture(autouse=True)
def _finalize() -> Iterator[None]:
    yield
    collect_garbage()


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with serving() as srv:
        yield srv


def _state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # a call, so mypy does not narrow the property across awaits


def _tradier_requests(server: DemoServer) -> int:
    return sum(n for path, n in server.request_counts.items() if path.startswith("/tradier"))


def _explicit(results: list[Analysis]) -> None:
    """Every failure is typed: a known code, a message and the correlation id of its request."""
    for a in results:
        if a.status is Status.ERROR:
            assert a.error is not None, a.symbol
            assert a.error.code in CODES, a.error
            assert a.error.message.strip(), a.error
            assert a.error.correlation_id, a.error


async def test_fifty_tickers_with_twenty_percent_transient_faults(
    server: DemoServer, tmp_path: Path
) -> None:
    server.set_faults(
        FaultConfig(error_rate=0.15, reset_rate=0.05, tradier_limit_per_min=WIDE_WINDOW, seed=7)
    )
    # 8 consecutive failures at a 20 % fault rate: ~3e-6 per attempt, so the breaker stays shut.
    settings = settings_for(write_config(tmp_path, server, resilience={"breaker_failures": 8}))
    symbols = list(market().symbols[:50])
    async with open_runtime(settings, CLOCK) as rt:
        results = await scan(rt, symbols)
        stats = rt.tradier_guard.stats
    assert sorted(a.symbol for a in results) == sorted(symbols)
    injected = server.stats().injected
    assert injected["error"] + injected["reset"] >= 30  # the faults really happened
    assert stats.retries > 0
    assert stats.attempt_failures > 0
    ok = [a for a in results if a.status is not Status.ERROR]
    assert len(ok) / len(results) >= 0.95, Counter(
        a.error.code for a in results if a.error and a.status is Status.ERROR
    )
    assert sum(a.status is Status.OK for a in results) >= 45
    _explicit(results)


async def test_provider_down_opens_the_breaker_fails_fast_and_recovers_half_open(
    server: DemoServer, tmp_path: Path
) -> None:
    reset_s = 1.0
    settings = settings_for(
        write_config(
            tmp_path,
            server,
            resilience={"breaker_failures": 3, "breaker_reset_s": reset_s, "retry_attempts": 2},
        )
    )
    symbols = list(market().symbols[:12])
    async with open_runtime(settings, CLOCK) as rt:
        server.set_down(True)
        results = await scan(rt, symbols)
        assert all(a.status is Status.ERROR for a in results)
        _explicit(results)
        codes = Counter(a.error.code for a in results if a.error)
        assert set(codes) <= {"unavailable", "circuit_open"}, codes
        assert codes["circuit_open"] >= len(symbols) // 2, codes
        assert rt.tradier_guard.breaker.state is BreakerState.OPEN

        # While open, each remaining ticker fails at once, without a request.
        sent = _tradier_requests(server)
        engine = Engine(rt)
        try:
            for sym in market().symbols[12:17]:
                t0 = time.perf_counter()
                a = await engine.analyze(sym, CLOCK.now())
                assert time.perf_counter() - t0 < 1.0
                assert a.error is not None
                assert a.error.code == "circuit_open", a.error
                assert "circuit open" in a.error.message
        finally:
            await engine.aclose()
        assert _tradier_requests(server) == sent

        # The provider comes back: after the reset timeout one probe closes the circuit.
        server.set_down(False)
        await asyncio.sleep(reset_s + 0.1)
        assert _state(rt.tradier_guard.breaker) is BreakerState.HALF_OPEN
        recovered = await scan(rt, symbols)
        assert sum(a.status is Status.OK for a in recovered) >= len(symbols) - 1, [
            (a.status, a.error) for a in recovered
        ]
        moves = [(t.from_state, t.to_state) for t in rt.tradier_guard.breaker.transitions]
        assert (BreakerState.CLOSED, BreakerState.OPEN) in moves
        assert (BreakerState.HALF_OPEN, BreakerState.CLOSED) in moves
        assert _state(rt.tradier_guard.breaker) is BreakerState.CLOSED


async def test_a_stalling_server_ends_the_scan_within_its_timeout_budget(
    server: DemoServer, tmp_path: Path
) -> None:
    timeout_s, attempts = 0.3, 2
    server.set_faults(FaultConfig(stall_rate=1.0, stall_s=10.0, tradier_limit_per_min=WIDE_WINDOW))
    settings = settings_for(
        write_config(
            tmp_path,
            server,
            tradier={"timeout_s": timeout_s},
            alphavantage={"timeout_s": timeout_s},
            resilience={"retry_attempts": attempts, "breaker_failures": 3},
        )
    )
    symbols = list(market().symbols[:10])
    # Per ticker the requests run in at most 4 dependent stages (calendar, quote/expirations,
    # chain+history+earnings), each at most `attempts` timeouts plus back-off; the breaker
    # cuts it shorter. The whole scan must end well inside that, never hang on the stall.
    budget_s = 4 * attempts * (timeout_s + 0.1) + 1.0
    t0 = time.perf_counter()
    async with open_runtime(settings, CLOCK) as rt:
        results = await asyncio.wait_for(scan(rt, symbols), timeout=budget_s * 3)
        last_error = rt.tradier_guard.stats.last_error
        transitions = list(rt.tradier_guard.breaker.transitions)
    elapsed = time.perf_counter() - t0
    assert elapsed < budget_s, elapsed
    assert len(results) == len(symbols)
    assert all(a.status is Status.ERROR for a in results)
    _explicit(results)
    # Tickers fail with the timeout, or (once the timeouts opened the breaker) circuit_open.
    codes = {a.error.code for a in results if a.error}
    assert codes <= {"timeout", "circuit_open"}, codes
    assert server.stats().injected["stall"] >= 3
    assert last_error is not None
    assert last_error.code in ("timeout", "circuit_open")
    assert any(t.to_state is BreakerState.OPEN for t in transitions)


class SharedMonotonic:
    """One monotonic clock for the server's windows and the client's limiter and retries; sleeping
    advances it, so a 60 s Tradier window passes in no real time."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        step = max(seconds, 0.0)
        self.t += step
        self.slept += step
        await asyncio.sleep(0)


async def test_the_tradier_window_is_respected_without_a_single_429(tmp_path: Path) -> None:
    mono = SharedMonotonic()
    limit = 10
    faults = FaultConfig(tradier_limit_per_min=limit)
    with DemoServer(market(), faults, server_clock, monotonic=mono) as server:
        settings = settings_for(write_config(tmp_path, server))
        async with open_runtime(settings, CLOCK) as rt:
            limiter = TradierWindowLimiter(limit, monotonic=mono, now=CLOCK.now, sleep=mono.sleep)
            rt.tradier_limiter = limiter
            rt.tradier_guard.limiter = limiter
            results = await scan(rt, market().symbols[:8])
        tradier_requests = _tradier_requests(server)
    assert tradier_requests > 2 * limit  # the scan needed three windows
    assert server.rate_limited_count == 0
    assert mono.slept >= 2 * 60.0  # it waited the windows out instead of being refused
    assert all(a.status is not Status.ERROR for a in results), [a.error for a in results]


async def test_a_forced_429_is_waited_out_and_the_request_succeeds(tmp_path: Path) -> None:
    mono = SharedMonotonic()
    limit = 5
    faults = FaultConfig(tradier_limit_per_min=limit)
    with DemoServer(market(), faults, server_clock, monotonic=mono) as server:
        settings = settings_for(write_config(tmp_path, server))
        async with open_runtime(settings, CLOCK) as rt:
            # Another client on the same token spent this window: our limiter cannot know.
            for _ in range(limit):
                await rt.tradier.clock()
            assert server.rate_limited_count == 0
            fresh = TradierWindowLimiter(120, monotonic=mono, now=CLOCK.now, sleep=mono.sleep)
            rt.tradier_limiter = fresh
            rt.tradier_guard.limiter = fresh
            rt.tradier_guard.retry = RetryPolicy(attempts=3, base_s=0.01, sleep=mono.sleep)
            mono.t += 1.0
            before = mono.t
            quote = await rt.tradier.stock_quotes(["AAPL"])
            waited = mono.t - before
    assert server.rate_limited_count == 1  # refused once...
    assert "AAPL" in quote.quotes  # ...then answered
    assert 55.0 <= waited <= 65.0, waited  # the rest of the server's 60 s window (+ margin)


async def test_an_unreachable_provider_costs_no_alpha_vantage_quota(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    quota = 25
    config = tmp_path / "config.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "tradier": {"token": "t-unreach", "base_url": f"{base}/tradier/v1"},
                "alphavantage": {
                    "api_key": "k-unreach",
                    "base_url": f"{base}/alphavantage/query",
                    "daily_quota": quota,
                    "max_per_second": 100.0,
                },
                "resilience": {"backoff_base_s": 0.01, "backoff_max_s": 0.02},
                "storage": {"path": str(tmp_path / "db.sqlite3"), "log_dir": str(tmp_path)},
            }
        )
    )
    settings = settings_for(config)
    for _ in range(3):  # three cron runs during an outage
        async with open_runtime(settings, CLOCK) as rt:
            results = await scan(rt, market().symbols[:3])
            _explicit(results)
            assert all(a.status is Status.ERROR for a in results)
            assert rt.av_guard.stats.attempts >= 1
    async with open_runtime(settings, CLOCK) as rt:
        assert await rt.av_limiter.remaining() == quota


# -- outages keep the last good values (issue 14) -------------------------------------------------

OUTAGE_WATCH = ["AAPL", "MSFT", "NVDA"]
# Past every quote and chain TTL of the first scan (and the L2 cap): the second scan must ask.
LATER_S = 900.0
DOWN_CODES = {"unavailable", "circuit_open"}


def _outage_setup(
    tmp_path: Path, server: DemoServer, *, breaker_reset_s: float
) -> tuple[Settings, SharedMonotonic, RunningClock]:
    """Live settings against `server` (a breaker that opens after 3 failures), and a clock that
    runs from NOW as the test moves it: the cached quotes and chains of a first scan have expired
    by a second one the test moves LATER_S on (a frozen clock would answer it from the cache)."""
    settings = settings_for(
        write_config(
            tmp_path,
            server,
            resilience={
                "breaker_failures": 3,
                "breaker_reset_s": breaker_reset_s,
                "retry_attempts": 2,
            },
        )
    )
    ticks = SharedMonotonic()
    return settings, ticks, RunningClock(NOW, monotonic=ticks)


async def _analyses(app: ServeApp) -> dict[str, dict[str, Any]]:
    async with (
        serve_http(app, host="127.0.0.1", port=0) as http,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client,
    ):
        resp = await client.get("/analyses")
    assert resp.status_code == 200
    return {row["ticker"]: row for row in resp.json() if row["ticker"] in OUTAGE_WATCH}


async def test_serve_keeps_the_last_good_analyses_through_an_outage(
    server: DemoServer, tmp_path: Path
) -> None:
    settings, ticks, clock = _outage_setup(tmp_path, server, breaker_reset_s=0.5)
    async with open_runtime(settings, clock) as rt:
        await WatchlistRepo(rt.db).add(OUTAGE_WATCH)
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            await app.loop.scan_once()
            good = await _analyses(app)
            assert set(good) == set(OUTAGE_WATCH)
            for row in good.values():
                assert row["status"] == "ok", row
                assert row["stale"] is None
                assert row["quote_time"] is not None  # the demo quote's trade/bid-ask time

            server.set_down(True)
            ticks.t += LATER_S
            failed_at = clock.now()
            await app.loop.scan_once()
            assert rt.tradier_guard.breaker.state is BreakerState.OPEN
            kept = await _analyses(app)
            for sym in OUTAGE_WATCH:
                row, before = kept[sym], good[sym]
                # The figures are the last good ones, as they were ...
                for key in ("status", "as_of", "quote_time", "spot", "vrp_ratio", "tier"):
                    assert row[key] == before[key], (sym, key)
                # ... and `stale` says why, since when, and which request to grep for.
                stale = row["stale"]
                assert stale is not None, row
                assert stale["code"] in DOWN_CODES, stale
                assert stale["message"]
                assert stale["correlation_id"]
                assert dt.datetime.fromisoformat(stale["since"]) == failed_at
            # The scan's own outcome is still counted as the errors it was.
            errors = app.metrics.registry.get_sample_value(
                "ivcrush_scan_results_total", {"status": "error"}
            )
            assert errors is not None
            assert errors >= len(OUTAGE_WATCH)

            # The provider is back: once the breaker lets a probe through, a good scan clears it.
            server.set_down(False)
            await asyncio.sleep(0.6)
            ticks.t += LATER_S
            await app.loop.scan_once()
            back = await _analyses(app)
            for sym in OUTAGE_WATCH:
                assert back[sym]["stale"] is None, back[sym]
                assert back[sym]["status"] == "ok"
                assert back[sym]["as_of"] > good[sym]["as_of"]
        finally:
            await engine.aclose()


async def test_the_console_keeps_rows_through_an_outage_on_its_real_backend(
    server: DemoServer, tmp_path: Path
) -> None:
    settings, ticks, clock = _outage_setup(tmp_path, server, breaker_reset_s=600)
    backend = EngineBackend(settings, clock)
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_ready()
        app.add_symbols(OUTAGE_WATCH, checked=True)

        async def until(cond: Any) -> None:
            for _ in range(600):
                await pilot.pause(0.05)
                if cond():
                    return
            raise AssertionError("timed out")

        await until(lambda: all(s in app.results for s in OUTAGE_WATCH) and not app.scan_running)
        screen = app.screen
        assert isinstance(screen, WatchlistScreen)
        screen.flush()
        before = {s: dict(screen.cells_for(s)) for s in OUTAGE_WATCH}
        assert all(app.results[s].ok for s in OUTAGE_WATCH), [
            app.results[s].error for s in OUTAGE_WATCH
        ]

        server.set_down(True)
        ticks.t += LATER_S
        app.start_scan()
        await until(lambda: all(app.results[s].stale is not None for s in OUTAGE_WATCH))
        await until(lambda: not app.scan_running)
        screen.mark_all_dirty(flush=True)
        for sym in OUTAGE_WATCH:
            row = screen.cells_for(sym)
            assert row["rec"] == "STALE", row
            assert row["tier"] in {"⚠ down", "⚠ breaker"}, row
            for key in ("spot", "implied", "vrp", "hist"):
                assert row[key] == before[sym][key], (sym, key)
            # The age of the quote the figures come from: the time the test moved the clock.
            assert row["age"] == "15m", row
        assert {r.code for r in app.recent_errors} <= DOWN_CODES
        assert len(app.recent_errors) >= len(OUTAGE_WATCH)
