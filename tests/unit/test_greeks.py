"""Greeks of the ATM straddle (METHODS.md §7)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from ivcrush_tui.analytics.bsm import bsm_greeks, bsm_price
from ivcrush_tui.analytics.greeks import StraddleGreeks, straddle_greeks
from ivcrush_tui.analytics.implied_move import StraddleQuote
from ivcrush_tui.domain import OptionQuote, OptionType, Unavailable


def _leg(strike: float, call: bool, mid: float) -> OptionQuote:
    return OptionQuote(
        symbol=f"XYZ260116{'C' if call else 'P'}{round(strike * 1000):08d}",
        underlying="XYZ",
        expiration=dt.date(2026, 1, 16),
        strike=strike,
        option_type=OptionType.CALL if call else OptionType.PUT,
        bid=mid - 0.05,
        ask=mid + 0.05,
    )


def _atm(strike: float, call_mid: float = 2.40, put_mid: float = 2.44) -> StraddleQuote:
    return StraddleQuote(
        strike=strike,
        call=_leg(strike, True, call_mid),
        put=_leg(strike, False, put_mid),
        call_mid=call_mid,
        put_mid=put_mid,
        straddle=call_mid + put_mid,
    )


def ok(result: StraddleGreeks | Unavailable) -> StraddleGreeks:
    assert isinstance(result, StraddleGreeks), result
    return result


def test_hull_example_straddle() -> None:
    # Hull, OFOD (9th ed.), ch. 19, running example: call S0 = 49, K = 50, r = 5 %, sigma = 20 %,
    # T = 0.3846: delta 0.522, gamma 0.066, vega 12.1 per 100 % (0.121 per point), theta -4.31/yr.
    # The put follows from put-call parity: delta_p = 0.522 - 1 = -0.478, same gamma and vega,
    # theta_p = theta_c + r K e^{-rT} = -4.31 + 0.05*50*e^{-0.05*0.3846} = -4.31 + 2.452 = -1.858.
    # Long straddle: delta 0.044, gamma 0.132, vega 0.242/pt, theta -6.168/yr = -0.01690/day.
    g = ok(straddle_greeks(_atm(50.0), 49.0, 0.3846, 0.05, 0.20, 0.20))
    assert g.strike == 50.0
    assert g.delta == pytest.approx(0.044, abs=1e-3)
    assert g.gamma == pytest.approx(0.132, abs=1e-3)
    assert g.vega == pytest.approx(0.242, abs=1e-3)
    assert g.theta == pytest.approx(-6.168 / 365, abs=0.01 / 365)


def test_sum_of_legs_with_different_ivs() -> None:
    S, K, T, r, civ, piv = 101.3, 100.0, 9 / 365, 0.045, 0.62, 0.66
    g = ok(straddle_greeks(_atm(K), S, T, r, civ, piv))
    c = bsm_greeks(S, K, T, civ, True, r)
    p = bsm_greeks(S, K, T, piv, False, r)
    for name in ("delta", "gamma", "vega", "theta", "rho"):
        expected = float(getattr(c, name)) + float(getattr(p, name))
        assert getattr(g, name) == pytest.approx(expected, rel=1e-12), name


def test_straddle_vega_and_theta_match_repricing() -> None:
    # Independent check: vega per point = change of the straddle value for +1 vol point on both
    # legs; theta per day = value change as one calendar day passes (central differences).
    S, K, T, r, iv = 100.0, 100.0, 30 / 365, 0.04, 0.45

    def value(v: float = iv, t: float = T) -> float:
        # bsm broadcasts is_call to the shape of (S, K, T, sigma), so K carries the 2 legs.
        return float(np.sum(bsm_price(S, [K, K], t, v, [True, False], r)))

    g = ok(straddle_greeks(_atm(K), S, T, r, iv, iv))
    assert g.vega == pytest.approx((value(v=iv + 1e-4) - value(v=iv - 1e-4)) / 2e-4 / 100)
    day = 1 / 365
    assert g.theta == pytest.approx((value(t=T - day) - value(t=T + day)) / 2, rel=1e-3)
    assert g.theta < 0  # a long straddle bleeds
    assert g.gamma > 0
    assert g.vega > 0


def test_short_and_per_contract_scaling() -> None:
    g = ok(straddle_greeks(_atm(50.0), 49.0, 0.3846, 0.05, 0.20, 0.20))
    short = g.scaled(-1)
    contract = g.scaled(-100)  # one short straddle contract = 100 shares
    assert short.delta == -g.delta
    assert short.theta == -g.theta  # a short straddle earns theta
    assert short.theta > 0
    assert contract.vega == pytest.approx(-100 * g.vega)
    assert contract.gamma == pytest.approx(-100 * g.gamma)
    assert contract.strike == g.strike


@pytest.mark.parametrize(
    ("call_iv", "put_iv", "word"),
    [(None, 0.3, "call"), (0.3, None, "put"), (0.0, 0.3, "call"), (0.3, math.nan, "put"),
     (-0.2, 0.3, "call")],
)  # fmt: skip
def test_missing_iv_is_unavailable(call_iv: float | None, put_iv: float | None, word: str) -> None:
    r = straddle_greeks(_atm(100.0), 100.0, 0.05, 0.04, call_iv, put_iv)
    assert isinstance(r, Unavailable)
    assert word in r.reason


@pytest.mark.parametrize(
    ("spot", "t", "r"),
    [(0.0, 0.05, 0.04), (math.nan, 0.05, 0.04), (100.0, 0.0, 0.04), (100.0, -0.01, 0.04),
     (100.0, math.inf, 0.04), (100.0, 0.05, math.nan)],
)  # fmt: skip
def test_bad_market_inputs_are_unavailable(spot: float, t: float, r: float) -> None:
    assert isinstance(straddle_greeks(_atm(100.0), spot, t, r, 0.3, 0.3), Unavailable)
