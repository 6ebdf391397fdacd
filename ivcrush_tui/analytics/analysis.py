"""The single entry point from raw market inputs to a complete `Analysis` of one ticker.

Engine, CLI and UI never assemble metrics themselves: they call `analyze(...)` and read the result.
`analyze` never raises: every failure becomes a status with an explained reason.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from ivcrush_tui.analytics.consistency import ConsistencyStats, consistency
from ivcrush_tui.analytics.event_move import (
    EventMove,
    VarianceSplit,
    decompose,
    event_move_of,
    reaction_implied_move_pct,
)
from ivcrush_tui.analytics.greeks import StraddleGreeks, straddle_greeks
from ivcrush_tui.analytics.history import HistoryResult, earnings_moves
from ivcrush_tui.analytics.implied_move import (
    ImpliedMove,
    Priced,
    implied_move,
    priced_contracts,
)
from ivcrush_tui.analytics.ivsolve import implied_vols
from ivcrush_tui.analytics.liquidity import StraddleLiquidity, straddle_liquidity
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.quotes import quote_time, spot_price
from ivcrush_tui.analytics.realized import iv_rv_ratio, yang_zhang
from ivcrush_tui.analytics.recommendation import Action, Recommendation, recommend
from ivcrush_tui.analytics.schedule import EventSchedule as EventSchedule  # re-exported
from ivcrush_tui.analytics.schedule import schedule_event
from ivcrush_tui.analytics.skew import SkewFit, skew_fit
from ivcrush_tui.analytics.term import TermPoint, TermStructure, atm_iv, term_structure
from ivcrush_tui.analytics.vrp import Tier, TierBasis, VrpResult, cost_pct, vrp
from ivcrush_tui.calendar import NY, ExpirationInfo, TradingCalendar
from ivcrush_tui.domain import (
    Bar,
    EarningsEvent,
    ErrorCode,
    OptionChain,
    OptionType,
    StockQuote,
    Timing,
    Unavailable,
)


class Status(StrEnum):
    OK = "ok"
    INSUFFICIENT_HISTORY = "insufficient_history"
    NO_EVENT = "no_event"
    NO_OPTIONS = "no_options"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A typed failure: stable `code`, human `message`, and the correlation id of the request."""

    code: str
    message: str
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class StaleMark:
    """Set on an analysis that is a ticker's last good result kept through failed refreshes
    (`engine.last_good.hold_last_good`): why the latest refresh failed, and since when (aware
    UTC: the first failed refresh of this outage)."""

    code: str
    message: str
    since: dt.datetime
    correlation_id: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisInputs:
    """Everything `analyze` needs for one ticker, as fetched (no further I/O happens).

    `chains` holds the event expiration's full chain; other expirations may carry only the strikes
    around the money (enough for their ATM IV). `bars` are daily sessions, any order.
    """

    symbol: str
    now: dt.datetime  # aware UTC: "now" is explicit, never read from the wall clock
    quote: StockQuote | None
    upcoming: EarningsEvent | None
    expirations: tuple[dt.date, ...] = ()
    chains: tuple[OptionChain, ...] = ()
    bars: tuple[Bar, ...] = ()
    past_events: tuple[EarningsEvent, ...] = ()
    market_cap: float | None = None  # dollars, as the provider last described the company


@dataclass(frozen=True, slots=True)
class Analysis:
    """The complete analysis of one ticker. Sub-results are `Unavailable` (n/a + reason) or None
    when not reached (e.g. no event). Percentages are percent numbers (9.16 = 9.16 %)."""

    symbol: str
    as_of: dt.datetime
    status: Status
    error: ErrorInfo | None = None
    spot: float | None = None
    schedule: EventSchedule | None = None
    implied: ImpliedMove | Unavailable | None = None
    event_move: EventMove | Unavailable | None = None
    # The §3 decomposition (V_E, σ_o²): present even when the event move is n/a (V_E <= 0),
    # because the horizon-matched implied move of §5 is built from it.
    variance_split: VarianceSplit | Unavailable | None = None
    history: HistoryResult | None = None
    vrp: VrpResult | Unavailable | None = None
    consistency: ConsistencyStats | Unavailable | None = None
    skew: SkewFit | Unavailable | None = None
    term: TermStructure | None = None
    rv30: float | Unavailable | None = None  # fraction per year
    iv_rv: float | None = None
    liquidity: StraddleLiquidity | None = None
    greeks: StraddleGreeks | Unavailable | None = None
    call_iv: float | None = None  # ATM legs' IVs, fraction per year
    put_iv: float | None = None
    recommendation: Recommendation | None = None
    notes: tuple[str, ...] = field(default=())
    # The event expiration's cycle (weekly/monthly) and settlement (AM/PM), and the company's
    # market cap in dollars: facts for the trader, not inputs to any figure above.
    expiration_info: ExpirationInfo | None = None
    market_cap: float | None = None
    # Aware UTC instant of the stock quote the figures were computed from (its latest trade or
    # bid/ask update); None when the provider did not say. The watchlist's Age is its age.
    quote_time: dt.datetime | None = None
    # Set when this is the last good result kept because a later refresh failed; None for a
    # result fresh from the providers.
    stale: StaleMark | None = None

    @property
    def tier(self) -> Tier | None:
        """The VRP tier, only when scored (status ok)."""
        if self.status is not Status.OK or not isinstance(self.vrp, VrpResult):
            return None
        return self.vrp.tier

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


