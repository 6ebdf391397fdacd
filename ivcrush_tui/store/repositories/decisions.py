"""Ledger decisions and their outcomes (METHODS §12): one decision per (symbol, entry date, mode),
settled exactly once; the snapshots stored before decisions existed are adopted once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.store.db import Database, Transaction, from_iso, to_iso
from ivcrush_tui.store.repositories._common import (
    checked_finite,
    normalize_symbol,
    opt_bool,
    opt_time,
    parse_day,
    row_fields,
)

__all__ = [
    "DecisionsRepo",
    "LedgerDecision",
    "LegacySnapshot",
    "Outcome",
    "Settlement",
    "upsert_decision",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What settling a decision writes beside its status and time; all None while it is open.
    Percentages are percent numbers, prices dollars per share, `pnl_per_contract` dollars per
    contract (x100). Keyword-only, so the decision and the settlement can both carry it."""

    reason: str | None = None
    ref_close: float | None = None
    reaction_open: float | None = None
    reaction_close: float | None = None
    realized_gap_pct: float | None = None
    realized_close_pct: float | None = None
    hit: bool | None = None
    hit_gap: bool | None = None
    hit_reaction: bool | None = None
    exit_price: float | None = None
    pnl_per_contract: float | None = None
    pnl_estimated: bool | None = None


@dataclass(frozen=True, slots=True)
class LedgerDecision(Outcome):
    """One decision per (symbol, entry date, mode): the latest ok analysis of the entry window.

    Percentages are percent numbers; prices dollars per share; vols fractions per year
    (`ordinary_vol` = σ_o on the trading clock, sessions/252; `back_iv` on the calendar clock);
    `pnl_per_contract` dollars per contract (x100). Outcome fields are None while open.
    """

    symbol: str
    entry_date: dt.date
    mode: Literal["live", "demo"]
    decided_at: dt.datetime  # UTC
    earnings_date: dt.date
    timing: str
    reaction_date: dt.date
    expiration: dt.date | None
    spot: float | None
    atm_strike: float | None
    call_bid: float | None
    call_ask: float | None
    put_bid: float | None
    put_ask: float | None
    implied_move_pct: float | None
    reaction_implied_move_pct: float | None
    vrp_ratio: float | None
    vrp_reaction_ratio: float | None
    tier: str | None
    tier_basis: str | None
    recommendation: str | None
    ordinary_vol: float | None
    back_iv: float | None
    proven: bool = True
    snapshot_id: int | None = None
    id: int | None = None
    status: Literal["open", "settled", "void"] = "open"
    settled_at: dt.datetime | None = None
    exit_ask_sum: float | None = None  # captured exit: call ask + put ask, dollars per share
    exit_quoted_at: dt.datetime | None = None

    @property
    def tiering_ratio(self) -> float | None:
        """§5: vrp_reaction_ratio when available, else vrp_ratio."""
        return self.vrp_reaction_ratio if self.vrp_reaction_ratio is not None else self.vrp_ratio


@dataclass(frozen=True, slots=True)
class Settlement(Outcome):
    """What settling a decision writes (status `settled` or `void`)."""

    status: Literal["settled", "void"]
    settled_at: dt.datetime


