"""Black–Scholes–Merton prices and Greeks, vectorised over numpy arrays (METHODS.md §7).

Inputs: spot S and strike K in dollars, time T in years (calendar days / 365), volatility sigma and
rates r, q as fractions per year (continuously compounded). Arrays broadcast against each other.
Degenerate inputs (T <= 0, sigma <= 0, non-positive prices) give NaN here; the public analytics turn
NaN into "missing", never 0.

scipy.special is imported inside the functions that use it: importing it costs ~0.1-0.3 s, which
a CLI process or the console would otherwise pay before its first request
(tests/unit/test_lazy_imports.py). After the first call the import is a dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike


def _norm_pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class _Terms:
    """The broadcast inputs and the terms shared by prices and Greeks (computed once per call)."""

    s: FloatArray
    k: FloatArray
    t: FloatArray
    v: FloatArray
    call: npt.NDArray[np.bool_]
    ok: npt.NDArray[np.bool_]  # finite and positive S, K, T, sigma
    d1: FloatArray
    d2: FloatArray
    disc_q: FloatArray
    disc_r: FloatArray


def _terms(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    r: float,
    q: float,
) -> _Terms:
    """Call inside np.errstate(all="ignore"): degenerate entries are masked with `ok` later."""
    s, k, t, v, call = np.broadcast_arrays(
        np.asarray(S, dtype=np.float64),
        np.asarray(K, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
        np.asarray(sigma, dtype=np.float64),
        np.asarray(is_call, dtype=bool),
    )
    ok = np.isfinite(s) & np.isfinite(k) & np.isfinite(t) & np.isfinite(v)
    ok &= (s > 0) & (k > 0) & (t > 0) & (v > 0)
    vol_sqrt_t = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * v * v) * t) / vol_sqrt_t
    return _Terms(s, k, t, v, call, ok, d1, d1 - vol_sqrt_t, np.exp(-q * t), np.exp(-r * t))


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
    from scipy.special import ndtr  # lazy: see the module docstring

    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        x = _terms(S, K, T, sigma, is_call, r, q)
        call_px = x.s * x.disc_q * ndtr(x.d1) - x.k * x.disc_r * ndtr(x.d2)
        put_px = x.k * x.disc_r * ndtr(-x.d2) - x.s * x.disc_q * ndtr(-x.d1)
        return np.where(x.ok, np.where(x.call, call_px, put_px), np.nan)


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
    from scipy.special import ndtr  # lazy: see the module docstring

    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        x = _terms(S, K, T, sigma, is_call, r, q)
        s, k, t, v, call, d1, d2 = x.s, x.k, x.t, x.v, x.call, x.d1, x.d2
        disc_q, disc_r = x.disc_q, x.disc_r
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
        return np.where(x.ok, a, np.nan)

    return GreeksArrays(mask(delta), mask(gamma), mask(vega), mask(theta), mask(rho))
