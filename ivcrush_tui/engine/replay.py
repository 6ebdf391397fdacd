"""A day's recording, loaded for replay: the analyses and quotes the recorder stored.

`load_recording(db, day)` checks the whole day at load (`Recording.check`: codecs, chains,
every row that decompresses on its own, each symbol's first and last standalone analysis) and
raises RecordingError with a clear message otherwise. Analyses are decoded on demand
(`analysis_at`), from the nearest standalone row of their chain, with the last one per symbol
kept: a 1-hour, 100-name recording holds tens of thousands of them, too many to keep decoded.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.engine.analysis_codec import CODEC_VERSION, CodecError, decode_analysis
from ivcrush_tui.engine.analysis_pack import PackError, split_parts, unpack
from ivcrush_tui.engine.analysis_pack import check as check_packed
from ivcrush_tui.engine.quote_codec import QUOTE_CODEC, QuoteCodecError, decode_quotes
from ivcrush_tui.engine.recorded import RecordedQuote, from_ms
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories.recordings import AnalysisRow, QuoteChunkRow, RecordingsRepo


class RecordingError(IvCrushError):
    """No recording for the day asked for, or a damaged one (code CONFIG: exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.CONFIG, message)


@dataclass(slots=True)
class _Series:
    """One symbol's analyses: times (ms) and rows, in time order."""

    times: list[int] = field(default_factory=list)
    rows: list[AnalysisRow] = field(default_factory=list)
    cached: tuple[int, Analysis] | None = None  # the last decoded (row id, analysis)
    text: tuple[int, bytes] | None = None  # the last unpacked (row id, JSON text)


class Recording:
    """A loaded day (see the module docstring). Times are aware UTC."""

    def __init__(
        self,
        day: dt.date,
        rows: Sequence[AnalysisRow],
        chunks: Sequence[QuoteChunkRow],
    ) -> None:
        self.day = day
        rows = _one_per_analysis(day, rows)
        self._by_id = {r.id: r for r in rows}
        self._series: dict[str, _Series] = {}
        for r in sorted(rows, key=lambda r: (r.at_ms, r.id or 0)):
            s = self._series.setdefault(r.symbol, _Series())
            s.times.append(r.at_ms)
            s.rows.append(r)
        self._chunks: dict[str, list[QuoteChunkRow]] = {}
        for c in chunks:
            self._chunks.setdefault(c.symbol, []).append(c)
        firsts = [r.at_ms for r in rows] + [c.start_ms for c in chunks]
        lasts = [r.at_ms for r in rows] + [c.end_ms for c in chunks]
        self.start = from_ms(min(firsts))
        self.end = from_ms(max(lasts))
        # The watchlist of the replay: symbols in the order of their first analysis.
        self.symbols: tuple[str, ...] = tuple(
            sorted(self._series, key=lambda s: (self._series[s].times[0], s))
        )
        self.analysis_count = len(rows)
        self.quote_count = sum(c.n for c in chunks)

    def _text(self, row: AnalysisRow) -> bytes:
        """The JSON of `row`, unpacked along its chain from the last text unpacked for its
        symbol (replaying forward: one step) or else its chain's standalone row."""
        series = self._series[row.symbol]
        known = series.text
        chain = [row]
        while chain[-1].base is not None and (known is None or chain[-1].id != known[0]):
            base = self._by_id.get(chain[-1].base)
            if base is None:
                raise RecordingError(f"recording of {self.day}: an analysis chain is broken")
            chain.append(base)
        text = b""
        if known is not None and chain[-1].id == known[0]:
            text = known[1]
            chain.pop()
        for r in reversed(chain):
            text = _decompress(r, text if r.base is not None else None, self.day)
        series.text = (row.id or 0, text)
        return text

    def analysis_at(self, symbol: str, at: dt.datetime) -> Analysis | None:
        """The latest analysis of `symbol` made at or before `at` (None before its first)."""
        s = self._series.get(symbol)
        if s is None:
            return None
        ms = int((at - from_ms(0)).total_seconds() * 1000)
        i = bisect.bisect_right(s.times, ms) - 1
        if i < 0:
            return None
        row = s.rows[i]
        if s.cached is not None and s.cached[0] == row.id:
            return s.cached[1]
        analysis = _decode(self._text(row), self.day)
        s.cached = (row.id or 0, analysis)
        return analysis

    def first_analysis(self, symbol: str) -> Analysis | None:
        s = self._series.get(symbol)
        return None if s is None else _decode(self._text(s.rows[0]), self.day)

    def quotes(self, symbol: str, start: dt.datetime, end: dt.datetime) -> list[RecordedQuote]:
        """`symbol`'s recorded quotes with start <= at < end, in time order."""
        lo = int((start - from_ms(0)).total_seconds() * 1000)
        hi = int((end - from_ms(0)).total_seconds() * 1000)
        out: list[RecordedQuote] = []
        for c in self._chunks.get(symbol, ()):
            if c.end_ms < lo or c.start_ms >= hi:
                continue
            try:
                quotes = decode_quotes(symbol, c.data, c.start_ms)
            except QuoteCodecError as exc:
                raise RecordingError(f"recording of {self.day}: {exc}") from exc
            out.extend(q for q in quotes if start <= q.at < end)
        out.sort(key=lambda q: q.at)
        return out

    def quoted_symbols(self) -> tuple[str, ...]:
        return tuple(sorted(self._chunks))

    def check(self) -> None:
        """The day is whole and readable, checked fast enough for a day of 100 names (24,000
        analyses in well under a second of unpacking): every row's codec is known, every base
        exists and comes first, every row that can be checked without its base decompresses
        whole, each symbol's first and last standalone analysis decodes. RecordingError
        otherwise. (A row damaged in a way only its full unpacking shows fails alone, later,
        as an error row.)"""
        for r in self._by_id.values():
            if r.codec != CODEC_VERSION:
                raise RecordingError(f"recording of {self.day}: unknown analysis codec {r.codec}")
            if r.base is not None and (r.base not in self._by_id or r.base >= (r.id or 0)):
                raise RecordingError(f"recording of {self.day}: an analysis chain is broken")
            try:
                check_packed(r.data)
            except PackError as exc:
                raise RecordingError(
                    f"recording of {self.day}: an analysis of {r.symbol} is damaged ({exc})"
                ) from exc
        for chunks in self._chunks.values():
            for c in chunks:
                if c.codec != QUOTE_CODEC:
                    raise RecordingError(f"recording of {self.day}: unknown quote codec {c.codec}")
                try:
                    zlib.decompress(c.data)
                except zlib.error as exc:
                    raise RecordingError(
                        f"recording of {self.day}: a quote chunk of {c.symbol} is damaged"
                    ) from exc
        for s in self._series.values():
            standalone = [row for row in s.rows if row.base is None]
            for row in {id(r): r for r in (s.rows[0], *standalone[-1:])}.values():
                _decode(self._text(row), self.day)


