"""The engine: analyze one ticker, or scan many and stream each outcome as soon as it is ready.

Per ticker it fetches (through cache -> rate limiter -> breaker -> retry, in the clients):
the stock quote (batched across tickers), the expirations with strikes (cached for the day), the
event-expiration chain, and ATM quotes of the other expirations (batched across tickers through the
quotes endpoint); daily history and past earnings come from the store when fresh. A semaphore bounds
the requests in flight; one ticker's failure never stops the others.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ivcrush_tui.analytics.analysis import (
    Analysis,
    AnalysisInputs,
    ErrorInfo,
    Status,
    analyze,
)
from ivcrush_tui.analytics.analysis import schedule_event as _schedule
from ivcrush_tui.analytics.quotes import spot_price
from ivcrush_tui.calendar import NY
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    ErrorCode,
    Expiration,
    IvCrushError,
    OptionChain,
    OptionQuote,
    OptionType,
    StockQuote,
    Unavailable,
)
from ivcrush_tui.engine.batching import Coalescer
from ivcrush_tui.engine.ledger import record_if_in_window
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.resilience.correlation import correlation_scope, current_correlation_id
from ivcrush_tui.store.repositories import EventsRepo, PricesRepo, WatchlistRepo
from ivcrush_tui.symbols import occ_symbol

log = logging.getLogger(__name__)

HISTORY_DAYS = 3 * 365 + 120  # 12 quarters of events plus the Yang-Zhang window
TERM_HORIZON_DAYS = 60  # ATM quotes fetched for expirations up to here (covers the 45-day slope)


class Engine:
    """Fetch + analyze. Create one per Runtime; safe to use from one event loop."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._sem = asyncio.Semaphore(rt.settings.engine.concurrency)
        self._events = EventsRepo(rt.db)
        self._prices = PricesRepo(rt.db)
        self._watchlist = WatchlistRepo(rt.db)
        self._option_quotes: Coalescer[OptionQuote] = Coalescer(
            self._fetch_option_quotes, max_batch=250, linger_s=0.015
        )
        self._calendar_day: dt.date | None = None
        self._calendar_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._option_quotes.aclose()

    # -- requests, bounded ---------------------------------------------------------------

    async def _fetch_option_quotes(self, symbols: list[str]) -> Mapping[str, OptionQuote]:
        async with self._sem:
            return await self.rt.tradier.option_quotes(symbols)

    async def _stock_quotes(self, symbols: Sequence[str]) -> dict[str, StockQuote]:
        async with self._sem:
            batch = await self.rt.tradier.stock_quotes(list(symbols))
        return dict(batch.quotes)

    async def _expirations(self, symbol: str) -> tuple[Expiration, ...]:
        async with self._sem:
            return await self.rt.tradier.expirations(symbol)

    async def _chain(self, symbol: str, expiration: dt.date) -> OptionChain:
        async with self._sem:
            return await self.rt.tradier.chain(symbol, expiration, greeks=True)

    # -- earnings calendar and history ---------------------------------------------------

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(NY).date()

    async def ensure_earnings_calendar(self, now: dt.datetime) -> None:
        """Load the upcoming-earnings calendar once per day into the store (falls back to it)."""
        today = self.today(now)
        async with self._calendar_lock:
            if self._calendar_day == today:
                return
            try:
                async with self._sem:
                    events = await self.rt.alphavantage.earnings_calendar()
                await self._events.upsert(events, fetched_at=now)
            except IvCrushError as exc:
                log.warning("earnings calendar unavailable, using the stored one: %s", exc)
            self._calendar_day = today

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
            async with self._sem:
                fetched = await self.rt.alphavantage.earnings_history(symbol)
            await self._events.upsert(fetched, fetched_at=now)
        except IvCrushError as exc:
            if not stored:
                raise
            log.info("%s: earnings history refresh failed, using stored: %s", symbol, exc)
            return tuple(stored)
        return tuple(await self._events.past(symbol, before=today, limit=limit))

    async def _bars(self, symbol: str, now: dt.datetime) -> tuple[Bar, ...]:
        today = self.today(now)
        start = today - dt.timedelta(days=HISTORY_DAYS)
        last = await self._prices.last_day(symbol)
        wanted_last = self.rt.calendar.previous_session(today)
        if last is None or last < wanted_last:
            fetch_from = start if last is None or last < start else last + dt.timedelta(days=1)
            async with self._sem:
                bars = await self.rt.tradier.daily_history(symbol, fetch_from, wanted_last)
            if bars:
                await self._prices.upsert(symbol, bars)
        return tuple(await self._prices.bars(symbol, start, today))

    # -- one ticker ----------------------------------------------------------------------

    async def _term_chains(
        self, symbol: str, expirations: Sequence[Expiration], skip: dt.date, spot: float,
        today: dt.date,
    ) -> tuple[OptionChain, ...]:  # fmt: skip
        """ATM quotes (the strikes bracketing spot) of the other near expirations."""
        wanted: dict[str, dt.date] = {}
        horizon = today + dt.timedelta(days=TERM_HORIZON_DAYS)
        for exp in expirations:
            if exp.date == skip or exp.date < today or exp.date > horizon or not exp.strikes:
                continue
            below = [k for k in exp.strikes if k <= spot]
            above = [k for k in exp.strikes if k >= spot]
            strikes = {max(below)} if below else set()
            strikes |= {min(above)} if above else set()
            for k in strikes:
                for kind in (OptionType.CALL, OptionType.PUT):
                    wanted[occ_symbol(symbol, exp.date, kind, k)] = exp.date
        if not wanted:
            return ()
        try:
            quotes = await self._option_quotes.get(wanted)
        except IvCrushError as exc:  # term structure degrades to n/a; the straddle still stands
            log.info("%s: ATM term quotes unavailable: %s", symbol, exc)
            return ()
        by_exp: dict[dt.date, list[OptionQuote]] = {}
        for occ, q in quotes.items():
            by_exp.setdefault(wanted[occ], []).append(q)
        return tuple(OptionChain(symbol, e, tuple(qs)) for e, qs in sorted(by_exp.items()))

    async def analyze(
        self,
        symbol: str,
        now: dt.datetime,
        *,
        quote: asyncio.Future[dict[str, StockQuote]] | None = None,
    ) -> Analysis:
        """Fetch everything for `symbol` and analyze it. Never raises (but for cancellation)."""
        with correlation_scope():
            try:
                result = await self._analyze(symbol, now, quote)
            except IvCrushError as exc:
                result = _error(symbol, now, exc.code, exc.message)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception:
                log.exception("%s: unexpected failure", symbol)
                result = _error(symbol, now, ErrorCode.INTERNAL, "unexpected failure (see log)")
            if result.ok:
                try:
                    await record_if_in_window(self.rt, result)
                except IvCrushError as exc:
                    log.warning("%s: ledger write failed: %s", symbol, exc)
            return result

    async def _analyze(
        self,
        symbol: str,
        now: dt.datetime,
        quote_batch: asyncio.Future[dict[str, StockQuote]] | None,
    ) -> Analysis:
        today = self.today(now)
        await self.ensure_earnings_calendar(now)
        # The quote (batched across a scan) is fetched while expirations are.
        quote_fut = quote_batch or asyncio.ensure_future(self._stock_quotes([symbol]))
        try:
            upcoming = await self._events.upcoming(symbol, on_or_after=today)
            expirations = await self._expirations(symbol)
            quotes = await quote_fut
        finally:
            if not quote_fut.done():
                quote_fut.cancel()
        stock = quotes.get(symbol)
        if stock is None:
            raise IvCrushError(ErrorCode.NOT_FOUND, f"unknown symbol {symbol}")
        spot = spot_price(stock)
        base = AnalysisInputs(symbol=symbol, now=now, quote=stock, upcoming=upcoming)
        if upcoming is None or isinstance(spot, Unavailable) or not expirations:
            return analyze(
                _with(base, expirations=tuple(e.date for e in expirations)),
                self.rt.settings.analysis_params(),
                self.rt.calendar,
            )
        sched = _schedule(upcoming, [e.date for e in expirations], self.rt.calendar)
        if sched.expiration is None:
            return analyze(
                _with(base, expirations=tuple(e.date for e in expirations)),
                self.rt.settings.analysis_params(),
                self.rt.calendar,
            )
        chain, term, bars, past = await asyncio.gather(
            self._chain(symbol, sched.expiration),
            self._term_chains(symbol, expirations, sched.expiration, spot, today),
            self._bars(symbol, now),
            self._past_events(symbol, now),
        )
        inputs = AnalysisInputs(
            symbol=symbol,
            now=now,
            quote=stock,
            upcoming=upcoming,
            expirations=tuple(e.date for e in expirations),
            chains=(chain, *term),
            bars=bars,
            past_events=past,
        )
        return analyze(inputs, self.rt.settings.analysis_params(), self.rt.calendar)

    # -- many tickers --------------------------------------------------------------------

    async def scan(self, symbols: Sequence[str], now: dt.datetime) -> AsyncIterator[Analysis]:
        """Yield each ticker's outcome as soon as it completes (bounded concurrency)."""
        symbols = list(dict.fromkeys(symbols))
        if not symbols:
            return
        await self.ensure_earnings_calendar(now)
        quotes: asyncio.Future[dict[str, StockQuote]] = asyncio.ensure_future(
            self._stock_quotes(symbols)
        )
        gate = asyncio.Semaphore(self.rt.settings.engine.concurrency * 4)

        async def one(sym: str) -> Analysis:
            async with gate:
                return await self.analyze(sym, now, quote=asyncio.shield(quotes))

        tasks = [asyncio.ensure_future(one(s)) for s in symbols]
        try:
            for fut in asyncio.as_completed(tasks):
                yield await fut
        finally:
            pending: list[asyncio.Future[Any]] = [*tasks, quotes]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def candidates(self, day: dt.date, now: dt.datetime) -> list[str]:
        """Names whose entry date is `day` (METHODS §1), plus watchlist names reporting soon."""
        await self.ensure_earnings_calendar(now)
        cal = self.rt.calendar
        events = await self._events.between(day - dt.timedelta(days=1), day + dt.timedelta(days=7))
        names = [e.symbol for e in events if cal.entry_date(e.date, e.timing) == day]
        soon = day + dt.timedelta(days=7)
        for sym in await self._watchlist.list():
            ev = await self._events.upcoming(sym, on_or_after=day)
            if ev is not None and ev.date <= soon:
                names.append(sym)
        return list(dict.fromkeys(names))


def _with(base: AnalysisInputs, **changes: object) -> AnalysisInputs:
    import dataclasses

    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def _error(symbol: str, now: dt.datetime, code: str, message: str) -> Analysis:
    return Analysis(
        symbol=symbol,
        as_of=now,
        status=Status.ERROR,
        error=ErrorInfo(str(code), message, current_correlation_id()),
    )
