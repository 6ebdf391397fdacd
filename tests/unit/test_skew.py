"""Skew fit of one expiration (METHODS.md §8)."""

from __future__ import annotations

import math

import pytest

from ivcrush_tui.analytics.bsm import bsm_greeks
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.analytics.skew import SkewFit, SkewShape, classify_shape, skew_fit
from ivcrush_tui.domain import Unavailable

PARAMS = AnalysisParams()
SPOT = 100.0
T = 30 / 365
R = 0.04


def _chain(
    a: float,
    b: float,
    c: float,
    *,
    spot: float = SPOT,
    t: float = T,
    r: float = R,
    q: float = 0.0,
    strikes: list[float] | None = None,
) -> tuple[list[float], list[float | None], list[bool]]:
    """Both legs at every strike, each with IV = a + b·k + c·k² at its own k = ln(K/F)."""
    F = spot * math.exp((r - q) * t)
    ks = strikes if strikes is not None else [80.0 + 2.5 * i for i in range(17)]  # 80..120
    out_k: list[float] = []
    out_iv: list[float | None] = []
    out_call: list[bool] = []
    for K in ks:
        x = math.log(K / F)
        for is_call in (True, False):
            out_k.append(K)
            out_iv.append(a + b * x + c * x * x)
            out_call.append(is_call)
    return out_k, out_iv, out_call


def _fit(
    a: float,
    b: float,
    c: float,
    *,
    t: float = T,
    r: float = R,
    q: float = 0.0,
    strikes: list[float] | None = None,
) -> SkewFit:
    chain = _chain(a, b, c, t=t, r=r, q=q, strikes=strikes)
    res = skew_fit(*chain, spot=SPOT, T=t, r=r, q=q, params=PARAMS)
    assert isinstance(res, SkewFit), res
    return res


def test_exact_quadratic_is_recovered_with_r_squared_one() -> None:
    fit = _fit(0.35, -0.40, 1.20)
    a, b, c = fit.coefficients
    assert a == pytest.approx(0.35, abs=1e-12)
    assert b == pytest.approx(-0.40, abs=1e-11)
    assert c == pytest.approx(1.20, abs=1e-10)
    assert fit.atm_iv == pytest.approx(0.35, abs=1e-12)
    assert fit.slope == pytest.approx(-0.40, abs=1e-11)
    assert fit.curvature == pytest.approx(2.40, abs=1e-10)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    assert fit.forward == pytest.approx(SPOT * math.exp(R * T))
    # 80..120 are all within |k| <= 0.25 and each strike contributes exactly one (OTM) leg.
    assert fit.n_points == 17
    assert [k for k, _ in fit.points] == sorted(k for k, _ in fit.points)


def test_noisy_points_give_r_squared_below_one() -> None:
    strikes, ivs, calls = _chain(0.30, -0.2, 0.8)
    noisy = [v + (0.01 if i % 4 == 0 else -0.004) for i, v in enumerate(ivs) if v is not None]
    res = skew_fit(strikes, noisy, calls, spot=SPOT, T=T, r=R, params=PARAMS)
    assert isinstance(res, SkewFit)
    assert res.r_squared is not None
    assert 0.0 < res.r_squared < 1.0


def test_itm_legs_are_excluded() -> None:
    strikes, ivs, calls = _chain(0.30, -0.3, 1.0)
    F = SPOT * math.exp(R * T)
    # Poison every in-the-money leg (calls below F, puts at or above F): the fit must not move.
    poisoned = [
        5.0 if (is_call and K < F) or (not is_call and K >= F) else iv
        for K, iv, is_call in zip(strikes, ivs, calls, strict=True)
    ]
    res = skew_fit(strikes, poisoned, calls, spot=SPOT, T=T, r=R, params=PARAMS)
    assert isinstance(res, SkewFit)
    assert res.coefficients[0] == pytest.approx(0.30, abs=1e-12)
    assert res.r_squared == pytest.approx(1.0, abs=1e-12)
    assert all(iv < 1.0 for _, iv in res.points)


def test_strike_at_forward_uses_the_call() -> None:
    F = SPOT * math.exp(R * T)
    strikes = [F * math.exp(x) for x in (-0.2, -0.1, 0.0, 0.1, 0.2)]
    ivs: list[float | None] = [0.4, 0.35, 0.30, 0.32, 0.36]
    # At K = F the put is ITM by convention (K >= F is call territory): only the call counts.
    res = skew_fit(
        [*strikes, F], [*ivs, 9.0], [False, False, True, True, True, False],
        spot=SPOT, T=T, r=R, params=PARAMS,
    )  # fmt: skip
    assert isinstance(res, SkewFit)
    assert res.n_points == 5
    assert max(iv for _, iv in res.points) == pytest.approx(0.4)


