"""Wiring: settings -> HTTP clients, resilience guards, cache, store and provider clients.

One `Runtime` per process (CLI command or console). Demo mode serves the built-in synthetic market
through an in-process httpx transport, so the real clients, cache, limiter, breaker and retry run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from ivcrush_tui import holiday_cache
from ivcrush_tui.calendar import TradingCalendar, default_calendar
from ivcrush_tui.config import Settings
from ivcrush_tui.domain import IvCrushError
from ivcrush_tui.engine import last_call
from ivcrush_tui.engine.clock import Clock
from ivcrush_tui.engine.warm_up import preload_http_stack
from ivcrush_tui.engine.writebehind import WriteBehindCache
from ivcrush_tui.providers.alphavantage import AlphaVantageClient
from ivcrush_tui.providers.http import KEEPALIVE_EXPIRY_S, MAX_CONNECTIONS, make_http_client
from ivcrush_tui.providers.tradier import TradierClient
from ivcrush_tui.resilience.breaker import CircuitBreaker
from ivcrush_tui.resilience.guard import Guard, ProviderStats
from ivcrush_tui.resilience.ratelimit import AlphaVantageLimiter, TradierWindowLimiter
from ivcrush_tui.resilience.retry import RetryPolicy
from ivcrush_tui.store.cache import HybridCache
from ivcrush_tui.store.db import Database
from ivcrush_tui.store.repositories import QuotaRepo

if TYPE_CHECKING:
    import ssl

TRADIER = "tradier"
ALPHAVANTAGE = "alphavantage"
DEMO_TOKEN = "demo"  # the demo market accepts any non-empty credential
# The in-process demo market is local and free: it advertises (and the limiters obey) a wide Tradier
# window and no Alpha Vantage pacing, so a demo scan is not paced like the real 120/min and 1/s.
# The limiter, breaker and retry code still run on every request.
DEMO_TRADIER_PER_MIN = 6000
DEMO_AV_PER_SECOND = 50.0
DEMO_AV_DAILY_QUOTA = 100_000
log = logging.getLogger(__name__)


@dataclass(slots=True)
class Runtime:
    """Everything a command needs, opened together and closed together."""

    settings: Settings
    clock: Clock
    calendar: TradingCalendar
    db: Database
    cache: HybridCache
    tradier: TradierClient
    alphavantage: AlphaVantageClient
    tradier_guard: Guard
    av_guard: Guard
    tradier_limiter: TradierWindowLimiter
    av_limiter: AlphaVantageLimiter
    demo: bool

    @property
    def guards(self) -> dict[str, Guard]:
        return {TRADIER: self.tradier_guard, ALPHAVANTAGE: self.av_guard}


def _demo_transport(clock: Clock) -> tuple[httpx.AsyncBaseTransport, str, str]:
    # Imported lazily: the synthetic market is only built when it is used.
    from ivcrush_tui.providers.demo.faults import FaultConfig
    from ivcrush_tui.providers.demo.market import DemoMarket
    from ivcrush_tui.providers.demo.transport import DEMO_AV_BASE, DEMO_TRADIER_BASE, DemoTransport

    # One seeded world seen from the clock's New York day (each day's view is built on demand
    # and shares the world's cached paths), so --as-of runs are reproducible.
    faults = FaultConfig(tradier_limit_per_min=DEMO_TRADIER_PER_MIN)
    return DemoTransport(DemoMarket, clock.now, faults=faults), DEMO_TRADIER_BASE, DEMO_AV_BASE


def _cache_missing_sniffio() -> None:
    """httpcore runs `import sniffio` on every request; when sniffio is not installed each of
    those failed imports searches sys.path again (~0.3 ms, a thousand times per scan: a tenth of
    the CPU of a scan). Record the absence once; the import then fails at once, as before."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _shared_tls_pools(
    tls_context: ssl.SSLContext | None, n: int, *, ca: bool
) -> list[httpx.AsyncBaseTransport]:
    """`n` connection pools (one per provider, sized as `make_http_client` sizes its own) sharing
    one TLS context, `tls_context` or one made here: building one with the CA bundle costs 20-60 ms
    of CPU, which each client would otherwise pay before its first request. Without `ca` (no
    provider is reached over https: a loopback server over http) the bundle buys nothing and is
    not read: the context still requires a verified certificate, but trusts no CA (an https
    connection, were one ever made, fails closed)."""
    import ssl

    if tls_context is not None:
        tls = tls_context
    elif ca:
        tls = httpx.create_ssl_context()
    else:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, hostnames checked
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )
    return [httpx.AsyncHTTPTransport(verify=tls, limits=limits) for _ in range(n)]


