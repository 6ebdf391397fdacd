"""Outages keep the last good values (issue 14), over real loopback sockets: the whole engine
against the demo market's HTTP server, which the test takes down between two scans.

- `ivcrush serve`: after a good scan the provider goes down, the breaker opens, and `GET /analyses`
  (over HTTP) still answers each ticker's last good figures with `stale` saying why; the provider
  comes back and the next scan clears it.
- The console on its real backend (the engine on its own thread): the rows keep their values,
  dimmed, with the reason, and the age of their quote.

The clock runs on a monotonic clock the test moves, so the cached quotes and chains of the first
scan have expired by the second one (a frozen clock would answer it from the cache).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivcrush_tui.app.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.screens.watchlist import WatchlistScreen
from ivcrush_tui.engine.clock import RunningClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.resilience.breaker import BreakerState
from ivcrush_tui.serve.app import ServeApp, serving
from ivcrush_tui.store.repositories import WatchlistRepo
from tests.integration.live_env import NOW, collect_garbage, settings_for, write_config
from tests.integration.live_env import serving as demo_serving

WATCH = ["AAPL", "MSFT", "NVDA"]
# Past every quote and chain TTL of the first scan (and the L2 cap): the second scan must ask.
LATER_S = 900.0
DOWN_CODES = {"unavailable", "circuit_open"}


class Ticks:
    """A monotonic clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(autouse=True)
def _finalize() -> Iterator[None]:
    yield
    collect_garbage()


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with demo_serving() as srv:
        yield srv


async def _analyses(app: ServeApp) -> dict[str, dict[str, Any]]:
    async with (
        serving(app, host="127.0.0.1", port=0) as http,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{http.port}") as client,
    ):
        resp = await client.get("/analyses")
    assert resp.status_code == 200
    return {row["ticker"]: row for row in resp.json() if row["ticker"] in WATCH}


async def test_serve_keeps_the_last_good_analyses_through_an_outage(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(
        write_config(
            tmp_path,
            server,
            resilience={"breaker_failures": 3, "breaker_reset_s": 0.5, "retry_attempts": 2},
        )
    )
    ticks = Ticks()
    clock = RunningClock(NOW, monotonic=ticks)
    async with open_runtime(settings, clock) as rt:
        await WatchlistRepo(rt.db).add(WATCH)
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            await app.loop.scan_once()
            good = await _analyses(app)
            assert set(good) == set(WATCH)
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
            for sym in WATCH:
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
            assert errors >= len(WATCH)

            # The provider is back: once the breaker lets a probe through, a good scan clears it.
            server.set_down(False)
            await asyncio.sleep(0.6)
            ticks.t += LATER_S
            await app.loop.scan_once()
            back = await _analyses(app)
            for sym in WATCH:
                assert back[sym]["stale"] is None, back[sym]
                assert back[sym]["status"] == "ok"
                assert back[sym]["as_of"] > good[sym]["as_of"]
        finally:
            await engine.aclose()


async def test_the_console_keeps_rows_through_an_outage_on_its_real_backend(
    server: DemoServer, tmp_path: Path
) -> None:
    settings = settings_for(
        write_config(
            tmp_path,
            server,
            resilience={"breaker_failures": 3, "breaker_reset_s": 600, "retry_attempts": 2},
        )
    )
    ticks = Ticks()
    backend = EngineBackend(settings, RunningClock(NOW, monotonic=ticks))
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_ready()
        app.add_symbols(WATCH, checked=True)

        async def until(cond: Any) -> None:
            for _ in range(600):
                await pilot.pause(0.05)
                if cond():
                    return
            raise AssertionError("timed out")

        await until(lambda: all(s in app.results for s in WATCH) and not app.scan_running)
        screen = app.screen
        assert isinstance(screen, WatchlistScreen)
        screen.flush()
        before = {s: dict(screen.cells_for(s)) for s in WATCH}
        assert all(app.results[s].ok for s in WATCH), [app.results[s].error for s in WATCH]

        server.set_down(True)
        ticks.t += LATER_S
        app.start_scan()
        await until(lambda: all(app.results[s].stale is not None for s in WATCH))
        await until(lambda: not app.scan_running)
        screen.mark_all_dirty(flush=True)
        for sym in WATCH:
            row = screen.cells_for(sym)
            assert row["rec"] == "STALE", row
            assert row["tier"] in {"⚠ down", "⚠ breaker"}, row
            for key in ("spot", "implied", "vrp", "hist"):
                assert row[key] == before[sym][key], (sym, key)
            # The age of the quote the figures come from: the time the test moved the clock.
            assert row["age"] == "15m", row
        assert {r.code for r in app.recent_errors} <= DOWN_CODES
        assert len(app.recent_errors) >= len(WATCH)
