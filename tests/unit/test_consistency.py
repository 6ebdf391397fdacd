"""Consistency and tail risk (METHODS.md §6). Every expected value is worked out in a comment."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.consistency import ConsistencyStats, TrrLevel, consistency
from ivcrush_tui.analytics.history import EarningsMove
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.domain import EarningsEvent, Timing, Unavailable

PARAMS = AnalysisParams()


def make_moves(closes: list[float]) -> list[EarningsMove]:
    """Moves with the given signed close fractions, most recent first, one quarter apart."""
    out = []
    for i, c in enumerate(closes):
        day = dt.date(2025, 10, 28) - dt.timedelta(days=91 * i)
        event = EarningsEvent("TEST", day, Timing.AMC)
        out.append(
            EarningsMove(event, Timing.AMC, False, day, day + dt.timedelta(days=1), 50.0,
                         c / 2, c, abs(c), c, 1.0)
        )  # fmt: skip
    return out


def stats(
    closes: list[float], implied: float | None = 10.0, vrp: float | None = 2.0
) -> ConsistencyStats:
    out = consistency(make_moves(closes), implied, vrp, PARAMS)
    assert isinstance(out, ConsistencyStats), out
    return out


def test_worked_example() -> None:
    # Most recent first: +5 %, −3 %, +4 %, −8 % -> |x| = 5, 3, 4, 8.
    s = stats([0.05, -0.03, 0.04, -0.08], implied=10.0, vrp=2.0)
    # weights 1, 0.85, 0.7225, 0.614125 (Σ 3.186625);
    # Σ w·x = 5 + 2.55 + 2.89 + 4.913 = 15.353 -> 15.353 / 3.186625 = 4.81794...
    assert s.recency_weighted_mean_pct == pytest.approx(15.353 / 3.186625)
    # sorted 3, 4, 5, 8 -> median 4.5; |x − 4.5| = 0.5, 1.5, 0.5, 3.5 -> MAD 1.0; dispersion 1/4.5.
    assert s.median_abs_pct == pytest.approx(4.5)
    assert s.mad_pct == pytest.approx(1.0)
    assert s.dispersion == pytest.approx(1 / 4.5)
    # edge = 2.0 / (1 + 0.2222) = 1.63636...
    assert s.edge_score == pytest.approx(2.0 / (1 + 1 / 4.5))
    # Oldest first y = 8, 4, 3, 5 at t = 0..3: t − 1.5 = −1.5, −.5, .5, 1.5; y − 5 = 3, −1, −2, 0;
    # slope = (−4.5 + 0.5 − 1 + 0) / 5 = −1.0 pp per quarter.
    assert s.trend_pp_per_qtr == pytest.approx(-1.0)
    assert s.trend_rising is False
    # TRR = 8 / 5 = 1.6 -> normal (1.5 .. 2.5).
    assert s.trr == pytest.approx(1.6)
    assert s.trr_level is TrrLevel.NORMAL
    assert s.trr_level.value == "normal"
    assert isinstance(s.trr_level, str)  # callers may compare with the plain string
    # P90 by linear interpolation: position 0.9·(4 − 1) = 2.7 -> 5 + 0.7·(8 − 5) = 7.1;
    # 7.1 / 10 = 0.71 -> not elevated.
    assert s.p90_abs_pct == pytest.approx(7.1)
    assert s.p90_ratio == pytest.approx(0.71)
    assert s.p90_elevated is False


def test_rising_trend() -> None:
    # Oldest first 2, 3, 4, 5 % -> slope +1.0 pp/quarter > 0.5 -> rising.
    s = stats([0.05, -0.04, 0.03, -0.02])
    assert s.trend_pp_per_qtr == pytest.approx(1.0)
    assert s.trend_rising is True


def test_slope_below_threshold_is_not_rising() -> None:
    # Oldest first 4.0, 4.4, 4.8 % -> slope 0.4 pp/quarter <= 0.5.
    s = stats([0.048, 0.044, 0.040])
    assert s.trend_pp_per_qtr == pytest.approx(0.4)
    assert s.trend_rising is False


def test_trend_needs_three_points() -> None:
    s = stats([0.05, 0.02])
    assert s.trend_pp_per_qtr is None
    assert s.trend_rising is None


def test_tail_levels() -> None:
    # 10, 1, 1, 1, 1: mean 14/5 = 2.8, TRR 10/2.8 = 3.57 > 2.5 -> high.
    high = stats([0.10, 0.01, 0.01, 0.01, 0.01])
    assert high.trr == pytest.approx(10 / 2.8)
    assert high.trr_level is TrrLevel.HIGH
    # 4, 5, 4, 5: mean 4.5, TRR 5/4.5 = 1.11 < 1.5 -> low.
    low = stats([0.04, 0.05, 0.04, 0.05])
    assert low.trr_level is TrrLevel.LOW


def test_p90_elevated_against_a_small_implied_move() -> None:
    # P90 7.1 % (worked example) vs implied 6 %: 1.183 > 1.15 -> elevated.
    s = stats([0.05, -0.03, 0.04, -0.08], implied=6.0)
    assert s.p90_ratio == pytest.approx(7.1 / 6.0)
    assert s.p90_elevated is True


def test_missing_implied_or_vrp() -> None:
    s = stats([0.05, -0.03, 0.04], implied=None, vrp=None)
    assert (s.p90_ratio, s.p90_elevated, s.edge_score) == (None, None, None)
    s = stats([0.05, -0.03, 0.04], implied=0.0, vrp=math.nan)
    assert (s.p90_ratio, s.p90_elevated, s.edge_score) == (None, None, None)


def test_zero_median_gives_no_dispersion() -> None:
    # 0, 0, 0, 4: median 0 -> dispersion (MAD/median) undefined -> None, and so the edge score.
    s = stats([0.0, 0.0, 0.0, 0.04])
    assert s.median_abs_pct == 0.0
    assert s.dispersion is None
    assert s.edge_score is None


def test_recency_weights_favour_recent_events() -> None:
    # 10 % most recent then three 2 %: (10 + 0.85·2 + 0.7225·2 + 0.614125·2)/3.186625 = 4.4096...
    s = stats([0.10, 0.02, 0.02, 0.02])
    assert s.recency_weighted_mean_pct == pytest.approx(14.37325 / 3.186625)
    # Input order does not matter: moves are ordered by date.
    again = consistency(list(reversed(make_moves([0.10, 0.02, 0.02, 0.02]))), 10.0, 2.0, PARAMS)
    assert again == s


def test_uses_only_max_events() -> None:
    # 12 moves of 4 % then an older 40 %: ignored, so TRR 1.0 (low) and median 4.
    s = stats([0.04] * 12 + [0.40])
    assert s.trr == pytest.approx(1.0)
    assert s.median_abs_pct == pytest.approx(4.0)


def test_unavailable() -> None:
    assert isinstance(consistency([], 10.0, 2.0, PARAMS), Unavailable)
    assert isinstance(consistency(make_moves([0.0, 0.0]), 10.0, 2.0, PARAMS), Unavailable)
    bad = dataclasses.replace(PARAMS, recency_decay=-0.5)
    assert isinstance(consistency(make_moves([0.04]), 10.0, 2.0, bad), Unavailable)


_any = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_any, max_size=14),
    st.one_of(st.none(), _any),
    st.one_of(st.none(), _any),
)
def test_never_nan(closes: list[float], implied: float | None, vrp: float | None) -> None:
    out = consistency(make_moves(closes), implied, vrp, PARAMS)
    if isinstance(out, Unavailable):
        assert out.reason
        return
    for f in dataclasses.fields(out):
        value = getattr(out, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), f.name
    assert out.mad_pct >= 0
    assert out.trr >= 1.0 - 1e-12  # max >= mean
