"""The Tradier stream's settings, states and health snapshot: the parts of tradier_stream.py a
caller configures and reads."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ivcrush_tui.domain import ErrorCode, IvCrushError
from ivcrush_tui.providers.tradier_events import EVENT_TYPES

__all__ = [
    "DEFAULT_FILTERS",
    "PROVIDER",
    "SESSION_ENDPOINT",
    "SESSION_PATH",
    "STREAM_ENDPOINT",
    "StreamHealth",
    "StreamOptions",
    "StreamState",
]

PROVIDER: Final = "tradier"
SESSION_ENDPOINT: Final = "stream_session"
STREAM_ENDPOINT: Final = "stream"
SESSION_PATH: Final = "/markets/events/session"
DEFAULT_FILTERS: Final = ("quote", "trade", "summary")


class StreamState(StrEnum):
    IDLE = "idle"  # not started, or no symbols to stream
    CONNECTING = "connecting"  # creating a session / opening the stream
    LIVE = "live"  # connected; events (or keep-alives) arriving
    BACKOFF = "backoff"  # waiting before the next connect
    FAILED = "failed"  # permanent failure (auth, sandbox, config): poll instead
    CLOSED = "closed"  # close() was called


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Tunables. Seconds everywhere; rates per second.

    filters: event types asked for. stale_after_s: the keep-alive rule (30 s at Tradier).
    check_interval_s: how often a silent connection is examined (real seconds). backoff_*:
    the reconnect back-off (equal jitter). max_line_bytes: a longer line is malformed.
    rate_window_s: events/s is averaged over this window."""

    filters: tuple[str, ...] = DEFAULT_FILTERS
    stale_after_s: float = 30.0
    check_interval_s: float = 1.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    max_line_bytes: int = 64 * 1024
    rate_window_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("stale_after_s", "check_interval_s", "rate_window_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise IvCrushError(ErrorCode.CONFIG, f"{name} must be > 0 seconds, got {value}")
        if not (0 <= self.backoff_base_s <= self.backoff_max_s < math.inf):
            raise IvCrushError(ErrorCode.CONFIG, "stream back-off must be 0 <= base <= max")
        unknown = [f for f in self.filters if f not in EVENT_TYPES]
        if unknown or not self.filters:
            raise IvCrushError(ErrorCode.CONFIG, f"stream filters must be among {EVENT_TYPES}")
        if self.max_line_bytes < 256:
            raise IvCrushError(ErrorCode.CONFIG, "max_line_bytes must be >= 256")


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """A snapshot for the status bar and `health`. events_per_s: data events (not keep-alives)
    per second over the rate window; last_event_age_s: seconds since the last data event (None
    before the first); reconnects: connections replaced after a drop, a stale stream or an error
    (not subscription changes); malformed: lines skipped; error: the last failure's message
    (redacted), error_code its code."""

    state: StreamState
    connected: bool
    symbols: int
    events: int
    events_per_s: float
    last_event_age_s: float | None
    keepalives: int
    malformed: int
    reconnects: int
    resubscribes: int
    error_code: ErrorCode | None = None
    error: str | None = None

    @property
    def mode(self) -> str:
        """`LIVE` while the stream is connected, else `POLL` (the caller's REST refresh rules)."""
        return "LIVE" if self.state is StreamState.LIVE else "POLL"
