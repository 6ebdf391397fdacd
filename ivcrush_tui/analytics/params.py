"""Thresholds and constants of the analytics, with METHODS.md defaults. Config builds these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TierThresholds:
    """VRP ratio thresholds (implied / historical mean |move|, a plain ratio)."""

    excellent: float = 2.0
    good: float = 1.5
    marginal: float = 1.2

    def __post_init__(self) -> None:
        if not (self.excellent >= self.good >= self.marginal > 0):
            raise ValueError("tier thresholds must satisfy excellent >= good >= marginal > 0")


TIER_PROFILES: dict[str, TierThresholds] = {
    "balanced": TierThresholds(2.0, 1.5, 1.2),
    "conservative": TierThresholds(2.5, 1.8, 1.4),
    "aggressive": TierThresholds(1.7, 1.3, 1.1),
}


@dataclass(frozen=True, slots=True)
class LiquidityLevel:
    """A leg qualifies when spread % <= max_spread_pct and open interest >= min_open_interest."""

    max_spread_pct: float
    min_open_interest: int


@dataclass(frozen=True, slots=True)
class LiquidityThresholds:
    excellent: LiquidityLevel = LiquidityLevel(12.0, 200)
    good: LiquidityLevel = LiquidityLevel(18.0, 100)
    warning: LiquidityLevel = LiquidityLevel(25.0, 50)


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Every tunable of the analytics. Rates and vols are fractions per year."""

    risk_free_rate: float = 0.04  # fraction per year, continuously compounded
    tiers: TierThresholds = field(default_factory=TierThresholds)
    max_events: int = 12  # most recent events used
    min_events: int = 4  # fewer -> insufficient_history
    bootstrap_resamples: int = 2000
    bootstrap_confidence: float = 0.90
    bootstrap_seed: int = 20240101
    recency_decay: float = 0.85  # weight 0.85**i, i = 0 most recent
    trend_rising_pp_per_qtr: float = 0.5  # percentage points per quarter
    trr_high: float = 2.5
    trr_low: float = 1.5
    p90_elevated: float = 1.15  # P90|move| / implied above this is elevated
    skew_max_abs_log_moneyness: float = 0.25
    skew_min_points: int = 5
    term_horizon_days: int = 45  # calendar days, for ts_slope_0_45
    rv_window: int = 30  # sessions, Yang-Zhang RV
    event_premium_min_ratio: float = 1.02  # front/back ATM IV ratio shown from here
    max_expiration_gap_days: int = 7  # event expiration this far after the reaction -> WATCH
    liquidity: LiquidityThresholds = field(default_factory=LiquidityThresholds)
