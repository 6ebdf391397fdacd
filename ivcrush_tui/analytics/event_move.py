"""The event-only move separated from the term structure of ATM IVs (METHODS.md §3, §5).

Model: total variance to an expiration = ordinary (diffusive) variance rate · T + one event
variance V_E for every expiration after the event. Times are on the TRADING-DAY clock
(sessions / 252, computed by the caller) so that weekends and holidays carry no diffusion; IVs are
fractions per year on that clock.

Two steps, kept apart because §5 needs the first even when the second is n/a:
- `decompose` splits the event expiration's variance into V_E (may be <= 0: no event premium
  priced) and the ordinary variance rate σ_o² = σ1² − max(V_E, 0)/T1 (n/a when negative);
- `event_move_of` turns a decomposition into the event-only move (n/a when V_E <= 0).
`reaction_variance` is the §5 one-session horizon V_R = max(V_E, 0) + σ_o²/252.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ivcrush_tui.domain import Unavailable

_SQRT_2_PI = math.sqrt(2.0 / math.pi)  # E|Z| for a standard normal Z
SESSIONS_PER_YEAR = 252.0  # the trading-day clock of the decomposition

Method = Literal["two_expiry", "pre_event"]


@dataclass(frozen=True, slots=True)
class VarianceSplit:
    """The §3 decomposition of the event expiration's total variance.

    event_variance: V_E in (ln return)² (a fraction squared, not annualised); <= 0 means the
    term structure prices no event premium (kept: §5 still needs the split then).
    ordinary_variance: σ_o² = σ1² − max(V_E, 0)/T1, fraction² per TRADING year (>= 0).
    front_t: T1, the event expiration's trading time in years (sessions / 252).
    """

    event_variance: float
    ordinary_variance: float
    front_t: float
    method: Method

    @property
    def ordinary_vol(self) -> float:
        """σ_o, fraction per trading year."""
        return math.sqrt(self.ordinary_variance)


@dataclass(frozen=True, slots=True)
class EventMove:
    """The earnings-day move the options price, net of ordinary diffusion.

    event_variance: V_E in (ln return)² (a fraction squared, not annualised), > 0.
    event_sd_pct: 100·√V_E, the event 1σ in percent.
    expected_abs_move_pct: 100·√(2/π)·√V_E, the expected |event move| in percent.
    diffusive_vol: σ_o, the ex-event vol the term structure implies, fraction per trading year.
    """

    event_variance: float
    event_sd_pct: float
    expected_abs_move_pct: float
    diffusive_vol: float
    method: Method


def _positive(name: str, x: float | None) -> float | Unavailable:
    if x is None:
        return Unavailable(f"event move: {name} missing")
    if not math.isfinite(x) or x <= 0:
        return Unavailable(f"event move: {name} = {x!r} is not a positive number")
    return x


def decompose(
    front_iv: float | None,
    front_t: float | None,
    back_iv: float | None,
    back_t: float | None,
    *,
    pre_iv: float | None = None,
    pre_t: float | None = None,
) -> VarianceSplit | Unavailable:
    """The §3 split from ATM IVs (fractions per trading year) and trading times T (years).

    Two-expiry form (front = event expiration T1, back = the next one T2):
        V_E = (σ1² − σ2²)/(1/T1 − 1/T2).
    Pre-event form, used when `pre_iv` and `pre_t` are given (the pre-event expiration T0 < T1;
    back_iv/back_t are then ignored and may be None):
        V_E = (σ1² − σ0²)·T1.
    Either way σ_o² = σ1² − max(V_E, 0)/T1. Unavailable (with the reason) for missing or
    non-positive inputs, T2 <= T1 (or T0 >= T1), overflow, or σ_o² < 0 (total variance falls
    from the front to the back expiration: calendar arbitrage in the quotes). V_E <= 0 is NOT
    unavailable here: see `event_move_of`.
    """
    s1 = _positive("front_iv", front_iv)
    if isinstance(s1, Unavailable):
        return s1
    t1 = _positive("front_t", front_t)
    if isinstance(t1, Unavailable):
        return t1
    method: Method
    if pre_iv is not None or pre_t is not None:
        s0 = _positive("pre_iv", pre_iv)
        if isinstance(s0, Unavailable):
            return s0
        t0 = _positive("pre_t", pre_t)
        if isinstance(t0, Unavailable):
            return t0
        if t0 >= t1:
            return Unavailable(
                f"event move: pre-event expiration time {t0:.4f}y is not before "
                f"the event expiration {t1:.4f}y"
            )
        event_var = (s1 * s1 - s0 * s0) * t1
        method = "pre_event"
    else:
        s2 = _positive("back_iv", back_iv)
        if isinstance(s2, Unavailable):
            return s2
        t2 = _positive("back_t", back_t)
        if isinstance(t2, Unavailable):
            return t2
        if t2 <= t1:
            return Unavailable(
                f"event move: back expiration time {t2:.4f}y is not after the front {t1:.4f}y"
            )
        # (σ1² − σ2²)/(1/T1 − 1/T2) written without the two reciprocals.
        event_var = (s1 * s1 - s2 * s2) * t1 * t2 / (t2 - t1)
        method = "two_expiry"
    ordinary_var = s1 * s1 - max(event_var, 0.0) / t1
    if not (math.isfinite(event_var) and math.isfinite(ordinary_var)):
        return Unavailable("event move: the inputs overflow (IVs or times out of range)")
    if ordinary_var < 0:
        return Unavailable(
            "event move: total variance falls from the front to the back expiration "
            "(negative diffusive variance, calendar arbitrage in the quotes)"
        )
    return VarianceSplit(event_var, ordinary_var, t1, method)


def event_move_of(split: VarianceSplit | Unavailable) -> EventMove | Unavailable:
    """The event-only move of a decomposition; n/a (with the reason) when V_E <= 0."""
    if isinstance(split, Unavailable):
        return split
    if split.event_variance <= 0:
        return Unavailable(
            "event move: no event premium (the event expiration's IV is not above the "
            f"{'pre-event' if split.method == 'pre_event' else 'next'} expiration's)"
        )
    sd = math.sqrt(split.event_variance)
    return EventMove(
        event_variance=split.event_variance,
        event_sd_pct=100.0 * sd,
        expected_abs_move_pct=100.0 * _SQRT_2_PI * sd,
        diffusive_vol=split.ordinary_vol,
        method=split.method,
    )


def event_move(
    front_iv: float | None,
    front_t: float | None,
    back_iv: float | None,
    back_t: float | None,
    *,
    pre_iv: float | None = None,
    pre_t: float | None = None,
) -> EventMove | Unavailable:
    """`event_move_of(decompose(...))`: the event-only move straight from the IVs and times."""
    return event_move_of(decompose(front_iv, front_t, back_iv, back_t, pre_iv=pre_iv, pre_t=pre_t))


def reaction_variance(split: VarianceSplit) -> float:
    """V_R = max(V_E, 0) + σ_o²/252 (METHODS §5): the variance of the one session a historical
    close move spans, in (ln return)²; with V_E <= 0 it is one ordinary session."""
    return max(split.event_variance, 0.0) + split.ordinary_variance / SESSIONS_PER_YEAR


def reaction_implied_move_pct(split: VarianceSplit) -> float:
    """`reaction_implied_move_pct` = 100·√(2/π)·√V_R, percent (METHODS §5): the expected
    |move| over the reaction session alone, comparable with a historical close move."""
    return 100.0 * _SQRT_2_PI * math.sqrt(reaction_variance(split))
