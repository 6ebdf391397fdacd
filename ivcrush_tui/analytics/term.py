"""ATM implied volatility per expiration and the term structure across expirations (METHODS.md §9).

Implied volatilities are fractions per year (0.25 = 25 %); days to expiration (DTE) are calendar
days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ivcrush_tui.analytics.params import AnalysisParams
from ivcrush_tui.domain import Unavailable

_IV30_DAYS = 30.0  # calendar days


def _usable(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def atm_iv(
    strikes: Sequence[float],
    call_ivs: Sequence[float | None],
    put_ivs: Sequence[float | None],
    spot: float,
) -> float | Unavailable:
    """ATM IV of one expiration (fraction per year), at spot (dollars).

    Per strike: the mean of the call and put IVs, or the one side present (None, NaN or <= 0 is
    missing). Linear interpolation at spot between the nearest strikes with a value on either side;
    spot outside those strikes takes the nearest strike's value.
    """
    if not (len(strikes) == len(call_ivs) == len(put_ivs)):
        return Unavailable("n/a: strikes and IVs differ in length")
    if not _usable(spot):
        return Unavailable("n/a: spot must be a positive price")
    sides: dict[float, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for K, c, p in zip(strikes, call_ivs, put_ivs, strict=True):
        if not _usable(K):
            continue
        calls, puts = sides[float(K)]
        if _usable(c):
            calls.append(float(c))  # type: ignore[arg-type]
        if _usable(p):
            puts.append(float(p))  # type: ignore[arg-type]
    per_strike: list[tuple[float, float]] = []
    for K in sorted(sides):
        # A strike listed twice (another root) averages each side before averaging the sides.
        means = [sum(v) / len(v) for v in sides[K] if v]
        if means:
            per_strike.append((K, sum(means) / len(means)))
    if not per_strike:
        return Unavailable("n/a: no strike has a call or put IV")
    ks = [k for k, _ in per_strike]
    vs = [v for _, v in per_strike]
    # np.interp holds the end values outside the range: the nearest strike's value.
    return float(np.interp(spot, ks, vs))


@dataclass(frozen=True, slots=True)
class TermPoint:
    """ATM IV (fraction per year) of one expiration, `dte` calendar days away (fractional)."""

    expiration: dt.date
    dte: float
    atm_iv: float


@dataclass(frozen=True, slots=True)
class TermStructure:
    """The ATM term structure and the figures read from it.

    points: every valid input point, sorted by DTE (for charting).
    ts_slope_0_45: slope of ATM IV in DTE between the nearest expiration and 45 days, in VOL
    POINTS per calendar day (0.75 = the IV rises 0.75 percentage points a day; METHODS §9 uses
    this unit on every surface); negative = inverted (front richer).
    iv30: ATM IV at 30 calendar days (fraction per year), from the same curve.
    front_iv / back_iv: ATM IV of the event expiration and the next one; front_back_ratio =
    front/back (a plain ratio); event_premium when that ratio >= params.event_premium_min_ratio.
    """

    points: tuple[TermPoint, ...]
    ts_slope_0_45: float | None
    iv30: float | None
    front_iv: float | None
    back_iv: float | None
    front_back_ratio: float | None
    event_premium: bool


def term_structure(
    points: Sequence[TermPoint],
    *,
    front: dt.date | None,
    back: dt.date | None,
    params: AnalysisParams,
    today: dt.date | None = None,
) -> TermStructure:
    """Build the term structure (METHODS §9) from per-expiration ATM IVs.

    The curve uses the expirations up to and including the first with DTE >= the horizon (45
    calendar days), linear in DTE with flat extrapolation. slope = (IV(45) − IV(DTE_min)) /
    (45 − DTE_min), in vol points per calendar day; None with fewer than 2 expirations or when
    the nearest is already >= 45 days out. iv30 comes from the same curve (None without any
    expiration). An expiration on or before `today` (exchange date) is left out of the curve:
    its IV is noise in its last hours. It stays in `points` and can still be front/back.
    `front` is the event expiration and `back` the next one, chosen by the caller.
    Points with DTE <= 0 or a non-positive IV are dropped; a repeated expiration keeps its first.
    """
    seen: set[dt.date] = set()
    valid: list[TermPoint] = []
    for p in sorted(points, key=lambda p: p.dte):
        if p.expiration in seen or not (_usable(p.dte) and _usable(p.atm_iv)):
            continue
        seen.add(p.expiration)
        valid.append(p)

    horizon = float(params.term_horizon_days)
    used: list[TermPoint] = []
    for p in valid:
        if today is not None and p.expiration <= today:
            continue
        used.append(p)
        if p.dte >= horizon:
            break

    slope: float | None = None
    iv30: float | None = None
    if used:
        xs = [p.dte for p in used]
        ys = [p.atm_iv for p in used]

        def curve(days: float) -> float:
            return float(np.interp(days, xs, ys))  # flat beyond the first and last expirations

        iv30 = curve(_IV30_DAYS)
        dte_min = xs[0]
        if len(used) >= 2 and dte_min < horizon:
            # x100: IV fractions to vol points.
            slope = 100.0 * (curve(horizon) - curve(dte_min)) / (horizon - dte_min)

    by_exp = {p.expiration: p.atm_iv for p in valid}
    front_iv = by_exp.get(front) if front is not None else None
    back_iv = by_exp.get(back) if back is not None else None
    ratio = front_iv / back_iv if front_iv is not None and back_iv is not None else None
    return TermStructure(
        points=tuple(valid),
        ts_slope_0_45=slope,
        iv30=iv30,
        front_iv=front_iv,
        back_iv=back_iv,
        front_back_ratio=ratio,
        event_premium=ratio is not None and ratio >= params.event_premium_min_ratio,
    )
