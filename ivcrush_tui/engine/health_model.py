"""The health report of every provider and component (shown by `ivcrush health` and the console)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ivcrush_tui.durations import compact_duration


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class LastError:
    code: str
    message: str
    correlation_id: str | None
    at: dt.datetime | None  # UTC


@dataclass(frozen=True, slots=True)
class OperationStats:
    """Latency of one kind of operation during this run (milliseconds)."""

    name: str
    count: int
    mean_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component: tradier, alphavantage, database, cache or backfill."""

    name: str
    status: HealthStatus
    detail: str
    latency_ms: float | None = None  # the check's own round trip (ms), else the last ok call's
    latency_age_s: float | None = None  # how old the call `latency_ms` measured is (s)
    breaker: str | None = None  # closed / open / half_open
    seconds_to_half_open: float | None = None
    budget_left: int | None = None  # Tradier window requests left / AV daily quota left
    budget_total: int | None = None
    budget_resets_in_s: float | None = None
    recent_latencies_ms: tuple[float, ...] = ()
    last_error: LastError | None = None
    operations: tuple[OperationStats, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "latency_ms": _r(self.latency_ms),
            "latency_age_s": _r(self.latency_age_s),
            "breaker": self.breaker,
            "seconds_to_half_open": _r(self.seconds_to_half_open),
            "budget_left": self.budget_left,
            "budget_total": self.budget_total,
            "budget_resets_in_s": _r(self.budget_resets_in_s),
            "last_error": None
            if self.last_error is None
            else {
                "code": self.last_error.code,
                "message": self.last_error.message,
                "correlation_id": self.last_error.correlation_id,
                "at": self.last_error.at.isoformat() if self.last_error.at else None,
            },
            "operations": [
                {
                    "name": o.name,
                    "count": o.count,
                    "mean_ms": _r(o.mean_ms),
                    "p95_ms": _r(o.p95_ms),
                    "p99_ms": _r(o.p99_ms),
                }
                for o in self.operations
            ],
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


@dataclass(frozen=True, slots=True)
class HealthReport:
    checked_at: dt.datetime
    demo: bool
    components: tuple[ComponentHealth, ...] = field(default=())
    # The market stream of the process reporting (engine/live_quotes.py `LiveStatus.to_json`):
    # mode LIVE/POLL and why, connected, events/s, last event age, reconnects. None when the
    # process does not stream (see `stream_owner` for who does).
    stream: Mapping[str, object] | None = None
    stream_owner: str | None = None  # the process holding the account's stream lock, if another

    @property
    def status(self) -> HealthStatus:
        states = {c.status for c in self.components}
        if HealthStatus.DOWN in states:
            return HealthStatus.DOWN
        if HealthStatus.DEGRADED in states:
            return HealthStatus.DEGRADED
        return HealthStatus.HEALTHY

    @property
    def healthy(self) -> bool:
        return self.status is HealthStatus.HEALTHY

    def component(self, name: str) -> ComponentHealth | None:
        return next((c for c in self.components if c.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "mode": "demo" if self.demo else "live",
            "checked_at": self.checked_at.isoformat(),
            "components": [c.to_json() for c in self.components],
            "stream": self._stream_json(),
        }

    def _stream_json(self) -> dict[str, object]:
        if self.stream is not None:
            return dict(self.stream)
        reason = (
            f"the market stream is owned by {self.stream_owner}"
            if self.stream_owner
            else "this process does not stream"
        )
        return {"mode": "POLL", "reason": reason, "connected": False}


def latency_text(c: ComponentHealth) -> str:
    """ "182.3 ms", with the age of the call it measured when that is not this check's own:
    "182.3 ms 4m ago"; "" without one."""
    if c.latency_ms is None:
        return ""
    text = f"{c.latency_ms:.1f} ms"
    if c.latency_age_s is not None and c.latency_age_s >= 1:
        text += f" {compact_duration(c.latency_age_s)} ago"
    return text
