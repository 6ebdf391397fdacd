"""Event-only move from the ATM term structure (METHODS.md §3)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.event_move import (
    EventMove,
    VarianceSplit,
    decompose,
    event_move,
    event_move_of,
    reaction_implied_move_pct,
    reaction_variance,
)
from ivcrush_tui.domain import Unavailable


def ok(result: EventMove | Unavailable) -> EventMove:
    assert isinstance(result, EventMove), result
    return result


def test_two_expiry_worked_example() -> None:
    # Worked example (constructed so every step is exact):
    #   front: sigma1 = 80 %, T1 = 5 sessions/252; back: sigma2 = 40 %, T2 = 25/252.
    #   1/T1 - 1/T2 = 252/5 - 252/25 = 50.4 - 10.08 = 40.32
    #   V_E = (0.64 - 0.16) / 40.32 = 0.48 / 40.32 = 1/84 = 0.0119047619
    #   event 1σ = sqrt(1/84) = 0.1091089 -> 10.91089 %
    #   expected |move| = sqrt(2/pi) * 10.91089 = 0.7978846 * 10.91089 = 8.70563 %
    #   diffusive variance = (0.16*25/252 - 0.64*5/252) / (20/252) = (4 - 3.2)/20 = 0.04 -> 20 %
    #   check: sigma1^2*T1 = 0.64*5/252 = 3.2/252 = 0.04*5/252 + 1/84 = 0.2/252 + 3/252.
    m = ok(event_move(0.80, 5 / 252, 0.40, 25 / 252))
    assert m.method == "two_expiry"
    assert m.event_variance == pytest.approx(1 / 84)
    assert m.event_sd_pct == pytest.approx(10.91089, abs=1e-5)
    assert m.expected_abs_move_pct == pytest.approx(8.70563, abs=1e-5)
    assert m.diffusive_vol == pytest.approx(0.20)
    # Consistency: both expirations' total variances are reproduced by the split.
    for iv, t in ((0.80, 5 / 252), (0.40, 25 / 252)):
        total = m.diffusive_vol**2 * t + m.event_variance
        assert total == pytest.approx(iv * iv * t)


def test_pre_event_worked_example() -> None:
    # sigma0 = 30 % on an expiration before the event, sigma1 = 60 % at the event expiration,
    # T1 = 4/252: V_E = (0.36 - 0.09) * 4/252 = 1.08/252 = 0.00428571;
    # 1σ = sqrt(0.00428571) = 0.0654654 -> 6.54654 %; E|move| = 0.7978846 * 6.54654 = 5.22339 %.
    m = ok(event_move(0.60, 4 / 252, None, None, pre_iv=0.30, pre_t=2 / 252))
    assert m.method == "pre_event"
    assert m.event_variance == pytest.approx(1.08 / 252)
    assert m.event_sd_pct == pytest.approx(6.54654, abs=1e-5)
    assert m.expected_abs_move_pct == pytest.approx(5.22339, abs=1e-5)
    assert m.diffusive_vol == pytest.approx(0.30)


def test_pre_event_takes_precedence_over_back() -> None:
    m = ok(event_move(0.60, 4 / 252, 0.40, 30 / 252, pre_iv=0.30, pre_t=2 / 252))
    assert m.method == "pre_event"
    assert m.event_variance == pytest.approx(1.08 / 252)


def test_no_event_premium_is_unavailable() -> None:
    flat = event_move(0.40, 5 / 252, 0.40, 25 / 252)
    inverted = event_move(0.35, 5 / 252, 0.40, 25 / 252)
    pre = event_move(0.30, 5 / 252, None, None, pre_iv=0.35, pre_t=2 / 252)
    for r in (flat, inverted, pre):
        assert isinstance(r, Unavailable)
        assert "no event premium" in r.reason


def test_negative_diffusive_variance_is_unavailable() -> None:
    # sigma1 = 100 % at T1 = 10/252 (total var 10/252), sigma2 = 40 % at T2 = 20/252 (3.2/252):
    # V_E > 0 but total variance falls with time: diffusive var = (3.2 - 10)/10 < 0.
    r = event_move(1.00, 10 / 252, 0.40, 20 / 252)
    assert isinstance(r, Unavailable)
    assert "negative diffusive variance" in r.reason


@pytest.mark.parametrize("back_t", [5 / 252, 3 / 252])
def test_back_not_after_front_is_unavailable(back_t: float) -> None:
    r = event_move(0.80, 5 / 252, 0.40, back_t)
    assert isinstance(r, Unavailable)
    assert "not after" in r.reason


def test_pre_not_before_front_is_unavailable() -> None:
    r = event_move(0.80, 5 / 252, None, None, pre_iv=0.3, pre_t=5 / 252)
    assert isinstance(r, Unavailable)
    assert "not before" in r.reason


@pytest.mark.parametrize(
    "args",
    [
        (None, 5 / 252, 0.4, 25 / 252),
        (0.8, None, 0.4, 25 / 252),
        (0.8, 5 / 252, None, 25 / 252),
        (0.8, 5 / 252, 0.4, None),
        (math.nan, 5 / 252, 0.4, 25 / 252),
        (0.8, math.inf, 0.4, 25 / 252),
        (0.8, 5 / 252, -0.4, 25 / 252),
        (0.8, 0.0, 0.4, 25 / 252),
        (0.0, 5 / 252, 0.4, 25 / 252),
        (1e200, 5 / 252, 0.4, 25 / 252),  # overflows to inf: refused, not propagated
    ],
)
def test_missing_or_bad_inputs_are_unavailable(
    args: tuple[float | None, float | None, float | None, float | None],
) -> None:
    r = event_move(*args)
    assert isinstance(r, Unavailable)
    assert r.reason.startswith("event move:")


@pytest.mark.parametrize(("pre_iv", "pre_t"), [(0.3, None), (None, 2 / 252), (math.nan, 2 / 252)])
def test_incomplete_pre_event_inputs_are_unavailable(
    pre_iv: float | None, pre_t: float | None
) -> None:
    r = event_move(0.8, 5 / 252, 0.4, 25 / 252, pre_iv=pre_iv, pre_t=pre_t)
    assert isinstance(r, Unavailable)


@settings(max_examples=200, deadline=None)
@given(
    s1=st.floats(min_value=0.01, max_value=3.0),
    s2=st.floats(min_value=0.01, max_value=3.0),
    n1=st.integers(min_value=1, max_value=60),
    gap=st.integers(min_value=1, max_value=60),
)
def test_outputs_always_finite_and_consistent(s1: float, s2: float, n1: int, gap: int) -> None:
    t1, t2 = n1 / 252, (n1 + gap) / 252
    r = event_move(s1, t1, s2, t2)
    if isinstance(r, Unavailable):
        # Only the two documented ways to fail with valid inputs.
        assert s1 <= s2 or s2 * s2 * t2 < s1 * s1 * t1
        return
    assert r.event_variance > 0
    assert r.diffusive_vol >= 0
    for v in (r.event_variance, r.event_sd_pct, r.expected_abs_move_pct, r.diffusive_vol):
        assert math.isfinite(v)
    assert r.expected_abs_move_pct == pytest.approx(r.event_sd_pct * math.sqrt(2 / math.pi))
    assert s1 * s1 * t1 == pytest.approx(r.diffusive_vol**2 * t1 + r.event_variance, rel=1e-9)


# -- the decomposition kept for §5 when the event move is n/a ----------------------------------


def test_decomposition_survives_no_event_premium() -> None:
    # Inverted two-expiry: σ1 = 35 % at 5/252, σ2 = 40 % at 25/252 → V_E < 0. The event move is
    # n/a, but the split is there: σ_o² = σ1² − max(V_E, 0)/T1 = σ1² = 0.1225.
    split = decompose(0.35, 5 / 252, 0.40, 25 / 252)
    assert isinstance(split, VarianceSplit)
    assert split.event_variance < 0
    assert split.ordinary_variance == pytest.approx(0.35**2)
    assert isinstance(event_move_of(split), Unavailable)
    # V_R = one ordinary session: 0.1225/252 = 0.00048611; √ = 0.0220479;
    # ×100·0.7978846 = 1.75917 %.
    assert reaction_variance(split) == pytest.approx(0.1225 / 252)
    assert reaction_implied_move_pct(split) == pytest.approx(
        100 * math.sqrt(2 / math.pi) * math.sqrt(0.1225 / 252)
    )
    assert reaction_implied_move_pct(split) == pytest.approx(1.75917, abs=1e-5)


def test_decomposition_at_zero_event_variance() -> None:
    # σ1 = σ0: V_E = 0 exactly, σ_o = σ1; the event move says "no event premium".
    split = decompose(0.30, 5 / 252, None, None, pre_iv=0.30, pre_t=2 / 252)
    assert isinstance(split, VarianceSplit)
    assert split.event_variance == 0.0
    assert split.ordinary_variance == pytest.approx(0.09)
    r = event_move_of(split)
    assert isinstance(r, Unavailable)
    assert "no event premium" in r.reason


def test_reaction_variance_worked_example() -> None:
    # The two-expiry worked example: V_E = 1/84, σ_o² = 0.04 per trading year.
    # V_R = 1/84 + 0.04/252 = 0.0119047619 + 0.0001587302 = 0.0120634921
    # move = 100·0.7978846·√0.0120634921 = 100·0.7978846·0.1098339 = 8.76348 %.
    split = decompose(0.80, 5 / 252, 0.40, 25 / 252)
    assert isinstance(split, VarianceSplit)
    assert split.ordinary_variance == pytest.approx(0.04)
    assert reaction_variance(split) == pytest.approx(1 / 84 + 0.04 / 252)
    assert reaction_implied_move_pct(split) == pytest.approx(8.76348, abs=1e-4)


def test_negative_ordinary_variance_has_no_decomposition() -> None:
    r = decompose(1.00, 10 / 252, 0.40, 20 / 252)
    assert isinstance(r, Unavailable)
    assert "negative diffusive variance" in r.reason
