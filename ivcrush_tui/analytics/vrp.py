"""Volatility risk premium: implied move against the historical mean |move| (METHODS.md §5).

Percentages are percent numbers (9.16 = 9.16 %); ratios are plain. Statistics use ABSOLUTE moves:
averaging signed moves lets up and down cancel and inflates every ratio built on the mean.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from ivcrush_tui.analytics.history import EarningsMove, recent_moves
from ivcrush_tui.analytics.params import AnalysisParams, TierThresholds
from ivcrush_tui.analytics.quotes import is_valid_leg
from ivcrush_tui.domain import Unavailable

# A ratio within this relative distance below a threshold counts as reaching it: 10 % / 5 % computed
# from prices can land at 1.9999999999999996, which is shown as 2.00 and must tier as 2.0.
_THRESHOLD_REL_TOL = 1e-9


class TierBasis(StrEnum):
    """Which VRP the tier is read from (METHODS §5)."""

    REACTION = "reaction"  # vrp_reaction_ratio: the horizon-matched implied move
    STRADDLE = "straddle"  # vrp_ratio: no decomposition, the straddle's own horizon


class Tier(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    MARGINAL = "marginal"
    SKIP = "skip"


# Tiers in order of merit (sorting, and "rose into a tier" in the alerts).
TIER_RANK: dict[Tier, int] = {Tier.SKIP: 0, Tier.MARGINAL: 1, Tier.GOOD: 2, Tier.EXCELLENT: 3}


def _reaches(ratio: float, threshold: float) -> bool:
    return ratio >= threshold - _THRESHOLD_REL_TOL * abs(threshold)


def tier_for(vrp_ratio: float, thresholds: TierThresholds) -> Tier:
    """The tier of a VRP ratio: excellent ≥ excellent threshold, good ≥ good, marginal ≥ marginal,
    else skip (NaN is skip). Monotone: a higher ratio never gets a lower tier."""
    if math.isnan(vrp_ratio):
        return Tier.SKIP
    if _reaches(vrp_ratio, thresholds.excellent):
        return Tier.EXCELLENT
    if _reaches(vrp_ratio, thresholds.good):
        return Tier.GOOD
    if _reaches(vrp_ratio, thresholds.marginal):
        return Tier.MARGINAL
    return Tier.SKIP


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def cost_pct(
    call_bid: float | None,
    call_ask: float | None,
    put_bid: float | None,
    put_ask: float | None,
    spot: float | None,
) -> float | None:
    """Round-trip cost of the ATM straddle, percent of spot: 100·(spread_call + spread_put)/S.

    Spreads are ask − bid in dollars per share (a round trip pays about one spread per leg).

    None when either leg is not valid (bid > 0, ask ≥ bid) or spot is not a positive number.
    """
    if not (is_valid_leg(call_bid, call_ask) and is_valid_leg(put_bid, put_ask)):
        return None
    if not _finite(spot) or spot <= 0:  # type: ignore[operator]
        return None
    value = 100.0 * ((call_ask - call_bid) + (put_ask - put_bid)) / spot  # type: ignore[operator]
    return value if math.isfinite(value) else None


def bootstrap_interval(
    abs_moves_pct: Sequence[float],
    implied_move_pct: float,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the VRP ratio (plain ratio), resampling the events.

    Each resample draws len(abs_moves_pct) events with replacement (numpy Generator(seed), so the
    result is deterministic); its ratio is implied / mean |move|. Resamples whose mean is 0 are
    dropped. Returns the (1−c)/2 and (1+c)/2 percentiles, or None when nothing can be resampled.
    """
    x = np.abs(np.asarray(abs_moves_pct, dtype=np.float64))
    if x.ndim != 1 or x.size == 0 or not bool(np.all(np.isfinite(x))):
        return None
    if resamples < 1 or not 0.0 < confidence < 1.0:
        return None
    if not math.isfinite(implied_move_pct) or implied_move_pct <= 0:
        return None
    means = _resampled_means(tuple(x.tolist()), resamples, seed)
    with np.errstate(all="ignore"):  # huge inputs may overflow; filtered just below
        ratios = implied_move_pct / means
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return None
    alpha = 100.0 * (1.0 - confidence) / 2.0
    lo, hi = np.percentile(ratios, [alpha, 100.0 - alpha])
    return float(lo), float(hi)


@functools.lru_cache(maxsize=512)
def _resampled_means(x: tuple[float, ...], resamples: int, seed: int) -> npt.NDArray[np.float64]:
    """The finite, positive means of the bootstrap resamples of `x` (read-only). Cached: a
    streamed re-price scores the same events many times a second with a new implied move."""
    arr = np.asarray(x, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(resamples, arr.size))
    with np.errstate(all="ignore"):  # huge inputs may overflow; filtered just below
        means: npt.NDArray[np.float64] = arr[idx].mean(axis=1)
    means = means[np.isfinite(means) & (means > 0)]
    means.flags.writeable = False
    return means


