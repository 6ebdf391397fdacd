"""The JSON contract of `analyze`/`scan` output (docs/JSON.md): one function, used by the CLI
and the ledger.

A number that cannot be computed is null: never NaN, Infinity or a string. Percentages are percent
numbers; ratios are plain; IVs are fractions per year (0.25 = 25 %).
"""

from __future__ import annotations

import math
from typing import Any

from ivcrush_tui.analytics.analysis import Analysis, Status
from ivcrush_tui.analytics.consistency import ConsistencyStats
from ivcrush_tui.analytics.event_move import EventMove
from ivcrush_tui.analytics.greeks import StraddleGreeks
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.vrp import VrpResult

SCHEMA_VERSION = 1


def _num(x: float | None, digits: int = 6) -> float | None:
    if x is None or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return round(float(x), digits)


def analysis_to_json(a: Analysis) -> dict[str, Any]:
    """The documented JSON object of one ticker's outcome (keys always present per status)."""
    out: dict[str, Any] = {
        "ticker": a.symbol,
        "status": a.status.value,
        "error": None if a.error is None or a.status in (Status.OK, Status.INSUFFICIENT_HISTORY)
        else {"code": a.error.code, "message": a.error.message,
              "correlation_id": a.error.correlation_id},
        "as_of": a.as_of.isoformat(),
    }  # fmt: skip
    s = a.schedule
    if s is not None:
        out.update(
            earnings_date=s.event.date.isoformat(),
            timing=s.event.timing.value,
            timing_inferred=s.timing_flagged,
            entry_date=s.entry_date.isoformat(),
            reaction_date=s.reaction_date.isoformat(),
            expiration=s.expiration.isoformat() if s.expiration else None,
        )
        ei = a.expiration_info
        out.update(
            expiration_cycle=ei.cycle if ei else None,
            expiration_settlement=ei.settlement if ei else None,
        )
    out["market_cap"] = _num(a.market_cap, 0)
    if a.status not in (Status.OK, Status.INSUFFICIENT_HISTORY):
        if a.spot is not None:
            out["spot"] = _num(a.spot, 4)
        return out

    im = a.implied if isinstance(a.implied, ImpliedMove) else None
    vr = a.vrp if isinstance(a.vrp, VrpResult) else None
    cs = a.consistency if isinstance(a.consistency, ConsistencyStats) else None
    sk = a.skew if isinstance(a.skew, SkewFit) else None
    ev = a.event_move if isinstance(a.event_move, EventMove) else None
    gk = a.greeks if isinstance(a.greeks, StraddleGreeks) else None
    term = a.term
    rv30 = a.rv30 if isinstance(a.rv30, float) else None
    out.update(
        spot=_num(a.spot, 4),
        straddle=_num(im.straddle if im else None, 4),
        implied_move_pct=_num(im.implied_move_pct if im else None, 4),
        implied_move_1sd_pct=_num(im.move_1sd_pct if im else None, 4),
        event_move_pct=_num(ev.expected_abs_move_pct if ev else None, 4),
        hist_mean_abs_move_pct=_num(vr.hist_mean_abs_move_pct if vr else None, 4),
        hist_mean_abs_gap_pct=_num(vr.hist_mean_abs_gap_pct if vr else None, 4),
        n_events=len(a.history.moves) if a.history else 0,
        vrp_ratio=_num(vr.vrp_ratio if vr else None, 4),
        reaction_implied_move_pct=_num(vr.reaction_implied_move_pct if vr else None, 4),
        vrp_reaction_ratio=_num(vr.vrp_reaction_ratio if vr else None, 4),
        tier_basis=vr.tier_basis.value if vr else None,
        vrp_gap_ratio=_num(vr.vrp_gap_ratio if vr else None, 4),
        vrp_interval=[_num(vr.interval[0], 4), _num(vr.interval[1], 4)]
        if vr and vr.interval
        else None,
        tiering_interval=[_num(t[0], 4), _num(t[1], 4)]
        if vr and (t := vr.tiering_interval)
        else None,
        tier=a.tier.value if a.tier else None,
        cost_pct=_num(vr.cost_pct if vr else None, 4),
        net_vrp=_num(vr.net_vrp if vr else None, 4),
        liquidity_tier=a.liquidity.tier.value if a.liquidity else None,
        skew={
            "atm_iv": _num(sk.atm_iv if sk else None),
            "slope": _num(sk.slope if sk else None),
            "curvature": _num(sk.curvature if sk else None),
            "rr25": _num(sk.rr25 if sk else None),
            "shape": sk.shape.value if sk and sk.shape else None,
        },
        term={
            "front_iv": _num(term.front_iv if term else None),
            "back_iv": _num(term.back_iv if term else None),
            # vol points per calendar day (METHODS §9), like the console and the ledger
            "ts_slope_0_45": _num(term.ts_slope_0_45 if term else None, 6),
            "iv30": _num(term.iv30 if term else None),
            "rv30": _num(rv30),
            "iv_rv_ratio": _num(a.iv_rv, 4),
        },
        greeks={
            "delta": _num(gk.delta if gk else None),
            "gamma": _num(gk.gamma if gk else None),
            "vega": _num(gk.vega if gk else None),
            "theta": _num(gk.theta if gk else None),
        },
        trend_pp_per_qtr=_num(cs.trend_pp_per_qtr if cs else None, 4),
        trr=_num(cs.trr if cs else None, 4),
        recommendation=a.recommendation.action.value if a.recommendation else None,
        reasons=list(a.recommendation.reasons) if a.recommendation else [],
    )
    return out
