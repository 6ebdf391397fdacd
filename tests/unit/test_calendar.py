"""ivcrush_tui.calendar: NYSE sessions, entry window, earnings dates, expirations (METHODS §1, §7).

Holiday facts are from the NYSE holidays and trading-hours page
(nyse.com/markets/hours-calendars); the 2025-01-09 closure is the NYSE notice for the National Day
of Mourning for President Jimmy Carter. DST dates: US Energy Policy Act 2005 (2nd Sunday of March,
1st Sunday of November): 2026-03-08 and 2026-11-01.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivcrush_tui.calendar import (
    NY,
    ExpirationInfo,
    MarketState,
    Session,
    TradingCalendar,
    default_calendar,
    ny_date,
    session_from_ny,
)
from ivcrush_tui.domain import Timing

D = dt.date
UTC = dt.UTC


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, s, tzinfo=NY)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, s, tzinfo=UTC)


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar()


# -- DST weeks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "open_utc", "close_utc"),
    [
        (D(2026, 3, 6), utc(2026, 3, 6, 14, 30), utc(2026, 3, 6, 21)),  # EST, pre spring fwd
        (D(2026, 3, 9), utc(2026, 3, 9, 13, 30), utc(2026, 3, 9, 20)),  # EDT, after
        (D(2026, 10, 30), utc(2026, 10, 30, 13, 30), utc(2026, 10, 30, 20)),  # EDT, pre fall back
        (D(2026, 11, 2), utc(2026, 11, 2, 14, 30), utc(2026, 11, 2, 21)),  # EST, after
    ],
)
def test_session_times_in_utc_across_dst(
    cal: TradingCalendar, day: dt.date, open_utc: dt.datetime, close_utc: dt.datetime
) -> None:
    sess = cal.session(day)
    assert sess is not None
    assert sess.open == open_utc
    assert sess.close == close_utc
    assert sess.open.utcoffset() == dt.timedelta(0)
    assert not sess.early_close
    assert cal.entry_window(day) == (close_utc - dt.timedelta(hours=1), close_utc)


def test_dst_sundays_are_closed(cal: TradingCalendar) -> None:
    assert not cal.is_session(D(2026, 3, 8))
    assert not cal.is_session(D(2026, 11, 1))
    assert cal.next_session(D(2026, 3, 6)) == D(2026, 3, 9)
    assert cal.previous_session(D(2026, 11, 2)) == D(2026, 10, 30)


@pytest.mark.parametrize(
    ("now", "state"),
    [
        # Monday 2026-03-09, EDT (UTC-4)
        (utc(2026, 3, 9, 7, 59, 59), MarketState.CLOSED),
        (utc(2026, 3, 9, 8, 0), MarketState.PREMARKET),  # 04:00 EDT
        (utc(2026, 3, 9, 13, 29, 59), MarketState.PREMARKET),
        (utc(2026, 3, 9, 13, 30), MarketState.REGULAR),  # 09:30 EDT
        (utc(2026, 3, 9, 19, 59, 59), MarketState.REGULAR),
        (utc(2026, 3, 9, 20, 0), MarketState.AFTER_HOURS),  # 16:00 EDT
        (utc(2026, 3, 9, 23, 59, 59), MarketState.AFTER_HOURS),
        (utc(2026, 3, 10, 0, 0), MarketState.CLOSED),  # 20:00 EDT
        # Friday 2026-03-06, EST (UTC-5)
        (utc(2026, 3, 6, 8, 59), MarketState.CLOSED),  # 03:59 EST
        (utc(2026, 3, 6, 9, 0), MarketState.PREMARKET),
        (utc(2026, 3, 6, 14, 29, 59), MarketState.PREMARKET),
        (utc(2026, 3, 6, 14, 30), MarketState.REGULAR),
        (utc(2026, 3, 6, 21, 0), MarketState.AFTER_HOURS),
        (utc(2026, 3, 7, 0, 59, 59), MarketState.AFTER_HOURS),  # Sat in UTC, Fri 19:59 in NY
        (utc(2026, 3, 7, 1, 0), MarketState.CLOSED),
        # Sunday of the change and the Monday after fall back
        (utc(2026, 3, 8, 15, 0), MarketState.CLOSED),
        (utc(2026, 11, 2, 14, 29), MarketState.PREMARKET),  # 09:29 EST
        (utc(2026, 11, 2, 14, 30), MarketState.REGULAR),
        (utc(2026, 10, 30, 13, 30), MarketState.REGULAR),  # 09:30 EDT
    ],
)
def test_market_state_edges(cal: TradingCalendar, now: dt.datetime, state: MarketState) -> None:
    assert cal.market_state(now) is state


def test_market_state_accepts_any_aware_zone(cal: TradingCalendar) -> None:
    assert cal.market_state(ny(2026, 3, 9, 9, 30)) is MarketState.REGULAR
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert cal.market_state(dt.datetime(2026, 3, 9, 22, 30, tzinfo=tokyo)) is MarketState.REGULAR


def test_minutes_to_entry_window_across_spring_forward(cal: TradingCalendar) -> None:
    # Fri 16:00 EST (21:00 UTC) -> Mon 15:00 EDT (19:00 UTC): 70 real hours (71 wall-clock).
    assert cal.minutes_to_entry_window(ny(2026, 3, 6, 16)) == pytest.approx(70 * 60)
    assert cal.next_entry_window(ny(2026, 3, 6, 16)) == (utc(2026, 3, 9, 19), utc(2026, 3, 9, 20))


def test_pricing_time_counts_real_hours_across_dst(cal: TradingCalendar) -> None:
    # Fri 16:00 -> next Fri 16:00 spans the spring-forward night: 7 days minus 1 hour.
    assert cal.pricing_time_years(ny(2026, 3, 6, 16), D(2026, 3, 13)) == pytest.approx(
        167 / 24 / 365, rel=1e-12
    )
    # ... and the fall-back night: 7 days plus 1 hour.
    assert cal.pricing_time_years(ny(2026, 10, 30, 16), D(2026, 11, 6)) == pytest.approx(
        169 / 24 / 365, rel=1e-12
    )


# -- holidays and half days -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 11, 26),  # Thanksgiving
        D(2026, 4, 3),  # Good Friday
        D(2026, 6, 19),  # Juneteenth
        D(2027, 6, 18),  # Juneteenth observed (June 19, 2027 is a Saturday)
        D(2026, 7, 3),  # Independence Day observed (July 4, 2026 is a Saturday)
        D(2025, 7, 4),
        D(2025, 12, 25),
        D(2026, 12, 25),
        D(2027, 1, 1),
        D(2021, 12, 24),  # Christmas observed (Dec 25, 2021 is a Saturday)
        D(2025, 1, 9),  # Day of Mourning (Carter): one-off, only the library knows
        D(2040, 3, 30),  # Good Friday 2040 (Easter 2040-04-01): computed, never hand-typed
    ],
)
def test_holidays_are_closed(cal: TradingCalendar, day: dt.date) -> None:
    assert day.weekday() < 5
    assert not cal.is_session(day)
    assert cal.session(day) is None
    assert cal.entry_window(day) is None
    assert cal.market_state(ny(day.year, day.month, day.day, 11)) is MarketState.CLOSED


@pytest.mark.parametrize(
    "day",
    [
        D(2021, 12, 31),  # no Friday observance of New Year (2022-01-01 Sat)
        D(2026, 7, 2),  # the Thursday before an observed July 3 is a full day
        D(2025, 12, 26),
        D(2027, 6, 17),
        D(2025, 1, 8),
        D(2025, 1, 10),
    ],
)
def test_full_sessions_next_to_holidays(cal: TradingCalendar, day: dt.date) -> None:
    sess = cal.session(day)
    assert sess is not None
    assert not sess.early_close
    assert sess.close == ny(day.year, day.month, day.day, 16)


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 11, 27),  # day after Thanksgiving
        D(2025, 11, 28),
        D(2025, 7, 3),  # day before Independence Day
        D(2025, 12, 24),  # Christmas Eve
        D(2026, 12, 24),
    ],
)
def test_half_days_close_at_13(cal: TradingCalendar, day: dt.date) -> None:
    sess = cal.session(day)
    assert sess is not None
    assert sess.early_close
    assert sess.open == ny(day.year, day.month, day.day, 9, 30)
    assert sess.close == ny(day.year, day.month, day.day, 13)
    assert cal.entry_window(day) == (
        ny(day.year, day.month, day.day, 12),
        ny(day.year, day.month, day.day, 13),
    )


def test_day_after_thanksgiving_in_utc(cal: TradingCalendar) -> None:
    # EST (UTC-5): close 13:00 ET = 18:00 UTC; entry window 17:00-18:00 UTC.
    assert cal.entry_window(D(2026, 11, 27)) == (utc(2026, 11, 27, 17), utc(2026, 11, 27, 18))
    assert cal.market_state(ny(2026, 11, 27, 12, 59)) is MarketState.REGULAR
    assert cal.market_state(ny(2026, 11, 27, 13, 0)) is MarketState.AFTER_HOURS
    assert cal.minutes_to_entry_window(ny(2026, 11, 27, 11, 30)) == pytest.approx(30.0)
    assert cal.minutes_to_entry_window(ny(2026, 11, 27, 12, 30)) == 0.0


def test_sessions_between_and_neighbours(cal: TradingCalendar) -> None:
    assert cal.sessions_between(D(2026, 3, 30), D(2026, 4, 6)) == [
        D(2026, 3, 30),
        D(2026, 3, 31),
        D(2026, 4, 1),
        D(2026, 4, 2),
        D(2026, 4, 6),
    ]
    assert cal.sessions_between(D(2025, 12, 23), D(2026, 1, 5)) == [
        D(2025, 12, 23),
        D(2025, 12, 24),
        D(2025, 12, 26),
        D(2025, 12, 29),
        D(2025, 12, 30),
        D(2025, 12, 31),
        D(2026, 1, 2),
        D(2026, 1, 5),
    ]
    assert cal.sessions_between(D(2026, 4, 3), D(2026, 4, 3)) == []
    assert cal.sessions_between(D(2026, 4, 6), D(2026, 4, 2)) == []
    assert cal.next_session(D(2026, 11, 25)) == D(2026, 11, 27)
    assert cal.previous_session(D(2026, 11, 27)) == D(2026, 11, 25)
    assert cal.next_session(D(2025, 12, 31)) == D(2026, 1, 2)
    assert cal.previous_session(D(2026, 1, 2)) == D(2025, 12, 31)
    assert cal.next_session(D(2026, 3, 9)) == D(2026, 3, 10)  # strictly after


def test_2026_session_count_matches_weekdays_minus_library_holidays(cal: TradingCalendar) -> None:
    # 2026 has 261 weekdays and ten NYSE weekday holidays -> 251 sessions.
    assert len(cal.sessions_between(D(2026, 1, 1), D(2026, 12, 31))) == 251


# -- earnings dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report", "timing", "entry", "reaction"),
    [
        (D(2026, 3, 16), Timing.BMO, D(2026, 3, 13), D(2026, 3, 16)),  # BMO Monday -> Friday entry
        (D(2026, 3, 16), Timing.DMH, D(2026, 3, 13), D(2026, 3, 16)),
        (D(2026, 3, 16), Timing.AMC, D(2026, 3, 16), D(2026, 3, 17)),
        (D(2026, 3, 13), Timing.AMC, D(2026, 3, 13), D(2026, 3, 16)),  # AMC Friday -> Monday
        (D(2026, 11, 25), Timing.AMC, D(2026, 11, 25), D(2026, 11, 27)),  # over Thanksgiving
        (D(2026, 5, 26), Timing.BMO, D(2026, 5, 22), D(2026, 5, 26)),  # after Memorial Day
        # UNKNOWN: entered as BMO (never late), reaction as AMC (covers both)
        (D(2026, 3, 17), Timing.UNKNOWN, D(2026, 3, 16), D(2026, 3, 18)),
        # report day closed (Good Friday, a Saturday)
        (D(2026, 4, 3), Timing.BMO, D(2026, 4, 2), D(2026, 4, 6)),
        (D(2026, 4, 3), Timing.AMC, D(2026, 4, 2), D(2026, 4, 6)),
        (D(2026, 3, 14), Timing.AMC, D(2026, 3, 13), D(2026, 3, 16)),
        (D(2026, 3, 14), Timing.BMO, D(2026, 3, 13), D(2026, 3, 16)),
    ],
)
def test_entry_and_reaction(
    cal: TradingCalendar, report: dt.date, timing: Timing, entry: dt.date, reaction: dt.date
) -> None:
    assert cal.entry_date(report, timing) == entry
    assert cal.reaction_session(report, timing) == reaction


EXPS = [D(2026, 3, 27), D(2026, 3, 13), D(2026, 3, 20)]  # deliberately unsorted


@pytest.mark.parametrize(
    ("report", "timing", "expected"),
    [
        (D(2026, 3, 16), Timing.BMO, D(2026, 3, 20)),
        (D(2026, 3, 20), Timing.BMO, D(2026, 3, 20)),  # same-day expiration qualifies
        (D(2026, 3, 20), Timing.DMH, D(2026, 3, 20)),
        (D(2026, 3, 19), Timing.AMC, D(2026, 3, 20)),  # reaction Fri = expiration
        (D(2026, 3, 20), Timing.AMC, D(2026, 3, 27)),  # reaction Monday
        (D(2026, 3, 20), Timing.UNKNOWN, D(2026, 3, 27)),  # chosen as if AMC
        (D(2026, 3, 12), Timing.UNKNOWN, D(2026, 3, 13)),
        (D(2026, 3, 27), Timing.AMC, None),  # reaction 2026-03-30 is after every expiration
    ],
)
def test_event_expiration(
    cal: TradingCalendar, report: dt.date, timing: Timing, expected: dt.date | None
) -> None:
    assert cal.event_expiration(EXPS, report, timing) == expected


def test_event_expiration_empty_and_holiday_week(cal: TradingCalendar) -> None:
    assert cal.event_expiration([], D(2026, 3, 16), Timing.BMO) is None
    # AMC Thursday before Good Friday: reaction Monday 04-06, the moved Thursday expiry is too early
    exps = (D(2026, 4, 2), D(2026, 4, 10))
    assert cal.event_expiration(exps, D(2026, 4, 2), Timing.AMC) == D(2026, 4, 10)
    assert cal.event_expiration(exps, D(2026, 4, 1), Timing.AMC) == D(2026, 4, 2)


def test_event_time_and_minutes_to_event(cal: TradingCalendar) -> None:
    assert cal.event_time(D(2026, 3, 16), Timing.BMO) == utc(2026, 3, 16, 13, 30)
    assert cal.event_time(D(2026, 3, 16), Timing.UNKNOWN) == utc(2026, 3, 16, 13, 30)
    assert cal.event_time(D(2026, 3, 16), Timing.DMH) == utc(2026, 3, 16, 16)
    assert cal.event_time(D(2026, 3, 6), Timing.AMC) == utc(2026, 3, 6, 21)  # EST
    assert cal.event_time(D(2026, 11, 27), Timing.AMC) == utc(2026, 11, 27, 18)  # half day 13:00
    assert cal.event_time(D(2026, 3, 14), Timing.AMC) == ny(2026, 3, 14, 16)  # closed: nominal
    assert cal.minutes_to_event(utc(2026, 3, 16, 12, 30), D(2026, 3, 16), Timing.BMO) == 60.0
    assert cal.minutes_to_event(ny(2026, 3, 6, 17), D(2026, 3, 6), Timing.AMC) == -60.0
    assert cal.minutes_to_event(ny(2026, 3, 6, 16), D(2026, 3, 9), Timing.BMO) == pytest.approx(
        (2 * 24 + 17.5 - 1) * 60  # Fri 16:00 EST -> Mon 09:30 EDT, one hour lost to DST
    )


# -- expirations ----------------------------------------------------------------------------------


def test_listed_friday_expiration(cal: TradingCalendar) -> None:
    assert cal.listed_friday_expiration(D(2026, 4, 3)) == D(2026, 4, 2)  # Good Friday
    assert cal.listed_friday_expiration(D(2026, 6, 19)) == D(2026, 6, 18)  # Juneteenth
    assert cal.listed_friday_expiration(D(2026, 7, 3)) == D(2026, 7, 2)
    assert cal.listed_friday_expiration(D(2026, 3, 20)) == D(2026, 3, 20)
    assert cal.listed_friday_expiration(D(2026, 11, 27)) == D(2026, 11, 27)  # half day still trades


def test_expiration_info_holiday_moved_weekly(cal: TradingCalendar) -> None:
    info = cal.expiration_info(D(2026, 4, 2), ny(2026, 3, 30, 10))
    assert info == ExpirationInfo(
        expiration=D(2026, 4, 2),
        days_to_expiration=3,
        cycle="weekly",  # April's monthly is 2026-04-17
        settlement="PM",
        holiday_adjusted=True,
    )


def test_expiration_info_monthly_moved_by_juneteenth(cal: TradingCalendar) -> None:
    info = cal.expiration_info(D(2026, 6, 18), ny(2026, 6, 1, 10))
    assert info.cycle == "monthly"
    assert info.holiday_adjusted
    assert info.days_to_expiration == 17
    assert cal.expiration_info(D(2026, 6, 12), ny(2026, 6, 1, 10)).cycle == "weekly"


def test_expiration_info_regular_monthly_and_settlement(cal: TradingCalendar) -> None:
    now = ny(2026, 3, 16, 22)  # 02:00 UTC on the 17th: days count from the New York date
    info = cal.expiration_info(D(2026, 3, 20), now)
    assert (info.cycle, info.settlement, info.holiday_adjusted) == ("monthly", "PM", False)
    assert info.days_to_expiration == 4
    assert cal.expiration_info(D(2026, 3, 20), now, root="SPX").settlement == "AM"
    assert cal.expiration_info(D(2026, 3, 20), now, root="spx").settlement == "AM"
    assert cal.expiration_info(D(2026, 3, 20), now, root="SPXW").settlement == "PM"
    assert cal.expiration_info(D(2026, 3, 20), now, root="AAPL").settlement == "PM"
    thursday = cal.expiration_info(D(2026, 3, 19), now)  # a daily/Thursday listing, Friday open
    assert (thursday.cycle, thursday.holiday_adjusted) == ("weekly", False)
    assert cal.expiration_info(D(2026, 3, 13), now).days_to_expiration == -3


# -- time to expiration ---------------------------------------------------------------------------


def test_pricing_and_trading_time_hand_checked(cal: TradingCalendar) -> None:
    now = ny(2026, 3, 16, 15)  # Monday 15:00 ET; expiration Friday 2026-03-20
    # calendar: Mon 15:00 -> Fri 16:00 = 4 days + 1 hour = 97 h
    assert cal.pricing_time_years(now, D(2026, 3, 20)) == pytest.approx(97 / 24 / 365, rel=1e-12)
    # trading: 1 of 6.5 session hours left today, plus Tue, Wed, Thu, Fri
    assert cal.trading_time_years(now, D(2026, 3, 20)) == pytest.approx(
        (1 / 6.5 + 4) / 252, rel=1e-12
    )


@pytest.mark.parametrize(
    ("now", "expiration", "sessions"),
    [
        (ny(2026, 3, 16, 8), D(2026, 3, 20), 5.0),  # before the open: all of today ahead
        (ny(2026, 3, 16, 17), D(2026, 3, 20), 4.0),  # after the close
        (ny(2026, 3, 14, 12), D(2026, 3, 20), 5.0),  # Saturday
        (ny(2026, 3, 30, 15), D(2026, 4, 2), 1 / 6.5 + 3),  # week of Good Friday
        (ny(2026, 11, 27, 12), D(2026, 11, 27), 1 / 3.5),  # half day 09:30-13:00, 1 h left
        (ny(2026, 3, 20, 16), D(2026, 3, 20), 0.0),  # expiration close
        (ny(2026, 3, 23, 10), D(2026, 3, 20), 0.0),  # past
        (ny(2026, 3, 6, 16), D(2026, 3, 13), 5.0),  # across the DST change
    ],
)
def test_trading_time(
    cal: TradingCalendar, now: dt.datetime, expiration: dt.date, sessions: float
) -> None:
    assert cal.trading_time_years(now, expiration) == pytest.approx(sessions / 252, abs=1e-15)


def test_pricing_time_to_a_half_day_close(cal: TradingCalendar) -> None:
    # Friday 2026-11-27 (after Thanksgiving) closes at 13:00 ET (METHODS §7): from Wednesday
    # 15:00 ET that is 2 days - 2 hours = 46 h, not the 49 h to 16:00.
    assert cal.session(D(2026, 11, 27)).early_close  # type: ignore[union-attr]
    t = cal.pricing_time_years(ny(2026, 11, 25, 15), D(2026, 11, 27))
    assert t == pytest.approx(46 / 24 / 365, rel=1e-12)
    # On the day: 12:00 ET is one hour before the close; 13:30 ET is past (was 2.5 h left).
    assert cal.pricing_time_years(ny(2026, 11, 27, 12), D(2026, 11, 27)) == pytest.approx(
        1 / 24 / 365, rel=1e-12
    )
    assert cal.pricing_time_years(ny(2026, 11, 27, 13, 30), D(2026, 11, 27)) == 0.0
    # A regular Friday still counts to 16:00 ET.
    assert cal.pricing_time_years(ny(2026, 12, 2, 15), D(2026, 12, 4)) == pytest.approx(
        49 / 24 / 365, rel=1e-12
    )


def test_pricing_time_follows_a_provider_close_override() -> None:
    day = D(2026, 3, 20)
    early = session_from_ny(day, dt.time(9, 30), dt.time(13, 0))
    cal = TradingCalendar(overrides={day: early})
    assert cal.pricing_time_years(ny(2026, 3, 20, 12), day) == pytest.approx(1 / 24 / 365)


def test_pricing_time_zero_when_past(cal: TradingCalendar) -> None:
    assert cal.pricing_time_years(ny(2026, 3, 20, 16), D(2026, 3, 20)) == 0.0
    assert cal.pricing_time_years(ny(2026, 3, 23, 10), D(2026, 3, 20)) == 0.0
    assert cal.pricing_time_years(ny(2026, 3, 20, 15), D(2026, 3, 20)) == pytest.approx(
        1 / 24 / 365
    )


# -- entry window ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "minutes"),
    [
        (ny(2026, 3, 16, 14), 60.0),  # before
        (ny(2026, 3, 16, 15), 0.0),  # at the start: inside
        (ny(2026, 3, 16, 15, 30), 0.0),  # inside
        (ny(2026, 3, 16, 15, 59, 59), 0.0),
        (ny(2026, 3, 16, 16), 23 * 60.0),  # the end rolls to Tuesday 15:00
        (ny(2026, 3, 16, 17), 22 * 60.0),  # after
        (ny(2026, 3, 13, 16, 30), 70.5 * 60),  # Friday after -> Monday
        (ny(2026, 11, 25, 16, 30), 43.5 * 60),  # Wed -> Fri half day 12:00 (Thanksgiving)
        (ny(2026, 4, 3, 10), (3 * 24 + 5) * 60.0),  # Good Friday -> Monday 15:00
    ],
)
def test_minutes_to_entry_window(cal: TradingCalendar, now: dt.datetime, minutes: float) -> None:
    assert cal.minutes_to_entry_window(now) == pytest.approx(minutes)


def test_next_entry_window_current_or_next(cal: TradingCalendar) -> None:
    assert cal.next_entry_window(ny(2026, 3, 16, 15, 30)) == (
        ny(2026, 3, 16, 15),
        ny(2026, 3, 16, 16),
    )
    assert cal.next_entry_window(ny(2026, 3, 16, 9)) == (ny(2026, 3, 16, 15), ny(2026, 3, 16, 16))
    assert cal.next_entry_window(ny(2026, 3, 16, 16)) == (ny(2026, 3, 17, 15), ny(2026, 3, 17, 16))


# -- provider overrides ---------------------------------------------------------------------------


def test_overrides_take_precedence() -> None:
    overrides: dict[dt.date, Session | None] = {
        D(2026, 3, 16): None,  # provider: closed (e.g. an unscheduled closure)
        D(2026, 3, 17): session_from_ny(D(2026, 3, 17), dt.time(9, 30), dt.time(13)),  # half day
        D(2026, 11, 27): session_from_ny(D(2026, 11, 27), dt.time(9, 30), dt.time(16)),  # full
    }
    cal = TradingCalendar(overrides)
    assert not cal.is_session(D(2026, 3, 16))
    assert cal.market_state(ny(2026, 3, 16, 11)) is MarketState.CLOSED
    tue = cal.session(D(2026, 3, 17))
    assert tue is not None
    assert tue.early_close
    assert tue.close == utc(2026, 3, 17, 17)
    assert cal.entry_window(D(2026, 3, 17)) == (ny(2026, 3, 17, 12), ny(2026, 3, 17, 13))
    # Friday 16:30 -> the provider's half day Tuesday 12:00 (Monday closed): 3 days - 4.5 h
    assert cal.minutes_to_entry_window(ny(2026, 3, 13, 16, 30)) == pytest.approx(91.5 * 60)
    assert cal.next_session(D(2026, 3, 13)) == D(2026, 3, 17)
    assert cal.entry_date(D(2026, 3, 17), Timing.BMO) == D(2026, 3, 13)
    fri = cal.session(D(2026, 11, 27))
    assert fri is not None
    assert not fri.early_close
    assert fri.close == ny(2026, 11, 27, 16)
    # days the provider does not mention still follow the library
    assert not cal.is_session(D(2026, 11, 26))
    assert cal.trading_time_years(ny(2026, 3, 13, 17), D(2026, 3, 20)) == pytest.approx(4 / 252)


def test_override_can_open_a_library_holiday() -> None:
    cal = TradingCalendar(
        {D(2026, 4, 3): session_from_ny(D(2026, 4, 3), dt.time(9, 30), dt.time(16))}
    )
    assert cal.is_session(D(2026, 4, 3))
    assert cal.listed_friday_expiration(D(2026, 4, 3)) == D(2026, 4, 3)


def test_overrides_are_validated() -> None:
    good = session_from_ny(D(2026, 3, 17), dt.time(9, 30), dt.time(16))
    with pytest.raises(ValueError, match="holds a session"):
        TradingCalendar({D(2026, 3, 16): good})
    naive = Session(D(2026, 3, 17), dt.datetime(2026, 3, 17, 13, 30), good.close, False)
    with pytest.raises(ValueError, match="naive"):
        TradingCalendar({D(2026, 3, 17): naive})
    with pytest.raises(ValueError, match="not after"):
        session_from_ny(D(2026, 3, 17), dt.time(16), dt.time(9, 30))


def test_override_times_are_normalised_to_utc() -> None:
    sess = Session(D(2026, 3, 17), ny(2026, 3, 17, 9, 30), ny(2026, 3, 17, 16), False)
    got = TradingCalendar({D(2026, 3, 17): sess}).session(D(2026, 3, 17))
    assert got is not None
    assert got.open.tzinfo is UTC
    assert got.open == utc(2026, 3, 17, 13, 30)


# -- input checking and caching -------------------------------------------------------------------


def test_naive_now_is_rejected(cal: TradingCalendar) -> None:
    naive = dt.datetime(2026, 3, 16, 15)
    for call in (
        lambda: cal.market_state(naive),
        lambda: cal.minutes_to_entry_window(naive),
        lambda: cal.next_entry_window(naive),
        lambda: cal.pricing_time_years(naive, D(2026, 3, 20)),
        lambda: cal.trading_time_years(naive, D(2026, 3, 20)),
        lambda: cal.expiration_info(D(2026, 3, 20), naive),
        lambda: cal.minutes_to_event(naive, D(2026, 3, 20), Timing.BMO),
        lambda: ny_date(naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_datetime_as_day_is_rejected(cal: TradingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_session(utc(2026, 3, 16, 23))  # a datetime is a date subclass


def test_ny_date_uses_exchange_time() -> None:
    assert ny_date(utc(2026, 3, 17, 2)) == D(2026, 3, 16)
    assert ny_date(utc(2026, 3, 17, 5)) == D(2026, 3, 17)


def test_default_calendar_is_shared() -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar().is_session(D(2026, 3, 16))


# -- properties -----------------------------------------------------------------------------------

_days = st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31))
_instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(day=_days)
def test_neighbours_are_sessions(day: dt.date) -> None:
    cal = default_calendar()
    nxt, prev = cal.next_session(day), cal.previous_session(day)
    assert prev < day < nxt
    assert cal.is_session(nxt)
    assert cal.is_session(prev)
    assert cal.sessions_between(prev + dt.timedelta(days=1), nxt - dt.timedelta(days=1)) == (
        [day] if cal.is_session(day) else []
    )


@settings(max_examples=200, deadline=None)
@given(now=_instants, expiration=_days)
def test_times_are_finite_and_consistent(now: dt.datetime, expiration: dt.date) -> None:
    cal = default_calendar()
    t_cal = cal.pricing_time_years(now, expiration)
    t_trade = cal.trading_time_years(now, expiration)
    assert 0.0 <= t_cal < 12
    assert 0.0 <= t_trade < 12
    today = ny_date(now)
    if expiration > today:
        whole = len(cal.sessions_between(today + dt.timedelta(days=1), expiration))
        assert whole <= t_trade * 252 <= whole + 1 + 1e-9
    minutes = cal.minutes_to_entry_window(now)
    assert 0.0 <= minutes < 14 * 24 * 60
    start, end = cal.next_entry_window(now)
    assert end > now
    assert (minutes == 0.0) == (start <= now)
