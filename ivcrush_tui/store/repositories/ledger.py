"""The ledger: snapshots of the analyses made inside the entry window, for outcome tracking."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.store.db import Database, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    checked_finite,
    normalize_symbol,
    parse_day,
)


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
    payload_json: str = "{}"  # the full analysis, JSON (no NaN/inf)
    mode: Literal["live", "demo"] = "live"
    id: int | None = None  # assigned by LedgerRepo.add
    # False for a row stored before demo and live had a file each (schema v6): it may rest on
    # demo data, so it is not evidence. Every row added since is proven (read-only here).
    proven: bool = True


_LEDGER_COLS = (
    "symbol, taken_at, earnings_date, expiration, spot, straddle, implied_move_pct, call_iv,"
    " put_iv, call_spread_pct, put_spread_pct, vrp_ratio, tier, recommendation, payload_json, mode"
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite JSON number {name}")


class LedgerRepo:
    """Append-only record of analyses; a committed row survives a crash."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, snap: LedgerSnapshot) -> int:
        """Append the snapshot; returns its id."""
        try:
            json.loads(snap.payload_json, parse_constant=_reject_constant)
        except ValueError as exc:
            raise IvCrushError(ErrorCode.INTERNAL, f"ledger payload is not JSON: {exc}") from exc
        if snap.mode not in ("live", "demo"):
            raise IvCrushError(ErrorCode.INTERNAL, f"ledger mode must be live|demo: {snap.mode!r}")
        params = (
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
            snap.mode,
        )
        async with self._db.transaction() as tx:
            return await tx.insert(
                f"INSERT INTO analysis_snapshots ({_LEDGER_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    async def list(self, symbol: str | None = None, limit: int = 100) -> tuple[LedgerSnapshot, ...]:
        """Newest first, optionally for one symbol."""
        where, params = ("WHERE symbol = ?", [normalize_symbol(symbol)]) if symbol else ("", [])
        rows = await self._db.fetchall(
            f"SELECT {_LEDGER_COLS}, id, proven FROM analysis_snapshots {where}"
            " ORDER BY taken_at DESC, id DESC LIMIT ?",
            (*params, max(limit, 0)),
        )
        return tuple(
            LedgerSnapshot(
                symbol=r[0],
                taken_at=from_iso(r[1]),
                earnings_date=parse_day(r[2]),
                expiration=parse_day(r[3]),
                spot=r[4],
                straddle=r[5],
                implied_move_pct=r[6],
                call_iv=r[7],
                put_iv=r[8],
                call_spread_pct=r[9],
                put_spread_pct=r[10],
                vrp_ratio=r[11],
                tier=r[12],
                recommendation=r[13],
                payload_json=r[14],
                mode=r[15],
                id=r[16],
                proven=bool(r[17]),
            )
            for r in rows
        )
