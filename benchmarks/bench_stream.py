"""Streaming benchmark (issue 14): the console live on the demo streaming server.

    .venv/bin/python benchmarks/bench_stream.py [--rate 1000] [--window-s 20] [--speed 60]

1. Console, 100 streamed names, the demo server (own process, 20 ms REST latency) streaming
   `--rate` events/s: the real console (IvCrushApp + EngineBackend: engine thread, live monitor,
   HTTP stream over loopback) headless at 120x40, after its first scan and once the stream is
   LIVE, for `--window-s` seconds:
   - quote -> row: from the moment a stream event moves a ticker's figures (the quote book
     marks it, engine thread) to the watchlist row's update with a re-price that includes it
     (`LiveTable.upsert`, UI thread), per row update, the oldest unshown event counted;
   - console key -> frame: a key sent every ~100 ms (down/up/pagedown/s), from the key event to
     the end of the first frame drawn after its action (bench_console's probe);
   - console CPU: process CPU time (all threads: UI, engine, stream) / wall time, % of one core.
   Targets: quote -> row p95 < 250 ms, key p95 < 50 ms, CPU < 50 %.
2. REST economy: the engine and live monitor (the console's code path without the UI) on the
   same 100 names, market clocks of server and client running `--speed` times real time, one
   simulated hour from 15:00 ET (the entry window): the first scan, then streaming with
   re-picks and the 5-minute term refreshes. Tradier REST requests counted by the server.
   Target: <= 300 in total.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _console_probe import FrameProbe  # noqa: E402
from _scan_client import backfill  # noqa: E402
from _stream_server import START, StreamServer  # noqa: E402

SIZE = (120, 40)
KEYS = ("down", "down", "pagedown", "up", "pageup", "s")


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def write_config(tmp: Path, srv: StreamServer) -> Path:
    path = tmp / "config.toml"
    path.write_text(
        f"""
[tradier]
token = "bench-token"
base_url = "{srv.tradier_base}"
[alphavantage]
api_key = "bench-key"
base_url = "{srv.av_base}"
max_per_second = 100.0
daily_quota = 100000
[storage]
path = "{tmp / "ivcrush.sqlite3"}"
log_dir = "{tmp / "log"}"
""",
        encoding="utf-8",
    )
    return path


async def seed_watchlist(settings: Any, symbols: list[str]) -> None:
    from ivcrush_tui.engine.clock import FixedClock
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.store.repositories import WatchlistRepo

    async with open_runtime(settings, FixedClock(START)) as rt:
        await WatchlistRepo(rt.db).add(symbols)


class Latency:
    """quote -> row instrumentation (see the module docstring)."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}  # ticker -> first event not yet re-priced
        self.unshown: dict[str, float] = {}  # ticker -> oldest event re-priced, not yet shown
        self.samples: list[float] = []
        self.measuring = False

    def patch_engine(self, monitor: Any) -> None:
        import ivcrush_tui.engine.live_quotes as lq

        book = monitor.book
        apply = book.apply
        since = self.since

        def timed_apply(event: Any, at: Any) -> str | None:
            ticker: str | None = apply(event, at)
            if ticker is not None and ticker not in since:
                since[ticker] = time.perf_counter()
            return ticker

        book.apply = timed_apply
        from ivcrush_tui.analytics.reprice import Repick

        reprice = getattr(lq, "reprice")  # noqa: B009 - the name the monitor calls
        unshown = self.unshown

        def timed_reprice(base: Any, *args: Any, **kw: Any) -> Any:
            out = reprice(base, *args, **kw)
            t0 = since.pop(base.plan.symbol, None)
            if t0 is not None and not isinstance(out, Repick):
                unshown.setdefault(base.plan.symbol, t0)
            return out

        setattr(lq, "reprice", timed_reprice)  # noqa: B010 - the module's global, for the bench

    def patch_ui(self) -> None:
        from ivcrush_tui.app.widgets.live_table import LiveTable

        upsert = LiveTable.upsert
        probe = self

        def _upsert(table: Any, key: str, values: Any) -> Any:
            out = upsert(table, key, values)
            t0 = probe.unshown.pop(key, None)
            if t0 is not None and probe.measuring:
                probe.samples.append((time.perf_counter() - t0) * 1000)
            return out

        setattr(LiveTable, "upsert", _upsert)  # noqa: B010 - timed, for the bench


