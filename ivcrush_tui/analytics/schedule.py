"""The dates an upcoming earnings event sets: entry, reaction session, expiration (METHODS §1).

Apart from the analysis (and its numpy) so the engine can choose the event expiration, and ask
for its chain, before a fresh process has finished importing the analytics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from ivcrush_tui.calendar import TradingCalendar
from ivcrush_tui.domain import EarningsEvent, Timing


@dataclass(frozen=True, slots=True)
class EventSchedule:
    """The upcoming event and the dates derived from it (METHODS §1)."""

    event: EarningsEvent
    entry_date: dt.date
    reaction_date: dt.date
    expiration: dt.date | None
    timing_flagged: bool  # upcoming timing UNKNOWN: entered as BMO, expiration chosen as AMC


def schedule_event(
    event: EarningsEvent, expirations: Sequence[dt.date], calendar: TradingCalendar
) -> EventSchedule:
    """Entry date, reaction session and event expiration of an upcoming event (METHODS §1)."""
    return EventSchedule(
        event=event,
        entry_date=calendar.entry_date(event.date, event.timing),
        reaction_date=calendar.reaction_session(event.date, event.timing),
        expiration=calendar.event_expiration(sorted(expirations), event.date, event.timing),
        timing_flagged=event.timing is Timing.UNKNOWN,
    )
