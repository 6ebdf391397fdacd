"""From the market-dependent figures of one ticker to its scored `Analysis` (METHODS §3, §5-7,
§9-11): the term structure and its decomposition, the horizon-matched implied move, VRP and tier,
consistency, liquidity, cost, Greeks and the recommendation.

One function shared by the full analysis (`analysis.analyze`) and the streamed re-price
(`reprice.reprice`), so a streamed row and a full analysis on the same quotes carry the same
numbers. Pure: no I/O, "now" is an argument.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ivcrush_tui.analytics.consistency import ConsistencyStats, consistency
from ivcrush_tui.analytics.event_move import (
    VarianceSplit,
    decompose,
    event_move_of,
    reaction_implied_move_pct,
)
from ivcrush_tui.analytics.greeks import StraddleGreeks, straddle_greeks
from ivcrush_tui.analytics.history import HistoryResult
from ivcrush_tui.analytics.implied_move import ImpliedMove
from ivcrush_tui.analytics.liquidity import straddle_liquidity
from ivcrush_tui.analytics.model import Analysis, Status
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.realized import iv_rv_ratio
from ivcrush_tui.analytics.recommendation import recommend
from ivcrush_tui.analytics.schedule import EventSchedule
from ivcrush_tui.analytics.skew import SkewFit
from ivcrush_tui.analytics.term import TermPoint, term_structure
from ivcrush_tui.analytics.vrp import TierBasis, VrpResult, cost_pct, vrp
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import Timing, Unavailable

__all__ = ["MarketFigures", "score"]


@dataclass(frozen=True, slots=True)
class MarketFigures:
    """What the quotes of one instant give, before scoring.

    spot in dollars; implied: the event expiration's straddle at spot; atm_ivs: ATM IV per
    expiration (fraction per year, calendar clock; only expirations not yet expired); call_iv /
    put_iv: the ATM legs' IVs at the event expiration (fraction per year, None when missing);
    quote_time: UTC instant of the quote these came from (None when unknown)."""

    spot: float
    implied: ImpliedMove
    atm_ivs: Mapping[dt.date, float]
    call_iv: float | None
    put_iv: float | None
    quote_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class SlowFigures:
    """The figures the quotes of the moment do not move: skew of the event expiration, RV30
    (fraction per year) and the historical earnings moves."""

    skew: SkewFit | Unavailable
    rv30: float | Unavailable
    history: HistoryResult


def score(
    symbol: str,
    now: dt.datetime,
    sched: EventSchedule,
    market: MarketFigures,
    slow: SlowFigures,
    params: AnalysisParams,
    cal: TradingCalendar,
) -> Analysis:
    """The scored `Analysis` (status ok or insufficient_history) of one ticker at `now` (aware
    UTC). `sched.expiration` must be set (the caller checked it)."""
    assert sched.expiration is not None
    spot, implied, hist = market.spot, market.implied, slow.history
    notes: list[str] = []
    if implied.extrapolated:
        notes.append(implied.note or "spot outside the quoted strikes: nearest strike used")
    if sched.timing_flagged:
        notes.append("timing unknown: entered as BMO, expiration chosen as AMC")

    atm_by_exp = dict(market.atm_ivs)
    points = [
        TermPoint(expiration=e, dte=cal.pricing_time_years(now, e) * 365.0, atm_iv=iv)
        for e, iv in sorted(atm_by_exp.items())
    ]
    later = [e for e in sorted(atm_by_exp) if e > sched.expiration]
    today = now.astimezone(NY).date()
    # The pre-event expiration T0 (METHODS §3): the latest one strictly before the event, not
    # expiring today (its IV is noise in its last hours), with an ATM IV. "Before the event" is
    # before the reaction session, except for UNKNOWN timing: before the report day D itself,
    # since an expiration on D may already hold a pre-market report.
    event_day = sched.event.date if sched.event.timing is Timing.UNKNOWN else sched.reaction_date
    earlier = [e for e in sorted(atm_by_exp) if today < e < event_day]
    back = later[0] if later else None
    term = term_structure(points, front=sched.expiration, back=back, params=params, today=today)
    split = _split(now, sched.expiration, atm_by_exp, earlier, back, cal)
    ev = event_move_of(split)
    # Horizon-matched implied move (METHODS §5): the reaction session alone.
    reaction_pct: float | Unavailable = (
        split if isinstance(split, Unavailable) else reaction_implied_move_pct(split)
    )

    # ATM legs: liquidity, cost and Greeks.
    atm = implied.atm
    r = params.risk_free_rate
    liquidity = straddle_liquidity(atm.call, atm.put, params.liquidity)
    cost = cost_pct(atm.call.bid, atm.call.ask, atm.put.bid, atm.put.ask, spot)
    greeks: StraddleGreeks | Unavailable
    if market.call_iv is None or market.put_iv is None:
        greeks = Unavailable("ATM leg IV missing")
    else:
        T_event = cal.pricing_time_years(now, sched.expiration)
        greeks = straddle_greeks(atm, spot, T_event, r, market.call_iv, market.put_iv)
    rv = slow.rv30
    iv_rv = None
    if not isinstance(rv, Unavailable) and term.iv30 is not None:
        iv_rv = iv_rv_ratio(term.iv30, rv)

    # VRP and consistency (METHODS §5-6).
    n_events = len(hist.moves)
    vr = vrp(implied.implied_move_pct, hist.moves, params, cost, reaction_pct)
    vrp_ratio = vr.vrp_ratio if isinstance(vr, VrpResult) else None
    cons = consistency(hist.moves, implied.implied_move_pct, vrp_ratio, params)
    insufficient = n_events < params.min_events
    status = Status.INSUFFICIENT_HISTORY if insufficient else Status.OK
    if any(m.timing_inferred for m in hist.moves):
        notes.append("some past event timings were inferred from the gaps")
    # n/a figures carry their reason in the reasons (docs/JSON.md).
    if isinstance(ev, Unavailable):
        notes.append(ev.reason)
    if isinstance(vr, VrpResult) and vr.tier_basis is TierBasis.STRADDLE:
        why = vr.reaction_note or "n/a"
        if isinstance(split, Unavailable) and why == split.reason:
            why = "no term-structure decomposition"  # its reason is already the event move's
        notes.append(f"reaction VRP n/a ({why}): tier on the straddle VRP")
    # Sessions after the reaction session through the event expiration, on the trading calendar
    # (the WATCH cap of METHODS §11 when the tier is on the straddle basis).
    after_reaction = cal.sessions_between(
        sched.reaction_date + dt.timedelta(days=1), sched.expiration
    )
    stats = cons if isinstance(cons, ConsistencyStats) else None
    rec = recommend(
        tier=None if insufficient or not isinstance(vr, VrpResult) else vr.tier,
        liquidity=liquidity,
        n_events=n_events,
        min_events=params.min_events,
        trend_rising=stats.trend_rising if stats is not None else None,
        trr_level=stats.trr_level if stats is not None else None,
        timing_inferred=sched.timing_flagged,
        expiration_gap_days=(sched.expiration - sched.reaction_date).days,
        max_expiration_gap_days=params.max_expiration_gap_days,
        extra_reasons=tuple(notes),
        vrp_ratio=vr.tiering_ratio if isinstance(vr, VrpResult) else None,
        trend_pp_per_qtr=stats.trend_pp_per_qtr if stats is not None else None,
        trr=stats.trr if stats is not None else None,
        tier_basis=vr.tier_basis if isinstance(vr, VrpResult) else None,
        sessions_after_reaction=len(after_reaction),
    )
    return Analysis(
        symbol=symbol,
        as_of=now,
        status=status,
        spot=spot,
        schedule=sched,
        implied=implied,
        event_move=ev,
        variance_split=split,
        history=hist,
        vrp=vr,
        consistency=cons,
        skew=slow.skew,
        term=term,
        rv30=rv,
        iv_rv=iv_rv,
        liquidity=liquidity,
        greeks=greeks,
        call_iv=market.call_iv,
        put_iv=market.put_iv,
        recommendation=rec,
        notes=tuple(notes),
        quote_time=market.quote_time,
    )


def _split(
    now: dt.datetime,
    front_exp: dt.date,
    atm_by_exp: Mapping[dt.date, float],
    earlier: Sequence[dt.date],
    back: dt.date | None,
    cal: TradingCalendar,
) -> VarianceSplit | Unavailable:
    """The §3 decomposition on the trading-day clock. The IVs are quoted on the calendar clock
    (T = days/365); the total variance σ²·T they price is re-expressed per trading year
    (σ_trd² = σ²·T_cal/T_trd) so that σ and T share one clock in the formula."""

    def trading(exp: dt.date) -> tuple[float, float] | None:
        t_trd = cal.trading_time_years(now, exp)
        t_cal = cal.pricing_time_years(now, exp)
        if t_trd <= 0 or t_cal <= 0:
            return None
        return atm_by_exp[exp] * math.sqrt(t_cal / t_trd), t_trd

    front = trading(front_exp) if front_exp in atm_by_exp else None
    pre = trading(earlier[-1]) if earlier else None
    nxt = trading(back) if back is not None else None
    if front is None:
        return Unavailable("event move: no ATM IV at the event expiration")
    if pre is not None:
        return decompose(front[0], front[1], None, None, pre_iv=pre[0], pre_t=pre[1])
    if nxt is not None:
        return decompose(front[0], front[1], nxt[0], nxt[1])
    return Unavailable("event move: no second expiration to separate the event from diffusion")
