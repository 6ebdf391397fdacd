"""User preferences (theme, sort) as key -> string."""

from __future__ import annotations

from ivcrush_tui.store.db import Database, to_iso


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