def test_points_beyond_max_log_moneyness_are_dropped() -> None:
    strikes, ivs, calls = _chain(
        0.3, 0.0, 1.0, strikes=[60.0, 70.0, 90.0, 95.0, 100.0, 105.0, 140.0]
    )
    res = skew_fit(strikes, ivs, calls, spot=SPOT, T=T, r=R, params=PARAMS)
    # ln(60/F), ln(70/F) and ln(140/F) are beyond 0.25 in size: 4 points remain, fewer than 5.
    assert isinstance(res, Unavailable)
    assert "only 4 OTM points" in res.reason


def test_too_few_points_is_unavailable() -> None:
    res = skew_fit(
        [90.0, 95.0, 105.0, 110.0], [0.4, 0.35, 0.3, 0.31], [False, False, True, True],
        spot=SPOT, T=T, r=R, params=PARAMS,
    )  # fmt: skip
    assert isinstance(res, Unavailable)
    assert res.reason.startswith("n/a: only 4 OTM points")


def test_missing_ivs_are_skipped_not_zero() -> None:
    strikes, ivs, calls = _chain(0.3, -0.2, 0.5)
    holes: list[float | None] = list(ivs)
    holes[0] = None
    holes[3] = math.nan
    holes[5] = 0.0
    res = skew_fit(strikes, holes, calls, spot=SPOT, T=T, r=R, params=PARAMS)
    assert isinstance(res, SkewFit)
    assert res.r_squared == pytest.approx(1.0, abs=1e-12)
    assert all(iv > 0 for _, iv in res.points)


def test_bad_inputs_are_unavailable() -> None:
    assert isinstance(
        skew_fit([100.0], [0.3, 0.3], [True], spot=SPOT, T=T, r=R, params=PARAMS), Unavailable
    )
    strikes, ivs, calls = _chain(0.3, 0.0, 0.5)
    for spot, t in ((0.0, T), (math.nan, T), (SPOT, 0.0), (SPOT, -1.0)):
        assert isinstance(
            skew_fit(strikes, ivs, calls, spot=spot, T=t, r=R, params=PARAMS), Unavailable
        )


@pytest.mark.parametrize(
    ("r", "q", "t"), [(0.04, 0.0, 30 / 365), (0.05, 0.02, 0.5), (0.0, 0.0, 7 / 365)]
)
def test_25_delta_strikes_have_25_delta_on_the_fitted_curve(r: float, q: float, t: float) -> None:
    fit = _fit(0.45, -0.5, 1.5, r=r, q=q, t=t)
    assert fit.k_call25 is not None
    assert fit.k_put25 is not None
    a, b, c = fit.coefficients
    for k, is_call, want in ((fit.k_call25, True, 0.25), (fit.k_put25, False, -0.25)):
        K = fit.forward * math.exp(k)
        sigma = a + b * k + c * k * k
        delta = float(bsm_greeks(SPOT, K, t, sigma, is_call, r, q).delta)
        assert delta == pytest.approx(want, abs=1e-9)
    assert fit.k_put25 < 0 < fit.k_call25


def test_rr25_bf25_and_wings_follow_their_definitions() -> None:
    fit = _fit(0.45, -0.5, 1.5)
    a, b, c = fit.coefficients
    assert fit.k_call25 is not None
    assert fit.k_put25 is not None
    s_c = a + b * fit.k_call25 + c * fit.k_call25**2
    s_p = a + b * fit.k_put25 + c * fit.k_put25**2
    assert fit.rr25 == pytest.approx(s_c - s_p, abs=1e-14)
    assert fit.bf25 == pytest.approx(0.5 * (s_c + s_p) - a, abs=1e-14)
    assert fit.put_wing == pytest.approx(s_p - a, abs=1e-14)
    assert fit.call_wing == pytest.approx(s_c - a, abs=1e-14)


def test_put_skew_has_negative_risk_reversal() -> None:
    fit = _fit(0.30, -0.6, 0.3)  # puts richer than calls: the usual equity skew
    assert fit.rr25 is not None
    assert fit.rr25 < 0
    reverse = _fit(0.30, 0.6, 0.3)
    assert reverse.rr25 is not None
    assert reverse.rr25 > 0


@pytest.mark.parametrize(
    ("b", "c", "shape"),
    [
        (0.0, 2.0, SkewShape.SMILE),
        (-0.6, 0.3, SkewShape.SMIRK),
        (0.6, 0.3, SkewShape.REVERSE),
        (0.0, -2.0, SkewShape.FROWN),
    ],
)
def test_shape_of_each_case(b: float, c: float, shape: SkewShape) -> None:
    fit = _fit(0.40, b, c)
    assert fit.shape is shape
    assert fit.put_wing is not None
    assert fit.call_wing is not None
    assert classify_shape(fit.put_wing, fit.call_wing) is shape


