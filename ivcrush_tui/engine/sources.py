"""The engine's store-backed sources: the upcoming-earnings calendar (loaded once a US/Eastern
day, a failed load retried after a growing pause), past earnings, daily bars and company facts,
each read from the store and fetched only where the store is behind. A base of `Engine`, which
creates the repositories, semaphores and calendar state these methods use."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    ErrorCode,
    IvCrushError,
    ProviderError,
    Timing,
)
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.priority import PrioritySemaphore
from ivcrush_tui.store.repositories import (
    EventsRepo,
    MetadataRepo,
    PrefsRepo,
    PricesRepo,
    TickerMetadata,
)

log = logging.getLogger("ivcrush_tui.engine.service")  # the engine's logger, as before the move

HISTORY_DAYS = 3 * 365 + 120  # 12 quarters of events plus the Yang-Zhang window
# Company facts (market cap) are refreshed at most this often, and only by a single analysis.
METADATA_MAX_AGE = dt.timedelta(days=30)
# A failed earnings-calendar load is retried after CALENDAR_RETRY_S seconds, doubling per failure
# up to CALENDAR_RETRY_MAX_S: every ticker of a scan asks for the calendar, and each attempt
# spends one of Alpha Vantage's 25 daily requests.
CALENDAR_RETRY_S = 60.0
CALENDAR_RETRY_MAX_S = 1800.0
# The store preference (key + " " + the Alpha Vantage base URL) naming the US/Eastern day whose
# calendar is in the store: a process started later that day neither reads nor re-applies it.
CALENDAR_LOADED_PREF = "earnings_calendar.loaded_day"


class EngineSources:
    """Earnings calendar and history, bars and company facts (the attributes: set by Engine)."""

    rt: Runtime
    _sem: PrioritySemaphore
    _av_sem: asyncio.Semaphore
    _events: EventsRepo
    _prices: PricesRepo
    _metadata: MetadataRepo
    _calendar_day: dt.date | None
    _calendar_error: IvCrushError | None
    _calendar_failures: int
    _calendar_retry_at: float
    _calendar_lock: asyncio.Lock

    # -- earnings calendar and history ---------------------------------------------------

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(NY).date()

    async def upcoming_event(self, symbol: str, now: dt.datetime) -> EarningsEvent | None:
        """The next event whose release is still ahead of `now`.

        A report dated today whose release time has passed (BMO at the open, DMH at noon, AMC and
        UNKNOWN at the close: UNKNOWN may still be AMC) is history in the making, not an
        upcoming trade: its entry is over, so the following event is the upcoming one."""
        today = self.today(now)
        event = await self._events.upcoming(symbol, on_or_after=today)
        if event is not None and event.date == today:
            timing = Timing.AMC if event.timing is Timing.UNKNOWN else event.timing
            if self.rt.calendar.minutes_to_event(now, event.date, timing) <= 0:
                event = await self._events.upcoming(
                    symbol, on_or_after=today + dt.timedelta(days=1)
                )
        return event

    async def ensure_earnings_calendar(self, now: dt.datetime) -> None:
        """Load the upcoming-earnings calendar into the store once per US/Eastern day (per store:
        a process started after another loaded it that day uses the store's, CALENDAR_LOADED_PREF).

        Upcoming events the calendar no longer lists (moved or withdrawn dates) are dropped. A
        failed load is remembered (`calendar_error`) and retried after a growing pause, not on
        every ticker's call."""
        today = self.today(now)
        async with self._calendar_lock:
            if self._calendar_day == today:
                return
            loop = asyncio.get_running_loop()
            if self._calendar_error is not None and loop.time() < self._calendar_retry_at:
                return
            key = f"{CALENDAR_LOADED_PREF} {self.rt.alphavantage.base_url}"
            prefs = PrefsRepo(self.rt.db)
            try:
                # Loaded into the store earlier today by another process (a rescan): the same
                # calendar (the response cache keeps it 12 h), already applied.
                moved: list[tuple[str, dt.date]] = []
                if await prefs.get(key) != today.isoformat():
                    async with self._av_sem:
                        events = await self.rt.alphavantage.earnings_calendar()
                    moved = await self._events.replace_upcoming(events, today=today, fetched_at=now)
                    await prefs.set(key, today.isoformat())
            except IvCrushError as exc:
                self._calendar_failures += 1
                pause = CALENDAR_RETRY_S * 2.0 ** (self._calendar_failures - 1)
                self._calendar_retry_at = loop.time() + min(pause, CALENDAR_RETRY_MAX_S)
                self._calendar_error = exc
                # A store that refuses writes (read-only, damaged: the quota count or the events)
                # is not Alpha Vantage being unavailable: say which one failed.
                where = (
                    "not loaded: the store refused a write"
                    if exc.code is ErrorCode.STORAGE
                    else "unavailable"
                )
                log.warning("earnings calendar %s: %s", where, exc)
                return
            if moved:
                shown = ", ".join(f"{sym} {day}" for sym, day in moved[:10])
                log.info("%d upcoming events no longer in the calendar: %s", len(moved), shown)
            self._calendar_day = today
            self._calendar_error = None
            self._calendar_failures = 0

    def calendar_error(self, now: dt.datetime) -> IvCrushError | None:
        """Why the store holds no fresh earnings calendar for `now`'s day, None when it does.

        Fresh (docs/METHODS-NOTES.md): loaded successfully during the current US/Eastern day,
        from Alpha Vantage or from its response cache (which keeps only bodies that parsed, for
        at most 12 h). Only a fresh calendar that does not list a name says it has no upcoming
        event; otherwise that is unknown, and this is the error to report."""
        if self._calendar_day == self.today(now):
            return None
        exc = self._calendar_error
        # The failed request's correlation id leads to its log lines from every ticker's row.
        seen = f" (calendar request {exc.correlation_id})" if exc and exc.correlation_id else ""
        if isinstance(exc, ProviderError):
            return ProviderError(
                exc.code,
                f"earnings calendar unavailable: {exc.message}{seen}",
                provider=exc.provider,
                endpoint=exc.endpoint,
                retry_after_s=exc.retry_after_s,
            )
        if exc is not None and exc.code is ErrorCode.STORAGE:
            return IvCrushError(
                exc.code, f"earnings calendar not loaded: the store refused a write: {exc.message}"
            )
        if exc is not None:
            return IvCrushError(exc.code, f"earnings calendar unavailable: {exc.message}{seen}")
        return IvCrushError(ErrorCode.UNAVAILABLE, "the earnings calendar has not been loaded")

    async def _past_events(self, symbol: str, now: dt.datetime) -> tuple[EarningsEvent, ...]:
        today = self.today(now)
        limit = self.rt.settings.engine.history_quarters + 4
        stored = await self._events.past(symbol, before=today, limit=limit)
        if len(
            stored
        ) >= self.rt.settings.analysis.min_events and not await self._events.needs_refresh(
            symbol, today, now
        ):
            return tuple(stored)
        try:
            async with self._av_sem:
                fetched = await self.rt.alphavantage.earnings_history(symbol)
            await self._events.upsert(fetched, fetched_at=now)
        except IvCrushError as exc:
            if not stored:
                raise
            log.info("%s: earnings history refresh failed, using stored: %s", symbol, exc)
            return tuple(stored)
        return tuple(await self._events.past(symbol, before=today, limit=limit))

    async def _market_cap(self, symbol: str, now: dt.datetime, *, fetch: bool) -> float | None:
        """The company's market cap, from the store. Fetched (one Alpha Vantage OVERVIEW call,
        response-cached) only for a single-ticker analysis and only when the stored one is older
        than METADATA_MAX_AGE: a scan of hundreds of names must not spend the 25-a-day quota on a
        fact that moves slowly. Never fails the analysis: without it the header leaves it out."""
        try:
            stored = await self._metadata.get(symbol)
        except IvCrushError as exc:
            log.info("%s: stored metadata unreadable: %s", symbol, exc)
            return None
        cap = stored.market_cap if stored is not None else None
        at = stored.updated_at if stored is not None else None
        if not fetch or (at is not None and now - at < METADATA_MAX_AGE):
            return cap
        try:
            async with self._av_sem:
                ov = await self.rt.alphavantage.overview(symbol)
            meta = TickerMetadata(symbol, ov.name, ov.sector, ov.industry, ov.market_cap, now)
            await self._metadata.upsert(meta)
        except IvCrushError as exc:
            log.info("%s: company overview not refreshed: %s", symbol, exc)
            return cap
        return ov.market_cap

    async def _bars(self, symbol: str, now: dt.datetime) -> tuple[Bar, ...]:
        """Daily bars of the last HISTORY_DAYS from the store; the sessions missing up to the
        previous one are fetched first (one store read when the store is current)."""
        today = self.today(now)
        start = today - dt.timedelta(days=HISTORY_DAYS)
        wanted_last = self.rt.calendar.previous_session(today)
        # Never past the previous session: a bar of today or later, stored by a run with a later
        # clock (--as-of), is not known yet at `now`.
        stored = tuple(await self._prices.bars(symbol, start, wanted_last))
        last = max((b.day for b in stored), default=None)
        if last is not None and last >= wanted_last:
            return stored
        fetch_from = start if last is None else last + dt.timedelta(days=1)
        async with self._sem.slot():
            bars = await self.rt.tradier.daily_history(symbol, fetch_from, wanted_last)
        if not bars:
            return stored
        await self._prices.upsert(symbol, bars)
        return tuple(await self._prices.bars(symbol, start, wanted_last))
