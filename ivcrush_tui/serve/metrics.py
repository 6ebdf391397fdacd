"""The Prometheus metrics of `ivcrush serve` (GET /metrics), on a registry of its own.

Events are counted as they happen: every provider request attempt (through the guards'
`ProviderStats.attempt_listeners`) and every scan (`observe_scan`). State is read when scraped:
`refresh()` (async: the Alpha Vantage quota and the ledger counts live in the store) takes a
snapshot that the registry's collector then exposes. Units are in the names (seconds, requests).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from ivcrush_tui.engine.runtime import Runtime
from ivcrush_tui.store.repositories.ledger_stats import ledger_counts

CONTENT_TYPE = CONTENT_TYPE_LATEST  # text/plain; version=0.0.4
BREAKER_STATES = ("closed", "half_open", "open")
# Request latency buckets, seconds: a cache-warm demo request takes ~1 ms, a live one 50-500 ms,
# a slow one several seconds (the request timeout is 10-15 s).
REQUEST_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Scan duration buckets, seconds: a warm demo scan takes well under a second, a live scan of a
# busy day tens of seconds (bounded by engine.scan_timeout_s, 120 s by default).
SCAN_BUCKETS_S = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """What the runtime looked like at the last `refresh` (read at scrape time)."""

    demo: bool = False
    breakers: Mapping[str, str] = field(default_factory=dict)  # provider -> state
    tradier_available: int | None = None  # requests left in the current window
    tradier_allowed: int | None = None  # requests per window (one minute)
    tradier_resets_in_s: float | None = None
    av_quota_left: int | None = None  # Alpha Vantage requests left today (ET day)
    av_quota_daily: int | None = None
    cache_hits_l1: int = 0
    cache_hits_l2: int = 0
    cache_misses: int = 0
    ledger_rows: Mapping[str, int] = field(default_factory=dict)  # recommendation -> rows
    # The market stream (`LiveStatus.to_json()`: mode, events, reconnects, ...); None: no stream.
    stream: Mapping[str, object] | None = None
    alerts_fired: int = 0  # alerts delivered by this process (stored, handed to the command)


class _StateCollector(Collector):
    """Exposes the last StateSnapshot (the registry calls `collect` on each scrape)."""

    def __init__(self) -> None:
        self.snapshot = StateSnapshot()

    def collect(self) -> Iterable[Metric]:
        s = self.snapshot
        mode = GaugeMetricFamily("ivcrush_demo", "1 when the built-in demo market is served.")
        mode.add_metric([], 1.0 if s.demo else 0.0)
        yield mode
        breaker = GaugeMetricFamily(
            "ivcrush_breaker_state",
            "Circuit breaker state per provider: 1 for the current state, 0 for the others.",
            labels=["provider", "state"],
        )
        for provider, current in sorted(s.breakers.items()):
            for state in BREAKER_STATES:
                breaker.add_metric([provider, state], 1.0 if state == current else 0.0)
        yield breaker
        for name, doc, value in (
            (
                "ivcrush_tradier_window_available_requests",
                "Tradier market-data requests left in the current rate window.",
                s.tradier_available,
            ),
            (
                "ivcrush_tradier_window_allowed_requests",
                "Tradier market-data requests allowed per rate window (one minute).",
                s.tradier_allowed,
            ),
            (
                "ivcrush_tradier_window_resets_in_seconds",
                "Seconds until the Tradier rate window resets (absent: no window open).",
                s.tradier_resets_in_s,
            ),
            (
                "ivcrush_alphavantage_quota_remaining_requests",
                "Alpha Vantage requests left today (New York day).",
                s.av_quota_left,
            ),
            (
                "ivcrush_alphavantage_quota_daily_requests",
                "Alpha Vantage requests allowed per day.",
                s.av_quota_daily,
            ),
        ):
            family = GaugeMetricFamily(name, doc)
            if value is not None and math.isfinite(value):
                family.add_metric([], float(value))
            yield family
        lookups = CounterMetricFamily(
            "ivcrush_cache_lookups",
            "Response cache lookups by result (l1_hit, l2_hit, miss).",
            labels=["result"],
        )
        lookups.add_metric(["l1_hit"], float(s.cache_hits_l1))
        lookups.add_metric(["l2_hit"], float(s.cache_hits_l2))
        lookups.add_metric(["miss"], float(s.cache_misses))
        yield lookups
        total = s.cache_hits_l1 + s.cache_hits_l2 + s.cache_misses
        ratio = GaugeMetricFamily(
            "ivcrush_cache_hit_ratio", "Fraction of cache lookups served from L1 or L2 (0..1)."
        )
        ratio.add_metric([], (s.cache_hits_l1 + s.cache_hits_l2) / total if total else 0.0)
        yield ratio
        ledger = GaugeMetricFamily(
            "ivcrush_ledger_rows",
            "Ledger rows (decisions recorded in the entry window) by recommendation.",
            labels=["recommendation"],
        )
        for rec, count in sorted(s.ledger_rows.items()):
            ledger.add_metric([rec], float(count))
        yield ledger
        alerts = CounterMetricFamily(
            "ivcrush_alerts_fired", "Alerts fired by this process (each stored once)."
        )
        alerts.add_metric([], float(s.alerts_fired))
        yield alerts
        yield from _stream_metrics(s.stream)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _stream_metrics(stream: Mapping[str, object] | None) -> Iterable[Metric]:
    """The market stream's state (absent without a stream): LIVE or not, events, reconnects,
    malformed events skipped, re-prices, and the age of the last event."""
    live = GaugeMetricFamily(
        "ivcrush_stream_live", "1 while quotes stream in (LIVE), 0 while polling (POLL)."
    )
    if stream is not None:
        live.add_metric([], 1.0 if stream.get("mode") == "LIVE" else 0.0)
    yield live
    for name, key, doc in (
        ("ivcrush_stream_events", "events", "Market stream events received."),
        ("ivcrush_stream_reconnects", "reconnects", "Market stream reconnects."),
        ("ivcrush_stream_malformed_events", "malformed", "Malformed stream events skipped."),
        ("ivcrush_stream_reprices", "reprices", "Analyses re-priced from streamed quotes."),
    ):
        counter = CounterMetricFamily(name, doc)
        value = _number(stream.get(key)) if stream is not None else None
        if value is not None:
            counter.add_metric([], value)
        yield counter
    age = GaugeMetricFamily(
        "ivcrush_stream_last_event_age_seconds", "Seconds since the last stream event."
    )
    value = _number(stream.get("last_event_age_s")) if stream is not None else None
    if value is not None:
        age.add_metric([], value)
    yield age


class ServeMetrics:
    """The registry of one `serve` process and the metrics fed while it runs."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ivcrush_provider_requests",
            "Provider request attempts by provider, operation (endpoint) and outcome.",
            ["provider", "operation", "outcome"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "ivcrush_provider_request_duration_seconds",
            "Provider request attempt latency, seconds.",
            ["provider", "operation"],
            buckets=REQUEST_BUCKETS_S,
            registry=self.registry,
        )
        self.scan_seconds = Histogram(
            "ivcrush_scan_duration_seconds",
            "Duration of one scheduled scan, seconds.",
            buckets=SCAN_BUCKETS_S,
            registry=self.registry,
        )
        self.scan_results = Counter(
            "ivcrush_scan_results",
            "Tickers analysed by the scheduled scans, by status (ok, no_event, error, ...).",
            ["status"],
            registry=self.registry,
        )
        self.scan_failures = Counter(
            "ivcrush_scan_failures",
            "Scheduled scans that could not run (e.g. no earnings calendar, store down).",
            registry=self.registry,
        )
        self.last_scan = Gauge(
            "ivcrush_last_scan_timestamp_seconds",
            "When the last scheduled scan ran, Unix seconds on ivcrush's clock (--as-of moves it).",
            registry=self.registry,
        )
        self.ledger_write_failures = Counter(
            "ivcrush_ledger_write_failures",
            "In-window decisions that could not be stored in the ledger (lost).",
            registry=self.registry,
        )
        self._state = _StateCollector()
        self.registry.register(self._state)

    def watch(self, rt: Runtime) -> None:
        """Count every request attempt of `rt`'s providers from now on."""
        for provider, guard in rt.guards.items():

            def on_attempt(endpoint: str, latency_ms: float, ok: bool, p: str = provider) -> None:
                self.requests.labels(p, endpoint, "ok" if ok else "error").inc()
                if math.isfinite(latency_ms) and latency_ms >= 0:
                    self.request_seconds.labels(p, endpoint).observe(latency_ms / 1000.0)

            guard.stats.attempt_listeners.append(on_attempt)

    def observe_scan(
        self, at: dt.datetime, duration_s: float, statuses: Iterable[str], lost_writes: int = 0
    ) -> None:
        """The scheduled scan of instant `at` took `duration_s` seconds, gave these per-ticker
        statuses and lost `lost_writes` ledger rows."""
        self.last_scan.set(at.timestamp())
        self.scan_seconds.observe(max(0.0, duration_s))
        for status in statuses:
            self.scan_results.labels(status).inc()
        if lost_writes > 0:
            self.ledger_write_failures.inc(lost_writes)

    async def refresh(
        self,
        rt: Runtime,
        *,
        stream: Mapping[str, object] | None = None,
        alerts_fired: int = 0,
    ) -> None:
        """Read the runtime's state for the next exposition (on the runtime's loop); `stream`
        is the live monitor's status (`LiveStatus.to_json()`), `alerts_fired` the alerts
        delivered so far."""
        budget = rt.tradier_limiter.budget()
        stats = rt.cache.stats()
        self._state.snapshot = StateSnapshot(
            demo=rt.demo,
            breakers={name: g.breaker.state.value for name, g in rt.guards.items()},
            tradier_available=budget.available,
            tradier_allowed=budget.allowed,
            tradier_resets_in_s=budget.resets_in_s,
            av_quota_left=await rt.av_limiter.remaining(),
            av_quota_daily=rt.av_limiter.daily_quota,
            cache_hits_l1=stats.hits_l1,
            cache_hits_l2=stats.hits_l2,
            cache_misses=stats.misses,
            ledger_rows=await ledger_counts(rt.db),
            stream=stream,
            alerts_fired=alerts_fired,
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (CONTENT_TYPE)."""
        return generate_latest(self.registry)
