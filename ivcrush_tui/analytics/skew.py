"""Volatility skew of one expiration: quadratic smile fit in log-moneyness (METHODS.md §8).

Implied volatilities are inputs, as fractions per year (0.25 = 25 %); time T is in years.
Log-moneyness k = ln(K/F) with the forward F = S·e^{(r−q)T}. Only out-of-the-money quotes are fitted
(puts below the forward, calls at or above it): put IV minus call IV at the same strike is parity
noise, not skew.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from ivcrush_tui.analytics.bsm import bsm_greeks, norm_cdf
from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.domain import Unavailable

# The 25-delta strikes are searched outward from the forward up to this |k|. e^{±1} spans strikes
# from 37 % to 272 % of the forward: beyond that a quadratic fitted on |k| <= 0.25 means nothing.
_MAX_SEARCH_ABS_K = 1.0
_SEARCH_STEP = 0.005  # grid step in k for bracketing the root before refining it
_TARGET_DELTA = 0.25
_ROOT_XTOL = 1e-13  # in k: far below any strike spacing
_ROOT_MAX_HALVINGS = 200  # a guard only: ~36 halvings reach _ROOT_XTOL from one grid step
# METHODS §8: a wing within ±0.5 vol points of ATM counts as zero (quote noise is that large), and
# R² is not shown when the fitted IVs span less than 0.5 vol points (it would measure noise).
FLAT_BAND = 0.005  # IV fraction per year = 0.5 vol points


class SkewShape(StrEnum):
    """Shape of the fitted smile, read from its 25-delta wings relative to ATM (a wing within
    ±0.5 vol points counts as zero)."""

    FLAT = "flat"  # both wings within ±0.5 vol points of ATM
    SMILE = "smile"  # both wings above ATM
    SMIRK = "smirk"  # put wing up, call wing flat or down (the usual equity skew)
    REVERSE = "reverse"  # call wing up, put wing flat or down
    FROWN = "frown"  # both wings at or below ATM (concave: a rich event in the front month)


@dataclass(frozen=True, slots=True)
class SkewFit:
    """Least-squares fit σ(k) = a + b·k + c·k² of OTM IVs (fractions per year) against k = ln(K/F).

    atm_iv = a (IV at the forward); slope = b (IV per unit of k); curvature = 2c (σ''(k));
    r_squared of the fit, None when the fitted IVs span less than 0.5 vol points (METHODS §8).
    rr25 = σ(25Δ call) − σ(25Δ put); bf25 = ½(σ25C + σ25P) − σ_ATM;
    put_wing = σ25P − σ_ATM; call_wing = σ25C − σ_ATM; all IV differences as fractions per year.
    The 25-delta figures and `shape` are None when the 25-delta strikes cannot be found on the
    fitted curve (reason in `note`). `points` are the (k, iv) pairs used, sorted by k;
    `coefficients` are (a, b, c).
    """

    atm_iv: float
    slope: float
    curvature: float
    r_squared: float | None
    rr25: float | None
    bf25: float | None
    put_wing: float | None
    call_wing: float | None
    shape: SkewShape | None
    n_points: int
    forward: float
    points: tuple[tuple[float, float], ...]
    coefficients: tuple[float, float, float]
    k_put25: float | None = None  # log-moneyness of the 25-delta put / call on the fitted curve
    k_call25: float | None = None
    note: str | None = None


def classify_shape(put_wing: float, call_wing: float) -> SkewShape:
    """Flat / smile / smirk / reverse / frown from the wings (σ25P − σ_ATM, σ25C − σ_ATM, IV
    fractions per year). Each wing within ±FLAT_BAND (0.5 vol points, inclusive) counts as zero.
    One wing below and the other zero is a frown (nothing above ATM, something below)."""
    put_wing = 0.0 if abs(put_wing) <= FLAT_BAND else put_wing
    call_wing = 0.0 if abs(call_wing) <= FLAT_BAND else call_wing
    if put_wing == 0.0 and call_wing == 0.0:
        return SkewShape.FLAT
    if put_wing > 0 and call_wing > 0:
        return SkewShape.SMILE
    if put_wing > 0:
        return SkewShape.SMIRK
    if call_wing > 0:
        return SkewShape.REVERSE
    return SkewShape.FROWN


def _finite_positive(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def skew_fit(
    strikes: Sequence[float],
    ivs: Sequence[float | None],
    is_call: Sequence[bool],
    *,
    spot: float,
    T: float,
    r: float,
    q: float = 0.0,
    params: AnalysisParams,
) -> SkewFit | Unavailable:
    """Fit the skew of one expiration from per-leg IVs (METHODS §8).

    strikes in dollars, ivs as fractions per year (None, NaN or <= 0 = missing), is_call per leg;
    spot in dollars, T in years, r and q continuously compounded fractions per year.
    Unavailable when fewer than `params.skew_min_points` OTM points lie within
    |k| <= `params.skew_max_abs_log_moneyness`, or when the fit is degenerate or not positive.
    """
    if not (len(strikes) == len(ivs) == len(is_call)):
        return Unavailable("n/a: strikes, IVs and option types differ in length")
    if not (
        _finite_positive(spot) and _finite_positive(T) and math.isfinite(r) and math.isfinite(q)
    ):
        return Unavailable("n/a: spot and time to expiration must be positive, rates finite")
    forward = spot * math.exp((r - q) * T)
    max_k = params.skew_max_abs_log_moneyness

    pts: list[tuple[float, float]] = []
    for K, iv, leg_is_call in zip(strikes, ivs, is_call, strict=True):
        if not (_finite_positive(K) and _finite_positive(iv)):
            continue
        otm = forward <= K if leg_is_call else forward > K
        if not otm:
            continue
        k = math.log(K / forward)
        if abs(k) <= max_k:
            pts.append((k, float(iv)))  # type: ignore[arg-type]
    pts.sort()
    n = len(pts)
    if n < params.skew_min_points:
        return Unavailable(
            f"n/a: only {n} OTM points within |k| <= {max_k:g} (need {params.skew_min_points})"
        )

    k_arr = np.array([p[0] for p in pts], dtype=np.float64)
    y = np.array([p[1] for p in pts], dtype=np.float64)
    design = np.column_stack((np.ones_like(k_arr), k_arr, k_arr * k_arr))
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < 3:
        return Unavailable(f"n/a: the {n} OTM points span fewer than 3 distinct strikes")
    a, b, c = (float(v) for v in coef)
    fitted = design @ coef
    if a <= 0 or not bool(np.all(fitted > 0)):
        return Unavailable("n/a: the skew fit gives a non-positive IV inside the quoted strikes")
    ss_res = float(np.sum((y - fitted) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    # R² of a curve flatter than quote noise measures the noise: not shown (METHODS §8).
    span = float(np.max(fitted) - np.min(fitted))
    r_squared: float | None = None
    if span >= FLAT_BAND:
        r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0.0 else 1.0

    def sigma(k: float) -> float:
        return a + b * k + c * k * k

    put = _delta_strike(sigma, a, b, c, T, q, is_call=False)
    call = _delta_strike(sigma, a, b, c, T, q, is_call=True)
    fit = SkewFit(
        atm_iv=a,
        slope=b,
        curvature=2.0 * c,
        r_squared=r_squared,
        rr25=None,
        bf25=None,
        put_wing=None,
        call_wing=None,
        shape=None,
        n_points=n,
        forward=forward,
        points=tuple(pts),
        coefficients=(a, b, c),
    )
    if isinstance(put, Unavailable) or isinstance(call, Unavailable):
        # The fit itself is sound; only the 25-delta figures are n/a, with the reason kept.
        reasons = [x.reason for x in (put, call) if isinstance(x, Unavailable)]
        return replace(fit, note="; ".join(reasons))
    s_put, s_call = sigma(put), sigma(call)
    put_wing, call_wing = s_put - a, s_call - a
    return replace(
        fit,
        rr25=s_call - s_put,
        bf25=0.5 * (s_call + s_put) - a,
        put_wing=put_wing,
        call_wing=call_wing,
        shape=classify_shape(put_wing, call_wing),
        k_put25=put,
        k_call25=call,
    )


def _delta_strike(
    sigma: Callable[[float], float],
    a: float,
    b: float,
    c: float,
    T: float,
    q: float,
    *,
    is_call: bool,
) -> float | Unavailable:
    """The k where the BSM spot delta with σ = σ(k) equals +0.25 (call) or −0.25 (put).

    Searched outward from the forward (k = 0) on a grid, so the root found is the one nearest the
    money and σ(k) is checked positive on every point walked; the cell is refined with brentq.
    Delta depends on S, K, r only through k: d1 = (−k + ½σ²T)/(σ√T), so S = F = 1 is used.
    """
    side = "call" if is_call else "put"
    direction = 1.0 if is_call else -1.0
    target = _TARGET_DELTA if is_call else -_TARGET_DELTA
    grid = direction * np.arange(0.0, _MAX_SEARCH_ABS_K + _SEARCH_STEP / 2, _SEARCH_STEP)
    vols = a + b * grid + c * grid * grid
    bad = np.flatnonzero(vols <= 0)
    limit = int(bad[0]) if bad.size else grid.size  # walk only where the fitted IV is positive
    if limit < 2:
        return Unavailable(f"25-delta {side}: the fitted IV is not positive next to the money")
    g = grid[:limit]
    # r = 0 with S = 1, K = e^k reproduces F = 1 exactly; q enters only through e^{−qT}.
    delta = bsm_greeks(1.0, np.exp(g), T, vols[:limit], is_call, 0.0, 0.0).delta * math.exp(-q * T)
    f = delta - target
    # Call delta falls from ~0.5 toward 0 as k rises; put delta rises from ~−0.5 as k falls.
    crossed = np.flatnonzero(f <= 0) if is_call else np.flatnonzero(f >= 0)
    if crossed.size == 0:
        where = (
            "before the fitted IV turns non-positive"
            if bad.size
            else f"within |k| <= {_MAX_SEARCH_ABS_K:g}"
        )
        return Unavailable(f"25-delta {side}: no strike found {where}")
    j = int(crossed[0])
    if j == 0:
        return Unavailable(f"25-delta {side}: delta at the forward is already beyond 0.25")
    if f[j] == 0.0:
        return float(g[j])
    disc_q = math.exp(-q * T)
    sqrt_t = math.sqrt(T)

    def excess(k: float) -> float:
        s = sigma(k)
        d1 = (-k + 0.5 * s * s * T) / (s * sqrt_t)
        d = disc_q * norm_cdf(d1) if is_call else -disc_q * norm_cdf(-d1)
        return d - target

    lo, hi = sorted((float(g[j - 1]), float(g[j])))
    f_lo, f_hi = excess(lo), excess(hi)
    if f_lo == 0.0 or f_hi == 0.0 or (f_lo > 0) == (f_hi > 0):
        # Rounding between the vectorised and scalar delta at a cell edge: take the closer edge.
        return lo if abs(f_lo) <= abs(f_hi) else hi
    return _bisect(excess, lo, hi, f_lo)


def _bisect(f: Callable[[float], float], lo: float, hi: float, f_lo: float) -> float:
    """The root of `f` in [lo, hi], given f(lo) = `f_lo` and f(hi) of the opposite sign, to
    _ROOT_XTOL. Bisection: the bracket is one grid step, so ~35 halvings of a cheap scalar
    function (scipy's brentq would take fewer, but importing scipy cost ~0.3 s per process)."""
    for _ in range(_ROOT_MAX_HALVINGS):
        if hi - lo <= _ROOT_XTOL:
            break
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        if f_mid == 0.0:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
