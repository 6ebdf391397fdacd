"""Historical earnings moves (METHODS.md §4): session selection, timing inference, formulas.

Bars are hand-built NYSE sessions of 2025 (weekdays minus the NYSE holidays listed below); every
expected number is worked out in a comment from the bar prices.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.analytics.history import (
    EarningsMove,
    HistoryResult,
    clean_bars,
    earnings_moves,
    recent_moves,
)
from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import Bar, EarningsEvent, Timing

D = dt.date
# NYSE holidays of 2025 (nyse.com/markets/hours-calendars).
HOLIDAYS = {
    D(2025, 1, 1), D(2025, 1, 9), D(2025, 1, 20), D(2025, 2, 17), D(2025, 4, 18), D(2025, 5, 26),
    D(2025, 6, 19), D(2025, 7, 4), D(2025, 9, 1), D(2025, 11, 27), D(2025, 12, 25),
}  # fmt: skip
AS_OF = D(2026, 1, 15)
START, END = D(2025, 1, 2), D(2025, 12, 31)
FLAT = (100.0, 101.0, 99.0, 100.0)  # O, H, L, C of an ordinary session


def sessions(start: dt.date, end: dt.date) -> list[dt.date]:
    out, d = [], start
    while d <= end:
        if d.weekday() < 5 and d not in HOLIDAYS:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def make_bars(
    overrides: dict[dt.date, tuple[float, float, float, float]] | None = None,
    *,
    start: dt.date = START,
    end: dt.date = END,
    volumes: dict[dt.date, int] | None = None,
    missing: tuple[dt.date, dt.date] | None = None,
) -> list[Bar]:
    """Flat 100 sessions, with `overrides` (O, H, L, C) and an optional missing stretch."""
    overrides, volumes = overrides or {}, volumes or {}
    bars = []
    for d in sessions(start, end):
        if missing and missing[0] <= d <= missing[1]:
            continue
        o, h, lo, c = overrides.get(d, FLAT)
        bars.append(Bar(d, o, h, lo, c, volumes.get(d, 1_000_000)))
    return bars


def ev(day: dt.date, timing: Timing = Timing.BMO) -> EarningsEvent:
    return EarningsEvent("TEST", day, timing)


def only_move(result: HistoryResult) -> EarningsMove:
    assert len(result.moves) == 1, result.skipped
    return result.moves[0]


# --- formulas and the three known timings ---------------------------------------------------


def test_bmo_uses_previous_close_and_report_day_bar() -> None:
    # BMO on Tue 2025-04-29: reference = Mon 04-28 close 100; reaction = Tue 04-29.
    # Reaction bar O 104, H 107, L 103, C 105:
    #   gap = 104/100 − 1 = 0.04; close = 105/100 − 1 = 0.05; range = (107 − 103)/100 = 0.04;
    #   excursions +0.07 (high) and +0.03 (low) -> max excursion +0.07.
    bars = make_bars({D(2025, 4, 29): (104.0, 107.0, 103.0, 105.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 4, 29), Timing.BMO)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 4, 28), D(2025, 4, 29))
    assert m.timing_used is Timing.BMO
    assert not m.timing_inferred
    assert m.ref_close == 100.0
    assert m.gap == pytest.approx(0.04)
    assert m.close == pytest.approx(0.05)
    assert m.range == pytest.approx(0.04)
    assert m.max_excursion == pytest.approx(0.07)


def test_dmh_selects_sessions_like_bmo() -> None:
    # DMH on Tue 2025-04-29: the release happens inside the 04-29 session -> same bars as BMO.
    bars = make_bars({D(2025, 4, 29): (100.0, 103.0, 94.0, 96.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 4, 29), Timing.DMH)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day, m.timing_used) == (
        D(2025, 4, 28),
        D(2025, 4, 29),
        Timing.DMH,
    )
    # close = 96/100 − 1 = −0.04; excursions +0.03 / −0.06 -> −0.06 (sign kept); gap 0.
    assert m.close == pytest.approx(-0.04)
    assert m.max_excursion == pytest.approx(-0.06)
    assert m.gap == pytest.approx(0.0)
    assert m.range == pytest.approx(0.09)


def test_amc_uses_report_day_close_and_next_session() -> None:
    # AMC on Thu 2025-05-01: reference = Thu close 80;
    # reaction = Fri 05-02 (O 72, H 74, L 70, C 73).
    #   gap = 72/80 − 1 = −0.10; close = 73/80 − 1 = −0.0875; range = 4/80 = 0.05;
    #   excursions −0.075 (high) and −0.125 (low) -> −0.125.
    bars = make_bars({D(2025, 5, 1): (79.0, 81.0, 78.0, 80.0), D(2025, 5, 2): (72, 74, 70, 73)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 1), Timing.AMC)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 5, 1), D(2025, 5, 2))
    assert m.ref_close == 80.0
    assert m.gap == pytest.approx(-0.10)
    assert m.close == pytest.approx(-0.0875)
    assert m.range == pytest.approx(0.05)
    assert m.max_excursion == pytest.approx(-0.125)


def test_amc_friday_reacts_on_monday() -> None:
    # AMC Fri 2025-05-02 -> reaction Mon 05-05 (the weekend has no bars).
    bars = make_bars({D(2025, 5, 5): (110.0, 112.0, 108.0, 111.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 2), Timing.AMC)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 5, 2), D(2025, 5, 5))
    assert m.close == pytest.approx(0.11)


def test_amc_friday_before_a_holiday_monday_reacts_on_tuesday() -> None:
    # AMC Fri 2025-05-23; Mon 05-26 is Memorial Day -> reaction Tue 05-27 (4 days: not a hole).
    bars = make_bars({D(2025, 5, 27): (95.0, 96.0, 93.0, 94.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 23), Timing.AMC)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 5, 23), D(2025, 5, 27))
    assert m.close == pytest.approx(-0.06)


def test_bmo_on_a_holiday_reacts_on_the_next_session() -> None:
    # BMO dated Fri 2025-07-04 (Independence Day): reference Thu 07-03, reaction Mon 07-07.
    bars = make_bars({D(2025, 7, 7): (103.0, 104.0, 102.0, 103.5)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 7, 4), Timing.BMO)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 7, 3), D(2025, 7, 7))
    assert m.gap == pytest.approx(0.03)


def test_amc_on_a_saturday_reacts_on_monday() -> None:
    # A release dated Sat 2025-07-05 AMC: reference Thu 07-03 (last bar <= D; 07-04 is a holiday),
    # reaction Mon 07-07.
    bars = make_bars({D(2025, 7, 7): (97.0, 98.0, 96.0, 97.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 7, 5), Timing.AMC)], as_of=AS_OF))
    assert (m.ref_day, m.reaction_day) == (D(2025, 7, 3), D(2025, 7, 7))
    assert m.close == pytest.approx(-0.03)


# --- UNKNOWN timing ---------------------------------------------------------------------------


def test_unknown_inferred_amc_when_the_next_day_gap_dominates() -> None:
    # D = Thu 2025-05-01. Gap into D: O(Thu) 100.5 / C(Wed) 100 − 1 = 0.005.
    # Gap after D: O(Fri) 108 / C(Thu) 100 − 1 = 0.08 > 2·0.005 -> AMC.
    bars = make_bars(
        {D(2025, 5, 1): (100.5, 101.0, 99.5, 100.0), D(2025, 5, 2): (108.0, 110.0, 107.0, 109.0)}
    )
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 1), Timing.UNKNOWN)], as_of=AS_OF))
    assert m.timing_used is Timing.AMC
    assert m.timing_inferred
    assert m.event.timing is Timing.UNKNOWN  # the event is kept as reported
    assert (m.ref_day, m.reaction_day) == (D(2025, 5, 1), D(2025, 5, 2))
    assert m.close == pytest.approx(0.09)


def test_unknown_inferred_bmo_when_the_report_day_gap_dominates() -> None:
    # Gap into D: 106/100 − 1 = 0.06.
    # Gap after D: O(Fri) 106 / C(Thu) 105 − 1 ≈ 0.0095, not > 2·0.06 = 0.12 -> BMO.
    bars = make_bars(
        {D(2025, 5, 1): (106.0, 107.0, 104.0, 105.0), D(2025, 5, 2): (106.0, 106.5, 105.0, 105.5)}
    )
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 1), Timing.UNKNOWN)], as_of=AS_OF))
    assert m.timing_used is Timing.BMO
    assert m.timing_inferred
    assert (m.ref_day, m.reaction_day) == (D(2025, 4, 30), D(2025, 5, 1))
    assert m.close == pytest.approx(0.05)


def test_unknown_exactly_twice_the_gap_is_bmo() -> None:
    # Powers of two keep the arithmetic exact: gap into D = 66/64 − 1 = 0.03125,
    # gap after D = 68/64 − 1 = 0.0625 = 2·0.03125, not strictly greater -> BMO.
    bars = make_bars(
        {
            D(2025, 4, 30): (64.0, 64.0, 64.0, 64.0),
            D(2025, 5, 1): (66.0, 66.0, 64.0, 64.0),
            D(2025, 5, 2): (68.0, 68.0, 68.0, 68.0),
        }
    )
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 1), Timing.UNKNOWN)], as_of=AS_OF))
    assert m.timing_used is Timing.BMO
    assert m.gap == 0.03125


def test_unknown_on_a_weekend_needs_no_inference() -> None:
    # Sat 2025-05-03: "as BMO" and "as AMC" both give reference Fri 05-02 and reaction Mon 05-05,
    # so the gaps are equal (not > 2×) -> BMO, flagged as inferred; the move is the same either way.
    bars = make_bars({D(2025, 5, 5): (90.0, 92.0, 89.0, 91.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 3), Timing.UNKNOWN)], as_of=AS_OF))
    assert (m.timing_used, m.timing_inferred) == (Timing.BMO, True)
    assert (m.ref_day, m.reaction_day) == (D(2025, 5, 2), D(2025, 5, 5))
    assert m.close == pytest.approx(-0.09)


def test_unknown_without_bars_to_infer_is_skipped() -> None:
    # Bars end on the report day: the AMC candidate has no reaction session, so no inference.
    bars = make_bars(end=D(2025, 5, 1))
    result = earnings_moves(bars, [ev(D(2025, 5, 1), Timing.UNKNOWN)], as_of=AS_OF)
    assert result.moves == ()
    assert result.skipped[0][0] == D(2025, 5, 1)
    assert "timing unknown" in result.skipped[0][1]


# --- holes, duplicates, moved and future events -------------------------------------------------


def test_hole_in_the_data_is_skipped_with_reason() -> None:
    # No bars from 04-21 to 05-09: BMO on Thu 05-01 has neither its reference (Wed 04-30) nor its
    # reaction bar.
    bars = make_bars(missing=(D(2025, 4, 21), D(2025, 5, 9)))
    result = earnings_moves(bars, [ev(D(2025, 5, 1))], as_of=AS_OF)
    assert result.moves == ()
    assert [d for d, _ in result.skipped] == [D(2025, 5, 1)]
    assert result.skipped[0][1].startswith("bar_missing: ")


def test_hole_after_the_event_is_skipped() -> None:
    # Reference bar Wed 04-30 exists, but the next bar is Mon 05-12 (11 days after D = Thu 05-01).
    bars = make_bars(missing=(D(2025, 5, 1), D(2025, 5, 9)))
    result = earnings_moves(bars, [ev(D(2025, 5, 1))], as_of=AS_OF)
    assert result.moves == ()
    assert result.skipped[0][1] == "bar_missing: no bar for the reaction session 2025-05-01"


def test_event_before_the_bars_start_is_skipped() -> None:
    result = earnings_moves(make_bars(), [ev(D(2024, 10, 30))], as_of=AS_OF)
    assert result.moves == ()
    assert result.skipped[0][1].startswith("bar_missing: ")
    assert "the bars start later" in result.skipped[0][1]


# One missing daily bar used to be replaced by its neighbour (the first bar on or after D, the
# last before it): the move then spanned two sessions, with no flag. Each case below would have
# produced a move.
@pytest.mark.parametrize(
    ("day", "timing", "missing", "which"),
    [
        (D(2025, 4, 29), Timing.BMO, D(2025, 4, 29), "reaction session 2025-04-29"),  # was 04-30
        (D(2025, 4, 29), Timing.BMO, D(2025, 4, 28), "reference session 2025-04-28"),  # was 04-25
        (D(2025, 4, 29), Timing.DMH, D(2025, 4, 29), "reaction session 2025-04-29"),
        (D(2025, 5, 1), Timing.AMC, D(2025, 5, 2), "reaction session 2025-05-02"),  # was 05-05
        (D(2025, 5, 1), Timing.AMC, D(2025, 5, 1), "reference session 2025-05-01"),  # was 04-30
        (D(2025, 5, 23), Timing.AMC, D(2025, 5, 27), "reaction session 2025-05-27"),  # holiday Mon
        (D(2025, 5, 1), Timing.UNKNOWN, D(2025, 5, 2), "reaction session 2025-05-02"),
        (D(2025, 5, 1), Timing.UNKNOWN, D(2025, 4, 30), "reference session 2025-04-30"),
    ],
)
def test_a_missing_session_bar_is_bar_missing_not_its_neighbour(
    day: dt.date, timing: Timing, missing: dt.date, which: str
) -> None:
    bars = make_bars(missing=(missing, missing))
    result = earnings_moves(bars, [ev(day, timing)], as_of=AS_OF)
    assert result.moves == ()
    ((skipped_day, reason),) = result.skipped
    assert skipped_day == day
    assert reason.startswith(f"bar_missing: no bar for the {which}")


def test_bars_on_closed_days_are_not_sessions() -> None:
    # A stray bar dated Sat 2025-05-03 is not the reaction session of an AMC on Fri 05-02 (that is
    # Mon 05-05, missing here): bar_missing, never the stray bar.
    bars = [b for b in make_bars() if b.day != D(2025, 5, 5)]
    bars.append(Bar(D(2025, 5, 3), 120.0, 121.0, 119.0, 120.0, 1_000))
    result = earnings_moves(bars, [ev(D(2025, 5, 2), Timing.AMC)], as_of=AS_OF)
    assert result.moves == ()
    assert result.skipped[0][1] == "bar_missing: no bar for the reaction session 2025-05-05"


def test_the_given_calendar_decides_the_sessions() -> None:
    # The provider's calendar closes Wed 2025-04-30 (an override, as for a special closure): a BMO
    # on Thu 05-01 then takes its reference close from Tue 04-29, and the stray 04-30 bar is unused.
    cal = TradingCalendar(overrides={D(2025, 4, 30): None})
    bars = make_bars({D(2025, 4, 29): (100.0, 101.0, 99.0, 80.0)})
    m = only_move(earnings_moves(bars, [ev(D(2025, 5, 1))], as_of=AS_OF, calendar=cal))
    assert (m.ref_day, m.reaction_day) == (D(2025, 4, 29), D(2025, 5, 1))
    assert m.close == pytest.approx(100.0 / 80.0 - 1.0)


def test_duplicated_event_is_merged_and_known_timing_wins() -> None:
    bars = make_bars({D(2025, 5, 2): (104.0, 105.0, 103.0, 104.0)})
    events = [ev(D(2025, 5, 1), Timing.UNKNOWN), ev(D(2025, 5, 1), Timing.AMC)]
    result = earnings_moves(bars, events, as_of=AS_OF)
    m = only_move(result)
    assert m.timing_used is Timing.AMC
    assert not m.timing_inferred
    assert m.close == pytest.approx(0.04)
    assert [d for d, _ in result.skipped] == [D(2025, 5, 1)]
    assert "duplicate" in result.skipped[0][1]


def test_duplicate_with_conflicting_timings_is_inferred() -> None:
    # BMO and AMC listed for the same day: the bars decide (gap after D 8 % vs 0 % into D -> AMC).
    bars = make_bars({D(2025, 5, 2): (108.0, 109.0, 107.0, 108.0)})
    events = [ev(D(2025, 5, 1), Timing.BMO), ev(D(2025, 5, 1), Timing.AMC)]
    m = only_move(earnings_moves(bars, events, as_of=AS_OF))
    assert (m.timing_used, m.timing_inferred) == (Timing.AMC, True)


def test_moved_event_keeps_the_later_date() -> None:
    # Listed 04-17 and 05-01 (14 days apart, <= 20): the date moved, keep 05-01.
    bars = make_bars({D(2025, 5, 1): (102.0, 103.0, 101.0, 102.0)})
    events = [ev(D(2025, 4, 17)), ev(D(2025, 5, 1))]
    result = earnings_moves(bars, events, as_of=AS_OF)
    m = only_move(result)
    assert m.event.date == D(2025, 5, 1)
    assert m.close == pytest.approx(0.02)
    assert result.skipped[0][0] == D(2025, 4, 17)
    assert "moved" in result.skipped[0][1]


def test_events_21_days_apart_are_both_kept() -> None:
    events = [ev(D(2025, 4, 10)), ev(D(2025, 5, 1))]
    result = earnings_moves(make_bars(), events, as_of=AS_OF)
    assert [m.event.date for m in result.moves] == [D(2025, 5, 1), D(2025, 4, 10)]


def test_future_and_unfinished_events_do_not_count() -> None:
    # as_of = Fri 2025-05-02. BMO on 05-02 is not before as_of; AMC on Thu 05-01 would react on
    # 05-02, a session that may still be running: its bar is not used.
    as_of = D(2025, 5, 2)
    events = [ev(D(2025, 5, 2)), ev(D(2025, 6, 30)), ev(D(2025, 5, 1), Timing.AMC)]
    result = earnings_moves(make_bars(), events, as_of=as_of)
    assert result.moves == ()
    reasons = dict(result.skipped)
    assert "future" in reasons[D(2025, 5, 2)]
    assert "future" in reasons[D(2025, 6, 30)]
    assert "reaction" in reasons[D(2025, 5, 1)]


def test_single_quarter() -> None:
    bars = make_bars({D(2025, 10, 29): (90.0, 92.0, 89.0, 91.0)})
    result = earnings_moves(bars, [ev(D(2025, 10, 29))], as_of=AS_OF)
    assert only_move(result).close == pytest.approx(-0.09)
    assert result.skipped == ()


def test_keeps_the_max_events_most_recent_first() -> None:
    days = [D(2025, m, 10) for m in range(1, 13)]  # 12 monthly "events", > 20 days apart
    days = [sessions(d, d + dt.timedelta(days=6))[0] for d in days]  # move to a session day
    result = earnings_moves(make_bars(), [ev(d) for d in days], as_of=AS_OF, max_events=5)
    assert [m.event.date for m in result.moves] == sorted(days, reverse=True)[:5]
    assert len(result.skipped) == 7
    assert all("most recent" in why for _, why in result.skipped)


def test_dirty_bars_are_cleaned() -> None:
    # Reversed order, a duplicated day (the last valid one wins), and invalid bars are ignored:
    # zero price, NaN price, high < low.
    good = make_bars({D(2025, 4, 29): (104.0, 107.0, 103.0, 105.0)})
    dirty = list(reversed(good))
    dirty.append(Bar(D(2025, 4, 29), 0.0, 107.0, 103.0, 105.0, 1))
    dirty.append(Bar(D(2025, 4, 28), math.nan, 101.0, 99.0, 100.0, 1))
    dirty.append(Bar(D(2025, 4, 28), 100.0, 98.0, 99.0, 100.0, 1))
    dirty.insert(0, Bar(D(2025, 4, 29), 1.0, 1.0, 1.0, 1.0, 1))  # earlier listing: superseded
    assert clean_bars(dirty) == good
    m = only_move(earnings_moves(dirty, [ev(D(2025, 4, 29))], as_of=AS_OF))
    assert m.close == pytest.approx(0.05)


def test_volume_ratio() -> None:
    # The 10 sessions before the reference (Mon 04-28) trade 1,000,000; reaction 3,500,000 -> 3.5.
    bars = make_bars(volumes={D(2025, 4, 29): 3_500_000, D(2025, 4, 28): 9_999_999})
    m = only_move(earnings_moves(bars, [ev(D(2025, 4, 29))], as_of=AS_OF))
    assert m.volume_ratio == pytest.approx(3.5)


def test_volume_ratio_none_without_ten_prior_sessions_or_volume() -> None:
    # Bars start 2025-04-21: only 5 sessions before the reference Mon 04-28.
    short = make_bars(start=D(2025, 4, 21))
    assert only_move(earnings_moves(short, [ev(D(2025, 4, 29))], as_of=AS_OF)).volume_ratio is None
    zero = make_bars(volumes={D(2025, 4, 29): 0})
    assert only_move(earnings_moves(zero, [ev(D(2025, 4, 29))], as_of=AS_OF)).volume_ratio is None


def test_recent_moves_sorts_and_truncates() -> None:
    events = [ev(D(2025, 3, 3)), ev(D(2025, 9, 3)), ev(D(2025, 6, 3))]
    moves = earnings_moves(make_bars(), events, as_of=AS_OF).moves
    picked = recent_moves(list(reversed(moves)), 2)
    assert [m.event.date for m in picked] == [D(2025, 9, 3), D(2025, 6, 3)]
    assert recent_moves(moves, 0) == ()


# --- property: never a NaN / inf, whatever the (finite) input ---------------------------------

_price = st.floats(min_value=-10.0, max_value=1e6, allow_nan=False, allow_infinity=False)
_bar = st.builds(
    Bar,
    st.dates(D(2025, 1, 1), D(2025, 3, 31)),
    _price,
    _price,
    _price,
    _price,
    st.integers(-5, 10**9),
)
_event = st.builds(
    EarningsEvent, st.just("X"), st.dates(D(2024, 12, 1), D(2025, 4, 30)), st.sampled_from(Timing)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_bar, max_size=60), st.lists(_event, max_size=8), st.integers(0, 12))
def test_never_nan_and_invariants(bars: list[Bar], events: list[EarningsEvent], n: int) -> None:
    result = earnings_moves(bars, events, as_of=D(2025, 4, 1), max_events=n)
    assert len(result.moves) <= n
    dates = [m.event.date for m in result.moves]
    assert dates == sorted(dates, reverse=True)
    for m in result.moves:
        assert m.timing_used is not Timing.UNKNOWN
        nums = [m.gap, m.close, m.range, m.max_excursion, m.ref_close]
        assert all(math.isfinite(x) for x in nums)
        assert m.volume_ratio is None or math.isfinite(m.volume_ratio)
        assert m.range >= 0
        assert m.ref_day < m.reaction_day < D(2025, 4, 1)
        assert (m.event.date - m.ref_day).days <= 5
        assert (m.reaction_day - m.event.date).days <= 5
