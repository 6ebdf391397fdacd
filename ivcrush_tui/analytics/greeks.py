"""Greeks of the ATM straddle (METHODS.md §7): the sum of its two legs' BSM Greeks."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ivcrush_tui.analytics.bsm import bsm_greeks
from ivcrush_tui.analytics.implied_move import StraddleQuote
from ivcrush_tui.domain import Unavailable


@dataclass(frozen=True, slots=True)
class StraddleGreeks:
    """Greeks of ONE LONG straddle, per share (one call + one put at `strike`).

    delta: dollars per $1 of spot; gamma: delta per $1 of spot; vega: dollars per 1 vol point
    (0.01); theta: dollars per calendar day; rho: dollars per 1 % (0.01) of r.
    A short straddle has the negated Greeks (`scaled(-1)`); one contract covers 100 shares
    (`scaled(100)`, or `scaled(-100)` for one short contract).
    """

    strike: float
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float

    def scaled(self, factor: float) -> StraddleGreeks:
        """These Greeks × factor (position size in shares; negative for short)."""
        return StraddleGreeks(
            strike=self.strike,
            delta=self.delta * factor,
            gamma=self.gamma * factor,
            vega=self.vega * factor,
            theta=self.theta * factor,
            rho=self.rho * factor,
        )


def _positive(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def straddle_greeks(
    atm: StraddleQuote,
    spot: float,
    T: float,
    r: float,
    call_iv: float | None,
    put_iv: float | None,
) -> StraddleGreeks | Unavailable:
    """Long-straddle Greeks per share at `atm.strike`, each leg at its own IV (q = 0).

    spot in dollars, T in years (calendar days / 365), r and IVs fractions per year.
    """
    if call_iv is None or not _positive(call_iv):
        return Unavailable(f"straddle Greeks: call IV at strike {atm.strike:g} missing")
    if put_iv is None or not _positive(put_iv):
        return Unavailable(f"straddle Greeks: put IV at strike {atm.strike:g} missing")
    if not _positive(spot):
        return Unavailable(f"straddle Greeks: spot {spot!r} is not a positive price")
    if not _positive(T):
        return Unavailable(f"straddle Greeks: time to expiration {T!r}y is not positive")
    if not math.isfinite(r):
        return Unavailable(f"straddle Greeks: rate {r!r} is not finite")
    with np.errstate(all="ignore"):  # degenerate leftovers become NaN, checked below
        g = bsm_greeks(spot, atm.strike, T, [call_iv, put_iv], [True, False], r, 0.0)
    values = [float(np.sum(a)) for a in (g.delta, g.gamma, g.vega, g.theta, g.rho)]
    if not all(math.isfinite(v) for v in values):
        return Unavailable("straddle Greeks: not computable for these inputs")
    delta, gamma, vega, theta, rho = values
    return StraddleGreeks(atm.strike, delta, gamma, vega, theta, rho)
