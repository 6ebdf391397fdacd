"""Fault injection and provider-style rate limits for the demo market (transport and server).

`FaultEngine` wraps the pure wire layer: per request it draws a `FaultPlan` (latency, and at most
one of reset / stall / 5xx / malformed body), enforces Tradier's fixed 60 s window (starting with
the first request; X-Ratelimit-* headers; 429 beyond) and Alpha Vantage's per-second burst and
daily quota (HTTP 200 `Information` bodies), then serves the request. Thread-safe; every table it
keeps is bounded.

Clocks: `clock()` gives the aware "now" used for the market, AV's daily reset and the epoch-ms
X-Ratelimit-Expiry; windows are measured on `monotonic()` so that a frozen `clock` (--as-of) can
never lock a window forever.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ivcrush_tui.calendar import UTC, ny_date
from ivcrush_tui.providers.demo.av_wire import (
    AV_TEXT_BURST,
    AV_TEXT_LEGACY_NOTE,
    av_daily_limit_text,
)
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.responses import (
    AV_PATH,
    TRADIER_PREFIX,
    WireRequest,
    WireResponse,
    apigee_fault,
    av_message,
    json_response,
)
from ivcrush_tui.providers.demo.wire import check_access, route

__all__ = [
    "KNOWN_PATHS",
    "EngineStats",
    "FaultAction",
    "FaultConfig",
    "FaultEngine",
    "FaultPlan",
    "MarketSource",
    "malform",
]

TRADIER_WINDOW_S = 60.0
AV_BURST_WINDOW_S = 1.0

KNOWN_PATHS = (
    f"{TRADIER_PREFIX}/markets/quotes",
    f"{TRADIER_PREFIX}/markets/options/expirations",
    f"{TRADIER_PREFIX}/markets/options/chains",
    f"{TRADIER_PREFIX}/markets/history",
    f"{TRADIER_PREFIX}/markets/clock",
    f"{TRADIER_PREFIX}/markets/calendar",
    AV_PATH,
)
OTHER_PATH = "<other>"  # every unknown path shares one counter (bounded)

MarketSource = DemoMarket | Callable[[dt.date], DemoMarket]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What the demo endpoints inject. Rates are probabilities per request in [0, 1].

    latency_ms + uniform(0, jitter_ms): delay before every answer (milliseconds).
    error_rate: answer a 5xx (500/502/503/504) instead. stall_rate: wait stall_s seconds, then
    answer normally (exercises client timeouts). reset_rate: drop the connection with no answer.
    malformed_rate: a 200 whose body is truncated JSON or an HTML error page.
    tradier_limit_per_min: Tradier market-data limit per fixed 60 s window (None: unlimited and
    no X-Ratelimit headers). av_daily_quota: AV requests per UTC day before the 25/day message
    (None: unlimited). av_burst_per_s: AV requests per 1 s window before the burst message (None:
    unlimited). av_legacy_note: throttle with the 2018-era `Note` body (5 calls per minute) instead
    of the current `Information` burst text. seed: the fault RNG seed (the same seed and request
    order give the same faults).
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 5.0
    reset_rate: float = 0.0
    malformed_rate: float = 0.0
    tradier_limit_per_min: int | None = 120
    av_daily_quota: int | None = None
    av_burst_per_s: int | None = None
    av_legacy_note: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "stall_rate", "reset_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in ("latency_ms", "jitter_ms", "stall_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.stall_s > 600:
            raise ValueError("stall_s must be <= 600")
        for name in ("tradier_limit_per_min", "av_daily_quota", "av_burst_per_s"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be >= 0 or None, got {value}")


class FaultAction(StrEnum):
    NONE = "none"
    RESET = "reset"
    STALL = "stall"
    ERROR = "error"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The fault drawn for one request. delay_s: seconds to wait before anything else."""

    delay_s: float
    action: FaultAction
    error_status: int = 0
    malformed_html: bool = False


class _FixedWindow:
    """A fixed window of `length_s` starting with the first request after the previous expired."""

    def __init__(self, length_s: float) -> None:
        self.length_s = length_s
        self.start: float | None = None
        self.used = 0

    def roll(self, mono: float) -> None:
        if self.start is None or mono >= self.start + self.length_s:
            self.start = mono
            self.used = 0

    def remaining_s(self, mono: float) -> float:
        return 0.0 if self.start is None else max(0.0, self.start + self.length_s - mono)


@dataclass(frozen=True, slots=True)
class EngineStats:
    """Counters since start (or the last reset). requests: per route path (unknown paths under
    "<other>"); rate_limited: Tradier 429s; av_throttled: AV burst/quota messages; injected: per
    fault action."""

    requests: dict[str, int]
    rate_limited: int
    av_throttled: int
    injected: dict[str, int]


