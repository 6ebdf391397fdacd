"""The console's Results screen reads the ledger through here: one light row per decision (no
`LedgerDecision` of 42 fields per row), parsed defensively, so 10,000 decisions load in one query
and a row the store cannot make sense of is skipped with one warning instead of breaking the
screen."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

from ivcrush_tui.store.db import Database

log = logging.getLogger(__name__)

_STATUSES = frozenset({"open", "settled", "void"})

# Literal SQL (tests/integration/test_security.py: the store binds values only).
_ROWS_SQL = (
    "SELECT id, symbol, entry_date, reaction_date, timing, tier, recommendation, status, reason,"
    " implied_move_pct, reaction_implied_move_pct, realized_close_pct, realized_gap_pct, hit,"
    " pnl_per_contract, pnl_estimated, COALESCE(vrp_reaction_ratio, vrp_ratio), snapshot_id"
    " FROM ledger_decisions WHERE mode = ? ORDER BY entry_date, symbol, id"
)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One ledger decision as the Results screen lists it.

    Moves and implied moves are signed percent numbers (3.1 = +3.1 %); `pnl_per_contract` dollars
    per contract (x100); `tiering_ratio` the §5 ratio the tier was read from (plain number).
    Outcome fields are None while the decision is open (and for a void one)."""

    id: int
    symbol: str
    entry_date: dt.date
    reaction_date: dt.date
    timing: str
    tier: str | None
    recommendation: str | None
    status: str  # open | settled | void
    reason: str | None
    implied_move_pct: float | None
    reaction_implied_move_pct: float | None
    realized_close_pct: float | None
    realized_gap_pct: float | None
    hit: bool | None
    pnl_per_contract: float | None
    pnl_estimated: bool | None
    tiering_ratio: float | None
    snapshot_id: int | None


def _num(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"not a number: {v!r}")
    f = float(v)
    return f if math.isfinite(f) else None


def _flag(v: Any) -> bool | None:
    if v is None:
        return None
    if v not in (0, 1):
        raise ValueError(f"not a 0/1 flag: {v!r}")
    return bool(v)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"not text: {v!r}")
    return v


def parse_row(r: tuple[Any, ...]) -> DecisionRow:
    """A `DecisionRow` from one row of the query; ValueError (or TypeError) when a column holds
    something the ledger never writes (a hand-edited or damaged store)."""
    status = r[7]
    if status not in _STATUSES:
        raise ValueError(f"unknown status {status!r}")
    symbol = _text(r[1])
    if not symbol:
        raise ValueError("no symbol")
    return DecisionRow(
        id=int(r[0]),
        symbol=symbol,
        entry_date=dt.date.fromisoformat(r[2]),
        reaction_date=dt.date.fromisoformat(r[3]),
        timing=str(r[4]),
        tier=_text(r[5]),
        recommendation=_text(r[6]),
        status=status,
        reason=_text(r[8]),
        implied_move_pct=_num(r[9]),
        reaction_implied_move_pct=_num(r[10]),
        realized_close_pct=_num(r[11]),
        realized_gap_pct=_num(r[12]),
        hit=_flag(r[13]),
        pnl_per_contract=_num(r[14]),
        pnl_estimated=_flag(r[15]),
        tiering_ratio=_num(r[16]),
        snapshot_id=None if r[17] is None else int(r[17]),
    )


async def decision_rows(db: Database, mode: str) -> tuple[tuple[DecisionRow, ...], int]:
    """Every decision of `mode` ("live" | "demo"), oldest first (entry date, symbol), and the
    number of rows skipped as unreadable (logged once, never raised)."""
    raw = await db.fetchall(_ROWS_SQL, (mode,))
    rows: list[DecisionRow] = []
    skipped = 0
    for r in raw:
        try:
            rows.append(parse_row(r))
        except (ValueError, TypeError):
            skipped += 1
    if skipped:
        log.warning(
            "ledger: %d decision row%s with unreadable values skipped",
            skipped,
            "" if skipped == 1 else "s",
        )
    return tuple(rows), skipped


# Changes whenever a decision is added or replaced (count, latest decision), settled or voided
# (status counts, latest settlement), gets its exit quote, or a new reason (total reason length).
_FINGERPRINT_SQL = (
    "SELECT COUNT(*), TOTAL(status = 'open'), TOTAL(status = 'void'), MAX(id), MAX(decided_at),"
    " MAX(settled_at), MAX(exit_quoted_at), TOTAL(LENGTH(reason)) FROM ledger_decisions"
    " WHERE mode = ?"
)


async def ledger_fingerprint(db: Database, mode: str) -> tuple[Any, ...]:
    """A cheap summary of `mode`'s decisions (one aggregate query, a few ms for 10,000 rows)
    that changes when the ledger's writes change what `decision_rows` returns: a reader keeps
    its rows while the fingerprint is the same."""
    row = await db.fetchone(_FINGERPRINT_SQL, (mode,))
    return tuple(row or ())
