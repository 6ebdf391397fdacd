"""The console's real backend against the in-process demo market: the engine runs on its own
thread and loop; results stream to the caller's loop; cancelling the caller (closing the stream,
a closed drill-down) cancels the engine-side work; stop() closes the runtime and joins the thread;
exceptions keep their types; watchlist edits persist across a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.app import IvCrushApp
from ivcrush_tui.app.engine_backend import EngineBackend
from ivcrush_tui.app.engine_thread import EngineThreadError
from ivcrush_tui.config import load_settings
from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.engine.clock import FixedClock

# Monday 2026-11-23 14:30 ET, before that day's entry window (names report this week).
NOW = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)
NAMES = ["AAPL", "MSFT", "NVDA", "AMZN", "META", "JPM", "XOM", "KO", "PEP", "WMT", "DIS", "NKE"]


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No API keys, no user config: the demo market, its store in `tmp_path`."""
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG", "IVCRUSH_THEMES_DIR"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return tmp_path


def make_backend() -> EngineBackend:
    settings = load_settings(None, os.environ)
    assert settings.demo
    return EngineBackend(settings, FixedClock(NOW))


class AnalyzeSpy:
    """Wraps the engine's `analyze` (per ticker, on the engine loop): which thread ran it, and
    how each call ended. `hold` > 0 makes each call wait that long first (cancellable)."""

    def __init__(self, backend: EngineBackend, hold: float = 0.0) -> None:
        engine = backend.engine
        self.real = engine.analyze
        self.hold = hold
        self.threads: set[int] = set()
        self.started: list[str] = []
        self.ended: dict[str, str] = {}  # symbol -> "done" | "cancelled"
        engine.analyze = self  # type: ignore[method-assign]

    async def __call__(self, symbol: str, now: dt.datetime, **kw: Any) -> Analysis:
        self.threads.add(threading.get_ident())
        self.started.append(symbol)
        try:
            if self.hold:
                await asyncio.sleep(self.hold)
            result = await self.real(symbol, now, **kw)
        except asyncio.CancelledError:
            self.ended[symbol] = "cancelled"
            raise
        self.ended[symbol] = "done"
        return result

    @property
    def unfinished(self) -> list[str]:
        return [s for s in self.started if s not in self.ended]


@pytest.fixture
async def backend(isolated: Path) -> AsyncIterator[EngineBackend]:
    b = make_backend()
    await b.start()
    yield b
    await b.stop()
    thread = b.engine_thread.thread
    assert thread is not None
    assert not thread.is_alive()


