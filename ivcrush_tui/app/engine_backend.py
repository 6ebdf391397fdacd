"""The console's real backend: the engine, the store and the providers behind the `Backend` API.

Building an EngineBackend is cheap (settings, clock, calendar). `start()` starts the engine
thread (`engine_thread.EngineThread`: its own asyncio loop) and opens the engine stack there
(httpx, the providers, the store, the analytics are imported and opened on that loop), so the
console paints its first frame before paying for it and its loop never runs the engine's work.
The runtime and the engine are used on the engine loop only: every async method runs there
(`_on_engine`), and `status()` reads a snapshot that the engine loop keeps current.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import importlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, TypeVar

from ivcrush_tui.app.backend import (
    BREAKER_CLOSED,
    ProviderBadge,
    StatusSnapshot,
)
from ivcrush_tui.app.engine_thread import EngineThread
from ivcrush_tui.calendar import NY, TradingCalendar, default_calendar
from ivcrush_tui.config import Settings, load_settings
from ivcrush_tui.domain import EarningsEvent, IvCrushError
from ivcrush_tui.engine.clock import Clock, SystemClock

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import httpx

    from ivcrush_tui.alerts.center import AlertCenter
    from ivcrush_tui.alerts.model import Alert
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.app.results_model import ResultsData
    from ivcrush_tui.engine.health_model import HealthReport
    from ivcrush_tui.engine.live_quotes import LiveMonitor
    from ivcrush_tui.engine.runtime import Runtime
    from ivcrush_tui.engine.service import Engine

# Imported by start() on the engine thread (the heavy part of a cold start).
ENGINE_MODULES = (
    "ivcrush_tui.engine.runtime",
    "ivcrush_tui.engine.service",
    "ivcrush_tui.engine.health",
    "ivcrush_tui.engine.live_quotes",
    "ivcrush_tui.store.repositories",
)


def _import_engine() -> None:
    for name in ENGINE_MODULES:
        importlib.import_module(name)


PREF_DEMO_SEEDED = "demo.watchlist_seeded"
DEMO_SEED_SESSIONS = 3
DEMO_SEED_MAX = 24
# How often the engine loop refreshes the status snapshot, seconds (the status bar reads it
# about once a second; a breaker turns half-open by time alone).
STATUS_REFRESH_S: Final = 0.5

P = ParamSpec("P")
T = TypeVar("T")


def _on_engine(
    method: Callable[Concatenate[EngineBackend, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[EngineBackend, P], Coroutine[Any, Any, T]]:
    """The one way a Backend coroutine runs: on the engine thread's loop, awaited from the
    console's (cancellation and exceptions cross as they are; see `EngineThread.run`)."""

    @functools.wraps(method)
    async def on_engine(self: EngineBackend, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.engine_thread.run(method(self, *args, **kwargs))

    return on_engine


class EngineBackend:
    """Starts the engine thread and opens the runtime there on `start()`; closes both on
    `stop()` (the app's mount/unmount)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        # The calendar reads its holiday years from beside the database (not the holidays
        # package, ~0.25 s) from its first use, which comes before the engine opens.
        from ivcrush_tui import holiday_cache

        holiday_cache.keep_beside(settings.database_path)
        self.calendar: TradingCalendar = default_calendar()
        self._clock = clock
        self._transport = transport
        self._thread: EngineThread | None = None
        # Engine loop only:
        self._stack: contextlib.AsyncExitStack | None = None
        self._rt: Runtime | None = None
        self._engine: Engine | None = None
        self._monitor: LiveMonitor | None = None
        self._last_scan_at: dt.datetime | None = None
        self._av_left: int | None = None
        self._results: tuple[tuple[object, ...], ResultsData] | None = None  # (fingerprint, data)
        self._results_lock = asyncio.Lock()
        self.results_builds = 0  # ledger reads that had to build the data (tests, benchmark)
        self._alerts: AlertCenter | None = None
        self._alert_listeners: list[Callable[[Alert], None]] = []
        # Replaced (never mutated) by the engine loop; read by `status()` from any thread.
        self._status = self._idle_status()

    @property
    def demo(self) -> bool:
        return self.settings.demo

    def now(self) -> dt.datetime:
        return self._clock.now()

    @property
    def engine_thread(self) -> EngineThread:
        if self._thread is None:
            raise RuntimeError("backend not started")
        return self._thread

    @property
    def runtime(self) -> Runtime:
        """The runtime (engine loop only)."""
        if self._rt is None:
            raise RuntimeError("backend not started")
        return self._rt

    @property
    def engine(self) -> Engine:
        """The engine (engine loop only)."""
        if self._engine is None:
            raise RuntimeError("backend not started")
        return self._engine

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._thread is None:
            self._thread = EngineThread()
            self._thread.start()
        await self._open()

    @_on_engine
    async def _open(self) -> None:
        _import_engine()  # on the engine thread: the console's loop keeps painting meanwhile
        from ivcrush_tui.engine.recorder import Recorder
        from ivcrush_tui.engine.runtime import open_runtime
        from ivcrush_tui.engine.service import Engine
        from ivcrush_tui.engine.warm_up import warm_up_analytics

        self._results, self._results_lock = None, asyncio.Lock()  # this loop's lock
        warm_up_analytics(self.now())  # numpy loads in a thread while the store opens

        async with contextlib.AsyncExitStack() as stack:
            self._rt = await stack.enter_async_context(
                open_runtime(self.settings, self._clock, transport=self._transport)
            )
            self._engine = Engine(self._rt)
            stack.push_async_callback(self._engine.aclose)
            self._alerts = await self._open_alerts()
            stack.push_async_callback(self._alerts.aclose)
            # The entry window's quotes and analyses are recorded (`ivcrush replay DATE`).
            recorder = Recorder.for_runtime(self._rt)
            recorder.start()
            stack.push_async_callback(recorder.close)
            self._engine.record_with(recorder)
            from ivcrush_tui.engine.live_quotes import LiveMonitor

            # The market stream: tickers are subscribed after their first scan (issue 14).
            self._monitor = LiveMonitor(self._engine, owner="console")
            await self._monitor.start()
            stack.push_async_callback(self._monitor.stop)
            self._av_left = await self._rt.av_limiter.remaining()
            self._refresh_status()
            refresher = asyncio.create_task(self._refresh_status_forever())
            stack.push_async_callback(_cancel_and_wait, refresher)
            if self.demo:
                await self._seed_demo_watchlist()
            # Ledger decisions whose reaction session has closed are settled on start (METHODS
            # §12), on the side: the console does not wait for it.
            settling = asyncio.create_task(self._settle_ledger())
            stack.push_async_callback(_cancel_and_wait, settling)
            if not self.demo:  # live: the real exit quotes of the reaction mornings (§12)
                capturing = asyncio.create_task(self._capture_exits_forever())
                stack.push_async_callback(_cancel_and_wait, capturing)
            self._stack = stack.pop_all()

    async def _open_alerts(self) -> AlertCenter:
        from ivcrush_tui.alerts.center import AlertCenter
        from ivcrush_tui.store.repositories import AlertsRepo, WatchlistRepo

        center = AlertCenter(
            self.settings.alerts,
            calendar=self.runtime.calendar,
            clock=self.now,
            record=AlertsRepo(self.runtime.db).record,
            mode=self.settings.mode,
        )
        center.set_watchlist(await WatchlistRepo(self.runtime.db).list())
        center.subscribe(self._emit_alert)
        self.engine.observers.add(center)  # every analysis: scanned, analysed, streamed
        return center

    @property
    def alert_center(self) -> AlertCenter:
        """The alerts (engine loop only): an observer of the engine, so every analysis it
        produces for the console goes through the rules (scans, analyze, streamed updates)."""
        if self._alerts is None:
            raise RuntimeError("backend not started")
        return self._alerts

    def subscribe_alerts(self, listener: Callable[[Alert], None]) -> None:
        self._alert_listeners.append(listener)

    def _emit_alert(self, alert: Alert) -> None:  # on the engine loop
        for listener in list(self._alert_listeners):
            listener(alert)

    async def _settle_ledger(self) -> None:
        from ivcrush_tui.engine.ledger_settle import settle_in_background

        await settle_in_background(self.runtime, self.now())
        await self._prepare_results()

    async def _capture_exits_forever(self) -> None:
        from ivcrush_tui.engine.ledger_exits import capture_exits_forever

        await capture_exits_forever(self.runtime)

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
        try:
            for _ in range(DEMO_SEED_SESSIONS):
                names += await self.engine.candidates(day, now)
                day = self.calendar.next_session(day)
        except IvCrushError as exc:  # no calendar: seed on a later start rather than fail this one
            log.warning("demo watchlist not seeded: %s", exc)
            return
        await repo.add(list(dict.fromkeys(names))[:DEMO_SEED_MAX])
        self.alert_center.set_watchlist(await repo.list())
        await prefs.set(PREF_DEMO_SEEDED, now.isoformat())

    async def stop(self) -> None:
        """Cancel the engine's calls in flight, close the runtime on its loop, then stop and
        join the engine thread (bounded: see `EngineThread.stop`)."""
        if self._thread is not None:
            await self._thread.stop(self._close)

    async def _close(self) -> None:  # on the engine loop, from `stop`
        try:
            if self._stack is not None:
                stack, self._stack = self._stack, None
                await stack.aclose()
        finally:
            self._rt = self._engine = self._monitor = None
            self._results = None
            self._status = self._idle_status()

    # -- engine calls ----------------------------------------------------------------------------

    def scan(self, symbols: Sequence[str]) -> AsyncIterator[Analysis]:
        return self.engine_thread.stream(functools.partial(self._scan, tuple(symbols)))

    async def _scan(self, symbols: tuple[str, ...]) -> AsyncIterator[Analysis]:
        now = self.now()
        async for result in self.engine.scan(symbols, now):
            yield result
        await self.alert_center.idle()  # the scan's alerts are out when it ends
        self._last_scan_at = now
        self._av_left = await self.runtime.av_limiter.remaining()
        self._refresh_status()
        await self._prepare_results()  # a scan in the entry window records decisions

    @_on_engine
    async def analyze(self, symbol: str) -> Analysis:
        result = await self.engine.analyze(symbol, self.now())
        await self.alert_center.idle()  # its alerts before its result
        return result

    def live_updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        return self.engine_thread.stream(self._live_updates)

    async def _live_updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        monitor = self._monitor
        if monitor is None:
            return
        async for batch in monitor.updates():
            yield batch

    @_on_engine
    async def watchlist(self) -> list[str]:
        from ivcrush_tui.store.repositories import WatchlistRepo

        return list(await WatchlistRepo(self.runtime.db).list())

    @_on_engine
    async def add_to_watchlist(self, symbols: Sequence[str]) -> None:
        from ivcrush_tui.store.repositories import WatchlistRepo

        repo = WatchlistRepo(self.runtime.db)
        await repo.add(symbols)
        self.alert_center.set_watchlist(await repo.list())

    @_on_engine
    async def remove_from_watchlist(self, symbols: Sequence[str]) -> None:
        from ivcrush_tui.store.repositories import WatchlistRepo

        repo = WatchlistRepo(self.runtime.db)
        await repo.remove(symbols)
        self.alert_center.set_watchlist(await repo.list())
        if self._monitor is not None:
            self._monitor.forget(symbols)

    @_on_engine
    async def check_symbol(self, symbol: str) -> str | None:
        try:
            batch = await self.runtime.tradier.stock_quotes([symbol])
        except IvCrushError as exc:
            return f"cannot check {symbol} now: {exc.message}"
        if symbol in batch.quotes:
            return None
        return f"unknown symbol {symbol}"

    @_on_engine
    async def upcoming_events(self, start: dt.date, end: dt.date) -> list[EarningsEvent]:
        from ivcrush_tui.store.repositories import EventsRepo

        now = self.now()
        await self.engine.ensure_earnings_calendar(now)
        stale = self.engine.calendar_error(now)
        if stale is not None:  # a week without a fresh calendar is unknown, not empty
            raise stale
        return list(await EventsRepo(self.runtime.db).between(start, end))

    @_on_engine
    async def health(self, *, probe: bool = False) -> HealthReport:
        from ivcrush_tui.engine.health import check_health

        report = await check_health(self.runtime, probe=probe)
        if self._monitor is not None:
            report = dataclasses.replace(report, stream=self._monitor.status().to_json())
        av = report.component("alphavantage")
        if av is not None:
            self._av_left = av.budget_left
        self._refresh_status()
        return report

    @_on_engine
    async def get_pref(self, key: str) -> str | None:
        from ivcrush_tui.store.repositories import PrefsRepo

        return await PrefsRepo(self.runtime.db).get(key)

    @_on_engine
    async def set_pref(self, key: str, value: str) -> None:
        from ivcrush_tui.store.repositories import PrefsRepo

        await PrefsRepo(self.runtime.db).set(key, value)

    @_on_engine
    async def results(self) -> ResultsData:
        return await self._ledger_results()

    async def _ledger_results(self) -> ResultsData:  # on the engine loop
        """The Results screen's data, built on the engine thread (~0.1 s of CPU for 10,000
        decisions, never on the console's loop) and kept while the ledger's fingerprint is
        unchanged: prepared after the start-up settlement and each scan, opening only checks it."""
        from ivcrush_tui.app.results_model import build_results
        from ivcrush_tui.store.repositories.ledger_rows import decision_rows, ledger_fingerprint

        mode = self.settings.mode
        async with self._results_lock:
            mark = await ledger_fingerprint(self.runtime.db, mode)
            if self._results is not None and self._results[0] == mark:
                return self._results[1]
            rows, skipped = await decision_rows(self.runtime.db, mode)
            data = build_results(rows, mode, skipped)
            self._results = (mark, data)
            self.results_builds += 1
            # Long-lived from here on, like the engine and the console loaded before them: out
            # of the collector's generations, no full collection walks them again (a pause of
            # 0.1-0.2 s under load, landing on the console's frames; docs/PERFORMANCE.md).
            gc.freeze()
            return data

    async def _prepare_results(self) -> None:  # on the engine loop
        try:
            await self._ledger_results()
        except IvCrushError as exc:  # the screen reads it again (and reports) when opened
            log.warning("ledger results not prepared: %s", exc)

    @_on_engine
    async def decision_snapshot(self, snapshot_id: int) -> dict[str, object] | None:
        from ivcrush_tui.engine.ledger import decision_snapshot

        return await decision_snapshot(self.runtime.db, snapshot_id)

    @_on_engine
    async def decision_analysis(self, snapshot_id: int) -> Analysis | None:
        from ivcrush_tui.engine.ledger import decision_analysis

        return await decision_analysis(self.runtime.db, snapshot_id)

    # -- status ----------------------------------------------------------------------------------

    def status(self) -> StatusSnapshot:
        """The latest snapshot (cheap; any thread). The breakers and limiters themselves are
        read on the engine loop only: reading them updates them (not thread-safe)."""
        return self._status

    def _idle_status(self) -> StatusSnapshot:
        return StatusSnapshot(self.demo, (), None, None, None, self._last_scan_at)

    def _refresh_status(self) -> None:  # on the engine loop
        rt = self._rt
        if rt is None:
            self._status = self._idle_status()
            return
        from ivcrush_tui.engine.health import refusal

        # A closed breaker with a refused last call (bad key, quota spent) is not OK: the
        # provider is up but answers nothing.
        badges = tuple(
            ProviderBadge(
                name,
                guard.breaker.state.value,
                guard.breaker.state.value == BREAKER_CLOSED and refusal(guard) is None,
            )
            for name, guard in rt.guards.items()
        )
        self._status = StatusSnapshot(
            demo=self.demo,
            badges=badges,
            av_quota_left=self._av_left,
            av_quota_total=rt.av_limiter.daily_quota,
            tradier_budget_left=rt.tradier_limiter.budget().available,
            last_scan_at=self._last_scan_at,
            **self._stream_status(),
        )

    def _stream_status(self) -> dict[str, Any]:
        if self._monitor is None:
            return {}
        live = self._monitor.status()
        return {
            "stream_mode": live.mode,
            "stream_reason": live.reason,
            "streamed": self._monitor.streamed(),
            "events_per_s": live.stream.events_per_s if live.stream else 0.0,
        }

    async def _refresh_status_forever(self) -> None:
        while True:
            await asyncio.sleep(STATUS_REFRESH_S)
            self._refresh_status()
            if self._alerts is not None:
                badges = self._status.badges
                try:
                    await self._alerts.observe_breakers({b.name: b.breaker for b in badges})
                except Exception:  # never let alerts stop the status bar's refresh
                    log.exception("breaker alerts failed")


async def _cancel_and_wait(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def make_default_backend() -> EngineBackend:
    """The default configuration (the demo market when no keys are configured), system clock."""
    return EngineBackend(load_settings(None, os.environ), SystemClock())
