"""The running clock (`--as-of` for the console and serve) and serve's scan schedule."""

from __future__ import annotations

import datetime as dt

import pytest

from ivcrush_tui.calendar import NY, UTC, default_calendar
from ivcrush_tui.engine.clock import RunningClock
from ivcrush_tui.serve.schedule import in_entry_window, next_scan_at

DAY = dt.date(2026, 11, 23)  # a Monday, a full session
HALF_DAY = dt.date(2026, 11, 27)  # the Friday after Thanksgiving: the close is 13:00 ET


def ny(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY).astimezone(UTC)


class Ticks:
    """A monotonic clock the test moves (seconds)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_running_clock_starts_at_as_of_and_runs_with_the_monotonic_clock() -> None:
    ticks = Ticks()
    start = ny(DAY, 15, 30)
    clock = RunningClock(start, monotonic=ticks)
    assert clock.now() == start
    assert clock.start == start
    ticks.t += 61.5
    assert clock.now() == start + dt.timedelta(seconds=61.5)
    assert clock.now().tzinfo == dt.UTC
    ticks.t -= 1000  # a monotonic clock never goes back; if it did, time would not either
    assert clock.now() == start


def test_running_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        RunningClock(dt.datetime(2026, 11, 23, 15, 30))


def test_running_clock_countdown_to_the_window_close_moves() -> None:
    ticks = Ticks()
    clock = RunningClock(ny(DAY, 15, 30), monotonic=ticks)
    cal = default_calendar()
    end = cal.next_entry_window(clock.now())[1]
    left = (end - clock.now()).total_seconds()
    ticks.t += 60
    assert (end - clock.now()).total_seconds() == pytest.approx(left - 60)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ny(DAY, 15, 0), ny(DAY, 15, 1)),  # in the window: every scan_interval_s
        (
            ny(
                DAY,
                15,
                59,
            ),
            ny(DAY, 16, 0),
        ),
        (ny(DAY, 10, 0), ny(DAY, 11, 0)),  # outside: hourly
        (ny(DAY, 14, 30), ny(DAY, 15, 0)),  # ... but never later than the window's start
        (ny(DAY, 16, 0), ny(DAY, 17, 0)),  # the window has closed
        (ny(DAY, 23, 30), ny(DAY + dt.timedelta(days=1), 0, 30)),
        (ny(HALF_DAY, 11, 45), ny(HALF_DAY, 12, 0)),  # a half day's window is 12:00-13:00
        (ny(HALF_DAY, 12, 30), ny(HALF_DAY, 12, 31)),
    ],
)
def test_next_scan_in_the_window_every_interval_else_hourly(
    now: dt.datetime, expected: dt.datetime
) -> None:
    cal = default_calendar()
    got = next_scan_at(now, cal, scan_interval_s=60.0, idle_interval_s=3600.0)
    assert got == expected


def test_in_entry_window_bounds() -> None:
    cal = default_calendar()
    assert in_entry_window(ny(DAY, 15, 0), cal)
    assert in_entry_window(ny(DAY, 15, 59), cal)
    assert not in_entry_window(ny(DAY, 16, 0), cal)
    assert not in_entry_window(ny(DAY, 14, 59), cal)
    assert not in_entry_window(ny(dt.date(2026, 11, 22), 15, 30), cal)  # a Sunday
