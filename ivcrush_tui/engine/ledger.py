"""The ledger hook: every `ok` analysis made inside the entry window is stored, for outcome
tracking later."""

from __future__ import annotations

import json

from ivcrush_tui.analytics.analysis import Analysis
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.vrp import VrpResult
from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.engine.schema import analysis_to_json
from ivcrush_tui.store.repositories import LedgerRepo, LedgerSnapshot


def in_entry_window(rt: Runtime, analysis: Analysis) -> bool:
    """True when the analysis was made inside its day's entry window (15:00-16:00 ET, or the
    last hour of a half day)."""
    day = rt.calendar.next_entry_window(analysis.as_of)
    return day[0] <= analysis.as_of < day[1]


def snapshot_of(analysis: Analysis, *, demo: bool) -> LedgerSnapshot:
    """The ledger row of an analysis (the full JSON object rides along as payload)."""
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
        mode="demo" if demo else "live",
    )


async def record_if_in_window(rt: Runtime, analysis: Analysis) -> int | None:
    """Store `analysis` in the ledger when it is ok and inside the entry window; returns the
    row id (None when not stored)."""
    if not analysis.ok or not in_entry_window(rt, analysis):
        return None
    return await LedgerRepo(rt.db).add(snapshot_of(analysis, demo=rt.demo))
