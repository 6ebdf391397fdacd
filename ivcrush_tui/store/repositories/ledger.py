"""The ledger: snapshots of the analyses made inside the entry window, for outcome tracking.
The decisions made from them live in decisions.py."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.store.db import Database, Transaction, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    checked_finite,
    normalize_symbol,
    parse_day,
    row_fields,
)
from ivcrush_tui.store.repositories.decisions import (
    DecisionsRepo,
    LedgerDecision,
    LegacySnapshot,
    Settlement,
    upsert_decision,
)

# The decisions (decisions.py) are re-exported for the callers of this module.
__all__ = [
    "DecisionsRepo",
    "LedgerDecision",
    "LedgerRepo",
    "LedgerSnapshot",
    "LegacySnapshot",
    "Settlement",
]


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """One analysis as recorded (the ledger). Percentages are percent numbers, IVs fractions/yr."""

    symbol: str
    taken_at: dt.datetime  # UTC
    earnings_date: dt.date | None
    expiration: dt.date | None
    spot: float | None  # dollars per share
    straddle: float | None  # dollars per share
    implied_move_pct: float | None
    call_iv: float | None
    put_iv: float | None
    call_spread_pct: float | None
    put_spread_pct: float | None
    vrp_ratio: float | None
    tier: str | None
    recommendation: str | None
    payload_json: str = "{}"  # the analysis object of docs/JSON.md (no NaN/inf)
    # The exact analysis (engine/analysis_codec.py's JSON, packed by engine/analysis_pack.py);
    # None for a row stored before schema v11. Opaque bytes here: the engine packs and reads it.
    full_analysis: bytes | None = None
    mode: Literal["live", "demo"] = "live"
    id: int | None = None  # assigned by LedgerRepo.add
    # False for a row stored before demo and live had a file each (schema v6): it may rest on
    # demo data, so it is not evidence. Every row added since is proven (read-only here).
    proven: bool = True


_LEDGER_COLS = (
    "symbol, taken_at, earnings_date, expiration, spot, straddle, implied_move_pct, call_iv,"
    " put_iv, call_spread_pct, put_spread_pct, vrp_ratio, tier, recommendation, payload_json,"
    " full_analysis, mode"
)
_MODE_AT, _MINUTE_AT = 16, 17  # where mode and minute are in the parameters of a snapshot


# How a stored column becomes its LedgerSnapshot field (the others are read as stored).
_FROM_ROW: dict[str, Callable[[Any], Any]] = {
    "taken_at": from_iso,
    "earnings_date": parse_day,
    "expiration": parse_day,
    "proven": bool,
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite JSON number {name}")


def _minute(taken_at: dt.datetime) -> str:
    """The snapshot's UTC minute, `YYYY-MM-DDTHH:MM` (the path keeps one row per symbol per
    minute)."""
    return to_iso(taken_at)[:16]


def _snapshot_params(snap: LedgerSnapshot) -> tuple[Any, ...]:
    try:
        json.loads(snap.payload_json, parse_constant=_reject_constant)
    except ValueError as exc:
        raise IvCrushError(ErrorCode.INTERNAL, f"ledger payload is not JSON: {exc}") from exc
    if snap.mode not in ("live", "demo"):
        raise IvCrushError(ErrorCode.INTERNAL, f"ledger mode must be live|demo: {snap.mode!r}")
    return (
        normalize_symbol(snap.symbol),
        to_iso(snap.taken_at),
        snap.earnings_date.isoformat() if snap.earnings_date else None,
        snap.expiration.isoformat() if snap.expiration else None,
        checked_finite("spot", snap.spot),
        checked_finite("straddle", snap.straddle),
        checked_finite("implied_move_pct", snap.implied_move_pct),
        checked_finite("call_iv", snap.call_iv),
        checked_finite("put_iv", snap.put_iv),
        checked_finite("call_spread_pct", snap.call_spread_pct),
        checked_finite("put_spread_pct", snap.put_spread_pct),
        checked_finite("vrp_ratio", snap.vrp_ratio),
        snap.tier,
        snap.recommendation,
        snap.payload_json,
        None if snap.full_analysis is None else bytes(snap.full_analysis),
        snap.mode,
        _minute(snap.taken_at),
    )


# Literal SQL text (tests/integration/test_security.py checks the store binds values only);
# tests/unit/test_ledger_sql.py checks it matches the column tuples.
_SNAPSHOT_UPDATES = (
    "taken_at = excluded.taken_at, earnings_date = excluded.earnings_date, expiration = "
    "excluded.expiration, spot = excluded.spot, straddle = excluded.straddle, "
    "implied_move_pct = excluded.implied_move_pct, call_iv = excluded.call_iv, put_iv = "
    "excluded.put_iv, call_spread_pct = excluded.call_spread_pct, put_spread_pct = "
    "excluded.put_spread_pct, vrp_ratio = excluded.vrp_ratio, tier = excluded.tier, "
    "recommendation = excluded.recommendation, payload_json = excluded.payload_json, "
    "full_analysis = excluded.full_analysis, mode = excluded.mode"
)


async def _upsert_snapshot(tx: Transaction, params: tuple[Any, ...]) -> int:
    """Insert, or replace the same symbol's row of the same minute when this one is not older."""
    await tx.execute(
        f"INSERT INTO analysis_snapshots ({_LEDGER_COLS}, minute)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" ON CONFLICT (symbol, mode, minute) DO UPDATE SET {_SNAPSHOT_UPDATES}"
        " WHERE excluded.taken_at >= analysis_snapshots.taken_at",
        params,
    )
    row = await tx.fetchone(
        "SELECT id FROM analysis_snapshots WHERE symbol = ? AND mode = ? AND minute = ?",
        (params[0], params[_MODE_AT], params[_MINUTE_AT]),
    )
    if row is None:  # pragma: no cover - the row was written just above
        raise IvCrushError(ErrorCode.STORAGE, "ledger snapshot vanished after its write")
    return int(row[0])


class LedgerRepo:
    """Append-only record of analyses; a committed row survives a crash."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, snap: LedgerSnapshot) -> int:
        """Store the snapshot on the path (the latest of its symbol's minute replaces an earlier
        one of the same minute); returns its id."""
        params = _snapshot_params(snap)
        async with self._db.transaction() as tx:
            return await _upsert_snapshot(tx, params)

    async def record(self, snap: LedgerSnapshot, decision: LedgerDecision) -> int:
        """Store `snap` on the intraday path and make it the decision of its (symbol, entry date)
        when it is the latest so far and the decision is still open; one transaction. Returns
        the snapshot's id."""
        params = _snapshot_params(snap)
        async with self._db.transaction() as tx:
            snap_id = await _upsert_snapshot(tx, params)
            await upsert_decision(tx, decision, snap_id)
            return snap_id

    async def list(self, symbol: str | None = None, limit: int = 100) -> tuple[LedgerSnapshot, ...]:
        """Newest first, optionally for one symbol."""
        where, params = ("WHERE symbol = ?", [normalize_symbol(symbol)]) if symbol else ("", [])
        rows = await self._db.fetchall(
            f"SELECT {_LEDGER_COLS}, id, proven FROM analysis_snapshots {where}"
            " ORDER BY taken_at DESC, id DESC LIMIT ?",
            (*params, max(limit, 0)),
        )
        cols = (*(c.strip() for c in _LEDGER_COLS.split(",")), "id", "proven")
        return tuple(LedgerSnapshot(**row_fields(cols, r, _FROM_ROW)) for r in rows)