# `on_first_request` runs this long after the first request: the requests that start with it (a
# scan's stock quotes and first chains) are sent first. A warm-up thread started at once held the
# GIL through numpy's import while they waited to be sent (~0.1 s later, so their answers too).
FIRST_REQUEST_DELAY_S = 0.02


def _call_once_after_first_request(
    callback: Callable[[], object], clients: tuple[httpx.AsyncClient, ...]
) -> Callable[[], None]:
    """Call `callback` FIRST_REQUEST_DELAY_S after the first request of `clients`; returns a
    function that cancels the call if it has not happened yet (the runtime closing)."""
    timer: list[asyncio.TimerHandle] = []

    async def hook(_: httpx.Request) -> None:
        if not timer:
            timer.append(asyncio.get_running_loop().call_later(FIRST_REQUEST_DELAY_S, callback))

    for client in clients:
        client.event_hooks["request"].append(hook)
    return lambda: timer[0].cancel() if timer else None


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    tls_context: Callable[[], ssl.SSLContext | None] | None = None,
    on_first_request: Callable[[], object] | None = None,
) -> AsyncIterator[Runtime]:
    """Open the store and the clients; close everything on exit (also on cancellation).

    `transport` replaces the network (tests); `tls_context` returns the TLS context of both
    providers' connections when it is built ahead (the CLI builds it in a thread during its
    imports): it is called once the store is open, so the two overlap. Default (or when it
    returns None): one made here (see `_shared_tls_pools`). `on_first_request` is called once,
    FIRST_REQUEST_DELAY_S after the first request of either provider is sent (the CLI starts
    `warm_up_analytics` there).
    """
    _cache_missing_sniffio()
    # Before anything asks the calendar (the demo market does, at once): a process then reads the
    # holiday years from a file instead of importing the holidays package.
    holiday_cache.keep_beside(settings.database_path)
    res = settings.resilience
    tradier_base = settings.tradier.base_url
    av_base = settings.alphavantage.base_url
    token = settings.tradier.token.reveal() if settings.tradier.token else DEMO_TOKEN
    api_key = (
        settings.alphavantage.api_key.reveal() if settings.alphavantage.api_key else DEMO_TOKEN
    )
    av = settings.alphavantage
    tradier_per_min, av_per_s, av_quota = 120, av.max_per_second, av.daily_quota
    if settings.demo:
        tradier_per_min, av_per_s, av_quota = (
            DEMO_TRADIER_PER_MIN,
            DEMO_AV_PER_SECOND,
            DEMO_AV_DAILY_QUOTA,
        )
        if transport is None:
            transport, tradier_base, av_base = _demo_transport(clock)

    if transport is None:  # the network: its stack is imported while the store opens
        preload_http_stack()
    db = await Database.open(settings.database_path, clock=clock.now, mode=settings.mode)
    cache_db: Database | None = None
    client_cache: WriteBehindCache | None = None
    interrupted = False
    guards: dict[str, Guard] = {}  # kept for the close: their last calls are saved
    try:
        # The L2 cache gets its own connection (and aiosqlite thread): its reads and writes of
        # response bodies then overlap with the repositories' queries instead of queueing behind
        # them on one connection (a scan makes about ten store calls per ticker). WAL lets the two
        # connections read concurrently; writes are short transactions under SQLite's busy wait.
        # Opened without a second check and migration pass (`db` has just done both).
        cache_db = await db.open_another()
        cache = HybridCache(
            cache_db,
            clock=clock.now,
            l1_ttl_s=settings.cache.l1_ttl_s,
            l2_ttl_s=settings.cache.l2_ttl_s,
        )
        tradier_limiter = TradierWindowLimiter(
            tradier_per_min, monotonic=time.monotonic, now=clock.now
        )
        av_limiter = AlphaVantageLimiter(
            max_per_second=av_per_s,
            daily_quota=av_quota,
            quota_store=QuotaRepo(db),
            now=clock.now,
        )

        def guard(name: str, limiter: TradierWindowLimiter | AlphaVantageLimiter) -> Guard:
            return Guard(
                name,
                breaker=CircuitBreaker(
                    name,
                    failure_threshold=res.breaker_failures,
                    reset_timeout_s=res.breaker_reset_s,
                ),
                retry=RetryPolicy(
                    attempts=res.retry_attempts, base_s=res.backoff_base_s, max_s=res.backoff_max_s
                ),
                limiter=limiter,
                stats=ProviderStats(),
            )

        tradier_guard = guard(TRADIER, tradier_limiter)
        av_guard = guard(ALPHAVANTAGE, av_limiter)
        guards.update({TRADIER: tradier_guard, ALPHAVANTAGE: av_guard})
        client_cache = WriteBehindCache(cache)
        if transport is None:
            ahead = tls_context() if tls_context is not None else None
            t_transport, a_transport = _shared_tls_pools(ahead, 2, ca=settings.uses_tls)
        else:
            t_transport = a_transport = transport
        async with (
            contextlib.AsyncExitStack() as stack,
            make_http_client(timeout_s=settings.tradier.timeout_s, transport=t_transport) as t_http,
            make_http_client(
                timeout_s=settings.alphavantage.timeout_s, transport=a_transport
            ) as a_http,
        ):
            if on_first_request is not None:
                cancel = _call_once_after_first_request(on_first_request, (t_http, a_http))
                stack.callback(cancel)
            yield Runtime(
                settings=settings,
                clock=clock,
                calendar=default_calendar(),
                db=db,
                cache=cache,
                tradier=TradierClient(
                    t_http,
                    base_url=tradier_base,
                    token=token,
                    guard=tradier_guard,
                    cache=client_cache,
                ),
                alphavantage=AlphaVantageClient(
                    a_http,
                    base_url=av_base,
                    api_key=api_key,
                    guard=av_guard,
                    cache=client_cache,
                ),
                tradier_guard=tradier_guard,
                av_guard=av_guard,
                tradier_limiter=tradier_limiter,
                av_limiter=av_limiter,
                demo=settings.demo,
            )
    except BrokenPipeError:
        # The reader closed stdout (`scan --json | head -1`): the run stops early but nothing
        # went wrong here, so the responses already fetched are written as on a normal exit
        # (dropping them logged "queued writes dropped" on a stderr that must stay silent).
        raise
    except BaseException:
        # Interrupted (Ctrl-C, cancellation) or failed: queued cache writes are only a cache,
        # so they are dropped at once rather than delaying the exit.
        interrupted = True
        raise
    finally:
        try:
            if guards and not interrupted:
                await _save_last_calls(db, guards)
            if client_cache is not None:
                if interrupted:
                    await client_cache.discard()
                else:
                    await client_cache.flush(timeout_s=5.0)
        finally:
            if cache_db is not None:
                await cache_db.close()
        await db.close()


async def _save_last_calls(db: Database, guards: Mapping[str, Guard]) -> None:
    """So that a fresh `health` process can report each provider's last call (never fatal)."""
    try:
        await last_call.save(db, guards)
    except IvCrushError as exc:
        log.warning("last provider calls not saved: %s", exc)
