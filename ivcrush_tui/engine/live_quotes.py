"""Live monitoring over the market stream (issue 14): after a ticker's first scan its underlying,
ATM legs and the strikes bracketing spot are streamed, and each quote that moves a figure
re-prices the ticker (analytics/reprice.py) without a REST request.

    monitor = LiveMonitor(engine, owner="console")
    await monitor.start()            # engine analyses now subscribe their tickers
    async for batch in monitor.updates():   # tuples of re-priced analyses, a few per second
        ...
    monitor.status()                 # LiveStatus: LIVE or POLL (and why), the stream's health

REST is still used: for the first scan (the caller's), for a re-pick when spot leaves the
subscribed strikes (`engine.analyze`, at most once per REPICK_MIN_S per ticker), and for the
term structure's other expirations (one batched /markets/quotes round for every ticker due,
at most every TERM_REFRESH_S per ticker). When streaming is off, not allowed (another process
owns the account's stream: stream_lock.py) or fails for good (sandbox 400, 401, a refused URL),
the status is POLL with the reason and the caller keeps polling.

Every streamed event and every analysis passes `engine.observers` (observers.py). Runs on the
engine's event loop; time comes from the runtime's clock and an injected `monotonic`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivcrush_tui.analytics.analysis import Analysis, AnalysisInputs, analyze
from ivcrush_tui.analytics.reprice import LiveBase, Repick, build_plan, patch_inputs, reprice
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine.live_book import QuoteBook
from ivcrush_tui.engine.stream_lock import StreamLock, lock_path
from ivcrush_tui.providers.tradier_stream import StreamHealth, StreamState, TradierStream

if TYPE_CHECKING:
    from ivcrush_tui.engine.service import Engine

__all__ = ["LIVE", "POLL", "LiveMonitor", "LiveOptions", "LiveStatus"]

log = logging.getLogger(__name__)

LIVE = "LIVE"
POLL = "POLL"


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Tunables, in seconds. tick_s: how often moved tickers are re-priced (a quote waits at
    most this long); min_reprice_s: a ticker is re-priced at most this often; repick_min_s:
    REST re-picks per ticker at most this often; term_refresh_s: the term structure's REST
    refresh per ticker; resubscribe_s: subscription changes are gathered this long (each one
    reconnects the HTTP stream)."""

    tick_s: float = 0.05
    min_reprice_s: float = 0.1
    repick_min_s: float = 60.0
    term_refresh_s: float = 300.0
    term_check_s: float = 10.0
    resubscribe_s: float = 2.0


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """mode: LIVE while the stream is connected, else POLL; reason: why POLL (None while
    connecting or live); stream: the stream's own health (None when it never started);
    streamed: tickers subscribed; reprices / repicks / term_refreshes: counts so far."""

    mode: str
    reason: str | None
    stream: StreamHealth | None
    streamed: int
    reprices: int
    repicks: int
    term_refreshes: int

    def to_json(self) -> dict[str, object]:
        h = self.stream
        return {
            "mode": self.mode,
            "reason": self.reason,
            "state": h.state.value if h else None,
            "connected": bool(h and h.connected),
            "symbols": h.symbols if h else 0,
            "streamed_tickers": self.streamed,
            "events": h.events if h else 0,
            "events_per_s": round(h.events_per_s, 1) if h else 0.0,
            "last_event_age_s": _round(h.last_event_age_s) if h else None,
            "reconnects": h.reconnects if h else 0,
            "malformed": h.malformed if h else 0,
            "reprices": self.reprices,
            "repicks": self.repicks,
            "term_refreshes": self.term_refreshes,
        }


def market_open(cal: TradingCalendar, now: dt.datetime) -> bool:
    """True inside the regular session of `now`'s exchange day (the keep-alive rule applies)."""
    session = cal.session(now.astimezone(NY).date())
    return session is not None and session.open <= now < session.close


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


