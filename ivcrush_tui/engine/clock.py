"""Where "now" comes from. Logic receives a Clock; only SystemClock reads the wall clock."""

from __future__ import annotations

import datetime as dt
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


def parse_as_of(text: str) -> dt.datetime:
    """Parse `--as-of` (ISO-8601). A date or a naive time is read in exchange time (New York)."""
    from ivcrush_tui.calendar import NY

    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            value = dt.datetime.combine(day, dt.time(15, 30), tzinfo=NY)
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"--as-of {text!r} is not ISO-8601 (e.g. 2026-11-23T15:30-05:00)") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=NY)
    return value.astimezone(dt.UTC)
