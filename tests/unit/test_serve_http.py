"""serve's small HTTP server over real loopback sockets: routing, the answers to malformed or
unwanted requests, a failing handler, and the bound on connections served at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from ivcrush_tui.serve.http import MAX_CONNECTIONS, HttpServer, Response, json_response


async def ok() -> Response:
    return json_response(200, {"ok": True})


async def boom() -> Response:
    raise RuntimeError("handler bug")


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    srv = HttpServer({"/ok": ok, "/boom": boom}, host="127.0.0.1", port=0, head_timeout_s=2.0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


async def raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5.0)
    writer.close()
    return answer


async def test_routes_and_errors(server: HttpServer) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        got = await client.get("/ok")
        assert (got.status_code, got.json()) == (200, {"ok": True})
        assert got.headers["connection"] == "close"
        assert got.headers["cache-control"] == "no-store"
        assert (await client.get("/missing")).status_code == 404
        assert (await client.put("/ok")).status_code == 405
        failed = await client.get("/boom")
        assert failed.status_code == 500
        assert "handler bug" not in failed.text  # the log has it, not the client
    assert (await raw(server.port, b"nonsense\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
    assert (await raw(server.port, b"GET /ok HTTP/1.1\r\nno colon\r\n\r\n")).startswith(
        b"HTTP/1.1 400 "
    )
    chunked = b"GET /ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert (await raw(server.port, chunked)).startswith(b"HTTP/1.1 413 ")


async def test_connections_beyond_the_bound_are_answered_503_at_once(server: HttpServer) -> None:
    idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(MAX_CONNECTIONS)]
    try:
        await asyncio.sleep(0.1)  # the server has accepted them all
        answer = await raw(server.port, b"GET /ok HTTP/1.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503 ")
    finally:
        for _, writer in idle:
            writer.close()
    await asyncio.sleep(0.1)
    assert (await raw(server.port, b"GET /ok HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200 ")


async def test_close_ends_idle_connections_at_once() -> None:
    srv = HttpServer({"/ok": ok}, host="127.0.0.1", port=0)  # a 5 s head timeout
    await srv.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await srv.close()
    assert await asyncio.wait_for(reader.read(), 2.0) == b""
    assert loop.time() - t0 < 1.5
    writer.close()
