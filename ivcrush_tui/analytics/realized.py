"""Realised volatility from daily OHLC bars: the Yang–Zhang estimator (METHODS.md §9).

Yang, D. and Zhang, Q. (2000), "Drift-Independent Volatility Estimation Based on High, Low, Open,
and Close Prices", Journal of Business 73(3), 477–491.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ivcrush_tui.domain import Bar, Unavailable

TRADING_DAYS_PER_YEAR = 252


def yang_zhang(bars: Sequence[Bar], window: int = 30) -> float | Unavailable:
    """Yang–Zhang volatility over the last `window` sessions, annualised (fraction per year).

    Needs window + 1 bars (the first supplies the previous close of the first overnight return);
    bars may come in any order (a day listed twice keeps its last bar). With n = window:
    overnight o = ln(O/C_prev), open-to-close c = ln(C/O), u = ln(H/O), d = ln(L/O);
    σ_o², σ_c² de-meaned sample variances (divisor n − 1), σ_rs² = mean of u(u − c) + d(d − c)
    (Rogers–Satchell), k = 0.34 / (1.34 + (n + 1)/(n − 1)), σ² = σ_o² + k·σ_c² + (1 − k)·σ_rs²,
    result √(252·σ²). Unavailable for too few bars, or a bar with a non-positive price or with
    high/low not enclosing its open and close.
    """
    if window < 2:
        return Unavailable("n/a: the realised-volatility window must be at least 2 sessions")
    by_day = {b.day: b for b in bars}
    if len(by_day) < window + 1:
        return Unavailable(f"n/a: {len(by_day)} daily bars, need {window + 1} for RV{window}")
    last = [by_day[d] for d in sorted(by_day)[-(window + 1) :]]
    for b in last:
        prices = (b.open, b.high, b.low, b.close)
        if not all(math.isfinite(x) and x > 0 for x in prices):
            return Unavailable(f"n/a: bar {b.day} has a non-positive or missing price")
        if b.high < max(b.open, b.close) or b.low > min(b.open, b.close):
            # Rogers–Satchell assumes L <= O, C <= H; a bar breaking that would bias RV silently.
            return Unavailable(f"n/a: bar {b.day} has its high/low inside its open/close")

    arr = np.array([(b.open, b.high, b.low, b.close) for b in last], dtype=np.float64)
    o_, h_, l_, c_ = arr[1:, 0], arr[1:, 1], arr[1:, 2], arr[1:, 3]
    prev_close = arr[:-1, 3]
    overnight = np.log(o_ / prev_close)
    open_close = np.log(c_ / o_)
    up = np.log(h_ / o_)
    down = np.log(l_ / o_)
    n = window
    var_o = float(np.var(overnight, ddof=1))
    var_c = float(np.var(open_close, ddof=1))
    var_rs = float(np.mean(up * (up - open_close) + down * (down - open_close)))
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    var = var_o + k * var_c + (1.0 - k) * var_rs
    return math.sqrt(max(var, 0.0) * TRADING_DAYS_PER_YEAR)


def iv_rv_ratio(iv30: float, rv30: float) -> float | None:
    """IV30 / RV30 (both fractions per year; a plain ratio). None when either is not positive."""
    if not (math.isfinite(iv30) and math.isfinite(rv30)) or iv30 <= 0 or rv30 <= 0:
        return None
    return iv30 / rv30
