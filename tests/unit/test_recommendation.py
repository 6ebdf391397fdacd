"""SELL / WATCH / SKIP (METHODS.md §11) and the reasons given with it."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from ivcrush_tui.analytics.liquidity import LiquidityTier, straddle_liquidity
from ivcrush_tui.analytics.params import LiquidityThresholds
from ivcrush_tui.analytics.recommendation import Action, Recommendation, recommend
from ivcrush_tui.analytics.vrp import Tier, TierBasis
from ivcrush_tui.domain import OptionQuote, OptionType

BASE: dict[str, Any] = {
    "tier": Tier.EXCELLENT,
    "liquidity": LiquidityTier.EXCELLENT,
    "n_events": 8,
    "min_events": 4,
    "trend_rising": False,
    "trr_level": "normal",
    "timing_inferred": False,
    "expiration_gap_days": 2,
    "max_expiration_gap_days": 7,
}


def rec(**changes: Any) -> Recommendation:
    return recommend(**{**BASE, **changes})


def quote(kind: OptionType, bid: float, ask: float, oi: int) -> OptionQuote:
    return OptionQuote("X", "X", dt.date(2026, 5, 15), 100.0, kind, bid, ask, open_interest=oi)


def test_sell_with_numbers_in_the_reasons() -> None:
    r = rec(vrp_ratio=2.3149)
    assert r.action is Action.SELL
    assert r.reasons[0] == "VRP 2.31× (excellent)"
    assert "liquidity excellent" in r.reasons
    assert "8 events" in r.reasons


def test_good_tier_sells_and_exactly_min_events_is_enough() -> None:
    assert rec(tier=Tier.GOOD, n_events=4).action is Action.SELL


def test_marginal_tier_is_watch() -> None:
    r = rec(tier=Tier.MARGINAL, vrp_ratio=1.3)
    assert r.action is Action.WATCH
    assert r.reasons[0] == "VRP 1.30× (marginal)"


def test_skip_tier_is_skip() -> None:
    r = rec(tier=Tier.SKIP, vrp_ratio=1.05)
    assert r.action is Action.SKIP
    assert "VRP 1.05× (skip)" in r.reasons[0]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"liquidity": LiquidityTier.WARNING}, "liquidity warning"),
        ({"liquidity": None}, "liquidity unknown"),
        ({"trr_level": "high", "trr": 3.14}, "TRR 3.14"),
        ({"timing_inferred": True}, "timing"),
        ({"expiration_gap_days": 8}, "8 days after"),
        ({"expiration_gap_days": None}, "expiration unknown"),
    ],
)
def test_a_warning_turns_sell_into_watch(change: dict[str, Any], words: str) -> None:
    r = rec(**change)
    assert r.action is Action.WATCH
    assert any(words in reason for reason in r.reasons), r.reasons


def test_expiration_exactly_max_days_after_is_fine() -> None:
    assert rec(expiration_gap_days=7).action is Action.SELL


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"liquidity": LiquidityTier.REJECT}, "liquidity reject"),
        ({"n_events": 3}, "insufficient history: 3 events (need 4)"),
        ({"n_events": 3, "tier": None}, "insufficient history: 3 events (need 4)"),
        ({"tier": None}, "VRP unavailable"),
        ({"trend_rising": True, "trend_pp_per_qtr": 0.8}, "+0.80 pp/quarter"),
        ({"expiration_gap_days": -1}, "before the reaction"),
    ],
)
def test_blockers_skip(change: dict[str, Any], words: str) -> None:
    r = rec(**change)
    assert r.action is Action.SKIP
    assert any(words in reason for reason in r.reasons), r.reasons


def test_liquidity_reasons_name_the_leg_spread() -> None:
    # put 3.40/4.21: spread 0.81 / mid 3.805 = 21.3 %, OI 80 -> warning.
    liq = straddle_liquidity(
        quote(OptionType.CALL, 4.9, 5.1, 1200),
        quote(OptionType.PUT, 3.40, 4.21, 80),
        LiquidityThresholds(),
    )
    r = rec(liquidity=liq, vrp_ratio=2.31)
    assert r.action is Action.WATCH
    assert r.reasons == ("VRP 2.31× (excellent)", "liquidity warning: put spread 21.3 %, OI 80")


def test_all_blockers_are_listed_and_extras_appended() -> None:
    r = rec(
        liquidity=LiquidityTier.REJECT,
        trend_rising=True,
        n_events=2,
        extra_reasons=("some past event timings were inferred",),
    )
    assert r.action is Action.SKIP
    assert r.reasons[0].startswith("insufficient history")
    assert any("liquidity reject" in x for x in r.reasons)
    assert any("trending up" in x for x in r.reasons)
    assert r.reasons[-1] == "some past event timings were inferred"


def test_extra_reasons_never_change_the_action() -> None:
    assert rec(extra_reasons=("note",)).action is Action.SELL


def test_unknown_trend_does_not_block() -> None:
    assert rec(trend_rising=None).action is Action.SELL


_ACTION_RANK = {Action.SKIP: 0, Action.WATCH: 1, Action.SELL: 2}
_TIERS = [Tier.SKIP, Tier.MARGINAL, Tier.GOOD, Tier.EXCELLENT]
_GRID = list(
    itertools.product(
        [None, *LiquidityTier],
        [3, 4],
        [None, False, True],
        [None, "low", "normal", "high"],
        [False, True],
        [None, -1, 0, 8],
    )
)


def _kw(combo: tuple[Any, ...]) -> dict[str, Any]:
    liq, n, rising, trr, inferred, gap = combo
    return {
        **BASE,
        "liquidity": liq,
        "n_events": n,
        "trend_rising": rising,
        "trr_level": trr,
        "timing_inferred": inferred,
        "expiration_gap_days": gap,
    }


def test_sell_exactly_per_methods_and_always_a_reason() -> None:
    # Every combination: SELL iff tier excellent/good, liquidity not reject (and known, since
    # unknown is a warning), >= min events, trend not rising, and no warning.
    for combo in _GRID:
        for tier in [None, *_TIERS]:
            kw = _kw(combo) | {"tier": tier}
            r = recommend(**kw)
            assert r.reasons
            liq, n, rising, trr, inferred, gap = combo
            sell = (
                tier in (Tier.EXCELLENT, Tier.GOOD)
                and liq in (LiquidityTier.EXCELLENT, LiquidityTier.GOOD)
                and n >= 4
                and not rising
                and trr != "high"
                and not inferred
                and gap is not None
                and 0 <= gap <= 7
            )
            assert (r.action is Action.SELL) == sell, (kw, r)


def test_a_better_tier_never_gets_a_worse_action() -> None:
    for combo in _GRID:
        ranks = [_ACTION_RANK[recommend(**_kw(combo) | {"tier": t}).action] for t in _TIERS]
        assert ranks == sorted(ranks), combo


@pytest.mark.parametrize(
    ("basis", "sessions", "action"),
    [
        (TierBasis.STRADDLE, 1, Action.SELL),  # one session after the reaction: matched
        (TierBasis.STRADDLE, 2, Action.WATCH),  # two: the straddle prices an ordinary session
        (TierBasis.STRADDLE, 9, Action.WATCH),
        (TierBasis.REACTION, 2, Action.SELL),  # horizon-matched ratio: no cap
        (TierBasis.REACTION, 9, Action.SELL),
        (None, 9, Action.SELL),  # basis unknown: nothing to say
    ],
)
def test_straddle_basis_far_expiration_is_at_most_watch(
    basis: TierBasis | None, sessions: int, action: Action
) -> None:
    r = rec(tier_basis=basis, sessions_after_reaction=sessions, vrp_ratio=2.3)
    assert r.action is action
    capped = [x for x in r.reasons if x.startswith("horizon not matched")]
    assert bool(capped) is (action is Action.WATCH)


def test_horizon_cap_never_lifts_a_skip_and_names_the_basis() -> None:
    r = rec(tier=Tier.SKIP, tier_basis=TierBasis.STRADDLE, sessions_after_reaction=5, vrp_ratio=1.0)
    assert r.action is Action.SKIP
    assert "straddle basis" in r.reasons[0]
    r = rec(tier_basis=TierBasis.REACTION, vrp_ratio=2.3)
    assert r.reasons[0] == "VRP 2.30× (excellent, reaction basis)"