@dataclass(frozen=True, slots=True)
class VrpResult:
    """VRP of one ticker. *_pct in percent; ratios plain; interval = bootstrap CI of vrp_ratio.

    `tier` is read from the tiering ratio (METHODS §5): `vrp_reaction_ratio` when available
    (`tier_basis` reaction), else `vrp_ratio` (`tier_basis` straddle, with the reason the
    reaction figures are null in `reaction_note`).
    """

    n_events: int
    hist_mean_abs_move_pct: float  # 100 · mean |close move|
    hist_mean_abs_gap_pct: float  # 100 · mean |gap| (exit at the next open)
    vrp_ratio: float  # implied / hist_mean_abs_move_pct
    vrp_gap_ratio: float | None  # implied / hist_mean_abs_gap_pct; None when the mean gap is 0
    tier: Tier
    cost_pct: float | None  # round-trip spread cost, percent of spot
    net_vrp: float | None  # (implied − cost) / hist_mean_abs_move_pct; None when cost unknown
    interval: tuple[float, float] | None
    # 100·√(2/π)·√V_R, percent: the implied move over the reaction session alone (§5).
    reaction_implied_move_pct: float | None = None
    vrp_reaction_ratio: float | None = None  # reaction_implied_move_pct / hist mean |move|
    tier_basis: TierBasis = TierBasis.STRADDLE
    reaction_note: str | None = None  # why the reaction figures are null

    @property
    def tiering_ratio(self) -> float:
        """The ratio the tier is read from (plain ratio)."""
        if self.tier_basis is TierBasis.REACTION and self.vrp_reaction_ratio is not None:
            return self.vrp_reaction_ratio
        return self.vrp_ratio

    @property
    def tiering_interval(self) -> tuple[float, float] | None:
        """The 90 % bootstrap interval on the tiering ratio's basis (plain ratios).

        Both ratios divide by the same resampled mean |move|, so the reaction ratio's interval
        is the straddle one times reaction_implied / implied: shown beside the tiering ratio,
        the interval must measure that ratio, not the other one."""
        if self.interval is None:
            return None
        scale = self.tiering_ratio / self.vrp_ratio if self.vrp_ratio > 0 else math.nan
        if not math.isfinite(scale):
            return None
        return self.interval[0] * scale, self.interval[1] * scale


def _mean(values: Sequence[float]) -> float:
    total = sum(values)  # float addition overflows to inf rather than raising; checked by callers
    return total / len(values)


def vrp(
    implied_move_pct: float,
    moves: Sequence[EarningsMove],
    params: AnalysisParams,
    cost_pct: float | None = None,
    reaction_move_pct: float | Unavailable | None = None,
) -> VrpResult | Unavailable:
    """VRP of the implied move (percent) against the most recent params.max_events moves.

    `reaction_move_pct` is the horizon-matched implied move (percent, METHODS §5), or why there
    is none (None: not computed). When it is a positive number the tier is read from
    vrp_reaction_ratio (basis reaction), else from vrp_ratio (basis straddle).
    Unavailable when there is no move, the mean |move| is 0, or the implied move is not a positive
    number; never NaN or inf. Insufficient history (< min_events) is the caller's decision.
    """
    if not math.isfinite(implied_move_pct) or implied_move_pct <= 0:
        return Unavailable(f"n/a: implied move {implied_move_pct} % is not a positive number")
    used = recent_moves(moves, params.max_events)
    if not used:
        return Unavailable("n/a: no historical earnings moves")
    closes = [100.0 * abs(m.close) for m in used]
    gaps = [100.0 * abs(m.gap) for m in used]
    mean_close = _mean(closes)
    mean_gap = _mean(gaps)
    if not (math.isfinite(mean_close) and math.isfinite(mean_gap)):
        return Unavailable("n/a: historical moves are not finite numbers")
    if mean_close <= 0:
        return Unavailable("n/a: mean historical |move| is 0 (the ratio is undefined)")
    ratio = implied_move_pct / mean_close
    if not math.isfinite(ratio):
        return Unavailable("n/a: VRP ratio is not representable (historical moves ~0)")
    gap_ratio = implied_move_pct / mean_gap if mean_gap > 0 else None
    if gap_ratio is not None and not math.isfinite(gap_ratio):
        gap_ratio = None
    cost = cost_pct if _finite(cost_pct) and cost_pct >= 0 else None  # type: ignore[operator]
    net = None if cost is None else (implied_move_pct - cost) / mean_close
    if net is not None and not math.isfinite(net):
        net = None
    interval = bootstrap_interval(
        closes,
        implied_move_pct,
        resamples=params.bootstrap_resamples,
        confidence=params.bootstrap_confidence,
        seed=params.bootstrap_seed,
    )
    reaction_pct: float | None = None
    reaction_ratio: float | None = None
    note: str | None = None
    if isinstance(reaction_move_pct, Unavailable):
        note = reaction_move_pct.reason
    elif reaction_move_pct is None:
        note = "n/a: no term-structure decomposition"
    elif not math.isfinite(reaction_move_pct) or reaction_move_pct <= 0:
        note = f"n/a: reaction implied move {reaction_move_pct} % is not a positive number"
    else:
        reaction_pct = reaction_move_pct
        reaction_ratio = reaction_move_pct / mean_close
        if not math.isfinite(reaction_ratio):
            reaction_pct = reaction_ratio = None
            note = "n/a: reaction VRP ratio is not representable"
    basis = TierBasis.STRADDLE if reaction_ratio is None else TierBasis.REACTION
    tiering = ratio if reaction_ratio is None else reaction_ratio
    return VrpResult(
        n_events=len(used),
        hist_mean_abs_move_pct=mean_close,
        hist_mean_abs_gap_pct=mean_gap,
        vrp_ratio=ratio,
        vrp_gap_ratio=gap_ratio,
        tier=tier_for(tiering, params.tiers),
        cost_pct=cost,
        net_vrp=net,
        interval=interval,
        reaction_implied_move_pct=reaction_pct,
        vrp_reaction_ratio=reaction_ratio,
        tier_basis=basis,
        reaction_note=note,
    )
