"""The demo market behind a real loopback HTTP server, exercised with real httpx sockets:
latency, Tradier's fixed-window 429s and headers, Alpha Vantage quotas, malformed bodies, resets,
stalls, outages, bounded connections and a clean stop. Wire behaviour per
/work/shared/reference/provider-apis.md §1.8-1.9 and §2.2.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.providers.demo.faults import FaultConfig
from ivcrush_tui.providers.demo.market import DemoMarket
from ivcrush_tui.providers.demo.server import DemoServer
from ivcrush_tui.providers.demo.transport import DEMO_TRADIER_BASE, DemoTransport

AS_OF = dt.date(2026, 4, 29)
NOW = dt.datetime(2026, 4, 29, 15, 30, tzinfo=NY).astimezone(UTC)
HEADERS = {"Authorization": "Bearer t", "Accept": "application/json"}


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 5000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def market() -> DemoMarket:
    return DemoMarket(AS_OF)


@pytest.fixture
def mono() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def server(market: DemoMarket, mono: FakeMonotonic) -> Iterator[DemoServer]:
    with DemoServer(market, FaultConfig(), lambda: NOW, monotonic=mono) as srv:
        yield srv


def _client(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers=HEADERS, timeout=timeout)


async def test_serves_the_same_bytes_as_the_in_process_transport(
    server: DemoServer, market: DemoMarket
) -> None:
    exp = market.expirations("AAPL")[0].isoformat()
    params = {"symbol": "AAPL", "expiration": exp, "greeks": "true"}
    async with _client() as client:
        real = await client.get(f"{server.tradier_base}/markets/options/chains", params=params)
        quotes = await client.post(
            f"{server.tradier_base}/markets/quotes", data={"symbols": "AAPL,MSFT"}
        )
        av = await client.get(
            server.av_base, params={"function": "EARNINGS", "symbol": "AAPL", "apikey": "k"}
        )
    transport = DemoTransport(market, lambda: NOW)
    async with httpx.AsyncClient(transport=transport, headers=HEADERS) as local:
        mirror = await local.get(f"{DEMO_TRADIER_BASE}/markets/options/chains", params=params)
    assert real.status_code == 200
    assert real.content == mirror.content
    assert len(quotes.json()["quotes"]["quote"]) == 2
    assert av.json()["symbol"] == "AAPL"
    assert server.tradier_base.startswith("http://127.0.0.1:")
    assert server.tradier_base.endswith("/tradier/v1")
    assert server.av_base.endswith("/alphavantage/query")
    counts = server.request_counts
    assert counts["/tradier/v1/markets/options/chains"] == 1
    assert counts["/tradier/v1/markets/quotes"] == 1
    assert counts["/alphavantage/query"] == 1


async def test_latency_is_honoured(server: DemoServer) -> None:
    url = f"{server.tradier_base}/markets/clock"
    async with _client() as client:
        await client.get(url)  # warm the connection
        start = time.perf_counter()
        await client.get(url)
        fast = time.perf_counter() - start
        server.set_faults(FaultConfig(latency_ms=80, jitter_ms=20))
        slow = []
        for _ in range(3):
            start = time.perf_counter()
            r = await client.get(url)
            slow.append(time.perf_counter() - start)
            assert r.status_code == 200
    assert fast < 0.07
    assert all(0.075 <= s < 1.5 for s in slow), slow


async def test_429_after_the_limit_with_correct_headers(
    server: DemoServer, mono: FakeMonotonic
) -> None:
    server.set_faults(FaultConfig(tradier_limit_per_min=5))
    url = f"{server.tradier_base}/markets/clock"
    async with _client() as client:
        for used in range(1, 6):
            r = await client.get(url)
            assert r.status_code == 200
            assert r.headers["X-Ratelimit-Allowed"] == "5"
            assert r.headers["X-Ratelimit-Used"] == str(used)
            assert r.headers["X-Ratelimit-Available"] == str(5 - used)
            mono.t += 1.0
        r = await client.get(url)
        assert r.status_code == 429
        assert r.json()["fault"]["detail"]["errorcode"] == "policies.ratelimit.QuotaViolation"
        assert r.headers["X-Ratelimit-Available"] == "0"
        assert r.headers["X-Ratelimit-Used"] == "5"
        # The fixed window began with the first request, 5 s ago: it expires 55 s from NOW (ms).
        expiry = int(r.headers["X-Ratelimit-Expiry"])
        assert expiry == round((NOW + dt.timedelta(seconds=55)).timestamp() * 1000)
        assert expiry > 10**12
        # Alpha Vantage is not under Tradier's limit.
        av = await client.get(server.av_base, params={"function": "OVERVIEW", "symbol": "KO",
                                                      "apikey": "k"})  # fmt: skip
        assert av.json()["Symbol"] == "KO"
        mono.t += 55.0
        r = await client.get(url)
        assert r.status_code == 200
        assert r.headers["X-Ratelimit-Used"] == "1"
    assert server.rate_limited_count == 1


async def test_alpha_vantage_daily_quota_message(server: DemoServer) -> None:
    server.set_faults(FaultConfig(av_daily_quota=2))
    params = {"function": "EARNINGS", "symbol": "KO", "apikey": "k"}
    async with _client() as client:
        bodies = [(await client.get(server.av_base, params=params)) for _ in range(3)]
    assert all(r.status_code == 200 for r in bodies)
    assert bodies[1].json()["symbol"] == "KO"
    assert "2 requests per day" in bodies[2].json()["Information"]
    assert server.stats().av_throttled == 1


async def test_malformed_bodies(server: DemoServer) -> None:
    server.set_faults(FaultConfig(malformed_rate=1.0, seed=11))
    url = f"{server.tradier_base}/markets/quotes"
    kinds = set()
    async with _client() as client:
        for _ in range(8):
            r = await client.get(url, params={"symbols": "AAPL,MSFT"})
            assert r.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(r.text)
            kinds.add("html" if r.text.startswith("<html>") else "truncated")
    assert kinds == {"html", "truncated"}


async def test_reset_connections_surface_as_httpx_errors(server: DemoServer) -> None:
    server.set_faults(FaultConfig(reset_rate=1.0))
    url = f"{server.tradier_base}/markets/clock"
    async with _client() as client:
        for _ in range(3):
            with pytest.raises(httpx.TransportError):
                await client.get(url)
        server.set_faults(FaultConfig())
        assert (await client.get(url)).status_code == 200
    assert server.stats().injected["reset"] == 3


async def test_injected_errors_and_outage(server: DemoServer) -> None:
    url = f"{server.tradier_base}/markets/clock"
    async with _client() as client:
        server.set_faults(FaultConfig(error_rate=1.0, seed=5))
        statuses = {(await client.get(url)).status_code for _ in range(6)}
        assert statuses <= {500, 502, 503, 504}
        server.set_faults(FaultConfig())
        server.set_down(True)
        r = await client.get(url)
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("text/html")
        server.set_down(False)
        assert (await client.get(url)).status_code == 200


async def test_auth_and_accept_checks_over_the_wire(server: DemoServer) -> None:
    url = f"{server.tradier_base}/markets/clock"
    async with httpx.AsyncClient() as client:
        r = await client.get(url, headers={"Accept": "application/json"})
        assert r.status_code == 401
        assert r.json()["fault"]["faultstring"] == "Invalid Access Token"
        r = await client.get(url, headers={"Authorization": "Bearer t"})
        assert r.status_code == 200
        assert r.text.startswith("<?xml")
        r = await client.get(f"{server.origin}/nowhere", headers=HEADERS)
        assert r.status_code == 404
    assert server.request_counts["<other>"] == 1


async def test_stall_times_out_the_client_and_stop_is_prompt(market: DemoMarket) -> None:
    srv = DemoServer(market, FaultConfig(stall_rate=1.0, stall_s=30.0), lambda: NOW).start()
    try:
        async with _client(timeout=0.3) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"{srv.tradier_base}/markets/clock")
    finally:
        start = time.perf_counter()
        srv.stop()
        assert time.perf_counter() - start < 3.0


async def test_connections_beyond_the_cap_are_refused(market: DemoMarket) -> None:
    faults = FaultConfig(stall_rate=1.0, stall_s=0.6)
    with DemoServer(market, faults, lambda: NOW, max_connections=1) as srv:
        url = f"{srv.tradier_base}/markets/clock"
        async with _client() as first, _client() as second:
            held = asyncio.create_task(first.get(url))
            await asyncio.sleep(0.2)  # the first connection now holds the only slot
            with pytest.raises(httpx.TransportError):
                await second.get(url)
            assert (await held).status_code == 200


async def test_server_stops_cleanly(market: DemoMarket) -> None:
    threads_before = threading.active_count()
    srv = DemoServer(market, None, lambda: NOW).start()
    url = f"{srv.tradier_base}/markets/clock"
    async with _client() as client:
        assert (await client.get(url)).status_code == 200  # leaves a keep-alive connection open
        start = time.perf_counter()
        srv.stop()
        assert time.perf_counter() - start < 3.0
        assert not srv.running
        with pytest.raises(httpx.TransportError):
            await client.get(url)
    srv.stop()  # idempotent
    for _ in range(50):
        if threading.active_count() <= threads_before:
            break
        await asyncio.sleep(0.02)
    assert threading.active_count() <= threads_before
    async with _client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)


def test_binds_only_to_loopback(market: DemoMarket) -> None:
    with pytest.raises(ValueError):
        DemoServer(market, host="0.0.0.0")


def test_cli_prints_the_base_urls_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivcrush_tui.providers.demo.server", "--port", "0",
         "--as-of", "2026-04-29", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        tradier = proc.stdout.readline().strip()
        av = proc.stdout.readline().strip()
        assert tradier.startswith("TRADIER_BASE_URL=http://127.0.0.1:")
        assert av.startswith("ALPHAVANTAGE_BASE_URL=http://127.0.0.1:")
        base = tradier.split("=", 1)[1]
        r = httpx.get(f"{base}/markets/clock", headers=HEADERS, timeout=5.0)
        assert r.status_code == 200
        assert r.json()["clock"]["date"] == "2026-04-29"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
