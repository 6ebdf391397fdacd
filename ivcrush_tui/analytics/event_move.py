"""The event-only move separated from the term structure of ATM IVs (METHODS.md §3).

Model: total variance to an expiration = diffusive variance rate · T + one event variance V_E for
every expiration after the event. Times are on the TRADING-DAY clock (sessions / 252, computed by
the caller) so that weekends and holidays carry no diffusion; IVs are fractions per year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ivcrush_tui.domain import Unavailable

_SQRT_2_PI = math.sqrt(2.0 / math.pi)  # E|Z| for a standard normal Z


@dataclass(frozen=True, slots=True)
class EventMove:
    """The earnings-day move the options price, net of ordinary diffusion.

    event_variance: V_E in (ln return)² (a fraction squared, not annualised).
    event_sd_pct: 100·√V_E, the event 1σ in percent.
    expected_abs_move_pct: 100·√(2/π)·√V_E, the expected |event move| in percent.
    diffusive_vol: the ex-event vol the term structure implies, fraction per year.
    """

    event_variance: float
    event_sd_pct: float
    expected_abs_move_pct: float
    diffusive_vol: float
    method: Literal["two_expiry", "pre_event"]


def _positive(name: str, x: float | None) -> float | Unavailable:
    if x is None:
        return Unavailable(f"event move: {name} missing")
    if not math.isfinite(x) or x <= 0:
        return Unavailable(f"event move: {name} = {x!r} is not a positive number")
    return x


def event_move(
    front_iv: float | None,
    front_t: float | None,
    back_iv: float | None,
    back_t: float | None,
    *,
    pre_iv: float | None = None,
    pre_t: float | None = None,
) -> EventMove | Unavailable:
    """Event variance from ATM IVs (fractions per year) and trading-day times T (years).

    Two-expiry form (front = event expiration T1, back = the next one T2):
        V_E = (σ1² − σ2²)/(1/T1 − 1/T2), diffusive variance (σ2²T2 − σ1²T1)/(T2 − T1).
    Pre-event form, used when `pre_iv` and `pre_t` are given (an expiration T0 < T1 before the
    event; back_iv/back_t are then ignored and may be None):
        V_E = (σ1² − σ0²)·T1, diffusive vol σ0.
    Unavailable (with the reason) for missing or non-positive inputs, T2 <= T1 (or T0 >= T1),
    V_E <= 0 (no event premium priced), or a negative diffusive variance (calendar arbitrage).
    """
    s1 = _positive("front_iv", front_iv)
    if isinstance(s1, Unavailable):
        return s1
    t1 = _positive("front_t", front_t)
    if isinstance(t1, Unavailable):
        return t1
    if pre_iv is not None or pre_t is not None:
        return _pre_event(s1, t1, pre_iv, pre_t)
    return _two_expiry(s1, t1, back_iv, back_t)


def _two_expiry(
    front_iv: float, front_t: float, back_iv_in: float | None, back_t_in: float | None
) -> EventMove | Unavailable:
    back_iv = _positive("back_iv", back_iv_in)
    if isinstance(back_iv, Unavailable):
        return back_iv
    back_t = _positive("back_t", back_t_in)
    if isinstance(back_t, Unavailable):
        return back_t
    if back_t <= front_t:
        return Unavailable(
            f"event move: back expiration time {back_t:.4f}y is not after the front {front_t:.4f}y"
        )
    v1, v2 = front_iv * front_iv, back_iv * back_iv
    event_var = (v1 - v2) * front_t * back_t / (back_t - front_t)
    diffusive_var = (v2 * back_t - v1 * front_t) / (back_t - front_t)
    if not (math.isfinite(event_var) and math.isfinite(diffusive_var)):
        return Unavailable("event move: the inputs overflow (IVs or times out of range)")
    if event_var <= 0:
        return Unavailable(
            f"event move: no event premium (front IV {100 * front_iv:.1f}% <= "
            f"back IV {100 * back_iv:.1f}%)"
        )
    if diffusive_var < 0:
        return Unavailable(
            "event move: total variance falls from the front to the back expiration "
            "(negative diffusive variance, calendar arbitrage in the quotes)"
        )
    return _result(event_var, math.sqrt(diffusive_var), "two_expiry")


def _pre_event(
    front_iv: float, front_t: float, pre_iv_in: float | None, pre_t_in: float | None
) -> EventMove | Unavailable:
    pre_iv = _positive("pre_iv", pre_iv_in)
    if isinstance(pre_iv, Unavailable):
        return pre_iv
    pre_t = _positive("pre_t", pre_t_in)
    if isinstance(pre_t, Unavailable):
        return pre_t
    if pre_t >= front_t:
        return Unavailable(
            f"event move: pre-event expiration time {pre_t:.4f}y is not before "
            f"the event expiration {front_t:.4f}y"
        )
    event_var = (front_iv * front_iv - pre_iv * pre_iv) * front_t
    if not math.isfinite(event_var):
        return Unavailable("event move: the inputs overflow (IVs or times out of range)")
    if event_var <= 0:
        return Unavailable(
            f"event move: no event premium (event-expiration IV {100 * front_iv:.1f}% <= "
            f"pre-event IV {100 * pre_iv:.1f}%)"
        )
    # σ0 > 0 was checked, so the diffusive variance σ0² is positive by construction.
    return _result(event_var, pre_iv, "pre_event")


def _result(
    event_var: float, diffusive_vol: float, method: Literal["two_expiry", "pre_event"]
) -> EventMove:
    sd = math.sqrt(event_var)  # event_var > 0 checked by every caller
    return EventMove(
        event_variance=event_var,
        event_sd_pct=100.0 * sd,
        expected_abs_move_pct=100.0 * _SQRT_2_PI * sd,
        diffusive_vol=diffusive_vol,
        method=method,
    )
