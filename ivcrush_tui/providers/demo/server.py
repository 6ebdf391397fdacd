"""A real loopback HTTP server for the demo market (integration, fault and load tests).

stdlib only (`http.server.ThreadingHTTPServer`), bound to 127.0.0.1, serving the same routes and
bytes as DemoTransport through the same FaultEngine. Bounded: at most `max_connections` handler
threads (extra connections are closed at once), idle keep-alive connections time out, request
bodies are capped, and the counters have a fixed key set.

    ivcrush demo-server --port 8765 --latency-ms 100 --error-rate 0.05
    python -m ivcrush_tui.providers.demo.server --port 8765   (the same command)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.server
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ivcrush_tui.calendar import UTC
from ivcrush_tui.providers.demo.faults import (
    EngineStats,
    FaultAction,
    FaultConfig,
    FaultEngine,
    MarketSource,
    malform,
)
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.responses import AV_PATH, TRADIER_PREFIX, WireRequest, WireResponse
from ivcrush_tui.providers.demo.streams import DemoStreams, StreamConfig, StreamRun, write_chunked

__all__ = ["LOOPBACK", "DemoServer", "main"]

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 256 * 1024
IDLE_TIMEOUT_S = 10.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(UTC)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], owner: DemoServer, max_connections: int) -> None:
        self.owner = owner
        self.slots = threading.BoundedSemaphore(max_connections)
        self.live: set[socket.socket] = set()
        self.live_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Bounded concurrency: a connection beyond the cap is closed instead of queued.
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        with self.live_lock:
            self.live.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request: socket.socket) -> None:
        with self.live_lock:
            if request in self.live:
                self.live.discard(request)
                self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connections dropped by the client, by a reset fault or by stop() are expected here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close_live(self) -> None:
        """Shut every open connection (wakes handler threads blocked on keep-alive reads)."""
        with self.live_lock:
            conns = list(self.live)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ivcrush-demo/1"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and load runs read the counters instead

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(WireResponse(413, b"Request Entity Too Large", "text/plain"))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            params.setdefault(key, value)
        ctype = self.headers.get("Content-Type", "")
        if self.command == "POST" and "application/x-www-form-urlencoded" in ctype:
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(key, value)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = WireRequest(self.command.upper(), parts.path, params, headers)
        if owner.streams.handles(req.path):
            self._stream(req)
            return
        engine = owner.engine
        plan = engine.plan(req.path)
        if plan.delay_s > 0 and owner.stopping.wait(plan.delay_s):
            self._reset()
            return
        if plan.action is FaultAction.RESET:
            self._reset()
            return
        if plan.action is FaultAction.STALL and owner.stopping.wait(engine.faults.stall_s):
            self._reset()
            return
        if plan.action is FaultAction.ERROR:
            resp = engine.error_response(plan)
        else:
            try:
                resp = engine.serve(req)
            except Exception as exc:  # a bug must not kill the thread silently
                msg = f"internal error: {type(exc).__name__}"
                resp = WireResponse(500, msg.encode(), "text/plain")
            if plan.action is FaultAction.MALFORMED:
                resp = malform(resp, plan.malformed_html)
        self._send(resp)

    def _stream(self, req: WireRequest) -> None:
        """The streaming session and stream endpoints (streams.py); a stream is written as a
        chunked body on this handler thread until it ends, and its connection then closes."""
        streams = self.server.owner.streams
        if req.path.endswith("/session"):
            self._send(streams.session(req))
            return
        opened = streams.open(req)
        if not isinstance(opened, StreamRun):
            self._send(opened)
            return
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        if write_chunked(self.wfile, opened, self.server.owner.stopping):
            self._reset()

    def _send(self, resp: WireResponse) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for key, value in resp.headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(resp.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class DemoServer:
    """The demo market on a loopback port, served from a background thread.

    source: a DemoMarket or a factory `(ny_date) -> DemoMarket`; faults: see FaultConfig
    (default: Tradier 120/min, no faults); stream: the market stream's rate and faults
    (streams.py; default 20 events/s); clock: the aware "now" of the market (default: the
    wall clock); port 0 picks a free port. Use as a context manager or start()/stop().
    """

    def __init__(
        self,
        source: MarketSource,
        faults: FaultConfig | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        host: str = LOOPBACK,
        port: int = 0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_connections: int = 256,
        stream: StreamConfig | None = None,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the demo server binds only to {LOOPBACK}, not {host!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port out of range: {port}")
        if max_connections < 1:
            raise ValueError("max_connections must be >= 1")
        self.engine = FaultEngine(source, faults or FaultConfig(), clock or _utc_now, monotonic)
        # The session answer names this server's origin; set once the port is known (start()).
        self.streams = DemoStreams(self.engine, "http://127.0.0.1", stream, monotonic=monotonic)
        self.stopping = threading.Event()
        self._host = host
        self._port = port
        self._max_connections = max_connections
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = _Server((self._host, self._port), self, self._max_connections)
        self._port = self._httpd.server_address[1]
        self.streams.set_origin(self.origin)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"demo-server:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake stalled handlers, close open connections, join every thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.close_live()
        httpd.server_close()  # joins the handler threads (block_on_close)
        if thread is not None:
            thread.join(timeout=5.0)
        self._httpd = self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def origin(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def tradier_base(self) -> str:
        """Tradier base URL including /v1 (e.g. http://127.0.0.1:8765/tradier/v1)."""
        return self.origin + TRADIER_PREFIX

    @property
    def av_base(self) -> str:
        """The full Alpha Vantage query URL (e.g. http://127.0.0.1:8765/alphavantage/query)."""
        return self.origin + AV_PATH

    # -- runtime control and counters ---------------------------------------------------------

    @property
    def faults(self) -> FaultConfig:
        return self.engine.faults

    def set_faults(self, faults: FaultConfig) -> None:
        self.engine.set_faults(faults)

    def set_down(self, down: bool) -> None:
        """While down every request gets a 503."""
        self.engine.set_down(down)

    def stats(self) -> EngineStats:
        return self.engine.stats()

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests per route path ("<other>" for unknown paths)."""
        return self.engine.stats().requests

    @property
    def rate_limited_count(self) -> int:
        """Number of 429 answers."""
        return self.engine.stats().rate_limited

    def reset_counters(self) -> None:
        self.engine.reset_counters()

    def set_stream(self, stream: StreamConfig) -> None:
        """The market stream's rate and faults, for streams opened from now on."""
        self.streams.set_config(stream)


MODULE_PROG = "python -m ivcrush_tui.providers.demo.server"
DEFAULT_PORT = 8765
# Host names that mean this machine's IPv4 loopback (the only address the server binds).
LOOPBACK_NAMES = frozenset({LOOPBACK, "localhost"})

EPILOG = """\
Try live mode against it (keys are required by live mode; the demo server accepts any):

  [tradier]
  token = "demo"
  base_url = "http://127.0.0.1:8765/tradier/v1"
  [alphavantage]
  api_key = "demo"
  base_url = "http://127.0.0.1:8765/alphavantage/query"

  ivcrush --config demo-live.toml scan --json

Plain http is accepted for 127.0.0.1 only. See docs/DEPLOYMENT.md "The demo loopback server".
"""


def build_parser(prog: str = MODULE_PROG) -> argparse.ArgumentParser:
    """The options of `ivcrush demo-server` and of `python -m ivcrush_tui.providers.demo.server`
    (one parser, so both spell the same options)."""
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Serve the ivcrush demo market (Tradier + Alpha Vantage formats) on loopback,"
        " with optional latency and faults. Prints the two base URLs, then serves until Ctrl-C"
        " or SIGTERM.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--host", default=LOOPBACK, help=f"address to bind: {LOOPBACK} only (default), or localhost"
    )
    ap.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)"
    )
    ap.add_argument("--as-of", help="market date YYYY-MM-DD (default: today in New York)")
    ap.add_argument(
        "--seed", type=int, default=None, help="another demo world (default: the demo world)"
    )
    ap.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    ap.add_argument("--jitter-ms", type=float, default=0.0, help="random extra latency, up to")
    ap.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 5xx")
    ap.add_argument("--stall-rate", type=float, default=0.0, help="fraction that stall")
    ap.add_argument("--stall-s", type=float, default=5.0, help="seconds a stall lasts")
    ap.add_argument("--reset-rate", type=float, default=0.0, help="fraction of connections reset")
    ap.add_argument("--malformed-rate", type=float, default=0.0, help="fraction of broken bodies")
    ap.add_argument("--tradier-limit-per-min", type=int, default=120, help="0 = unlimited")
    ap.add_argument("--av-daily-quota", type=int, default=0, help="0 = unlimited")
    ap.add_argument("--av-burst-per-s", type=int, default=0, help="0 = unlimited")
    ap.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    ap.add_argument(
        "--stream-rate", type=float, default=20.0, help="market-stream events/s per connection"
    )
    return ap


