"""Liquidity of the ATM straddle legs (METHODS.md §10).

Spread in percent of mid (12.5 = 12.5 %); open interest and volume in contracts. Volume is context
only (it is zero outside the session), so it never decides a tier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ivcrush_tui.analytics.params import LiquidityLevel, LiquidityThresholds
from ivcrush_tui.analytics.quotes import spread_pct
from ivcrush_tui.domain import OptionQuote

# A spread computed from prices can land a hair above a round threshold (0.12/1.00 -> 12.000000002).
_SPREAD_TOL_PCT = 1e-9


class LiquidityTier(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    WARNING = "warning"
    REJECT = "reject"


_WORST_LAST = (
    LiquidityTier.EXCELLENT,
    LiquidityTier.GOOD,
    LiquidityTier.WARNING,
    LiquidityTier.REJECT,
)


def worse(a: LiquidityTier, b: LiquidityTier) -> LiquidityTier:
    """The worse of two tiers (reject is the worst)."""
    return a if _WORST_LAST.index(a) >= _WORST_LAST.index(b) else b


@dataclass(frozen=True, slots=True)
class LegLiquidity:
    """One leg: spread in percent of mid (None for an invalid leg), OI and volume in contracts."""

    spread_pct: float | None
    open_interest: int
    volume: int
    tier: LiquidityTier


@dataclass(frozen=True, slots=True)
class StraddleLiquidity:
    """Both ATM legs; the straddle takes the worse leg's tier."""

    call: LegLiquidity
    put: LegLiquidity
    tier: LiquidityTier


def _count(x: int | float | None) -> int:
    """Contracts as a non-negative int (missing or nonsense -> 0)."""
    if x is None or not math.isfinite(x) or x < 0:
        return 0
    return int(x)


def _meets(spread: float, oi: int, level: LiquidityLevel) -> bool:
    return spread <= level.max_spread_pct + _SPREAD_TOL_PCT and oi >= level.min_open_interest


def leg_liquidity(
    bid: float | None,
    ask: float | None,
    open_interest: int | None,
    volume: int | None,
    thresholds: LiquidityThresholds,
) -> LegLiquidity:
    """Tier of one leg: the best level whose max spread % and min open interest it meets, else
    reject. An invalid leg (bid ≤ 0, crossed, missing) is reject with spread None."""
    oi, vol = _count(open_interest), _count(volume)
    spread = spread_pct(bid, ask)
    if spread is None or not math.isfinite(spread):
        return LegLiquidity(None, oi, vol, LiquidityTier.REJECT)
    levels = (
        (LiquidityTier.EXCELLENT, thresholds.excellent),
        (LiquidityTier.GOOD, thresholds.good),
        (LiquidityTier.WARNING, thresholds.warning),
    )
    tier = next((t for t, level in levels if _meets(spread, oi, level)), LiquidityTier.REJECT)
    return LegLiquidity(spread, oi, vol, tier)


def straddle_liquidity(
    call: OptionQuote, put: OptionQuote, thresholds: LiquidityThresholds
) -> StraddleLiquidity:
    """Liquidity of the ATM straddle: each leg's, and the worse leg's tier as the straddle's."""
    c = leg_liquidity(call.bid, call.ask, call.open_interest, call.volume, thresholds)
    p = leg_liquidity(put.bid, put.ask, put.open_interest, put.volume, thresholds)
    return StraddleLiquidity(call=c, put=p, tier=worse(c.tier, p.tier))


def _leg_text(name: str, leg: LegLiquidity) -> str:
    if leg.spread_pct is None:
        return f"{name} has no valid quote"
    return f"{name} spread {leg.spread_pct:.1f} %, OI {leg.open_interest:,}"


def describe(liq: StraddleLiquidity) -> str:
    """The leg(s) that set the straddle's tier, e.g. "put spread 21.4 %, OI 80"."""
    legs = [(n, leg) for n, leg in (("call", liq.call), ("put", liq.put)) if leg.tier == liq.tier]
    return "; ".join(_leg_text(n, leg) for n, leg in legs)
