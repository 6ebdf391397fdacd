"""Ledger outcomes (METHODS §12): realised moves, hits, the short-straddle P&L, summaries with
Wilson intervals, the walk-forward backtest and the threshold sweep. Pure functions, no I/O.

Units: moves and implied moves are percent numbers (9.16 = 9.16 %); prices are dollars per share;
P&L is dollars per contract (one straddle, x100 shares); volatilities are fractions per year.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivcrush_tui.analytics.history import EarningsMove
    from ivcrush_tui.analytics.params import AnalysisParams

# numpy (bsm, consistency) is imported where it is used: `ledger --summary` needs none of it, and
# a fresh process then starts ~0.15 s sooner.

CONTRACT_MULTIPLIER = 100  # shares per equity option contract
WILSON_Z_90 = 1.6448536269514722  # two-sided 90 %: Φ⁻¹(0.95)
SWEEP_CUTS = tuple(round(1.0 + 0.1 * i, 1) for i in range(16))  # 1.0 .. 2.5
BACKTEST_WINDOW = 12  # events before each one that predict it (METHODS §4: the most recent 12)
BACKTEST_MIN_EVENTS = 4  # fewer prior events: no prediction (insufficient_history, §4)
BACKTEST_MISS_FACTOR = 1.5  # a "miss": |actual| beyond 1.5x the predicted mean |move|


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


@dataclass(frozen=True, slots=True)
class RealizedMoves:
    """Signed reaction moves against the reference close, percent numbers."""

    gap_pct: float  # 100·(O_r/C_ref − 1)
    close_pct: float  # 100·(C_r/C_ref − 1)


def realized_moves(ref_close: float, reaction_open: float, reaction_close: float) -> RealizedMoves:
    """§4 gap and close moves of the reaction session, signed percent. ValueError on a price that
    is not a positive finite number (never a silent NaN)."""
    for name, v in (("ref_close", ref_close), ("open", reaction_open), ("close", reaction_close)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive price, got {v!r}")
    return RealizedMoves(
        gap_pct=100.0 * (reaction_open / ref_close - 1.0),
        close_pct=100.0 * (reaction_close / ref_close - 1.0),
    )


def is_hit(realized_pct: float, implied_pct: float | None) -> bool | None:
    """|realised| < implied (the market over-priced the move); None without an implied move.
    A realised move exactly equal to the implied one is not a hit."""
    if implied_pct is None or not math.isfinite(implied_pct):
        return None
    return abs(realized_pct) < implied_pct


@dataclass(frozen=True, slots=True)
class EntryLegs:
    """The decision's ATM straddle as quoted at decision time, dollars per share."""

    strike: float
    call_bid: float
    call_ask: float
    put_bid: float
    put_ask: float

    @property
    def credit(self) -> float:
        """Entry at the bid sum (what a seller receives)."""
        return self.call_bid + self.put_bid

    @property
    def half_spreads(self) -> float:
        """(ask − bid)/2 of each leg, summed: the cost of crossing to the ask at the exit."""
        return 0.5 * ((self.call_ask - self.call_bid) + (self.put_ask - self.put_bid))


def valid_legs(legs: EntryLegs | None) -> bool:
    """Both legs priceable (§2: bid > 0, ask ≥ bid) and a positive strike."""
    if legs is None:
        return False
    vals = (legs.strike, legs.call_bid, legs.call_ask, legs.put_bid, legs.put_ask)
    if not all(math.isfinite(v) for v in vals):
        return False
    return (
        legs.strike > 0
        and legs.call_bid > 0
        and legs.put_bid > 0
        and legs.call_ask >= legs.call_bid
        and legs.put_ask >= legs.put_bid
    )


def estimated_exit(
    legs: EntryLegs, spot_open: float, t_years: float, sigma: float, r: float = 0.0
) -> float | None:
    """Estimated buy-back price of the straddle at the reaction open, dollars per share: BSM call
    + put at S = O_r, the entry strike, σ and T (in the same year convention as σ), plus the
    entry's half spreads (§12). None when the inputs are degenerate (T ≤ 0 is priced at
    intrinsic value)."""
    if not (_finite(spot_open) and spot_open > 0 and _finite(sigma) and sigma > 0):
        return None
    if not _finite(t_years):
        return None
    from ivcrush_tui.analytics.bsm import bsm_price

    k = legs.strike
    if t_years <= 0:
        value = abs(spot_open - k)
    else:
        px = bsm_price(spot_open, k, t_years, sigma, [True, False], r=r)
        value = float(px[0] + px[1])
        if not math.isfinite(value):
            return None
    return value + legs.half_spreads