class LiveMonitor:
    """Streams the tickers the engine analysed and re-prices them (one per engine/process)."""

    def __init__(
        self,
        engine: Engine,
        *,
        owner: str,
        options: LiveOptions | None = None,
        stream_factory: Callable[[], TradierStream] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.rt = engine.rt
        self.owner = owner
        self.opts = options or LiveOptions()
        self._factory = stream_factory
        self._mono = monotonic
        self.book = QuoteBook()
        self.bases: dict[str, LiveBase] = {}
        self._rebased_at: dict[str, float] = {}  # monotonic time of each ticker's base
        self._repicked_at: dict[str, float] = {}
        self._repricing: dict[str, float] = {}  # last re-price (monotonic)
        self._dirty: set[str] = set()
        self._pending: dict[str, Analysis] = {}  # the next batch for `updates()`
        self._queues: list[asyncio.Queue[tuple[Analysis, ...]]] = []
        self._subs_dirty_at: float | None = None
        self._stream: TradierStream | None = None
        self._lock: StreamLock | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._reason: str | None = None
        self._started = False
        self.reprices = 0
        self.repicks = 0
        self.term_refreshes = 0

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Subscribe to the engine's analyses and start streaming, or settle on POLL with the
        reason. Never raises for a streaming problem."""
        if self._started:
            return
        self._started = True
        self.engine.inputs_hook = self.on_inputs
        settings = self.rt.settings
        if not settings.tradier.streaming:
            self._reason = "streaming is off ([tradier] streaming = false)"
            return
        if self._factory is None:
            token = settings.tradier.token
            key = token.reveal() if token is not None else "demo"
            self._lock = StreamLock(lock_path(settings.database_path, key), self.owner)
            holder = self._lock.acquire()
            if holder is not None:
                self._reason = f"the market stream is owned by {holder}"
                self._lock = None
                return
        try:
            self._stream = self._factory() if self._factory else self._default_stream()
        except IvCrushError as exc:
            self._reason = f"streaming unavailable: {exc.message}"
            self._release()
            return
        self._tasks = [
            asyncio.create_task(self._consume(), name="live-consume"),
            asyncio.create_task(self._ticks(), name="live-ticks"),
            asyncio.create_task(self._term_refresh_loop(), name="live-term"),
        ]

    async def stop(self) -> None:
        if self.engine.inputs_hook == self.on_inputs:
            self.engine.inputs_hook = None
        if self._stream is not None:
            self._stream.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _default_stream(self) -> TradierStream:
        cal, clock = self.rt.calendar, self.rt.clock
        return self.rt.tradier.open_stream(market_open=lambda: market_open(cal, clock.now()))

    # -- what the callers read ------------------------------------------------------------

    def status(self) -> LiveStatus:
        health = self._stream.health() if self._stream is not None else None
        reason = self._reason
        if health is not None and health.state is StreamState.FAILED:
            reason = f"stream failed: {health.error or health.error_code}"
        mode = LIVE if health is not None and health.state is StreamState.LIVE else POLL
        if mode == POLL and reason is None and health is not None:
            reason = f"stream {health.state.value}"
        return LiveStatus(
            mode=mode,
            reason=None if mode == LIVE else reason,
            stream=health,
            streamed=len(self.bases),
            reprices=self.reprices,
            repicks=self.repicks,
            term_refreshes=self.term_refreshes,
        )

    @property
    def live(self) -> bool:
        return self._stream is not None and self._stream.health().state is StreamState.LIVE

    def streamed(self) -> frozenset[str]:
        """Tickers kept current by the stream (while it is live)."""
        return frozenset(self.bases) if self.live else frozenset()

    async def updates(self) -> AsyncIterator[tuple[Analysis, ...]]:
        """Batches of new analyses (re-prices, re-picks, term refreshes) as they are made."""
        queue: asyncio.Queue[tuple[Analysis, ...]] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    # -- inputs ---------------------------------------------------------------------------

    def on_inputs(self, inputs: AnalysisInputs, analysis: Analysis) -> None:
        """The engine analysed a ticker from full inputs: (re)base its stream on them."""
        if self._stream is None:
            return
        plan = build_plan(inputs, analysis)
        known = inputs.symbol in self.bases
        if plan is None or inputs.quote is None:
            if known:
                self.forget([inputs.symbol])
            return
        old = self.bases.get(inputs.symbol)
        self.bases[inputs.symbol] = LiveBase(inputs, analysis, plan)
        self._rebased_at[inputs.symbol] = self._mono()
        self.book.track(plan, inputs.quote)
        if old is None or old.plan.symbols != plan.symbols:
            self._subscriptions_changed()
        if known:
            self._pending[inputs.symbol] = analysis

    def forget(self, symbols: Iterable[str]) -> None:
        """Stop streaming `symbols` (left the watchlist)."""
        for s in symbols:
            if self.bases.pop(s, None) is not None:
                self.book.untrack(s)
                self._dirty.discard(s)
                self._subscriptions_changed()

    def _subscriptions_changed(self) -> None:
        if self._subs_dirty_at is None:
            self._subs_dirty_at = self._mono()

    def _resubscribe(self, force: bool = False) -> None:
        if self._subs_dirty_at is None or self._stream is None:
            return
        if not force and self._mono() - self._subs_dirty_at < self.opts.resubscribe_s:
            return
        self._subs_dirty_at = None
        symbols = {s for base in self.bases.values() for s in base.plan.symbols}
        self._stream.set_symbols(symbols)

    # -- the stream ----------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self._stream is not None
        observers = self.engine.observers
        clock = self.rt.clock
        try:
            async with contextlib.aclosing(self._stream.events()) as events:
                async for event in events:
                    at = clock.now()
                    ticker = self.book.apply(event, at)
                    if ticker is not None:
                        self._dirty.add(ticker)
                    if len(observers):
                        observers.quote(event.symbol, event, at)
        except Exception:  # a bug: the stream ends (POLL), the console keeps running
            log.exception("market stream consumer failed; polling instead")
            self._reason = "the market stream consumer failed (see the log)"
            self._stream.close()
            return
        health = self._stream.health()
        if health.state is StreamState.FAILED:
            log.warning("market stream failed, polling instead: %s", health.error)

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(self.opts.tick_s)
            first = self._subs_dirty_at is not None and not self._stream_has_symbols()
            self._resubscribe(force=first)
            self._reprice_dirty()
            self._publish()

    def _stream_has_symbols(self) -> bool:
        return self._stream is not None and bool(self._stream.symbols)

    def _reprice_dirty(self) -> None:
        if not self._dirty:
            return
        now = self.rt.clock.now()
        mono = self._mono()
        params = self.rt.settings.analysis_params()
        cal = self.rt.calendar
        for ticker in list(self._dirty):
            if mono - self._repricing.get(ticker, -1e9) < self.opts.min_reprice_s:
                continue  # stays dirty: re-priced at a later tick
            self._dirty.discard(ticker)
            base = self.bases.get(ticker)
            stock = self.book.stocks.get(ticker)
            if base is None or stock is None:
                continue
            self._repricing[ticker] = mono
            legs = self.book.legs_of(base.plan)
            at = self.book.quote_time.get(ticker)
            out = reprice(base, stock, legs, now, params, cal, quote_time=at)
            if isinstance(out, Repick):
                self._repick(ticker, out.reason)
                continue
            self.reprices += 1
            self._pending[ticker] = out
            self.engine.observers.analysis(out)

    def _publish(self) -> None:
        if not self._pending:
            return
        batch = tuple(self._pending.values())
        self._pending.clear()
        for q in self._queues:
            q.put_nowait(batch)

    # -- REST: re-picks and the term structure -------------------------------------------

    def _repick(self, ticker: str, reason: str) -> None:
        mono = self._mono()
        if mono - self._repicked_at.get(ticker, -1e9) < self.opts.repick_min_s:
            return
        self._repicked_at[ticker] = mono
        self.repicks += 1
        log.info("%s: re-pick by REST: %s", ticker, reason)
        task = asyncio.create_task(self._reanalyze(ticker), name=f"repick-{ticker}")
        self._tasks.append(task)
        task.add_done_callback(lambda t: self._tasks.remove(t) if t in self._tasks else None)

    async def _reanalyze(self, ticker: str) -> None:
        # The engine's hook rebases the ticker on the new inputs (on_inputs).
        await self.engine.analyze(ticker, self.rt.clock.now())

    async def _term_refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.opts.term_check_s)
            try:
                await self.refresh_terms()
            except IvCrushError as exc:
                log.info("term structure refresh failed: %s", exc)
            except Exception:
                log.exception("term structure refresh failed")

    async def refresh_terms(self, *, force: bool = False) -> int:
        """One batched REST round for the tickers whose term structure is due (every ticker
        when `force`): their non-streamed term contracts through /markets/quotes, then a full
        analysis on the refreshed inputs. Returns the tickers refreshed."""
        mono = self._mono()
        due = [
            t
            for t in self.bases
            if force or mono - self._rebased_at.get(t, mono) >= self.opts.term_refresh_s
        ]
        wanted: dict[str, str] = {}
        for t in due:
            base = self.bases[t]
            streamed = set(base.plan.expirations)
            for chain in base.inputs.chains:
                if chain.expiration not in streamed:
                    wanted.update((o.symbol, t) for o in chain.options)
        if not due:
            return 0
        quotes = await self.rt.tradier.option_quotes(sorted(wanted)) if wanted else {}
        now = self.rt.clock.now()
        params = self.rt.settings.analysis_params()
        for i, t in enumerate(due):
            kept = self.bases.get(t)
            stock = self.book.stocks.get(t)
            if kept is None or stock is None:
                continue
            base = kept
            legs = dict(self.book.legs_of(base.plan))
            legs.update((occ, q) for occ, q in quotes.items() if wanted.get(occ) == t)
            inputs = patch_inputs(base.inputs, stock, legs, now)
            fresh = analyze(inputs, params, self.rt.calendar)
            fresh = dataclasses.replace(fresh, quote_time=self.book.quote_time.get(t))
            self.on_inputs(inputs, fresh)  # rebased, and queued for `updates()`
            self.engine.observers.analysis(fresh)
            self.term_refreshes += 1
            if i % 8 == 7:
                await asyncio.sleep(0)  # let the stream in between
        return len(due)
