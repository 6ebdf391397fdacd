"""The recorder of the entry window: quotes (coalesced) and analyses into the store, per day.

Entry points (synchronous, O(1), called on the engine's event loop; never blocking, never
raising for a recording problem):

- `on_quote(symbol, quote, at)`: a quote of a stock or an option (REST `StockQuote`/`OptionQuote`
  or a streamed `StreamQuote`/`StreamTrade`/`StreamTimesale`) seen at `at` (aware). The symbol's
  latest bid/ask/last/volume are merged; time is cut into COALESCE_MS slots (<= 4/s per symbol)
  and a slot with events is recorded once, stamped at its end, with the state its last event
  left (written by the next event of a later slot or by the periodic `tick`): the last state is
  never lost, and slot-aligned times cost almost nothing to store.
- `on_analysis(analysis)`: every analysis (any status) made inside an entry window, at most one
  per ANALYSIS_MIN_MS per symbol (streamed re-prices can come ten times a second; the quotes
  behind them are recorded anyway): one closer to the previous is held, replaced by a later
  one, and recorded when its interval is over (`tick`, `close`), so the latest is never lost.
  Why 10 s: a streamed re-price packs to ~0.5 KB, so 100 names busy all hour record at most
  36,000 of them (~18 MB) beside the quotes, inside the 50 MB an hour's recording may take
  (docs/PERFORMANCE.md, "Recording"); polling analyses come every 15 s anyway.
  Its ATM legs are recorded as quotes too.

Both are the engine's observer methods (engine/observers.py): `engine.observers.add(recorder)`
passes it every streamed event and every analysis; REST stock quotes come from the engine.

Only instants inside an entry window are recorded (the calendar's, half days included). Samples
collect per symbol into chunks (at most CHUNK_MS long or CHUNK_MAX quotes), which `tick` seals;
chunks and analyses go to the store through a `BatchWriter` (engine/writebehind.py), encoded off
the event loop (a worker thread): quotes by engine/quote_codec.py, analyses as JSON
(engine/analysis_codec.py) packed against the symbol's previous one (engine/analysis_pack.py).
`close()` seals and writes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import OptionQuote, StockQuote
from ivcrush_tui.engine.recorded import RecordedQuote, from_ms, to_ms
from ivcrush_tui.engine.writebehind import BatchWriter
from ivcrush_tui.providers.tradier_events import (
    StreamQuote,
    StreamSummary,
    StreamTimesale,
    StreamTrade,
)
from ivcrush_tui.store.repositories.recordings import (
    BASE_PREVIOUS_IN_BATCH,
    AnalysisRow,
    QuoteChunkRow,
    RecordingsRepo,
)

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.engine.runtime import Runtime
    from ivcrush_tui.store.db import Database

log = logging.getLogger(__name__)

COALESCE_MS: Final = 250  # at most 4 recorded quotes per second and symbol
CHUNK_MS: Final = 600_000  # a quote chunk spans at most this long (lost on a crash: at most this)
CHUNK_MAX: Final = 4096  # ... and holds at most this many quotes (~5 KB: rows over a page fill it)
KEYFRAME_EVERY: Final = 200  # an analysis stands alone (no base) at least this often
# A row holds up to this many analyses of one symbol (at most ANALYSES_ROW_MS apart, lost on a
# crash: at most this): rows of ~8 KB
# fill SQLite's pages, where rows of ~1 KB left a fifth of each page empty.
ANALYSES_PER_ROW: Final = 8
ANALYSES_ROW_MS: Final = 120_000
# At most one analysis per symbol this often; a later one waits and replaces the one waiting.
ANALYSIS_MIN_MS: Final = 10_000
TICK_S: Final = 1.0  # how often `run` seals due samples and chunks (real seconds)

Quote = StockQuote | OptionQuote | StreamQuote | StreamTrade | StreamTimesale | RecordedQuote


def ny_day(at: dt.datetime) -> dt.date:
    """The exchange (America/New_York) day of an aware instant."""
    return at.astimezone(NY).date()


@dataclass(slots=True)
class _Symbol:
    """One symbol's merged state and its samples not yet sealed into a chunk."""

    bid: float | None = None
    ask: float | None = None
    last: float | None = None
    volume: int | None = None
    slot_ms: int = 0  # the end of the slot the unsampled state belongs to
    recorded_ms: int | None = None  # the latest sample
    dirty: bool = False  # merged events not sampled yet
    samples: list[RecordedQuote] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Chunk:
    day: dt.date
    symbol: str
    samples: tuple[RecordedQuote, ...]