def straddle_pnl(entry_credit: float, exit_cost: float) -> float:
    """P&L of one short straddle in dollars per contract: (credit − buy-back) × 100."""
    return (entry_credit - exit_cost) * CONTRACT_MULTIPLIER


# -- summaries ---------------------------------------------------------------------------------


def wilson_interval(hits: int, n: int, z: float = WILSON_Z_90) -> tuple[float, float] | None:
    """Wilson score interval of a proportion hits/n (fractions in [0, 1]); None when n = 0."""
    if n <= 0:
        return None
    if not 0 <= hits <= n:
        raise ValueError(f"hits {hits} outside 0..{n}")
    p = hits / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One decision as the summaries see it. Percent numbers; P&L dollars per contract."""

    tier: str | None
    recommendation: str | None
    status: str  # open | settled | void
    implied_move_pct: float | None
    realized_close_pct: float | None
    hit: bool | None
    pnl_per_contract: float | None
    tiering_ratio: float | None = None  # vrp_reaction_ratio, else vrp_ratio (§5)


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Summary of the settled decisions of one tier or recommendation.

    hit_rate and its 90 % Wilson bounds are fractions (0.62 = 62 %); mean/median P&L dollars per
    contract over the decisions with a P&L; calibration = mean of |realised close| / implied."""

    n: int
    hits: int
    hit_rate: float | None
    hit_rate_lo: float | None
    hit_rate_hi: float | None
    mean_pnl: float | None
    median_pnl: float | None
    calibration: float | None


def _pnls(rows: Iterable[Outcome]) -> list[float]:
    return [
        o.pnl_per_contract
        for o in rows
        if o.pnl_per_contract is not None and math.isfinite(o.pnl_per_contract)
    ]


def group_stats(outcomes: Sequence[Outcome]) -> GroupStats:
    """Stats of settled outcomes (others ignored); n counts settled decisions with a hit."""
    scored = [o for o in outcomes if o.status == "settled" and o.hit is not None]
    n = len(scored)
    hits = sum(1 for o in scored if o.hit)
    interval = wilson_interval(hits, n)
    pnls = _pnls(scored)
    ratios = [
        abs(o.realized_close_pct) / o.implied_move_pct
        for o in scored
        if o.realized_close_pct is not None
        and o.implied_move_pct is not None
        and math.isfinite(o.realized_close_pct)
        and math.isfinite(o.implied_move_pct)
        and o.implied_move_pct > 0
    ]
    return GroupStats(
        n=n,
        hits=hits,
        hit_rate=hits / n if n else None,
        hit_rate_lo=interval[0] if interval else None,
        hit_rate_hi=interval[1] if interval else None,
        mean_pnl=statistics.fmean(pnls) if pnls else None,
        median_pnl=float(statistics.median(pnls)) if pnls else None,
        calibration=statistics.fmean(ratios) if ratios else None,
    )


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    by_tier: Mapping[str, GroupStats]
    by_recommendation: Mapping[str, GroupStats]
    n_settled: int
    n_open: int
    n_void: int


