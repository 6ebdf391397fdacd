"""Straddles and the implied move at spot (METHODS.md §2, §3).

Prices in dollars per share; percentages are percent numbers (9.16 means 9.16 %).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ivcrush_tui.analytics.quotes import leg_mid
from ivcrush_tui.domain import OptionChain, OptionQuote, OptionType, Unavailable
from ivcrush_tui.symbols import occ_root

SQRT_PI_2 = math.sqrt(math.pi / 2.0)  # ≈ 1.2533: 1σ move / expected absolute move


@dataclass(frozen=True, slots=True)
class StraddleQuote:
    """A priceable straddle at one strike: both legs valid; mids and sum in dollars per share."""

    strike: float
    call: OptionQuote
    put: OptionQuote
    call_mid: float
    put_mid: float
    straddle: float  # call_mid + put_mid


@dataclass(frozen=True, slots=True)
class ImpliedMove:
    """The market's expected move to expiration, from the straddle interpolated at spot.

    spot, straddle, bounds and breakevens in dollars per share; *_pct in percent.
    """

    spot: float
    straddle: float  # Straddle(S), interpolated at spot
    implied_move_pct: float  # 100 · Straddle(S) / S = expected |move| to expiration
    move_1sd_pct: float  # implied_move_pct · √(π/2)
    bounds_1sd: tuple[float, float]  # S ∓ 1.2533·Straddle(S), low floored at 0
    bounds_2sd: tuple[float, float]  # S ∓ 2.5066·Straddle(S), low floored at 0
    atm: StraddleQuote  # the valid strike nearest spot (ties → lower): the tradeable straddle
    breakevens: tuple[float, float]  # K_atm ∓ atm.straddle, low floored at 0
    extrapolated: bool  # spot outside the valid strikes: the nearest valid strike was used
    note: str | None
    bracket: tuple[float, float]  # the valid strikes interpolated between (equal when one used)


def _is_standard_root(opt: OptionQuote) -> bool:
    # Compared in OCC form: a share class's root drops the punctuation (BRK.B -> BRKB), so the
    # ticker itself would never match and every BRK.B contract would look adjusted.
    return opt.root_symbol is None or occ_root(opt.root_symbol) == occ_root(opt.underlying)


def _preference(opt: OptionQuote) -> tuple[float, int, str]:
    # Tighter market first (rounded so 6.10-5.90 and 6.00-5.80 tie despite binary floats), then
    # the deeper one, then the symbol so the choice is deterministic.
    spread = round(opt.ask - opt.bid, 6)  # type: ignore[operator]
    return (spread, -opt.open_interest, opt.symbol)


def priced_contracts(chain: OptionChain) -> dict[tuple[float, OptionType], OptionQuote]:
    """One valid (priceable) contract per (strike, type): the single dedup rule of the analytics.

    Duplicated contracts are resolved deterministically: adjusted roots (e.g. AAPL1 after a
    corporate action, whose deliverable is not 100 standard shares) are dropped from the whole chain
    when it has any standard-root contract (root_symbol None or the underlying's OCC root: BRKB
    for BRK.B), so a
    non-standard price never enters a calculation; then the tighter market (smaller ask − bid) wins,
    then the higher open interest, then the OCC symbol. Zero-bid and crossed legs are left out.
    """
    # One pass keeps the valid legs; adjusted roots are set aside and used only when the chain
    # has no standard-root contract at all.
    standard: list[OptionQuote] = []
    adjusted: list[OptionQuote] = []
    any_standard = False
    for o in chain.options:
        if not 0.0 < o.strike < math.inf:
            continue
        is_std = _is_standard_root(o)
        any_standard = any_standard or is_std
        if leg_mid(o.bid, o.ask) is not None:
            (standard if is_std else adjusted).append(o)
    best: dict[tuple[float, OptionType], OptionQuote] = {}
    for opt in standard if any_standard else adjusted:
        key = (opt.strike, opt.option_type)
        cur = best.get(key)
        if cur is None or _preference(opt) < _preference(cur):
            best[key] = opt
    return best


Priced = Mapping[tuple[float, OptionType], OptionQuote]


def straddles(chain: OptionChain, priced: Priced | None = None) -> tuple[StraddleQuote, ...]:
    """Straddles at every strike where both the call and the put are valid, ascending by strike
    (contracts chosen by `priced_contracts`)."""
    best = priced_contracts(chain) if priced is None else priced
    out: list[StraddleQuote] = []
    for strike in sorted({k for k, _ in best}):
        call = best.get((strike, OptionType.CALL))
        put = best.get((strike, OptionType.PUT))
        if call is None or put is None:
            continue
        call_mid = leg_mid(call.bid, call.ask)
        put_mid = leg_mid(put.bid, put.ask)
        if call_mid is None or put_mid is None:  # unreachable: both legs were filtered as valid
            continue
        out.append(StraddleQuote(strike, call, put, call_mid, put_mid, call_mid + put_mid))
    return tuple(out)


def _nearest(quotes: tuple[StraddleQuote, ...], spot: float) -> StraddleQuote:
    # min() keeps the first of equal keys, and quotes ascend: a tie goes to the lower strike.
    return min(quotes, key=lambda sq: abs(sq.strike - spot))


def implied_move(
    chain: OptionChain, spot: float, priced: Priced | None = None
) -> ImpliedMove | Unavailable:
    """The implied move of `chain` at `spot` (dollars), METHODS §3.

    Straddle(S) is linear in S between the ADJACENT valid strikes K1 <= S <= K2
    (w = (S − K1)/(K2 − K1)); at a strike that strike is used; outside the valid strikes the
    nearest one is used and `extrapolated` is set.
    """
    if not math.isfinite(spot) or spot <= 0:
        return Unavailable(f"spot {spot!r} is not a positive price")
    if not chain.options:
        return Unavailable(f"{chain.underlying} {chain.expiration}: empty option chain")
    quotes = straddles(chain, priced)
    if not quotes:
        return Unavailable(
            f"{chain.underlying} {chain.expiration}: no strike with both a valid call and put "
            "(bid > 0 and ask >= bid)"
        )

    strikes = [sq.strike for sq in quotes]
    extrapolated = False
    note: str | None = None
    if spot <= strikes[0] or spot >= strikes[-1]:
        edge = quotes[0] if spot <= strikes[0] else quotes[-1]
        straddle = edge.straddle
        bracket = (edge.strike, edge.strike)
        if spot != edge.strike:
            extrapolated = True
            side = "below the lowest" if spot < edge.strike else "above the highest"
            note = (
                f"spot {spot:.2f} is {side} valid strike; straddle taken at {edge.strike:g} "
                "(not interpolated)"
            )
    else:
        i = bisect.bisect_left(strikes, spot)  # strikes[i-1] < spot <= strikes[i]
        lo, hi = quotes[i - 1], quotes[i]
        if spot == hi.strike:
            straddle, bracket = hi.straddle, (hi.strike, hi.strike)
        else:
            w = (spot - lo.strike) / (hi.strike - lo.strike)
            straddle = (1.0 - w) * lo.straddle + w * hi.straddle
            bracket = (lo.strike, hi.strike)

    atm = _nearest(quotes, spot)
    implied_pct = 100.0 * straddle / spot
    if not math.isfinite(implied_pct):  # only for a spot so tiny the ratio overflows
        return Unavailable(f"spot {spot!r} is too small to express the move as a percent")
    return ImpliedMove(
        spot=spot,
        straddle=straddle,
        implied_move_pct=implied_pct,
        move_1sd_pct=implied_pct * SQRT_PI_2,
        bounds_1sd=_around(spot, SQRT_PI_2 * straddle),
        bounds_2sd=_around(spot, 2.0 * SQRT_PI_2 * straddle),
        atm=atm,
        breakevens=_around(atm.strike, atm.straddle),
        extrapolated=extrapolated,
        note=note,
        bracket=bracket,
    )


def _around(center: float, width: float) -> tuple[float, float]:
    # A stock price cannot go below 0, so the low side is floored there.
    return (max(center - width, 0.0), center + width)
