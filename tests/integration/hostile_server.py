"""A loopback HTTP server that misbehaves on purpose, below httpx's level (raw sockets): it
trickles a body one byte at a time, sends a body of any size in chunks, or redirects.

Paths: `/trickle` and anything below it (200, then one byte every 0.2 s, for at most 60 s),
`/huge?mb=N` (200, chunked, N MiB of JSON-ish filler, default 1024, stopped when the client goes
away), `/redirect` (302 to a URL carrying a token), `/silent` and anything below it (reads the
request, answers nothing for 30 s). Anything else: 404. Every loop is bounded in time and size.
"""

from __future__ import annotations

import socketserver
import threading
import time
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

TRICKLE_S = 60.0
SILENT_S = 30.0
CHUNK = 1024 * 1024
REDIRECT_TO = "http://elsewhere.invalid/v1/markets/clock?access_token=SECRETtok123"


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline(8192).decode("latin-1")
        while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # headers: not needed
        parts = line.split()
        target = urlsplit(parts[1] if len(parts) > 1 else "/")
        try:
            if target.path.startswith("/trickle"):  # any path below it: a trickling API
                self._trickle()
            elif target.path.endswith("/huge"):
                mb = int(parse_qs(target.query).get("mb", ["1024"])[0])
                self._huge(mb)
            elif target.path.startswith("/silent"):  # reads the request, never answers
                time.sleep(SILENT_S)
            elif target.path.endswith("/redirect"):
                self._head(302, [("Location", REDIRECT_TO), ("Content-Length", "0")])
            else:
                self._head(404, [("Content-Length", "0")])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: exactly what the tests want

    def _head(self, status: int, headers: list[tuple[str, str]]) -> None:
        lines = [f"HTTP/1.1 {status} X", *(f"{k}: {v}" for k, v in headers), "", ""]
        self.wfile.write("\r\n".join(lines).encode("latin-1"))
        self.wfile.flush()

    def _trickle(self) -> None:
        self._head(200, [("Content-Type", "application/json"), ("Content-Length", "100000")])
        end = time.monotonic() + TRICKLE_S
        while time.monotonic() < end:
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(0.2)

    def _huge(self, mb: int) -> None:
        self._head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
        block = b"[" + b"0," * (CHUNK // 2 - 1) + b"0"
        for _ in range(mb):
            self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class HostileServer:
    """`with HostileServer() as srv:` serves on 127.0.0.1 at `srv.base_url`."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
