"""Repositories: typed reads and writes of the store (SQL with bound parameters only).

Every write is one transaction. Times in and out are timezone-aware UTC datetimes; days are
`datetime.date` (exchange calendar days). Symbols are normalised to upper case.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ivcrush_tui.domain import Bar, EarningsEvent, ErrorCode, IvCrushError, Timing
from ivcrush_tui.store.db import Database, Row, from_iso, to_iso

_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-/^]{0,15}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

UPCOMING_RECHECK_WINDOW = dt.timedelta(days=7)  # an event this close is re-checked ...
UPCOMING_MAX_AGE = dt.timedelta(hours=24)  # ... when its record is older than this
RECORD_MAX_AGE = dt.timedelta(days=7)  # otherwise a symbol's events are refreshed weekly


def normalize_symbol(symbol: str) -> str:
    """Upper-cased, stripped symbol; IvCrushError(INVALID_SYMBOL) when it cannot be a ticker."""
    norm = symbol.strip().upper()
    if not _SYMBOL.match(norm):
        raise IvCrushError(ErrorCode.INVALID_SYMBOL, f"not a ticker symbol: {symbol!r}")
    return norm


def _finite(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        raise IvCrushError(ErrorCode.INTERNAL, f"refusing to store non-finite {name}={value!r}")
    return float(value)


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _check_day(day: str) -> str:
    if not _DAY.match(day):
        raise IvCrushError(ErrorCode.INTERNAL, f"quota day must be YYYY-MM-DD, got {day!r}")
    return day


# -- watchlist -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    symbol: str
    added_at: dt.datetime  # UTC
    position: int  # display order, ascending


class WatchlistRepo:
    """The user's watchlist, in display order. Edits are committed before the call returns."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self) -> tuple[str, ...]:
        """The symbols in display order."""
        rows = await self._db.fetchall("SELECT symbol FROM watchlist ORDER BY position, symbol")
        return tuple(r[0] for r in rows)

    async def entries(self) -> tuple[WatchlistEntry, ...]:
        rows = await self._db.fetchall(
            "SELECT symbol, added_at, position FROM watchlist ORDER BY position, symbol"
        )
        return tuple(WatchlistEntry(r[0], from_iso(r[1]), int(r[2])) for r in rows)

    async def add(self, symbols: Iterable[str]) -> tuple[str, ...]:
        """Append the symbols not yet present (idempotent); returns those actually added."""
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        if not wanted:
            return ()
        now = to_iso(self._db.clock())
        added: list[str] = []
        async with self._db.transaction() as tx:
            row = await tx.fetchone("SELECT COALESCE(MAX(position), -1) FROM watchlist")
            position = int(row[0]) if row else -1
            for symbol in wanted:
                position += 1
                changed = await tx.execute(
                    "INSERT INTO watchlist (symbol, added_at, position) VALUES (?, ?, ?)"
                    " ON CONFLICT (symbol) DO NOTHING",
                    (symbol, now, position),
                )
                if changed:
                    added.append(symbol)
        return tuple(added)

    async def remove(self, symbols: Iterable[str]) -> tuple[str, ...]:
        """Remove the symbols; returns those that were present."""
        wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
        removed: list[str] = []
        async with self._db.transaction() as tx:
            for symbol in wanted:
                if await tx.execute("DELETE FROM watchlist WHERE symbol = ?", (symbol,)):
                    removed.append(symbol)
        return tuple(removed)


# -- earnings events -----------------------------------------------------------------------------

_EVENT_COLS = "symbol, report_date, timing, fiscal_date_ending, eps_estimate, eps_reported, name"


def _event(r: Row) -> EarningsEvent:
    return EarningsEvent(
        symbol=r[0],
        date=dt.date.fromisoformat(r[1]),
        timing=Timing(r[2]),
        fiscal_date_ending=_day(r[3]),
        eps_estimate=r[4],
        eps_reported=r[5],
        name=r[6],
    )


