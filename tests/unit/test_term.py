"""ATM IV per expiration and the term structure (METHODS.md §9)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.term import TermPoint, TermStructure, atm_iv, term_structure
from ivcrush_tui.domain import Unavailable

PARAMS = AnalysisParams()
D0 = dt.date(2026, 6, 1)


def _pt(dte: float, iv: float) -> TermPoint:
    return TermPoint(expiration=D0 + dt.timedelta(days=round(dte)), dte=dte, atm_iv=iv)


# --- atm_iv ---------------------------------------------------------------------------------------


def test_atm_iv_interpolates_the_call_put_mean_at_spot() -> None:
    # K=95: (0.30+0.34)/2 = 0.32; K=100: (0.28+0.30)/2 = 0.29. Spot 98: w = 3/5.
    res = atm_iv([95.0, 100.0], [0.30, 0.28], [0.34, 0.30], 98.0)
    assert res == pytest.approx(0.32 + 0.6 * (0.29 - 0.32))


def test_atm_iv_uses_one_side_when_the_other_is_missing() -> None:
    # K=95 has only a put (0.34); K=100 only a call (0.28). Spot 97.5: halfway.
    res = atm_iv([95.0, 100.0], [None, 0.28], [0.34, math.nan], 97.5)
    assert res == pytest.approx(0.31)


def test_atm_iv_skips_strikes_without_any_value() -> None:
    # K=100 has nothing: spot 100 interpolates between 95 (0.30) and 105 (0.40).
    res = atm_iv([95.0, 100.0, 105.0], [0.30, None, 0.40], [None, 0.0, None], 100.0)
    assert res == pytest.approx(0.35)


def test_atm_iv_at_a_strike_and_outside_the_strikes() -> None:
    strikes = [100.0, 90.0, 110.0]  # unsorted on purpose
    calls: list[float | None] = [0.25, 0.30, 0.22]
    puts: list[float | None] = [0.27, 0.32, 0.24]
    assert atm_iv(strikes, calls, puts, 100.0) == pytest.approx(0.26)
    assert atm_iv(strikes, calls, puts, 80.0) == pytest.approx(0.31)  # nearest: 90
    assert atm_iv(strikes, calls, puts, 130.0) == pytest.approx(0.23)  # nearest: 110


def test_atm_iv_unavailable_cases() -> None:
    assert isinstance(atm_iv([100.0], [None], [None], 100.0), Unavailable)
    assert isinstance(atm_iv([], [], [], 100.0), Unavailable)
    assert isinstance(atm_iv([100.0], [0.3], [0.3], 0.0), Unavailable)
    assert isinstance(atm_iv([100.0], [0.3], [0.3, 0.3], 100.0), Unavailable)


# --- term_structure ------------------------------------------------------------------------------


def test_slope_and_iv30_hand_computed() -> None:
    pts = [_pt(7, 0.60), _pt(21, 0.40), _pt(49, 0.30), _pt(80, 0.28)]
    ts = term_structure(pts, front=pts[0].expiration, back=pts[1].expiration, params=PARAMS)
    # Curve on 7, 21, 49 (49 is the first >= 45). IV(45) = 0.40 + (45-21)/(49-21)·(0.30-0.40)
    iv45 = 0.40 + 24 / 28 * (0.30 - 0.40)  # 0.3142857...
    # In vol points per day (METHODS §9): 100·(0.3142857 − 0.60)/38 = −0.751880 vol pts/day.
    assert ts.ts_slope_0_45 == pytest.approx(100 * (iv45 - 0.60) / (45 - 7))
    assert ts.ts_slope_0_45 == pytest.approx(-0.751880, abs=1e-6)
    assert ts.iv30 == pytest.approx(0.40 + 9 / 28 * (0.30 - 0.40))  # 0.3678571
    assert len(ts.points) == 4


def test_points_after_the_first_beyond_45_days_do_not_matter() -> None:
    base = [_pt(7, 0.60), _pt(21, 0.40), _pt(49, 0.30)]
    a = term_structure([*base, _pt(80, 0.28)], front=None, back=None, params=PARAMS)
    b = term_structure([*base, _pt(80, 0.90)], front=None, back=None, params=PARAMS)
    assert a.ts_slope_0_45 == b.ts_slope_0_45
    assert a.iv30 == b.iv30


def test_flat_extrapolation_beyond_the_last_expiration() -> None:
    pts = [_pt(20, 0.35), _pt(5, 0.55)]  # unsorted on purpose; nothing reaches 45 days
    ts = term_structure(pts, front=None, back=None, params=PARAMS)
    # IV(45) = IV(20) = 0.35 (flat), so slope = (0.35 - 0.55)/(45 - 5); iv30 = 0.35.
    assert ts.ts_slope_0_45 == pytest.approx(100 * -0.20 / 40)  # −0.5 vol pts/day
    assert ts.iv30 == pytest.approx(0.35)
    assert [p.dte for p in ts.points] == [5, 20]


def test_flat_extrapolation_before_the_first_expiration() -> None:
    ts = term_structure([_pt(35, 0.30), _pt(60, 0.26)], front=None, back=None, params=PARAMS)
    assert ts.iv30 == pytest.approx(0.30)  # 30 days is before the first expiration
    assert ts.ts_slope_0_45 == pytest.approx(
        100 * (0.30 + 10 / 25 * (0.26 - 0.30) - 0.30) / (45 - 35)
    )


def test_slope_none_with_one_point_or_nearest_beyond_45() -> None:
    one = term_structure([_pt(10, 0.5)], front=None, back=None, params=PARAMS)
    assert one.ts_slope_0_45 is None
    assert one.iv30 == pytest.approx(0.5)
    far = term_structure([_pt(50, 0.3), _pt(90, 0.28)], front=None, back=None, params=PARAMS)
    assert far.ts_slope_0_45 is None
    assert far.iv30 == pytest.approx(0.3)
    empty = term_structure([], front=None, back=None, params=PARAMS)
    assert empty == TermStructure((), None, None, None, None, None, False)


def test_invalid_points_are_dropped() -> None:
    pts = [_pt(7, 0.60), _pt(21, 0.40), TermPoint(D0, 0.0, 0.5), _pt(30, math.nan), _pt(49, 0.3)]
    ts = term_structure(pts, front=None, back=None, params=PARAMS)
    assert [p.dte for p in ts.points] == [7, 21, 49]


def test_front_back_ratio_and_event_premium() -> None:
    front, back = _pt(3, 0.82), _pt(10, 0.41)
    ts = term_structure([front, back], front=front.expiration, back=back.expiration, params=PARAMS)
    assert ts.front_iv == pytest.approx(0.82)
    assert ts.back_iv == pytest.approx(0.41)
    assert ts.front_back_ratio == pytest.approx(2.0)
    assert ts.event_premium is True

    f2, b2 = _pt(3, 0.405), _pt(10, 0.40)  # ratio 1.0125 < 1.02
    ts2 = term_structure([f2, b2], front=f2.expiration, back=b2.expiration, params=PARAMS)
    assert ts2.front_back_ratio == pytest.approx(1.0125)
    assert ts2.event_premium is False

    missing = term_structure([front], front=front.expiration, back=back.expiration, params=PARAMS)
    assert missing.back_iv is None
    assert missing.front_back_ratio is None
    assert missing.event_premium is False


def test_expiration_expiring_today_is_left_out_of_the_slope_and_iv30() -> None:
    # A 0.2-day expiration at 150 % (today, its last hours) would dominate the curve.
    today = D0
    pts = [
        TermPoint(today, 0.2, 1.50),
        _pt(7, 0.60),
        _pt(21, 0.40),
        _pt(49, 0.30),
    ]
    with_today = term_structure(pts, front=None, back=None, params=PARAMS, today=today)
    without = term_structure(pts[1:], front=None, back=None, params=PARAMS)
    assert with_today.ts_slope_0_45 == pytest.approx(without.ts_slope_0_45)
    assert with_today.ts_slope_0_45 == pytest.approx(-0.751880, abs=1e-6)
    assert with_today.iv30 == pytest.approx(without.iv30)
    # Not told what today is, the point is used and the slope is very different.
    blind = term_structure(pts, front=None, back=None, params=PARAMS)
    assert blind.ts_slope_0_45 == pytest.approx(100 * (0.3142857142857 - 1.50) / (45 - 0.2))
    # It is still a point for the chart.
    assert len(with_today.points) == 4
