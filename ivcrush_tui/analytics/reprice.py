"""Re-price a ticker's analysis from streamed quotes, without a REST request (issue 14).

After a ticker's first scan, `build_plan` names what to stream: the underlying, every contract of
the event expiration at the listed strikes around spot (PLAN_STRIKES valid straddle strikes on
each side, and every listed strike between them, so the METHODS §3 interpolation can move with
spot), and the contracts of the expirations the §3 decomposition uses (the pre-event one and the
next one, at the strikes the first scan fetched). `reprice` then recomputes, from the streamed
quotes, the straddle and implied move, the ATM IVs of those expirations, the decomposition and
the reaction implied move, VRP, tier, consistency, liquidity, Greeks and the recommendation, by
the same `scoring.score` the full analysis uses: on the same quotes the numbers are the full
analysis's. What streaming does not move is kept from the base analysis: the skew (the whole
event chain), RV30 and the history, and the ATM IVs of the other term-structure expirations
(refreshed by REST, at most every 5 minutes per ticker).

When spot leaves the subscribed strikes, or a subscribed bracket loses a valid leg, `reprice`
answers `Repick`: the caller re-analyzes the ticker by REST and subscribes the new plan.
Prices in dollars per share; times aware UTC.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from ivcrush_tui.analytics.analysis import (
    Analysis,
    AnalysisInputs,
    ChainIvs,
    Status,
    atm_leg_ivs,
    expiration_ivs,
)
from ivcrush_tui.analytics.history import HistoryResult
from ivcrush_tui.analytics.implied_move import (
    ImpliedMove,
    implied_move,
    priced_contracts,
    straddles,
)
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.quotes import spot_price
from ivcrush_tui.analytics.scoring import MarketFigures, SlowFigures, score
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import OptionChain, OptionQuote, StockQuote, Timing, Unavailable

__all__ = [
    "PLAN_STRIKES",
    "LiveBase",
    "Repick",
    "SubscriptionPlan",
    "build_plan",
    "patch_inputs",
    "quoted",
    "reprice",
]

PLAN_STRIKES = 2  # valid straddle strikes subscribed on each side of spot (event expiration)


@dataclass(frozen=True, slots=True)
class SubscriptionPlan:
    """What to stream for one ticker. contracts: OCC symbol -> the contract as the base analysis
    saw it; low/high: the spot range (dollars) whose interpolation the subscribed event strikes
    cover; expirations: the streamed expirations, event expiration first."""

    symbol: str
    contracts: Mapping[str, OptionQuote]
    expirations: tuple[dt.date, ...]
    low: float
    high: float

    @property
    def symbols(self) -> tuple[str, ...]:
        """The underlying (our spelling) and the OCC symbols, for the stream."""
        return (self.symbol, *sorted(self.contracts))

    def covers(self, spot: float) -> bool:
        """True when `spot` (dollars) lies within the subscribed event-expiration strikes."""
        return self.low <= spot <= self.high


@dataclass(frozen=True, slots=True)
class LiveBase:
    """A ticker's REST inputs, their full analysis and the plan built from them."""

    inputs: AnalysisInputs
    analysis: Analysis
    plan: SubscriptionPlan


@dataclass(frozen=True, slots=True)
class Repick:
    """The streamed quotes no longer cover the figures: re-analyze by REST (reason for logs)."""

    reason: str


def build_plan(inputs: AnalysisInputs, analysis: Analysis) -> SubscriptionPlan | None:
    """The subscription for a scored analysis (ok or insufficient history) with an implied move
    interpolated inside the quoted strikes; None otherwise (the ticker is polled)."""
    sched = analysis.schedule
    implied = analysis.implied
    if (
        analysis.status not in (Status.OK, Status.INSUFFICIENT_HISTORY)
        or sched is None
        or sched.expiration is None
        or not isinstance(implied, ImpliedMove)
        or implied.extrapolated
    ):
        return None
    chains = {c.expiration: c for c in inputs.chains}
    event = chains.get(sched.expiration)
    if event is None:
        return None
    spot = implied.spot
    valid = [sq.strike for sq in straddles(event)]
    i = bisect.bisect_left(valid, spot)
    below, above = valid[max(0, i - PLAN_STRIKES) : i], valid[i : i + PLAN_STRIKES]
    if not below and (not above or above[0] != spot):
        return None
    low = below[0] if below else above[0]
    high = above[-1] if above else below[-1]
    contracts = {o.symbol: o for o in event.options if low <= o.strike <= high}
    streamed = [sched.expiration]
    for exp in _decomposition_expirations(inputs, analysis):
        streamed.append(exp)
        contracts.update((o.symbol, o) for o in chains[exp].options)
    return SubscriptionPlan(
        symbol=inputs.symbol,
        contracts=contracts,
        expirations=tuple(streamed),
        low=low,
        high=high,
    )


def _decomposition_expirations(inputs: AnalysisInputs, analysis: Analysis) -> list[dt.date]:
    """The pre-event and the next expiration among the fetched chains (METHODS §3), as
    `scoring.score` picks them (those with an ATM IV in the base analysis)."""
    sched = analysis.schedule
    assert sched is not None
    assert sched.expiration is not None
    with_iv = {p.expiration for p in analysis.term.points} if analysis.term else set()
    today = analysis.as_of.astimezone(NY).date()
    event_day = sched.event.date if sched.event.timing is Timing.UNKNOWN else sched.reaction_date
    dates = sorted(c.expiration for c in inputs.chains if c.expiration in with_iv)
    earlier = [e for e in dates if today < e < event_day]
    later = [e for e in dates if e > sched.expiration]
    return [*earlier[-1:], *later[:1]]


