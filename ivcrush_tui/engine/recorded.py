"""What a recording holds, without the codecs (no numpy: the recorder imports this at start-up).

Times in recordings are integer milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["RecordedQuote", "from_ms", "to_ms"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class RecordedQuote:
    """One recorded quote: the symbol's top of book and last trade at `at` (aware UTC, ms).

    bid/ask/last in dollars per share (None: not quoted); volume: the day's cumulative volume."""

    symbol: str
    at: dt.datetime
    bid: float | None
    ask: float | None
    last: float | None = None
    volume: int | None = None


def to_ms(at: dt.datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (truncated)."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> dt.datetime:
    """The aware UTC datetime of `ms` milliseconds since the Unix epoch."""
    return _EPOCH + dt.timedelta(milliseconds=ms)
