"""Black–Scholes–Merton prices and Greeks, vectorised over numpy arrays (METHODS.md §7).

Inputs: spot S and strike K in dollars, time T in years (calendar days / 365), volatility sigma and
rates r, q as fractions per year (continuously compounded). Arrays broadcast against each other.
Degenerate inputs (T <= 0, sigma <= 0, non-positive prices) give NaN here; the public analytics turn
NaN into "missing", never 0.

The normal CDF is the standard library's `math.erfc` applied per element, not scipy's `ndtr`:
both compute 0.5·erfc(−x/√2) to full double precision, and importing scipy cost every CLI process
~0.6 s of CPU before its first analysis, several times the per-element cost (~0.1 µs) over a
whole scan. Prices and Greeks evaluate it on the two arguments their side needs (±d1, ±d2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | npt.ArrayLike


_SQRT_HALF = math.sqrt(0.5)


def norm_cdf(x: float) -> float:
    """Standard normal CDF Φ(x), a probability in [0, 1]; NaN for NaN."""
    return 0.5 * math.erfc(-x * _SQRT_HALF)


def norm_cdf_array(x: FloatArray) -> FloatArray:
    """Φ elementwise, same shape as `x` (full precision in both tails, unlike 1 − Φ(−x))."""
    flat = (x * -_SQRT_HALF).ravel().tolist()
    out = np.fromiter(map(math.erfc, flat), np.float64, len(flat))
    out *= 0.5
    return out.reshape(x.shape)


def _norm_pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class _Terms:
    """The broadcast inputs and the terms shared by prices and Greeks (computed once per call)."""

    s: FloatArray
    k: FloatArray
    t: FloatArray
    v: FloatArray
    sign: FloatArray  # +1 for calls, −1 for puts
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
    sign = np.where(call, 1.0, -1.0)
    d2 = d1 - vol_sqrt_t
    return _Terms(s, k, t, v, sign, ok, d1, d2, np.exp(-q * t), np.exp(-r * t))


def _side_cdfs(x: _Terms) -> tuple[FloatArray, FloatArray]:
    """(Φ(d1), Φ(d2)) for calls and (Φ(−d1), Φ(−d2)) for puts: the only CDFs a side needs."""
    both = norm_cdf_array(np.stack((x.sign * x.d1, x.sign * x.d2)))
    return both[0], both[1]


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
    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        x = _terms(S, K, T, sigma, is_call, r, q)
        # call: S·e^{−qT}·Φ(d1) − K·e^{−rT}·Φ(d2); put: K·e^{−rT}·Φ(−d2) − S·e^{−qT}·Φ(−d1).
        n1, n2 = _side_cdfs(x)
        px = x.sign * (x.s * x.disc_q * n1 - x.k * x.disc_r * n2)
        return np.where(x.ok, px, np.nan)


def bsm_vega(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    sigma: ArrayLike,
    r: float = 0.0,
    q: float = 0.0,
) -> FloatArray:
    """Vega alone (the same for calls and puts), dollars per 1 vol point (0.01); NaN where the
    inputs are degenerate. For the IV solver: no CDF, unlike `bsm_greeks`."""
    with np.errstate(all="ignore"):
        x = _terms(S, K, T, sigma, True, r, q)
        vega = x.s * x.disc_q * _norm_pdf(x.d1) * np.sqrt(x.t) / 100.0
        return np.where(x.ok, vega, np.nan)


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
    with np.errstate(all="ignore"):  # degenerate entries are masked to NaN below
        x = _terms(S, K, T, sigma, is_call, r, q)
        s, k, t, v, sign = x.s, x.k, x.t, x.v, x.sign
        disc_q, disc_r = x.disc_q, x.disc_r
        n1, n2 = _side_cdfs(x)  # Φ(±d1), Φ(±d2): + for calls, − for puts
        pdf = _norm_pdf(x.d1)
        sqrt_t = np.sqrt(t)
        gamma = disc_q * pdf / (s * v * sqrt_t)
        vega = s * disc_q * pdf * sqrt_t / 100.0
        # put delta −e^{−qT}·Φ(−d1) equals e^{−qT}·(Φ(d1) − 1) without the cancellation.
        delta = sign * disc_q * n1
        common = -s * disc_q * pdf * v / (2.0 * sqrt_t)
        theta = (common - sign * (r * k * disc_r * n2 - q * s * disc_q * n1)) / 365.0
        rho = sign * k * t * disc_r * n2 / 100.0

    def mask(a: FloatArray) -> FloatArray:
        return np.where(x.ok, a, np.nan)

    return GreeksArrays(mask(delta), mask(gamma), mask(vega), mask(theta), mask(rho))
