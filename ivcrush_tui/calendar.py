"""NYSE sessions, the entry window, earnings dates and option-expiration time (METHODS §1 and §7).

Pure: zoneinfo plus the maintained `holidays` package, no I/O and no wall clock. Calendar days
are `datetime.date` in exchange time (America/New_York); every returned instant is an aware UTC
datetime. Every `now` argument must be timezone-aware (naive datetimes raise ValueError, because
guessing the zone of a trading timestamp is how a countdown silently goes wrong by hours).

Holidays and half days (13:00 ET closes) come from `holidays.financial_holidays("NYSE")`; in live
mode the provider's market calendar is passed as `overrides` and takes precedence day by day.
A process may keep the library's per-year results in a `HolidayYears` store (`use_holiday_store`,
set up by the runtime): the only I/O, injected, so the package is not imported every process.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from ivcrush_tui.domain import Timing

__all__ = [
    "NY",
    "UTC",
    "ExpirationInfo",
    "HolidayYears",
    "MarketState",
    "Session",
    "TradingCalendar",
    "default_calendar",
    "ny_date",
    "session_from_ny",
    "use_holiday_store",
]

NY = ZoneInfo("America/New_York")
UTC = dt.UTC

REGULAR_OPEN = dt.time(9, 30)
REGULAR_CLOSE = dt.time(16, 0)
HALF_DAY_CLOSE = dt.time(13, 0)
PREMARKET_START = dt.time(4, 0)
AFTER_HOURS_END = dt.time(20, 0)
DMH_EVENT_TIME = dt.time(12, 0)
ENTRY_WINDOW = dt.timedelta(hours=1)

DAYS_PER_YEAR = 365.0  # calendar-time convention of METHODS §7
TRADING_DAYS_PER_YEAR = 252.0
_SECONDS_PER_YEAR = DAYS_PER_YEAR * 86_400.0

# Roots whose options settle on the morning (SOQ) print; every other root (equities, SPXW, NDXP,
# RUTW, ETFs) is PM-settled.
AM_SETTLED_ROOTS = frozenset({"SPX", "NDX", "RUT", "VIX", "VIXW"})

# Longest run of consecutive closed days searched before giving up (only a broken override map
# could exceed it; the NYSE's longest closure since 1914 was under two weeks).
_MAX_CLOSED_RUN = 60


class MarketState(StrEnum):
    PREMARKET = "premarket"
    REGULAR = "regular"
    AFTER_HOURS = "after_hours"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Session:
    """One regular trading session: `day` in exchange time, `open`/`close` aware UTC instants."""

    day: dt.date
    open: dt.datetime
    close: dt.datetime
    early_close: bool


@dataclass(frozen=True, slots=True)
class ExpirationInfo:
    """Facts about one expiration date as seen at `now`.

    days_to_expiration: calendar days from now's New York date (negative once past).
    holiday_adjusted: True when the weekly/monthly Friday expiration moved earlier (normally to
    Thursday) because the Friday is not a session.
    """

    expiration: dt.date
    days_to_expiration: int
    cycle: Literal["weekly", "monthly"]
    settlement: Literal["AM", "PM"]
    holiday_adjusted: bool


def _require_aware(now: dt.datetime) -> dt.datetime:
    """`now` as UTC; ValueError when naive (see the module docstring)."""
    if not isinstance(now, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now.isoformat()}: pass an aware datetime (UTC)")
    return now.astimezone(UTC)


def _require_day(day: dt.date) -> dt.date:
    # datetime subclasses date; silently taking .date() of an aware UTC instant would give the
    # wrong exchange day in the evening, so refuse it.
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"expected a datetime.date (exchange day), got {type(day).__name__}")
    return day


def _ny_instant(day: dt.date, at: dt.time) -> dt.datetime:
    """The UTC instant of wall-clock time `at` in New York on `day` (DST-safe via zoneinfo)."""
    return dt.datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=NY).astimezone(UTC)


def ny_date(now: dt.datetime) -> dt.date:
    """The New York calendar date of the aware instant `now` (ValueError when naive)."""
    return _require_aware(now).astimezone(NY).date()


def session_from_ny(
    day: dt.date, open_ny: dt.time, close_ny: dt.time, early_close: bool | None = None
) -> Session:
    """A Session from New York wall-clock open/close times (e.g. a provider calendar's "09:30").

    early_close defaults to "closes before 16:00 ET".
    """
    _require_day(day)
    if close_ny <= open_ny:
        raise ValueError(f"{day}: close {close_ny} is not after open {open_ny}")
    early = close_ny < REGULAR_CLOSE if early_close is None else early_close
    return Session(day, _ny_instant(day, open_ny), _ny_instant(day, close_ny), early)


YearDays = tuple[frozenset[dt.date], frozenset[dt.date]]  # (closed days, half days) of a year


class HolidayYears(Protocol):
    """A persistent copy of what the holidays package says about each year (see the module)."""

    def load(self, year: int) -> YearDays | None:
        """The stored (closed days, half days) of `year`, None when not stored (or stale)."""
        ...

    def save(self, years: Mapping[int, YearDays]) -> None:
        """Store each year's days; failures are the store's to absorb (it is only a cache)."""
        ...


_holiday_store: HolidayYears | None = None
# Once the package is imported for a year the store lacks, the years around it are computed and
# stored too (~1 ms each): a scan in November asks for next year's sessions (January events and
# expirations), and the history matches past earnings to their exact sessions (METHODS §4) up to
# 12 quarters and a realised-vol window back: neither may cost the next process a second import.
_LIBRARY_SPAN = (-4, -3, -2, -1, 0, 1, 2)


def use_holiday_store(store: HolidayYears | None) -> None:
    """Keep the holidays package's per-year results in `store` from now on (None: no store).

    Importing the package costs ~0.25 s of CPU (every country and exchange), paid by each CLI
    process before its first analysis; a stored year costs a file read."""
    global _holiday_store
    _holiday_store = store
    _library_year.cache_clear()


@functools.lru_cache(maxsize=512)
def _library_year(year: int) -> YearDays:
    """(closed days, half days) of the NYSE in `year`: the store's copy, else the package's."""
    store = _holiday_store
    if store is not None and (stored := store.load(year)) is not None:
        return stored
    import holidays  # on first use only (see use_holiday_store)

    def compute(y: int) -> YearDays:
        closed = holidays.financial_holidays("NYSE", years=y, categories=("public",))
        half = holidays.financial_holidays("NYSE", years=y, categories=("half_day",))
        return frozenset(closed), frozenset(half)

    if store is None:
        return compute(year)
    span = (year + d for d in _LIBRARY_SPAN)
    computed = {y: compute(y) for y in span if y == year or store.load(y) is None}
    store.save(computed)
    return computed[year]


def _validated_override(day: dt.date, value: Session | None) -> Session | None:
    _require_day(day)
    if value is None:
        return None
    if value.day != day:
        raise ValueError(f"override keyed {day} holds a session for {value.day}")
    opened, closed = _require_aware(value.open), _require_aware(value.close)
    if closed <= opened:
        raise ValueError(f"override {day}: close {closed} is not after open {opened}")
    return Session(day, opened, closed, value.early_close)


@dataclass(frozen=True, slots=True)
class _YearTable:
    sessions: dict[dt.date, Session]
    ordinals: list[int]  # sorted date ordinals of the sessions, for bisect counting


def _third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


class TradingCalendar:
    """NYSE trading calendar; `overrides` (the provider's calendar) win over the library.

    overrides maps an exchange day to its Session, or to None for a closed day. Days it does not
    mention follow the holidays library. Invalid overrides raise ValueError at construction.
    Lookups are cached per year, so the instance is cheap to query for hundreds of tickers.
    """

    def __init__(self, overrides: Mapping[dt.date, Session | None] | None = None) -> None:
        self._overrides: dict[dt.date, Session | None] = {
            day: _validated_override(day, value) for day, value in (overrides or {}).items()
        }
        self._years: dict[int, _YearTable] = {}

    # -- sessions --------------------------------------------------------------------------

    def _year(self, year: int) -> _YearTable:
        table = self._years.get(year)
        if table is None:
            table = self._build_year(year)
            self._years[year] = table
        return table

    def _build_year(self, year: int) -> _YearTable:
        closed, half = _library_year(year)
        sessions: dict[dt.date, Session] = {}
        day = dt.date(year, 1, 1)
        one = dt.timedelta(days=1)
        while day.year == year:
            if day in self._overrides:
                found = self._overrides[day]
                if found is not None:
                    sessions[day] = found
            elif day.weekday() < 5 and day not in closed:
                early = day in half
                close = HALF_DAY_CLOSE if early else REGULAR_CLOSE
                sessions[day] = Session(
                    day, _ny_instant(day, REGULAR_OPEN), _ny_instant(day, close), early
                )
            day += one
        return _YearTable(sessions, sorted(d.toordinal() for d in sessions))

    def session(self, day: dt.date) -> Session | None:
        """The regular session on exchange day `day` (09:30-16:00 ET, 13:00 on a half day), or
        None when the exchange is closed."""
        return self._year(_require_day(day).year).sessions.get(day)

    def is_session(self, day: dt.date) -> bool:
        """True when `day` has a regular session."""
        return self.session(day) is not None

    def next_session(self, day: dt.date) -> dt.date:
        """The first session day strictly after `day`."""
        return self._step(day, 1)

    def previous_session(self, day: dt.date) -> dt.date:
        """The last session day strictly before `day`."""
        return self._step(day, -1)

    def _step(self, day: dt.date, direction: int) -> dt.date:
        step = dt.timedelta(days=direction)
        current = _require_day(day)
        for _ in range(_MAX_CLOSED_RUN):
            current += step
            if self.is_session(current):
                return current
        raise ValueError(f"no session within {_MAX_CLOSED_RUN} days of {day} (bad overrides?)")

    def sessions_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Session days from `start` to `end`, both inclusive, ascending ([] when start > end)."""
        _require_day(start)
        _require_day(end)
        out: list[dt.date] = []
        lo, hi = start.toordinal(), end.toordinal()
        for year in range(start.year, end.year + 1):
            ords = self._year(year).ordinals
            out.extend(
                dt.date.fromordinal(o)
                for o in ords[bisect.bisect_left(ords, lo) : bisect.bisect_right(ords, hi)]
            )
        return out

    def _count_sessions(self, after: dt.date, through: dt.date) -> int:
        """Number of sessions d with after < d <= through."""
        lo, hi = after.toordinal(), through.toordinal()
        count = 0
        for year in range(after.year, through.year + 1):
            ords = self._year(year).ordinals
            count += bisect.bisect_right(ords, hi) - bisect.bisect_right(ords, lo)
        return max(count, 0)

    # -- market state and the entry window ---------------------------------------------------

    def market_state(self, now: dt.datetime) -> MarketState:
        """Premarket 04:00 ET to the open, regular open to close, after hours from the close to
        20:00 ET, all on session days only; closed otherwise. Intervals are [start, end)."""
        utc = _require_aware(now)
        day = utc.astimezone(NY).date()
        sess = self.session(day)
        if sess is None:
            return MarketState.CLOSED
        if utc < sess.open:
            if utc >= _ny_instant(day, PREMARKET_START):
                return MarketState.PREMARKET
            return MarketState.CLOSED
        if utc < sess.close:
            return MarketState.REGULAR
        if utc < _ny_instant(day, AFTER_HOURS_END):
            return MarketState.AFTER_HOURS
        return MarketState.CLOSED

    def entry_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """(start, end) in UTC of the last hour of `day`'s session (15:00-16:00 ET, 12:00-13:00 ET
        on a half day), or None when `day` is closed."""
        sess = self.session(day)
        if sess is None:
            return None
        return max(sess.open, sess.close - ENTRY_WINDOW), sess.close

    def next_entry_window(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The entry window containing `now` ([start, end)), else the next one to start (UTC)."""
        utc = _require_aware(now)
        day = utc.astimezone(NY).date()
        window = self.entry_window(day)
        if window is not None and utc < window[1]:
            return window
        found = self.entry_window(self.next_session(day))
        assert found is not None  # next_session always returns a session day
        return found

    def minutes_to_entry_window(self, now: dt.datetime) -> float:
        """Minutes from `now` until the next entry window opens; 0.0 while inside one."""
        utc = _require_aware(now)
        start, _ = self.next_entry_window(utc)
        return max(0.0, (start - utc).total_seconds() / 60.0)

    # -- earnings dates ------------------------------------------------------------------------

    def reaction_session(self, report_day: dt.date, timing: Timing) -> dt.date:
        """The first session that trades on the news: BMO/DMH -> the report day (the next session
        if it is closed); AMC and UNKNOWN -> the session after the report day (UNKNOWN takes the
        later date so that an expiration chosen from it covers both cases)."""
        if timing in (Timing.BMO, Timing.DMH) and self.is_session(report_day):
            return report_day
        return self.next_session(report_day)

    def entry_date(self, report_day: dt.date, timing: Timing) -> dt.date:
        """The session on which the position is opened: AMC -> the report day (the previous
        session if closed); BMO/DMH/UNKNOWN -> the session before the report day (UNKNOWN is
        entered as if BMO, so never late)."""
        if timing is Timing.AMC and self.is_session(report_day):
            return report_day
        return self.previous_session(report_day)

    def event_expiration(
        self, expirations: Sequence[dt.date], report_day: dt.date, timing: Timing
    ) -> dt.date | None:
        """The first listed expiration on or after the reaction session (UNKNOWN as AMC), or None
        when none qualifies. `expirations` need not be sorted."""
        effective = Timing.AMC if timing is Timing.UNKNOWN else timing
        reaction = self.reaction_session(report_day, effective)
        eligible = [e for e in expirations if e >= reaction]
        return min(eligible) if eligible else None

    def event_time(self, report_day: dt.date, timing: Timing) -> dt.datetime:
        """Nominal UTC instant of the release: BMO and UNKNOWN at the open (09:30 ET), DMH at
        12:00 ET, AMC at the close of the report day (16:00 ET; 13:00 ET on a half day). When the
        report day is closed the regular 09:30/16:00 ET wall-clock times are used."""
        sess = self.session(report_day)
        if timing is Timing.DMH:
            return _ny_instant(report_day, DMH_EVENT_TIME)
        if timing is Timing.AMC:
            return sess.close if sess is not None else _ny_instant(report_day, REGULAR_CLOSE)
        return sess.open if sess is not None else _ny_instant(report_day, REGULAR_OPEN)

    def minutes_to_event(self, now: dt.datetime, report_day: dt.date, timing: Timing) -> float:
        """Minutes from `now` to event_time(); negative once the event time has passed."""
        utc = _require_aware(now)
        return (self.event_time(report_day, timing) - utc).total_seconds() / 60.0

    # -- expirations ---------------------------------------------------------------------------

    def listed_friday_expiration(self, friday: dt.date) -> dt.date:
        """The expiration date of the Friday cycle `friday`: that Friday, or the previous session
        when the Friday is not a session (e.g. Good Friday 2026-04-03 -> Thursday 2026-04-02)."""
        if self.is_session(friday):
            return friday
        return self.previous_session(friday)

    def _monthly_expiration(self, year: int, month: int) -> dt.date:
        return self.listed_friday_expiration(_third_friday(year, month))

    def expiration_info(
        self, expiration: dt.date, now: dt.datetime, root: str | None = None
    ) -> ExpirationInfo:
        """Cycle, settlement style and holiday adjustment of `expiration` as seen at `now`.

        monthly = the standard third-Friday expiration (or the session before it when that Friday
        is a holiday); settlement is AM only for the AM-settled index roots (SPX, NDX, RUT, VIX),
        PM otherwise (equity and ETF options, SPXW and other PM-settled weeklies).
        """
        _require_day(expiration)
        today = ny_date(now)
        monthly = expiration == self._monthly_expiration(expiration.year, expiration.month)
        adjusted = False
        weekday = expiration.weekday()
        if weekday < 4:
            friday = expiration + dt.timedelta(days=4 - weekday)
            adjusted = (
                not self.is_session(friday) and self.listed_friday_expiration(friday) == expiration
            )
        am = root is not None and root.strip().upper() in AM_SETTLED_ROOTS
        return ExpirationInfo(
            expiration=expiration,
            days_to_expiration=(expiration - today).days,
            cycle="monthly" if monthly else "weekly",
            settlement="AM" if am else "PM",
            holiday_adjusted=adjusted,
        )

    # -- time to expiration ----------------------------------------------------------------------

    def pricing_time_years(self, now: dt.datetime, expiration: dt.date) -> float:
        """Pricing time T in years: elapsed calendar time from `now` to the expiration session's
        actual close (16:00 ET; 13:00 ET on a half day; the provider's close when overridden),
        / 365 (METHODS §7); 0.0 once past. A day without a session (not a listed expiration in
        practice) counts to 16:00 ET. Elapsed time is computed in UTC, so a DST change in
        between counts its real 23 or 25 hours."""
        utc = _require_aware(now)
        sess = self.session(_require_day(expiration))
        close = sess.close if sess is not None else _ny_instant(expiration, REGULAR_CLOSE)
        seconds = (close - utc).total_seconds()
        return max(0.0, seconds) / _SECONDS_PER_YEAR

    def trading_time_years(self, now: dt.datetime, expiration: dt.date) -> float:
        """Trading time in years: (fraction of today's session still ahead + whole sessions after
        today through `expiration`) / 252.

        The fraction is (close - max(now, open)) / (close - open), clamped to [0, 1]: 1 before the
        open, 0 after the close or on a closed day. A half day counts as one session. 0.0 when
        `expiration` is before today (New York date).
        """
        utc = _require_aware(now)
        _require_day(expiration)
        today = utc.astimezone(NY).date()
        if expiration < today:
            return 0.0
        fraction = 0.0
        sess = self.session(today)
        if sess is not None:
            length = (sess.close - sess.open).total_seconds()
            left = (sess.close - max(utc, sess.open)).total_seconds()
            fraction = min(1.0, max(0.0, left / length))
        return (fraction + self._count_sessions(today, expiration)) / TRADING_DAYS_PER_YEAR


@functools.lru_cache(maxsize=1)
def default_calendar() -> TradingCalendar:
    """The shared library-only calendar (no provider overrides)."""
    return TradingCalendar()
