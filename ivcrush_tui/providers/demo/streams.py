"""The demo market's streaming endpoints (reference/provider-apis.md §1.11), shared by the
in-process transport and the loopback server:

- POST /tradier/v1/markets/events/session (Bearer token) -> {"stream": {"url", "sessionid"}}:
  a fresh session id, valid for one connection within SESSION_TTL_S. One market session per
  account, as at Tradier: a new session ends the stream of the previous one.
- POST /tradier/v1/markets/events (form: sessionid, symbols, filter, linebreak) -> a chunked
  body of JSON lines (stream_feed.py) paced at StreamConfig.rate_per_s, with bare-line
  keep-alives, until the client leaves, the session is superseded or a drop fault fires.

`StreamRun.next_chunk(mono)` is the whole pacing logic; the transport (`AsyncFeedStream`) and the
server (`write_chunked`) only sleep tick_s between calls. Instants of the events come from the
endpoint's injected market clock; pacing is on `monotonic()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final, Protocol

import httpx

from ivcrush_tui.providers.demo.faults import FaultEngine
from ivcrush_tui.providers.demo.responses import (
    TRADIER_PREFIX,
    WireRequest,
    WireResponse,
    apigee_fault,
    json_response,
    text_response,
    tradier_errors,
)
from ivcrush_tui.providers.demo.stream_feed import StreamConfig, StreamFeed
from ivcrush_tui.providers.demo.wire import check_access

__all__ = [
    "SESSION_PATH",
    "STREAM_PATH",
    "AsyncFeedStream",
    "DemoStreams",
    "StreamConfig",
    "StreamRun",
    "StreamStats",
    "write_chunked",
]

SESSION_PATH: Final = f"{TRADIER_PREFIX}/markets/events/session"
STREAM_PATH: Final = f"{TRADIER_PREFIX}/markets/events"
SESSION_TTL_S: Final = 300.0  # "must be used within about 5 minutes"
MAX_SESSIONS: Final = 64  # unused sessions kept (bounded)
MAX_STREAM_SYMBOLS: Final = 5000
MAX_CHUNK_EVENTS_S: Final = 1.0  # after a stall, at most this many seconds of events at once


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Counters: sessions created, streams opened, data events and keep-alives sent, streams
    open now."""

    sessions: int
    streams: int
    events: int
    keepalives: int
    open_streams: int


class DemoStreams:
    """Sessions and streams of one demo endpoint. `origin` is what the session answer names
    (https://... for the in-process transport, whose routing ignores the scheme; the server's
    http://127.0.0.1:port). Thread-safe."""

    def __init__(
        self,
        engine: FaultEngine,
        origin: str,
        config: StreamConfig | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._origin = origin.rstrip("/")
        self._config = config or StreamConfig()
        self._mono = monotonic
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, float] = OrderedDict()  # unused id -> created (mono)
        self._current: str | None = None  # the account's one live session
        self._counter = 0
        self._issued: deque[str] = deque(maxlen=MAX_SESSIONS)  # for tests: never logged
        self._streams = 0
        self._events = 0
        self._keepalives = 0
        self._open = 0

    def set_origin(self, origin: str) -> None:
        """The origin the session answer names (the server knows its port once bound)."""
        self._origin = origin.rstrip("/")

    @property
    def config(self) -> StreamConfig:
        return self._config

    def set_config(self, config: StreamConfig) -> None:
        """Applies to streams opened from now on."""
        self._config = config

    @staticmethod
    def handles(path: str) -> bool:
        return path in (SESSION_PATH, STREAM_PATH)

    def issued(self) -> tuple[str, ...]:
        """The last MAX_SESSIONS session ids handed out (tests check none is ever logged)."""
        with self._lock:
            return tuple(self._issued)

    def stats(self) -> StreamStats:
        with self._lock:
            return StreamStats(
                self._counter,
                self._streams,
                self._events,
                self._keepalives,
                self._open,
            )

    # -- requests ------------------------------------------------------------------------------

    def session(self, req: WireRequest) -> WireResponse:
        """Answer POST .../markets/events/session."""
        if self._engine.down:
            return text_response("Service Unavailable", 503)
        if req.method != "POST":
            return text_response("Method Not Allowed", 405)
        denied = check_access(req)
        if denied is not None:
            return denied
        status = self._config.session_status
        if status in (401, 403):
            fault = apigee_fault(
                "Invalid Access Token", "keymanagement.service.invalid_access_token"
            )
            return json_response(fault, status)
        if status is not None and status != 200:
            return tradier_errors("Streaming is not available for this account", status)
        with self._lock:
            self._counter += 1
            digest = hashlib.sha256(f"demo-stream-{self._counter}".encode()).hexdigest()
            sid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
            self._sessions[sid] = self._mono()
            self._issued.append(sid)
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
            self._current = sid  # a new session ends the old one's stream
        url = self._origin + STREAM_PATH
        return json_response({"stream": {"url": url, "sessionid": sid}})

    def open(self, req: WireRequest) -> WireResponse | StreamRun:
        """Answer POST .../markets/events: a StreamRun to pace out, or an error response."""
        if self._engine.down:
            return text_response("Service Unavailable", 503)
        if req.method != "POST":
            return text_response("Method Not Allowed", 405)
        sid = req.params.get("sessionid", "").strip()
        symbols = [s for s in req.params.get("symbols", "").split(",") if s.strip()]
        if not symbols:
            return tradier_errors("Missing required parameter: symbols")
        if len(symbols) > MAX_STREAM_SYMBOLS:
            return tradier_errors(f"Too many symbols (max {MAX_STREAM_SYMBOLS})")
        with self._lock:
            created = self._sessions.pop(sid, None)  # one connection per session
            if created is None or self._mono() - created > SESSION_TTL_S:
                return tradier_errors("Invalid or expired session id")
            self._streams += 1
        filters = [f.strip() for f in req.params.get("filter", "").split(",") if f.strip()]
        now = self._engine.now()
        feed = StreamFeed(self._engine.market, symbols, filters, self._config, now)
        return StreamRun(self, sid, feed, self._config, self._mono)

    # -- used by StreamRun ---------------------------------------------------------------------

    def _superseded(self, sid: str) -> bool:
        return self._current != sid

    def _count(self, events: int, keepalives: int, opened: int = 0) -> None:
        with self._lock:
            self._events += events
            self._keepalives += keepalives
            self._open += opened


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


