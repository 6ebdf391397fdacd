"""Implied volatility inversion: reference values, round trips and every way to have no IV."""

# ruff: noqa: N803  (S, K, T are the conventional option-pricing symbols)

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics import ivsolve
from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.analytics.ivsolve import implied_vol, implied_vols, leg_iv
from ivcrush_tui.domain import OptionQuote, OptionType


def _px(S: float, K: float, T: float, sigma: float, call: bool, r: float, q: float = 0.0) -> float:
    return float(bsm_price(S, K, T, sigma, call, r, q))


# --- reference values ----------------------------------------------------------------------


def test_hull_implied_volatility_example() -> None:
    # Hull, OFOD (9th ed.), §15.11 "Implied volatilities": a European call on a non-dividend
    # stock worth 1.875 with S0 = 21, K = 20, r = 0.1, T = 0.25 has an implied vol of 0.235.
    iv = implied_vol(1.875, 21, 20, 0.25, True, 0.10)
    assert iv is not None
    assert iv == pytest.approx(0.235, abs=5e-4)


def test_hull_example_15_6_round_trip() -> None:
    # Hull, OFOD (9th ed.), Example 15.6: c = 4.76, p = 0.81 at sigma = 20 %
    # (S0 = 42, K = 40, r = 10 %, T = 0.5); the exact model prices invert to 0.20.
    for call in (True, False):
        iv = implied_vol(_px(42, 40, 0.5, 0.2, call, 0.10), 42, 40, 0.5, call, 0.10)
        assert iv == pytest.approx(0.2, abs=1e-9)


def test_haug_merton_put_with_dividend_yield_inverts() -> None:
    # Haug, Complete Guide (2nd ed.), §1.1.3: p = 2.4648 for S = 100, X = 95, T = 0.5,
    # r = 10 %, q = 5 %, sigma = 20 % (the book value is rounded to 4 decimals).
    iv = implied_vol(2.4648, 100, 95, 0.5, False, 0.10, 0.05)
    assert iv == pytest.approx(0.20, abs=1e-4)


def test_hand_checkable_atm_forward() -> None:
    # r = q = 0, S = K = 100, T = 1: c = 100*(2*N(sigma/2) - 1). For sigma = 0.4,
    # c = 15.8519418878206 (N(0.2) = 0.579259709439103).
    assert implied_vol(15.8519418878206, 100, 100, 1.0, True, 0.0) == pytest.approx(0.4, abs=1e-9)


# --- vectorisation and convergence ---------------------------------------------------------


def test_vectorised_mixed_calls_puts_and_invalid() -> None:
    S, T, r = 100.0, 0.25, 0.04
    K = np.array([80.0, 95.0, 100.0, 105.0, 130.0, 100.0])
    call = np.array([False, True, True, False, True, True])
    sig = np.array([0.55, 0.30, 0.25, 0.28, 0.60, 0.25])
    prices = bsm_price(S, K, T, sig, call, r)
    prices[-1] = -1.0  # one bad quote must not poison the others
    out = implied_vols(prices, S, K, T, call, r)
    assert out.shape == (6,)
    np.testing.assert_allclose(out[:-1], sig[:-1], atol=1e-9)
    assert math.isnan(out[-1])


def test_two_dimensional_broadcast() -> None:
    K = np.array([[90.0, 100.0], [110.0, 120.0]])
    prices = bsm_price(100.0, K, 0.5, 0.35, True, 0.03)
    out = implied_vols(prices, 100.0, K, 0.5, True, 0.03)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, 0.35, atol=1e-9)


@pytest.mark.parametrize("sigma", [0.002, 0.01, 1.5, 4.0, 4.9])
@pytest.mark.parametrize("d1", [-2.0, 0.0, 2.0])
@pytest.mark.parametrize("call", [True, False])
def test_extreme_but_valid_vols_converge(sigma: float, d1: float, call: bool) -> None:
    # Far from a typical vol the first Newton steps overshoot the bracket: bisection must take
    # over and still land on the root. K is placed at a fixed d1 so the price keeps time value.
    S, T, r = 100.0, 1.0, 0.02
    K = S * math.exp(r * T - d1 * sigma + 0.5 * sigma * sigma)
    price = _px(S, K, T, sigma, call, r)
    iv = implied_vol(price, S, K, T, call, r)
    if price <= _intrinsic(S, K, call) * (1 + 1e-12):
        # A European put this deep (r > 0) is worth less than exercising now: not a price an
        # American option can have, so it has no IV (METHODS §7).
        assert iv is None
    else:
        assert iv == pytest.approx(sigma, rel=1e-6)