class EventsRepo:
    """Earnings events (past and upcoming), one row per (symbol, report date)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self, events: Iterable[EarningsEvent], fetched_at: dt.datetime, *, source: str = "provider"
    ) -> int:
        """Insert or update the events, stamping them fetched at `fetched_at`; returns the count.

        An update keeps a known EPS or fiscal date when the new record lacks it (the calendar
        feed has no reported EPS, the history feed has no estimate for old quarters).
        """
        stamp = to_iso(fetched_at)
        rows = [
            (
                normalize_symbol(e.symbol),
                e.date.isoformat(),
                Timing(e.timing).value,
                e.fiscal_date_ending.isoformat() if e.fiscal_date_ending else None,
                _finite("eps_estimate", e.eps_estimate),
                _finite("eps_reported", e.eps_reported),
                e.name,
                source,
                stamp,
            )
            for e in events
        ]
        if not rows:
            return 0
        async with self._db.transaction() as tx:
            await tx.executemany(
                f"INSERT INTO earnings_events ({_EVENT_COLS}, source, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (symbol, report_date) DO UPDATE SET"
                " timing = CASE WHEN excluded.timing = 'UNKNOWN' THEN timing"
                "   ELSE excluded.timing END,"
                " fiscal_date_ending = COALESCE(excluded.fiscal_date_ending, fiscal_date_ending),"
                " eps_estimate = COALESCE(excluded.eps_estimate, eps_estimate),"
                " eps_reported = COALESCE(excluded.eps_reported, eps_reported),"
                " name = COALESCE(excluded.name, name),"
                " source = excluded.source,"
                " fetched_at = MAX(fetched_at, excluded.fetched_at)",
                rows,
            )
        return len(rows)

    async def past(
        self, symbol: str, before: dt.date, limit: int = 12
    ) -> tuple[EarningsEvent, ...]:
        """Events with report date < `before`, most recent first, at most `limit`."""
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLS} FROM earnings_events WHERE symbol = ? AND report_date < ?"
            " ORDER BY report_date DESC LIMIT ?",
            (normalize_symbol(symbol), before.isoformat(), max(limit, 0)),
        )
        return tuple(_event(r) for r in rows)

    async def upcoming(self, symbol: str, on_or_after: dt.date) -> EarningsEvent | None:
        """The first event on or after `on_or_after`, if any."""
        row = await self._db.fetchone(
            f"SELECT {_EVENT_COLS} FROM earnings_events WHERE symbol = ? AND report_date >= ?"
            " ORDER BY report_date LIMIT 1",
            (normalize_symbol(symbol), on_or_after.isoformat()),
        )
        return None if row is None else _event(row)

    async def between(self, start: dt.date, end: dt.date) -> tuple[EarningsEvent, ...]:
        """All symbols' events with start <= report date <= end, by date then symbol."""
        rows = await self._db.fetchall(
            f"SELECT {_EVENT_COLS} FROM earnings_events WHERE report_date BETWEEN ? AND ?"
            " ORDER BY report_date, symbol",
            (start.isoformat(), end.isoformat()),
        )
        return tuple(_event(r) for r in rows)

    async def last_fetched(self, symbol: str) -> dt.datetime | None:
        """When any event of `symbol` was last fetched (UTC), None if never."""
        value = await self._db.fetchval(
            "SELECT MAX(fetched_at) FROM earnings_events WHERE symbol = ?",
            (normalize_symbol(symbol),),
        )
        return None if value is None else from_iso(value)

    async def needs_refresh(self, symbol: str, today: dt.date, now: dt.datetime) -> bool:
        """Should the events of `symbol` be fetched again?

        - never fetched -> yes;
        - the next upcoming event is within 7 calendar days of `today` and its record is older
          than 24 h -> yes (dates move, and a wrong date is the costliest mistake);
        - otherwise yes when the newest record is older than 7 days.
        """
        sym = normalize_symbol(symbol)
        last = await self.last_fetched(sym)
        if last is None:
            return True
        row = await self._db.fetchone(
            "SELECT report_date, fetched_at FROM earnings_events"
            " WHERE symbol = ? AND report_date >= ? ORDER BY report_date LIMIT 1",
            (sym, today.isoformat()),
        )
        if row is not None:
            days_away = dt.date.fromisoformat(row[0]) - today
            if days_away <= UPCOMING_RECHECK_WINDOW and now - from_iso(row[1]) > UPCOMING_MAX_AGE:
                return True
        return now - last > RECORD_MAX_AGE


# -- daily prices --------------------------------------------------------------------------------


