"""Latency baselines: a warning when one provider request takes longer than its endpoint's norm.

The guard calls `LatencyBaselines.check` after every attempt. A slow request is logged at WARNING
with the correlation id of the operation it served, at most once per endpoint per `interval_s`
(a slow provider must not flood the log: one line a minute per endpoint says enough).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ivcrush_tui.resilience.correlation import current_correlation_id

log = logging.getLogger(__name__)

WARN_INTERVAL_S = 60.0  # at most one warning per endpoint per minute

# Per-endpoint baselines in milliseconds: an attempt slower than this is worth a warning. Tradier
# endpoint names are the client's (`quotes`, `chains`, ...); Alpha Vantage calls are named by
# their `function` and share one baseline.
TRADIER_BASELINES_MS: Mapping[str, float] = MappingProxyType(
    {
        "quotes": 1500.0,
        "chains": 2000.0,
        "expirations": 1500.0,
        "history": 3000.0,
        "clock": 1500.0,
        "calendar": 1500.0,
    }
)
ALPHAVANTAGE_BASELINE_MS = 3000.0
DEFAULT_BASELINE_MS = 3000.0  # any endpoint without a baseline of its own


class LatencyBaselines:
    """Per-endpoint latency baselines (ms) and the rate-limited slow-request warning."""

    def __init__(
        self,
        provider: str,
        per_endpoint_ms: Mapping[str, float] | None = None,
        *,
        default_ms: float | None = DEFAULT_BASELINE_MS,
        interval_s: float = WARN_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`per_endpoint_ms`: baseline per endpoint name (> 0 ms); `default_ms`: for the others
        (None: no baseline, never warn); `interval_s`: seconds between two warnings of one
        endpoint (>= 0)."""
        table = dict(per_endpoint_ms or {})
        for name, ms in table.items():
            if not (math.isfinite(ms) and ms > 0):
                raise ValueError(f"baseline for {name!r} must be > 0 ms, got {ms}")
        if default_ms is not None and not (math.isfinite(default_ms) and default_ms > 0):
            raise ValueError(f"default baseline must be > 0 ms, got {default_ms}")
        if not (math.isfinite(interval_s) and interval_s >= 0):
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.provider = provider
        self._table = table
        self._default = default_ms
        self.interval_s = interval_s
        self._monotonic = monotonic
        self._last_warned: dict[str, float] = {}
        self.exceeded: dict[str, int] = {}  # slow attempts per endpoint (warned or not)

    def baseline_ms(self, endpoint: str) -> float | None:
        """The baseline of `endpoint` in milliseconds (None: not monitored)."""
        return self._table.get(endpoint, self._default)

    def check(self, endpoint: str, latency_ms: float) -> bool:
        """Record one attempt's latency; True when it exceeded the baseline. Logs a WARNING
        (with the correlation id) unless this endpoint already warned within `interval_s`."""
        limit = self.baseline_ms(endpoint)
        if limit is None or not math.isfinite(latency_ms) or latency_ms <= limit:
            return False
        self.exceeded[endpoint] = self.exceeded.get(endpoint, 0) + 1
        t = self._monotonic()
        last = self._last_warned.get(endpoint)
        if last is None or t - last >= self.interval_s:
            self._last_warned[endpoint] = t
            log.warning(
                "%s %s took %.0f ms, above its %.0f ms baseline [%s] (%d slow so far)",
                self.provider,
                endpoint,
                latency_ms,
                limit,
                current_correlation_id() or "-",
                self.exceeded[endpoint],
            )
        return True


def default_baselines(
    provider: str, *, monotonic: Callable[[], float] = time.monotonic
) -> LatencyBaselines:
    """The shipped baselines of `provider` ("tradier", "alphavantage"; others get the default)."""
    if provider == "tradier":
        return LatencyBaselines(provider, TRADIER_BASELINES_MS, monotonic=monotonic)
    if provider == "alphavantage":
        return LatencyBaselines(provider, default_ms=ALPHAVANTAGE_BASELINE_MS, monotonic=monotonic)
    return LatencyBaselines(provider, monotonic=monotonic)
