"""The engine: analyze one ticker, or scan many and stream each outcome as soon as it is ready.

Per ticker it fetches (through cache -> rate limiter -> breaker -> retry, in the clients):
the stock quote (batched across tickers), the expirations with strikes (cached for the day), the
event-expiration chain, and ATM quotes of the other expirations (batched across tickers through the
quotes endpoint); daily history and past earnings come from the store when fresh. A priority
semaphore bounds the Tradier requests in flight and serves the earliest-started ticker first, so
results stream from the first round trips on; Alpha Vantage calls are paced by their own limiter
and never hold a Tradier slot while they wait. One ticker's failure never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ivcrush_tui.analytics.quotes import spot_price
from ivcrush_tui.analytics.schedule import schedule_event as _schedule
from ivcrush_tui.domain import (
    ErrorCode,
    Expiration,
    IvCrushError,
    OptionChain,
    OptionQuote,
    OptionType,
    ProviderError,
    StockQuote,
    Unavailable,
)
from ivcrush_tui.engine.batching import Coalescer
from ivcrush_tui.engine.observers import Observers
from ivcrush_tui.engine.quote_stage import QuoteStages
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.engine.sources import EngineSources
from ivcrush_tui.priority import BATCH_PRIORITY, PrioritySemaphore, current_priority
from ivcrush_tui.providers.tradier import QUOTE_CHUNK
from ivcrush_tui.resilience.correlation import correlation_scope, current_correlation_id
from ivcrush_tui.resilience.logs import FILE_FIRST
from ivcrush_tui.store.repositories import (
    EventsRepo,
    MetadataRepo,
    PricesRepo,
    WatchlistRepo,
)
from ivcrush_tui.symbols import occ_symbol

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis, AnalysisInputs
    from ivcrush_tui.engine.recorder import Recorder

# The analysis (numpy and the analytics, ~0.2 s to import) is imported where a result is built,
# not with this module: a fresh CLI process sends its first requests first, and imports it in
# the warm-up thread while they travel (`warm_up.warm_up_analytics`).

log = logging.getLogger(__name__)

# METHODS §9: the term structure uses the expirations up to the first >= 45 calendar days out. ATM
# quotes are fetched through the first expiration >= 46 days away (one day of margin: after the
# close an expiration 45 days away is 44.9 days out), plus the one after the event expiration.
TERM_CUTOFF_DAYS = 46
# Alpha Vantage calls in flight at once: its limiter spaces them (1/s live) anyway; a second slot
# lets one request travel while the next waits for its turn.
AV_IN_FLIGHT = 2
# ATM option quotes of many tickers share /markets/quotes requests: a batch goes out when it has
# QUOTE_BATCH keys, when every scan ticker in flight waits on it, when no ticker has added to it
# for QUOTE_LINGER_S, or QUOTE_MAX_WAIT_S after its first key; the wait overlaps with the
# ticker's own chain request. A due batch takes its keys when its request slot comes (keys that
# arrive meanwhile ride along). The linger spans a round trip: the tickers whose expirations
# arrive in one burst of responses, and those of the next burst, share a batch (a 100-ticker
# scan: ~18 quote requests instead of ~40; 2,500 ATM symbols, ~12 a ticker).
QUOTE_BATCH = 200
QUOTE_LINGER_S = 0.12
QUOTE_MAX_WAIT_S = 0.3
# With a Tradier window below SCARCE_PER_MIN requests (a live account: 120), a partial batch is
# held while some scan ticker may still add keys (one before its quote lookup, or one queued that
# a finishing ticker lets in: engine/quote_stage.py), for at most QUOTE_MAX_HOLD_S: batches then
# go out full, or when no ticker will add keys, not every QUOTE_MAX_WAIT_S, so a scan's
# quote requests do not grow with its duration (a slow or busy CPU). A 100-ticker scan's ~2,500
# ATM symbols then take ~7 requests, and the second scan of the day (~100 chains) stays inside
# one 120/min window. The hold costs a ticker a few completions of others (at most
# QUOTE_MAX_HOLD_S), where an extra request in a full window can cost a minute.
# Scarce, batches also grow to a whole request (QUOTE_CHUNK keys).
SCARCE_PER_MIN = 600
QUOTE_MAX_HOLD_S = 1.0
# While requests are plentiful, a scan's first URGENT_RANKS tickers (and a lone analyze) send their
# ATM quotes at once rather than wait up to QUOTE_MAX_WAIT_S for company: the first results come
# that much sooner, for at most that many extra requests.
URGENT_RANKS = 3
TICKERS_PER_SLOT = 4  # tickers a scan works on at once, per request slot (bounds memory)
# Request slots a ticker's first request (its expirations) may not take: kept for the next
# requests of tickers already under way. Priority alone cannot do it: a slot is held for a round
# trip, so when the first ticker's chain is ready every slot is busy with later tickers'
# expirations, and its result waits a round trip more.
STARTING_RESERVE = 2
# A scan of a day's names also takes the watchlist names reporting within this many days.
WATCHLIST_SOON_DAYS = 7


class Engine(EngineSources):
    """Fetch + analyze. Create one per Runtime; safe to use from one event loop."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        concurrency = rt.settings.engine.concurrency
        self._sem = PrioritySemaphore(concurrency)
        self._starting = asyncio.Semaphore(max(1, concurrency - STARTING_RESERVE))
        self._av_sem = asyncio.Semaphore(AV_IN_FLIGHT)
        # One ticker at a time from its analysis to its result (ledger row written, observers
        # told), the most urgent first: tickers whose last input arrives in one response (a
        # shared quote batch) otherwise ran all their analyses before the first one's ledger
        # write came back, and the scan's first result waited for the last (~2 ms each).
        self._finishing = PrioritySemaphore(1)
        self._events = EventsRepo(rt.db)
        self._prices = PricesRepo(rt.db)
        self._watchlist = WatchlistRepo(rt.db)
        self._metadata = MetadataRepo(rt.db)
        self._stages = QuoteStages(lambda: self._option_quotes.recheck())
        self._option_quotes: Coalescer[OptionQuote] = Coalescer(
            self._fetch_option_quotes,
            max_batch=self._quote_batch,
            linger_s=QUOTE_LINGER_S,
            max_wait_s=QUOTE_MAX_WAIT_S,
            hold=self._hold_quotes,
            max_hold_s=QUOTE_MAX_HOLD_S,
            # A batch serves many tickers: it goes ahead of any single ticker's request, and
            # takes the keys pending when its slot comes (those that arrived meanwhile ride).
            slot=lambda: self._sem.slot(BATCH_PRIORITY),
            complete=self._stages.complete,
        )
        self._calendar_day: dt.date | None = None  # the US/Eastern day of the last good load
        self._calendar_error: IvCrushError | None = None  # why the last load failed
        self._calendar_failures = 0  # consecutive failed loads
        self._calendar_retry_at = 0.0  # loop time before which a failed load is not retried
        self._calendar_lock = asyncio.Lock()
        self.lost_writes = 0  # ledger rows that could not be stored (the run must say so)
        # Every analysis passes here, and every streamed quote (engine/observers.py).
        self.observers = Observers()
        # Called with the full inputs of each analysis that had them (the live monitor's base).
        self.inputs_hook: Callable[[AnalysisInputs, Analysis], None] | None = None
        # Set by `record_with` (the console and `serve`): the entry window is recorded.
        self.recorder: Recorder | None = None

    def record_with(self, recorder: Recorder) -> None:
        """Record the entry window with `recorder`: the REST stock quotes fetched here, and, as
        one of the `observers`, every analysis and every streamed event."""
        self.recorder = recorder
        self.observers.add(recorder)

    async def aclose(self) -> None:
        await self._option_quotes.aclose()

    # -- requests, bounded ---------------------------------------------------------------

    def _scarce(self) -> bool:
        """Tradier requests are scarce (a window below SCARCE_PER_MIN)."""
        return self.rt.tradier_limiter.allowed_per_min < SCARCE_PER_MIN

    def _quote_batch(self) -> int:
        return QUOTE_CHUNK if self._scarce() else QUOTE_BATCH

    def _hold_quotes(self, waiting: int) -> bool:
        """Keep a partial quote batch (`waiting` callers' keys) for company: requests are
        scarce and some scan ticker may still add keys to it (see engine/quote_stage.py)."""
        return self._scarce() and not self._stages.complete(waiting)

    async def _fetch_option_quotes(self, symbols: list[str]) -> Mapping[str, OptionQuote]:
        # Called in a request slot (the Coalescer's `slot`).
        return await self.rt.tradier.option_quotes(symbols)

    async def _stock_quotes(
        self, symbols: Sequence[str], *, priority: float | None = None
    ) -> dict[str, StockQuote]:
        async with self._sem.slot(priority):
            batch = await self.rt.tradier.stock_quotes(list(symbols))
        if self.recorder is not None:
            at = self.rt.clock.now()
            for sym, q in batch.quotes.items():
                self.recorder.on_quote(sym, q, at)
        return dict(batch.quotes)

    # A ticker's request holds its slot through the cache lookup and the parse too. Giving the
    # slot back as soon as the body is read was tried (issue #4): the client is CPU-bound, so
    # more tickers then shared the CPU in lockstep, the first result came ~2x later and the scan
    # was no faster. The slot order is also the order tickers get the CPU.
    async def _expirations(self, symbol: str) -> tuple[Expiration, ...]:
        # A ticker's first request; see STARTING_RESERVE.
        async with self._starting, self._sem.slot():
            return await self.rt.tradier.expirations(symbol)

    async def _chain(self, symbol: str, expiration: dt.date) -> OptionChain:
        async with self._sem.slot():
            return await self.rt.tradier.chain(symbol, expiration, greeks=True)

    # -- one ticker ----------------------------------------------------------------------

    async def _term_chains(
        self, symbol: str, expirations: Sequence[Expiration], skip: dt.date, spot: float,
        today: dt.date,
    ) -> tuple[OptionChain, ...]:  # fmt: skip
        """ATM quotes (the strikes bracketing spot) of the other expirations the term structure
        uses: through the first one >= TERM_CUTOFF_DAYS away, and the one after `skip` (the
        event expiration: its full chain is fetched separately)."""
        wanted: dict[str, dt.date] = {}
        cutoff = today + dt.timedelta(days=TERM_CUTOFF_DAYS)
        ordered = sorted((e for e in expirations if e.date >= today), key=lambda e: e.date)
        last = next((e.date for e in ordered if e.date >= cutoff), None)
        back = next((e.date for e in ordered if e.date > skip), None)
        for exp in ordered:
            in_curve = last is None or exp.date <= last
            if exp.date == skip or not exp.strikes or not (in_curve or exp.date == back):
                continue
            below = [k for k in exp.strikes if k <= spot]
            above = [k for k in exp.strikes if k >= spot]
            strikes = {max(below)} if below else set()
            strikes |= {min(above)} if above else set()
            for k in strikes:
                for kind in (OptionType.CALL, OptionType.PUT):
                    wanted[occ_symbol(symbol, exp.date, kind, k)] = exp.date
        if not wanted:
            self._stages.passed()
            return ()
        try:
            # Kept from this ticker's last batch (a rescan): no wait for a batch of others. Not
            # looked up by an urgent ticker (requests plentiful, a scan's first): it sends its
            # own at once, and the store read (queued behind a cold scan's cache writes) cost
            # the first result ~0.1 s.
            urgent = not self._scarce() and current_priority.get() <= URGENT_RANKS
            quotes = None if urgent else await self.rt.tradier.cached_option_quotes(list(wanted))
            self._stages.passed(notify=quotes is not None)
            if quotes is None:
                quotes = await self._option_quotes.get(wanted, urgent=urgent)
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
        async with contextlib.AsyncExitStack() as finishing:  # holds a _finishing slot, if any
            cid = finishing.enter_context(correlation_scope())
            try:
                result = await self._analyze(symbol, now, quote, finishing)
            except IvCrushError as exc:
                result = _error(symbol, now, exc.code, _describe(exc))
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception:
                log.exception("%s: unexpected failure", symbol)
                result = _error(symbol, now, ErrorCode.INTERNAL, "unexpected failure (see log)")
            err = result.error
            if err is not None and result.status.value == "error":
                if err.correlation_id is None:
                    # An analytics failure has no request id of its own: the ticker's id is the
                    # one the console and the CLI show, so it must be the one in the log.
                    err = dataclasses.replace(err, correlation_id=cid)
                    result = dataclasses.replace(result, error=err)
                # The id shown beside the failed ticker leads here (RUNBOOK: grep <id>).
                log.warning(
                    "%s: ticker failed: %s: %s", symbol, err.code, err.message, extra=FILE_FIRST
                )
            if result.ok:
                from ivcrush_tui.engine.ledger import record_if_in_window

                try:
                    await record_if_in_window(self.rt, result)
                except IvCrushError as exc:
                    # Every in-window ok analysis is stored: a lost one fails the run (exit 1).
                    self.lost_writes += 1
                    log.error("%s: ledger write failed, the decision is lost: %s", symbol, exc)
            self.observers.analysis(result)
            return result

    async def _analyze(
        self,
        symbol: str,
        now: dt.datetime,
        quote_batch: asyncio.Future[dict[str, StockQuote]] | None,
        finishing: contextlib.AsyncExitStack,
    ) -> Analysis:
        """Fetch and analyze; the analysis itself runs holding a `_finishing` slot, which
        `finishing` (the caller's) gives back once the result is recorded."""
        today = self.today(now)
        # The quote (batched across a scan) and the expirations are fetched while the earnings
        # calendar loads: none depends on another. The event chain needs only the expirations
        # and the event, so it is requested before the quote batch is back.
        quote_fut = quote_batch or asyncio.ensure_future(self._stock_quotes([symbol]))
        exp_fut = asyncio.ensure_future(self._expirations(symbol))
        chain_fut: asyncio.Future[OptionChain] | None = None
        try:
            await self.ensure_earnings_calendar(now)
            upcoming = await self.upcoming_event(symbol, now)
            expirations = await exp_fut  # first: a Tradier failure is reported as before
            if upcoming is None and (stale := self.calendar_error(now)) is not None:
                # "No upcoming earnings" only from a fresh calendar that does not list the name:
                # with none, the date is unknown (a failed request must not read as "no event").
                raise stale
            dates = tuple(e.date for e in expirations)
            sched = _schedule(upcoming, dates, self.rt.calendar) if upcoming and dates else None
            if sched is not None and sched.expiration is not None:
                chain_fut = asyncio.ensure_future(self._chain(symbol, sched.expiration))
            quotes = await quote_fut
            stock = quotes.get(symbol)
            if stock is None:
                raise IvCrushError(ErrorCode.NOT_FOUND, f"unknown symbol {symbol}")
            spot = spot_price(stock)
            if chain_fut is None or upcoming is None or isinstance(spot, Unavailable):
                from ivcrush_tui.analytics.analysis import AnalysisInputs, analyze

                base = AnalysisInputs(
                    symbol=symbol, now=now, quote=stock, upcoming=upcoming, expirations=dates
                )
                await finishing.enter_async_context(self._finishing.slot())
                return analyze(base, self.rt.settings.analysis_params(), self.rt.calendar)
            assert sched is not None  # chain_fut is set
            assert sched.expiration is not None
            chain, term, bars, past, cap = await asyncio.gather(
                chain_fut,
                self._term_chains(symbol, expirations, sched.expiration, spot, today),
                self._bars(symbol, now),
                self._past_events(symbol, now),
                # A scan passes its quote batch: only a single analysis may fetch the overview.
                self._market_cap(symbol, now, fetch=quote_batch is None),
            )
        finally:
            _discard(*(f for f in (exp_fut, quote_fut, chain_fut) if f is not None))
        # Imported only now (numpy; normally done by the warm-up thread meanwhile): the ATM
        # quotes above are requested first.
        from ivcrush_tui.analytics.analysis import AnalysisInputs, analyze

        await finishing.enter_async_context(self._finishing.slot())
        inputs = AnalysisInputs(
            symbol=symbol,
            now=now,
            quote=stock,
            upcoming=upcoming,
            expirations=dates,
            chains=(chain, *term),
            bars=bars,
            past_events=past,
            market_cap=cap,
        )
        result = analyze(inputs, self.rt.settings.analysis_params(), self.rt.calendar)
        if self.inputs_hook is not None:
            self.inputs_hook(inputs, result)
        return result

    # -- many tickers --------------------------------------------------------------------

    async def scan(
        self, symbols: Sequence[str], now: dt.datetime, *, timeout_s: float | None = None
    ) -> AsyncIterator[Analysis]:
        """Yield each ticker's outcome as soon as it completes (bounded concurrency).

        Tickers started earlier are served first, so results stream out from the first round
        trips on. After `timeout_s` seconds (default: engine.scan_timeout_s) the tickers still
        running are cancelled and reported as `timeout` errors. Closing the iterator early
        cancels the work in flight."""
        symbols = list(dict.fromkeys(symbols))
        if not symbols:
            return
        limit = self.rt.settings.engine.scan_timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        # One quote batch for the whole scan, fetched while the earnings calendar loads.
        quotes: asyncio.Future[dict[str, StockQuote]] = asyncio.ensure_future(
            self._stock_quotes(symbols, priority=BATCH_PRIORITY)
        )
        gate = asyncio.Semaphore(self.rt.settings.engine.concurrency * TICKERS_PER_SLOT)

        stack = contextlib.ExitStack()
        stages = stack.enter_context(self._stages.scan(len(symbols)))

        async def one(sym: str, rank: int) -> Analysis:
            current_priority.set(float(rank))  # this task's context only
            started = False
            try:
                async with gate:
                    started = True
                    with self._stages.ticker(stages):
                        return await self.analyze(sym, now, quote=asyncio.shield(quotes))
            finally:
                if not started:
                    self._stages.leave_queue(stages)

        tasks = {asyncio.ensure_future(one(s, i + 1)): s for i, s in enumerate(symbols)}
        pending: set[asyncio.Future[Analysis]] = set(tasks)
        try:
            while pending:
                left = deadline - loop.time()
                if left <= 0:
                    break
                done, pending = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for fut in done:
                    yield fut.result()
            if pending:
                log.warning("scan time limit of %.0f s reached: %d tickers", limit, len(pending))
                for fut in pending:
                    fut.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                code, message = self._time_limit_reason(limit)
                for sym in (s for f, s in tasks.items() if f in pending):
                    yield _error(sym, now, code, message)
        finally:
            stragglers: list[asyncio.Future[Any]] = [*tasks, quotes]
            for t in stragglers:
                t.cancel()
            await asyncio.gather(*stragglers, return_exceptions=True)
            stack.close()

    def _time_limit_reason(self, limit: float) -> tuple[ErrorCode, str]:
        """Why the tickers still running at the scan's time limit did not finish: a provider
        that kept answering 429 is named (a bare 'timeout' hid it), else the time limit."""
        tail = f"scan time limit reached (engine.scan_timeout_s = {limit:g} s)"
        for name, guard in self.rt.guards.items():
            last = guard.stats.last_error
            if last is not None and not guard.stats.last_call_ok and last.code == "rate_limited":
                return ErrorCode.RATE_LIMITED, f"rate limited by {name} ({last.message}); {tail}"
        budget = self.rt.tradier_limiter.budget()
        if budget.available <= 0:
            resets = f", resets in {budget.resets_in_s:.0f} s" if budget.resets_in_s else ""
            return (
                ErrorCode.RATE_LIMITED,
                f"waiting for the tradier rate window ({budget.allowed}/min used{resets}); {tail}",
            )
        return ErrorCode.TIMEOUT, tail

    async def candidates(self, day: dt.date, now: dt.datetime) -> list[str]:
        """Names whose entry date is `day` (METHODS §1), plus watchlist names reporting soon.

        Raises the calendar's error when there is no fresh earnings calendar: the names of a
        stale or missing one are not the day's names, and "no names" must not pass for it."""
        entering, watched = await self.candidate_groups(day, now)
        return entering + watched

    async def candidate_groups(self, day: dt.date, now: dt.datetime) -> tuple[list[str], list[str]]:
        """`candidates` in its two parts, for a header that says what it counts: the names
        whose entry date is `day`, and the watchlist names not among them that report within
        WATCHLIST_SOON_DAYS of `day` (their entry is later). Raises as `candidates` does."""
        await self.ensure_earnings_calendar(now)
        stale = self.calendar_error(now)
        if stale is not None:
            raise stale
        cal = self.rt.calendar
        soon = day + dt.timedelta(days=WATCHLIST_SOON_DAYS)
        events = await self._events.between(day - dt.timedelta(days=1), soon)
        entering = list(
            dict.fromkeys(e.symbol for e in events if cal.entry_date(e.date, e.timing) == day)
        )
        watched: list[str] = []
        for sym in await self._watchlist.list():
            ev = await self._events.upcoming(sym, on_or_after=day)
            if ev is not None and ev.date <= soon and sym not in entering and sym not in watched:
                watched.append(sym)
        return entering, watched


def _describe(exc: IvCrushError) -> str:
    """The user-facing message of a failure: a provider failure names provider and endpoint."""
    if isinstance(exc, ProviderError):
        return f"{exc.provider} {exc.endpoint}: {exc.message}"
    return exc.message


def _discard(*futures: asyncio.Future[Any]) -> None:
    """Cancel futures still running; mark a failure nobody awaited as seen (no asyncio warning)."""
    for fut in futures:
        if not fut.done():
            fut.cancel()
        elif not fut.cancelled():
            fut.exception()


def _error(symbol: str, now: dt.datetime, code: str, message: str) -> Analysis:
    from ivcrush_tui.analytics.analysis import Analysis, ErrorInfo, Status

    return Analysis(
        symbol=symbol,
        as_of=now,
        status=Status.ERROR,
        error=ErrorInfo(str(code), message, current_correlation_id()),
    )