def test_shape_boundaries() -> None:
    assert classify_shape(0.01, 0.0) is SkewShape.SMIRK  # put > 0 >= call
    assert classify_shape(0.0, 0.01) is SkewShape.REVERSE  # call > 0 >= put
    assert classify_shape(0.0, 0.0) is SkewShape.FLAT
    assert classify_shape(-0.01, -0.02) is SkewShape.FROWN
    assert classify_shape(0.01, 0.01) is SkewShape.SMILE
    assert SkewShape.SMIRK.value == "smirk"


def test_non_positive_atm_iv_is_unavailable() -> None:
    # Positive at every quoted strike (|k| >= 0.06) but the fit's ATM value is negative.
    F = SPOT * math.exp(R * T)
    xs = [-0.2, -0.15, -0.1, -0.06, 0.06, 0.1, 0.15, 0.2]
    strikes = [F * math.exp(x) for x in xs]
    ivs: list[float | None] = [-0.01 + 4 * x * x for x in xs]
    calls = [x >= 0 for x in xs]
    res = skew_fit(strikes, ivs, calls, spot=SPOT, T=T, r=R, params=PARAMS)
    assert isinstance(res, Unavailable)
    assert "non-positive" in res.reason


def test_25_delta_unreachable_keeps_the_fit_with_a_note() -> None:
    # Flat 150 % vol over one year: the 25-delta call sits near k = 0.674·1.5 + 1.125 ≈ 2.1, beyond
    # the |k| <= 1 search, and the put's delta at the forward, −N(−0.75) ≈ −0.23, is already
    # smaller in size than 0.25.
    fit = skew_fit(*_chain(1.5, 0.0, 0.0, t=1.0), spot=SPOT, T=1.0, r=R, params=PARAMS)
    assert isinstance(fit, SkewFit)
    assert fit.atm_iv == pytest.approx(1.5, abs=1e-12)
    assert fit.rr25 is None
    assert fit.bf25 is None
    assert fit.shape is None
    assert fit.put_wing is None
    assert fit.call_wing is None
    assert fit.note is not None
    assert "25-delta call" in fit.note
    assert "25-delta put" in fit.note


def test_steep_frown_still_finds_25_delta_before_the_fit_turns_negative() -> None:
    # σ = 0.3 − 8k² reaches zero at |k| ≈ 0.19, but delta falls to 0.25 before that (σ → 0 sends
    # |delta| → 0), so the wings are found on the positive part of the curve.
    fit = _fit(0.3, 0.0, -8.0, t=1.0, strikes=[88.0, 92.0, 96.0, 100.0, 104.0, 108.0, 112.0])
    assert fit.shape is SkewShape.FROWN
    assert fit.k_call25 is not None
    assert fit.k_put25 is not None
    for k in (fit.k_call25, fit.k_put25):
        assert 0.3 - 8 * k * k > 0


# -- the ±0.5 vol point band (METHODS §8) --------------------------------------------------------


@pytest.mark.parametrize(
    ("put_wing", "call_wing", "shape"),
    [
        (0.0049, 0.0049, SkewShape.FLAT),  # both just inside: flat, not smile
        (-0.0049, -0.0049, SkewShape.FLAT),  # not frown
        (0.0049, -0.0049, SkewShape.FLAT),  # not smirk
        (0.005, -0.005, SkewShape.FLAT),  # the band is inclusive
        (0.0051, 0.0049, SkewShape.SMIRK),  # put just outside, call inside (zero)
        (0.0049, 0.0051, SkewShape.REVERSE),
        (0.0051, 0.0051, SkewShape.SMILE),
        (-0.0051, -0.0051, SkewShape.FROWN),
        (-0.0051, 0.0049, SkewShape.FROWN),  # one below, the other zero: nothing above ATM
        (0.0051, -0.0051, SkewShape.SMIRK),
    ],
)
def test_wings_within_half_a_vol_point_count_as_zero(
    put_wing: float, call_wing: float, shape: SkewShape
) -> None:
    assert classify_shape(put_wing, call_wing) is shape


def test_flat_chain_is_flat_with_r_squared_hidden() -> None:
    # A flat 30 % chain (a tiny curvature, far below quote noise) used to come out as a smile or
    # a frown with R² near 1 or 0. Wings and fitted span are well inside 0.5 vol points.
    for c in (0.0, 0.02, -0.02):
        fit = _fit(0.30, 0.0, c)
        assert fit.shape is SkewShape.FLAT, c
        assert fit.r_squared is None, c
        assert fit.put_wing is not None
        assert abs(fit.put_wing) <= 0.005


def test_r_squared_shown_once_the_fit_spans_half_a_vol_point() -> None:
    # σ(k) = 0.30 + b·k over k in about [-0.2, 0.2]: the fitted span is ~0.4·b.
    narrow = _fit(0.30, 0.01, 0.0)  # span ≈ 0.4 vol points: hidden
    wide = _fit(0.30, 0.02, 0.0)  # span ≈ 0.8 vol points: shown
    assert narrow.r_squared is None
    assert wide.r_squared == pytest.approx(1.0, abs=1e-9)
