"""The ledger (METHODS §12): record decisions from the entry window, settle them once their
reaction session has closed, capture their exits.

- `record_if_in_window`: an `ok` analysis taken inside its own entry window (the window of its
  event's entry date) is stored on the intraday path (one row per symbol per minute) and becomes
  the decision of (symbol, entry date) when it is the latest so far.
- `settle_due(rt, now)` (engine/ledger_settle.py, re-exported here): every open decision whose
  reaction session has closed by `now` is settled from daily bars, made `void`, or left open with
  the reason.
- `capture_exits(rt, now)` (engine/ledger_exits.py, re-exported here): the real exit prices,
  09:35-10:00 ET on the reaction session.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING

from ivcrush_tui.engine.ledger_exits import (
    EXIT_CAPTURE_END,
    EXIT_CAPTURE_POLL_S,
    EXIT_CAPTURE_START,
    capture_exits,
    capture_exits_forever,
    in_exit_capture_window,
)
from ivcrush_tui.engine.ledger_settle import (
    MOVED_EVENT_DAYS,
    SettleReport,
    adopt_legacy,
    settle_due,
    settle_in_background,
)
from ivcrush_tui.store.repositories import (
    DecisionsRepo,
    LedgerDecision,
    LedgerRepo,
    LedgerSnapshot,
)

if TYPE_CHECKING:
    from ivcrush_tui.analytics.analysis import Analysis
    from ivcrush_tui.engine.runtime import Runtime
    from ivcrush_tui.store.db import Database

# The analysis modules (numpy) are imported by the functions that record an analysis: settling
# and `ledger --summary` need none of them.

# Recording lives here; settlement (ledger_settle.py) and exit capture (ledger_exits.py) are
# re-exported for the callers of this module.
__all__ = [
    "EXIT_CAPTURE_END",
    "EXIT_CAPTURE_POLL_S",
    "EXIT_CAPTURE_START",
    "MOVED_EVENT_DAYS",
    "SettleReport",
    "adopt_legacy",
    "capture_exits",
    "capture_exits_forever",
    "decision_analysis",
    "decision_of",
    "decision_snapshot",
    "in_entry_window",
    "in_exit_capture_window",
    "in_own_entry_window",
    "pack_full_analysis",
    "record_if_in_window",
    "settle_due",
    "settle_in_background",
    "snapshot_of",
    "unpack_full_analysis",
]

log = logging.getLogger(__name__)


def in_entry_window(rt: Runtime, analysis: Analysis) -> bool:
    """True when the analysis was made inside an entry window (15:00-16:00 ET, or the last hour
    of a half day): such analyses are kept on the ledger's path."""
    day = rt.calendar.next_entry_window(analysis.as_of)
    return day[0] <= analysis.as_of < day[1]


def in_own_entry_window(rt: Runtime, analysis: Analysis) -> bool:
    """True when the analysis was made inside its event's entry window (the window of the entry
    date): only such an analysis can be a decision (METHODS §12)."""
    sched = analysis.schedule
    if sched is None:
        return False
    window = rt.calendar.entry_window(sched.entry_date)
    return window is not None and window[0] <= analysis.as_of < window[1]


def pack_full_analysis(analysis: Analysis) -> bytes:
    """The exact analysis as a snapshot stores it (schema v11): the codec's JSON
    (engine/analysis_codec.py) packed standalone by engine/analysis_pack.py (a mode byte, then
    zlib; ~1.5 kB for the ~5 kB text; docs/PERFORMANCE.md, Ledger)."""
    from ivcrush_tui.engine.analysis_codec import encode_analysis
    from ivcrush_tui.engine.analysis_pack import pack

    return pack(encode_analysis(analysis).encode(), None)


def unpack_full_analysis(data: bytes) -> Analysis:
    """The Analysis `pack_full_analysis` stored; ValueError (CodecError, PackError) when `data`
    is not one (damaged, or written by an incompatible codec)."""
    from ivcrush_tui.engine.analysis_codec import decode_analysis
    from ivcrush_tui.engine.analysis_pack import unpack

    return decode_analysis(unpack(data, None))


