"""`ivcrush serve` over real loopback HTTP (httpx): the endpoints in process on 127.0.0.1 against
the demo market (and a live configuration whose providers are down), the schedule with a clock
the test moves, and the real `serve` subprocess: listening, /health, SIGTERM/SIGINT -> exit 0
within 5 s, the store whole; the warning for a non-loopback --host.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivcrush_tui.calendar import NY, UTC
from ivcrush_tui.cli import main
from ivcrush_tui.config import Settings, default_settings, load_settings
from ivcrush_tui.engine.clock import FixedClock, RunningClock
from ivcrush_tui.engine.runtime import open_runtime
from ivcrush_tui.engine.service import Engine
from ivcrush_tui.serve.app import ServeApp, serving
from ivcrush_tui.serve.loop import ServeLoop
from ivcrush_tui.store.repositories import LedgerRepo, WatchlistRepo
from tests.ledger_support import storage_config

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-23T15:30-05:00"  # inside the entry window of a demo day with names
NOW = dt.datetime(2026, 11, 23, 15, 30, tzinfo=NY).astimezone(UTC)
WATCH = ["AAPL", "MSFT"]
STOP_WITHIN_S = 5.0


def ny(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 23, hour, minute, second, tzinfo=NY).astimezone(UTC)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate every platform folder and secret; returns the tmp home."""
    for var in ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def demo_cfg(home: Path) -> Path:
    return storage_config(home, name="demo.toml")


def demo_settings(home: Path) -> Settings:
    return load_settings(home / "demo.toml", {}, force_demo=True)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the endpoints, in process ---------------------------------------------------------------------


async def _serve_once(settings: Settings) -> dict[str, Any]:
    """One scheduled scan at NOW, then every endpoint over HTTP."""
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        await WatchlistRepo(rt.db).add(WATCH)
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            await app.loop.scan_once()
            async with (
                serving(app, host="127.0.0.1", port=0) as server,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
            ):
                got = {
                    path: await client.get(path)
                    for path in ("/health", "/metrics", "/analyses", "/nope", "/health?x=1")
                }
                got["HEAD /health"] = await client.head("/health")
                got["POST /health"] = await client.post("/health", content=b"x")
        finally:
            await engine.aclose()
    return got


