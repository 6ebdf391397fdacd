"""Black–Scholes–Merton prices and Greeks against textbook values and no-arbitrage identities."""

# ruff: noqa: N803  (S, K, T are the conventional option-pricing symbols)

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.bsm import bsm_greeks, bsm_price, bsm_vega, norm_cdf, norm_cdf_array


def _f(x: object) -> float:
    return float(np.asarray(x))


# --- textbook reference values ---------------------------------------------------------------


def test_hull_example_15_6_call_and_put() -> None:
    # Hull, Options, Futures, and Other Derivatives (9th ed.), Example 15.6:
    # S0 = 42, K = 40, r = 10 %, sigma = 20 %, T = 0.5  ->  c = 4.76, p = 0.81.
    assert _f(bsm_price(42, 40, 0.5, 0.2, True, 0.10)) == pytest.approx(4.76, abs=0.005)
    assert _f(bsm_price(42, 40, 0.5, 0.2, False, 0.10)) == pytest.approx(0.81, abs=0.005)


def test_haug_black_scholes_1973_call() -> None:
    # Haug, The Complete Guide to Option Pricing Formulas (2nd ed.), §1.1.1 example:
    # S = 60, X = 65, T = 0.25, r = 8 %, sigma = 30 %  ->  c = 2.1334.
    assert _f(bsm_price(60, 65, 0.25, 0.30, True, 0.08)) == pytest.approx(2.1334, abs=5e-5)


def test_haug_merton_1973_put_with_dividend_yield() -> None:
    # Haug (2nd ed.), §1.1.3 Merton (1973) example: S = 100, X = 95, T = 0.5, r = 10 %,
    # q = 5 %, sigma = 20 %  ->  p = 2.4648.
    assert _f(bsm_price(100, 95, 0.5, 0.20, False, 0.10, 0.05)) == pytest.approx(2.4648, abs=5e-5)


def test_hull_greeks_running_example() -> None:
    # Hull, OFOD (9th ed.), ch. 19 "The Greek Letters": a call with S0 = 49, K = 50, r = 5 %,
    # sigma = 20 %, T = 20 weeks = 0.3846: BSM price about 2.40 ($240,000 for 100,000 options),
    # delta 0.522, gamma 0.066, vega 12.1 (per 100 % of vol, i.e. 0.121 per vol point),
    # theta -4.31 per year (-0.0118 per calendar day), rho 8.91 (per 100 %: 0.0891 per 1 %).
    S, K, T, sigma, r = 49.0, 50.0, 0.3846, 0.20, 0.05
    assert _f(bsm_price(S, K, T, sigma, True, r)) == pytest.approx(2.40, abs=0.005)
    g = bsm_greeks(S, K, T, sigma, True, r)
    assert _f(g.delta) == pytest.approx(0.522, abs=5e-4)
    assert _f(g.gamma) == pytest.approx(0.066, abs=5e-4)
    assert _f(g.vega) == pytest.approx(0.121, abs=5e-4)
    assert _f(g.theta) == pytest.approx(-4.31 / 365, abs=0.005 / 365)
    assert _f(g.rho) == pytest.approx(0.0891, abs=5e-5)


# --- hand-checkable values -----------------------------------------------------------------


def test_atm_forward_call_equals_put_and_matches_closed_form() -> None:
    # r = q = 0, S = K: d1 = sigma*sqrt(T)/2, c = p = S*(2*N(sigma*sqrt(T)/2) - 1).
    # sigma*sqrt(T) = 0.4 -> N(0.2) = 0.579259709439103 -> c = 100 * 0.158519418878206.
    c = _f(bsm_price(100, 100, 1.0, 0.4, True))
    p = _f(bsm_price(100, 100, 1.0, 0.4, False))
    assert c == pytest.approx(15.8519418878206, abs=1e-9)
    assert p == pytest.approx(c, abs=1e-12)


