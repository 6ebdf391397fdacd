"""Tradier market streaming over the HTTP stream (reference/provider-apis.md §1.11).

    stream = TradierStream(http, base_url=..., token=..., symbols=["AAPL", "AAPL261218C00200000"])
    async for event in stream.events():      # StreamQuote / StreamTrade / StreamSummary / ...
        apply(event)
    # the iterator ends only after close() or a permanent failure:
    if stream.health().state is StreamState.FAILED: fall back to polling (health().error says why)

Why the HTTP stream and not the WebSocket: it needs no new dependency (httpx streams a chunked
body), and a subscription change is a reconnect, which the client must handle anyway (the
session dies with its connection).

One connection: POST <base>/markets/events/session (Bearer token) names a stream URL and a fresh
session id; POST <stream url> with sessionid, symbols, filter and linebreak=true answers a chunked
body of one JSON object per line, bare lines being keep-alives. The token goes only to the REST
host; the stream host gets the session id, which is redacted like the token.

Parts: the settings, states and health snapshot in tradier_stream_types.py, the session handshake
and the stream URL check in tradier_stream_session.py (both re-exported here), the line splitter
and the rate meter in stream_buffers.py.

Robustness: every drop, timeout or 5xx reconnects with a NEW session after an exponential back-off
with equal jitter (resilience/retry.py's schedule, bounded by backoff_max_s), reset once a
connection delivered an event. A connection with no byte at all for `stale_after_s`, or (while
`market_open()`) with only keep-alives for that long, is dead and reconnected. Malformed lines
(bad JSON, strings where numbers belong, unknown types, partial or oversized lines) are skipped
and counted. A permanent failure (401/403 -> AUTH, 400 -> BAD_REQUEST: sandbox accounts have no
streaming, a stream URL that is not https off loopback -> CONFIG) ends the iterator with state
FAILED: the caller polls instead.

Time is injected: `monotonic()` (seconds) for ages, rates and the keep-alive rule, `sleep` for
the back-off; `check_interval_s` is how often (real seconds) a silent connection is examined.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Final

import httpx

from ivcrush_tui.domain import ErrorCode, IvCrushError, ProviderError
from ivcrush_tui.providers.http import (
    PayloadError,
    provider_error_from_httpx,
    redact_text,
)
from ivcrush_tui.providers.stream_buffers import LineSplitter, RateMeter
from ivcrush_tui.providers.tradier_events import Keepalive, StreamEvent, parse_event_line
from ivcrush_tui.providers.tradier_stream_session import (
    StreamSession,
    check_stream_url,
    create_session,
    retryable,
)
from ivcrush_tui.providers.tradier_stream_types import (
    DEFAULT_FILTERS,
    PROVIDER,
    SESSION_ENDPOINT,
    SESSION_PATH,
    STREAM_ENDPOINT,
    StreamHealth,
    StreamOptions,
    StreamState,
)
from ivcrush_tui.providers.tradier_support import checked_base_and_token, error_detail
from ivcrush_tui.resilience.retry import RetryPolicy
from ivcrush_tui.symbols import is_occ_symbol, to_tradier, validate_symbol

__all__ = [
    "DEFAULT_FILTERS",
    "SESSION_PATH",
    "StreamHealth",
    "StreamOptions",
    "StreamState",
    "TradierStream",
    "check_stream_url",
]

log = logging.getLogger(__name__)

MIN_SECRET_LEN: Final = 4
ERROR_BODY_BYTES: Final = 4096  # of a refused stream's body, for its message
QUEUE_CHUNKS: Final = 256  # chunks read ahead of the consumer (then TCP pushes back)


class _Wake:
    """Queue marker: stop reading (subscription changed, or close())."""


class _End:
    """Queue marker: the server ended the body."""


_WAKE: Final = _Wake()
_END: Final = _End()
_QueueItem = bytes | _Wake | _End | ProviderError


class TradierStream:
    """One market stream (one session per connect) for a changing set of symbols.

    base_url: the REST base ending in /v1 (the session endpoint lives there). symbols: our form
    (BRK.B) for underlyings, OCC symbols for options; invalid ones are dropped. market_open():
    True while the keep-alive-only rule applies (regular hours). sleep/rng: the back-off's.
    Use one instance per account (see docs/ARCHITECTURE.md, "Market streaming")."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        token: str,
        symbols: Iterable[str] = (),
        options: StreamOptions | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        market_open: Callable[[], bool] = lambda: True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._base, self._token = checked_base_and_token(base_url, token)
        self._opts = options or StreamOptions()
        self._mono = monotonic
        self._market_open = market_open
        self._sleep = sleep
        self._backoff = RetryPolicy(
            attempts=1,
            base_s=self._opts.backoff_base_s,
            max_s=self._opts.backoff_max_s,
            rng=rng,
        )
        self._symbols: tuple[str, ...] = ()
        self._session_id: str | None = None
        self._queue: asyncio.Queue[_QueueItem] | None = None
        self._changed = asyncio.Event()
        self._resubscribe = False
        self._closed = False
        self._state = StreamState.IDLE
        self._events = 0
        self._keepalives = 0
        self._malformed = 0
        self._reconnects = 0
        self._resubscribes = 0
        self._last_event: float | None = None
        self._rate = RateMeter(self._opts.rate_window_s)
        self._error: ProviderError | None = None
        self.set_symbols(symbols)

    def __repr__(self) -> str:  # never the token or the session id
        return f"TradierStream(base_url={self._base!r}, symbols={len(self._symbols)})"

    # -- the caller's controls -----------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """The subscribed symbols in the Tradier spelling (sorted)."""
        return self._symbols

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """Change the subscription. The HTTP stream cannot change symbols in place, so an open
        connection is replaced at once (a new session, no back-off; counted as a resubscribe)."""
        wanted: set[str] = set()
        for raw in symbols:
            text = raw.strip().upper() if isinstance(raw, str) else ""
            if is_occ_symbol(text):
                wanted.add(text)
                continue
            try:
                wanted.add(to_tradier(validate_symbol(text)))
            except IvCrushError:
                log.debug("tradier stream: %r is not a symbol; not subscribed", raw)
        ordered = tuple(sorted(wanted))
        if ordered == self._symbols:
            return
        self._symbols = ordered
        self._resubscribe = True
        self._changed.set()
        self._wake_reader()

    def close(self) -> None:
        """End the stream: the iterator returns after the current event (state CLOSED)."""
        self._closed = True
        self._state = StreamState.CLOSED
        self._changed.set()
        self._wake_reader()

    def health(self) -> StreamHealth:
        now = self._mono()
        age = None if self._last_event is None else max(0.0, now - self._last_event)
        err = self._error
        return StreamHealth(
            state=self._state,
            connected=self._state is StreamState.LIVE,
            symbols=len(self._symbols),
            events=self._events,
            events_per_s=self._rate.rate(now),
            last_event_age_s=age,
            keepalives=self._keepalives,
            malformed=self._malformed,
            reconnects=self._reconnects,
            resubscribes=self._resubscribes,
            error_code=err.code if err is not None else None,
            error=self._redact(err.message) if err is not None else None,
        )

    # -- the iterator --------------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[StreamEvent, None]:
        """Every data event, in arrival order, across reconnects, until close() or a permanent
        failure (then health().state is FAILED and health().error says why)."""
        try:
            async with contextlib.aclosing(self._run()) as run:
                async for event in run:
                    yield event
        finally:
            # However the iteration ended (close(), the consumer leaving, cancellation), the
            # stream is no longer live; FAILED stays, so the caller can read why.
            if self._state is not StreamState.FAILED:
                self._state = StreamState.CLOSED

    async def _run(self) -> AsyncGenerator[StreamEvent, None]:
        failures = 0  # consecutive connects that delivered nothing
        while not self._closed:
            if not self._symbols:
                self._state = StreamState.IDLE
                self._changed.clear()
                await self._changed.wait()
                continue
            self._resubscribe = False
            self._state = StreamState.CONNECTING
            before = self._events
            error: ProviderError | None = None
            try:
                session = await self._create_session()
                async with contextlib.aclosing(self._connection(session)) as connection:
                    async for event in connection:
                        yield event
            except ProviderError as exc:
                error = exc
            finally:
                self._queue = None
            if self._stopping():
                break
            if error is not None and not retryable(error):
                self._error = error
                self._state = StreamState.FAILED
                log.warning("tradier stream: %s; polling instead", self._redact(str(error)))
                return
            if self._resubscribe and error is None:
                self._resubscribes += 1
                continue
            self._reconnects += 1
            if error is not None:
                self._error = error
            # Capped: the wait stops growing long before, and 2.0**n overflows past ~1024.
            failures = 1 if self._events > before else min(failures + 1, 32)
            wait = self._backoff.backoff_s(failures, error)  # honours a retry_after_s
            self._state = StreamState.BACKOFF
            log.info(
                "tradier stream: %s; reconnecting in %.1f s",
                self._redact(str(error)) if error is not None else "closed",
                wait,
            )
            await self._pause(wait)

    async def _pause(self, seconds: float) -> None:
        """The back-off wait, cut short by set_symbols() or close() (a new subscription should
        not wait out a minute of back-off meant for a failing server)."""
        self._changed.clear()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        waker = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    # -- one connection ------------------------------------------------------------------------

    async def _create_session(self) -> StreamSession:
        """A new session (the previous session id stays redacted in its messages)."""
        session = await create_session(self._http, self._base, self._token, secrets=self._secrets())
        self._session_id = session.session_id
        return session

    async def _connection(self, session: StreamSession) -> AsyncGenerator[StreamEvent, None]:
        """Open the stream and yield its events until it drops, goes stale or is woken."""
        form = {
            "sessionid": session.session_id,
            "symbols": ",".join(self._symbols),
            "filter": ",".join(self._opts.filters),
            "linebreak": "true",
        }
        connect_s = self._http.timeout.connect or 10.0
        # No read timeout: silence is judged by the keep-alive rule below, on the injected clock.
        timeout = httpx.Timeout(connect_s, read=None)
        queue: asyncio.Queue[_QueueItem] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        try:
            async with self._http.stream(
                "POST",
                session.url,
                data=form,
                headers={"Accept": "application/json"},
                timeout=timeout,
            ) as response:
                if response.status_code != 200:
                    # The session already proved the token; a refused stream is a dead or
                    # superseded session id (or a server fault): worth a new session later.
                    detail = self._detail(await _head(response))
                    raise ProviderError(
                        ErrorCode.UNAVAILABLE,
                        f"HTTP {response.status_code} opening the stream"
                        + (f": {detail}" if detail else ""),
                        provider=PROVIDER,
                        endpoint=STREAM_ENDPOINT,
                    )
                self._queue = queue
                pump = asyncio.create_task(self._pump(response, queue))
                try:
                    async for event in self._read(queue):
                        yield event
                finally:
                    pump.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pump
        except (httpx.HTTPError, httpx.StreamError) as exc:
            raise provider_error_from_httpx(
                exc, provider=PROVIDER, endpoint=STREAM_ENDPOINT, secrets=self._secrets()
            ) from None

    async def _pump(self, response: httpx.Response, queue: asyncio.Queue[_QueueItem]) -> None:
        """Read the body into `queue` (a separate task: cancelling a read mid-way could leave
        the connection in an unknown state; cancelling a queue wait cannot)."""
        try:
            async for chunk in response.aiter_bytes():
                if chunk:
                    await queue.put(chunk)
            await queue.put(_END)
        except (httpx.HTTPError, httpx.StreamError) as exc:
            await queue.put(
                provider_error_from_httpx(
                    exc, provider=PROVIDER, endpoint=STREAM_ENDPOINT, secrets=self._secrets()
                )
            )

    async def _read(self, queue: asyncio.Queue[_QueueItem]) -> AsyncGenerator[StreamEvent, None]:
        opts = self._opts
        splitter = LineSplitter(opts.max_line_bytes)
        opened = last_byte = last_check = self._mono()
        last_data = opened
        self._state = StreamState.LIVE
        log.info("tradier stream: connected (%d symbols)", len(self._symbols))
        while True:
            try:
                async with asyncio.timeout(opts.check_interval_s):
                    item = await queue.get()
            except TimeoutError:
                item = None
            if self._interrupted():
                return
            now = self._mono()
            if isinstance(item, bytes):
                last_byte = now
                for line in splitter.feed(item):
                    try:
                        parsed = parse_event_line(line)
                    except PayloadError as exc:
                        self._malformed += 1
                        log.debug("tradier stream: skipped a malformed line (%s)", exc)
                        continue
                    if isinstance(parsed, Keepalive):
                        self._keepalives += 1
                        continue
                    now = self._mono()
                    self._events += 1
                    self._last_event = last_data = now
                    self._rate.add(now)
                    yield parsed
                    if self._interrupted():
                        return
                self._malformed += splitter.overflows
                splitter.overflows = 0
            elif isinstance(item, _End):
                if splitter.pending():
                    self._malformed += 1  # the last event was cut in half
                raise ProviderError(
                    ErrorCode.UNAVAILABLE,
                    "the server ended the stream",
                    provider=PROVIDER,
                    endpoint=STREAM_ENDPOINT,
                )
            elif isinstance(item, ProviderError):
                raise item
            if item is None or now - last_check >= opts.check_interval_s:
                last_check = now
                self._check_alive(now, last_byte, last_data)

    def _check_alive(self, now: float, last_byte: float, last_data: float) -> None:
        """The keep-alive rule: no byte at all for stale_after_s, or (in market hours) nothing
        but keep-alives for that long, means the connection is dead."""
        limit = self._opts.stale_after_s
        if now - last_byte >= limit:
            reason = f"no byte for {limit:g} s"
        elif now - last_data >= limit and self._market_open():
            reason = f"only keep-alives for {limit:g} s in market hours"
        else:
            return
        raise ProviderError(
            ErrorCode.TIMEOUT,
            f"stale stream: {reason}",
            provider=PROVIDER,
            endpoint=STREAM_ENDPOINT,
        )

    # -- helpers -------------------------------------------------------------------------------

    # Methods, not attribute reads: close() and set_symbols() change these while a loop awaits.
    def _stopping(self) -> bool:
        return self._closed

    def _interrupted(self) -> bool:
        return self._closed or self._resubscribe

    def _wake_reader(self) -> None:
        queue = self._queue
        if queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_WAKE)  # a full queue is read at once; the flag is seen then

    def _secrets(self) -> tuple[str, ...]:
        found = (self._token, self._session_id or "")
        return tuple(s for s in found if len(s) >= MIN_SECRET_LEN)

    def _redact(self, text: str) -> str:
        return redact_text(text, self._secrets())

    def _detail(self, body: bytes) -> str:
        return error_detail(body, self._secrets(), endpoint=SESSION_ENDPOINT)


async def _head(response: httpx.Response) -> bytes:
    """The first ERROR_BODY_BYTES of a refused stream's body (its message), no more."""
    out = bytearray()
    async for chunk in response.aiter_bytes():
        out += chunk
        if len(out) >= ERROR_BODY_BYTES:
            break
    return bytes(out[:ERROR_BODY_BYTES])
