"""Recordings of the entry window (record and replay): quote chunks and analyses per exchange day.

The rows hold encoded blobs (engine/quote_codec.py, engine/analysis_codec.py); this module only
moves them. Days are `YYYY-MM-DD` exchange days (America/New_York); times are integer
milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ivcrush_tui.store.db import Database, Transaction

# `AnalysisRow.base` for "the same symbol's previous row in this `write` call".
BASE_PREVIOUS_IN_BATCH: Final = -1


@dataclass(frozen=True, slots=True)
class QuoteChunkRow:
    """One symbol's quotes from `start_ms` to `end_ms` (ms since the epoch), `n` of them."""

    day: dt.date
    symbol: str
    start_ms: int
    end_ms: int
    n: int
    codec: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AnalysisRow:
    """`n` analyses of one symbol from `at_ms` to `end_ms`, packed (engine/analysis_pack.py:
    `join_parts`), the first against the last analysis of row `base` (None: standalone). The
    replay also uses it for one analysis of a row (n = 1). `id` is None until stored."""

    day: dt.date
    symbol: str
    at_ms: int
    base: int | None
    codec: int
    data: bytes
    id: int | None = None
    n: int = 1
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class RecordedDay:
    """What one day's recording holds."""

    day: dt.date
    quotes: int
    analyses: int


class RecordingsRepo:
    """Reads and writes of `recorded_quotes` and `recorded_analyses`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def insert_chunk(tx: Transaction, row: QuoteChunkRow) -> None:
        await tx.execute(
            "INSERT INTO recorded_quotes (day, symbol, start_ms, end_ms, n, codec, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.day.isoformat(), row.symbol, row.start_ms, row.end_ms, row.n, row.codec, row.data),
        )

    @staticmethod
    async def insert_analysis(tx: Transaction, row: AnalysisRow) -> int:
        """Store `row`; returns its id (the `base` of the symbol's next row)."""
        return await tx.insert(
            "INSERT INTO recorded_analyses (day, symbol, at_ms, end_ms, n, base, codec, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.day.isoformat(),
                row.symbol,
                row.at_ms,
                row.at_ms if row.end_ms is None else row.end_ms,
                row.n,
                row.base,
                row.codec,
                row.data,
            ),
        )

    async def days(self) -> list[RecordedDay]:
        """Every recorded day, oldest first, with its number of quotes and analyses."""
        rows = await self._db.fetchall(
            "SELECT day, SUM(q), SUM(a) FROM ("
            " SELECT day, n AS q, 0 AS a FROM recorded_quotes"
            " UNION ALL SELECT day, 0, n FROM recorded_analyses) GROUP BY day ORDER BY day"
        )
        return [RecordedDay(dt.date.fromisoformat(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def analyses(self, day: dt.date) -> list[AnalysisRow]:
        """The day's analysis rows in the order they were stored (a base always comes first)."""
        rows = await self._db.fetchall(
            "SELECT id, symbol, at_ms, base, codec, data, n, end_ms FROM recorded_analyses"
            " WHERE day = ? ORDER BY id",
            (day.isoformat(),),
        )
        return [
            AnalysisRow(day, r[1], r[2], r[3], r[4], bytes(r[5]), id=r[0], n=r[6], end_ms=r[7])
            for r in rows
        ]

    async def chunks(self, day: dt.date) -> list[QuoteChunkRow]:
        """The day's quote chunks, by start time."""
        rows = await self._db.fetchall(
            "SELECT symbol, start_ms, end_ms, n, codec, data FROM recorded_quotes"
            " WHERE day = ? ORDER BY start_ms, id",
            (day.isoformat(),),
        )
        return [QuoteChunkRow(day, r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]

    async def write(
        self, chunks: Sequence[QuoteChunkRow], analyses: Sequence[AnalysisRow]
    ) -> list[int]:
        """Store chunks and analyses in one transaction; returns the analyses' ids in order.

        An analysis whose `base` is BASE_PREVIOUS_IN_BATCH is based on the same symbol's previous
        row of this call (its id is known only once that row is stored)."""
        ids: list[int] = []
        last: dict[str, int] = {}
        async with self._db.transaction() as tx:
            for chunk in chunks:
                await self.insert_chunk(tx, chunk)
            for row in analyses:
                if row.base == BASE_PREVIOUS_IN_BATCH:
                    if row.symbol not in last:
                        raise ValueError(f"{row.symbol}: no previous row in this batch")
                    row = replace(row, base=last[row.symbol])
                row_id = await self.insert_analysis(tx, row)
                last[row.symbol] = row_id
                ids.append(row_id)
        return ids
