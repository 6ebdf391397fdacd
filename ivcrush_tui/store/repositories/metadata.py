"""Ticker metadata (name, sector, market cap) as the providers describe it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ivcrush_tui.store.db import Database, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    checked_finite,
    normalize_symbol,
)


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
                    checked_finite("market_cap", meta.market_cap),
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
