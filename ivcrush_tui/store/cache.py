"""The response cache: L1 in memory (short TTL, LRU-bounded) over L2 in SQLite (survives restarts).

Values are opaque strings (the providers store raw response bodies). Expiry uses the injected clock
only, and an L2 entry stored after that clock's "now" (by a run with a later `--as-of`) is not
served. Quotes and chains are capped in L2 at `l2_ttl_s`: a restart must not serve a stale price
for long. A failing L2 never fails a request: the cache degrades to L1 and logs.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ivcrush_tui.store.db import Database, StorageError, to_iso

log = logging.getLogger(__name__)

CAPPED_NAMESPACES = frozenset({"tradier.quotes", "tradier.chain"})
PURGE_INTERVAL = dt.timedelta(minutes=5)  # expired L2 rows are deleted at most this often


class ResponseCache(Protocol):
    """What the provider clients need from a cache. TTLs in seconds."""

    async def get(self, namespace: str, key: str) -> str | None: ...

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None: ...


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits_l1: int
    hits_l2: int
    misses: int
    l2_errors: int = 0

    @property
    def lookups(self) -> int:
        return self.hits_l1 + self.hits_l2 + self.misses

    @property
    def hit_rate(self) -> float:
        """Fraction of lookups served from L1 or L2 (0.0 before the first lookup)."""
        total = self.lookups
        return (self.hits_l1 + self.hits_l2) / total if total else 0.0


class HybridCache:
    """L1 (memory) + L2 (the `cache` table). Implements `ResponseCache`."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], dt.datetime],
        l1_ttl_s: float = 30.0,
        l2_ttl_s: float = 300.0,
        l1_max_entries: int = 2048,
        capped_namespaces: frozenset[str] = CAPPED_NAMESPACES,
    ) -> None:
        if l1_max_entries < 1:
            raise ValueError("l1_max_entries must be >= 1")
        self._db = db
        self._clock = clock
        self._l1_ttl = max(float(l1_ttl_s), 0.0)
        self._l2_ttl = max(float(l2_ttl_s), 0.0)
        self._l1_max = l1_max_entries
        self._capped = capped_namespaces
        self._l1: OrderedDict[tuple[str, str], tuple[str, dt.datetime]] = OrderedDict()
        self._hits_l1 = 0
        self._hits_l2 = 0
        self._misses = 0
        self._l2_errors = 0
        self._next_purge: dt.datetime | None = None

    async def get(self, namespace: str, key: str) -> str | None:
        """The cached value, or None when absent or expired."""
        now = self._clock()
        k = (namespace, key)
        entry = self._l1.get(k)
        if entry is not None:
            if entry[1] > now:
                self._l1.move_to_end(k)
                self._hits_l1 += 1
                return entry[0]
            del self._l1[k]
        stamp = to_iso(now)
        try:
            row = await self._db.fetchone(
                "SELECT value, expires_at FROM cache WHERE namespace = ? AND key = ?"
                " AND expires_at > ? AND (stored_at IS NULL OR stored_at <= ?)",
                (namespace, key, stamp, stamp),
            )
        except StorageError as exc:
            self._l2_failed("read", exc)
            row = None
        if row is None:
            self._misses += 1
            return None
        self._hits_l2 += 1
        value: str = row[0]
        l2_expiry = dt.datetime.fromisoformat(row[1])
        if self._l1_ttl > 0:
            self._l1_put(k, value, min(now + dt.timedelta(seconds=self._l1_ttl), l2_expiry))
        return value

    async def put(self, namespace: str, key: str, value: str, ttl_s: float) -> None:
        """Store `value` for `ttl_s` seconds (L1 keeps it at most `l1_ttl_s`). ttl_s <= 0: no-op."""
        if not math.isfinite(ttl_s) or ttl_s <= 0:
            return
        now = self._clock()
        l1_ttl = min(self._l1_ttl, ttl_s)
        if l1_ttl > 0:
            self._l1_put((namespace, key), value, now + dt.timedelta(seconds=l1_ttl))
        l2_ttl = min(ttl_s, self._l2_ttl) if namespace in self._capped else ttl_s
        if l2_ttl <= 0:
            return
        await self._maybe_purge(now)
        expires = to_iso(now + dt.timedelta(seconds=l2_ttl))
        try:
            async with self._db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO cache (namespace, key, value, expires_at, stored_at)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,"
                    " expires_at = excluded.expires_at, stored_at = excluded.stored_at",
                    (namespace, key, value, expires, to_iso(now)),
                )
        except StorageError as exc:
            self._l2_failed("write", exc)

    async def invalidate(self, namespace: str, key: str | None = None) -> None:
        """Drop one key, or a whole namespace, from both levels."""
        if key is None:
            for k in [k for k in self._l1 if k[0] == namespace]:
                del self._l1[k]
        else:
            self._l1.pop((namespace, key), None)
        sql, params = (
            ("DELETE FROM cache WHERE namespace = ?", (namespace,))
            if key is None
            else ("DELETE FROM cache WHERE namespace = ? AND key = ?", (namespace, key))
        )
        try:
            async with self._db.transaction() as tx:
                await tx.execute(sql, params)
        except StorageError as exc:
            self._l2_failed("invalidate", exc)

    async def purge_expired(self) -> int:
        """Delete expired L2 rows (and L1 entries); returns the L2 rows removed."""
        now = self._clock()
        for k in [k for k, (_, exp) in self._l1.items() if exp <= now]:
            del self._l1[k]
        self._next_purge = now + PURGE_INTERVAL
        try:
            async with self._db.transaction() as tx:
                return await tx.execute("DELETE FROM cache WHERE expires_at <= ?", (to_iso(now),))
        except StorageError as exc:
            self._l2_failed("purge", exc)
            return 0

    def stats(self) -> CacheStats:
        return CacheStats(self._hits_l1, self._hits_l2, self._misses, self._l2_errors)

    @property
    def l1_size(self) -> int:
        return len(self._l1)

    # -- internals -----------------------------------------------------------------------

    def _l1_put(self, k: tuple[str, str], value: str, expires: dt.datetime) -> None:
        self._l1[k] = (value, expires)
        self._l1.move_to_end(k)
        while len(self._l1) > self._l1_max:
            self._l1.popitem(last=False)

    async def _maybe_purge(self, now: dt.datetime) -> None:
        # First purge with the first L2 write (cleans what previous runs left), then periodically.
        # Not with a lookup: a fresh process's first lookup (its first request's) then waited for
        # this write transaction. Writes go through the write-behind queue, which nothing awaits;
        # an expired row is never served anyway (the lookup compares expires_at).
        if self._next_purge is None or now >= self._next_purge:
            await self.purge_expired()

    def _l2_failed(self, what: str, exc: StorageError) -> None:
        self._l2_errors += 1
        log.warning("L2 cache %s failed (continuing with memory only): %s", what, exc)