def test_iteration_cap_yields_missing_not_a_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ivsolve, "MAX_ITER", 1)
    price = _px(100, 150, 1.0, 0.01 * 150, True, 0.0)
    assert implied_vol(price, 100, 150, 1.0, True, 0.0) is None


# --- no IV: missing, never 0 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "S", "K", "T"),
    [
        (math.nan, 100, 100, 0.5),
        (math.inf, 100, 100, 0.5),
        (0.0, 100, 100, 0.5),
        (-1.0, 100, 100, 0.5),
        (5.0, 0.0, 100, 0.5),
        (5.0, -100, 100, 0.5),
        (5.0, math.nan, 100, 0.5),
        (5.0, 100, 0.0, 0.5),
        (5.0, 100, -100, 0.5),
        (5.0, 100, 100, 0.0),
        (5.0, 100, 100, -0.1),
        (5.0, 100, 100, math.nan),
        (5.0, 100, 100, math.inf),
    ],
)
def test_bad_inputs_have_no_iv(price: float, S: float, K: float, T: float) -> None:
    assert implied_vol(price, S, K, T, True, 0.05) is None
    assert implied_vol(price, S, K, T, False, 0.05) is None


def test_non_finite_rates_have_no_iv() -> None:
    assert implied_vol(5.0, 100, 100, 0.5, True, math.nan) is None
    assert implied_vol(5.0, 100, 100, 0.5, True, 0.05, math.inf) is None


@pytest.mark.parametrize(("r", "q"), [(-1e10, 0.0), (1e10, 0.0), (0.0, -1e10)])
def test_absurd_rates_give_no_iv_without_warnings(r: float, q: float) -> None:
    # exp() overflows here; under filterwarnings=error a leaked RuntimeWarning would raise.
    assert implied_vol(5.0, 100, 100, 0.5, True, r, q) is None


def _intrinsic(S: float, K: float, call: bool) -> float:
    """Undiscounted intrinsic value max(S − K, 0) or max(K − S, 0), dollars."""
    return max(S - K, 0.0) if call else max(K - S, 0.0)


def test_below_intrinsic_has_no_iv() -> None:
    # Call S = 100, K = 80, r = 5 %, T = 0.5: discounted intrinsic = 100 - 80*e^-0.025 = 21.9753.
    intrinsic = 100 - 80 * math.exp(-0.05 * 0.5)
    assert intrinsic == pytest.approx(21.9753, abs=1e-4)
    assert implied_vol(21.50, 100, 80, 0.5, True, 0.05) is None  # below it: None, not 0
    assert implied_vol(intrinsic, 100, 80, 0.5, True, 0.05) is None  # at it: not identifiable
    # Put S = 100, K = 120: the European bound 120*e^-0.025 - 100 = 17.0370 is below the
    # undiscounted intrinsic 120 - 100 = 20 (METHODS §7: American options, exercisable now).
    assert implied_vol(16.0, 100, 120, 0.5, False, 0.05) is None
    assert implied_vol(17.5, 100, 120, 0.5, False, 0.05) is None  # had an IV (~0.16) before


@pytest.mark.parametrize("T", [0.5, 30 / 365, 1.0])
def test_put_below_undiscounted_intrinsic_has_no_iv(T: float) -> None:
    # The example: K = 120, S = 100, r = 5 %: a put at 19.90 is below K - S = 20. A BSM
    # (European) put at 19.90 exists (its floor is 120·e^{-rT} - 100 < 20), so only the American
    # bound refuses it.
    assert 120 * math.exp(-0.05 * T) - 100 < 19.90
    assert implied_vol(19.90, 100, 120, T, False, 0.05) is None
    assert implied_vol(20.0, 100, 120, T, False, 0.05) is None  # at intrinsic: not identifiable
    # Just above intrinsic it is an ordinary (if low) IV.
    iv = implied_vol(20.50, 100, 120, T, False, 0.05)
    assert iv is not None
    assert float(bsm_price(100, 120, T, iv, False, 0.05)) == pytest.approx(20.50, abs=1e-8)
    arr = implied_vols([19.90, 20.50], 100, 120, T, [False, False], 0.05)
    assert math.isnan(arr[0])
    assert math.isfinite(arr[1])