class FaultEngine:
    """Faults, limits and serving for one demo endpoint (shared by transport and server)."""

    def __init__(
        self,
        source: MarketSource,
        faults: FaultConfig,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self._source = source
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._down = False
        self._tradier = _FixedWindow(TRADIER_WINDOW_S)
        self._av_burst = _FixedWindow(AV_BURST_WINDOW_S)
        self._av_day: dt.date | None = None
        self._av_day_used = 0
        self._requests = dict.fromkeys((*KNOWN_PATHS, OTHER_PATH), 0)
        self._rate_limited = 0
        self._av_throttled = 0
        self._injected = dict.fromkeys((a.value for a in FaultAction), 0)
        self._markets: dict[dt.date, DemoMarket] = {}

    # -- configuration -----------------------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self._faults

    def set_faults(self, faults: FaultConfig) -> None:
        """Replace the fault configuration (the fault RNG restarts from faults.seed)."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

    @property
    def down(self) -> bool:
        return self._down

    def set_down(self, down: bool) -> None:
        """While down, every request is answered 503 (after the configured latency)."""
        self._down = down

    def stats(self) -> EngineStats:
        with self._lock:
            return EngineStats(
                dict(self._requests), self._rate_limited, self._av_throttled, dict(self._injected)
            )

    def reset_counters(self) -> None:
        """Zero the counters and all rate-limit windows and quotas."""
        with self._lock:
            self._requests = dict.fromkeys(self._requests, 0)
            self._injected = dict.fromkeys(self._injected, 0)
            self._rate_limited = self._av_throttled = 0
            self._tradier = _FixedWindow(TRADIER_WINDOW_S)
            self._av_burst = _FixedWindow(AV_BURST_WINDOW_S)
            self._av_day, self._av_day_used = None, 0

    # -- per request -------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the demo clock must return an aware datetime")
        return now.astimezone(UTC)

    def plan(self, path: str) -> FaultPlan:
        """Count the request and draw its fault (at most one action; reset, stall, error and
        malformed are tried in that order, each with its own rate)."""
        with self._lock:
            key = path if path in self._requests else OTHER_PATH
            self._requests[key] += 1
            f = self._faults
            delay = (f.latency_ms + self._rng.uniform(0.0, f.jitter_ms)) / 1000.0
            action = FaultAction.NONE
            for candidate, rate in (
                (FaultAction.RESET, f.reset_rate),
                (FaultAction.STALL, f.stall_rate),
                (FaultAction.ERROR, f.error_rate),
                (FaultAction.MALFORMED, f.malformed_rate),
            ):
                if rate > 0 and self._rng.random() < rate:
                    action = candidate
                    break
            status = self._rng.choice((500, 502, 503, 504)) if action is FaultAction.ERROR else 0
            html = self._rng.random() < 0.5
            self._injected[action.value] += 1
            return FaultPlan(delay, action, status, html)

    def serve(self, req: WireRequest) -> WireResponse:
        """Answer one request: down -> 503; access checks; rate limits; the wire route."""
        if self._down:
            return _error_page(503)
        denied = check_access(req)
        if denied is not None:
            return denied
        now = self.now()
        if req.path.startswith(TRADIER_PREFIX):
            allowed, headers = self._tradier_admit(now)
            if not allowed:
                fault = apigee_fault(
                    "Rate limit quota violation. Quota limit exceeded. Identifier : demo",
                    "policies.ratelimit.QuotaViolation",
                )
                return json_response(fault, 429).with_headers(headers)
            return route(self.market(now), req, now).with_headers(headers)
        if req.path == AV_PATH:
            throttled = self._av_admit(now)
            if throttled is not None:
                return throttled
        return route(self.market(now), req, now)

    def market(self, now: dt.datetime) -> DemoMarket:
        """The market to serve at `now`: the fixed one, or the factory's for now's NY date
        (cached; two days at most, so the cache stays bounded across midnight)."""
        src = self._source
        if isinstance(src, DemoMarket):
            return src
        day = ny_date(now)
        with self._lock:
            found = self._markets.get(day)
        if found is None:
            found = src(day)  # built outside the lock: a rare duplicate build is harmless
            with self._lock:
                if len(self._markets) >= 2:
                    self._markets.pop(min(self._markets))
                self._markets[day] = found
        return found

    def _tradier_admit(self, now: dt.datetime) -> tuple[bool, list[tuple[str, str]]]:
        limit = self._faults.tradier_limit_per_min
        if limit is None:
            return True, []
        mono = self._monotonic()
        with self._lock:
            window = self._tradier
            window.roll(mono)
            allowed = window.used < limit
            if allowed:
                window.used += 1
            else:
                self._rate_limited += 1
            expiry = now + dt.timedelta(seconds=window.remaining_s(mono))
            headers = [
                ("X-Ratelimit-Allowed", str(limit)),
                ("X-Ratelimit-Used", str(window.used)),
                ("X-Ratelimit-Available", str(limit - window.used)),
                ("X-Ratelimit-Expiry", str(round(expiry.timestamp() * 1000.0))),
            ]
        return allowed, headers

    def _av_admit(self, now: dt.datetime) -> WireResponse | None:
        f = self._faults
        mono = self._monotonic()
        with self._lock:
            if f.av_burst_per_s is not None:
                self._av_burst.roll(mono)
                if self._av_burst.used >= f.av_burst_per_s:
                    self._av_throttled += 1
                    if f.av_legacy_note:
                        return av_message("Note", AV_TEXT_LEGACY_NOTE)
                    return av_message("Information", AV_TEXT_BURST)
                self._av_burst.used += 1
            if f.av_daily_quota is not None:
                day = now.date()  # AV's day: UTC
                if day != self._av_day:
                    self._av_day, self._av_day_used = day, 0
                if self._av_day_used >= f.av_daily_quota:
                    self._av_throttled += 1
                    return av_message("Information", av_daily_limit_text(f.av_daily_quota))
                self._av_day_used += 1
        return None

    def error_response(self, plan: FaultPlan) -> WireResponse:
        """The injected 5xx answer of `plan`."""
        return _error_page(plan.error_status or 500)


def malform(resp: WireResponse, html: bool) -> WireResponse:
    """A 200 with a broken body: an HTML gateway page, or the real body cut in half."""
    if html:
        page = _error_page(502)
        return WireResponse(200, page.body, "text/html; charset=utf-8")
    cut = max(1, len(resp.body) // 2)
    return WireResponse(200, resp.body[:cut], resp.content_type, resp.headers)


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _error_page(status: int) -> WireResponse:
    reason = _REASONS.get(status, "Error")
    body = (
        f"<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
        "</h1></center><hr><center>demo-gateway</center></body></html>"
    )
    return WireResponse(status, body.encode("utf-8"), "text/html; charset=utf-8")
