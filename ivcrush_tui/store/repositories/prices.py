"""Daily OHLCV bars per symbol."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from ivcrush_tui.domain import Bar, ErrorCode, IvCrushError
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories._common import (
    normalize_symbol,
    parse_day,
)


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
        return parse_day(value)
