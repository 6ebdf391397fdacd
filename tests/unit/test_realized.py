"""Yang–Zhang realised volatility (METHODS.md §9).

Reference: Yang, D. and Zhang, Q. (2000), "Drift-Independent Volatility Estimation Based on High,
Low, Open, and Close Prices", Journal of Business 73(3), 477–491. With n periods:
  V_O  = 1/(n−1) Σ (o_i − ō)²,  o_i = ln O_i − ln C_{i−1}   (overnight)
  V_C  = 1/(n−1) Σ (c_i − c̄)²,  c_i = ln C_i − ln O_i       (open to close)
  V_RS = 1/n Σ [u_i(u_i − c_i) + d_i(d_i − c_i)],  u_i = ln H_i − ln O_i, d_i = ln L_i − ln O_i
  k    = 0.34 / (1.34 + (n+1)/(n−1)),  V = V_O + k·V_C + (1 − k)·V_RS
annualised here as √(252·V).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from ivcrush_tui.analytics.realized import iv_rv_ratio, yang_zhang
from ivcrush_tui.domain import Bar, Unavailable

# Six hand-written sessions (O, H, L, C): the first only supplies the previous close.
OHLC = [
    (100.0, 101.0, 99.0, 100.5),
    (101.0, 102.5, 100.2, 102.0),
    (101.5, 103.0, 101.0, 101.2),
    (100.8, 101.6, 99.5, 100.0),
    (100.4, 102.2, 100.1, 101.9),
    (102.3, 103.1, 101.4, 101.8),
]


def _bars(rows: list[tuple[float, float, float, float]], scale: float = 1.0) -> list[Bar]:
    start = dt.date(2026, 3, 2)
    return [
        Bar(start + dt.timedelta(days=i), o * scale, h * scale, lo * scale, c * scale, 1_000)
        for i, (o, h, lo, c) in enumerate(rows)
    ]


def _reference(rows: list[tuple[float, float, float, float]]) -> float:
    """Plain-Python Yang–Zhang, written from the paper's formulas above, step by step."""
    n = len(rows) - 1
    o, c, u, d = [], [], [], []
    for i in range(1, len(rows)):
        open_, high, low, close = rows[i]
        prev_close = rows[i - 1][3]
        o.append(math.log(open_) - math.log(prev_close))
        c.append(math.log(close) - math.log(open_))
        u.append(math.log(high) - math.log(open_))
        d.append(math.log(low) - math.log(open_))
    o_bar = sum(o) / n
    c_bar = sum(c) / n
    v_o = sum((x - o_bar) ** 2 for x in o) / (n - 1)
    v_c = sum((x - c_bar) ** 2 for x in c) / (n - 1)
    v_rs = sum(u[i] * (u[i] - c[i]) + d[i] * (d[i] - c[i]) for i in range(n)) / n
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    return math.sqrt(252 * (v_o + k * v_c + (1 - k) * v_rs))


def test_matches_the_paper_formula_on_six_bars() -> None:
    # n = 5: k = 0.34 / (1.34 + 6/4) = 0.34 / 2.84 = 0.119718...
    assert pytest.approx(0.1197183, abs=1e-7) == 0.34 / (1.34 + 6 / 4)
    # First overnight return by hand: ln(101.0 / 100.5) = 0.0049628...
    assert math.log(101.0) - math.log(100.5) == pytest.approx(0.00496279, abs=1e-8)
    # The paper's components for these bars (from the reference below, pinned):
    # V_O = 2.31374e-5, V_C = 9.93921e-5, V_RS = 1.82368e-4,
    # V = V_O + k·V_C + (1 − k)·V_RS = 1.955717e-4 per session, √(252·V) = 0.2220002 per year.
    v = 2.3137364e-5 + 0.11971831 * 9.9392132e-5 + (1 - 0.11971831) * 1.82368098e-4
    assert v == pytest.approx(1.955717e-4, rel=1e-6)
    got = yang_zhang(_bars(OHLC), window=5)
    assert isinstance(got, float)
    assert got == pytest.approx(_reference(OHLC), rel=1e-12)
    assert got == pytest.approx(math.sqrt(252 * v), rel=1e-6)
    assert got == pytest.approx(0.2220002, abs=1e-6)


def test_uses_only_the_last_window_plus_one_bars_in_any_order() -> None:
    noisy_prefix = [(50.0, 80.0, 40.0, 70.0), (70.0, 71.0, 30.0, 35.0)]
    bars = _bars(noisy_prefix + OHLC)
    got = yang_zhang(list(reversed(bars)), window=5)
    assert got == pytest.approx(_reference(OHLC), rel=1e-12)


def test_constant_prices_give_zero_volatility() -> None:
    assert yang_zhang(_bars([(50.0, 50.0, 50.0, 50.0)] * 31), window=30) == 0.0


def test_scale_invariance() -> None:
    base = yang_zhang(_bars(OHLC), window=5)
    scaled = yang_zhang(_bars(OHLC, scale=37.5), window=5)
    assert isinstance(base, float)
    assert isinstance(scaled, float)
    assert scaled == pytest.approx(base, rel=1e-12)


def test_too_few_bars_is_unavailable() -> None:
    res = yang_zhang(_bars(OHLC), window=30)
    assert isinstance(res, Unavailable)
    assert "need 31" in res.reason
    assert isinstance(yang_zhang(_bars(OHLC), window=1), Unavailable)
    assert isinstance(yang_zhang([], window=5), Unavailable)


@pytest.mark.parametrize(
    "bad",
    [
        (0.0, 101.0, 99.0, 100.0),
        (100.0, 101.0, -1.0, 100.0),
        (100.0, math.nan, 99.0, 100.0),
        (100.0, 99.5, 99.0, 100.0),  # high below the open
        (100.0, 101.0, 100.5, 100.8),  # low above the open
    ],
)
def test_bad_bar_is_unavailable(bad: tuple[float, float, float, float]) -> None:
    rows = [*OHLC[:3], bad, *OHLC[4:]]
    res = yang_zhang(_bars(rows), window=5)
    assert isinstance(res, Unavailable)
    assert "2026-03-05" in res.reason


def test_iv_rv_ratio() -> None:
    assert iv_rv_ratio(0.45, 0.30) == pytest.approx(1.5)
    assert iv_rv_ratio(0.45, 0.0) is None
    assert iv_rv_ratio(0.0, 0.3) is None
    assert iv_rv_ratio(math.nan, 0.3) is None
