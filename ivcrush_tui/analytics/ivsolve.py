"""Implied volatility by Black–Scholes–Merton inversion (METHODS.md §7).

Safeguarded Newton: each element keeps a bracket [lo, hi] that always contains the root; a Newton
step that leaves the bracket (or a vanishing vega) is replaced by bisection, so convergence is
guaranteed and usually quadratic. Vectorised over numpy arrays.

Units: prices in dollars per share, T in years (calendar days / 365), r and q and the returned
volatility as fractions per year. "No IV" is NaN in arrays and None in scalars, never 0.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ivcrush_tui.analytics.bsm import ArrayLike, FloatArray, bsm_price, bsm_vega
from ivcrush_tui.analytics.quotes import leg_mid
from ivcrush_tui.domain import OptionQuote, OptionType

SIGMA_MIN = 1e-4  # fraction per year; the bracket's lower end
SIGMA_MAX = 5.0  # 500 % per year; above this the quote is not believable as an IV
PRICE_TOL = 1e-10  # dollars: converged when |model - market| is below this ...
SIGMA_TOL = 1e-8  # ... or when sigma is pinned down to this
MAX_ITER = 100  # bisection alone needs ~30 iterations from the full bracket
# Relative tolerance (of max(S, K)) around the intrinsic value: a price at intrinsic within
# rounding has no identifiable IV (every small sigma fits), like one below it.
BOUND_RTOL = 1e-12


def implied_vols(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    is_call: ArrayLike,
    r: float,
    q: float = 0.0,
) -> FloatArray:
    """Implied vols (fraction per year) of European options; NaN where there is no IV.

    There is no IV when: any input is non-finite or non-positive (price, S, K, T), the price is
    at or below the intrinsic value (within rounding), at or above the no-arbitrage maximum
    (call: S·e^{-qT}; put: K·e^{-rT}), or the implied vol lies outside [1e-4, 5.0].
    Intrinsic is the larger of the UNDISCOUNTED max(S − K, K − S, 0) (METHODS §7: listed equity
    options are American, exercisable now, so a put at 19.90 with K = 120, S = 100 is a bad
    quote, not a low-vol put) and the European lower bound (the BSM price at σ → 0).
    """
    p, s, k, t, call = np.broadcast_arrays(
        np.asarray(price, dtype=np.float64),
        np.asarray(S, dtype=np.float64),
        np.asarray(K, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(is_call, dtype=bool),
    )
    out = np.full(p.shape, np.nan, dtype=np.float64)
    if not (math.isfinite(r) and math.isfinite(q)):
        return out
    ok = np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(t)
    ok &= (p > 0) & (s > 0) & (k > 0) & (t > 0)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    pf, sf, kf, tf, cf = (a.reshape(-1)[idx] for a in (p, s, k, t, call))
    # Extreme rates can overflow exp(); such elements end up NaN (no IV), never a warning storm.
    with np.errstate(all="ignore"):
        out.reshape(-1)[idx] = _implied_vols_valid(pf, sf, kf, tf, cf, r, q)
    return out


def _implied_vols_valid(
    pf: FloatArray,
    sf: FloatArray,
    kf: FloatArray,
    tf: FloatArray,
    cf: npt.NDArray[np.bool_],
    r: float,
    q: float,
) -> FloatArray:
    """`implied_vols` on flat arrays of finite, positive inputs."""
    fwd_s = sf * np.exp(-q * tf)  # S e^{-qT}
    pv_k = kf * np.exp(-r * tf)  # K e^{-rT}
    european = np.where(cf, fwd_s - pv_k, pv_k - fwd_s)  # the BSM price at sigma -> 0
    american = np.where(cf, sf - kf, kf - sf)  # undiscounted: exercise now (METHODS §7)
    intrinsic = np.maximum(np.maximum(european, american), 0.0)
    upper = np.where(cf, fwd_s, pv_k)
    scale = np.maximum(sf, kf)
    ok_bounds = (pf > intrinsic + BOUND_RTOL * scale) & (pf < upper)

    # The root must lie inside the sigma bracket: model(lo) <= price <= model(hi).
    lo = np.full(pf.shape, SIGMA_MIN)
    hi = np.full(pf.shape, SIGMA_MAX)
    f_lo = bsm_price(sf, kf, tf, lo, cf, r, q) - pf
    f_hi = bsm_price(sf, kf, tf, hi, cf, r, q) - pf
    solvable = ok_bounds & (f_lo <= PRICE_TOL) & (f_hi >= -PRICE_TOL)

    result = np.full(pf.shape, np.nan)
    at_lo = solvable & (np.abs(f_lo) <= PRICE_TOL)
    at_hi = solvable & ~at_lo & (np.abs(f_hi) <= PRICE_TOL)
    result[at_lo] = SIGMA_MIN
    result[at_hi] = SIGMA_MAX
    active = np.flatnonzero(solvable & ~at_lo & ~at_hi)
    if active.size:
        result[active] = _solve(pf[active], sf[active], kf[active], tf[active], cf[active], r, q)
    return result


def _initial_guess(
    p: FloatArray, s: FloatArray, k: FloatArray, t: FloatArray, r: float, q: float
) -> FloatArray:
    """Start at the price's inflection point in sigma (Manaster–Koehler), or the
    Brenner–Subrahmanyam ATM approximation when that is larger (it is 0 at the money)."""
    log_fk = np.log(s / k) + (r - q) * t
    inflection = np.sqrt(2.0 * np.abs(log_fk) / t)
    atm_approx = np.sqrt(2.0 * np.pi / t) * p / s
    return np.clip(np.maximum(inflection, atm_approx), SIGMA_MIN, SIGMA_MAX)


def _solve(
    p: FloatArray,
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    call: npt.NDArray[np.bool_],
    r: float,
    q: float,
) -> FloatArray:
    """Safeguarded Newton on elements known to have a root in (SIGMA_MIN, SIGMA_MAX)."""
    lo = np.full(p.shape, SIGMA_MIN)
    hi = np.full(p.shape, SIGMA_MAX)
    sigma = _initial_guess(p, s, k, t, r, q)
    result = np.full(p.shape, np.nan)
    live = np.arange(p.size)
    for _ in range(MAX_ITER):
        if live.size == 0:
            break
        sg, lo_l, hi_l = sigma[live], lo[live], hi[live]
        args = (s[live], k[live], t[live])
        f = bsm_price(*args, sg, call[live], r, q) - p[live]
        # bsm vega is per vol point (0.01); Newton needs d price / d sigma per unit sigma.
        vega = 100.0 * bsm_vega(*args, sg, r, q)
        hit = np.abs(f) <= PRICE_TOL
        lo_l = np.where(f < 0, sg, lo_l)
        hi_l = np.where(f > 0, sg, hi_l)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = sg - f / vega
        inside = np.isfinite(newton) & (newton > lo_l) & (newton < hi_l)
        nxt = np.where(inside, newton, 0.5 * (lo_l + hi_l))
        done = hit | (np.abs(nxt - sg) <= SIGMA_TOL) | (hi_l - lo_l <= SIGMA_TOL)
        result[live[done]] = np.where(hit, sg, nxt)[done]
        sigma[live], lo[live], hi[live] = nxt, lo_l, hi_l
        live = live[~done]
    return result  # elements still live after MAX_ITER stay NaN (never reached in practice)


def implied_vol(
    price: float,
    S: float,
    K: float,
    T: float,
    is_call: bool,
    r: float,
    q: float = 0.0,
) -> float | None:
    """Scalar `implied_vols`: the IV as a fraction per year, or None when there is none."""
    iv = float(implied_vols(price, S, K, T, is_call, r, q))
    return iv if math.isfinite(iv) else None


def leg_iv(option: OptionQuote, spot: float, T: float, r: float) -> float | None:
    """IV of one leg (fraction per year): the provider's `mid_iv` when present and > 0, else the
    BSM inversion of the leg mid (q = 0, T in calendar years), else None."""
    if option.mid_iv is not None and math.isfinite(option.mid_iv) and option.mid_iv > 0:
        return float(option.mid_iv)
    mid = leg_mid(option.bid, option.ask)
    if mid is None:
        return None
    return implied_vol(mid, spot, option.strike, T, option.option_type is OptionType.CALL, r)
