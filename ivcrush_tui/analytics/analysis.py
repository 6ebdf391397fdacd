"""The single entry point from raw market inputs to a complete `Analysis` of one ticker.

Engine, CLI and UI never assemble metrics themselves: they call `analyze(...)` and read the result.
`analyze` never raises: every failure becomes a status with an explained reason.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from ivcrush_tui.analytics.history import earnings_moves
from ivcrush_tui.analytics.implied_move import Priced, implied_move, priced_contracts
from ivcrush_tui.analytics.ivsolve import implied_vols
from ivcrush_tui.analytics.model import Analysis as Analysis  # re-exported
from ivcrush_tui.analytics.model import AnalysisInputs as AnalysisInputs  # re-exported
from ivcrush_tui.analytics.model import ErrorInfo as ErrorInfo  # re-exported
from ivcrush_tui.analytics.model import StaleMark as StaleMark  # re-exported
from ivcrush_tui.analytics.model import Status as Status  # re-exported
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.quotes import quote_time, spot_price
from ivcrush_tui.analytics.realized import yang_zhang
from ivcrush_tui.analytics.recommendation import Action, Recommendation
from ivcrush_tui.analytics.schedule import EventSchedule as EventSchedule  # re-exported
from ivcrush_tui.analytics.schedule import schedule_event
from ivcrush_tui.analytics.scoring import MarketFigures, SlowFigures, score
from ivcrush_tui.analytics.skew import SkewFit, skew_fit
from ivcrush_tui.analytics.term import atm_iv
from ivcrush_tui.calendar import NY, TradingCalendar
from ivcrush_tui.domain import ErrorCode, OptionType, Unavailable


def _today_ny(now: dt.datetime) -> dt.date:
    return now.astimezone(NY).date()


@dataclass(frozen=True, slots=True)
class ChainIvs:
    """Per-strike IVs of one chain (fractions per year; NaN = missing)."""

    strikes: np.ndarray
    call_iv: np.ndarray
    put_iv: np.ndarray


def chain_ivs(priced: Priced, spot: float, T: float, r: float) -> ChainIvs:
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
    return ChainIvs(strikes, ivs[0], ivs[1])


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


def chain_atm_iv(ivs: ChainIvs, spot: float) -> float | Unavailable:
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


def expiration_ivs(
    priced: Mapping[dt.date, Priced], spot: float, now: dt.datetime, r: float,
    cal: TradingCalendar,
) -> tuple[dict[dt.date, ChainIvs], dict[dt.date, float]]:  # fmt: skip
    """Leg IVs and the ATM IV at spot (fractions per year) of every expiration not yet expired
    at `now` (METHODS §7, §9); an expiration without an ATM IV has leg IVs but no ATM entry."""
    ivs_by_exp: dict[dt.date, ChainIvs] = {}
    atm_by_exp: dict[dt.date, float] = {}
    for exp in sorted(priced):
        T = cal.pricing_time_years(now, exp)
        if T <= 0:
            continue
        ivs = chain_ivs(priced[exp], spot, T, r)
        ivs_by_exp[exp] = ivs
        a = chain_atm_iv(ivs, spot)
        if not isinstance(a, Unavailable):
            atm_by_exp[exp] = a
    return ivs_by_exp, atm_by_exp


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
    r = params.risk_free_rate
    ivs_by_exp, atm_by_exp = expiration_ivs(priced, spot, now, r, cal)

    # Skew of the event expiration (METHODS §8).
    T_event = cal.pricing_time_years(now, sched.expiration)
    ev_ivs = ivs_by_exp.get(sched.expiration)
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
    call_iv, put_iv = atm_leg_ivs(ev_ivs, implied.atm.strike)
    market = MarketFigures(
        spot=spot,
        implied=implied,
        atm_ivs=atm_by_exp,
        call_iv=call_iv,
        put_iv=put_iv,
        quote_time=quote_time(inputs.quote),
    )
    # Realised volatility (METHODS §9) and the historical earnings moves (METHODS §4).
    hist = earnings_moves(
        inputs.bars,
        inputs.past_events,
        as_of=_today_ny(now),
        max_events=params.max_events,
        calendar=cal,
    )
    slow = SlowFigures(skew=skew, rv30=yang_zhang(inputs.bars, params.rv_window), history=hist)
    return score(inputs.symbol, now, sched, market, slow, params, cal)


def atm_leg_ivs(ivs: ChainIvs | None, strike: float) -> tuple[float | None, float | None]:
    """The call and put IVs (fractions per year) at `strike` of a chain's IVs, None when missing."""
    if ivs is None:
        return None, None
    idx = np.searchsorted(ivs.strikes, strike)
    if idx < len(ivs.strikes) and ivs.strikes[idx] == strike:
        return _opt(float(ivs.call_iv[idx])), _opt(float(ivs.put_iv[idx]))
    return None, None
