"""The JSON contract of `analyze`/`scan` output (docs/JSON.md): one function, used by the CLI
and the ledger.

A number that cannot be computed is null: never NaN, Infinity or a string. Percentages are percent
numbers; ratios are plain; IVs are fractions per year (0.25 = 25 %).
"""

from __future__ import annotations

import math
from typing import Any

from ivcrush_tui.analytics.analysis import Analysis, StaleMark, Status
from ivcrush_tui.analytics.consistency import ConsistencyStats
from ivcrush_tui.analytics.event_move import EventMove
from ivcrush_tui.analytics.greeks import StraddleGreeks
from ivcrush_tui.analytics.history import BEYOND_WINDOW, EarningsMove, HistoryResult
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.liquidity import LegLiquidity
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.term import TermStructure
from ivcrush_tui.analytics.vrp import VrpResult
from ivcrush_tui.domain import OptionQuote

SCHEMA_VERSION = 1

# The two Greeks conventions (docs/JSON.md): the analytics compute ONE LONG straddle per share;
# the console shows what a seller holds, one SHORT contract (x -100). Both are in the JSON, each
# under a key that says which it is, so neither can be read as the other.
GREEKS_LONG_KEY = "greeks_long_straddle_per_share"
GREEKS_SHORT_KEY = "greeks_short_contract"
SHORT_CONTRACT = -100.0  # shares per contract, negated: a short position


def _num(x: float | None, digits: int = 6) -> float | None:
    if x is None or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return round(float(x), digits)


def _pct(fraction: float | None, digits: int = 4) -> float | None:
    """A fraction (0.0512) as the percent number the contract uses (5.12)."""
    return None if fraction is None else _num(100.0 * fraction, digits)


def _pair(p: tuple[float, float] | None, digits: int = 4) -> list[float | None] | None:
    return None if p is None else [_num(p[0], digits), _num(p[1], digits)]


def _greeks(g: StraddleGreeks | None) -> dict[str, float | None]:
    """delta, gamma per $1; vega per vol point; theta per calendar day; rho per 1 % of r."""
    return {
        "delta": _num(g.delta if g else None),
        "gamma": _num(g.gamma if g else None),
        "vega": _num(g.vega if g else None),
        "theta": _num(g.theta if g else None),
        "rho": _num(g.rho if g else None),
    }


def _leg(
    quote: OptionQuote, mid: float, iv: float | None, liq: LegLiquidity | None
) -> dict[str, Any]:
    """One ATM leg: quote ($ per share), IV (fraction/yr) and its liquidity (METHODS §10)."""
    return {
        "bid": _num(quote.bid, 4),
        "ask": _num(quote.ask, 4),
        "mid": _num(mid, 4),
        "iv": _num(iv),
        "spread_pct": _num(liq.spread_pct if liq else None, 4),
        "open_interest": liq.open_interest if liq else None,
        "volume": liq.volume if liq else None,
        "liquidity_tier": liq.tier.value if liq else None,
    }


def _atm(a: Analysis, im: ImpliedMove | None) -> dict[str, Any] | None:
    """The tradeable ATM straddle: strike, price, breakevens and both legs."""
    if im is None:
        return None
    atm = im.atm
    liq = a.liquidity
    return {
        "strike": _num(atm.strike, 4),
        "straddle": _num(atm.straddle, 4),
        "breakevens": _pair(im.breakevens),
        "call": _leg(atm.call, atm.call_mid, a.call_iv, liq.call if liq else None),
        "put": _leg(atm.put, atm.put_mid, a.put_iv, liq.put if liq else None),
    }


def _move(m: EarningsMove) -> dict[str, Any]:
    """One past release, signed moves in percent of the reference close (METHODS §4)."""
    return {
        "earnings_date": m.event.date.isoformat(),
        "timing": m.timing_used.value,
        "timing_inferred": m.timing_inferred,
        "reference_date": m.ref_day.isoformat(),
        "reaction_date": m.reaction_day.isoformat(),
        "reference_close": _num(m.ref_close, 4),
        "gap_pct": _pct(m.gap),
        "close_pct": _pct(m.close),
        "range_pct": _pct(m.range),
        "max_excursion_pct": _pct(m.max_excursion),
        "volume_ratio": _num(m.volume_ratio, 4),
    }


