"""The scheduled scans of `ivcrush serve` and the latest analysis of each ticker they produced.

Each scan analyses the watchlist and the names whose entry date is the next entry window's day
(`scan`'s default set), through the engine: ok analyses made inside the entry window are stored
in the ledger by the engine itself (`engine.ledger.record_if_in_window`), as for `scan`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ivcrush_tui.alerts.center import AlertCenter
from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.last_good import hold_last_good
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.serve.metrics import ServeMetrics
from ivcrush_tui.serve.schedule import next_scan_at
from ivcrush_tui.store.repositories import AlertsRepo, WatchlistRepo

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


async def _settle(rt: Runtime, now: dt.datetime) -> None:
    """Settle the ledger decisions whose outcome is known at `now` (after each scan; METHODS
    §12). Never raises: a failure is logged and the next scan's pass retries."""
    from ivcrush_tui.engine.ledger_settle import settle_in_background

    await settle_in_background(rt, now)


class ServeLoop:
    """Scans on the schedule (`serve.schedule.next_scan_at`) until cancelled."""

    def __init__(
        self,
        rt: Runtime,
        engine: Engine,
        metrics: ServeMetrics,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`sleep(seconds)` waits between scans (injected by tests with a clock of their own)."""
        self.rt = rt
        self.engine = engine
        self.metrics = metrics
        self._sleep = sleep
        # What /analyses shows, per ticker: every analysis the engine produces (scanned or
        # streamed) through `hold_last_good`, so a failed refresh keeps the last good values.
        self._held: dict[str, Analysis] = {}
        # Names the market stream keeps current (engine/live_quotes.py): left out of the
        # scheduled scans; their streamed re-prices keep /analyses current.
        self.streamed: Callable[[], frozenset[str]] = frozenset
        engine.observers.add(self)
        # Alerts: every analysis the engine produces (scanned or streamed) through the rules;
        # the command (if any) is the only delivery of an unattended run, beside the store
        # (`ivcrush alerts`) and the log.
        self.alerts = AlertCenter(
            rt.settings.alerts,
            calendar=rt.calendar,
            clock=rt.clock.now,
            record=AlertsRepo(rt.db).record,
            mode=rt.settings.mode,
        )
        engine.observers.add(self.alerts)
        self.scans_done = 0
        self.last_scan_at: dt.datetime | None = None  # the instant of the last scan (UTC)

    def latest(self) -> list[dict[str, Any]]:
        """The latest analysis of every ticker scanned so far, as `scan --json` prints it,
        ordered by ticker; a ticker whose latest refresh failed keeps its last good analysis,
        with `stale` saying why (`engine.last_good`)."""
        return [analysis_to_json(self._held[t]) for t in sorted(self._held)]

    # The engine's observer (engine/observers.py): every analysis, scanned or streamed.
    def on_quote(self, symbol: str, quote: object, at: dt.datetime) -> None:
        return

    def on_analysis(self, analysis: Analysis) -> None:
        held = hold_last_good(self._held.get(analysis.symbol), analysis, analysis.as_of)
        self._held[analysis.symbol] = held

    async def names(self, now: dt.datetime) -> list[str]:
        """The watchlist, then the names with entry on the next entry window's day."""
        names = list(await WatchlistRepo(self.rt.db).list())
        self.alerts.set_watchlist(names)
        day = self.rt.calendar.next_entry_window(now)[0].astimezone(NY).date()
        try:
            names += await self.engine.candidates(day, now)
        except IvCrushError as exc:  # the watchlist is still scanned; its rows say why
            log.warning(
                "serve: cannot list the names with entry on %s: %s: %s", day, exc.code, exc.message
            )
        return list(dict.fromkeys(names))

    async def scan_once(self) -> dt.datetime:
        """One scan at the clock's current instant; returns that instant."""
        now = self.rt.clock.now()
        t0 = time.perf_counter()
        statuses: list[str] = []
        lost_before = self.engine.lost_writes
        streamed = self.streamed()
        names = [n for n in await self.names(now) if n not in streamed]
        async for result in self.engine.scan(names, now):
            # The engine's observers keep /analyses (`on_analysis`, through hold_last_good).
            statuses.append(result.status.value)
        await self.alerts.idle()  # this scan's analyses have been through the rules
        await self.alerts.observe_breakers(
            {name: guard.breaker.state.value for name, guard in self.rt.guards.items()}
        )
        lost = self.engine.lost_writes - lost_before
        if lost:
            log.error("serve: %d ledger writes failed: those decisions are lost", lost)
        self.metrics.observe_scan(now, time.perf_counter() - t0, statuses, lost)
        self.scans_done += 1
        self.last_scan_at = now
        log.info("serve: scanned %d names at %s", len(names), now.isoformat())
        await _settle(self.rt, now)
        return now

    def next_scan_at(self, after: dt.datetime) -> dt.datetime:
        serve = self.rt.settings.serve
        return next_scan_at(
            after,
            self.rt.calendar,
            scan_interval_s=serve.scan_interval_s,
            idle_interval_s=serve.idle_interval_s,
        )

    async def run(self, *, max_scans: int | None = None) -> None:
        """Scan now, then on schedule; `max_scans` stops after that many (tests). In live mode the
        reaction mornings' exit quotes are captured beside it (METHODS §12)."""
        try:
            if self.rt.demo:
                await self._scan_on_schedule(max_scans)
                return
            from ivcrush_tui.engine.ledger_exits import capture_exits_forever

            capturing = asyncio.create_task(capture_exits_forever(self.rt))
            try:
                await self._scan_on_schedule(max_scans)
            finally:
                capturing.cancel()
                await asyncio.gather(capturing, return_exceptions=True)
        finally:
            await self.alerts.aclose()

    async def _scan_on_schedule(self, max_scans: int | None) -> None:
        while max_scans is None or self.scans_done < max_scans:
            started = self.rt.clock.now()
            try:
                started = await self.scan_once()
            except IvCrushError as exc:  # e.g. the store cannot be read: try again next time
                self.metrics.scan_failures.inc()
                log.error("serve: scan failed: %s: %s", exc.code, exc.message)
            except Exception:
                self.metrics.scan_failures.inc()
                log.exception("serve: scan failed")
            if max_scans is not None and self.scans_done >= max_scans:
                return
            due = self.next_scan_at(started)
            await self._sleep(max(0.0, (due - self.rt.clock.now()).total_seconds()))
