"""A small HTTP/1.1 server on the stdlib asyncio streams: GET (and HEAD) of a few fixed paths.

Why not a framework: three read-only routes on loopback need none, and the bounds that keep a
monitoring endpoint alive are easier to see here: the request head is at most MAX_HEAD_BYTES and
must arrive within HEAD_TIMEOUT_S seconds, a request body is refused (413), a handler has
HANDLER_TIMEOUT_S seconds, writing the answer WRITE_TIMEOUT_S, and at most MAX_CONNECTIONS are
served at once (more are answered 503 at once). Every answer closes its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192  # request line + headers, bytes
HEAD_TIMEOUT_S = 5.0  # seconds for the whole request head to arrive
HANDLER_TIMEOUT_S = 20.0  # seconds a handler may take (a health probe takes at most 5)
WRITE_TIMEOUT_S = 5.0  # seconds to hand the answer to a (slow) reader
# After answering, what the client still sends is read and dropped for this long (seconds, up to
# LINGER_BYTES): closing a socket with unread input resets it, and the client would lose the answer.
LINGER_S = 0.5
LINGER_BYTES = 65536
MAX_CONNECTIONS = 32  # connections served at once
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = JSON_TYPE


Handler = Callable[[], Awaitable[Response]]


def json_response(status: int, obj: object) -> Response:
    """`obj` as strict JSON (no NaN/Infinity), UTF-8."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    return Response(status, text.encode())


def _error(status: HTTPStatus) -> Response:
    return json_response(status.value, {"error": status.phrase.lower()})


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


def _parse_head(head: bytes) -> tuple[str, str]:
    """(method, path without query) of a request head; raises _BadRequest."""
    lines = head.decode("latin-1").split("\r\n")  # latin-1: every byte decodes
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(HTTPStatus.BAD_REQUEST)
    method, target, _ = parts
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest(HTTPStatus.BAD_REQUEST)
        name = name.strip().lower()
        if name == "transfer-encoding" or (
            name == "content-length" and value.strip() not in ("", "0")
        ):
            raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)  # no route takes a body
    if method not in ("GET", "HEAD"):
        raise _BadRequest(HTTPStatus.METHOD_NOT_ALLOWED)
    return method, target.split("?", 1)[0]


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then drop what the client still sends (bounded), so that closing does not
    reset the connection before the client has read the answer."""
    if writer.can_write_eof():
        writer.write_eof()
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_S):
            left = LINGER_BYTES
            while left > 0:
                chunk = await reader.read(min(left, 8192))
                if not chunk:
                    return
                left -= len(chunk)


class HttpServer:
    """Serves `routes` (path -> handler) on host:port until `close()`."""

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str,
        port: int,
        head_timeout_s: float = HEAD_TIMEOUT_S,
    ) -> None:
        """`head_timeout_s`: seconds for a request head to arrive (then 408)."""
        self._routes = dict(routes)
        self._head_timeout_s = head_timeout_s
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind and listen (raises OSError when the address is taken or not local)."""
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, limit=MAX_HEAD_BYTES
        )

    @property
    def port(self) -> int:
        """The port listened on (the one picked by the system when 0 was asked for)."""
        assert self._server is not None
        assert self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and end the connections still open (their handlers are cancelled)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            if len(self._connections) > MAX_CONNECTIONS:
                await self._send(writer, "GET", _error(HTTPStatus.SERVICE_UNAVAILABLE))
            else:
                method, response = await self._answer(reader)
                await self._send(writer, method, response)
            await _linger(reader, writer)
        except (ConnectionError, TimeoutError):
            pass  # the client went away or does not read: nothing to tell it
        except asyncio.CancelledError:
            # Only close() cancels a connection: it ends here, quietly (a cancelled connection
            # task is reported as an error by asyncio's stream callback on Python 3.11).
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, Response]:
        try:
            async with asyncio.timeout(self._head_timeout_s):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return "GET", _error(HTTPStatus.REQUEST_TIMEOUT)
        except asyncio.LimitOverrunError:
            return "GET", _error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        except asyncio.IncompleteReadError:
            raise ConnectionResetError from None
        try:
            method, path = _parse_head(head)
        except _BadRequest as exc:
            return "GET", _error(exc.status)
        handler = self._routes.get(path)
        if handler is None:
            return method, _error(HTTPStatus.NOT_FOUND)
        try:
            async with asyncio.timeout(HANDLER_TIMEOUT_S):
                return method, await handler()
        except TimeoutError:
            log.warning("serve: %s took longer than %.0f s", path, HANDLER_TIMEOUT_S)
            return method, _error(HTTPStatus.SERVICE_UNAVAILABLE)
        except Exception:
            log.exception("serve: %s failed", path)
            return method, _error(HTTPStatus.INTERNAL_SERVER_ERROR)

    async def _send(self, writer: asyncio.StreamWriter, method: str, response: Response) -> None:
        phrase = HTTPStatus(response.status).phrase
        head = (
            f"HTTP/1.1 {response.status} {phrase}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1")
        writer.write(head if method == "HEAD" else head + response.body)
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await writer.drain()
