"""Fired alerts (issue 14): at most one per (rule, symbol, window), in firing order."""

from __future__ import annotations

import datetime as dt

from ivcrush_tui.alerts.model import Alert
from ivcrush_tui.store.db import Database, from_iso, to_iso

_COLUMNS = (
    "rule, kind, symbol, window_date, fired_at, title, message, tier, tiering_ratio, recommendation"
)


class AlertsRepo:
    """The alerts table. The database file is per market, so demo and live never mix."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, alert: Alert) -> bool:
        """Store `alert` unless one with its (rule, symbol, window) is stored already; True
        when it was stored (the alert is new), committed before returning."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                f"INSERT INTO alerts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (rule, symbol, window_date) DO NOTHING",
                (
                    alert.rule,
                    alert.kind,
                    alert.symbol,
                    alert.window.isoformat(),
                    to_iso(alert.fired_at),
                    alert.title,
                    alert.message,
                    alert.tier,
                    alert.tiering_ratio,
                    alert.recommendation,
                ),
            )
        return bool(changed)

    async def list(
        self, *, until: dt.datetime | None = None, limit: int | None = None
    ) -> tuple[Alert, ...]:
        """The alerts fired at or before `until` (all when None), oldest first; with `limit`,
        the latest `limit` of them."""
        sql = f"SELECT {_COLUMNS} FROM alerts"
        params: list[object] = []
        if until is not None:
            sql += " WHERE fired_at <= ?"
            params.append(to_iso(until))
        sql += " ORDER BY fired_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = await self._db.fetchall(sql, tuple(params))
        return tuple(
            Alert(
                rule=r[0],
                kind=r[1],
                symbol=r[2],
                window=dt.date.fromisoformat(r[3]),
                fired_at=from_iso(r[4]),
                title=r[5],
                message=r[6],
                tier=r[7],
                tiering_ratio=r[8],
                recommendation=r[9],
            )
            for r in reversed(rows)
        )
