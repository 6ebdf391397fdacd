"""Consistency and tail risk of the historical moves (METHODS.md §6).

Every statistic is computed on ABSOLUTE close moves in percent (5.0 = 5 %), most recent first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ivcrush_tui.analytics.history import EarningsMove, recent_moves
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.domain import Unavailable

MIN_TREND_POINTS = 3


class TrrLevel(StrEnum):
    """Tail-risk level of TRR = max|move| / mean|move| (a str, so == "high" works)."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class ConsistencyStats:
    """Consistency and tail statistics. *_pct in percent; ratios plain; trend in pp per quarter."""

    recency_weighted_mean_pct: float  # Σ 0.85^i·|x_i| / Σ 0.85^i, i = 0 most recent
    median_abs_pct: float
    mad_pct: float  # median |x − median(x)| of the absolute moves
    dispersion: float | None  # MAD / median; None when the median is 0
    edge_score: float | None  # vrp_ratio / (1 + dispersion); None without either
    trend_pp_per_qtr: float | None  # OLS slope of |close| vs event index (oldest first); None < 3
    trend_rising: bool | None  # slope > params.trend_rising_pp_per_qtr
    trr: float  # max |move| / mean |move|
    trr_level: TrrLevel
    p90_abs_pct: float  # 90th percentile of |move| (linear interpolation)
    p90_ratio: float | None  # P90 / implied; None without a positive implied move
    p90_elevated: bool | None  # p90_ratio > params.p90_elevated


def _opt(x: float) -> float | None:
    return x if math.isfinite(x) else None


def ols_slope(y: np.ndarray) -> float | None:
    """Least-squares slope of y against 0, 1, 2, ... (units of y per step); None with < 3 points."""
    n = y.size
    if n < MIN_TREND_POINTS:
        return None
    t = np.arange(n, dtype=np.float64)
    tc = t - t.mean()
    with np.errstate(all="ignore"):
        slope = float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))
    return _opt(slope)


def consistency(
    moves: Sequence[EarningsMove],
    implied_move_pct: float | None,
    vrp_ratio: float | None,
    params: AnalysisParams,
) -> ConsistencyStats | Unavailable:
    """Consistency and tail risk of the most recent params.max_events moves (METHODS.md §6).

    Unavailable when there is no move or the mean |move| is 0; never NaN or inf.
    The trend treats consecutive events as one quarter apart (event index, oldest first).
    """
    used = recent_moves(moves, params.max_events)
    if not used:
        return Unavailable("n/a: no historical earnings moves")
    decay = params.recency_decay
    if not (math.isfinite(decay) and 0 < decay <= 1):
        return Unavailable(f"n/a: recency decay {decay} is not in (0, 1]")
    with np.errstate(all="ignore"):  # absurdly large inputs overflow: checked below
        x = 100.0 * np.abs(np.array([m.close for m in used], dtype=np.float64))
        mean = float(x.mean())
    if not (bool(np.all(np.isfinite(x))) and math.isfinite(mean)):
        return Unavailable("n/a: historical moves are not finite numbers")
    if mean <= 0:
        return Unavailable("n/a: mean historical |move| is 0")

    weights = decay ** np.arange(x.size, dtype=np.float64)
    weighted = float(np.dot(weights, x) / weights.sum())
    median = float(np.median(x))
    mad = float(np.median(np.abs(x - median)))
    dispersion = _opt(mad / median) if median > 0 else None
    edge = None
    if vrp_ratio is not None and math.isfinite(vrp_ratio) and dispersion is not None:
        edge = _opt(vrp_ratio / (1.0 + dispersion))

    slope = ols_slope(x[::-1])
    trr = float(x.max()) / mean
    if trr > params.trr_high:
        level = TrrLevel.HIGH
    elif trr < params.trr_low:
        level = TrrLevel.LOW
    else:
        level = TrrLevel.NORMAL

    p90 = float(np.percentile(x, 90.0))
    p90_ratio = None
    if implied_move_pct is not None and math.isfinite(implied_move_pct) and implied_move_pct > 0:
        p90_ratio = _opt(p90 / implied_move_pct)
    return ConsistencyStats(
        recency_weighted_mean_pct=weighted,
        median_abs_pct=median,
        mad_pct=mad,
        dispersion=dispersion,
        edge_score=edge,
        trend_pp_per_qtr=slope,
        trend_rising=None if slope is None else slope > params.trend_rising_pp_per_qtr,
        trr=trr,
        trr_level=level,
        p90_abs_pct=p90,
        p90_ratio=p90_ratio,
        p90_elevated=None if p90_ratio is None else p90_ratio > params.p90_elevated,
    )
