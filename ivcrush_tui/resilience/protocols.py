"""The small interfaces the provider clients use to reach the resilience layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

T = TypeVar("T")


class CallGuard(Protocol):
    """Runs one logical provider call through breaker -> rate limiter -> retry.

    `attempt` performs one HTTP request and parses it, raising `ProviderError` on failure; the
    guard retries it only when `ProviderError.transient` is true.
    """

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T: ...

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        """Feed a response's headers to the rate limiter (Tradier X-Ratelimit-*)."""
        ...


class QuotaStore(Protocol):
    """Persistent per-day request counts (the Alpha Vantage daily quota survives restarts)."""

    async def used(self, provider: str, day: str) -> int:
        """Requests already made on `day` (YYYY-MM-DD in the provider's day boundary)."""
        ...

    async def add(self, provider: str, day: str, n: int = 1) -> int:
        """Record `n` more requests on `day`; returns the new total."""
        ...


class PassThroughGuard:
    """A guard that just runs the attempt once: for unit tests and one-shot tools."""

    async def run(self, endpoint: str, attempt: Callable[[], Awaitable[T]]) -> T:
        return await attempt()

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        return None
