"""Where "now" comes from. Logic receives a Clock; only SystemClock reads the wall clock."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock (the one place it is read)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class FixedClock:
    """A frozen instant: `--as-of` runs and tests are reproducible."""

    at: dt.datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)


class RunningClock:
    """A clock that starts at `start` and runs from there at the rate of `monotonic` (seconds).

    `--as-of T` for the long-running modes (the console, `serve`): the entry window, countdowns,
    schedules and ledger decisions move as they would live, from T on. It never reads the wall
    clock: elapsed time comes from the monotonic clock (immune to wall-clock steps), injected for
    tests."""

    __slots__ = ("_monotonic", "_start", "_t0")

    def __init__(
        self, start: dt.datetime, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("RunningClock needs an aware datetime")
        self._start = start.astimezone(dt.UTC)
        self._monotonic = monotonic
        self._t0 = monotonic()

    @property
    def start(self) -> dt.datetime:
        """The instant the clock started at (aware UTC)."""
        return self._start

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=max(0.0, self._monotonic() - self._t0))


class SteppedClock:
    """An instant set by its owner (`ledger simulate` steps it through past entry windows, so
    the demo market, the cache and the engine all see that instant)."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("SteppedClock needs an aware datetime")
        self.at = at.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        return self.at


# --as-of and --date must name a day the calendar, the cache and the demo world can represent;
# outside it the conversions overflow (year 9999 + an offset) or mean nothing (no listed options).
MIN_YEAR = 1990
MAX_YEAR = 2100
# A bare date means this time of day in New York: inside the entry window, where the scan is used.
DATE_ONLY_TIME = dt.time(15, 30)


def _check_year(flag: str, text: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"{flag} {text!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")


def parse_as_of(text: str) -> dt.datetime:
    """Parse `--as-of` (ISO-8601) into an aware UTC instant.

    A date alone (`2026-11-24` or `20261124`) is 15:30 New York time that day; a naive time is New
    York wall time. Empty text and years outside 1990-2100 are errors (ValueError, one line).
    """
    from ivcrush_tui.calendar import NY

    if not text.strip():
        raise ValueError("--as-of is empty (e.g. 2026-11-23T15:30-05:00)")
    try:
        if "T" not in text and " " not in text:  # a date alone, extended or basic form
            day = dt.date.fromisoformat(text)
            value = dt.datetime.combine(day, DATE_ONLY_TIME, tzinfo=NY)
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--as-of {text!r} is not ISO-8601 (e.g. 2026-11-23T15:30-05:00)") from exc
    _check_year("--as-of", text, value.year)
    if value.tzinfo is None:
        value = value.replace(tzinfo=NY)
    return value.astimezone(dt.UTC)


def parse_day(text: str, flag: str = "--date") -> dt.date:
    """Parse a calendar-day argument (`YYYY-MM-DD`): empty text, other forms and years outside
    1990-2100 are errors (ValueError, one line)."""
    if not text.strip():
        raise ValueError(f"{flag} is empty (e.g. 2026-11-23)")
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"{flag} {text!r} is not YYYY-MM-DD")
    _check_year(flag, text, day.year)
    return day