def _parse_args(argv: Sequence[str] | None, prog: str = MODULE_PROG) -> argparse.Namespace:
    return build_parser(prog).parse_args(argv)


def main(argv: Sequence[str] | None = None, prog: str = MODULE_PROG) -> int:
    """CLI entry (`ivcrush demo-server`, `python -m ...`): print the base URLs on stdout and
    serve until interrupted; 0 on Ctrl-C / SIGTERM, 2 on bad options or a busy port."""
    try:
        args = _parse_args(argv, prog)
    except SystemExit as exc:  # --help, or bad usage (argparse printed why): a code, in process
        return exc.code if isinstance(exc.code, int) else 2
    if args.host not in LOOPBACK_NAMES:
        # Anything else would put an unauthenticated fake market on the network.
        print(f"{prog}: error: --host {args.host}: binds only to {LOOPBACK}", file=sys.stderr)
        return 2
    try:
        faults = FaultConfig(
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            error_rate=args.error_rate,
            stall_rate=args.stall_rate,
            stall_s=args.stall_s,
            reset_rate=args.reset_rate,
            malformed_rate=args.malformed_rate,
            tradier_limit_per_min=args.tradier_limit_per_min or None,
            av_daily_quota=args.av_daily_quota or None,
            av_burst_per_s=args.av_burst_per_s or None,
            seed=args.fault_seed,
        )
        as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
        stream = StreamConfig(rate_per_s=args.stream_rate)
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    seed = args.seed
    if as_of is not None:
        try:
            market = DemoMarket(as_of, seed)
        except ValueError as exc:  # outside the world's span
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        source: MarketSource = market
        # Keep "now" on the chosen market day, advancing in real time from 15:00 ET.
        from ivcrush_tui.calendar import NY

        origin = dt.datetime(as_of.year, as_of.month, as_of.day, 15, 0, tzinfo=NY)
        started = time.monotonic()

        def clock() -> dt.datetime:
            return (origin + dt.timedelta(seconds=time.monotonic() - started)).astimezone(UTC)
    else:

        def factory(day: dt.date) -> DemoMarket:
            return DemoMarket(day, seed)

        source = factory
        clock = _utc_now
    try:
        server = DemoServer(source, faults, clock, port=args.port, stream=stream)
        server.start()
    except (OSError, ValueError) as exc:
        print(f"{prog}: error: cannot listen on {LOOPBACK}:{args.port}: {exc}", file=sys.stderr)
        return 2

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops as cleanly as Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    print(f"TRADIER_BASE_URL={server.tradier_base}", flush=True)
    print(f"ALPHAVANTAGE_BASE_URL={server.av_base}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