# A stored row holds several analyses; each gets the id row.id * _PER_ROW + its index.
_PER_ROW = 1024


def _one_per_analysis(day: dt.date, rows: Sequence[AnalysisRow]) -> list[AnalysisRow]:
    """The stored rows split into one (virtual) row per analysis, chained one to the next."""
    by_id = {r.id: r for r in rows}
    out: list[AnalysisRow] = []
    for r in rows:
        try:
            parts = split_parts(r.data)
        except PackError as exc:
            raise RecordingError(
                f"recording of {day}: an analysis of {r.symbol} is damaged ({exc})"
            ) from exc
        if len(parts) != r.n or r.n >= _PER_ROW:
            raise RecordingError(f"recording of {day}: an analysis row of {r.symbol} is damaged")
        rid = r.id or 0
        for k, (at_ms, data) in enumerate(parts):
            if k:
                base: int | None = rid * _PER_ROW + k - 1
            elif r.base is None:
                base = None
            else:
                prev = by_id.get(r.base)
                # A missing base row leaves a dangling id: `check` reports the broken chain.
                base = r.base * _PER_ROW + (prev.n - 1 if prev is not None else _PER_ROW - 1)
            out.append(
                AnalysisRow(day, r.symbol, at_ms, base, r.codec, data, id=rid * _PER_ROW + k)
            )
    return out


def _decompress(row: AnalysisRow, base: bytes | None, day: dt.date) -> bytes:
    try:
        return unpack(row.data, base)
    except PackError as exc:
        raise RecordingError(
            f"recording of {day}: an analysis of {row.symbol} is damaged ({exc})"
        ) from exc


def _decode(text: bytes, day: dt.date) -> Analysis:
    try:
        return decode_analysis(text)
    except CodecError as exc:
        raise RecordingError(f"recording of {day}: an analysis does not decode ({exc})") from exc


async def load_recording(db: Database, day: dt.date) -> Recording:
    """The recording of exchange day `day`; RecordingError when there is none or it is damaged."""
    repo = RecordingsRepo(db)
    rows = await repo.analyses(day)
    chunks = await repo.chunks(day)
    if not rows:
        days = [d.day.isoformat() for d in await repo.days() if d.analyses]
        known = f"recorded days: {', '.join(days[-10:])}" if days else "nothing is recorded yet"
        raise RecordingError(f"no recording of {day.isoformat()} in {db.path} ({known})")
    recording = Recording(day, rows, chunks)
    recording.check()
    return recording