class StreamRun:
    """One open stream: call next_chunk(monotonic seconds) every tick_s; None ends the body."""

    def __init__(
        self,
        owner: DemoStreams,
        session_id: str,
        feed: StreamFeed,
        config: StreamConfig,
        monotonic: Callable[[], float],
    ) -> None:
        self._owner = owner
        self._sid = session_id
        self._feed = feed
        self.config = config
        self._mono = monotonic
        self._start = monotonic()
        self._last_write = self._start
        self._sent = 0  # data events (and malformed lines) sent
        self._opened = False
        self._closed = False
        self.reset = False  # set when the drop fault wants an abrupt reset

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._opened:
                self._owner._count(0, 0, -1)

    def next_chunk(self, mono: float) -> bytes | None:
        """The bytes due at `mono` (b"" when nothing is due), or None to end the stream."""
        cfg = self.config
        if self._closed or self._owner._superseded(self._sid):
            self.close()
            return None
        engine_now = self._owner._engine.now()
        chunk: list[bytes] = []
        if not self._opened:
            self._opened = True
            self._owner._count(0, 0, 1)
            if not cfg.keepalive_only:
                chunk += self._feed.summaries(engine_now)
        due = 0
        if not cfg.keepalive_only:
            target = math.floor((mono - self._start) * cfg.rate_per_s)
            # After a stall, do not burst more than a second's worth at once.
            floor_ = target - math.ceil(cfg.rate_per_s * MAX_CHUNK_EVENTS_S)
            self._sent = max(self._sent, floor_)
            due = max(0, target - self._sent)
            if cfg.drop_after_events is not None:
                due = min(due, cfg.drop_after_events - self._sent)
        if due > 0:
            lines = self._feed.lines(due, engine_now)
            self._sent += due
            chunk += lines
            self._owner._count(len(lines), 0)
        if cfg.drop_after_events is not None and self._sent >= cfg.drop_after_events:
            self.reset = cfg.drop_reset
            data = b"".join(chunk)
            if not data:
                self.close()
                return None
            # Send the last events, then end at the next call.
            self._closed = True
            self._owner._count(0, 0, -1)
            return data
        if not chunk and mono - self._last_write >= cfg.keepalive_s:
            chunk.append(b"\n")
            self._owner._count(0, 1)
        if chunk:
            self._last_write = mono
        return b"".join(chunk)


class AsyncFeedStream(httpx.AsyncByteStream):
    """A StreamRun as an httpx response body (the in-process transport)."""

    def __init__(self, run: StreamRun, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._run = run
        self._mono = monotonic

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = self._run.next_chunk(self._mono())
                if chunk is None:
                    if self._run.reset:
                        raise httpx.RemoteProtocolError("demo stream reset (fault)")
                    return
                if chunk:
                    yield chunk
                await asyncio.sleep(self._run.config.tick_s)
        finally:
            self._run.close()

    async def aclose(self) -> None:
        self._run.close()


def write_chunked(
    out: _Writable,
    run: StreamRun,
    stopping: threading.Event,
    monotonic: Callable[[], float] = time.monotonic,
) -> bool:
    """Write a StreamRun as an HTTP/1.1 chunked body until it ends, the client leaves or the
    server stops. Returns True when the connection should be reset (the drop fault)."""
    try:
        while True:
            chunk = run.next_chunk(monotonic())
            if chunk is None:
                if run.reset:
                    return True
                out.write(b"0\r\n\r\n")
                out.flush()
                return False
            if chunk:
                out.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                out.flush()
            if stopping.wait(run.config.tick_s):
                return True
    except OSError:
        return False  # the client went away
    finally:
        with contextlib.suppress(Exception):
            run.close()
