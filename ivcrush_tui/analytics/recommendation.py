"""The SELL / WATCH / SKIP decision and its reasons (METHODS.md §11).

Blockers (SKIP): VRP tier skip or unavailable, fewer than min_events, liquidity reject, rising
trend, an expiration before the reaction session. Warnings (WATCH): liquidity warning or unknown,
TRR high, inferred timing, event expiration more than max_expiration_gap_days after the reaction,
a tier on the straddle basis with the event expiration >= 2 sessions after the reaction session
(horizon not matched: the straddle also prices those ordinary sessions).
A marginal tier is WATCH only when nothing blocks (so a better tier never gets a worse action).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ivcrush_tui.analytics.liquidity import LiquidityTier, StraddleLiquidity, describe
from ivcrush_tui.analytics.vrp import Tier, TierBasis

# With the tier on the straddle basis, an event expiration this many sessions (or more) after the
# reaction session caps the action at WATCH (METHODS §11): one session is the horizon matched.
UNMATCHED_HORIZON_SESSIONS = 2


class Action(StrEnum):
    SELL = "SELL"
    WATCH = "WATCH"
    SKIP = "SKIP"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The action and short human reasons with their numbers (never empty)."""

    action: Action
    reasons: tuple[str, ...]


def _vrp_text(tier: Tier, vrp_ratio: float | None, basis: TierBasis | None = None) -> str:
    on = "" if basis is None else f", {basis.value} basis"
    if vrp_ratio is not None and math.isfinite(vrp_ratio):
        return f"VRP {vrp_ratio:.2f}× ({tier.value}{on})"
    return f"VRP tier {tier.value}{on}"


def _liquidity_text(liquidity: LiquidityTier | StraddleLiquidity) -> str:
    if isinstance(liquidity, StraddleLiquidity):
        detail = describe(liquidity)
        return f"liquidity {liquidity.tier.value}" + (f": {detail}" if detail else "")
    return f"liquidity {liquidity.value}"


def recommend(
    *,
    tier: Tier | None,
    liquidity: LiquidityTier | StraddleLiquidity | None,
    n_events: int,
    min_events: int,
    trend_rising: bool | None,
    trr_level: str | None,
    timing_inferred: bool,
    expiration_gap_days: int | None,
    max_expiration_gap_days: int,
    extra_reasons: Sequence[str] = (),
    vrp_ratio: float | None = None,
    trend_pp_per_qtr: float | None = None,
    trr: float | None = None,
    tier_basis: TierBasis | None = None,
    sessions_after_reaction: int | None = None,
) -> Recommendation:
    """SELL / WATCH / SKIP per METHODS.md §11, with reasons.

    `tier` None means no VRP (unavailable or not scored). `liquidity` may be the straddle's
    StraddleLiquidity (then the reasons name the leg spreads) or only its tier. The optional
    vrp_ratio (the tiering ratio), trend_pp_per_qtr (pp per quarter) and trr only enrich the
    reason texts. `tier_basis` is the ratio the tier was read from; `sessions_after_reaction` is
    the number of sessions after the reaction session through the event expiration (trading
    calendar). Straddle basis with >= 2 such sessions is a warning (at most WATCH).
    `expiration_gap_days`: calendar days from the reaction session to the event expiration
    (None: no event expiration known). `extra_reasons` are appended and never change the action.
    """
    liq_tier = liquidity.tier if isinstance(liquidity, StraddleLiquidity) else liquidity
    vrp_text = None if tier is None else _vrp_text(tier, vrp_ratio, tier_basis)

    blockers: list[str] = []
    if n_events < min_events:
        blockers.append(f"insufficient history: {n_events} events (need {min_events})")
    if tier is None:
        if n_events >= min_events:
            blockers.append("VRP unavailable")
    elif tier is Tier.SKIP:
        blockers.append(f"{vrp_text}: premium too thin")
    if liquidity is not None and liq_tier is LiquidityTier.REJECT:
        blockers.append(_liquidity_text(liquidity))
    if trend_rising:
        slope = (
            f": {trend_pp_per_qtr:+.2f} pp/quarter"
            if trend_pp_per_qtr is not None and math.isfinite(trend_pp_per_qtr)
            else ""
        )
        blockers.append(f"earnings moves trending up{slope}")
    if expiration_gap_days is not None and expiration_gap_days < 0:
        blockers.append("event expiration is before the reaction session")

    warnings: list[str] = []
    if liquidity is None:
        warnings.append("liquidity unknown")
    elif liq_tier is LiquidityTier.WARNING:
        warnings.append(_liquidity_text(liquidity))
    if trr_level == "high":
        value = f" {trr:.2f}" if trr is not None and math.isfinite(trr) else ""
        warnings.append(f"tail risk high: TRR{value}")
    if timing_inferred:
        warnings.append("event timing not confirmed (inferred)")
    if expiration_gap_days is None:
        warnings.append("event expiration unknown")
    elif expiration_gap_days > max_expiration_gap_days:
        warnings.append(
            f"event expiration {expiration_gap_days} days after the reaction session "
            f"(> {max_expiration_gap_days})"
        )

    if (
        tier_basis is TierBasis.STRADDLE
        and sessions_after_reaction is not None
        and sessions_after_reaction >= UNMATCHED_HORIZON_SESSIONS
    ):
        warnings.append(
            f"horizon not matched: tier on the straddle VRP, event expiration "
            f"{sessions_after_reaction} sessions after the reaction session"
        )

    extra = tuple(extra_reasons)
    if blockers:
        context = (vrp_text,) if vrp_text is not None and tier is not Tier.SKIP else ()
        return Recommendation(Action.SKIP, (*blockers, *context, *extra))
    assert vrp_text is not None  # no blocker implies a scored tier
    if tier is Tier.MARGINAL or warnings:
        return Recommendation(Action.WATCH, (vrp_text, *warnings, *extra))
    assert liquidity is not None  # unknown liquidity is a warning
    return Recommendation(
        Action.SELL,
        (vrp_text, _liquidity_text(liquidity), f"{n_events} events", *extra),
    )
