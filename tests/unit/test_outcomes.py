"""Ledger outcome math (METHODS §12): realised moves, hits, P&L, Wilson, summaries, backtest."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.history import EarningsMove
from ivcrush_tui.analytics.outcomes import (
    SWEEP_CUTS,
    EntryLegs,
    Outcome,
    backtest_stats,
    estimated_exit,
    group_stats,
    is_hit,
    realized_moves,
    straddle_pnl,
    summarize,
    threshold_sweep,
    valid_legs,
    walk_forward,
    wilson_interval,
)
from ivcrush_tui.domain import EarningsEvent, Timing


def test_realized_moves_are_signed_percent_against_the_reference_close() -> None:
    m = realized_moves(100.0, 95.0, 103.0)
    assert m.gap_pct == pytest.approx(-5.0)
    assert m.close_pct == pytest.approx(3.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_realized_moves_refuse_a_price_that_is_not_positive(bad: float) -> None:
    with pytest.raises(ValueError):
        realized_moves(bad, 100.0, 100.0)
    with pytest.raises(ValueError):
        realized_moves(100.0, bad, 100.0)


def test_hit_is_strictly_inside_the_implied_move_either_sign() -> None:
    assert is_hit(4.99, 5.0) is True
    assert is_hit(-4.99, 5.0) is True
    assert is_hit(5.0, 5.0) is False  # equal: the market did not over-price it
    assert is_hit(-7.0, 5.0) is False
    assert is_hit(1.0, None) is None
    assert is_hit(1.0, math.nan) is None


LEGS = EntryLegs(strike=100.0, call_bid=2.9, call_ask=3.1, put_bid=2.8, put_ask=3.0)


def test_entry_is_the_bid_sum_and_exit_adds_the_half_spreads() -> None:
    assert LEGS.credit == pytest.approx(5.7)
    assert LEGS.half_spreads == pytest.approx(0.2)
    t, sigma = 3 / 252, 0.30
    model = float(
        bsm_price(104.0, 100.0, t, sigma, True) + bsm_price(104.0, 100.0, t, sigma, False)
    )
    got = estimated_exit(LEGS, 104.0, t, sigma)
    assert got == pytest.approx(model + 0.2)
    pnl = straddle_pnl(LEGS.credit, got or 0.0)
    assert pnl == pytest.approx((5.7 - model - 0.2) * 100)


def test_an_expired_straddle_is_bought_back_at_intrinsic_value() -> None:
    assert estimated_exit(LEGS, 92.0, 0.0, 0.3) == pytest.approx(8.0 + 0.2)


@pytest.mark.parametrize(
    ("spot", "t", "sigma"), [(0.0, 0.01, 0.3), (100.0, 0.01, 0.0), (100.0, math.nan, 0.3)]
)
def test_degenerate_exit_inputs_give_none(spot: float, t: float, sigma: float) -> None:
    assert estimated_exit(LEGS, spot, t, sigma) is None


def test_legs_must_be_priceable() -> None:
    assert valid_legs(LEGS)
    assert not valid_legs(None)
    assert not valid_legs(EntryLegs(100.0, 0.0, 0.1, 2.8, 3.0))  # zero bid
    assert not valid_legs(EntryLegs(100.0, 3.2, 3.1, 2.8, 3.0))  # crossed
    assert not valid_legs(EntryLegs(100.0, math.nan, 3.1, 2.8, 3.0))


def test_wilson_interval_at_90_percent() -> None:
    assert wilson_interval(0, 0) is None
    lo, hi = wilson_interval(8, 10) or (0, 0)
    # By hand: p = 0.8, n = 10, z² = 2.7055: centre = (0.8 + z²/20)/(1 + z²/10) = 0.7361,
    # half = z·√(p(1−p)/n + z²/400)/(1 + z²/10) = 0.1953.
    assert lo == pytest.approx(0.5408, abs=1e-3)
    assert hi == pytest.approx(0.9315, abs=1e-3)
    lo, hi = wilson_interval(0, 5) or (1, 1)
    assert lo == 0.0
    assert hi == pytest.approx(0.3511, abs=1e-3)
    lo, hi = wilson_interval(5, 5) or (0, 0)
    assert hi == pytest.approx(1.0)
    assert lo == pytest.approx(0.6489, abs=1e-3)
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


def _o(
    tier: str, hit: bool | None, pnl: float | None, status: str = "settled", ratio: float = 2.0
) -> Outcome:
    realised = 2.0 if hit else 8.0
    return Outcome(tier, "SELL", status, 5.0, realised, hit, pnl, ratio)


def test_group_stats_count_settled_only_and_calibrate_on_absolute_moves() -> None:
    g = group_stats(
        [_o("good", True, 100.0), _o("good", False, -300.0), _o("good", None, None, "open")]
    )
    assert (g.n, g.hits, g.hit_rate) == (2, 1, 0.5)
    assert g.mean_pnl == pytest.approx(-100.0)
    assert g.median_pnl == pytest.approx(-100.0)
    assert g.calibration == pytest.approx((2 / 5 + 8 / 5) / 2)
    empty = group_stats([])
    assert empty.n == 0
    assert empty.hit_rate is None
    assert empty.mean_pnl is None


def test_summary_groups_by_tier_and_recommendation_and_counts_statuses() -> None:
    s = summarize(
        [
            _o("good", True, 10.0),
            _o("excellent", True, 20.0),
            _o("good", None, None, "open"),
            _o("skip", None, None, "void"),
        ]
    )
    assert (s.n_settled, s.n_open, s.n_void) == (2, 1, 1)
    assert set(s.by_tier) == {"good", "excellent"}
    assert s.by_recommendation["SELL"].n == 2


def test_threshold_sweep_selects_at_or_above_each_cut() -> None:
    rows = [_o("good", True, 100.0, ratio=1.0), _o("good", False, -50.0, ratio=2.0)]
    sweep = threshold_sweep(rows)
    assert [p.cut for p in sweep] == list(SWEEP_CUTS)
    assert SWEEP_CUTS[0] == 1.0
    assert SWEEP_CUTS[-1] == 2.5
    assert len(SWEEP_CUTS) == 16
    assert (sweep[0].n, sweep[0].hit_rate, sweep[0].mean_pnl) == (2, 0.5, 25.0)
    at_two = next(p for p in sweep if p.cut == 2.0)
    assert (at_two.n, at_two.hit_rate) == (1, 0.0)
    assert sweep[-1].n == 0
    assert sweep[-1].hit_rate is None


def _move(i: int, close: float) -> EarningsMove:
    day = dt.date(2020, 1, 1) + dt.timedelta(days=91 * i)
    ev = EarningsEvent("X", day, Timing.AMC)
    return EarningsMove(ev, Timing.AMC, False, day, day, 100.0, close, close, 0.0, close, None)


def test_walk_forward_predicts_each_event_from_the_ones_before() -> None:
    moves = [_move(i, 0.04 if i % 2 else -0.04) for i in range(6)] + [_move(6, 0.12)]
    pts = walk_forward(moves)
    assert len(pts) == 3  # events 4, 5, 6 have >= 4 before them
    assert pts[0].predicted_pct == pytest.approx(4.0)
    assert pts[-1].actual_pct == pytest.approx(12.0)
    stats = backtest_stats(pts, len(moves))
    assert stats.n_predicted == 3
    assert stats.ratio_mean == pytest.approx((1 + 1 + 3) / 3)
    assert stats.beyond_2x == pytest.approx(1 / 3)
    assert stats.misses == 1
    empty = backtest_stats([], 2)
    assert empty.n_predicted == 0
    assert empty.ratio_mean is None


def test_walk_forward_uses_at_most_twelve_prior_events() -> None:
    moves = [_move(i, 0.10) for i in range(3)] + [_move(i, 0.02) for i in range(3, 20)]
    last = walk_forward(moves)[-1]
    assert last.predicted_pct == pytest.approx(2.0)  # the three 10 % moves fell out of the window