_DECISION_INPUT_COLS = (
    "symbol", "entry_date", "mode", "snapshot_id", "decided_at", "earnings_date", "timing",
    "reaction_date", "expiration", "spot", "atm_strike", "call_bid", "call_ask", "put_bid",
    "put_ask", "implied_move_pct", "reaction_implied_move_pct", "vrp_ratio", "vrp_reaction_ratio",
    "tier", "tier_basis", "recommendation", "ordinary_vol", "back_iv", "proven",
)  # fmt: skip
_DECISION_OUTCOME_COLS = (
    "id", "status", "reason", "ref_close", "reaction_open", "reaction_close", "realized_gap_pct",
    "realized_close_pct", "hit", "hit_gap", "hit_reaction", "exit_price", "pnl_per_contract",
    "pnl_estimated", "settled_at", "exit_ask_sum", "exit_quoted_at",
)  # fmt: skip
_DECISION_SELECT = (
    "symbol, entry_date, mode, snapshot_id, decided_at, earnings_date, timing, reaction_date,"
    " expiration, spot, atm_strike, call_bid, call_ask, put_bid, put_ask, implied_move_pct, "
    "reaction_implied_move_pct, vrp_ratio, vrp_reaction_ratio, tier, tier_basis, "
    "recommendation, ordinary_vol, back_iv, proven, id, status, reason, ref_close, "
    "reaction_open, reaction_close, realized_gap_pct, realized_close_pct, hit, hit_gap, "
    "hit_reaction, exit_price, pnl_per_contract, pnl_estimated, settled_at, exit_ask_sum, "
    "exit_quoted_at"
)
_UPSERT_DECISION = (
    "INSERT INTO ledger_decisions (symbol, entry_date, mode, snapshot_id, decided_at, "
    "earnings_date, timing, reaction_date, expiration, spot, atm_strike, call_bid, call_ask, "
    "put_bid, put_ask, implied_move_pct, reaction_implied_move_pct, vrp_ratio, "
    "vrp_reaction_ratio, tier, tier_basis, recommendation, ordinary_vol, back_iv, proven) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON "
    "CONFLICT (symbol, entry_date, mode) DO UPDATE SET snapshot_id = excluded.snapshot_id, "
    "decided_at = excluded.decided_at, earnings_date = excluded.earnings_date, timing = "
    "excluded.timing, reaction_date = excluded.reaction_date, expiration = "
    "excluded.expiration, spot = excluded.spot, atm_strike = excluded.atm_strike, call_bid = "
    "excluded.call_bid, call_ask = excluded.call_ask, put_bid = excluded.put_bid, put_ask = "
    "excluded.put_ask, implied_move_pct = excluded.implied_move_pct, "
    "reaction_implied_move_pct = excluded.reaction_implied_move_pct, vrp_ratio = "
    "excluded.vrp_ratio, vrp_reaction_ratio = excluded.vrp_reaction_ratio, tier = "
    "excluded.tier, tier_basis = excluded.tier_basis, recommendation = "
    "excluded.recommendation, ordinary_vol = excluded.ordinary_vol, back_iv = "
    "excluded.back_iv, proven = excluded.proven WHERE ledger_decisions.status = 'open' AND "
    "excluded.decided_at >= ledger_decisions.decided_at"
)
_FLOAT_INPUTS = (
    "spot", "atm_strike", "call_bid", "call_ask", "put_bid", "put_ask", "implied_move_pct",
    "reaction_implied_move_pct", "vrp_ratio", "vrp_reaction_ratio", "ordinary_vol", "back_iv",
)  # fmt: skip


