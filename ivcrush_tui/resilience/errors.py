"""Errors the resilience layer treats specially."""

from __future__ import annotations

from ivcrush_tui.domain import ProviderError


class UnspentError(ProviderError):
    """A failure that spent no provider quota: the limiter gets its unit back (Alpha Vantage
    allows 25 requests a day: an outage must not burn them). Retried and counted by the breaker
    like any unavailable/timeout failure."""


class NotSentError(UnspentError):
    """A request that provably never left this machine: the connection could not be opened
    (refused, unreachable, DNS failure, connect timeout)."""


class NoAnswerError(UnspentError):
    """A request that timed out before a single byte of the answer (its status line) arrived.

    The rule (docs/METHODS-NOTES.md, "Providers and limits"): such a request is treated as not
    counted. A provider counts a request where it answers it; one that never starts answering
    is stalled in front of that, and charging each stalled attempt (and each retry) once spent
    5 of the 25 daily units in one backfill. An answer cut off mid-body is counted."""
