"""In-process httpx transport serving the demo market in the Tradier and Alpha Vantage formats.

Give the real clients `httpx.AsyncClient(transport=DemoTransport(...), base_url=...)` with
DEMO_TRADIER_BASE / DEMO_AV_BASE and they run unchanged: same paths, headers, quirks, rate-limit
headers and (optionally) injected faults. The host is never resolved; routing is by path only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

import httpx

from ivcrush_tui.providers.demo.faults import (
    EngineStats,
    FaultAction,
    FaultConfig,
    FaultEngine,
    MarketSource,
    malform,
)
from ivcrush_tui.providers.demo.responses import WireRequest, WireResponse
from ivcrush_tui.providers.demo.streams import AsyncFeedStream, DemoStreams, StreamConfig

__all__ = [
    "DEMO_AV_BASE",
    "DEMO_STREAM_ORIGIN",
    "DEMO_TRADIER_BASE",
    "DemoTransport",
    "EngineStats",
    "StreamConfig",
]

DEMO_TRADIER_BASE = "http://demo.ivcrush.invalid/tradier/v1"
DEMO_AV_BASE = "http://demo.ivcrush.invalid/alphavantage/query"
# What the streaming session answer names: https, so the client's https-unless-loopback rule
# holds in-process too (this transport routes by path and never resolves the host).
DEMO_STREAM_ORIGIN = "https://demo.ivcrush.invalid"
MAX_BODY_BYTES = 256 * 1024  # larger POST bodies are refused (bounded work)


def wire_request(request: httpx.Request, body: bytes) -> WireRequest:
    """Decode an httpx request (query string, plus the urlencoded form of a POST)."""
    params: dict[str, str] = {}
    for key, value in request.url.params.multi_items():
        params.setdefault(key, value)
    ctype = request.headers.get("content-type", "")
    if request.method == "POST" and "application/x-www-form-urlencoded" in ctype:
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(key, value)
    headers = {k.lower(): v for k, v in request.headers.items()}
    return WireRequest(request.method.upper(), request.url.path, params, headers)


class DemoTransport(httpx.AsyncBaseTransport):
    """Serves /tradier/v1/markets/... and /alphavantage/query from a DemoMarket in-process.

    source: a DemoMarket, or a factory `(ny_date) -> DemoMarket` called for the New York date of
    clock() (cached per day). clock: returns the aware "now" used for quotes, the market clock
    and X-Ratelimit-Expiry. faults: latency, errors, resets (raised as httpx.RemoteProtocolError),
    malformed bodies and limits; the default enforces Tradier's 120/min and nothing else.
    monotonic: seconds, for rate-limit windows and stream pacing (injectable for tests).
    stream: the market stream's rate and faults (streams.py).
    """

    def __init__(
        self,
        source: MarketSource,
        clock: Callable[[], dt.datetime],
        *,
        faults: FaultConfig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        stream: StreamConfig | None = None,
    ) -> None:
        self.engine = FaultEngine(source, faults or FaultConfig(), clock, monotonic)
        self.streams = DemoStreams(self.engine, DEMO_STREAM_ORIGIN, stream, monotonic=monotonic)
        self._monotonic = monotonic

    def set_faults(self, faults: FaultConfig) -> None:
        self.engine.set_faults(faults)

    def set_down(self, down: bool) -> None:
        self.engine.set_down(down)

    def set_stream(self, stream: StreamConfig) -> None:
        """The market stream's rate and faults, for streams opened from now on."""
        self.streams.set_config(stream)

    def stats(self) -> EngineStats:
        return self.engine.stats()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if len(body) > MAX_BODY_BYTES:
            return httpx.Response(413, content=b"Request Entity Too Large", request=request)
        req = wire_request(request, body)
        if self.streams.handles(req.path):
            return self._stream(req, request)
        plan = self.engine.plan(req.path)
        if plan.delay_s > 0:
            await asyncio.sleep(plan.delay_s)
        if plan.action is FaultAction.RESET:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if plan.action is FaultAction.STALL:
            await asyncio.sleep(self.engine.faults.stall_s)
        if plan.action is FaultAction.ERROR:
            resp = self.engine.error_response(plan)
        else:
            resp = self.engine.serve(req)
            if plan.action is FaultAction.MALFORMED:
                resp = malform(resp, plan.malformed_html)
        headers = [("Content-Type", resp.content_type), *resp.headers]
        return httpx.Response(resp.status, headers=headers, content=resp.body, request=request)

    def _stream(self, req: WireRequest, request: httpx.Request) -> httpx.Response:
        """The streaming session and stream endpoints (streams.py)."""
        if req.path.endswith("/session"):
            resp = self.streams.session(req)
        else:
            opened = self.streams.open(req)
            if not isinstance(opened, WireResponse):
                body = AsyncFeedStream(opened, self._monotonic)
                headers = [("Content-Type", "application/json")]
                return httpx.Response(200, headers=headers, stream=body, request=request)
            resp = opened
        headers = [("Content-Type", resp.content_type), *resp.headers]
        return httpx.Response(resp.status, headers=headers, content=resp.body, request=request)