def summarize(outcomes: Iterable[Outcome]) -> LedgerSummary:
    """Per-tier and per-recommendation stats of the settled decisions, and the status counts."""
    rows = list(outcomes)
    tiers: dict[str, list[Outcome]] = {}
    recs: dict[str, list[Outcome]] = {}
    for o in rows:
        if o.status != "settled":
            continue
        tiers.setdefault(o.tier or "none", []).append(o)
        recs.setdefault(o.recommendation or "none", []).append(o)
    return LedgerSummary(
        by_tier={k: group_stats(v) for k, v in sorted(tiers.items())},
        by_recommendation={k: group_stats(v) for k, v in sorted(recs.items())},
        n_settled=sum(1 for o in rows if o.status == "settled"),
        n_open=sum(1 for o in rows if o.status == "open"),
        n_void=sum(1 for o in rows if o.status == "void"),
    )


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Settled decisions whose tiering ratio is ≥ cut: n, hit rate (fraction), mean P&L ($)."""

    cut: float
    n: int
    hit_rate: float | None
    mean_pnl: float | None


def threshold_sweep(
    outcomes: Iterable[Outcome], cuts: Sequence[float] = SWEEP_CUTS
) -> list[SweepPoint]:
    """For each cut-off, the settled decisions at or above it (§12 threshold sweep)."""
    scored = [
        o
        for o in outcomes
        if o.status == "settled" and o.hit is not None and _finite(o.tiering_ratio)
    ]
    out: list[SweepPoint] = []
    for cut in cuts:
        sel = [o for o in scored if o.tiering_ratio is not None and o.tiering_ratio >= cut]
        pnls = _pnls(sel)
        out.append(
            SweepPoint(
                cut=cut,
                n=len(sel),
                hit_rate=sum(1 for o in sel if o.hit) / len(sel) if sel else None,
                mean_pnl=statistics.fmean(pnls) if pnls else None,
            )
        )
    return out


# -- backtest on stored history ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BacktestStats:
    """Walk-forward of one symbol (or all): each event's |close move| against the mean |close|
    of the up-to-12 events before it (≥ 4 needed).

    ratio_mean = mean of |actual| / predicted; beyond_1x/1_5x/2x are fractions of the predicted
    events whose |actual| exceeded that multiple of the prediction; misses = events beyond 1.5×;
    misses_flagged = misses whose prior window had a rising trend or a high TRR (§6);
    flag_rate_hits = the same flag rate among the non-misses (for comparison)."""

    n_events: int  # usable stored events
    n_predicted: int
    ratio_mean: float | None
    beyond_1x: float | None
    beyond_1_5x: float | None
    beyond_2x: float | None
    misses: int
    misses_flagged_trend: int
    misses_flagged_trr: int
    flag_rate_misses: float | None
    flag_rate_others: float | None


@dataclass(frozen=True, slots=True)
class BacktestPoint:
    predicted_pct: float  # mean |close| of the window, percent
    actual_pct: float  # |close| of the event, percent
    flagged_trend: bool
    flagged_trr: bool


def walk_forward(
    moves: Sequence[EarningsMove], params: AnalysisParams | None = None
) -> list[BacktestPoint]:
    """One point per event with ≥ BACKTEST_MIN_EVENTS events before it. `moves` in any order
    (sorted by reaction day here)."""
    from ivcrush_tui.analytics.consistency import ConsistencyStats, TrrLevel, consistency
    from ivcrush_tui.analytics.params import AnalysisParams

    p = params if params is not None else AnalysisParams()
    ordered = sorted(moves, key=lambda m: m.reaction_day)
    out: list[BacktestPoint] = []
    for i in range(len(ordered)):
        window = ordered[max(0, i - BACKTEST_WINDOW) : i]
        if len(window) < BACKTEST_MIN_EVENTS:
            continue
        predicted = 100.0 * statistics.fmean(abs(m.close) for m in window)
        if not (math.isfinite(predicted) and predicted > 0):
            continue
        stats = consistency(list(reversed(window)), None, None, p)
        trend = trr = False
        if isinstance(stats, ConsistencyStats):
            trend = bool(stats.trend_rising)
            trr = stats.trr_level is TrrLevel.HIGH
        out.append(BacktestPoint(predicted, 100.0 * abs(ordered[i].close), trend, trr))
    return out


def backtest_stats(points: Sequence[BacktestPoint], n_events: int) -> BacktestStats:
    """Aggregate walk-forward points (one symbol's, or every symbol's together)."""
    n = len(points)
    if n == 0:
        return BacktestStats(n_events, 0, None, None, None, None, 0, 0, 0, None, None)
    ratios = [pt.actual_pct / pt.predicted_pct for pt in points]

    def beyond(f: float) -> float:
        return sum(1 for r in ratios if r > f) / n

    misses = [pt for pt, r in zip(points, ratios, strict=True) if r > BACKTEST_MISS_FACTOR]
    others = [pt for pt, r in zip(points, ratios, strict=True) if r <= BACKTEST_MISS_FACTOR]

    def flag_rate(pts: Sequence[BacktestPoint]) -> float | None:
        return sum(1 for x in pts if x.flagged_trend or x.flagged_trr) / len(pts) if pts else None

    return BacktestStats(
        n_events=n_events,
        n_predicted=n,
        ratio_mean=statistics.fmean(ratios),
        beyond_1x=beyond(1.0),
        beyond_1_5x=beyond(1.5),
        beyond_2x=beyond(2.0),
        misses=len(misses),
        misses_flagged_trend=sum(1 for x in misses if x.flagged_trend),
        misses_flagged_trr=sum(1 for x in misses if x.flagged_trr),
        flag_rate_misses=flag_rate(misses),
        flag_rate_others=flag_rate(others),
    )
