"""Provider quota counts per day (Alpha Vantage), with refunds."""

from __future__ import annotations

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories._common import (
    check_day,
)


class QuotaRepo:
    """Per-provider, per-day request counters (implements resilience.protocols.QuotaStore).

    `add` is one atomic statement inside BEGIN IMMEDIATE, so concurrent processes never lose a
    count."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def used(self, provider: str, day: str) -> int:
        value = await self._db.fetchval(
            "SELECT used FROM provider_quota WHERE provider = ? AND day = ?",
            (provider, check_day(day)),
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
                (provider, check_day(day), n),
            )
        return int(row[0]) if row else n
