"""Earnings events (past and upcoming) per symbol, and when they need refreshing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ivcrush_tui.domain import EarningsEvent, Timing
from ivcrush_tui.store.db import Database, Row, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    checked_finite,
    normalize_symbol,
    parse_day,
)

UPCOMING_RECHECK_WINDOW = dt.timedelta(days=7)  # an event this close is re-checked ...
UPCOMING_MAX_AGE = dt.timedelta(hours=24)  # ... when its record is older than this
RECORD_MAX_AGE = dt.timedelta(days=7)  # otherwise a symbol's events are refreshed weekly


_EVENT_COLS = "symbol, report_date, timing, fiscal_date_ending, eps_estimate, eps_reported, name"
# An update keeps a known timing, EPS or fiscal date when the new record lacks it (the calendar
# feed has no reported EPS, the history feed has no estimate for old quarters).
_UPSERT = (
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
    " fetched_at = MAX(fetched_at, excluded.fetched_at)"
)


# symbol, report date, timing, fiscal date, EPS estimate, EPS reported, name, source, fetched at
_EventRow = tuple[str, str, str, str | None, float | None, float | None, str | None, str, str]


def _rows(events: Iterable[EarningsEvent], fetched_at: dt.datetime, source: str) -> list[_EventRow]:
    stamp = to_iso(fetched_at)
    return [
        (
            normalize_symbol(e.symbol),
            e.date.isoformat(),
            Timing(e.timing).value,
            e.fiscal_date_ending.isoformat() if e.fiscal_date_ending else None,
            checked_finite("eps_estimate", e.eps_estimate),
            checked_finite("eps_reported", e.eps_reported),
            e.name,
            source,
            stamp,
        )
        for e in events
    ]


def _event(r: Row) -> EarningsEvent:
    return EarningsEvent(
        symbol=r[0],
        date=dt.date.fromisoformat(r[1]),
        timing=Timing(r[2]),
        fiscal_date_ending=parse_day(r[3]),
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

        An update keeps a known timing, EPS or fiscal date when the new record lacks it (the
        calendar feed has no reported EPS, the history feed has no estimate for old quarters).
        """
        rows = _rows(events, fetched_at, source)
        if not rows:
            return 0
        async with self._db.transaction() as tx:
            await tx.executemany(_UPSERT, rows)
        return len(rows)

    async def replace_upcoming(
        self, calendar: Iterable[EarningsEvent], *, today: dt.date, fetched_at: dt.datetime
    ) -> list[tuple[str, dt.date]]:
        """Store the earnings calendar's events (as `upsert`) and drop the stored upcoming events
        it no longer lists; returns those dropped, as (symbol, date).

        The calendar lists every release after `today` through its horizon. An event stored for a
        date in that span that it no longer lists has moved or been withdrawn (a company confirms
        its date, an estimated date is revised); kept, it would remain its symbol's upcoming
        event, with the wrong expiration and entry date. Today's events are kept whatever the
        calendar says (whether the feed still lists a release on its day is not documented, and
        tonight's report is the one being traded), as are past ones; an empty calendar changes
        nothing (an answer with no rows must not erase what is known).
        """
        rows = _rows(calendar, fetched_at, "provider")
        if not rows:
            return []
        first = today.isoformat()
        listed = {(r[0], r[1]) for r in rows if r[1] > first}
        stale: list[tuple[str, str]] = []
        async with self._db.transaction() as tx:
            if listed:
                stored = await tx.fetchall(
                    "SELECT symbol, report_date FROM earnings_events"
                    " WHERE report_date > ? AND report_date <= ?",
                    (first, max(day for _, day in listed)),
                )
                stale = [(r[0], r[1]) for r in stored if (r[0], r[1]) not in listed]
                await tx.executemany(
                    "DELETE FROM earnings_events WHERE symbol = ? AND report_date = ?", stale
                )
            await tx.executemany(_UPSERT, rows)
        return [(sym, dt.date.fromisoformat(day)) for sym, day in stale]

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


async def events_around(
    db: Database, symbol: str, start: dt.date, end: dt.date
) -> tuple[EarningsEvent, ...]:
    """`symbol`'s stored events with start <= report date <= end, by date (the ledger's check of
    whether a decision's event happened on its recorded date)."""
    rows = await db.fetchall(
        f"SELECT {_EVENT_COLS} FROM earnings_events"
        " WHERE symbol = ? AND report_date BETWEEN ? AND ? ORDER BY report_date",
        (normalize_symbol(symbol), start.isoformat(), end.isoformat()),
    )
    return tuple(_event(r) for r in rows)
