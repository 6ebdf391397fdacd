"""Backfill progress per ticker and part: resumable, with give-up and retry-after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ivcrush_tui.store.db import Database, Row, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    normalize_symbol,
)


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

    async def claim(
        self,
        symbol: str,
        owner: str,
        lease: dt.timedelta,
        *,
        holder_gone: Callable[[str], bool] = lambda holder: False,
    ) -> bool:
        """Claim `symbol` for `owner` until now + `lease`; False while another owner's lease on
        it has not expired, unless `holder_gone(that owner)` says its process no longer exists (a
        killed run). Atomic: of two processes claiming at once, one gets it."""
        sym = normalize_symbol(symbol)
        now = self._db.clock()
        async with self._db.transaction() as tx:
            held = await tx.fetchone(
                "SELECT owner FROM backfill_leases WHERE symbol = ? AND expires_at > ?",
                (sym, to_iso(now)),
            )
            if held is not None and held[0] != owner and not holder_gone(str(held[0])):
                return False
            await tx.execute(
                "INSERT INTO backfill_leases (symbol, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (symbol) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at",
                (sym, owner, to_iso(now + lease)),
            )
        return True

    async def release(self, symbol: str, owner: str) -> None:
        """Give up `owner`'s claim on `symbol` (nothing when another owner holds it)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM backfill_leases WHERE symbol = ? AND owner = ?",
                (normalize_symbol(symbol), owner),
            )

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