def _day(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _decision_params(d: LedgerDecision, snapshot_id: int | None) -> tuple[Any, ...]:
    if d.mode not in ("live", "demo"):
        raise IvCrushError(ErrorCode.INTERNAL, f"ledger mode must be live|demo: {d.mode!r}")
    floats = {name: checked_finite(name, getattr(d, name)) for name in _FLOAT_INPUTS}
    return (
        normalize_symbol(d.symbol),
        d.entry_date.isoformat(),
        d.mode,
        snapshot_id,
        to_iso(d.decided_at),
        d.earnings_date.isoformat(),
        d.timing,
        d.reaction_date.isoformat(),
        _day(d.expiration),
        floats["spot"],
        floats["atm_strike"],
        floats["call_bid"],
        floats["call_ask"],
        floats["put_bid"],
        floats["put_ask"],
        floats["implied_move_pct"],
        floats["reaction_implied_move_pct"],
        floats["vrp_ratio"],
        floats["vrp_reaction_ratio"],
        d.tier,
        d.tier_basis,
        d.recommendation,
        floats["ordinary_vol"],
        floats["back_iv"],
        1 if d.proven else 0,
    )


async def upsert_decision(tx: Transaction, d: LedgerDecision, snapshot_id: int | None) -> None:
    """Make `d` the decision of its (symbol, entry date, mode) unless that one is settled or was
    decided later (inside the caller's transaction)."""
    await tx.execute(_UPSERT_DECISION, _decision_params(d, snapshot_id))


# How a stored column becomes its LedgerDecision field (the others are read as stored).
_FROM_ROW: dict[str, Callable[[Any], Any]] = {
    "entry_date": dt.date.fromisoformat,
    "decided_at": from_iso,
    "earnings_date": dt.date.fromisoformat,
    "reaction_date": dt.date.fromisoformat,
    "expiration": parse_day,
    "proven": bool,
    "hit": opt_bool,
    "hit_gap": opt_bool,
    "hit_reaction": opt_bool,
    "pnl_estimated": opt_bool,
    "settled_at": opt_time,
    "exit_quoted_at": opt_time,
}


def _decision(r: tuple[Any, ...]) -> LedgerDecision:
    """A row of `SELECT {_DECISION_SELECT}` as a decision."""
    return LedgerDecision(**row_fields(_DECISION_INPUT_COLS + _DECISION_OUTCOME_COLS, r, _FROM_ROW))


@dataclass(frozen=True, slots=True)
class LegacySnapshot:
    """A snapshot stored before decisions existed (schema < 8), to be adopted once."""

    id: int
    symbol: str
    taken_at: dt.datetime
    mode: Literal["live", "demo"]
    proven: bool
    payload_json: str


class DecisionsRepo:
    """Ledger decisions: read, settle (exactly once), adopt pre-v8 snapshots."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self, *, mode: str | None = None) -> tuple[LedgerDecision, ...]:
        """Every decision, oldest first (entry date, then symbol)."""
        where, params = ("WHERE mode = ?", (mode,)) if mode else ("", ())
        rows = await self._db.fetchall(
            f"SELECT {_DECISION_SELECT} FROM ledger_decisions {where}"
            " ORDER BY entry_date, symbol, id",
            params,
        )
        return tuple(_decision(r) for r in rows)

    async def outcome_rows(self, *, mode: str | None = None) -> list[tuple[Any, ...]]:
        """The columns the summaries read, one tuple per decision (fast: no dataclass per row):
        tier, recommendation, status, implied_move_pct, realized_close_pct, hit (0/1/None),
        pnl_per_contract, tiering ratio (vrp_reaction_ratio, else vrp_ratio)."""
        where, params = ("WHERE mode = ?", (mode,)) if mode else ("", ())
        return await self._db.fetchall(
            "SELECT tier, recommendation, status, implied_move_pct, realized_close_pct, hit,"
            f" pnl_per_contract, COALESCE(vrp_reaction_ratio, vrp_ratio) FROM ledger_decisions"
            f" {where}",
            params,
        )

    async def get(self, decision_id: int) -> LedgerDecision | None:
        row = await self._db.fetchone(
            f"SELECT {_DECISION_SELECT} FROM ledger_decisions WHERE id = ?", (decision_id,)
        )
        return None if row is None else _decision(row)

    async def open_through(self, last_reaction: dt.date) -> tuple[LedgerDecision, ...]:
        """Open decisions whose reaction session is on or before `last_reaction`."""
        rows = await self._db.fetchall(
            f"SELECT {_DECISION_SELECT} FROM ledger_decisions"
            " WHERE status = 'open' AND reaction_date <= ? ORDER BY symbol, entry_date",
            (last_reaction.isoformat(),),
        )
        return tuple(_decision(r) for r in rows)

    async def settle(self, decision_id: int, s: Settlement) -> bool:
        """Write the outcome if the decision is still open; True when this call settled it
        (another process that got there first makes it False: never settled twice)."""
        vals = (
            s.status,
            s.reason,
            checked_finite("ref_close", s.ref_close),
            checked_finite("reaction_open", s.reaction_open),
            checked_finite("reaction_close", s.reaction_close),
            checked_finite("realized_gap_pct", s.realized_gap_pct),
            checked_finite("realized_close_pct", s.realized_close_pct),
            None if s.hit is None else int(s.hit),
            None if s.hit_gap is None else int(s.hit_gap),
            None if s.hit_reaction is None else int(s.hit_reaction),
            checked_finite("exit_price", s.exit_price),
            checked_finite("pnl_per_contract", s.pnl_per_contract),
            None if s.pnl_estimated is None else int(s.pnl_estimated),
            to_iso(s.settled_at),
            decision_id,
        )
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE ledger_decisions SET status = ?, reason = ?, ref_close = ?,"
                " reaction_open = ?, reaction_close = ?, realized_gap_pct = ?,"
                " realized_close_pct = ?, hit = ?, hit_gap = ?, hit_reaction = ?, exit_price = ?,"
                " pnl_per_contract = ?, pnl_estimated = ?, settled_at = ?"
                " WHERE id = ? AND status = 'open'",
                vals,
            )
        return changed == 1

    async def awaiting_exit(self, reaction_day: dt.date) -> tuple[LedgerDecision, ...]:
        """Open decisions reacting on `reaction_day` with legs to quote and no exit captured."""
        rows = await self._db.fetchall(
            f"SELECT {_DECISION_SELECT} FROM ledger_decisions WHERE status = 'open'"
            " AND reaction_date = ? AND exit_quoted_at IS NULL AND atm_strike IS NOT NULL"
            " AND expiration IS NOT NULL ORDER BY symbol",
            (reaction_day.isoformat(),),
        )
        return tuple(_decision(r) for r in rows)

    async def record_exit(self, decision_id: int, ask_sum: float, at: dt.datetime) -> bool:
        """Keep the first exit quote captured for an open decision; True when stored."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE ledger_decisions SET exit_ask_sum = ?, exit_quoted_at = ?"
                " WHERE id = ? AND status = 'open' AND exit_quoted_at IS NULL",
                (checked_finite("exit_ask_sum", ask_sum), to_iso(at), decision_id),
            )
        return changed == 1

    async def note_open(self, decision_id: int, reason: str) -> None:
        """Why an open decision is not settled yet (shown beside it)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE ledger_decisions SET reason = ? WHERE id = ? AND status = 'open'",
                (reason, decision_id),
            )

    async def legacy(self, limit: int = 5000) -> tuple[LegacySnapshot, ...]:
        """Snapshots not adopted yet (stored before schema v8), oldest first."""
        rows = await self._db.fetchall(
            "SELECT id, symbol, taken_at, mode, proven, payload_json FROM analysis_snapshots"
            " WHERE adopted = 0 ORDER BY taken_at, id LIMIT ?",
            (limit,),
        )
        return tuple(
            LegacySnapshot(r[0], r[1], from_iso(r[2]), r[3], bool(r[4]), r[5]) for r in rows
        )

    async def adopt(
        self, snapshot_ids: list[int], decisions: list[tuple[LedgerDecision, int]]
    ) -> None:
        """Mark `snapshot_ids` adopted and upsert the decisions made from some of them."""
        async with self._db.transaction() as tx:
            for d, snap_id in decisions:
                await upsert_decision(tx, d, snap_id)
            await tx.executemany(
                "UPDATE analysis_snapshots SET adopted = 1 WHERE id = ?",
                [(i,) for i in snapshot_ids],
            )

    async def payload(self, snapshot_id: int) -> str | None:
        """The stored analysis JSON of a snapshot (the decision as it was at decision time)."""
        value = await self._db.fetchval(
            "SELECT payload_json FROM analysis_snapshots WHERE id = ?", (snapshot_id,)
        )
        return None if value is None else str(value)

    async def full_analysis(self, snapshot_id: int) -> bytes | None:
        """The exact analysis stored with a snapshot (packed; schema v11), None when the row is
        absent or older than v11. Whether the bytes decode is the engine's business."""
        value = await self._db.fetchval(
            "SELECT full_analysis FROM analysis_snapshots WHERE id = ?", (snapshot_id,)
        )
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        # A damaged row may hold text or a number where bytes belong: handed over as bytes, to
        # fail decoding (and be reported) in one place.
        return str(value).encode()