def test_greeks_agree_with_finite_differences() -> None:
    S, K, T, sigma, r, q = 103.0, 100.0, 0.2, 0.35, 0.04, 0.01
    for call in (True, False):
        g = bsm_greeks(S, K, T, sigma, call, r, q)

        def px(
            s: float = S, t: float = T, v: float = sigma, rr: float = r, c: bool = call
        ) -> float:
            return _f(bsm_price(s, K, t, v, c, rr, q))

        h = 1e-4
        assert _f(g.delta) == pytest.approx((px(s=S + h) - px(s=S - h)) / (2 * h), abs=1e-7)
        d_up = _f(bsm_greeks(S + h, K, T, sigma, call, r, q).delta)
        d_dn = _f(bsm_greeks(S - h, K, T, sigma, call, r, q).delta)
        assert _f(g.gamma) == pytest.approx((d_up - d_dn) / (2 * h), abs=1e-6)
        # vega per vol point = price change for sigma + 0.01 (to first order)
        assert _f(g.vega) == pytest.approx((px(v=sigma + h) - px(v=sigma - h)) / (2 * h) / 100)
        # theta per calendar day = -(dV/dT) / 365
        assert _f(g.theta) == pytest.approx(-(px(t=T + h) - px(t=T - h)) / (2 * h) / 365)
        # rho per 1 % of r
        assert _f(g.rho) == pytest.approx((px(rr=r + h) - px(rr=r - h)) / (2 * h) / 100)


def test_vectorised_broadcasting() -> None:
    out = bsm_price(100.0, np.array([90.0, 100.0, 110.0]), 0.5, 0.3, np.array([True, False, True]))
    assert out.shape == (3,)
    assert out[0] == pytest.approx(_f(bsm_price(100, 90, 0.5, 0.3, True)))
    assert out[1] == pytest.approx(_f(bsm_price(100, 100, 0.5, 0.3, False)))


@pytest.mark.parametrize(
    ("S", "K", "T", "sigma"),
    [
        (0.0, 100, 0.5, 0.3),
        (-5.0, 100, 0.5, 0.3),
        (100, 0.0, 0.5, 0.3),
        (100, 100, 0.0, 0.3),
        (100, 100, -1.0, 0.3),
        (100, 100, 0.5, 0.0),
        (100, 100, 0.5, -0.2),
        (math.nan, 100, 0.5, 0.3),
        (100, 100, math.inf, 0.3),
    ],
)
def test_degenerate_inputs_give_nan(S: float, K: float, T: float, sigma: float) -> None:
    # No numpy RuntimeWarning may escape either (the suite turns them into errors): the
    # result is NaN, never a number.
    call_px = _f(bsm_price(S, K, T, sigma, True, 0.05))
    put_px = _f(bsm_price(S, K, T, sigma, False, 0.05))
    g = bsm_greeks(S, K, T, sigma, True, 0.05)
    assert math.isnan(call_px)
    assert math.isnan(put_px)
    assert all(math.isnan(_f(a)) for a in (g.delta, g.gamma, g.vega, g.theta, g.rho))


def test_price_of_finite_degenerate_inputs_is_nan_without_warnings() -> None:
    # Under filterwarnings=error a numpy RuntimeWarning here would raise.
    out = bsm_price(
        [0.0, -5.0, 100, 100, 100, math.nan],
        [100, 100, 0.0, 100, 100, 100],
        [0.5, 0.5, 0.5, 0.0, -1.0, 0.5],
        0.3,
        True,
        0.05,
    )
    assert np.isnan(out).all()


# --- properties ----------------------------------------------------------------------------

prices = st.floats(min_value=1.0, max_value=1000.0)
moneyness = st.floats(min_value=0.5, max_value=2.0)
times = st.floats(min_value=1 / 365, max_value=3.0)
vols = st.floats(min_value=0.01, max_value=3.0)
rates = st.floats(min_value=0.0, max_value=0.10)
yields = st.floats(min_value=0.0, max_value=0.06)


@settings(max_examples=200, deadline=None)
@given(S=prices, m=moneyness, T=times, sigma=vols, r=rates, q=yields)
def test_put_call_parity(S: float, m: float, T: float, sigma: float, r: float, q: float) -> None:
    K = S * m
    c = _f(bsm_price(S, K, T, sigma, True, r, q))
    p = _f(bsm_price(S, K, T, sigma, False, r, q))
    assert c - p == pytest.approx(S * math.exp(-q * T) - K * math.exp(-r * T), abs=1e-9 * (S + K))


