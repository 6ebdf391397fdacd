"""When `ivcrush serve` scans next: every `scan_interval_s` inside the entry window, every
`idle_interval_s` outside it, and always at the start of the next window."""

from __future__ import annotations

import datetime as dt

from ivcrush_tui.calendar import TradingCalendar


def in_entry_window(now: dt.datetime, calendar: TradingCalendar) -> bool:
    """True inside a session's entry window (15:00-16:00 ET, the last hour of a half day)."""
    start, end = calendar.next_entry_window(now)
    return start <= now < end


def next_scan_at(
    now: dt.datetime,
    calendar: TradingCalendar,
    *,
    scan_interval_s: float,
    idle_interval_s: float,
) -> dt.datetime:
    """The instant (aware UTC) of the scan after one made at `now`.

    Inside the entry window: `now + scan_interval_s` seconds. Outside: `now + idle_interval_s`
    seconds, or the start of the next entry window when that comes first (the window's first
    scan is never up to an hour late)."""
    if in_entry_window(now, calendar):
        return now + dt.timedelta(seconds=scan_interval_s)
    start, _ = calendar.next_entry_window(now)
    return min(now + dt.timedelta(seconds=idle_interval_s), start)