def _today_ny(now: dt.datetime) -> dt.date:
    return now.astimezone(NY).date()


@dataclass(frozen=True, slots=True)
class _ChainIvs:
    """Per-strike IVs of one chain (fractions per year; NaN = missing)."""

    strikes: np.ndarray
    call_iv: np.ndarray
    put_iv: np.ndarray


def _chain_ivs(priced: Priced, spot: float, T: float, r: float) -> _ChainIvs:
    """Leg IVs of the priced contracts: the provider's mid_iv when > 0, else BSM inversion of the
    mid (vectorised). Zero-bid and crossed legs have none."""
    strikes = np.array(sorted({k for k, _ in priced}), dtype=np.float64)
    row = {k: i for i, k in enumerate(strikes.tolist())}
    ivs = np.full((2, len(strikes)), np.nan)  # row 0 calls, row 1 puts
    todo_slot: list[int] = []
    todo_idx: list[int] = []
    todo_mid: list[float] = []
    for (strike, kind), opt in priced.items():
        slot = 0 if kind is OptionType.CALL else 1
        iv = opt.mid_iv
        if iv is not None and 0.0 < iv < math.inf:
            ivs[slot, row[strike]] = iv
        else:  # priced contracts always have a mid
            todo_slot.append(slot)
            todo_idx.append(row[strike])
            todo_mid.append((opt.bid + opt.ask) / 2.0)  # type: ignore[operator]
    if todo_mid:
        slots = np.array(todo_slot)
        idx = np.array(todo_idx)
        ivs[slots, idx] = implied_vols(np.array(todo_mid), spot, strikes[idx], T, slots == 0, r)
    return _ChainIvs(strikes, ivs[0], ivs[1])


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


def _chain_atm_iv(ivs: _ChainIvs, spot: float) -> float | Unavailable:
    """ATM IV at spot (`term.atm_iv`), given only the strikes that can matter: the nearest strike
    with an IV on each side of spot (a full chain would cost a Python loop over every strike)."""
    has_iv = ~(np.isnan(ivs.call_iv) & np.isnan(ivs.put_iv))
    idx = np.flatnonzero(has_iv)
    if idx.size == 0:
        return Unavailable("n/a: no strike has a call or put IV")
    pos = int(np.searchsorted(ivs.strikes[idx], spot))
    keep = idx[max(pos - 1, 0) : pos + 1]
    return atm_iv(
        ivs.strikes[keep].tolist(),
        [_opt(v) for v in ivs.call_iv[keep].tolist()],
        [_opt(v) for v in ivs.put_iv[keep].tolist()],
        spot,
    )


def _failure(
    inputs: AnalysisInputs, status: Status, code: str, message: str, **kw: object
) -> Analysis:
    return Analysis(
        symbol=inputs.symbol,
        as_of=inputs.now,
        status=status,
        error=ErrorInfo(code, message),
        recommendation=Recommendation(Action.SKIP, (message,)),
        **kw,  # type: ignore[arg-type]
    )


def analyze(inputs: AnalysisInputs, params: AnalysisParams, calendar: TradingCalendar) -> Analysis:
    """Turn one ticker's raw inputs into a complete `Analysis`. Never raises."""
    try:
        return _with_facts(_analyze(inputs, params, calendar), inputs, calendar)
    except Exception as exc:  # a bug must cost one row, never the scan or the screen
        return _failure(
            inputs, Status.ERROR, ErrorCode.INTERNAL, f"analysis failed: {type(exc).__name__}"
        )