@settings(max_examples=200, deadline=None)
@given(
    S=prices,
    m=moneyness,
    T=times,
    v1=vols,
    dv=st.floats(min_value=0.001, max_value=1.0),
    call=st.booleans(),
    r=rates,
)
def test_price_increases_with_volatility(
    S: float, m: float, T: float, v1: float, dv: float, call: bool, r: float
) -> None:
    K = S * m
    low = _f(bsm_price(S, K, T, v1, call, r))
    high = _f(bsm_price(S, K, T, v1 + dv, call, r))
    # Non-decreasing; deep in the money both prices are intrinsic up to float rounding.
    assert high >= low - 1e-12 * max(S, K)
    assert _f(bsm_greeks(S, K, T, v1, call, r).vega) >= 0


@settings(max_examples=200, deadline=None)
@given(S=prices, m=moneyness, T=times, sigma=vols, r=rates, q=yields, call=st.booleans())
def test_price_within_no_arbitrage_bounds(
    S: float, m: float, T: float, sigma: float, r: float, q: float, call: bool
) -> None:
    K = S * m
    fwd_s, pv_k = S * math.exp(-q * T), K * math.exp(-r * T)
    px = _f(bsm_price(S, K, T, sigma, call, r, q))
    intrinsic = max(fwd_s - pv_k, 0.0) if call else max(pv_k - fwd_s, 0.0)
    upper = fwd_s if call else pv_k
    tol = 1e-9 * (S + K)
    assert intrinsic - tol <= px <= upper + tol


# --- the normal CDF and the solver's vega ------------------------------------------------------


def test_normal_cdf_reference_values_and_tails() -> None:
    # High-precision reference values of Φ (to 16 digits).
    assert norm_cdf(0.0) == 0.5
    assert norm_cdf(1.0) == pytest.approx(0.8413447460685429, rel=1e-15)
    assert norm_cdf(-1.96) == pytest.approx(0.024997895148220435, rel=1e-14)
    # Φ(−10) ≈ 7.6e-24: relative precision in the lower tail, where 1 − Φ(10) would be 0.
    assert norm_cdf(-10.0) == pytest.approx(7.619853024160527e-24, rel=1e-13)
    assert norm_cdf(math.inf) == 1.0
    assert norm_cdf(-math.inf) == 0.0
    assert math.isnan(norm_cdf(math.nan))


def test_normal_cdf_array_keeps_the_shape_and_matches_the_scalar() -> None:
    x = np.array([[-40.0, -3.0, 0.0], [0.5, 8.0, np.nan]])
    out = norm_cdf_array(x)
    assert out.shape == x.shape
    assert out.dtype == np.float64
    flat = out.ravel()
    for got, xi in zip(flat[:-1], x.ravel()[:-1], strict=True):
        assert got == norm_cdf(float(xi))
    assert math.isnan(flat[-1])
    assert norm_cdf_array(np.empty((0, 2))).shape == (0, 2)


@settings(max_examples=200, deadline=None)
@given(S=prices, m=moneyness, T=times, sigma=vols, r=rates, q=yields, call=st.booleans())
def test_vega_alone_equals_the_greeks_vega(
    S: float, m: float, T: float, sigma: float, r: float, q: float, call: bool
) -> None:
    K = S * m
    full = _f(bsm_greeks(S, K, T, sigma, call, r, q).vega)
    assert _f(bsm_vega(S, K, T, sigma, r, q)) == pytest.approx(full, rel=1e-12, abs=1e-300)


def test_vega_alone_is_nan_for_degenerate_inputs() -> None:
    out = bsm_vega(100.0, np.array([100.0, 100.0, -1.0]), np.array([0.5, 0.0, 0.5]), 0.3)
    assert np.isfinite(out[0])
    assert out[0] > 0
    assert np.isnan(out[1:]).all()
