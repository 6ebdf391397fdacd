"""The console's real backend: the engine, the store and the providers behind the `Backend` API.

Building an EngineBackend is cheap (settings, clock, calendar). The engine stack (httpx, the
providers, the store, the analytics) is imported by `start()`, in a thread, so the console paints
its first frame before paying for it and stays responsive meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from ivcrush_tui.app.backend import (
    BREAKER_CLOSED,
    ProviderBadge,
    StatusSnapshot,
)
from ivcrush_tui.calendar import NY, TradingCalendar, default_calendar
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.domain import EarningsEvent, IvCrushError
from ivcrush_tui.engine.clock import Clock, SystemClock

if TYPE_CHECKING:
    import httpx

    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.engine.health_model import HealthReport
    from ivcrush_tui.engine.runtime import Runtime
    from ivcrush_tui.engine.service import Engine

# Imported by start() off the event loop (the heavy part of a cold start).
ENGINE_MODULES = (
    "ivcrush_tui.engine.runtime",
    "ivcrush_tui.engine.service",
    "ivcrush_tui.engine.health",
    "ivcrush_tui.store.repositories",
)


def _import_engine() -> None:
    for name in ENGINE_MODULES:
        importlib.import_module(name)


PREF_DEMO_SEEDED = "demo.watchlist_seeded"
DEMO_SEED_SESSIONS = 3
DEMO_SEED_MAX = 24


class EngineBackend:
    """Opens the runtime on `start()` and closes it on `stop()` (the app's mount/unmount)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.calendar: TradingCalendar = default_calendar()
        self._clock = clock
        self._transport = transport
        self._stack: contextlib.AsyncExitStack | None = None
        self._rt: Runtime | None = None
        self._engine: Engine | None = None
        self._last_scan_at: dt.datetime | None = None
        self._av_left: int | None = None

    @property
    def demo(self) -> bool:
        return self.settings.demo

    def now(self) -> dt.datetime:
        return self._clock.now()

    @property
    def runtime(self) -> Runtime:
        if self._rt is None:
            raise RuntimeError("backend not started")
        return self._rt

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("backend not started")
        return self._engine

    async def start(self) -> None:
        await asyncio.to_thread(_import_engine)
        from ivcrush_tui.engine.runtime import open_runtime, warm_up_analytics
        from ivcrush_tui.engine.service import Engine

        # scipy and the holidays calendar load in a daemon thread while the store opens, not on
        # the loop when the first result is analysed (a ~0.5-1 s stall of the console).
        warm_up_analytics(self.now())

        stack = contextlib.AsyncExitStack()
        self._rt = await stack.enter_async_context(
            open_runtime(self.settings, self._clock, transport=self._transport)
        )
        self._engine = Engine(self._rt)
        stack.push_async_callback(self._engine.aclose)
        self._stack = stack
        self._av_left = await self._rt.av_limiter.remaining()
        if self.demo:
            await self._seed_demo_watchlist()

    async def _seed_demo_watchlist(self) -> None:
        """A first demo session opens on a useful screen: the watchlist is seeded once with the
        names whose entry falls in the next few sessions (never again once the user edits it)."""
        from ivcrush_tui.store.repositories import PrefsRepo, WatchlistRepo

        prefs = PrefsRepo(self.runtime.db)
        repo = WatchlistRepo(self.runtime.db)
        if await prefs.get(PREF_DEMO_SEEDED) or await repo.list():
            return
        now = self.now()
        day = self.calendar.next_entry_window(now)[0].astimezone(NY).date()
        names: list[str] = []
        for _ in range(DEMO_SEED_SESSIONS):
            names += await self.engine.candidates(day, now)
            day = self.calendar.next_session(day)
        await repo.add(list(dict.fromkeys(names))[:DEMO_SEED_MAX])
        await prefs.set(PREF_DEMO_SEEDED, now.isoformat())

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()
        self._rt = self._engine = None

    async def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        now = self.now()
        async for result in self.engine.scan(symbols, now):
            yield result
        self._last_scan_at = now
        self._av_left = await self.runtime.av_limiter.remaining()

    async def analyze(self, symbol: str) -> Analysis:
        return await self.engine.analyze(symbol, self.now())

    async def watchlist(self) -> list[str]:
        from ivcrush_tui.store.repositories import WatchlistRepo

        return list(await WatchlistRepo(self.runtime.db).list())

    async def add_to_watchlist(self, symbols: Sequence[str]) -> None:
        from ivcrush_tui.store.repositories import WatchlistRepo

        await WatchlistRepo(self.runtime.db).add(symbols)

    async def remove_from_watchlist(self, symbols: Sequence[str]) -> None:
        from ivcrush_tui.store.repositories import WatchlistRepo

        await WatchlistRepo(self.runtime.db).remove(symbols)

    async def check_symbol(self, symbol: str) -> str | None:
        try:
            batch = await self.runtime.tradier.stock_quotes([symbol])
        except IvCrushError as exc:
            return f"cannot check {symbol} now: {exc.message}"
        if symbol in batch.quotes:
            return None
        return f"unknown symbol {symbol}"

    async def upcoming_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        from ivcrush_tui.store.repositories import EventsRepo

        await self.engine.ensure_earnings_calendar(self.now())
        return list(await EventsRepo(self.runtime.db).between(start, end))

    async def health(self) -> HealthReport:
        from ivcrush_tui.engine.health import check_health

        report = await check_health(self.runtime)
        av = report.component("alphavantage")
        if av is not None:
            self._av_left = av.budget_left
        return report

    def status(self) -> StatusSnapshot:
        rt = self._rt
        if rt is None:
            return StatusSnapshot(self.demo, (), None, None, None, self._last_scan_at)
        badges = tuple(
            ProviderBadge(
                name, guard.breaker.state.value, guard.breaker.state.value == BREAKER_CLOSED
            )
            for name, guard in rt.guards.items()
        )
        return StatusSnapshot(
            demo=self.demo,
            badges=badges,
            av_quota_left=self._av_left,
            av_quota_total=rt.av_limiter.daily_quota,
            tradier_budget_left=rt.tradier_limiter.budget().available,
            last_scan_at=self._last_scan_at,
        )

    async def get_pref(self, key: str) -> str | None:
        from ivcrush_tui.store.repositories import PrefsRepo

        return await PrefsRepo(self.runtime.db).get(key)

    async def set_pref(self, key: str, value: str) -> None:
        from ivcrush_tui.store.repositories import PrefsRepo

        await PrefsRepo(self.runtime.db).set(key, value)


def make_default_backend() -> EngineBackend:
    """The default configuration (the demo market when no keys are configured), system clock."""
    return EngineBackend(load_settings(None, os.environ), SystemClock())
