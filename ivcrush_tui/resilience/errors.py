"""Errors the resilience layer treats specially."""

from __future__ import annotations

from ivcrush_tui.domain import ProviderError


class NotSentError(ProviderError):
    """A request that provably never left this machine: the connection could not be opened
    (refused, unreachable, DNS failure, connect timeout). Retried and counted by the breaker like
    any unavailable/timeout failure, but it spent no provider quota, so the limiter gets the unit
    back (Alpha Vantage allows 25 requests a day: an outage must not burn them)."""