def _history(h: HistoryResult | None) -> dict[str, Any]:
    if h is None:
        return {"past_moves": [], "skipped_events": []}
    return {
        "past_moves": [_move(m) for m in h.moves],
        # Events beyond the 12 most recent are not listed: they are not a data problem, and
        # their number depends on how deep the store's history goes, so listing them would make
        # the same --as-of print different JSON on different stores (test_demo_reproducible).
        "skipped_events": [
            {"earnings_date": d.isoformat(), "reason": why}
            for d, why in h.skipped
            if not why.startswith(BEYOND_WINDOW)
        ],
    }


def _consistency(cs: ConsistencyStats | None) -> dict[str, Any]:
    """METHODS §6 on |close move|: percent numbers, ratios plain."""
    return {
        "recency_weighted_mean_abs_move_pct": _num(cs.recency_weighted_mean_pct if cs else None, 4),
        "median_abs_move_pct": _num(cs.median_abs_pct if cs else None, 4),
        "mad_pct": _num(cs.mad_pct if cs else None, 4),
        "dispersion": _num(cs.dispersion if cs else None, 4),
        "edge_score": _num(cs.edge_score if cs else None, 4),
        "trend_rising": cs.trend_rising if cs else None,
        "trr_level": cs.trr_level.value if cs else None,
        "p90_abs_move_pct": _num(cs.p90_abs_pct if cs else None, 4),
        "p90_to_implied": _num(cs.p90_ratio if cs else None, 4),
        "p90_elevated": cs.p90_elevated if cs else None,
    }


def _term_points(term: TermStructure | None) -> list[dict[str, Any]]:
    if term is None:
        return []
    return [
        {"expiration": p.expiration.isoformat(), "dte": _num(p.dte, 4), "atm_iv": _num(p.atm_iv)}
        for p in term.points
    ]


def _stale(mark: StaleMark | None) -> dict[str, Any] | None:
    """Why the figures are the last good ones (`ivcrush serve` through a failed refresh)."""
    if mark is None:
        return None
    return {
        "code": mark.code,
        "message": mark.message,
        "correlation_id": mark.correlation_id,
        "since": mark.since.isoformat(),
    }


def analysis_to_json(a: Analysis) -> dict[str, Any]:
    """The documented JSON object of one ticker's outcome (keys always present per status)."""
    out: dict[str, Any] = {
        "ticker": a.symbol,
        "status": a.status.value,
        "error": None if a.error is None or a.status in (Status.OK, Status.INSUFFICIENT_HISTORY)
        else {"code": a.error.code, "message": a.error.message,
              "correlation_id": a.error.correlation_id},
        "as_of": a.as_of.isoformat(),
        "quote_time": a.quote_time.isoformat() if a.quote_time else None,
        "stale": _stale(a.stale),
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
        trend_pp_per_qtr=_num(cs.trend_pp_per_qtr if cs else None, 4),
        trr=_num(cs.trr if cs else None, 4),
        recommendation=a.recommendation.action.value if a.recommendation else None,
        reasons=list(a.recommendation.reasons) if a.recommendation else [],
    )
    # What the drill-down shows beyond the summary above (issue 15: JSON left it out).
    out.update(
        range_1sd=_pair(im.bounds_1sd if im else None),
        range_2sd=_pair(im.bounds_2sd if im else None),
        breakevens=_pair(im.breakevens if im else None),
        atm=_atm(a, im),
        event_move_1sd_pct=_num(ev.event_sd_pct if ev else None, 4),
        consistency=_consistency(cs),
        **_history(a.history),
    )
    out["skew"].update(
        # Vol fractions like rr25; r_squared null when the fitted IVs are flat (METHODS §8).
        bf25=_num(sk.bf25 if sk else None),
        r_squared=_num(sk.r_squared if sk else None, 4),
    )
    out["term"].update(
        front_back_ratio=_num(term.front_back_ratio if term else None, 4),
        event_premium=term.event_premium if term else None,
        points=_term_points(term),
    )
    out[GREEKS_LONG_KEY] = _greeks(gk)
    out[GREEKS_SHORT_KEY] = _greeks(gk.scaled(SHORT_CONTRACT) if gk else None)
    return out
