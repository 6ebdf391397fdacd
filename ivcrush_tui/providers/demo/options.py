"""Listed options of the demo world: expirations, strike grids, the diffusive smile and the
earnings variance bump (METHODS §3, §5). Pure functions of their arguments.

Implied total variance = smile(log-moneyness)^2 * T + V_E on expirations on/after the upcoming
event's reaction session, V_E calibrated so that the ATM straddle prices the event's VRP target
times the name's mean |close move| at the event's entry window. T is calendar time / 365.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import numpy.typing as npt

from ivcrush_tui.analytics.bsm import bsm_price
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.providers.demo.universe import (
    NO_OPTIONS_SYMBOL,
    SINGLE_EXPIRATION_SYMBOL,
    THIN_SYMBOL,
)
from ivcrush_tui.providers.demo.world import Profile

__all__ = [
    "MIN_T",
    "RISK_FREE_RATE",
    "atm_vol",
    "calibrate_event_variance",
    "is_monthly",
    "listed_expirations",
    "smile",
    "strike_grid",
]

RISK_FREE_RATE = 0.04  # continuously compounded, per year
MIN_T = 15.0 / (365.0 * 24.0 * 60.0)  # 15 minutes (years): keeps an expiring chain priceable
WEEKLY_COUNT = 8
MONTHLY_COUNT = 3
_FloatArray = npt.NDArray[np.float64]


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def is_monthly(cal: TradingCalendar, exp: dt.date) -> bool:
    """True for the monthly (third-Friday) cycle's expiration of exp's month."""
    return exp == cal.listed_friday_expiration(third_friday(exp.year, exp.month))


def listed_expirations(
    cal: TradingCalendar, day: dt.date, symbol: str, reaction: dt.date | None
) -> tuple[dt.date, ...]:
    """Expirations listed on exchange day `day`: ~8 weeklies (holiday Friday -> the session
    before) plus the next 3 monthlies; the thin name lists monthlies only, the single-expiration
    name only the one covering `reaction` (its next event's reaction session)."""
    if symbol == NO_OPTIONS_SYMBOL:
        return ()
    friday = day + dt.timedelta(days=(4 - day.weekday()) % 7)
    weeklies = []
    for k in range(WEEKLY_COUNT + 1):
        exp = cal.listed_friday_expiration(friday + dt.timedelta(weeks=k))
        if exp >= day:
            weeklies.append(exp)
    weeklies = weeklies[:WEEKLY_COUNT]
    monthlies: list[dt.date] = []
    year, month = weeklies[-1].year, weeklies[-1].month
    while len(monthlies) < MONTHLY_COUNT:
        exp = cal.listed_friday_expiration(third_friday(year, month))
        if exp > weeklies[-1]:
            monthlies.append(exp)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if symbol == THIN_SYMBOL:
        return tuple(sorted({e for e in weeklies if is_monthly(cal, e)} | set(monthlies)))
    listed = tuple(sorted(set(weeklies + monthlies)))
    if symbol == SINGLE_EXPIRATION_SYMBOL:
        later = [e for e in listed if reaction is not None and e >= reaction]
        return (later[0],) if later else listed[-1:]
    return listed


def _strike_step(spot: float) -> float:
    for limit, step in ((25.0, 0.5), (75.0, 1.0), (200.0, 2.5), (500.0, 5.0), (1000.0, 10.0)):
        if spot < limit:
            return step
    return 20.0


def strike_grid(tier: int, front: bool, spot: float) -> tuple[float, ...]:
    """Strikes (ascending dollars) centred on `spot`: more for big names and front expirations."""
    count = {1: (80, 50), 2: (40, 30), 3: (24, 20)}.get(tier, (12, 12))[0 if front else 1]
    step = _strike_step(spot)
    centre = round(spot / step) * step
    half = count // 2
    grid = [centre + step * (i - half) for i in range(count)]
    return tuple(round(k, 2) for k in grid if k > 0)


def atm_vol(prof: Profile, texp: float) -> float:
    """Diffusive ATM implied vol (fraction per year) at pricing time texp (years)."""
    t = max(texp, 1.0 / 365.0)
    return prof.base_vol * prof.iv_premium * (1.0 + prof.term_beta * math.log(t / 0.25))


def smile(prof: Profile, strikes: _FloatArray, spot: float, texp: float) -> _FloatArray:
    """Diffusive vol per strike: a put-skewed quadratic in standardised log-moneyness."""
    atm = atm_vol(prof, texp)
    fwd = spot * math.exp(RISK_FREE_RATE * texp)
    x = np.log(strikes / fwd) / (atm * math.sqrt(max(texp, 1.0 / 365.0)))
    x = np.clip(x, -4.0, 4.0)
    factor = 1.0 - prof.skew * x + prof.curvature * x * x
    return atm * np.clip(factor, 0.6, 3.0)


def calibrate_event_variance(
    prof: Profile, spot: float, texp: float, hist: float, vrp_target: float
) -> float:
    """V_E (total variance, dimensionless) such that the ATM straddle at pricing time `texp`
    (years) and `spot` (dollars) prices vrp_target * hist (fractions); floored so the bump stays
    visible and capped at three typical moves."""
    target = vrp_target * hist
    diff_vol = float(smile(prof, np.array([spot]), spot, texp)[0])
    # The ATM straddle is monotone in vol: bracket the target on a log grid, three times.
    lo, hi = 0.01, 20.0
    calls = np.array([True, False])
    for _ in range(3):
        grid = np.geomspace(lo, hi, 64)
        px = bsm_price(spot, spot, texp, grid[:, None], calls[None, :], RISK_FREE_RATE)
        moves = px.sum(axis=1) / spot
        i = int(np.searchsorted(moves, target))
        lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i, len(grid) - 1)])
    total_var = lo * lo * texp
    floor = (0.8 * prof.typical_move) ** 2
    cap = (3.0 * prof.typical_move) ** 2
    return float(min(max(total_var - diff_vol * diff_vol * texp, floor), cap))
