"""The recorder: quotes coalesced to <= 4/s per symbol (injected clock), the last state kept,
only the entry window recorded, analyses chained and reloaded exactly; writes never block."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import StockQuote
from ivcrush_tui.engine.analysis_pack import split_parts
from ivcrush_tui.engine.quote_codec import decode_quotes
from ivcrush_tui.engine.recorded import to_ms
from ivcrush_tui.engine.recorder import (
    ANALYSES_PER_ROW,
    ANALYSIS_MIN_MS,
    CHUNK_MS,
    COALESCE_MS,
    KEYFRAME_EVERY,
    EntryWindowFilter,
    Recorder,
)
from ivcrush_tui.engine.replay import load_recording
from ivcrush_tui.providers.tradier_events import StreamQuote, StreamSummary, StreamTrade
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories.recordings import RecordingsRepo
from tests.ui.fake_backend import SCRIPTS, build_analysis

CAL = TradingCalendar()
DAY = dt.date(2026, 11, 23)
OPEN = dt.datetime(2026, 11, 23, 15, 0, tzinfo=NY).astimezone(dt.UTC)  # entry window opens


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def now(self) -> dt.datetime:
        return self.at


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with await Database.open(tmp_path / "rec.sqlite3", clock=lambda: OPEN) as database:
        yield database


async def _quotes(db: Database, symbol: str) -> list[tuple[dt.datetime, float | None]]:
    out: list[tuple[dt.datetime, float | None]] = []
    for c in await RecordingsRepo(db).chunks(DAY):
        if c.symbol == symbol:
            out += [(q.at, q.bid) for q in decode_quotes(symbol, c.data, c.start_ms)]
    return out


async def test_a_fast_stream_is_coalesced_to_four_a_second_and_the_last_state_kept(
    db: Database,
) -> None:
    clock = Clock(OPEN + dt.timedelta(minutes=5))
    rec = Recorder(db, now=clock.now, inside=lambda _at: True)
    # 1,000 events/s for 3 s (one every ms), each a new bid; the recorder is ticked as the
    # periodic task would be, once a (market) second.
    start = clock.at
    for i in range(3000):
        clock.at = start + dt.timedelta(milliseconds=i)
        rec.on_quote("AAPL", StreamQuote("AAPL", bid=100 + i / 100, ask=200.0), clock.at)
        if i % 1000 == 999:
            rec.tick()
    await rec.close()
    got = await _quotes(db, "AAPL")
    gaps = [(b[0] - a[0]).total_seconds() * 1000 for a, b in itertools.pairwise(got)]
    assert min(gaps) >= COALESCE_MS
    # One sample per 250 ms slot, stamped at the slot's end.
    assert all(to_ms(t) % COALESCE_MS == 0 for t, _ in got)
    assert len(got) <= 3 * 1000 // COALESCE_MS + 1
    assert len(got) >= 3 * 1000 // COALESCE_MS - 1  # a sample in every interval: none skipped
    # The trailing state (bid of the 3000th event) is recorded, not lost between samples.
    assert got[-1][1] == 100 + 2999 / 100


async def test_trades_and_quotes_merge_into_one_state(db: Database) -> None:
    clock = Clock(OPEN + dt.timedelta(minutes=1))
    rec = Recorder(db, now=clock.now, inside=lambda _at: True)
    rec.on_quote("MSFT", StreamQuote("MSFT", bid=10.0, ask=10.2), clock.at)
    rec.on_quote("MSFT", StreamTrade("MSFT", price=10.1, cum_volume=500), clock.at)
    clock.at += dt.timedelta(seconds=1)
    rec.tick()
    await rec.close()
    (chunk,) = await RecordingsRepo(db).chunks(DAY)
    last = decode_quotes("MSFT", chunk.data, chunk.start_ms)[-1]
    assert (last.bid, last.ask, last.last, last.volume) == (10.0, 10.2, 10.1, 500)


async def test_only_the_entry_window_is_recorded(db: Database) -> None:
    inside = EntryWindowFilter(CAL)
    clock = Clock(OPEN - dt.timedelta(minutes=1))
    rec = Recorder(db, now=clock.now, inside=inside)
    quote = StockQuote("KO", last=60.0, bid=59.99, ask=60.01, prev_close=59.5)
    for minutes in (-1, 0, 30, 59, 61):  # 14:59, 15:00, 15:30, 15:59, 16:01 ET
        at = OPEN + dt.timedelta(minutes=minutes)
        rec.on_quote("KO", quote, at)
    await rec.close()
    times = [t.astimezone(NY).strftime("%H:%M") for t, _ in await _quotes(db, "KO")]
    assert times == ["15:00", "15:30", "15:59"]


def test_the_window_filter_agrees_with_the_calendar_in_any_order() -> None:
    f = EntryWindowFilter(CAL)
    steps = [0, 61, -30, 300, 24 * 60, 24 * 60 + 30, 3 * 24 * 60 + 10, -10, 59, 60]
    for m in steps:
        at = OPEN + dt.timedelta(minutes=m)
        start, end = CAL.next_entry_window(at)
        assert f(at) == (start <= at < end), at


async def test_chunks_are_sealed_per_minute_and_analyses_reload_exactly(db: Database) -> None:
    clock = Clock(OPEN + dt.timedelta(minutes=2))
    rec = Recorder(db, now=clock.now, inside=lambda _at: True)
    script = SCRIPTS["AAPL"]
    made = []
    for i in range(KEYFRAME_EVERY + 5):  # across a keyframe: chained rows, then a standalone one
        a = build_analysis(dataclasses.replace(script, spot=190 + i / 10), clock.at, CAL)
        rec.on_analysis(a)
        made.append(a)
        clock.at += dt.timedelta(seconds=15)
        rec.tick()
        if i % 7 == 0:
            await rec.flush()  # batches of several sizes
    await rec.close()
    rows = await RecordingsRepo(db).analyses(DAY)
    assert sum(r.n for r in rows) == len(made)
    assert max(r.n for r in rows) == ANALYSES_PER_ROW  # several analyses a row
    assert sum(r.base is None for r in rows) == 2  # a new chain after KEYFRAME_EVERY
    parts = [data for r in rows for _, data in split_parts(r.data)]
    standalone = [p for p in parts if p[0] == 0]
    chained = [p for p in parts if p[0] != 0]
    assert len(standalone) == 2
    # A quiet update costs a fraction of a standalone analysis.
    assert max(len(p) for p in chained) < min(len(p) for p in standalone) / 2
    recording = await load_recording(db, DAY)
    for a in made:
        assert recording.analysis_at("AAPL", a.as_of) == a
    chunks = await RecordingsRepo(db).chunks(DAY)
    assert chunks  # the ATM legs went in as quotes
    assert all(c.end_ms - c.start_ms < CHUNK_MS for c in chunks)


async def test_entry_points_return_at_once_and_never_raise(db: Database) -> None:
    clock = Clock(OPEN + dt.timedelta(minutes=3))
    rec = Recorder(db, now=clock.now, inside=lambda _at: True)
    naive = dt.datetime(2026, 11, 23, 15, 30)  # a bad input: counted, not raised
    rec.on_quote("X", StreamQuote("X", 1.0, 1.1), naive)
    assert rec.failures == 1
    a = build_analysis(SCRIPTS["MSFT"], clock.at, CAL)
    rec.on_analysis(a)
    assert rec.analyses_recorded == 0  # queued: written by the background task
    await rec.close()
    assert rec.analyses_recorded == 1
    assert rec.lost == 0


async def test_a_failed_write_is_counted_not_raised(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "gone.sqlite3", clock=lambda: OPEN)
    clock = Clock(OPEN + dt.timedelta(minutes=3))
    rec = Recorder(database, now=clock.now, inside=lambda _at: True)
    await database.close()
    rec.on_analysis(build_analysis(SCRIPTS["MSFT"], clock.at, CAL))
    await rec.close()
    assert rec.lost == 3  # the analysis and its ATM legs' quote chunks
    assert rec.analyses_recorded == 0


async def test_streamed_re_prices_are_recorded_at_most_every_interval_and_the_latest_kept(
    db: Database,
) -> None:
    """Re-prices ten times per ANALYSIS_MIN_MS (a busy stream): one analysis per interval per
    symbol, the one waiting replaced by later ones and recorded by the tick (or the close) once
    due."""
    from ivcrush_tui.engine.observers import Observers

    clock = Clock(OPEN + dt.timedelta(minutes=5))
    rec = Recorder(db, now=clock.now, inside=lambda _at: True)
    observers = Observers()
    observers.add(rec)  # as Engine.record_with registers it
    made = []
    step = dt.timedelta(milliseconds=ANALYSIS_MIN_MS // 10)
    for i in range(25):  # 2.5 intervals of re-prices
        a = build_analysis(dataclasses.replace(SCRIPTS["AAPL"], spot=190 + i / 100), clock.at, CAL)
        observers.analysis(a)
        made.append(a)
        clock.at += step
        rec.tick()
    # A session summary is not a quote: ignored, never a failure.
    observers.quote("AAPL", StreamSummary("AAPL", 189.0, 191.0, 188.5, 188.0), clock.at)
    last = build_analysis(dataclasses.replace(SCRIPTS["AAPL"], spot=195.0), clock.at, CAL)
    observers.analysis(last)  # within the interval of the previous one: held until the close
    await rec.close()
    assert rec.failures == 0
    # Recorded: the first; the one waiting when an interval had passed (step 9, written by the
    # tick at step 10); again at step 19 (the one of step 18); the last one (by the close).
    assert rec.analyses_recorded == 4
    recording = await load_recording(db, DAY)
    kept = {recording.analysis_at("AAPL", a.as_of) for a in [*made, last]}
    assert kept == {made[0], made[9], made[18], last}