def quoted(opt: OptionQuote, bid: float | None, ask: float | None) -> OptionQuote:
    """`opt` with a streamed top of book (dollars per share). The provider's mid_iv belonged to
    the old quote, so it is dropped: the IV is solved from the new mid (METHODS §7)."""
    if opt.bid == bid and opt.ask == ask:
        return opt
    return dataclasses.replace(opt, bid=bid, ask=ask, mid_iv=None)


def patch_inputs(
    inputs: AnalysisInputs,
    stock: StockQuote,
    legs: Mapping[str, OptionQuote],
    now: dt.datetime,
) -> AnalysisInputs:
    """`inputs` at `now` with the stock quote and the contracts of `legs` (by OCC symbol)
    replaced: what a full analysis of the streamed quotes reads."""
    chains = tuple(
        OptionChain(c.underlying, c.expiration, tuple(legs.get(o.symbol, o) for o in c.options))
        for c in inputs.chains
    )
    return dataclasses.replace(inputs, now=now, quote=stock, chains=chains)


def reprice(
    base: LiveBase,
    stock: StockQuote,
    legs: Mapping[str, OptionQuote],
    now: dt.datetime,
    params: AnalysisParams,
    cal: TradingCalendar,
    quote_time: dt.datetime | None = None,
) -> Analysis | Repick:
    """The analysis of `base` re-priced at `now` (aware UTC) from the streamed `stock` quote and
    `legs` (the plan's contracts by OCC symbol, as last quoted; missing ones keep the base
    quote). quote_time: the instant of the newest quote used. Never raises; `Repick` when the
    subscribed quotes do not determine the figures (or a bug stopped the re-price)."""
    try:
        return _reprice(base, stock, legs, now, params, cal, quote_time)
    except Exception as exc:  # a bug costs a REST re-pick of one ticker, never the stream
        return Repick(f"re-price failed: {type(exc).__name__}")


def _reprice(
    base: LiveBase,
    stock: StockQuote,
    legs: Mapping[str, OptionQuote],
    now: dt.datetime,
    params: AnalysisParams,
    cal: TradingCalendar,
    quote_time: dt.datetime | None,
) -> Analysis | Repick:
    plan = base.plan
    sched = base.analysis.schedule
    history = base.analysis.history
    if sched is None or sched.expiration is None or not isinstance(history, HistoryResult):
        return Repick("the base analysis has no event expiration")
    spot = spot_price(stock)
    if isinstance(spot, Unavailable):
        return Repick(spot.reason)
    if not plan.covers(spot):
        return Repick(f"spot {spot:.2f} left the subscribed strikes {plan.low:g}-{plan.high:g}")
    by_exp: dict[dt.date, list[OptionQuote]] = {e: [] for e in plan.expirations}
    for occ, base_opt in plan.contracts.items():
        by_exp[base_opt.expiration].append(legs.get(occ, base_opt))
    priced = {e: priced_contracts(OptionChain(plan.symbol, e, tuple(v))) for e, v in by_exp.items()}
    event = OptionChain(plan.symbol, sched.expiration, tuple(by_exp[sched.expiration]))
    implied = implied_move(event, spot, priced[sched.expiration])
    if isinstance(implied, Unavailable) or implied.extrapolated:
        return Repick("no valid straddle on each side of spot among the subscribed strikes")
    ivs, atm = expiration_ivs(priced, spot, now, params.risk_free_rate, cal)
    if sched.expiration in ivs and not _iv_bracketed(ivs[sched.expiration], spot):
        return Repick("the subscribed event strikes have no IV on one side of spot")
    atm_ivs = _kept_term_ivs(base.analysis, plan, now, cal)
    atm_ivs.update(atm)
    call_iv, put_iv = atm_leg_ivs(ivs.get(sched.expiration), implied.atm.strike)
    market = MarketFigures(spot, implied, atm_ivs, call_iv, put_iv, quote_time)
    skew = base.analysis.skew
    rv30 = base.analysis.rv30
    slow = SlowFigures(
        skew=skew if skew is not None else Unavailable("no skew"),
        rv30=rv30 if rv30 is not None else Unavailable("no RV30"),
        history=history,
    )
    fresh = score(plan.symbol, now, sched, market, slow, params, cal)
    return dataclasses.replace(
        fresh, expiration_info=base.analysis.expiration_info, market_cap=base.analysis.market_cap
    )


def _iv_bracketed(ivs: ChainIvs, spot: float) -> bool:
    """True when the subscribed event strikes hold a strike with an IV below spot and one at or
    above it: then the full chain's ATM IV uses the same two strikes."""
    rows = zip(ivs.strikes.tolist(), ivs.call_iv.tolist(), ivs.put_iv.tolist(), strict=True)
    has = [float(k) for k, c, p in rows if c == c or p == p]  # not both NaN
    return any(k < spot for k in has) and any(k >= spot for k in has)


def _kept_term_ivs(
    analysis: Analysis, plan: SubscriptionPlan, now: dt.datetime, cal: TradingCalendar
) -> dict[dt.date, float]:
    """ATM IVs of the term-structure expirations the stream does not carry, as last fetched,
    leaving out any that expired by `now`."""
    if analysis.term is None:
        return {}
    return {
        p.expiration: p.atm_iv
        for p in analysis.term.points
        if p.expiration not in plan.expirations and cal.pricing_time_years(now, p.expiration) > 0
    }