class PricesRepo:
    """Daily OHLCV bars per symbol (dollars per share; volume in shares)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, symbol: str, bars: Iterable[Bar]) -> int:
        """Insert or replace the bars; returns the count. Non-finite prices are refused."""
        sym = normalize_symbol(symbol)
        rows: list[tuple[Any, ...]] = []
        for b in bars:
            prices = (b.open, b.high, b.low, b.close)
            if not all(math.isfinite(p) and p >= 0 for p in prices):
                raise IvCrushError(ErrorCode.BAD_PAYLOAD, f"{sym} {b.day}: invalid bar {prices}")
            rows.append((sym, b.day.isoformat(), *map(float, prices), int(b.volume)))
        if not rows:
            return 0
        async with self._db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO daily_prices (symbol, day, open, high, low, close, volume)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (symbol, day) DO UPDATE SET open = excluded.open,"
                " high = excluded.high, low = excluded.low, close = excluded.close,"
                " volume = excluded.volume",
                rows,
            )
        return len(rows)

    async def bars(self, symbol: str, start: dt.date, end: dt.date) -> tuple[Bar, ...]:
        """Bars with start <= day <= end, oldest first."""
        rows = await self._db.fetchall(
            "SELECT day, open, high, low, close, volume FROM daily_prices"
            " WHERE symbol = ? AND day BETWEEN ? AND ? ORDER BY day",
            (normalize_symbol(symbol), start.isoformat(), end.isoformat()),
        )
        return tuple(Bar(dt.date.fromisoformat(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows)

    async def last_day(self, symbol: str) -> dt.date | None:
        value = await self._db.fetchval(
            "SELECT MAX(day) FROM daily_prices WHERE symbol = ?", (normalize_symbol(symbol),)
        )
        return _day(value)


# -- ticker metadata -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TickerMetadata:
    symbol: str
    name: str | None = None
    sector: str | None = None
    industry: str | None = None
    market_cap: float | None = None  # dollars
    updated_at: dt.datetime | None = None  # UTC; set by the repository on write


class MetadataRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, meta: TickerMetadata) -> None:
        """Insert or replace; `updated_at` defaults to the store's clock."""
        stamp = to_iso(meta.updated_at or self._db.clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ticker_metadata (symbol, name, sector, industry, market_cap,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (symbol) DO UPDATE SET name = excluded.name,"
                " sector = excluded.sector, industry = excluded.industry,"
                " market_cap = excluded.market_cap, updated_at = excluded.updated_at",
                (
                    normalize_symbol(meta.symbol),
                    meta.name,
                    meta.sector,
                    meta.industry,
                    _finite("market_cap", meta.market_cap),
                    stamp,
                ),
            )

    async def get(self, symbol: str) -> TickerMetadata | None:
        row = await self._db.fetchone(
            "SELECT symbol, name, sector, industry, market_cap, updated_at FROM ticker_metadata"
            " WHERE symbol = ?",
            (normalize_symbol(symbol),),
        )
        if row is None:
            return None
        return TickerMetadata(row[0], row[1], row[2], row[3], row[4], from_iso(row[5]))


# -- the ledger ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """One analysis as recorded (the ledger). Percentages are percent numbers, IVs fractions/yr."""

    symbol: str
    taken_at: dt.datetime  # UTC
    earnings_date: dt.date | None
    expiration: dt.date | None
    spot: float | None  # dollars per share
    straddle: float | None  # dollars per share
    implied_move_pct: float | None
    call_iv: float | None
    put_iv: float | None
    call_spread_pct: float | None
    put_spread_pct: float | None
    vrp_ratio: float | None
    tier: str | None
    recommendation: str | None
    payload_json: str = "{}"  # the full analysis, JSON (no NaN/inf)
    mode: Literal["live", "demo"] = "live"
    id: int | None = None  # assigned by LedgerRepo.add


_LEDGER_COLS = (
    "symbol, taken_at, earnings_date, expiration, spot, straddle, implied_move_pct, call_iv,"
    " put_iv, call_spread_pct, put_spread_pct, vrp_ratio, tier, recommendation, payload_json, mode"
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite JSON number {name}")


class LedgerRepo:
    """Append-only record of analyses; a committed row survives a crash."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, snap: LedgerSnapshot) -> int:
        """Append the snapshot; returns its id."""
        try:
            json.loads(snap.payload_json, parse_constant=_reject_constant)
        except ValueError as exc:
            raise IvCrushError(ErrorCode.INTERNAL, f"ledger payload is not JSON: {exc}") from exc
        if snap.mode not in ("live", "demo"):
            raise IvCrushError(ErrorCode.INTERNAL, f"ledger mode must be live|demo: {snap.mode!r}")
        params = (
            normalize_symbol(snap.symbol),
            to_iso(snap.taken_at),
            snap.earnings_date.isoformat() if snap.earnings_date else None,
            snap.expiration.isoformat() if snap.expiration else None,
            _finite("spot", snap.spot),
            _finite("straddle", snap.straddle),
            _finite("implied_move_pct", snap.implied_move_pct),
            _finite("call_iv", snap.call_iv),
            _finite("put_iv", snap.put_iv),
            _finite("call_spread_pct", snap.call_spread_pct),
            _finite("put_spread_pct", snap.put_spread_pct),
            _finite("vrp_ratio", snap.vrp_ratio),
            snap.tier,
            snap.recommendation,
            snap.payload_json,
            snap.mode,
        )
        async with self._db.transaction() as tx:
            return await tx.insert(
                f"INSERT INTO analysis_snapshots ({_LEDGER_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    async def list(self, symbol: str | None = None, limit: int = 100) -> tuple[LedgerSnapshot, ...]:
        """Newest first, optionally for one symbol."""
        where, params = ("WHERE symbol = ?", [normalize_symbol(symbol)]) if symbol else ("", [])
        rows = await self._db.fetchall(
            f"SELECT {_LEDGER_COLS}, id FROM analysis_snapshots {where}"
            " ORDER BY taken_at DESC, id DESC LIMIT ?",
            (*params, max(limit, 0)),
        )
        return tuple(
            LedgerSnapshot(
                symbol=r[0],
                taken_at=from_iso(r[1]),
                earnings_date=_day(r[2]),
                expiration=_day(r[3]),
                spot=r[4],
                straddle=r[5],
                implied_move_pct=r[6],
                call_iv=r[7],
                put_iv=r[8],
                call_spread_pct=r[9],
                put_spread_pct=r[10],
                vrp_ratio=r[11],
                tier=r[12],
                recommendation=r[13],
                payload_json=r[14],
                mode=r[15],
                id=r[16],
            )
            for r in rows
        )


# -- provider quota ------------------------------------------------------------------------------


class QuotaRepo:
    """Per-provider, per-day request counters (implements resilience.protocols.QuotaStore).

    `add` is one atomic statement inside BEGIN IMMEDIATE, so concurrent processes never lose a
    count."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def used(self, provider: str, day: str) -> int:
        value = await self._db.fetchval(
            "SELECT used FROM provider_quota WHERE provider = ? AND day = ?",
            (provider, _check_day(day)),
        )
        return 0 if value is None else int(value)

    async def add(self, provider: str, day: str, n: int = 1) -> int:
        if n < 0:
            raise IvCrushError(ErrorCode.INTERNAL, f"quota increment must be >= 0, got {n}")
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO provider_quota (provider, day, used) VALUES (?, ?, ?)"
                " ON CONFLICT (provider, day) DO UPDATE SET used = used + excluded.used"
                " RETURNING used",
                (provider, _check_day(day), n),
            )
        return int(row[0]) if row else n


# -- backfill progress ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackfillProgress:
    symbol: str
    events_done: bool
    prices_done: bool
    updated_at: dt.datetime  # UTC; of the last change (for a failed symbol: its last failure)
    last_error: str | None  # "code: message" of the last failure
    attempts: int = 0  # failed runs since the symbol last completed
    retry_after: dt.datetime | None = None  # UTC; set once the symbol is given up on for a while

    @property
    def done(self) -> bool:
        return self.events_done and self.prices_done

    @property
    def failed(self) -> bool:
        """Given up on (after too many attempts, or a permanent error) until `retry_after`."""
        return self.retry_after is not None

    def waiting(self, now: dt.datetime) -> bool:
        """Failed, and not to be tried again before `retry_after`."""
        return self.retry_after is not None and now < self.retry_after


_PROGRESS_COLUMNS = (
    "symbol, events_done, prices_done, updated_at, last_error, attempts, retry_after"
)


class BackfillRepo:
    """What a resumable backfill has completed, per symbol, and what keeps failing."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, symbol: str) -> BackfillProgress | None:
        row = await self._db.fetchone(
            f"SELECT {_PROGRESS_COLUMNS} FROM backfill_progress WHERE symbol = ?",
            (normalize_symbol(symbol),),
        )
        return None if row is None else _progress(row)

    async def all(self) -> tuple[BackfillProgress, ...]:
        rows = await self._db.fetchall(
            f"SELECT {_PROGRESS_COLUMNS} FROM backfill_progress ORDER BY symbol"
        )
        return tuple(_progress(r) for r in rows)

    async def failed(self) -> tuple[BackfillProgress, ...]:
        """Every symbol currently given up on, most recent failure first."""
        rows = await self._db.fetchall(
            f"SELECT {_PROGRESS_COLUMNS} FROM backfill_progress WHERE retry_after IS NOT NULL"
            " ORDER BY updated_at DESC, symbol"
        )
        return tuple(_progress(r) for r in rows)

    async def mark(
        self,
        symbol: str,
        *,
        events_done: bool | None = None,
        prices_done: bool | None = None,
        error: str | None = None,
    ) -> BackfillProgress:
        """Record progress (None leaves a flag unchanged); `error` replaces the last error
        (None clears it). A symbol whose two parts are now done has its failures forgotten.
        Returns the new state."""
        sym = normalize_symbol(symbol)
        ev = None if events_done is None else int(events_done)
        pr = None if prices_done is None else int(prices_done)
        both = "COALESCE(?, events_done) AND COALESCE(?, prices_done)"
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO backfill_progress (symbol, events_done, prices_done, updated_at,"
                " last_error) VALUES (?, COALESCE(?, 0), COALESCE(?, 0), ?, ?)"
                " ON CONFLICT (symbol) DO UPDATE SET"
                " events_done = COALESCE(?, events_done), prices_done = COALESCE(?, prices_done),"
                " updated_at = excluded.updated_at, last_error = excluded.last_error,"
                f" attempts = CASE WHEN {both} THEN 0 ELSE attempts END,"
                f" retry_after = CASE WHEN {both} THEN NULL ELSE retry_after END"
                f" RETURNING {_PROGRESS_COLUMNS}",
                (sym, ev, pr, to_iso(self._db.clock()), error, ev, pr, ev, pr, ev, pr),
            )
        assert row is not None  # RETURNING always yields the upserted row
        return _progress(row)

    async def record_failure(
        self,
        symbol: str,
        reason: str,
        *,
        permanent: bool,
        max_attempts: int,
        retry_in: dt.timedelta,
    ) -> BackfillProgress:
        """Count one failed run of `symbol` (`reason`: "code: message"). After `max_attempts`
        failed runs, or at once when `permanent`, the symbol is given up on until now +
        `retry_in`; a permanent failure also forgets the parts done, so a retry starts over."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        sym = normalize_symbol(symbol)
        now = self._db.clock()
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT events_done, prices_done, attempts FROM backfill_progress WHERE symbol = ?",
                (sym,),
            )
            events, prices, attempts = (0, 0, 0) if row is None else row
            attempts = int(attempts) + 1
            if permanent:
                events = prices = 0
            give_up = permanent or attempts >= max_attempts
            retry_after = to_iso(now + retry_in) if give_up else None
            out = await tx.fetchone(
                "INSERT INTO backfill_progress (symbol, events_done, prices_done, updated_at,"
                " last_error, attempts, retry_after) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (symbol) DO UPDATE SET events_done = excluded.events_done,"
                " prices_done = excluded.prices_done, updated_at = excluded.updated_at,"
                " last_error = excluded.last_error, attempts = excluded.attempts,"
                f" retry_after = excluded.retry_after RETURNING {_PROGRESS_COLUMNS}",
                (sym, events, prices, to_iso(now), reason, attempts, retry_after),
            )
        assert out is not None
        return _progress(out)

    async def pending(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The symbols (normalised, in the given order) whose backfill is not complete, less
        those given up on whose `retry_after` (by the store's clock) has not come yet."""
        now = self._db.clock()
        out: list[str] = []
        for s in dict.fromkeys(normalize_symbol(x) for x in symbols):
            p = await self.get(s)
            if p is None or (not p.done and not p.waiting(now)):
                out.append(s)
        return tuple(out)

    async def reset(self, symbols: Iterable[str] | None = None) -> int:
        """Forget progress (for the given symbols, or all); returns rows removed."""
        async with self._db.transaction() as tx:
            if symbols is None:
                return await tx.execute("DELETE FROM backfill_progress")
            n = 0
            for s in symbols:
                n += await tx.execute(
                    "DELETE FROM backfill_progress WHERE symbol = ?", (normalize_symbol(s),)
                )
            return n


def _progress(r: Row) -> BackfillProgress:
    retry_after = None if r[6] is None else from_iso(r[6])
    return BackfillProgress(
        r[0], bool(r[1]), bool(r[2]), from_iso(r[3]), r[4], int(r[5]), retry_after
    )


# -- preferences ---------------------------------------------------------------------------------


class PrefsRepo:
    """Small persisted UI preferences (string key -> string value)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        value = await self._db.fetchval("SELECT value FROM preferences WHERE key = ?", (key,))
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO preferences (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, value, to_iso(self._db.clock())),
            )