@dataclass(frozen=True, slots=True)
class _AnalysisGroup:
    """One symbol's analyses of a stretch of time: one row (see ANALYSES_PER_ROW)."""

    day: dt.date
    symbol: str
    analyses: tuple[Analysis, ...]


@dataclass(slots=True)
class _ChainHead:
    """The last analysis written for a symbol: the dictionary of its next one."""

    id: int  # row id, or BASE_PREVIOUS_IN_BATCH while its batch is being written
    text: bytes
    day: dt.date
    length: int  # rows since the last standalone one


class EntryWindowFilter:
    """`inside(at)`: is `at` inside an entry window? Cached per window (called per quote)."""

    def __init__(self, calendar: TradingCalendar) -> None:
        self._calendar = calendar
        self._window: tuple[dt.datetime, dt.datetime] | None = None
        self._asked: dt.datetime | None = None  # the instant the cached window was found from

    def __call__(self, at: dt.datetime) -> bool:
        w = self._window
        # The window is the calendar's next one from `_asked`: the same for any later instant
        # before its end.
        if w is None or self._asked is None or at >= w[1] or at < self._asked:
            w = self._window = self._calendar.next_entry_window(at)
            self._asked = at
        return w[0] <= at < w[1]


class Recorder:
    """Records quotes and analyses of the entry window (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        now: Callable[[], dt.datetime],
        inside: Callable[[dt.datetime], bool],
        max_pending: int = 100_000,
    ) -> None:
        self._repo = RecordingsRepo(db)
        self._now = now
        self._inside = inside
        self._symbols: dict[str, _Symbol] = {}
        self._chains: dict[str, _ChainHead] = {}
        self._analyses: dict[str, list[Analysis]] = {}  # per symbol, not yet in a row
        self._analysis_ms: dict[str, int] = {}  # per symbol: as_of of the latest one recorded
        self._held: dict[str, Analysis] = {}  # per symbol: waiting for ANALYSIS_MIN_MS
        self._writer: BatchWriter[_Chunk | _AnalysisGroup] = BatchWriter(
            self._write, name="recorder", max_pending=max_pending
        )
        self._ticker: asyncio.Task[None] | None = None
        self.quotes_recorded = 0
        self.analyses_recorded = 0
        self.failures = 0  # entry-point calls that failed (logged once)

    @classmethod
    def for_runtime(cls, rt: Runtime) -> Recorder:
        """A recorder into the runtime's store (its mode's own file), on its clock and calendar;
        call `start()` on the engine loop, and `close()` before the runtime closes."""
        return cls(rt.db, now=rt.clock.now, inside=EntryWindowFilter(rt.calendar))

    # -- entry points ----------------------------------------------------------------------

    def on_quote(self, symbol: str, quote: Quote | StreamSummary, at: dt.datetime) -> None:
        """Merge `quote` (seen at `at`, aware) into `symbol`'s state; sampled <= 4/s. A
        session summary (open, high, low) is not a quote: ignored."""
        if isinstance(quote, StreamSummary):
            return
        try:
            self._on_quote(symbol, quote, at)
        except Exception:  # a recording problem must never reach the caller
            self._failed("quote")

    def on_analysis(self, analysis: Analysis) -> None:
        """Record `analysis` (and its ATM legs as quotes) when made inside an entry window."""
        try:
            self._on_analysis(analysis)
        except Exception:
            self._failed("analysis")

    def _failed(self, what: str) -> None:
        self.failures += 1
        if self.failures == 1:  # once: a broken input would otherwise flood the log
            log.exception("recorder: a %s could not be recorded", what)

    def _on_quote(self, symbol: str, quote: Quote, at: dt.datetime) -> None:
        if not self._inside(at):
            return
        st = self._symbols.get(symbol)
        if st is None:
            st = self._symbols[symbol] = _Symbol()
        ms = to_ms(at)
        slot = -(-ms // COALESCE_MS) * COALESCE_MS  # the end of the slot `at` falls in
        if st.recorded_ms is not None:  # a late event belongs to the next slot not yet sampled
            slot = max(slot, st.recorded_ms + COALESCE_MS)
        if st.dirty and slot > st.slot_ms:  # the previous slot is over: its last state
            self._sample(symbol, st, st.slot_ms)
        _merge(st, quote)
        st.slot_ms = max(st.slot_ms, slot) if st.dirty else slot
        st.dirty = True

    def _on_analysis(self, analysis: Analysis) -> None:
        if not self._inside(analysis.as_of):
            return
        last = self._analysis_ms.get(analysis.symbol)
        if last is not None and to_ms(analysis.as_of) - last < ANALYSIS_MIN_MS:
            self._held[analysis.symbol] = analysis  # recorded when its interval is over
            return
        self._held.pop(analysis.symbol, None)
        self._record_analysis(analysis)

    def _record_analysis(self, analysis: Analysis) -> None:
        self._analysis_ms[analysis.symbol] = to_ms(analysis.as_of)
        group = self._analyses.setdefault(analysis.symbol, [])
        if group and ny_day(group[0].as_of) != ny_day(analysis.as_of):
            self._seal_analyses(analysis.symbol)
            group = self._analyses.setdefault(analysis.symbol, [])
        group.append(analysis)
        if len(group) >= ANALYSES_PER_ROW:
            self._seal_analyses(analysis.symbol)
        implied = analysis.implied
        atm = getattr(implied, "atm", None)
        if atm is not None:
            self._on_quote(atm.call.symbol, atm.call, analysis.as_of)
            self._on_quote(atm.put.symbol, atm.put, analysis.as_of)

    # -- sampling and chunks ---------------------------------------------------------------

    def _sample(self, symbol: str, st: _Symbol, ms: int) -> None:
        at = from_ms(ms)
        if st.samples and ny_day(st.samples[0].at) != ny_day(at):
            self._seal(symbol, st)
        st.samples.append(RecordedQuote(symbol, at, st.bid, st.ask, st.last, st.volume))
        st.recorded_ms = ms
        st.dirty = False
        self.quotes_recorded += 1
        if len(st.samples) >= CHUNK_MAX:
            self._seal(symbol, st)

    def _seal(self, symbol: str, st: _Symbol) -> None:
        if st.samples:
            day = ny_day(st.samples[0].at)
            self._writer.submit(_Chunk(day, symbol, tuple(st.samples)))
            st.samples = []

    def _seal_analyses(self, symbol: str) -> None:
        group = self._analyses.pop(symbol, None)
        if group:
            self._writer.submit(_AnalysisGroup(ny_day(group[0].as_of), symbol, tuple(group)))

    def tick(self, now: dt.datetime | None = None) -> None:
        """Sample the states left dirty whose slot has ended, and seal the chunks that are
        CHUNK_MS old (`now`: default the injected clock)."""
        now_ms = to_ms(now or self._now())
        for symbol, held in list(self._held.items()):
            if now_ms - self._analysis_ms.get(symbol, 0) >= ANALYSIS_MIN_MS:
                del self._held[symbol]
                self._record_analysis(held)
        for symbol, st in self._symbols.items():
            if st.dirty and st.slot_ms <= now_ms:
                self._sample(symbol, st, st.slot_ms)
            if st.samples and now_ms - to_ms(st.samples[0].at) >= CHUNK_MS:
                self._seal(symbol, st)
        for symbol in [
            s for s, g in self._analyses.items() if now_ms - to_ms(g[0].as_of) >= ANALYSES_ROW_MS
        ]:
            self._seal_analyses(symbol)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the periodic `tick` (on the running loop)."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.tick()
            except Exception:  # the recording must never take the engine down
                log.exception("recorder tick failed")

    async def close(self, *, interrupted: bool = False, timeout_s: float = 5.0) -> None:
        """Stop ticking; seal every sample (dirty states included) and write what is queued
        (dropped at once when `interrupted`)."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        if interrupted:
            await self._writer.discard()
            return
        for held in self._held.values():
            self._record_analysis(held)
        self._held.clear()
        for symbol, st in self._symbols.items():
            if st.dirty:
                self._sample(symbol, st, st.slot_ms)
            self._seal(symbol, st)
        for symbol in list(self._analyses):
            self._seal_analyses(symbol)
        await self._writer.flush(timeout_s)

    async def flush(self, timeout_s: float = 30.0) -> None:
        """Write the sealed chunks and rows queued so far (tests, benchmarks)."""
        await self._writer.flush(timeout_s)

    @property
    def lost(self) -> int:
        """Items dropped (queue full) or lost (failed writes) so far."""
        return self._writer.dropped + self._writer.lost

    # -- writing (the BatchWriter's task) --------------------------------------------------

    async def _write(self, items: list[_Chunk | _AnalysisGroup]) -> None:
        chunks, rows, heads = await asyncio.to_thread(self._encode, items, dict(self._chains))
        ids = await self._repo.write(chunks, rows)
        # Each symbol's head is its last row of the batch (new objects, made by _encode).
        last_ids: dict[str, int] = {}
        for row, row_id in zip(rows, ids, strict=True):
            last_ids[row.symbol] = row_id
        for symbol, head in heads.items():
            if symbol in last_ids:
                head.id = last_ids[symbol]
        self._chains = heads
        self.analyses_recorded += sum(r.n for r in rows)

    @staticmethod
    def _encode(
        items: list[_Chunk | _AnalysisGroup], heads: dict[str, _ChainHead]
    ) -> tuple[list[QuoteChunkRow], list[AnalysisRow], dict[str, _ChainHead]]:
        """Encode a batch (in a worker thread): chunks by the quote codec, each analysis as
        JSON packed against its symbol's previous one (a row's first against the symbol's last
        row, unless it starts a new chain)."""
        from ivcrush_tui.engine.analysis_codec import CODEC_VERSION, encode_analysis
        from ivcrush_tui.engine.analysis_pack import join_parts, pack
        from ivcrush_tui.engine.quote_codec import QUOTE_CODEC, encode_quotes

        chunks: list[QuoteChunkRow] = []
        rows: list[AnalysisRow] = []
        for item in items:
            if isinstance(item, _Chunk):
                start = to_ms(item.samples[0].at)
                end = to_ms(item.samples[-1].at)
                blob = encode_quotes(item.samples, start)
                chunks.append(
                    QuoteChunkRow(item.day, item.symbol, start, end, len(item.samples),
                                  QUOTE_CODEC, blob)
                )  # fmt: skip
                continue
            head = heads.get(item.symbol)
            base: int | None = None
            prev: bytes | None = None
            length = 0
            n = len(item.analyses)
            if head is not None and head.day == item.day and head.length + n <= KEYFRAME_EVERY:
                base, prev, length = head.id, head.text, head.length
            parts: list[tuple[int, bytes]] = []
            for a in item.analyses:
                text = encode_analysis(a).encode()
                parts.append((to_ms(a.as_of), pack(text, prev)))
                prev, length = text, length + 1
            assert prev is not None
            first, last = parts[0][0], parts[-1][0]
            data = join_parts(parts)
            rows.append(
                AnalysisRow(item.day, item.symbol, first, base, CODEC_VERSION, data, n=n,
                            end_ms=last)
            )  # fmt: skip
            heads[item.symbol] = _ChainHead(BASE_PREVIOUS_IN_BATCH, prev, item.day, length)
        return chunks, rows, heads


def _merge(st: _Symbol, q: Quote) -> None:
    """Fold one event into the symbol's state (only the fields the event carries)."""
    if isinstance(q, StreamTrade):
        st.last = q.last if q.last is not None else q.price
        if q.cum_volume is not None:
            st.volume = q.cum_volume
        return
    if isinstance(q, StreamQuote):
        st.bid, st.ask = q.bid, q.ask
        return
    if isinstance(q, StreamTimesale):
        st.last = q.last if q.last is not None else st.last
        st.bid = q.bid if q.bid is not None else st.bid
        st.ask = q.ask if q.ask is not None else st.ask
        return
    st.bid, st.ask, st.last = q.bid, q.ask, q.last
    if q.volume is not None:
        st.volume = q.volume
