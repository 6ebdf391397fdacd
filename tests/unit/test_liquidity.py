"""Leg and straddle liquidity tiers (METHODS.md §10). Spread % = 100·(ask − bid)/mid."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.liquidity import (
    LiquidityTier,
    describe,
    leg_liquidity,
    straddle_liquidity,
    worse,
)
from ivcrush_tui.analytics.params import LiquidityThresholds
from ivcrush_tui.domain import OptionQuote, OptionType

TH = LiquidityThresholds()
ORDER = [LiquidityTier.EXCELLENT, LiquidityTier.GOOD, LiquidityTier.WARNING, LiquidityTier.REJECT]


def quote(
    kind: OptionType, bid: float | None, ask: float | None, oi: int, vol: int = 10
) -> OptionQuote:
    return OptionQuote(
        symbol="X", underlying="X", expiration=dt.date(2026, 5, 15), strike=100.0,
        option_type=kind, bid=bid, ask=ask, volume=vol, open_interest=oi,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("bid", "ask", "oi", "tier"),
    [
        # 0.94/1.06: mid 1.00, spread 0.12 -> 12 % (a hair above in floats): excellent at the edge.
        (0.94, 1.06, 200, LiquidityTier.EXCELLENT),
        (0.94, 1.06, 199, LiquidityTier.GOOD),  # OI below 200 -> the next level
        # 0.91/1.09: mid 1.00, spread 18 % -> good at the edge (OI >= 100).
        (0.91, 1.09, 5000, LiquidityTier.GOOD),
        (0.91, 1.09, 99, LiquidityTier.WARNING),
        # 1.00/1.20: mid 1.10, spread 0.20/1.10 = 18.18 % -> warning.
        (1.00, 1.20, 5000, LiquidityTier.WARNING),
        # 0.88/1.12: mid 1.00, spread 24 % with OI 50 -> warning; OI 49 -> reject.
        (0.88, 1.12, 50, LiquidityTier.WARNING),
        (0.88, 1.12, 49, LiquidityTier.REJECT),
        # 0.85/1.15: spread 30 % -> reject whatever the OI.
        (0.85, 1.15, 100_000, LiquidityTier.REJECT),
    ],
)
def test_leg_tiers(bid: float, ask: float, oi: int, tier: LiquidityTier) -> None:
    leg = leg_liquidity(bid, ask, oi, 0, TH)
    assert leg.tier is tier
    assert leg.spread_pct == pytest.approx(100 * (ask - bid) / ((ask + bid) / 2))
    assert leg.open_interest == oi


@pytest.mark.parametrize(
    ("bid", "ask"), [(0.0, 1.0), (1.1, 1.0), (None, 1.0), (1.0, None), (float("nan"), 1.0)]
)
def test_invalid_leg_is_reject(bid: float | None, ask: float | None) -> None:
    leg = leg_liquidity(bid, ask, 10_000, 500, TH)
    assert leg.tier is LiquidityTier.REJECT
    assert leg.spread_pct is None


def test_volume_is_context_only_and_bad_counts_are_zero() -> None:
    assert leg_liquidity(0.99, 1.01, 1000, 0, TH).tier is LiquidityTier.EXCELLENT
    leg = leg_liquidity(0.99, 1.01, None, -3, TH)
    assert (leg.open_interest, leg.volume, leg.tier) == (0, 0, LiquidityTier.REJECT)


def test_straddle_takes_the_worse_leg() -> None:
    call = quote(OptionType.CALL, 4.90, 5.10, 1200)  # spread 0.2/5 = 4 % -> excellent
    put = quote(OptionType.PUT, 3.40, 4.21, 80)  # spread 0.81/3.805 = 21.29 %, OI 80 -> warning
    liq = straddle_liquidity(call, put, TH)
    assert liq.call.tier is LiquidityTier.EXCELLENT
    assert liq.put.tier is LiquidityTier.WARNING
    assert liq.tier is LiquidityTier.WARNING
    assert liq.put.spread_pct == pytest.approx(21.2878, abs=1e-4)
    assert describe(liq) == "put spread 21.3 %, OI 80"


def test_straddle_with_an_unpriced_leg_is_reject() -> None:
    liq = straddle_liquidity(
        quote(OptionType.CALL, 0.0, 0.05, 10), quote(OptionType.PUT, 4.9, 5.1, 900), TH
    )
    assert liq.tier is LiquidityTier.REJECT
    assert describe(liq) == "call has no valid quote"


def test_describe_names_both_legs_when_they_tie() -> None:
    leg_q = quote(OptionType.CALL, 4.90, 5.10, 1200)
    liq = straddle_liquidity(leg_q, leg_q, TH)
    assert describe(liq) == "call spread 4.0 %, OI 1,200; put spread 4.0 %, OI 1,200"


def test_worse() -> None:
    for i, a in enumerate(ORDER):
        for j, b in enumerate(ORDER):
            assert worse(a, b) is ORDER[max(i, j)]


@settings(max_examples=300, deadline=None)
@given(
    st.floats(0.01, 100.0),
    st.floats(0.0, 5.0),
    st.floats(0.0, 5.0),
    st.integers(0, 1000),
    st.integers(0, 1000),
)
def test_tier_monotone_in_spread_and_open_interest(
    bid: float, w1: float, w2: float, oi1: int, oi2: int
) -> None:
    # A tighter spread and more open interest never give a worse tier.
    tight, wide = sorted((w1, w2))
    lo_oi, hi_oi = sorted((oi1, oi2))
    good = leg_liquidity(bid, bid * (1 + tight), hi_oi, 0, TH).tier
    bad = leg_liquidity(bid, bid * (1 + wide), lo_oi, 0, TH).tier
    assert ORDER.index(good) <= ORDER.index(bad)