def recording_size(path: Path) -> dict[str, float]:
    """What the console recorded (engine/recorder.py): quotes and analyses, their bytes, and
    that size per hour of recorded time (the run's span, first scan included)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        q = con.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(LENGTH(data)), 0), MIN(start_ms),"
            " MAX(end_ms) FROM recorded_quotes"
        ).fetchone()
        a = con.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(LENGTH(data)), 0), MIN(at_ms), MAX(end_ms)"
            " FROM recorded_analyses"
        ).fetchone()
    finally:
        con.close()
    starts = [t for t in (q[2], a[2]) if t is not None]
    ends = [t for t in (q[3], a[3]) if t is not None]
    span_s = (max(ends) - min(starts)) / 1000 if starts and ends else float("nan")
    total = q[1] + a[1]
    return {
        "rec_quotes": q[0],
        "rec_analyses": a[0],
        "rec_bytes_per_analysis": a[1] / a[0] if a[0] else float("nan"),
        "rec_span_s": span_s,
        "rec_mb_per_hour": total / span_s * 3600 / 1e6 if span_s else float("nan"),
    }


async def console_run(srv: StreamServer, window_s: float) -> dict[str, Any]:
    from textual import events

    from ivcrush_tui.app.app import IvCrushApp
    from ivcrush_tui.app.engine_backend import EngineBackend
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import RunningClock

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        settings = load_settings(write_config(tmp, srv), {})
        await seed_watchlist(settings, srv.symbols)
        backend = EngineBackend(settings, RunningClock(START))
        app = IvCrushApp(backend, refresh_s=3600)
        app.animation_level = "none"
        lat = Latency()
        lat.patch_ui()
        probe = FrameProbe(app)
        keys: list[float] = []
        async with app.run_test(size=SIZE):
            await app.wait_ready()
            lat.patch_engine(backend._monitor)
            t_scan = time.monotonic()
            while app.scan_count < 1:  # noqa: ASYNC110 - the app's own flag
                await asyncio.sleep(0.05)
            scan_s = time.monotonic() - t_scan
            for _ in range(400):
                if backend.status().stream_mode == "LIVE":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(3.0)  # warm: the first batches, the resubscription
            driver = app._driver
            assert driver is not None
            lat.measuring = True
            cpu0, wall0 = time.process_time(), time.monotonic()
            batches0 = app.live_batches
            i = 0
            while time.monotonic() - wall0 < window_s:
                key = KEYS[i % len(KEYS)]
                i += 1
                probe.action_future = asyncio.get_running_loop().create_future()
                t0 = time.monotonic()
                event = events.Key(key, key if len(key) == 1 else None)
                event.set_sender(app)
                driver.send_message(event)
                try:
                    handled = await asyncio.wait_for(probe.action_future, timeout=2.0)
                    end = await asyncio.wait_for(probe.next_frame_after(handled), timeout=1.0)
                    keys.append((end - t0) * 1000)
                except TimeoutError:
                    pass
                await asyncio.sleep(0.1)
            cpu = time.process_time() - cpu0
            wall = time.monotonic() - wall0
            lat.measuring = False
            status = backend.status()
            health = await backend.health()
            stream = dict(health.stream or {})
            batches = app.live_batches - batches0
            streamed = len(status.streamed)
        # The app has stopped: the recorder wrote everything (the console runs from 15:00 ET,
        # inside the entry window, so the whole run is recorded).
        recording = recording_size(settings.database_path)
    return {
        **recording,
        "scan_s": scan_s,
        "streamed": streamed,
        "events_per_s": stream.get("events_per_s"),
        "reprices": stream.get("reprices"),
        "repicks": stream.get("repicks"),
        "batches_per_s": batches / wall,
        "row_updates": len(lat.samples),
        "row_p50_ms": pct(lat.samples, 50),
        "row_p95_ms": pct(lat.samples, 95),
        "row_max_ms": max(lat.samples, default=float("nan")),
        "keys": len(keys),
        "key_p50_ms": pct(keys, 50),
        "key_p95_ms": pct(keys, 95),
        "cpu_pct": 100 * cpu / wall,
    }


async def rest_run(srv: StreamServer, speed: float, hour_s: float) -> dict[str, Any]:
    from ivcrush_tui.config import load_settings
    from ivcrush_tui.engine.clock import RunningClock
    from ivcrush_tui.engine.live_quotes import LiveMonitor, LiveOptions
    from ivcrush_tui.engine.runtime import open_runtime
    from ivcrush_tui.engine.service import Engine

    t0 = time.monotonic()

    def market_mono() -> float:
        return speed * (time.monotonic() - t0)

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        config = write_config(tmp, srv)
        settings = load_settings(config, {})
        # The history of past sessions is in the store on any trading day (backfill), as in
        # bench_scan's 237-request scan: not counted.
        await backfill(config, srv.symbols)
        srv.send("restart")
        t0 = time.monotonic()
        before = srv.rest_requests()
        clock = RunningClock(START, monotonic=market_mono)
        opts = LiveOptions(term_check_s=1.0)  # market seconds of the monitor: 1 s real = speed
        async with open_runtime(settings, clock) as rt:
            engine = Engine(rt)
            monitor = LiveMonitor(engine, owner="bench", options=opts, monotonic=market_mono)
            await monitor.start()
            try:
                results = [a async for a in engine.scan(srv.symbols, clock.now())]
                first_scan = srv.rest_requests() - before
                await asyncio.sleep(max(0.0, (hour_s - market_mono()) / speed))
                status = monitor.status()
            finally:
                await monitor.stop()
                await engine.aclose()
        total = srv.rest_requests() - before
    return {
        "names": len(results),
        "ok": sum(a.ok for a in results),
        "streamed": status.streamed,
        "first_scan": first_scan,
        "total": total,
        "repicks": status.repicks,
        "term_refreshes": status.term_refreshes,
        "reconnects": status.stream.reconnects if status.stream else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--window-s", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=20.0)
    ap.add_argument(
        "--limit",
        type=int,
        default=590,
        help="Tradier requests/min the server allows in the REST run (below 600: the client "
        "batches as on a live 120/min account)",
    )
    ap.add_argument(
        "--console-speed",
        type=float,
        default=1.0,
        help="market clock speed of the console run (faster: more quotes change per event)",
    )
    ap.add_argument("--skip-console", action="store_true")
    ap.add_argument("--skip-rest", action="store_true")
    opts = ap.parse_args()
    print(f"load average before: {os.getloadavg()}", flush=True)
    if not opts.skip_console:
        srv = StreamServer(opts.rate, opts.console_speed, 20.0)
        try:
            r = asyncio.run(console_run(srv, opts.window_s))
        finally:
            srv.close()
        print(
            f"console, {r['streamed']} streamed names, {opts.rate:.0f} events/s offered, "
            f"market clock {opts.console_speed:g}x:"
        )
        print(
            f"  first scan {r['scan_s']:.1f} s; stream {r['events_per_s']} events/s; "
            f"{r['reprices']} re-prices, {r['repicks']} re-picks, {r['batches_per_s']:.1f} "
            "batches/s"
        )
        print(
            f"  quote -> row ({r['row_updates']} row updates): p50 {r['row_p50_ms']:.0f} ms, "
            f"p95 {r['row_p95_ms']:.0f} ms, max {r['row_max_ms']:.0f} ms   (target p95 < 250)"
        )
        print(
            f"  key -> frame ({r['keys']} keys): p50 {r['key_p50_ms']:.1f} ms, "
            f"p95 {r['key_p95_ms']:.1f} ms   (target p95 < 50)"
        )
        print(f"  console CPU {r['cpu_pct']:.0f} % of one core   (target < 50 %)", flush=True)
        print(
            f"  recorded {r['rec_quotes']} quotes, {r['rec_analyses']} analyses"
            f" ({r['rec_bytes_per_analysis']:.0f} B each) in {r['rec_span_s']:.0f} s:"
            f" {r['rec_mb_per_hour']:.1f} MB per hour   (target < 50 MB for 100 names)"
            + (
                "\n    (start-up dominated: each name's first analysis stands alone;"
                " --window-s 600 for the hour's rate)"
                if r["rec_span_s"] < 300
                else ""
            ),
            flush=True,
        )
    if not opts.skip_rest:
        srv = StreamServer(opts.rate, opts.speed, 20.0, opts.limit)
        try:
            r = asyncio.run(rest_run(srv, opts.speed, 3600.0))
        finally:
            srv.close()
        print(
            f"REST, one simulated hour at {opts.speed:.0f}x, {r['names']} names, "
            f"{opts.limit}/min window:"
        )
        print(
            f"  {r['ok']} ok, {r['streamed']} streamed; first scan {r['first_scan']} requests, "
            f"total {r['total']}   (target <= 300); {r['repicks']} re-picks, "
            f"{r['term_refreshes']} term refreshes, {r['reconnects']} reconnects"
        )
    print(f"load average after: {os.getloadavg()}", flush=True)
    with contextlib.suppress(Exception):
        print(f"at {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