def _with_facts(a: Analysis, inputs: AnalysisInputs, cal: TradingCalendar) -> Analysis:
    """The expiration's cycle and settlement, the market cap and the quote's time, on every
    outcome that has them (one place, whichever return path `_analyze` took)."""
    exp = a.schedule.expiration if a.schedule is not None else None
    info = cal.expiration_info(exp, inputs.now, root=inputs.symbol) if exp is not None else None
    cap = inputs.market_cap
    at = quote_time(inputs.quote)
    if info is None and cap is None and at is None:
        return a
    return replace(a, expiration_info=info, market_cap=cap, quote_time=at)


def _analyze(inputs: AnalysisInputs, params: AnalysisParams, cal: TradingCalendar) -> Analysis:
    now = inputs.now
    if inputs.quote is None:
        return _failure(inputs, Status.ERROR, ErrorCode.NOT_FOUND, "no quote for this symbol")
    spot = spot_price(inputs.quote)
    if isinstance(spot, Unavailable):
        return _failure(inputs, Status.ERROR, ErrorCode.INVALID_QUOTE, spot.reason)
    if inputs.upcoming is None:
        return _failure(
            inputs, Status.NO_EVENT, "no_event", "no upcoming earnings date known", spot=spot
        )

    sched = schedule_event(inputs.upcoming, inputs.expirations, cal)
    if sched.expiration is None:
        return _failure(
            inputs,
            Status.NO_OPTIONS,
            "no_options",
            "no listed expiration on or after the reaction session",
            spot=spot,
            schedule=sched,
        )
    chains = {c.expiration: c for c in inputs.chains}
    event_chain = chains.get(sched.expiration)
    if event_chain is None or not event_chain.options:
        return _failure(
            inputs,
            Status.NO_OPTIONS,
            "no_options",
            f"no option quotes for the event expiration {sched.expiration}",
            spot=spot,
            schedule=sched,
        )
    # One dedup pass per chain, shared by the straddles and the IVs.
    priced = {exp: priced_contracts(c) for exp, c in chains.items()}
    implied = implied_move(event_chain, spot, priced[sched.expiration])
    if isinstance(implied, Unavailable):
        return _failure(
            inputs,
            Status.NO_OPTIONS,
            "no_options",
            implied.reason,
            spot=spot,
            schedule=sched,
            implied=implied,
        )
    notes: list[str] = []
    if implied.extrapolated:
        notes.append(implied.note or "spot outside the quoted strikes: nearest strike used")
    if sched.timing_flagged:
        notes.append("timing unknown: entered as BMO, expiration chosen as AMC")

    r = params.risk_free_rate
    # Implied vols per expiration and the ATM term structure (METHODS §7, §9).
    chain_ivs: dict[dt.date, _ChainIvs] = {}
    points: list[TermPoint] = []
    atm_by_exp: dict[dt.date, float] = {}
    for exp in sorted(chains):
        T = cal.pricing_time_years(now, exp)
        if T <= 0:
            continue
        ivs = _chain_ivs(priced[exp], spot, T, r)
        chain_ivs[exp] = ivs
        a = _chain_atm_iv(ivs, spot)
        if not isinstance(a, Unavailable):
            atm_by_exp[exp] = a
            points.append(TermPoint(expiration=exp, dte=T * 365.0, atm_iv=a))
    later = [e for e in sorted(atm_by_exp) if e > sched.expiration]
    today = _today_ny(now)
    # The pre-event expiration T0 (METHODS §3): the latest one strictly before the event, not
    # expiring today (its IV is noise in its last hours), with an ATM IV. "Before the event" is
    # before the reaction session, except for UNKNOWN timing: before the report day D itself,
    # since an expiration on D may already hold a pre-market report.
    event_day = sched.event.date if sched.event.timing is Timing.UNKNOWN else sched.reaction_date
    earlier = [e for e in sorted(atm_by_exp) if today < e < event_day]
    back = later[0] if later else None
    term = term_structure(points, front=sched.expiration, back=back, params=params, today=today)

    # Event-only move from the term structure, trading-day clock (METHODS §3). The IVs are quoted
    # on the calendar clock (T = days/365); the total variance σ²·T they price is re-expressed per
    # trading year (σ_trd² = σ²·T_cal/T_trd) so that σ and T share one clock in the formula.
    def trading(exp: dt.date) -> tuple[float, float] | None:
        t_trd = cal.trading_time_years(now, exp)
        t_cal = cal.pricing_time_years(now, exp)
        if t_trd <= 0 or t_cal <= 0:
            return None
        return atm_by_exp[exp] * math.sqrt(t_cal / t_trd), t_trd

    split: VarianceSplit | Unavailable
    front = trading(sched.expiration) if sched.expiration in atm_by_exp else None
    pre = trading(earlier[-1]) if earlier else None
    nxt = trading(back) if back is not None else None
    if front is None:
        split = Unavailable("event move: no ATM IV at the event expiration")
    elif pre is not None:
        split = decompose(front[0], front[1], None, None, pre_iv=pre[0], pre_t=pre[1])
    elif nxt is not None:
        split = decompose(front[0], front[1], nxt[0], nxt[1])
    else:
        split = Unavailable("event move: no second expiration to separate the event from diffusion")
    ev = event_move_of(split)
    # Horizon-matched implied move (METHODS §5): the reaction session alone.
    reaction_pct: float | Unavailable = (
        split if isinstance(split, Unavailable) else reaction_implied_move_pct(split)
    )

    # Skew of the event expiration (METHODS §8).
    T_event = cal.pricing_time_years(now, sched.expiration)
    ev_ivs = chain_ivs.get(sched.expiration)
    skew: SkewFit | Unavailable
    if ev_ivs is None:
        skew = Unavailable("the event expiration has expired")
    else:
        ks = ev_ivs.strikes.tolist()
        skew = skew_fit(
            ks + ks,
            [_opt(v) for v in ev_ivs.call_iv.tolist()] + [_opt(v) for v in ev_ivs.put_iv.tolist()],
            [True] * len(ks) + [False] * len(ks),
            spot=spot,
            T=T_event,
            r=r,
            params=params,
        )

    # ATM legs: their IVs, liquidity, cost and Greeks.
    atm = implied.atm
    call_iv = put_iv = None
    if ev_ivs is not None:
        idx = np.searchsorted(ev_ivs.strikes, atm.strike)
        if idx < len(ev_ivs.strikes) and ev_ivs.strikes[idx] == atm.strike:
            call_iv = _opt(float(ev_ivs.call_iv[idx]))
            put_iv = _opt(float(ev_ivs.put_iv[idx]))
    liquidity = straddle_liquidity(atm.call, atm.put, params.liquidity)
    cost = cost_pct(atm.call.bid, atm.call.ask, atm.put.bid, atm.put.ask, spot)
    greeks: StraddleGreeks | Unavailable
    if call_iv is None or put_iv is None:
        greeks = Unavailable("ATM leg IV missing")
    else:
        greeks = straddle_greeks(atm, spot, T_event, r, call_iv, put_iv)

    # Realised volatility (METHODS §9).
    rv = yang_zhang(inputs.bars, params.rv_window)
    iv_rv = None
    if not isinstance(rv, Unavailable) and term.iv30 is not None:
        iv_rv = iv_rv_ratio(term.iv30, rv)

    # Historical earnings moves, VRP, consistency (METHODS §4-6).
    hist = earnings_moves(
        inputs.bars,
        inputs.past_events,
        as_of=_today_ny(now),
        max_events=params.max_events,
        calendar=cal,
    )
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

    rec = recommend(
        tier=None if insufficient or not isinstance(vr, VrpResult) else vr.tier,
        liquidity=liquidity,
        n_events=n_events,
        min_events=params.min_events,
        trend_rising=cons.trend_rising if isinstance(cons, ConsistencyStats) else None,
        trr_level=cons.trr_level if isinstance(cons, ConsistencyStats) else None,
        timing_inferred=sched.timing_flagged,
        expiration_gap_days=(sched.expiration - sched.reaction_date).days,
        max_expiration_gap_days=params.max_expiration_gap_days,
        extra_reasons=tuple(notes),
        vrp_ratio=vr.tiering_ratio if isinstance(vr, VrpResult) else None,
        trend_pp_per_qtr=cons.trend_pp_per_qtr if isinstance(cons, ConsistencyStats) else None,
        trr=cons.trr if isinstance(cons, ConsistencyStats) else None,
        tier_basis=vr.tier_basis if isinstance(vr, VrpResult) else None,
        sessions_after_reaction=len(after_reaction),
    )
    return Analysis(
        symbol=inputs.symbol,
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
        skew=skew,
        term=term,
        rv30=rv,
        iv_rv=iv_rv,
        liquidity=liquidity,
        greeks=greeks,
        call_iv=call_iv,
        put_iv=put_iv,
        recommendation=rec,
        notes=tuple(notes),
    )