def test_endpoints_over_loopback_http(
    demo_cfg: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = asyncio.run(_serve_once(demo_settings(home)))

    health = got["/health"]
    assert health.status_code == 200
    assert health.headers["content-type"] == "application/json"
    doc = health.json()
    assert doc["status"] == "healthy"
    assert doc["mode"] == "demo"
    assert [c["name"] for c in doc["components"]][:3] == ["tradier", "alphavantage", "database"]
    assert got["/health?x=1"].status_code == 200  # a query string does not change the route
    assert got["HEAD /health"].status_code == 200
    assert got["HEAD /health"].content == b""
    assert got["POST /health"].status_code == 413  # no route takes a body
    assert got["/nope"].status_code == 404
    assert got["/nope"].json() == {"error": "not found"}

    metrics = got["/metrics"]
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    for name in (
        "ivcrush_provider_requests",
        "ivcrush_provider_request_duration_seconds",
        "ivcrush_breaker_state",
        "ivcrush_tradier_window_available_requests",
        "ivcrush_tradier_window_allowed_requests",
        "ivcrush_alphavantage_quota_remaining_requests",
        "ivcrush_cache_lookups",
        "ivcrush_cache_hit_ratio",
        "ivcrush_scan_duration_seconds",
        "ivcrush_scan_results",
        "ivcrush_ledger_rows",
        "ivcrush_ledger_write_failures",
        "ivcrush_last_scan_timestamp_seconds",
        "ivcrush_demo",
    ):
        assert name in families, name
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    chains = ("ivcrush_provider_requests_total",
              (("operation", "chains"), ("outcome", "ok"), ("provider", "tradier")))  # fmt: skip
    assert samples[chains] >= len(WATCH)
    hist = ("ivcrush_provider_request_duration_seconds_count",
            (("operation", "chains"), ("provider", "tradier")))  # fmt: skip
    assert samples[hist] == samples[chains]
    assert samples[("ivcrush_breaker_state", (("provider", "tradier"), ("state", "closed")))] == 1
    assert samples[("ivcrush_scan_duration_seconds_count", ())] == 1
    assert samples[("ivcrush_alphavantage_quota_remaining_requests", ())] > 0
    assert samples[("ivcrush_ledger_rows", (("recommendation", "SELL"),))] >= 1
    assert samples[("ivcrush_demo", ())] == 1
    assert samples[("ivcrush_last_scan_timestamp_seconds", ())] == NOW.timestamp()
    assert samples[("ivcrush_ledger_write_failures_total", ())] == 0

    analyses = got["/analyses"].json()
    assert got["/analyses"].status_code == 200
    tickers = [a["ticker"] for a in analyses]
    assert tickers == sorted(tickers)
    assert set(WATCH) <= set(tickers)
    assert len(tickers) > len(WATCH)  # the day's entry names too

    # The same objects `scan --json` prints for the same instant and names.
    code = main(["--demo", "--config", str(demo_cfg), "scan", *tickers, "--json", "--as-of", AS_OF])
    out = capsys.readouterr().out
    assert code == 0
    scanned = sorted((json.loads(line) for line in out.splitlines()), key=lambda r: r["ticker"])
    assert analyses == scanned


async def test_health_is_503_when_the_providers_are_down(home: Path) -> None:
    port = closed_port()
    cfg = home / "live.toml"
    cfg.write_text(
        f"""
[tradier]
token = "test-token"
base_url = "http://127.0.0.1:{port}/v1"
[alphavantage]
api_key = "test-key"
base_url = "http://127.0.0.1:{port}/query"
[resilience]
retry_attempts = 1
[storage]
path = "{home / "db.sqlite3"}"
log_dir = "{home / "log"}"
""",
        encoding="utf-8",
    )
    cfg.chmod(0o600)
    settings = load_settings(cfg, {})
    assert not settings.demo
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            async with (
                serving(app, host="127.0.0.1", port=0) as server,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
            ):
                response = await client.get("/health")
                metrics = await client.get("/metrics")
        finally:
            await engine.aclose()
    assert response.status_code == 503
    doc = response.json()
    assert doc["status"] == "down"
    assert doc["mode"] == "live"
    assert doc["components"][0]["status"] == "down"
    assert "test-token" not in response.text  # no secret in any output
    assert "test-token" not in metrics.text
    assert metrics.status_code == 200


async def test_slow_and_huge_requests_do_not_hang_the_server(tmp_path: Path) -> None:
    settings = default_settings(tmp_path / "db.sqlite3", demo=True)
    async with open_runtime(settings, FixedClock(NOW)) as rt:
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            async with serving(app, host="127.0.0.1", port=0, head_timeout_s=0.5) as server:
                # A client that sends half a request and waits: 408 once the head is late.
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                t0 = time.perf_counter()
                slow = await asyncio.wait_for(reader.read(), 5.0)
                slow_s = time.perf_counter() - t0
                writer.close()
                # A head of 64 kB: refused at the 8 kB bound, not read to the end.
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
                with_big = await asyncio.wait_for(reader.read(), 5.0)
                writer.close()
                # Meanwhile the server still answers.
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as c:
                    assert (await c.get("/health")).status_code == 200
                    assert (await c.get("/analyses")).json() == []  # no scan yet
        finally:
            await engine.aclose()
    assert slow.startswith(b"HTTP/1.1 408 ")
    assert slow_s < 3.0
    assert with_big.startswith(b"HTTP/1.1 431 ")


# -- the schedule, with a clock the test moves ----------------------------------------------------


class Ticks:
    """A monotonic clock the test moves (seconds); `sleep` advances it instead of waiting."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Before the window: the next scan is at its start, then one a minute.
        (ny(14, 58, 30), [ny(14, 58, 30), ny(15, 0), ny(15, 1), ny(15, 2)]),
        # Outside the window: hourly.
        (ny(10, 0), [ny(10, 0), ny(11, 0), ny(12, 0), ny(13, 0)]),
    ],
)
async def test_the_schedule_scans_each_minute_in_the_window_and_hourly_outside(
    tmp_path: Path, start: dt.datetime, expected: list[dt.datetime]
) -> None:
    ticks = Ticks()
    settings = default_settings(tmp_path / "db.sqlite3", demo=True)
    clock = RunningClock(start, monotonic=ticks)
    async with open_runtime(settings, clock) as rt:
        await WatchlistRepo(rt.db).add(["AAPL"])
        engine = Engine(rt)
        try:
            app = ServeApp(rt, engine)
            loop = ServeLoop(rt, engine, app.metrics, sleep=ticks.sleep)
            instants: list[dt.datetime] = []
            scan_once = loop.scan_once

            async def recording() -> dt.datetime:
                instants.append(await scan_once())
                return instants[-1]

            loop.scan_once = recording  # type: ignore[method-assign]
            await loop.run(max_scans=len(expected))
            rows = await LedgerRepo(rt.db).list("AAPL")
        finally:
            await engine.aclose()
    assert instants == expected
    # Every scan inside the window is a ledger decision at its own instant (the clock runs).
    in_window = [t for t in expected if ny(15, 0) <= t < ny(16, 0)]
    assert sorted(r.taken_at for r in rows) == in_window


# -- the real `serve` process ----------------------------------------------------------------------


def child_env(home: Path) -> dict[str, str]:
    assert os.environ["HOME"] == str(home)
    secret = ("TRADIER_TOKEN", "ALPHAVANTAGE_API_KEY", "IVCRUSH_CONFIG")
    return {k: v for k, v in os.environ.items() if k not in secret}


@pytest.fixture
def serve_proc(demo_cfg: Path, home: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(demo_cfg), "serve",
         "--port", "0", "--as-of", AS_OF],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(home),
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # "ivcrush: serving DEMO on http://127.0.0.1:PORT ..."
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        yield proc, int(match.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait_for_a_scan(port: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows: list[dict[str, Any]] = httpx.get(f"http://127.0.0.1:{port}/analyses").json()
        if rows:
            return rows
        time.sleep(0.2)
    raise AssertionError("no scan within 30 s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_process_answers_then_stops_cleanly_on_a_signal(
    serve_proc: tuple[subprocess.Popen[str], int], home: Path, sig: signal.Signals
) -> None:
    proc, port = serve_proc
    health = httpx.get(f"http://127.0.0.1:{port}/health")
    assert health.status_code == 200
    assert health.json()["mode"] == "demo"
    rows = _wait_for_a_scan(port)
    assert all(r["as_of"] >= NOW.isoformat() for r in rows)  # the clock runs on from --as-of
    with sqlite3.connect(home / "db-demo.sqlite3") as conn:
        stored = conn.execute("SELECT COUNT(*) FROM analysis_snapshots").fetchone()[0]
    assert stored >= 1  # in the entry window: the scan's decisions are in the ledger
    t0 = time.perf_counter()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, err
    assert elapsed < STOP_WITHIN_S
    assert "Traceback" not in err
    assert "serve stopped" in err
    with sqlite3.connect(home / "db-demo.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # Nothing committed was lost.
        assert conn.execute("SELECT COUNT(*) FROM analysis_snapshots").fetchone()[0] >= stored


def test_a_host_other_than_loopback_is_warned_about(demo_cfg: Path, home: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails at once, after the
    # warning; no packet is sent anywhere.
    done = subprocess.run(
        [sys.executable, "-m", "ivcrush_tui", "--demo", "--config", str(demo_cfg), "serve",
         "--host", "192.0.2.1", "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=child_env(home),
    )  # fmt: skip
    assert "warning: serving on 192.0.2.1, not loopback" in done.stderr
    assert "no authentication" in done.stderr
    assert "cannot listen on 192.0.2.1:0" in done.stderr
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


def test_loopback_hosts_are_not_warned_about() -> None:
    from ivcrush_tui.commands.serve import bind_warning

    assert bind_warning("127.0.0.1") is None
    assert bind_warning("localhost") is None
    assert bind_warning("::1") is None
    warning = bind_warning("0.0.0.0")
    assert warning is not None
    assert "no authentication" in warning


def test_sigterm_during_a_scan_stops_within_5_s_keeping_committed_rows(home: Path) -> None:
    """A slow live market (150 ms a request): SIGTERM lands while a scan is in flight."""
    from ivcrush_tui.providers.demo.faults import FaultConfig
    from ivcrush_tui.providers.demo.market import DemoMarket
    from ivcrush_tui.providers.demo.server import DemoServer

    market = DemoMarket(NOW.astimezone(NY).date())
    faults = FaultConfig(latency_ms=150, tradier_limit_per_min=None)
    with DemoServer(market, faults, lambda: NOW) as srv:
        cfg = home / "live.toml"
        cfg.write_text(
            f"""
[tradier]
token = "test-token"
base_url = "{srv.tradier_base}"
[alphavantage]
api_key = "test-key"
base_url = "{srv.av_base}"
max_per_second = 100.0
daily_quota = 100000
[storage]
path = "{home / "db.sqlite3"}"
log_dir = "{home / "log"}"
""",
            encoding="utf-8",
        )
        cfg.chmod(0o600)
        assert main(["--config", str(cfg), "watchlist", "add", *market.symbols[:40]]) == 0
        proc = subprocess.Popen(
            [sys.executable, "-m", "ivcrush_tui", "--config", str(cfg), "serve", "--port", "0",
             "--as-of", AS_OF],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=child_env(home),
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            match = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stderr.readline())
            assert match
            port = int(match.group(1))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the scan is under way: some results are in
                if httpx.get(f"http://127.0.0.1:{port}/analyses").json():
                    break
                time.sleep(0.05)
            t0 = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
            elapsed = time.perf_counter() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert elapsed < STOP_WITHIN_S
    assert "Traceback" not in err
    with sqlite3.connect(home / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT COUNT(*) FROM analysis_snapshots").fetchone()[0]
    assert rows >= 1  # what the interrupted scan had committed is there


def test_a_port_in_use_is_one_clear_line_and_exit_1(
    demo_cfg: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--demo", "--config", str(demo_cfg), "serve", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


async def test_a_store_that_cannot_be_opened_is_health_503_not_an_exit(home: Path) -> None:
    """The listener stays up and /health says why (as `health --json` does); stop still works."""
    from ivcrush_tui.serve.app import run_serve

    (home / "data").write_text("a file where the store's folder should be")
    settings = default_settings(home / "data" / "db.sqlite3", demo=True)
    stop = asyncio.Event()
    listening = asyncio.Event()
    ports: list[int] = []

    def on_listening(port: int) -> None:
        ports.append(port)
        listening.set()

    task = asyncio.create_task(
        run_serve(settings, FixedClock(NOW), host="127.0.0.1", port=0, stop=stop,
                  on_listening=on_listening)
    )  # fmt: skip
    try:
        await asyncio.wait_for(listening.wait(), 30)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[0]}") as client:
            health = await client.get("/health")
            analyses = await client.get("/analyses")
            metrics = await client.get("/metrics")
    finally:
        stop.set()
        await asyncio.wait_for(task, STOP_WITHIN_S)
    assert health.status_code == 503
    doc = health.json()
    assert doc["status"] == "down"
    (database,) = doc["components"]
    assert database["name"] == "database"
    assert database["status"] == "down"
    assert analyses.json() == []
    assert metrics.status_code == 200


async def _serve_streaming(
    settings: Settings,
) -> tuple[list[dict[str, Any]], dict[str, Any], int, str]:
    """serve with its live monitor on the in-process demo stream (market clock running 30x)."""
    from ivcrush_tui.engine.live_quotes import LiveMonitor, LiveOptions

    clock = RunningClock(NOW, monotonic=lambda: 30 * time.monotonic())
    async with open_runtime(settings, clock) as rt:
        await WatchlistRepo(rt.db).add(WATCH)
        engine = Engine(rt)
        opts = LiveOptions(tick_s=0.02, min_reprice_s=0.05, resubscribe_s=0.05)
        monitor = LiveMonitor(engine, owner="serve", options=opts)
        await monitor.start()
        try:
            app = ServeApp(rt, engine, monitor=monitor)
            await app.loop.scan_once()
            first = {row["ticker"]: row["as_of"] for row in app.loop.latest()}
            deadline = time.monotonic() + 15
            while monitor.reprices < len(WATCH) and time.monotonic() < deadline:  # noqa: ASYNC110 - the monitor's own counter
                await asyncio.sleep(0.05)
            async with (
                serving(app, host="127.0.0.1", port=0) as server,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client,
            ):
                rows = (await client.get("/analyses")).json()
                health = (await client.get("/health")).json()
                metrics = (await client.get("/metrics")).text
            changed = sum(1 for r in rows if r["as_of"] != first.get(r["ticker"]))
        finally:
            await monitor.stop()
            await engine.aclose()
    return rows, health, changed, metrics


def _metric(text: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, (name, values)
    return values[0]


def test_serve_streams_and_keeps_analyses_current(demo_cfg: Path, home: Path) -> None:
    rows, health, changed, metrics = asyncio.run(_serve_streaming(demo_settings(home)))
    assert {r["ticker"] for r in rows} >= set(WATCH)
    assert changed > 0  # re-priced from the stream after the scan, served by /analyses
    stream = health["stream"]
    assert stream["mode"] == "LIVE"
    assert stream["connected"] is True
    assert stream["events"] > 0
    assert stream["reprices"] > 0
    # The same on /metrics, for monitoring an unattended run.
    assert _metric(metrics, "ivcrush_stream_live") == 1.0
    assert _metric(metrics, "ivcrush_stream_events_total") >= stream["events"]
    assert _metric(metrics, "ivcrush_stream_reprices_total") >= stream["reprices"]
    assert _metric(metrics, "ivcrush_stream_reconnects_total") == 0.0
    assert 0.0 <= _metric(metrics, "ivcrush_stream_last_event_age_seconds") < 60
    assert _metric(metrics, "ivcrush_alerts_fired_total") >= 0.0
