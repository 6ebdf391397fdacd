"""Latency baselines: a slow attempt is logged as a warning with its correlation id, at most once
per endpoint per minute; the Guard checks every attempt, failed ones included."""

from __future__ import annotations

import logging

import pytest

from ivcrush_tui.domain import ErrorCode, ProviderError
from ivcrush_tui.resilience.baselines import (
    ALPHAVANTAGE_BASELINE_MS,
    TRADIER_BASELINES_MS,
    LatencyBaselines,
    default_baselines,
)
from ivcrush_tui.resilience.breaker import CircuitBreaker
from ivcrush_tui.resilience.correlation import correlation_scope
from ivcrush_tui.resilience.guard import Guard
from ivcrush_tui.resilience.retry import RetryPolicy

LOGGER = "ivcrush_tui.resilience.baselines"


class Mono:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_shipped_defaults_match_the_documented_baselines() -> None:
    assert TRADIER_BASELINES_MS["quotes"] == 1500.0
    assert TRADIER_BASELINES_MS["chains"] == 2000.0
    assert TRADIER_BASELINES_MS["expirations"] == 1500.0
    assert TRADIER_BASELINES_MS["history"] == 3000.0
    av = default_baselines("alphavantage")
    assert av.baseline_ms("EARNINGS") == ALPHAVANTAGE_BASELINE_MS == 3000.0
    assert default_baselines("tradier").baseline_ms("chains") == 2000.0


def test_slow_attempt_warns_once_per_endpoint_per_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mono = Mono()
    b = LatencyBaselines("tradier", {"chains": 2000.0}, monotonic=mono)
    caplog.set_level(logging.WARNING, LOGGER)
    assert b.check("chains", 1999.0) is False  # at or under the baseline: quiet
    with correlation_scope("abcd1234"):
        assert b.check("chains", 2500.0) is True
    assert b.check("chains", 9000.0) is True  # counted, but not logged again within the minute
    mono.t += 59.0
    assert b.check("chains", 2100.0) is True
    assert len(warnings(caplog)) == 1
    assert (
        "tradier chains took 2500 ms, above its 2000 ms baseline [abcd1234]"
        in (warnings(caplog)[0])
    )
    mono.t += 1.0  # a minute after the first warning
    b.check("chains", 2100.0)
    assert len(warnings(caplog)) == 2
    assert b.exceeded == {"chains": 4}


def test_each_endpoint_has_its_own_rate_limit(caplog: pytest.LogCaptureFixture) -> None:
    b = LatencyBaselines("tradier", TRADIER_BASELINES_MS, monotonic=Mono())
    caplog.set_level(logging.WARNING, LOGGER)
    b.check("quotes", 1600.0)
    b.check("history", 3100.0)
    b.check("quotes", 1700.0)
    assert [m.split(" took")[0] for m in warnings(caplog)] == ["tradier quotes", "tradier history"]


def test_unmonitored_endpoints_and_garbage_latencies_never_warn() -> None:
    b = LatencyBaselines("x", {"a": 10.0}, default_ms=None, monotonic=Mono())
    assert b.baseline_ms("b") is None
    assert b.check("b", 1e9) is False
    assert b.check("a", float("nan")) is False
    assert b.check("a", float("inf")) is False


@pytest.mark.parametrize(
    ("table", "default", "interval"),
    [({"a": 0.0}, 1.0, 60.0), ({"a": float("nan")}, 1.0, 60.0), ({}, -1.0, 60.0), ({}, 1.0, -1)],
)
def test_invalid_baselines_are_refused(
    table: dict[str, float], default: float, interval: float
) -> None:
    with pytest.raises(ValueError, match="must be"):
        LatencyBaselines("x", table, default_ms=default, interval_s=interval)


async def test_the_guard_checks_every_attempt_with_the_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mono = Mono()
    baselines = LatencyBaselines("tradier", {"chains": 100.0}, interval_s=0.0, monotonic=mono)
    guard = Guard(
        "tradier",
        breaker=CircuitBreaker("tradier", monotonic=mono),
        retry=RetryPolicy(attempts=2, base_s=0.0, jitter=False),
        baselines=baselines,
        monotonic=mono,
    )
    outcomes = [ProviderError(ErrorCode.TIMEOUT, "slow", provider="tradier", endpoint="chains")]

    async def attempt() -> str:
        mono.t += 0.25  # each attempt takes 250 ms
        if outcomes:
            raise outcomes.pop()
        return "ok"

    caplog.set_level(logging.WARNING, LOGGER)
    with correlation_scope("feedbeef"):
        assert await guard.run("chains", attempt) == "ok"
    msgs = warnings(caplog)
    assert len(msgs) == 2  # the failed attempt and the retry that succeeded
    assert all("250 ms" in m and "[feedbeef]" in m for m in msgs)
    assert guard.baselines.exceeded == {"chains": 2}
    assert guard.stats.operations()["chains"].count == 2


def test_a_guard_without_explicit_baselines_uses_the_providers_defaults() -> None:
    guard = Guard(
        "alphavantage", breaker=CircuitBreaker("alphavantage"), retry=RetryPolicy(attempts=1)
    )
    assert guard.baselines.baseline_ms("EARNINGS_CALENDAR") == 3000.0
