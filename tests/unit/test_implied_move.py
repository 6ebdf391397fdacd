"""Straddles and the implied move at spot (METHODS.md §2, §3)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.implied_move import (
    ImpliedMove,
    StraddleQuote,
    implied_move,
    straddles,
)
from ivcrush_tui.domain import OptionChain, OptionQuote, OptionType, Unavailable

EXP = dt.date(2026, 1, 16)


def leg(
    strike: float,
    call: bool,
    bid: float | None,
    ask: float | None,
    *,
    root: str | None = None,
    oi: int = 0,
    underlying: str = "XYZ",
) -> OptionQuote:
    kind = "C" if call else "P"
    code = round(strike * 1000) if math.isfinite(strike) and strike > 0 else 0
    return OptionQuote(
        symbol=f"{root or underlying}260116{kind}{code:08d}",
        underlying=underlying,
        expiration=EXP,
        strike=strike,
        option_type=OptionType.CALL if call else OptionType.PUT,
        bid=bid,
        ask=ask,
        open_interest=oi,
        root_symbol=root,
    )


def pair(strike: float, call_mid: float, put_mid: float, half: float = 0.05) -> list[OptionQuote]:
    return [
        leg(strike, True, call_mid - half, call_mid + half),
        leg(strike, False, put_mid - half, put_mid + half),
    ]


def chain(*opts: OptionQuote | list[OptionQuote]) -> OptionChain:
    flat: list[OptionQuote] = []
    for o in opts:
        flat.extend(o if isinstance(o, list) else [o])
    return OptionChain("XYZ", EXP, tuple(flat))


def ok(result: ImpliedMove | Unavailable) -> ImpliedMove:
    assert isinstance(result, ImpliedMove), result
    return result


# Straddles: 95 -> 4.00 + 9.00 = 13.00; 100 -> 6.00 + 5.00 = 11.00; 105 -> 3.50 + 8.50 = 12.00
BASE = chain(pair(95, 4.0, 9.0), pair(100, 6.0, 5.0), pair(105, 3.5, 8.5))


# --- straddles -----------------------------------------------------------------------------


def test_straddles_sum_the_mids_ascending() -> None:
    out = straddles(chain(pair(105, 3.5, 8.5), pair(95, 4.0, 9.0), pair(100, 6.0, 5.0)))
    assert [s.strike for s in out] == [95, 100, 105]
    assert [s.straddle for s in out] == pytest.approx([13.0, 11.0, 12.0])
    assert out[1].call_mid == pytest.approx(6.0)
    assert out[1].put_mid == pytest.approx(5.0)
    assert out[1].call.option_type is OptionType.CALL
    assert out[1].put.option_type is OptionType.PUT


@pytest.mark.parametrize(
    ("bid", "ask"),
    [(0.0, 1.0), (1.2, 1.0), (None, 1.0), (1.0, None), (math.nan, 1.0), (-0.5, 1.0)],
)
def test_strike_with_an_unpriceable_leg_is_dropped(bid: float | None, ask: float | None) -> None:
    c = chain(pair(95, 4.0, 9.0), leg(100, True, bid, ask), leg(100, False, 4.9, 5.1))
    assert [s.strike for s in straddles(c)] == [95]


def test_strike_missing_a_leg_is_dropped() -> None:
    c = chain(pair(95, 4.0, 9.0), leg(100, True, 5.9, 6.1))
    assert [s.strike for s in straddles(c)] == [95]


def test_adjusted_root_excluded_when_standard_exists() -> None:
    # AAPL1-style adjusted contracts (non-standard deliverable) at 100 are ignored, even where
    # they are the only quote at a strike, because the chain has standard contracts.
    adjusted = [
        leg(100, True, 1.0, 1.1, root="XYZ1"),
        leg(100, False, 1.0, 1.1, root="XYZ1"),
        leg(102.5, True, 1.0, 1.1, root="XYZ1"),
        leg(102.5, False, 1.0, 1.1, root="XYZ1"),
    ]
    out = straddles(chain(adjusted, pair(100, 6.0, 5.0)))
    assert [s.strike for s in out] == [100]
    assert out[0].straddle == pytest.approx(11.0)
    assert out[0].call.root_symbol is None


def test_root_equal_to_underlying_counts_as_standard() -> None:
    opts = [
        leg(100, True, 5.9, 6.1, root="XYZ"),
        leg(100, False, 4.9, 5.1, root="xyz"),
        leg(100, True, 1.0, 1.1, root="XYZ1"),
    ]
    out = straddles(chain(opts))
    assert out[0].straddle == pytest.approx(11.0)


def test_share_class_root_is_standard_and_its_adjusted_root_is_not() -> None:
    # BRK.B's OCC root is BRKB (punctuation dropped). Compared with the ticker itself, no BRK.B
    # contract was standard, so the adjusted BRKB1 (tighter here) was priced.
    def brk(strike: float, call: bool, bid: float, ask: float, root: str) -> OptionQuote:
        return leg(strike, call, bid, ask, root=root, underlying="BRK.B")

    opts = [
        brk(450, True, 9.9, 10.1, "BRKB"),
        brk(450, False, 8.9, 9.1, "BRKB"),
        brk(450, True, 2.0, 2.02, "BRKB1"),
        brk(450, False, 2.0, 2.02, "BRKB1"),
        brk(455, True, 2.0, 2.02, "BRKB1"),  # only the adjusted root lists 455
        brk(455, False, 2.0, 2.02, "BRKB1"),
    ]
    out = straddles(OptionChain("BRK.B", EXP, tuple(opts)))
    assert [s.strike for s in out] == [450]
    assert out[0].straddle == pytest.approx(19.0)
    assert {out[0].call.root_symbol, out[0].put.root_symbol} == {"BRKB"}


def test_only_adjusted_roots_are_still_used() -> None:
    out = straddles(
        chain(leg(100, True, 5.9, 6.1, root="XYZ1"), leg(100, False, 4.9, 5.1, root="XYZ1"))
    )
    assert [s.straddle for s in out] == pytest.approx([11.0])


def test_duplicated_contract_tighter_market_wins_in_any_order() -> None:
    wide = leg(100, True, 5.0, 7.0)  # mid 6.00, spread 2.00
    tight = leg(100, True, 6.1, 6.3)  # mid 6.20, spread 0.20
    put = leg(100, False, 4.9, 5.1)
    for opts in ([wide, tight, put], [tight, wide, put], [put, wide, tight]):
        out = straddles(chain(opts))
        assert out[0].call is tight
        assert out[0].straddle == pytest.approx(11.2)


def test_duplicate_tie_broken_by_open_interest() -> None:
    a = leg(100, True, 5.9, 6.1, oi=10)
    b = leg(100, True, 5.8, 6.0, oi=500)
    put = leg(100, False, 4.9, 5.1)
    assert straddles(chain(a, b, put))[0].call is b
    assert straddles(chain(b, a, put))[0].call is b


def test_nonpositive_or_nan_strikes_ignored() -> None:
    c = chain(pair(0.0, 1.0, 1.0), pair(-5.0, 1.0, 1.0), pair(math.nan, 1.0, 1.0), pair(100, 6, 5))
    assert [s.strike for s in straddles(c)] == [100]


# --- implied move --------------------------------------------------------------------------


def test_interpolated_between_adjacent_strikes_hand_example() -> None:
    # S = 102: K1 = 100 (11.00), K2 = 105 (12.00), w = (102-100)/(105-100) = 0.4
    # Straddle(S) = 0.6*11 + 0.4*12 = 11.40; implied = 100*11.40/102 = 11.17647 %.
    m = ok(implied_move(BASE, 102.0))
    assert m.straddle == pytest.approx(11.40)
    assert m.implied_move_pct == pytest.approx(100 * 11.40 / 102)
    assert m.implied_move_pct == pytest.approx(11.17647, abs=1e-5)
    assert m.move_1sd_pct == pytest.approx(m.implied_move_pct * math.sqrt(math.pi / 2))
    assert m.bounds_1sd == pytest.approx((102 - 1.2533141 * 11.4, 102 + 1.2533141 * 11.4))
    assert m.bounds_2sd == pytest.approx((102 - 2.5066283 * 11.4, 102 + 2.5066283 * 11.4))
    assert m.atm.strike == 100  # 2 away from 100, 3 away from 105
    assert m.breakevens == pytest.approx((89.0, 111.0))  # 100 -/+ 11.00
    assert m.bracket == (100.0, 105.0)
    assert m.extrapolated is False
    assert m.note is None
    assert m.spot == 102.0


def test_implied_move_matches_methods_units() -> None:
    # A 9.16 straddle on a 100 stock is a 9.16 % expected absolute move; 1σ = 9.16*1.2533 = 11.48 %.
    m = ok(implied_move(chain(pair(100, 4.58, 4.58)), 100.0))
    assert m.implied_move_pct == pytest.approx(9.16)
    assert m.move_1sd_pct == pytest.approx(11.480, abs=5e-4)


def test_spot_on_a_strike_uses_that_strike() -> None:
    m = ok(implied_move(BASE, 100.0))
    assert m.straddle == pytest.approx(11.0)
    assert m.bracket == (100.0, 100.0)
    assert m.atm.strike == 100
    assert not m.extrapolated
    m = ok(implied_move(BASE, 105.0))  # the top strike is not extrapolation
    assert m.straddle == pytest.approx(12.0)
    assert not m.extrapolated


def test_atm_tie_goes_to_lower_strike() -> None:
    m = ok(implied_move(BASE, 102.5))
    assert m.atm.strike == 100
    assert m.straddle == pytest.approx(11.5)


def test_invalid_strike_is_skipped_interpolation_uses_adjacent_valid() -> None:
    # 100 has a zero-bid put: S = 101 interpolates between 95 (13) and 105 (12):
    # w = 6/10, Straddle = 0.4*13 + 0.6*12 = 12.4; ATM is 105 (4 away) not the invalid 100.
    c = chain(pair(95, 4.0, 9.0), leg(100, True, 5.9, 6.1), leg(100, False, 0.0, 5.1),
              pair(105, 3.5, 8.5))  # fmt: skip
    m = ok(implied_move(c, 101.0))
    assert m.straddle == pytest.approx(12.4)
    assert m.bracket == (95.0, 105.0)
    assert m.atm.strike == 105


@pytest.mark.parametrize(
    ("spot", "strike", "straddle", "side"), [(90.0, 95, 13.0, "below"), (112.0, 105, 12.0, "above")]
)
def test_spot_outside_valid_strikes_is_flagged(
    spot: float, strike: float, straddle: float, side: str
) -> None:
    m = ok(implied_move(BASE, spot))
    assert m.extrapolated is True
    assert m.straddle == pytest.approx(straddle)
    assert m.atm.strike == strike
    assert m.bracket == (strike, strike)
    assert m.implied_move_pct == pytest.approx(100 * straddle / spot)
    assert m.note is not None
    assert side in m.note


def test_single_valid_strike() -> None:
    m = ok(implied_move(chain(pair(100, 6.0, 5.0)), 100.0))
    assert m.straddle == pytest.approx(11.0)
    assert not m.extrapolated


def test_low_bounds_never_negative() -> None:
    # A 60 straddle on a 100 stock: S - 2.5066*60 < 0 -> floored at 0.
    m = ok(implied_move(chain(pair(100, 30.0, 30.0)), 100.0))
    assert m.bounds_2sd[0] == 0.0
    assert m.bounds_1sd[0] == pytest.approx(100 - 1.2533141 * 60)
    assert m.bounds_2sd[1] == pytest.approx(100 + 2.5066283 * 60)


def test_empty_chain_is_unavailable() -> None:
    r = implied_move(chain(), 100.0)
    assert isinstance(r, Unavailable)
    assert "empty" in r.reason


def test_no_valid_strike_is_unavailable() -> None:
    c = chain(leg(100, True, 0.0, 1.0), leg(100, False, 1.0, 1.1), leg(105, True, 2.0, 1.0))
    r = implied_move(c, 100.0)
    assert isinstance(r, Unavailable)
    assert "valid call and put" in r.reason


@pytest.mark.parametrize("spot", [math.nan, math.inf, -math.inf, 0.0, -100.0, 5e-324])
def test_bad_spot_is_unavailable(spot: float) -> None:
    r = implied_move(BASE, spot)
    assert isinstance(r, Unavailable)
    assert "spot" in r.reason


# --- property: the interpolated straddle lies between its bracketing straddles -------------


@st.composite
def chains_and_spot(draw: st.DrawFn) -> tuple[OptionChain, float]:
    strikes = draw(
        st.lists(st.integers(min_value=10, max_value=400), min_size=2, max_size=12, unique=True)
    )
    opts: list[OptionQuote] = []
    for k in strikes:  # unsorted on purpose
        c = draw(st.floats(min_value=0.05, max_value=50.0))
        p = draw(st.floats(min_value=0.05, max_value=50.0))
        opts.extend(pair(float(k), c, p, half=0.01))
    lo, hi = min(strikes), max(strikes)
    spot = draw(st.floats(min_value=lo, max_value=hi))
    return chain(opts), spot


@settings(max_examples=200, deadline=None)
@given(chains_and_spot())
def test_interpolated_straddle_between_bracketing_straddles(
    case: tuple[OptionChain, float],
) -> None:
    c, spot = case
    m = ok(implied_move(c, spot))
    quotes: dict[float, StraddleQuote] = {s.strike: s for s in straddles(c)}
    k1, k2 = m.bracket
    assert k1 <= spot <= k2
    # adjacent: no valid strike strictly inside the bracket
    assert not [k for k in quotes if k1 < k < k2]
    s1, s2 = quotes[k1].straddle, quotes[k2].straddle
    tol = 1e-9 * max(s1, s2)
    assert min(s1, s2) - tol <= m.straddle <= max(s1, s2) + tol
    assert not m.extrapolated
    assert m.atm.strike in quotes
    assert all(abs(m.atm.strike - spot) <= abs(k - spot) for k in quotes)
