"""The watchlist: the names the console follows, in the order they were added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ivcrush_tui.store.db import Database, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    normalize_symbol,
)


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
