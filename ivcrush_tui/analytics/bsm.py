"""Black–Scholes–Merton prices and Greeks, vectorised over numpy arrays (METHODS.md §7).

Inputs: spot S and strike K in dollars, time T in years (calendar days / 365), volatility sigma and
rates r, q as fractions per year (continuously compounded). Arrays broadcast against each other.
Degenerate inputs (T <= 0, sigma <= 0, non-positive prices) give NaN here; the public analytics turn
NaN into "missing", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike


def _norm_pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # type: ignore[no-any-return]


def _d1_d2(
    S: FloatArray, K: FloatArray, T: FloatArray, sigma: FloatArray, r: float, q: float
) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        vol_sqrt_t = sigma * np.sqrt(T)
        d1 = (np.log(S / K) + (r - q + 0.5 * sigma * sigma) * T) / vol_sqrt_t
    return d1, d1 - vol_sqrt_t


def _prepare(
    S: ArrayLike, K: ArrayLike, T: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]
]:
    s, k, t, v, call = np.broadcast_arrays(
        np.asarray(S, dtype=np.float64),
        np.asarray(K, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(sigma, dtype=np.float64),
        np.asarray(is_call, dtype=bool),
    )
    ok = np.isfinite(s) & np.isfinite(k) & np.isfinite(t) & np.isfinite(v)
    ok &= (s > 0) & (k > 0) & (t > 0) & (v > 0)
    return s, k, t, v, call, ok


def bsm_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    r: float = 0.0,
    q: float = 0.0,
) -> FloatArray:
    """Option price in dollars per share; NaN where the inputs are degenerate."""
    s, k, t, v, call, ok = _prepare(S, K, T, sigma, is_call)
    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        return _price(s, k, t, v, call, ok, r, q)


def _price(
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    v: FloatArray,
    call: npt.NDArray[np.bool_],
    ok: npt.NDArray[np.bool_],
    r: float,
    q: float,
) -> FloatArray:
    d1, d2 = _d1_d2(s, k, t, v, r, q)
    disc_q = np.exp(-q * t)
    disc_r = np.exp(-r * t)
    call_px = s * disc_q * ndtr(d1) - k * disc_r * ndtr(d2)
    put_px = k * disc_r * ndtr(-d2) - s * disc_q * ndtr(-d1)
    out = np.where(call, call_px, put_px)
    return np.where(ok, out, np.nan)


@dataclass(frozen=True, slots=True)
class GreeksArrays:
    """Per-share Greeks of a long option.

    delta: per $1 of spot; gamma: per $1 of spot, per $1; vega: dollars per 1 vol point (0.01);
    theta: dollars per calendar day; rho: dollars per 1 % (0.01) of r.
    """

    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray


def bsm_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    r: float = 0.0,
    q: float = 0.0,
) -> GreeksArrays:
    """Greeks in the units of `GreeksArrays`; NaN where the inputs are degenerate."""
    s, k, t, v, call, ok = _prepare(S, K, T, sigma, is_call)
    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        return _greeks(s, k, t, v, call, ok, r, q)


def _greeks(
    s: FloatArray,
    k: FloatArray,
    t: FloatArray,
    v: FloatArray,
    call: npt.NDArray[np.bool_],
    ok: npt.NDArray[np.bool_],
    r: float,
    q: float,
) -> GreeksArrays:
    d1, d2 = _d1_d2(s, k, t, v, r, q)
    disc_q = np.exp(-q * t)
    disc_r = np.exp(-r * t)
    pdf = _norm_pdf(d1)
    sqrt_t = np.sqrt(t)
    gamma = disc_q * pdf / (s * v * sqrt_t)
    vega = s * disc_q * pdf * sqrt_t / 100.0
    delta = np.where(call, disc_q * ndtr(d1), disc_q * (ndtr(d1) - 1.0))
    common = -s * disc_q * pdf * v / (2.0 * sqrt_t)
    theta_call = common - r * k * disc_r * ndtr(d2) + q * s * disc_q * ndtr(d1)
    theta_put = common + r * k * disc_r * ndtr(-d2) - q * s * disc_q * ndtr(-d1)
    theta = np.where(call, theta_call, theta_put) / 365.0
    rho = np.where(call, k * t * disc_r * ndtr(d2), -k * t * disc_r * ndtr(-d2)) / 100.0

    def mask(a: FloatArray) -> FloatArray:
        return np.where(ok, a, np.nan)

    return GreeksArrays(mask(delta), mask(gamma), mask(vega), mask(theta), mask(rho))