def snapshot_of(analysis: Analysis, *, demo: bool) -> LedgerSnapshot:
    """The ledger row of an analysis: its figures as columns, the analysis object of
    docs/JSON.md as payload, and the exact analysis (`pack_full_analysis`) for the drill-down."""
    from ivcrush_tui.analytics.implied_move import ImpliedMove
    from ivcrush_tui.analytics.vrp import VrpResult
    from ivcrush_tui.engine.schema import analysis_to_json

    im = analysis.implied if isinstance(analysis.implied, ImpliedMove) else None
    vr = analysis.vrp if isinstance(analysis.vrp, VrpResult) else None
    liq = analysis.liquidity
    sched = analysis.schedule
    return LedgerSnapshot(
        symbol=analysis.symbol,
        taken_at=analysis.as_of,
        earnings_date=sched.event.date if sched else None,
        expiration=sched.expiration if sched else None,
        spot=analysis.spot,
        straddle=im.atm.straddle if im else None,
        implied_move_pct=im.implied_move_pct if im else None,
        call_iv=analysis.call_iv,
        put_iv=analysis.put_iv,
        call_spread_pct=liq.call.spread_pct if liq else None,
        put_spread_pct=liq.put.spread_pct if liq else None,
        vrp_ratio=vr.vrp_ratio if vr else None,
        tier=analysis.tier.value if analysis.tier else None,
        recommendation=analysis.recommendation.action.value if analysis.recommendation else None,
        payload_json=json.dumps(analysis_to_json(analysis), allow_nan=False),
        full_analysis=pack_full_analysis(analysis),
        mode="demo" if demo else "live",
    )


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def decision_of(analysis: Analysis, *, demo: bool) -> LedgerDecision | None:
    """The decision an in-window analysis makes (None without an event schedule)."""
    from ivcrush_tui.analytics.event_move import VarianceSplit
    from ivcrush_tui.analytics.implied_move import ImpliedMove
    from ivcrush_tui.analytics.vrp import VrpResult

    sched = analysis.schedule
    if sched is None:
        return None
    im = analysis.implied if isinstance(analysis.implied, ImpliedMove) else None
    vr = analysis.vrp if isinstance(analysis.vrp, VrpResult) else None
    split = analysis.variance_split if isinstance(analysis.variance_split, VarianceSplit) else None
    sigma_o = math.sqrt(split.ordinary_variance) if split and split.ordinary_variance > 0 else None
    atm = im.atm if im else None
    return LedgerDecision(
        symbol=analysis.symbol,
        entry_date=sched.entry_date,
        mode="demo" if demo else "live",
        decided_at=analysis.as_of,
        earnings_date=sched.event.date,
        timing=sched.event.timing.value,
        reaction_date=sched.reaction_date,
        expiration=sched.expiration,
        spot=_finite(analysis.spot),
        atm_strike=atm.strike if atm else None,
        call_bid=_finite(atm.call.bid) if atm else None,
        call_ask=_finite(atm.call.ask) if atm else None,
        put_bid=_finite(atm.put.bid) if atm else None,
        put_ask=_finite(atm.put.ask) if atm else None,
        implied_move_pct=im.implied_move_pct if im else None,
        reaction_implied_move_pct=_finite(vr.reaction_implied_move_pct) if vr else None,
        vrp_ratio=_finite(vr.vrp_ratio) if vr else None,
        vrp_reaction_ratio=_finite(vr.vrp_reaction_ratio) if vr else None,
        tier=analysis.tier.value if analysis.tier else None,
        tier_basis=vr.tier_basis.value if vr and vr.tier_basis else None,
        recommendation=analysis.recommendation.action.value if analysis.recommendation else None,
        ordinary_vol=_finite(sigma_o),
        back_iv=_finite(analysis.term.back_iv) if analysis.term else None,
    )


async def record_if_in_window(rt: Runtime, analysis: Analysis) -> int | None:
    """Store `analysis` on the ledger's path when it is ok and inside an entry window; inside its
    own event's entry window it also becomes the decision of its (symbol, entry date) when it is
    the latest. Returns the snapshot id (None when not stored)."""
    if not analysis.ok or not in_entry_window(rt, analysis):
        return None
    repo = LedgerRepo(rt.db)
    snap = snapshot_of(analysis, demo=rt.demo)
    decision = decision_of(analysis, demo=rt.demo) if in_own_entry_window(rt, analysis) else None
    if decision is None:
        return await repo.add(snap)
    return await repo.record(snap, decision)


async def decision_snapshot(db: Database, snapshot_id: int | None) -> dict[str, object] | None:
    """The analysis object (docs/JSON.md) of a decision's snapshot (`LedgerDecision.snapshot_id`)
    as it was at decision time, for a drill-down; None when there is none or its payload is
    unreadable (logged once per call, never raised)."""
    if snapshot_id is None:
        return None
    text = await DecisionsRepo(db).payload(snapshot_id)
    if text is None:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        log.warning("ledger: snapshot %d has an unreadable payload", snapshot_id)
        return None
    return obj


async def decision_analysis(db: Database, snapshot_id: int | None) -> Analysis | None:
    """The exact analysis a decision's snapshot (`LedgerDecision.snapshot_id`) was made from, for
    the drill-down as it was at decision time; None when there is none, the row predates schema
    v11, or its value does not decode (logged once per call, never raised)."""
    if snapshot_id is None:
        return None
    data = await DecisionsRepo(db).full_analysis(snapshot_id)
    if data is None:
        return None
    try:
        return unpack_full_analysis(data)
    except Exception as exc:  # CodecError, PackError, or a value no Analysis accepts
        log.warning("ledger: snapshot %d has an unreadable full analysis: %s", snapshot_id, exc)
        return None