async def wait_until(cond: Any, limit_s: float = 10.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < limit_s, "timed out"
        await asyncio.sleep(0.01)


async def test_results_stream_from_the_engine_thread(backend: EngineBackend) -> None:
    spy = AnalyzeSpy(backend)
    engine_thread = backend.engine_thread.thread
    assert engine_thread is not None
    assert engine_thread.is_alive()
    got = [a.symbol async for a in backend.scan(NAMES[:4])]
    assert sorted(got) == sorted(NAMES[:4])
    # The engine's work ran on the engine thread only, never on this (the console's) loop.
    assert spy.threads == {engine_thread.ident}
    status = backend.status()
    assert status.last_scan_at == NOW
    assert {b.name for b in status.badges} == {"tradier", "alphavantage"}
    assert status.tradier_budget_left is not None


async def test_closing_the_stream_cancels_the_engine_side_scan(backend: EngineBackend) -> None:
    spy = AnalyzeSpy(backend)
    stream = backend.scan(NAMES)
    first = await anext(stream)
    assert first.symbol in NAMES
    await stream.aclose()  # type: ignore[attr-defined]
    # By the time aclose returns, the engine side has unwound: no ticker is still in flight,
    # and the ones cut short were cancelled rather than left running.
    assert spy.unfinished == []
    assert "cancelled" in spy.ended.values()
    # The engine is still usable afterwards.
    assert (await backend.analyze("KO")).symbol == "KO"


async def test_cancelling_the_consumer_cancels_the_engine_side_scan(
    backend: EngineBackend,
) -> None:
    spy = AnalyzeSpy(backend, hold=30.0)  # every ticker waits: the scan cannot finish

    async def consume() -> None:  # as the app's scan worker does
        async for _ in backend.scan(NAMES[:6]):
            pass

    task = asyncio.create_task(consume())
    await wait_until(lambda: len(spy.started) >= 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert spy.started
    assert spy.unfinished == []
    assert set(spy.ended.values()) == {"cancelled"}


async def test_closing_the_drill_down_cancels_its_engine_side_analysis(isolated: Path) -> None:
    from ivcrush_tui.app.screens.ticker import TickerScreen

    backend = make_backend()
    app = IvCrushApp(backend, refresh_s=3600)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_ready()
        await wait_until(lambda: app.watchlist_loaded)
        spy = AnalyzeSpy(backend, hold=30.0)
        app.open_ticker("ORCL")
        await wait_until(lambda: "ORCL" in spy.started)
        assert isinstance(app.screen, TickerScreen)
        await pilot.press("escape")
        await wait_until(lambda: "ORCL" in spy.ended, limit_s=5.0)
        assert spy.ended["ORCL"] == "cancelled"
    thread = backend.engine_thread.thread
    assert thread is not None
    assert not thread.is_alive()


async def test_exceptions_cross_the_thread_boundary_with_their_type(
    backend: EngineBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = ProviderError(ErrorCode.UNAVAILABLE, "quotes down", provider="tradier", endpoint="q")

    async def fail(_symbol: str, _now: dt.datetime, **_: Any) -> Analysis:
        raise down

    monkeypatch.setattr(backend.engine, "analyze", fail)
    with pytest.raises(ProviderError) as info:
        await backend.analyze("AAPL")
    assert info.value is down  # the very object, so `except IvCrushError` and `.code` still work
    with pytest.raises(ProviderError):  # through a scan's stream too
        async for _ in backend.scan(["AAPL"]):
            pass


async def test_stop_closes_the_runtime_and_joins_the_thread_even_mid_scan(
    isolated: Path,
) -> None:
    backend = make_backend()
    await backend.start()
    spy = AnalyzeSpy(backend, hold=30.0)

    async def consume() -> None:
        async for _ in backend.scan(NAMES):
            pass

    task = asyncio.create_task(consume())
    await wait_until(lambda: len(spy.started) >= 1)
    thread = backend.engine_thread.thread
    t0 = time.monotonic()
    await backend.stop()
    assert time.monotonic() - t0 < 3.0
    assert thread is not None
    assert not thread.is_alive()
    assert spy.unfinished == []
    assert not backend.status().badges  # the runtime is closed
    with pytest.raises(EngineThreadError):
        await task  # the scan ends with an error, not silently as if complete
    with pytest.raises(EngineThreadError):
        await backend.watchlist()


async def test_watchlist_edits_persist_across_a_restart(isolated: Path) -> None:
    first = make_backend()
    await first.start()
    seeded = await first.watchlist()  # the demo seeds a first session's watchlist
    await first.add_to_watchlist(["ORCL", "IBM"])
    await first.remove_from_watchlist([seeded[0]] if seeded else ["IBM"])
    expected = await first.watchlist()
    assert "ORCL" in expected
    assert not seeded or seeded[0] not in expected
    await first.stop()

    second = make_backend()
    await second.start()
    try:
        assert await second.watchlist() == expected
    finally:
        await second.stop()


async def test_the_demo_seeds_its_own_watchlist_never_the_live_one(isolated: Path) -> None:
    backend = make_backend()
    await backend.start()
    try:
        seeded = await backend.watchlist()
    finally:
        await backend.stop()
    settings = backend.settings
    assert seeded  # a first demo session opens on the names reporting soon
    assert settings.database_path.name == "ivcrush-demo.sqlite3"
    assert settings.database_path.parent == settings.storage.path.parent
    assert settings.database_path.exists()
    assert not settings.storage.path.exists()  # the live file was never created, let alone seeded


async def test_the_demo_console_streams_out_of_the_box(isolated: Path) -> None:
    """Default demo settings: after a scan the names stream from the in-process demo market and
    re-priced batches reach the console's loop (the market clock runs, so quotes move)."""
    from ivcrush_tui.engine.clock import RunningClock

    settings = load_settings(None, os.environ)
    assert settings.demo
    assert settings.tradier.streaming  # the default
    backend = EngineBackend(settings, RunningClock(NOW + dt.timedelta(minutes=35)))
    await backend.start()
    try:
        got = [a.symbol async for a in backend.scan(NAMES[:4])]
        assert sorted(got) == sorted(NAMES[:4])
        updates = backend.live_updates()
        batch = await asyncio.wait_for(anext(updates), timeout=15)
        assert batch
        assert {a.symbol for a in batch} <= set(NAMES[:4])
        await wait_until(lambda: backend.status().stream_mode == "LIVE", 10)
        assert backend.status().streamed
        report = await backend.health()
        assert report.stream is not None
        assert report.stream["connected"] is True
        assert report.to_json()["stream"]["mode"] == "LIVE"
        await updates.aclose()  # type: ignore[attr-defined]
    finally:
        await backend.stop()