def test_call_below_undiscounted_intrinsic_has_no_iv() -> None:
    # Call S = 120, K = 100: intrinsic 20; the European floor 120 - 100·e^{-rT} is higher, so
    # the bound that bites for a call is the European one (r > 0) — both refuse 19.90.
    assert implied_vol(19.90, 120, 100, 0.5, True, 0.05) is None


def test_at_or_above_the_no_arbitrage_maximum_has_no_iv() -> None:
    # Call max = S e^{-qT} = 100; put max = K e^{-rT} = 100 e^{-0.025} = 97.531.
    assert implied_vol(100.0, 100, 100, 0.5, True, 0.05) is None
    assert implied_vol(120.0, 100, 100, 0.5, True, 0.05) is None
    assert implied_vol(100 * math.exp(-0.025), 100, 100, 0.5, False, 0.05) is None
    # Below the maximum but above the 500 % bracket: still no IV.
    assert implied_vol(_px(100, 100, 0.5, 6.0, True, 0.05), 100, 100, 0.5, True, 0.05) is None


def test_array_returns_nan_for_missing() -> None:
    out = implied_vols([math.nan, 0.0, 21.0], 100.0, 80.0, 0.5, True, 0.05)
    assert np.isnan(out).all()
    assert not (out == 0).any()


# --- leg_iv --------------------------------------------------------------------------------


def _leg(
    bid: float | None, ask: float | None, *, mid_iv: float | None = None, call: bool = True
) -> OptionQuote:
    return OptionQuote(
        symbol="XYZ260116C00100000",
        underlying="XYZ",
        expiration=dt.date(2026, 1, 16),
        strike=100.0,
        option_type=OptionType.CALL if call else OptionType.PUT,
        bid=bid,
        ask=ask,
        mid_iv=mid_iv,
    )


def test_leg_iv_prefers_provider_iv() -> None:
    assert leg_iv(_leg(4.0, 4.2, mid_iv=0.42), 100.0, 0.1, 0.04) == 0.42


@pytest.mark.parametrize("provider_iv", [None, 0.0, -0.3, math.nan])
def test_leg_iv_inverts_the_mid_without_provider_iv(provider_iv: float | None) -> None:
    price = _px(100, 100, 0.1, 0.5, False, 0.04)
    leg = _leg(price - 0.05, price + 0.05, mid_iv=provider_iv, call=False)
    assert leg_iv(leg, 100.0, 0.1, 0.04) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(("bid", "ask"), [(0.0, 1.0), (2.0, 1.5), (None, 1.0), (math.nan, 1.0)])
def test_leg_iv_none_for_unpriceable_leg(bid: float | None, ask: float | None) -> None:
    assert leg_iv(_leg(bid, ask), 100.0, 0.1, 0.04) is None


def test_leg_iv_none_below_intrinsic() -> None:
    # Call K = 100 with spot 120: a 10.00/10.20 market is below intrinsic (~20): no IV.
    assert leg_iv(_leg(10.0, 10.2), 120.0, 0.1, 0.04) is None


# --- round trip property -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    S=st.floats(min_value=1.0, max_value=2000.0),
    d1=st.floats(min_value=-2.5, max_value=2.5),
    sigma=st.floats(min_value=0.03, max_value=2.5),
    T=st.floats(min_value=2 / 365, max_value=2.0),
    r=st.floats(min_value=0.0, max_value=0.08),
    q=st.floats(min_value=0.0, max_value=0.05),
    call=st.booleans(),
)
def test_iv_round_trip(
    S: float, d1: float, sigma: float, T: float, r: float, q: float, call: bool
) -> None:
    # The strike is derived from a bounded d1 so vega = S e^{-qT} phi(d1) sqrt(T) stays well away
    # from 0 (phi(2.5) = 0.0175): every generated point has an identifiable IV.
    vol_t = sigma * math.sqrt(T)
    K = S * math.exp((r - q) * T - d1 * vol_t + 0.5 * vol_t * vol_t)
    price = _px(S, K, T, sigma, call, r, q)
    # Prices at or below the undiscounted intrinsic have no IV by definition (METHODS §7).
    assume(price > _intrinsic(S, K, call) + 1e-9 * max(S, K))
    iv = implied_vol(price, S, K, T, call, r, q)
    assert iv is not None
    assert iv == pytest.approx(sigma, abs=1e-7)
